//! Tables of the database backend, as one migration a service adds to its own Migrator
//! (each service owns one schema or file and one migration history, so this module never
//! runs a Migrator itself).
//!
//! Instants are stored as epoch milliseconds (BIGINT): claims compare them (`run_at <= now`,
//! `lease_until < now`), and integers compare the same way on SQLite and PostgreSQL, where
//! SQLite's text timestamps would compare as strings of varying precision.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{big_integer, big_integer_null, integer, string, string_null, text, text_null};

pub struct JobsMigration;

/// The migration to append to a service's `Migrator::migrations()`.
pub fn migration() -> Box<dyn MigrationTrait> {
    Box::new(JobsMigration)
}

impl MigrationName for JobsMigration {
    fn name(&self) -> &str {
        "m20261201_000001_create_job_queue_tables"
    }
}

#[derive(DeriveIden)]
pub(crate) enum JobQueue {
    Table,
    Id,
    Queue,
    State,
    Payload,
    Result,
    LastError,
    Attempts,
    MaxAttempts,
    RunAt,
    LeaseUntil,
    ClaimToken,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
pub(crate) enum JobSubscriptions {
    Table,
    Topic,
    GroupName,
    MaxAttempts,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for JobsMigration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(JobQueue::Table)
                    .if_not_exists()
                    .col(string(JobQueue::Id).primary_key())
                    .col(string(JobQueue::Queue))
                    .col(string(JobQueue::State))
                    .col(text(JobQueue::Payload))
                    .col(text_null(JobQueue::Result))
                    .col(text_null(JobQueue::LastError))
                    .col(integer(JobQueue::Attempts))
                    .col(integer(JobQueue::MaxAttempts))
                    .col(big_integer(JobQueue::RunAt))
                    .col(big_integer_null(JobQueue::LeaseUntil))
                    .col(string_null(JobQueue::ClaimToken))
                    .col(big_integer(JobQueue::CreatedAt))
                    .col(big_integer(JobQueue::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        // The claim query filters by queue and state and orders by run_at.
        manager
            .create_index(
                Index::create()
                    .if_not_exists()
                    .name("idx_job_queue_claim")
                    .table(JobQueue::Table)
                    .col(JobQueue::Queue)
                    .col(JobQueue::State)
                    .col(JobQueue::RunAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(JobSubscriptions::Table)
                    .if_not_exists()
                    .col(string(JobSubscriptions::Topic))
                    .col(string(JobSubscriptions::GroupName))
                    .col(integer(JobSubscriptions::MaxAttempts))
                    .col(big_integer(JobSubscriptions::CreatedAt))
                    .primary_key(Index::create().col(JobSubscriptions::Topic).col(JobSubscriptions::GroupName))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(JobSubscriptions::Table).if_exists().to_owned()).await?;
        manager.drop_table(Table::drop().table(JobQueue::Table).if_exists().to_owned()).await
    }
}
