//! KOS's own tables: products, lines (with their customer), product-change orders.
//! Times are Unix milliseconds (the same on SQLite and PostgreSQL).

use sea_orm::{ConnectionTrait, DbErr};
use sea_orm_migration::prelude::*;

pub mod products {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "kos_products")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub product_code: String,
        pub product_name: String,
        pub operator_code: String,
        pub monthly_fee: f64,
        pub data_allowance: String,
        pub voice_allowance: String,
        pub sms_allowance: String,
        pub on_sale: bool,
        pub deferred: bool,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod lines {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "kos_lines")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub line_number: String,
        pub customer_id: String,
        pub customer_name: String,
        pub portal_user_id: String,
        pub operator_code: String,
        pub product_code: String,
        /// ACTIVE | SUSPENDED | TERMINATED
        pub state: String,
        pub contract_date: String,
        pub term_end_date: String,
        pub early_termination_fee: f64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod orders {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "kos_orders")]
    pub struct Model {
        /// The caller's request id: KOS's idempotency key.
        #[sea_orm(primary_key, auto_increment = false)]
        pub request_id: String,
        pub order_id: String,
        pub line_number: String,
        pub from_product_code: String,
        pub to_product_code: String,
        /// ACCEPTED | COMPLETED | REJECTED
        pub state: String,
        pub result_code: String,
        pub result_message: String,
        pub accepted_at_ms: i64,
        pub complete_at_ms: i64,
        pub completed_at_ms: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub struct Migrator;

impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![Box::new(CreateKosTables)]
    }

    fn migration_table_name() -> DynIden {
        Alias::new("kos_service_migrations").into_iden()
    }
}

struct CreateKosTables;

impl MigrationName for CreateKosTables {
    fn name(&self) -> &str {
        "m20261125_000001_create_kos_tables"
    }
}

/// Plain SQL both SQLite and PostgreSQL accept.
const SCHEMA: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS kos_products (
        product_code TEXT PRIMARY KEY, product_name TEXT NOT NULL, operator_code TEXT NOT NULL,
        monthly_fee DOUBLE PRECISION NOT NULL, data_allowance TEXT NOT NULL, voice_allowance TEXT NOT NULL,
        sms_allowance TEXT NOT NULL, on_sale BOOLEAN NOT NULL, deferred BOOLEAN NOT NULL)",
    "CREATE TABLE IF NOT EXISTS kos_lines (
        line_number TEXT PRIMARY KEY, customer_id TEXT NOT NULL, customer_name TEXT NOT NULL,
        portal_user_id TEXT NOT NULL, operator_code TEXT NOT NULL, product_code TEXT NOT NULL,
        state TEXT NOT NULL, contract_date TEXT NOT NULL, term_end_date TEXT NOT NULL,
        early_termination_fee DOUBLE PRECISION NOT NULL)",
    "CREATE INDEX IF NOT EXISTS kos_lines_portal_user ON kos_lines (portal_user_id)",
    "CREATE TABLE IF NOT EXISTS kos_orders (
        request_id TEXT PRIMARY KEY, order_id TEXT NOT NULL, line_number TEXT NOT NULL,
        from_product_code TEXT NOT NULL, to_product_code TEXT NOT NULL, state TEXT NOT NULL,
        result_code TEXT NOT NULL, result_message TEXT NOT NULL, accepted_at_ms BIGINT NOT NULL,
        complete_at_ms BIGINT NOT NULL, completed_at_ms BIGINT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS kos_orders_due ON kos_orders (state, complete_at_ms)",
    // A back office runs one provisioning order per line at a time.
    "CREATE UNIQUE INDEX IF NOT EXISTS kos_orders_one_open_per_line ON kos_orders (line_number) WHERE state = 'ACCEPTED'",
];

#[async_trait::async_trait]
impl MigrationTrait for CreateKosTables {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for statement in SCHEMA {
            db.execute_unprepared(statement).await?;
        }
        Ok(())
    }
}
