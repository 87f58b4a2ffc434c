//! Bookings: hold 1–4 seats of one event all or nothing, confirm after payment, cancel with
//! refund, expire unpaid holds.
//!
//! A hold is one transaction that (1) inserts the booking, (2) claims the seat rows with a
//! conditional UPDATE that only touches free seats, and (3) inserts the booking's live seat
//! rows, which the partial unique index admits once per seat. If (2) changes fewer rows than
//! seats asked for, or (3) meets the index, the whole transaction rolls back: nothing is
//! held. Every later state change (confirm, cancel, expire) is a conditional UPDATE on the
//! booking's status, so of two racing changes exactly one applies.

use std::collections::HashMap;

use chrono::Utc;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, TransactionTrait,
};
use serde_json::json;

use contracts::auth::Claims;
use service_core::jobs::EnqueueOptions;

use crate::accounts::is_unique_violation;
use crate::errors::TicketingError;
use crate::expiry::{EXPIRE_QUEUE, REFUND_QUEUE};
use crate::ids::new_id;
use crate::service::{Ticketing, is_admin};
use crate::store::{booking_seats, bookings, events, seats};

pub const MAX_SEATS_PER_BOOKING: usize = 4;

/// The status the API shows: an expired booking is a cancelled one.
pub fn api_status(status: &str) -> &str {
    if status == "expired" { "cancelled" } else { status }
}

pub struct BookingDetail {
    pub booking: bookings::Model,
    pub event_title: String,
    pub seats: Vec<seats::Model>,
}

pub struct BookingPage {
    pub items: Vec<(bookings::Model, Option<events::Model>)>,
    pub total: i64,
    pub page: i32,
    pub page_size: i32,
}

/// What confirming a paid booking found.
#[derive(Debug, PartialEq, Eq)]
pub enum ConfirmOutcome {
    Confirmed,
    AlreadyConfirmed,
    /// Cancelled or expired before the payment arrived: the payment must be refunded.
    NotHeld,
}

fn seat_list(column: &str) -> Vec<String> {
    column.split(',').filter(|s| !s.is_empty()).map(str::to_owned).collect()
}

pub fn booking_seat_ids(booking: &bookings::Model) -> Vec<String> {
    seat_list(&booking.seat_ids)
}

/// Why a hold transaction did not hold.
enum HoldFailure {
    Taken,
    Db(sea_orm::DbErr),
    Jobs(service_core::jobs::Error),
}

fn is_deadlock(error: &sea_orm::DbErr) -> bool {
    let text = error.to_string();
    text.contains("deadlock") || text.contains("40P01") || text.contains("could not serialize")
}

/// A booking event's id and payload (the id is per booking and topic, so re-publishing is
/// harmless).
fn booking_event(topic: &str, booking: &bookings::Model) -> (String, serde_json::Value) {
    let payload = json!({
        "type": topic,
        "booking_id": booking.booking_id,
        "user_id": booking.user_id,
        "event_id": booking.event_id,
        "seat_ids": booking_seat_ids(booking),
        "total_amount": booking.total_amount,
        "status": api_status(&booking.status),
        "occurred_at": Utc::now().to_rfc3339(),
    });
    (format!("{topic}:{}", booking.booking_id), payload)
}

/// Releases a booking's seats (inside the caller's transaction).
async fn release_seats(txn: &DatabaseTransaction, booking_id: &str) -> Result<(), sea_orm::DbErr> {
    seats::Entity::update_many()
        .col_expr(seats::Column::Status, Expr::value("available"))
        .col_expr(seats::Column::BookingId, Expr::value(Option::<String>::None))
        .filter(seats::Column::BookingId.eq(booking_id))
        .exec(txn)
        .await?;
    booking_seats::Entity::update_many()
        .col_expr(booking_seats::Column::Live, Expr::value(false))
        .filter(booking_seats::Column::BookingId.eq(booking_id))
        .exec(txn)
        .await?;
    Ok(())
}

impl Ticketing {
    fn check_owner(&self, claims: &Claims, booking: &bookings::Model) -> Result<(), TicketingError> {
        if booking.user_id == claims.sub || is_admin(claims) {
            Ok(())
        } else {
            Err(TicketingError::Unauthorized("the booking belongs to another user".into()))
        }
    }

    pub(crate) async fn find_booking(&self, booking_id: &str) -> Result<bookings::Model, TicketingError> {
        bookings::Entity::find_by_id(booking_id.to_owned())
            .one(&self.db)
            .await?
            .ok_or_else(|| TicketingError::NotFound(format!("booking {booking_id}")))
    }

