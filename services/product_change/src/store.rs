//! The Product-Change Service's tables (times are Unix milliseconds, the same on SQLite and
//! PostgreSQL):
//!
//! - `change_requests`: every change request and its state, the source of truth for results
//!   and for "one change in flight per line" (a partial unique index);
//! - `change_history`: the history the spec reads, written from `product-change.changed`
//!   events by the history subscriber (the spec's asynchronous history);
//! - the job queue and event bus tables of `service_core::jobs`.

use sea_orm::{ConnectionTrait, DbErr};
use sea_orm_migration::prelude::*;

pub mod change_requests {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
    #[sea_orm(table_name = "change_requests")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub request_id: String,
        /// The caller (User Service username) who asked.
        pub user_id: String,
        pub customer_id: String,
        pub line_number: String,
        pub current_product_code: String,
        pub current_product_name: String,
        pub target_product_code: String,
        pub target_product_name: String,
        /// PENDING | PROCESSING | COMPLETED | FAILED
        pub status: String,
        pub result_code: Option<String>,
        pub result_message: Option<String>,
        pub failure_reason: Option<String>,
        pub requested_at_ms: i64,
        pub processed_at_ms: Option<i64>,
        pub updated_at_ms: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod change_history {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "change_history")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub request_id: String,
        pub user_id: String,
        pub line_number: String,
        pub status: String,
        pub current_product_code: String,
        pub current_product_name: String,
        pub target_product_code: String,
        pub target_product_name: String,
        pub requested_at_ms: i64,
        pub processed_at_ms: Option<i64>,
        pub result_message: Option<String>,
        /// The request's `updated_at_ms` this row reflects: older events never overwrite newer.
        pub version_ms: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub struct Migrator;

impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![Box::new(CreateProductChangeTables), service_core::jobs::migration()]
    }

    fn migration_table_name() -> DynIden {
        Alias::new("product_change_service_migrations").into_iden()
    }
}

struct CreateProductChangeTables;

impl MigrationName for CreateProductChangeTables {
    fn name(&self) -> &str {
        "m20261125_000001_create_product_change_tables"
    }
}

/// Plain SQL both SQLite and PostgreSQL accept.
const SCHEMA: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS change_requests (
        request_id TEXT PRIMARY KEY, user_id TEXT NOT NULL, customer_id TEXT NOT NULL,
        line_number TEXT NOT NULL, current_product_code TEXT NOT NULL, current_product_name TEXT NOT NULL,
        target_product_code TEXT NOT NULL, target_product_name TEXT NOT NULL, status TEXT NOT NULL,
        result_code TEXT, result_message TEXT, failure_reason TEXT, requested_at_ms BIGINT NOT NULL,
        processed_at_ms BIGINT, updated_at_ms BIGINT NOT NULL)",
    // At most one change in flight per line: a second insert for the line fails.
    "CREATE UNIQUE INDEX IF NOT EXISTS change_requests_one_in_flight
        ON change_requests (line_number) WHERE status IN ('PENDING', 'PROCESSING')",
    "CREATE INDEX IF NOT EXISTS change_requests_line ON change_requests (line_number, updated_at_ms)",
    "CREATE TABLE IF NOT EXISTS change_history (
        request_id TEXT PRIMARY KEY, user_id TEXT NOT NULL, line_number TEXT NOT NULL, status TEXT NOT NULL,
        current_product_code TEXT NOT NULL, current_product_name TEXT NOT NULL, target_product_code TEXT NOT NULL,
        target_product_name TEXT NOT NULL, requested_at_ms BIGINT NOT NULL, processed_at_ms BIGINT,
        result_message TEXT, version_ms BIGINT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS change_history_user ON change_history (user_id, requested_at_ms)",
];

#[async_trait::async_trait]
impl MigrationTrait for CreateProductChangeTables {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for statement in SCHEMA {
            db.execute_unprepared(statement).await?;
        }
        Ok(())
    }
}
