//! The Content Service's tables: one `content_sets` row per event draft (what its images
//! show, and until when the set is served: the spec's 7-day cache), one `content_images` row
//! per image (a deleted image keeps its row and stored object: the spec's cost rule), and the
//! job queue tables.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{boolean, integer, string, text, timestamp_with_time_zone};

pub mod content_sets {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "content_sets")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub event_draft_id: String,
        pub owner_id: String,
        /// The `RenderInput` as JSON.
        pub input: String,
        pub created_at: DateTimeUtc,
        pub expires_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod content_images {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "content_images")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub image_id: String,
        pub event_draft_id: String,
        /// SIMPLE | FANCY | TRENDY
        pub style: String,
        /// INSTAGRAM | NAVER_BLOG | KAKAO_CHANNEL
        pub platform: String,
        pub width: i32,
        pub height: i32,
        pub url: String,
        pub object_key: String,
        pub source: String,
        pub fallback_used: bool,
        pub deleted: bool,
        pub created_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub struct Migrator;

impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![Box::new(CreateContentTables), service_core::jobs::migration()]
    }

    fn migration_table_name() -> DynIden {
        Alias::new("content_service_migrations").into_iden()
    }
}

struct CreateContentTables;

impl MigrationName for CreateContentTables {
    fn name(&self) -> &str {
        "m20261125_000001_create_content_tables"
    }
}

#[derive(DeriveIden)]
enum ContentSets {
    Table,
    EventDraftId,
    OwnerId,
    Input,
    CreatedAt,
    ExpiresAt,
}

#[derive(DeriveIden)]
enum ContentImages {
    Table,
    ImageId,
    EventDraftId,
    Style,
    Platform,
    Width,
    Height,
    Url,
    ObjectKey,
    Source,
    FallbackUsed,
    Deleted,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for CreateContentTables {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ContentSets::Table)
                    .if_not_exists()
                    .col(string(ContentSets::EventDraftId).primary_key())
                    .col(string(ContentSets::OwnerId))
                    .col(text(ContentSets::Input))
                    .col(timestamp_with_time_zone(ContentSets::CreatedAt))
                    .col(timestamp_with_time_zone(ContentSets::ExpiresAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ContentImages::Table)
                    .if_not_exists()
                    .col(string(ContentImages::ImageId).primary_key())
                    .col(string(ContentImages::EventDraftId))
                    .col(string(ContentImages::Style))
                    .col(string(ContentImages::Platform))
                    .col(integer(ContentImages::Width))
                    .col(integer(ContentImages::Height))
                    .col(text(ContentImages::Url))
                    .col(text(ContentImages::ObjectKey))
                    .col(string(ContentImages::Source))
                    .col(boolean(ContentImages::FallbackUsed))
                    .col(boolean(ContentImages::Deleted))
                    .col(timestamp_with_time_zone(ContentImages::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("content_images_by_draft")
                    .table(ContentImages::Table)
                    .col(ContentImages::EventDraftId)
                    .if_not_exists()
                    .to_owned(),
            )
            .await
    }
}