    /// The caller's booking (or any booking for an admin).
    pub(crate) async fn owned_booking(&self, claims: &Claims, booking_id: &str) -> Result<bookings::Model, TicketingError> {
        let booking = self.find_booking(booking_id).await?;
        self.check_owner(claims, &booking)?;
        Ok(booking)
    }

    pub async fn create_booking(
        &self,
        claims: &Claims,
        event_id: &str,
        seat_ids: Vec<String>,
        total_amount: Option<f64>,
    ) -> Result<bookings::Model, TicketingError> {
        if event_id.is_empty() {
            return Err(TicketingError::invalid("event_id", "is required"));
        }
        if seat_ids.is_empty() {
            return Err(TicketingError::invalid("seat_ids", "at least one seat is required"));
        }
        if seat_ids.len() > MAX_SEATS_PER_BOOKING {
            return Err(TicketingError::invalid("seat_ids", "at most 4 seats per booking"));
        }
        let mut unique = seat_ids.clone();
        unique.sort();
        unique.dedup();
        if unique.len() != seat_ids.len() {
            return Err(TicketingError::invalid("seat_ids", "a seat is listed twice"));
        }
        let total_amount = total_amount.ok_or_else(|| TicketingError::invalid("total_amount", "is required"))?;

        let event = self.find_event(event_id).await?;
        if event.status == "cancelled" {
            return Err(TicketingError::invalid("event_id", "the event is cancelled"));
        }
        let found = seats::Entity::find()
            .filter(seats::Column::EventId.eq(event_id))
            .filter(seats::Column::SeatId.is_in(unique.iter().cloned()))
            .all(&self.db)
            .await?;
        if found.len() != unique.len() {
            let missing: Vec<&str> =
                unique.iter().filter(|id| !found.iter().any(|s| &s.seat_id == *id)).map(String::as_str).collect();
            return Err(TicketingError::NotFound(format!("seats {}", missing.join(", "))));
        }
        let price: f64 = found.iter().map(|seat| seat.price).sum();
        if (price - total_amount).abs() > 0.005 {
            return Err(TicketingError::invalid("total_amount", format!("must equal the seats' total price {price}")));
        }
        // Cheap early answer for seats already taken; the transaction below decides for real.
        let taken: Vec<&str> = found.iter().filter(|s| s.booking_id.is_some()).map(|s| s.seat_id.as_str()).collect();
        if !taken.is_empty() {
            return Err(TicketingError::SeatNotAvailable(taken.join(", ")));
        }

        let now = Utc::now();
        let expires_at = now + chrono::Duration::from_std(self.settings.hold_ttl).unwrap_or_default();
        let booking = bookings::Model {
            booking_id: new_id("book"),
            user_id: claims.sub.clone(),
            event_id: event_id.to_owned(),
            seat_ids: seat_ids.join(","),
            status: "reserved".into(),
            total_amount: price,
            reservation_id: new_id("res"),
            payment_intent_id: None,
            paid: false,
            created_at: now,
            expires_at,
            confirmed_at: None,
            cancelled_at: None,
            refund_amount: None,
            refund_status: None,
        };
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.hold(&booking, &unique).await {
                Ok(()) => break,
                Err(HoldFailure::Taken) => return Err(TicketingError::SeatNotAvailable(unique.join(", "))),
                Err(HoldFailure::Db(error)) if is_deadlock(&error) && attempt < 3 => continue,
                Err(HoldFailure::Db(error)) if is_deadlock(&error) => {
                    return Err(TicketingError::SeatNotAvailable(unique.join(", ")));
                }
                Err(HoldFailure::Db(error)) => return Err(error.into()),
                Err(HoldFailure::Jobs(error)) => return Err(error.into()),
            }
        }
        Ok(booking)
    }

    async fn hold(&self, booking: &bookings::Model, seat_ids: &[String]) -> Result<(), HoldFailure> {
        let txn = self.db.begin().await.map_err(HoldFailure::Db)?;
        // The write comes first, so SQLite takes its write lock at once (no lock upgrade).
        let row: bookings::ActiveModel = booking.clone().into();
        bookings::Entity::insert(row).exec(&txn).await.map_err(HoldFailure::Db)?;
        let claimed = seats::Entity::update_many()
            .col_expr(seats::Column::Status, Expr::value("reserved"))
            .col_expr(seats::Column::BookingId, Expr::value(booking.booking_id.clone()))
            .filter(seats::Column::EventId.eq(&booking.event_id))
            .filter(seats::Column::SeatId.is_in(seat_ids.iter().cloned()))
            .filter(seats::Column::BookingId.is_null())
            .exec(&txn)
            .await
            .map_err(HoldFailure::Db)?;
        if claimed.rows_affected != seat_ids.len() as u64 {
            txn.rollback().await.map_err(HoldFailure::Db)?;
            return Err(HoldFailure::Taken);
        }
        let rows = seat_ids.iter().map(|seat_id| booking_seats::ActiveModel {
            booking_id: Set(booking.booking_id.clone()),
            seat_id: Set(seat_id.clone()),
            event_id: Set(booking.event_id.clone()),
            live: Set(true),
        });
        match booking_seats::Entity::insert_many(rows).exec(&txn).await {
            Ok(_) => {}
            Err(error) if is_unique_violation(&error) => {
                tracing::error!(booking_id = %booking.booking_id, "seat claimed twice: the unique index refused it");
                txn.rollback().await.map_err(HoldFailure::Db)?;
                return Err(HoldFailure::Taken);
            }
            Err(error) => return Err(HoldFailure::Db(error)),
        }
        // The expiry job and the booking.created event commit with the hold, or not at all:
        // a committed hold always expires, even if this process dies right after.
        let options = EnqueueOptions {
            job_id: Some(format!("expire:{}", booking.booking_id)),
            run_at: Some(booking.expires_at),
            max_attempts: Some(20),
        };
        self.jobs
            .enqueue_in(&txn, EXPIRE_QUEUE, json!({"booking_id": booking.booking_id}), options)
            .await
            .map_err(HoldFailure::Jobs)?;
        self.publish_booking_event_in(&txn, "booking.created", booking).await.map_err(HoldFailure::Jobs)?;
        txn.commit().await.map_err(HoldFailure::Db)
    }

    pub async fn booking_detail(&self, claims: &Claims, booking_id: &str) -> Result<BookingDetail, TicketingError> {
        let booking = self.owned_booking(claims, booking_id).await?;
        let ids = booking_seat_ids(&booking);
        let mut seats = seats::Entity::find()
            .filter(seats::Column::EventId.eq(&booking.event_id))
            .filter(seats::Column::SeatId.is_in(ids.iter().cloned()))
            .all(&self.db)
            .await?;
        seats.sort_by_key(|seat| ids.iter().position(|id| id == &seat.seat_id));
        let event_title = events::Entity::find_by_id(booking.event_id.clone())
            .one(&self.db)
            .await?
            .map(|event| event.title)
            .unwrap_or_default();
        Ok(BookingDetail { booking, event_title, seats })
    }

    pub async fn list_user_bookings(
        &self,
        claims: &Claims,
        user_id: &str,
        status: Option<&str>,
        page: Option<i32>,
        page_size: Option<i32>,
    ) -> Result<BookingPage, TicketingError> {
        if user_id != claims.sub && !is_admin(claims) {
            return Err(TicketingError::Unauthorized("bookings of another user".into()));
        }
        let page = page.unwrap_or(1);
        let page_size = page_size.unwrap_or(20);
        if page < 1 {
            return Err(TicketingError::invalid("page", "must be 1 or more"));
        }
        if !(1..=100).contains(&page_size) {
            return Err(TicketingError::invalid("page_size", "must be 1 to 100"));
        }
        let mut query = bookings::Entity::find().filter(bookings::Column::UserId.eq(user_id));
        match status {
            Some("cancelled") => query = query.filter(bookings::Column::Status.is_in(["cancelled", "expired"])),
            Some(status) => query = query.filter(bookings::Column::Status.eq(status)),
            None => {}
        }
        let total = query.clone().count(&self.db).await? as i64;
        let rows = query
            .order_by_desc(bookings::Column::CreatedAt)
            .order_by_desc(bookings::Column::BookingId)
            .offset(((page - 1) as u64) * page_size as u64)
            .limit(page_size as u64)
            .all(&self.db)
            .await?;
        let event_ids: Vec<String> = rows.iter().map(|b| b.event_id.clone()).collect();
        let events: HashMap<String, events::Model> = events::Entity::find()
            .filter(events::Column::EventId.is_in(event_ids))
            .all(&self.db)
            .await?
            .into_iter()
            .map(|event| (event.event_id.clone(), event))
            .collect();
        let items = rows.into_iter().map(|booking| {
            let event = events.get(&booking.event_id).cloned();
            (booking, event)
        });
        Ok(BookingPage { items: items.collect(), total, page, page_size })
    }

    /// Marks a reserved booking paid and confirmed, its seats sold. Idempotent.
    pub(crate) async fn confirm_paid(&self, booking_id: &str, payment_intent_id: &str) -> Result<ConfirmOutcome, TicketingError> {
        let txn = self.db.begin().await?;
        let confirmed = bookings::Entity::update_many()
            .col_expr(bookings::Column::Status, Expr::value("confirmed"))
            .col_expr(bookings::Column::Paid, Expr::value(true))
            .col_expr(bookings::Column::ConfirmedAt, Expr::value(Some(Utc::now())))
            .col_expr(bookings::Column::PaymentIntentId, Expr::value(Some(payment_intent_id.to_owned())))
            .filter(bookings::Column::BookingId.eq(booking_id))
            .filter(bookings::Column::Status.eq("reserved"))
            .exec(&txn)
            .await?;
        if confirmed.rows_affected == 1 {
            seats::Entity::update_many()
                .col_expr(seats::Column::Status, Expr::value("sold"))
                .filter(seats::Column::BookingId.eq(booking_id))
                .exec(&txn)
                .await?;
            if let Some(booking) = bookings::Entity::find_by_id(booking_id.to_owned()).one(&txn).await? {
                self.publish_booking_event_in(&txn, "booking.confirmed", &booking).await?;
            }
            txn.commit().await?;
            tracing::info!(%booking_id, "booking confirmed");
            return Ok(ConfirmOutcome::Confirmed);
        }
        txn.rollback().await?;
        let booking = self.find_booking(booking_id).await?;
        Ok(if booking.status == "confirmed" { ConfirmOutcome::AlreadyConfirmed } else { ConfirmOutcome::NotHeld })
    }

    /// POST /confirm: succeeds once the booking's payment succeeded (the webhook usually
    /// confirmed it already; otherwise the provider is asked).
    pub async fn confirm_booking(
        &self,
        claims: &Claims,
        booking_id: &str,
        payment_intent_id: Option<&str>,
    ) -> Result<bookings::Model, TicketingError> {
        let booking = self.owned_booking(claims, booking_id).await?;
        match booking.status.as_str() {
            "confirmed" => return Ok(booking),
            "reserved" => {}
            "expired" => return Err(TicketingError::BookingExpired),
            _ => return Err(TicketingError::invalid("booking_id", "the booking is cancelled")),
        }
        let intent_id = payment_intent_id
            .map(str::to_owned)
            .or(booking.payment_intent_id.clone())
            .ok_or_else(|| TicketingError::PaymentFailed("no payment was made for this booking".into()))?;
        let payment = self.find_payment(&intent_id).await?;
        if payment.booking_id != booking.booking_id {
            return Err(TicketingError::invalid("payment_intent_id", "belongs to another booking"));
        }
        let current = self.refresh_payment(payment).await?;
        if current.status != "succeeded" {
            return Err(TicketingError::PaymentFailed(format!("the payment is {}", current.status)));
        }
        match self.confirm_paid(booking_id, &intent_id).await? {
            ConfirmOutcome::Confirmed | ConfirmOutcome::AlreadyConfirmed => self.find_booking(booking_id).await,
            ConfirmOutcome::NotHeld => {
                self.schedule_refund(booking_id).await?;
                Err(TicketingError::BookingExpired)
            }
        }
    }

    /// Cancels a booking: seats come back; a paid booking is refunded in full.
    pub async fn cancel_booking(&self, claims: &Claims, booking_id: &str) -> Result<bookings::Model, TicketingError> {
        let booking = self.owned_booking(claims, booking_id).await?;
        let from = match booking.status.as_str() {
            "reserved" | "confirmed" => booking.status.clone(),
            "expired" => return Err(TicketingError::BookingExpired),
            _ => return Err(TicketingError::invalid("booking_id", "the booking is already cancelled")),
        };
        let paid = from == "confirmed";
        // A paid booking's refund is a durable job, queued before the cancel commits; it does
        // nothing unless the booking ends up cancelled and paid.
        if paid {
            self.schedule_refund(booking_id).await?;
        }
        let txn = self.db.begin().await?;
        let mut update = bookings::Entity::update_many()
            .col_expr(bookings::Column::Status, Expr::value("cancelled"))
            .col_expr(bookings::Column::CancelledAt, Expr::value(Some(Utc::now())));
        if paid {
            update = update
                .col_expr(bookings::Column::RefundAmount, Expr::value(Some(booking.total_amount)))
                .col_expr(bookings::Column::RefundStatus, Expr::value(Some("processing".to_owned())));
        } else {
            update = update
                .col_expr(bookings::Column::RefundAmount, Expr::value(Some(0.0)))
                .col_expr(bookings::Column::RefundStatus, Expr::value(Some("not_required".to_owned())));
        }
        let changed = update
            .filter(bookings::Column::BookingId.eq(booking_id))
            .filter(bookings::Column::Status.eq(from.as_str()))
            .exec(&txn)
            .await?;
        if changed.rows_affected != 1 {
            // Someone else (payment, expiry, another cancel) changed it first: look again.
            txn.rollback().await?;
            return Box::pin(self.cancel_booking(claims, booking_id)).await;
        }
        release_seats(&txn, booking_id).await?;
        if let Some(cancelled) = bookings::Entity::find_by_id(booking_id.to_owned()).one(&txn).await? {
            self.publish_booking_event_in(&txn, "booking.cancelled", &cancelled).await?;
        }
        txn.commit().await?;
        let booking = self.find_booking(booking_id).await?;
        if !paid {
            if let Some(intent) = &booking.payment_intent_id {
                // An open intent must not be paid any more; a failure here is harmless (a late
                // success would be refunded by the webhook).
                if let Err(error) = self.cancel_open_intent(intent).await {
                    tracing::warn!(%error, booking_id, "cancelling the open payment intent failed");
                }
            }
        }
        tracing::info!(booking_id, paid, "booking cancelled");
        Ok(booking)
    }

    /// Expires a hold whose time is up. True when this call expired it.
    pub(crate) async fn expire_booking(&self, booking_id: &str) -> Result<bool, TicketingError> {
        let txn = self.db.begin().await?;
        let expired = bookings::Entity::update_many()
            .col_expr(bookings::Column::Status, Expr::value("expired"))
            .col_expr(bookings::Column::CancelledAt, Expr::value(Some(Utc::now())))
            .filter(bookings::Column::BookingId.eq(booking_id))
            .filter(bookings::Column::Status.eq("reserved"))
            .filter(bookings::Column::ExpiresAt.lte(Utc::now()))
            .exec(&txn)
            .await?;
        if expired.rows_affected != 1 {
            txn.rollback().await?;
            return Ok(false);
        }
        release_seats(&txn, booking_id).await?;
        if let Some(expired) = bookings::Entity::find_by_id(booking_id.to_owned()).one(&txn).await? {
            self.publish_booking_event_in(&txn, "booking.expired", &expired).await?;
        }
        txn.commit().await?;
        tracing::info!(booking_id, "hold expired; seats released");
        Ok(true)
    }

    pub(crate) async fn schedule_refund(&self, booking_id: &str) -> Result<(), TicketingError> {
        let options = EnqueueOptions { job_id: Some(format!("refund:{booking_id}")), run_at: None, max_attempts: Some(20) };
        self.jobs.enqueue(REFUND_QUEUE, json!({"booking_id": booking_id}), options).await?;
        Ok(())
    }

    /// Publishes a booking event with the caller's transaction (it is delivered if and only
    /// if that commits); the event id makes re-publishing harmless.
    pub(crate) async fn publish_booking_event_in<C: ConnectionTrait>(
        &self,
        conn: &C,
        topic: &str,
        booking: &bookings::Model,
    ) -> Result<(), service_core::jobs::Error> {
        let (event_id, payload) = booking_event(topic, booking);
        self.jobs.publish_in(conn, topic, &event_id, &payload).await
    }

    /// Publishes a booking event on its own (a retried job repairing a lost publish).
    pub(crate) async fn publish_booking_event(&self, topic: &str, booking: &bookings::Model) {
        let (event_id, payload) = booking_event(topic, booking);
        if let Err(error) = self.jobs.publish(topic, &event_id, &payload).await {
            tracing::warn!(%error, topic, booking_id = %booking.booking_id, "publishing a booking event failed");
        }
    }

    /// Seats of an event that are in a live booking, by seat id (tests and diagnostics).
    pub async fn live_seat_owners<C: ConnectionTrait>(db: &C, event_id: &str) -> Result<Vec<(String, String)>, sea_orm::DbErr> {
        booking_seats::Entity::find()
            .select_only()
            .column(booking_seats::Column::SeatId)
            .column(booking_seats::Column::BookingId)
            .filter(booking_seats::Column::EventId.eq(event_id))
            .filter(booking_seats::Column::Live.eq(true))
            .into_tuple()
            .all(db)
            .await
    }
}
