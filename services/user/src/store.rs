//! The User Service's tables and their migrations (run at start).
//!
//! - `users`: everyone who has logged in at least once (registered on first login, spec step 3),
//!   with the directory attributes of their last login;
//! - `local_directory`: the embedded directory (argon2id password hashes), used when no LDAP
//!   server is configured;
//! - `login_attempts`: consecutive failures and lock expiry per username (survives restarts).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{integer, string, string_null, timestamp_with_time_zone, timestamp_with_time_zone_null};

/// Roles are kept as one comma-separated column: a handful of short names per user.
pub fn roles_to_column(roles: &[String]) -> String {
    roles.join(",")
}

pub fn roles_from_column(column: &str) -> Vec<String> {
    column.split(',').filter(|role| !role.is_empty()).map(str::to_owned).collect()
}

pub mod users {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "users")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub user_id: String,
        pub username: String,
        pub name: String,
        pub email: String,
        pub department: Option<String>,
        pub title: Option<String>,
        /// Comma-separated role names.
        pub roles: String,
        pub last_login_at: Option<DateTimeUtc>,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod local_directory {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "local_directory")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub username: String,
        /// PHC string (argon2id).
        pub password_hash: String,
        pub name: String,
        pub email: String,
        pub department: Option<String>,
        pub title: Option<String>,
        pub roles: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod login_attempts {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "login_attempts")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub username: String,
        pub failed_count: i32,
        pub locked_until: Option<DateTimeUtc>,
        pub updated_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub struct Migrator;

impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![Box::new(CreateUserTables)]
    }

    fn migration_table_name() -> DynIden {
        Alias::new("user_service_migrations").into_iden()
    }
}

struct CreateUserTables;

impl MigrationName for CreateUserTables {
    fn name(&self) -> &str {
        "m20261124_000001_create_user_tables"
    }
}

#[derive(DeriveIden)]
enum Users {
    Table,
    UserId,
    Username,
    Name,
    Email,
    Department,
    Title,
    Roles,
    LastLoginAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum LocalDirectory {
    Table,
    Username,
    PasswordHash,
    Name,
    Email,
    Department,
    Title,
    Roles,
}

#[derive(DeriveIden)]
enum LoginAttempts {
    Table,
    Username,
    FailedCount,
    LockedUntil,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for CreateUserTables {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Users::Table)
                    .if_not_exists()
                    .col(string(Users::UserId).primary_key())
                    .col(string(Users::Username).unique_key())
                    .col(string(Users::Name))
                    .col(string(Users::Email))
                    .col(string_null(Users::Department))
                    .col(string_null(Users::Title))
                    .col(string(Users::Roles))
                    .col(timestamp_with_time_zone_null(Users::LastLoginAt))
                    .col(timestamp_with_time_zone(Users::CreatedAt))
                    .col(timestamp_with_time_zone(Users::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(LocalDirectory::Table)
                    .if_not_exists()
                    .col(string(LocalDirectory::Username).primary_key())
                    .col(string(LocalDirectory::PasswordHash))
                    .col(string(LocalDirectory::Name))
                    .col(string(LocalDirectory::Email))
                    .col(string_null(LocalDirectory::Department))
                    .col(string_null(LocalDirectory::Title))
                    .col(string(LocalDirectory::Roles))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(LoginAttempts::Table)
                    .if_not_exists()
                    .col(string(LoginAttempts::Username).primary_key())
                    .col(integer(LoginAttempts::FailedCount))
                    .col(timestamp_with_time_zone_null(LoginAttempts::LockedUntil))
                    .col(timestamp_with_time_zone(LoginAttempts::UpdatedAt))
                    .to_owned(),
            )
            .await
    }
}
