//! Ticketing's tables and their migrations (run at start).
//!
//! The no-double-sale guarantee lives here, in two layers that do not depend on each other:
//! - `tk_seats.booking_id` is set by a conditional UPDATE (`… WHERE booking_id IS NULL`), so
//!   of two holds racing for one seat exactly one changes the row;
//! - `tk_booking_seats` has a partial unique index over `(event_id, seat_id) WHERE live`: even
//!   if the application skipped the first layer, the database refuses a second live booking
//!   of a seat. Releasing a booking sets `live = false` on its rows.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{
    big_integer, boolean, double, double_null, integer, string, string_null, text, timestamp_with_time_zone,
    timestamp_with_time_zone_null,
};

pub mod users {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "tk_users")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub user_id: String,
        pub email: String,
        /// PHC string (argon2id).
        pub password_hash: String,
        pub name: String,
        pub phone_number: Option<String>,
        /// "admin" or "customer".
        pub role: String,
        pub created_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod events {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "tk_events")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub event_id: String,
        pub title: String,
        pub description: String,
        pub category: String,
        pub venue: String,
        pub location: String,
        pub start_date: DateTimeUtc,
        pub end_date: DateTimeUtc,
        pub min_price: f64,
        pub max_price: f64,
        pub total_seats: i32,
        pub status: String,
        pub image_url: Option<String>,
        pub organizer_name: Option<String>,
        pub organizer_contact: Option<String>,
        /// Comma-separated.
        pub tags: String,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod seats {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "tk_seats")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub event_id: String,
        /// Unique within its event, e.g. `VIP-1-3`.
        #[sea_orm(primary_key, auto_increment = false)]
        pub seat_id: String,
        pub section: String,
        pub row_label: String,
        pub number: String,
        pub price: f64,
        /// Seat-map order.
        pub position: i32,
        /// "available", "reserved" (held by an unpaid booking) or "sold".
        pub status: String,
        /// The live booking holding the seat; NULL when available.
        pub booking_id: Option<String>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod bookings {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "tk_bookings")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub booking_id: String,
        pub user_id: String,
        pub event_id: String,
        /// Comma-separated, in request order.
        pub seat_ids: String,
        /// "reserved", "confirmed", "cancelled" or "expired" (shown as "cancelled").
        pub status: String,
        pub total_amount: f64,
        pub reservation_id: String,
        pub payment_intent_id: Option<String>,
        /// Set once a payment for this booking succeeded (by webhook or confirm).
        pub paid: bool,
        pub created_at: DateTimeUtc,
        pub expires_at: DateTimeUtc,
        pub confirmed_at: Option<DateTimeUtc>,
        pub cancelled_at: Option<DateTimeUtc>,
        pub refund_amount: Option<f64>,
        /// "processing" until Stripe reports `charge.refunded`, then "succeeded".
        pub refund_status: Option<String>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod booking_seats {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "tk_booking_seats")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub booking_id: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub seat_id: String,
        pub event_id: String,
        /// True while the booking holds or owns the seat.
        pub live: bool,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod payments {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "tk_payments")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub payment_intent_id: String,
        pub booking_id: String,
        pub user_id: String,
        pub amount: i64,
        pub currency: String,
        pub status: String,
        pub client_secret: String,
        pub payment_method: Option<String>,
        pub created_at: DateTimeUtc,
        pub confirmed_at: Option<DateTimeUtc>,
        pub canceled_at: Option<DateTimeUtc>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod idempotency_keys {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "tk_idempotency_keys")]
    pub struct Model {
        /// `<user_id>:<Idempotency-Key>`: keys are per caller, like Stripe's per account.
        #[sea_orm(primary_key, auto_increment = false)]
        pub scoped_key: String,
        /// Fingerprint of the request parameters the key was first used with.
        pub request_hash: String,
        pub payment_intent_id: String,
        pub created_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod webhook_events {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "tk_webhook_events")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub event_id: String,
        pub event_type: String,
        pub received_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub struct Migrator;

impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![service_core::jobs::migration(), Box::new(CreateTicketingTables)]
    }

    fn migration_table_name() -> DynIden {
        Alias::new("ticketing_service_migrations").into_iden()
    }
}

