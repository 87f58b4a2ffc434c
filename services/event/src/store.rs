//! The Event Service's table: one `events` row per event, from draft to completion, with
//! its recommendations, generated images, edited content and distribution results as JSON
//! columns (each read and written whole), and the job queue tables.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{big_integer, double, string, string_null, text, text_null, timestamp_with_time_zone, timestamp_with_time_zone_null};

pub mod events {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
    #[sea_orm(table_name = "events")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub event_id: String,
        pub owner_id: String,
        /// DRAFT | APPROVED | ACTIVE | COMPLETED
        pub status: String,
        pub objective: String,
        pub store_name: String,
        pub industry: String,
        pub region: String,
        pub address: Option<String>,
        /// The chosen recommendation's title (edited title when set); empty until then.
        pub title: String,
        pub description: String,
        pub participant_count: i64,
        pub roi: f64,
        /// `[EventRecommendation]` once the AI job completed.
        pub recommendations: Option<String>,
        /// `GeneratedImages` once the image job completed.
        pub images: Option<String>,
        pub selected_image_url: Option<String>,
        /// `EditedContent`.
        pub edited_content: Option<String>,
        /// `[ChannelResult]` after publishing.
        pub distribution: Option<String>,
        pub start_date: Option<String>,
        pub end_date: Option<String>,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
        pub published_at: Option<DateTimeUtc>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub struct Migrator;

impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![Box::new(CreateEventTables), service_core::jobs::migration(), Box::new(ListIndexes)]
    }

    fn migration_table_name() -> DynIden {
        Alias::new("event_service_migrations").into_iden()
    }
}

struct CreateEventTables;

impl MigrationName for CreateEventTables {
    fn name(&self) -> &str {
        "m20261125_000001_create_event_tables"
    }
}

#[derive(DeriveIden)]
enum Events {
    Table,
    EventId,
    OwnerId,
    Status,
    Objective,
    StoreName,
    Industry,
    Region,
    Address,
    Title,
    Description,
    ParticipantCount,
    Roi,
    Recommendations,
    Images,
    SelectedImageUrl,
    EditedContent,
    Distribution,
    StartDate,
    EndDate,
    CreatedAt,
    UpdatedAt,
    PublishedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for CreateEventTables {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Events::Table)
                    .if_not_exists()
                    .col(string(Events::EventId).primary_key())
                    .col(string(Events::OwnerId))
                    .col(string(Events::Status))
                    .col(string(Events::Objective))
                    .col(string(Events::StoreName))
                    .col(string(Events::Industry))
                    .col(string(Events::Region))
                    .col(string_null(Events::Address))
                    .col(string(Events::Title))
                    .col(text(Events::Description))
                    .col(big_integer(Events::ParticipantCount))
                    .col(double(Events::Roi))
                    .col(text_null(Events::Recommendations))
                    .col(text_null(Events::Images))
                    .col(text_null(Events::SelectedImageUrl))
                    .col(text_null(Events::EditedContent))
                    .col(text_null(Events::Distribution))
                    .col(string_null(Events::StartDate))
                    .col(string_null(Events::EndDate))
                    .col(timestamp_with_time_zone(Events::CreatedAt))
                    .col(timestamp_with_time_zone(Events::UpdatedAt))
                    .col(timestamp_with_time_zone_null(Events::PublishedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("events_by_owner_created")
                    .table(Events::Table)
                    .col(Events::OwnerId)
                    .col(Events::CreatedAt)
                    .if_not_exists()
                    .to_owned(),
            )
            .await
    }
}

/// Indexes for getEventList's filters and sorts (status; participants, ROI), each led by the
/// owner: every list is one owner's.
struct ListIndexes;

impl MigrationName for ListIndexes {
    fn name(&self) -> &str {
        "m20261125_000002_event_list_indexes"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for ListIndexes {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let indexes = [
            ("events_by_owner_status_created", [Events::OwnerId, Events::Status, Events::CreatedAt]),
            ("events_by_owner_participants", [Events::OwnerId, Events::ParticipantCount, Events::CreatedAt]),
            ("events_by_owner_roi", [Events::OwnerId, Events::Roi, Events::CreatedAt]),
        ];
        for (name, [a, b, c]) in indexes {
            manager
                .create_index(Index::create().name(name).table(Events::Table).col(a).col(b).col(c).if_not_exists().to_owned())
                .await?;
        }
        Ok(())
    }
}