struct CreateTicketingTables;

impl MigrationName for CreateTicketingTables {
    fn name(&self) -> &str {
        "m20261125_000001_create_ticketing_tables"
    }
}

#[derive(DeriveIden)]
enum TkUsers {
    Table,
    UserId,
    Email,
    PasswordHash,
    Name,
    PhoneNumber,
    Role,
    CreatedAt,
}

#[derive(DeriveIden)]
enum TkEvents {
    Table,
    EventId,
    Title,
    Description,
    Category,
    Venue,
    Location,
    StartDate,
    EndDate,
    MinPrice,
    MaxPrice,
    TotalSeats,
    Status,
    ImageUrl,
    OrganizerName,
    OrganizerContact,
    Tags,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum TkSeats {
    Table,
    EventId,
    SeatId,
    Section,
    RowLabel,
    Number,
    Price,
    Position,
    Status,
    BookingId,
}

#[derive(DeriveIden)]
enum TkBookings {
    Table,
    BookingId,
    UserId,
    EventId,
    SeatIds,
    Status,
    TotalAmount,
    ReservationId,
    PaymentIntentId,
    Paid,
    CreatedAt,
    ExpiresAt,
    ConfirmedAt,
    CancelledAt,
    RefundAmount,
    RefundStatus,
}

#[derive(DeriveIden)]
enum TkBookingSeats {
    Table,
    BookingId,
    SeatId,
    EventId,
    Live,
}

#[derive(DeriveIden)]
enum TkPayments {
    Table,
    PaymentIntentId,
    BookingId,
    UserId,
    Amount,
    Currency,
    Status,
    ClientSecret,
    PaymentMethod,
    CreatedAt,
    ConfirmedAt,
    CanceledAt,
}

#[derive(DeriveIden)]
enum TkIdempotencyKeys {
    Table,
    ScopedKey,
    RequestHash,
    PaymentIntentId,
    CreatedAt,
}

#[derive(DeriveIden)]
enum TkWebhookEvents {
    Table,
    EventId,
    EventType,
    ReceivedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for CreateTicketingTables {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(TkUsers::Table)
                    .if_not_exists()
                    .col(string(TkUsers::UserId).primary_key())
                    .col(string(TkUsers::Email).unique_key())
                    .col(string(TkUsers::PasswordHash))
                    .col(string(TkUsers::Name))
                    .col(string_null(TkUsers::PhoneNumber))
                    .col(string(TkUsers::Role))
                    .col(timestamp_with_time_zone(TkUsers::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(TkEvents::Table)
                    .if_not_exists()
                    .col(string(TkEvents::EventId).primary_key())
                    .col(string(TkEvents::Title))
                    .col(text(TkEvents::Description))
                    .col(string(TkEvents::Category))
                    .col(string(TkEvents::Venue))
                    .col(string(TkEvents::Location))
                    .col(timestamp_with_time_zone(TkEvents::StartDate))
                    .col(timestamp_with_time_zone(TkEvents::EndDate))
                    .col(double(TkEvents::MinPrice))
                    .col(double(TkEvents::MaxPrice))
                    .col(integer(TkEvents::TotalSeats))
                    .col(string(TkEvents::Status))
                    .col(string_null(TkEvents::ImageUrl))
                    .col(string_null(TkEvents::OrganizerName))
                    .col(string_null(TkEvents::OrganizerContact))
                    .col(string(TkEvents::Tags))
                    .col(timestamp_with_time_zone(TkEvents::CreatedAt))
                    .col(timestamp_with_time_zone(TkEvents::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(TkSeats::Table)
                    .if_not_exists()
                    .col(string(TkSeats::EventId))
                    .col(string(TkSeats::SeatId))
                    .col(string(TkSeats::Section))
                    .col(string(TkSeats::RowLabel))
                    .col(string(TkSeats::Number))
                    .col(double(TkSeats::Price))
                    .col(integer(TkSeats::Position))
                    .col(string(TkSeats::Status))
                    .col(string_null(TkSeats::BookingId))
                    .primary_key(Index::create().col(TkSeats::EventId).col(TkSeats::SeatId))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .if_not_exists()
                    .name("tk_seats_booking")
                    .table(TkSeats::Table)
                    .col(TkSeats::BookingId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(TkBookings::Table)
                    .if_not_exists()
                    .col(string(TkBookings::BookingId).primary_key())
                    .col(string(TkBookings::UserId))
                    .col(string(TkBookings::EventId))
                    .col(string(TkBookings::SeatIds))
                    .col(string(TkBookings::Status))
                    .col(double(TkBookings::TotalAmount))
                    .col(string(TkBookings::ReservationId))
                    .col(string_null(TkBookings::PaymentIntentId))
                    .col(boolean(TkBookings::Paid))
                    .col(timestamp_with_time_zone(TkBookings::CreatedAt))
                    .col(timestamp_with_time_zone(TkBookings::ExpiresAt))
                    .col(timestamp_with_time_zone_null(TkBookings::ConfirmedAt))
                    .col(timestamp_with_time_zone_null(TkBookings::CancelledAt))
                    .col(double_null(TkBookings::RefundAmount))
                    .col(string_null(TkBookings::RefundStatus))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .if_not_exists()
                    .name("tk_bookings_user")
                    .table(TkBookings::Table)
                    .col(TkBookings::UserId)
                    .col(TkBookings::CreatedAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(TkBookingSeats::Table)
                    .if_not_exists()
                    .col(string(TkBookingSeats::BookingId))
                    .col(string(TkBookingSeats::SeatId))
                    .col(string(TkBookingSeats::EventId))
                    .col(boolean(TkBookingSeats::Live))
                    .primary_key(Index::create().col(TkBookingSeats::BookingId).col(TkBookingSeats::SeatId))
                    .to_owned(),
            )
            .await?;
        // The last line against a double sale: at most one live booking row per seat. A
        // partial unique index, which SQLite and PostgreSQL both enforce.
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE UNIQUE INDEX IF NOT EXISTS tk_booking_seats_one_live \
                 ON tk_booking_seats (event_id, seat_id) WHERE live",
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(TkPayments::Table)
                    .if_not_exists()
                    .col(string(TkPayments::PaymentIntentId).primary_key())
                    .col(string(TkPayments::BookingId))
                    .col(string(TkPayments::UserId))
                    .col(big_integer(TkPayments::Amount))
                    .col(string(TkPayments::Currency))
                    .col(string(TkPayments::Status))
                    .col(string(TkPayments::ClientSecret))
                    .col(string_null(TkPayments::PaymentMethod))
                    .col(timestamp_with_time_zone(TkPayments::CreatedAt))
                    .col(timestamp_with_time_zone_null(TkPayments::ConfirmedAt))
                    .col(timestamp_with_time_zone_null(TkPayments::CanceledAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(TkIdempotencyKeys::Table)
                    .if_not_exists()
                    .col(string(TkIdempotencyKeys::ScopedKey).primary_key())
                    .col(string(TkIdempotencyKeys::RequestHash))
                    .col(string(TkIdempotencyKeys::PaymentIntentId))
                    .col(timestamp_with_time_zone(TkIdempotencyKeys::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(TkWebhookEvents::Table)
                    .if_not_exists()
                    .col(string(TkWebhookEvents::EventId).primary_key())
                    .col(string(TkWebhookEvents::EventType))
                    .col(timestamp_with_time_zone(TkWebhookEvents::ReceivedAt))
                    .to_owned(),
            )
            .await
    }
}
