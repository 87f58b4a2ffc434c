//! Payments: PaymentIntents for bookings (amount and currency must be the booking's), the
//! Stripe webhook (signature v1, de-duplicated by event id), and refunds.

use chrono::Utc;
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};
use serde_json::Value;

use contracts::auth::Claims;

use crate::bookings::ConfirmOutcome;
use crate::errors::TicketingError;
use crate::provider::{NewIntent, ProviderError, ProviderIntent};
use crate::service::{Ticketing, is_admin};
use crate::store::{bookings, idempotency_keys, payments, webhook_events};

pub struct IntentRequest {
    pub booking_id: String,
    pub amount: Option<i64>,
    pub currency: Option<String>,
    pub metadata_event_id: Option<String>,
    pub metadata_user_id: Option<String>,
    pub idempotency_key: Option<String>,
}

impl From<ProviderError> for TicketingError {
    fn from(error: ProviderError) -> Self {
        match error {
            ProviderError::Refused(message) => TicketingError::PaymentFailed(message),
            ProviderError::NotFound(id) => TicketingError::NotFound(format!("payment intent {id}")),
            ProviderError::Unavailable(message) => TicketingError::ProviderUnavailable(message),
        }
    }
}

/// What a webhook call did (for logs and tests).
#[derive(Debug, PartialEq, Eq)]
pub enum WebhookOutcome {
    Applied,
    Duplicate,
    Ignored,
}

fn intent_to_row(intent: &ProviderIntent, booking_id: &str, user_id: &str) -> payments::ActiveModel {
    payments::ActiveModel {
        payment_intent_id: Set(intent.id.clone()),
        booking_id: Set(booking_id.to_owned()),
        user_id: Set(user_id.to_owned()),
        amount: Set(intent.amount),
        currency: Set(intent.currency.clone()),
        status: Set(intent.status.clone()),
        client_secret: Set(intent.client_secret.clone()),
        payment_method: Set(intent.payment_method.clone()),
        created_at: Set(Utc::now()),
        confirmed_at: Set(None),
        canceled_at: Set(None),
    }
}

impl Ticketing {
    pub async fn create_payment_intent(&self, claims: &Claims, request: IntentRequest) -> Result<payments::Model, TicketingError> {
        if request.booking_id.is_empty() {
            return Err(TicketingError::invalid("booking_id", "is required"));
        }
        let booking = self.owned_booking(claims, &request.booking_id).await?;
        match booking.status.as_str() {
            "reserved" => {}
            "confirmed" => return Err(TicketingError::invalid("booking_id", "the booking is already paid")),
            "expired" => return Err(TicketingError::BookingExpired),
            _ => return Err(TicketingError::invalid("booking_id", "the booking is cancelled")),
        }
        // The client never sets the price: the amount must be the booking's, in its currency.
        let expected = booking.total_amount.round() as i64;
        let amount = request.amount.ok_or_else(|| TicketingError::invalid("amount", "is required"))?;
        if amount != expected {
            return Err(TicketingError::invalid("amount", format!("must equal the booking's total {expected}")));
        }
        let currency = request.currency.as_deref().unwrap_or_default().to_lowercase();
        if currency != self.settings.currency {
            return Err(TicketingError::invalid("currency", format!("must be {}", self.settings.currency)));
        }
        if request.metadata_event_id.as_ref().is_some_and(|id| id != &booking.event_id) {
            return Err(TicketingError::invalid("metadata.event_id", "is not the booking's event"));
        }
        if request.metadata_user_id.as_ref().is_some_and(|id| id != &booking.user_id) {
            return Err(TicketingError::invalid("metadata.user_id", "is not the booking's user"));
        }
        let fingerprint = format!("{}|{amount}|{currency}", booking.booking_id);
        let scoped_key = request.idempotency_key.as_ref().map(|key| format!("{}:{key}", claims.sub));
        if let Some(scoped) = &scoped_key {
            if let Some(earlier) = idempotency_keys::Entity::find_by_id(scoped.clone()).one(&self.db).await? {
                if earlier.request_hash != fingerprint {
                    return Err(TicketingError::invalid(
                        "Idempotency-Key",
                        "was already used with different parameters",
                    ));
                }
                return self.find_payment(&earlier.payment_intent_id).await;
            }
        }
        if scoped_key.is_none() {
            // One order, one open PaymentIntent (Stripe's advice): a booking that already has
            // an intent still waiting for payment gets that one again, so it cannot be paid twice.
            let open = payments::Entity::find()
                .filter(payments::Column::BookingId.eq(&booking.booking_id))
                .filter(payments::Column::Status.is_not_in(["canceled", "succeeded"]))
                .one(&self.db)
                .await?;
            if let Some(open) = open {
                return Ok(open);
            }
        }
        let provider_key = scoped_key.clone().unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        let new = NewIntent {
            amount,
            currency: currency.clone(),
            metadata: vec![
                ("booking_id".into(), booking.booking_id.clone()),
                ("event_id".into(), booking.event_id.clone()),
                ("user_id".into(), booking.user_id.clone()),
            ],
        };
        // The provider is idempotent on the same key too, so two racing retries get one intent.
        let intent = self.provider.create_intent(&new, &provider_key).await?;
        payments::Entity::insert(intent_to_row(&intent, &booking.booking_id, &booking.user_id))
            .on_conflict(OnConflict::column(payments::Column::PaymentIntentId).do_nothing().to_owned())
            .exec_without_returning(&self.db)
            .await?;
        if let Some(scoped) = scoped_key {
            let row = idempotency_keys::ActiveModel {
                scoped_key: Set(scoped.clone()),
                request_hash: Set(fingerprint),
                payment_intent_id: Set(intent.id.clone()),
                created_at: Set(Utc::now()),
            };
            idempotency_keys::Entity::insert(row)
                .on_conflict(OnConflict::column(idempotency_keys::Column::ScopedKey).do_nothing().to_owned())
                .exec_without_returning(&self.db)
                .await?;
        }
        bookings::Entity::update_many()
            .col_expr(bookings::Column::PaymentIntentId, Expr::value(Some(intent.id.clone())))
            .filter(bookings::Column::BookingId.eq(&booking.booking_id))
            .filter(bookings::Column::Status.eq("reserved"))
            .exec(&self.db)
            .await?;
        tracing::info!(payment_intent_id = %intent.id, booking_id = %booking.booking_id, provider = self.provider.name(), "payment intent created");
        self.find_payment(&intent.id).await
    }

    pub(crate) async fn find_payment(&self, id: &str) -> Result<payments::Model, TicketingError> {
        payments::Entity::find_by_id(id.to_owned())
            .one(&self.db)
            .await?
            .ok_or_else(|| TicketingError::NotFound(format!("payment intent {id}")))
    }

    async fn owned_payment(&self, claims: &Claims, id: &str) -> Result<payments::Model, TicketingError> {
        let payment = self.find_payment(id).await?;
        if payment.user_id != claims.sub && !is_admin(claims) {
            // Another user's intent is as good as unknown.
            return Err(TicketingError::NotFound(format!("payment intent {id}")));
        }
        Ok(payment)
    }

    /// Stores what the provider reports now; with the provider unreachable, the last known state.
    pub(crate) async fn refresh_payment(&self, payment: payments::Model) -> Result<payments::Model, TicketingError> {
        match self.provider.retrieve_intent(&payment.payment_intent_id).await {
            Ok(intent) => self.record_intent_state(&intent).await.map(|found| found.unwrap_or(payment)),
            Err(error) => {
                tracing::warn!(%error, payment_intent_id = %payment.payment_intent_id, "provider lookup failed; answering the stored state");
                Ok(payment)
            }
        }
    }

    async fn record_intent_state(&self, intent: &ProviderIntent) -> Result<Option<payments::Model>, TicketingError> {
        let now = Utc::now();
        let mut update = payments::Entity::update_many()
            .col_expr(payments::Column::Status, Expr::value(intent.status.clone()))
            .col_expr(payments::Column::PaymentMethod, Expr::value(intent.payment_method.clone()));
        if intent.status == "succeeded" {
            update = update.col_expr(payments::Column::ConfirmedAt, Expr::value(Some(now)));
        }
        if intent.status == "canceled" {
            update = update.col_expr(payments::Column::CanceledAt, Expr::value(Some(now)));
        }
        // Terminal states stay terminal: a late, stale report never moves them back.
        update
            .filter(payments::Column::PaymentIntentId.eq(&intent.id))
            .filter(payments::Column::Status.is_not_in(["succeeded", "canceled"]))
            .exec(&self.db)
            .await?;
        Ok(payments::Entity::find_by_id(intent.id.clone()).one(&self.db).await?)
    }

    pub async fn get_payment_intent(&self, claims: &Claims, id: &str) -> Result<payments::Model, TicketingError> {
        let payment = self.owned_payment(claims, id).await?;
        self.refresh_payment(payment).await
    }

    pub async fn cancel_payment_intent(&self, claims: &Claims, id: &str) -> Result<payments::Model, TicketingError> {
        let payment = self.owned_payment(claims, id).await?;
        if payment.status == "succeeded" {
            return Err(TicketingError::invalid("payment_intent_id", "a succeeded payment cannot be cancelled; cancel the booking to refund it"));
        }
        self.cancel_open_intent(id).await?;
        self.find_payment(id).await
    }

    /// Cancels an intent at the provider; the booking stays payable until it expires.
    pub(crate) async fn cancel_open_intent(&self, id: &str) -> Result<(), TicketingError> {
        let intent = self.provider.cancel_intent(id, &format!("cancel:{id}")).await?;
        self.record_intent_state(&intent).await?;
        Ok(())
    }

    /// Refunds a cancelled paid booking (the refund job). Idempotent: the provider sees the
    /// same key on every attempt.
    pub(crate) async fn refund_booking(&self, booking_id: &str) -> Result<(), TicketingError> {
        let booking = self.find_booking(booking_id).await?;
        if !booking.paid || booking.status == "confirmed" || booking.status == "reserved" {
            return Ok(());
        }
        let Some(intent) = booking.payment_intent_id.clone() else { return Ok(()) };
        let payment = self.find_payment(&intent).await?;
        match self.provider.refund(&intent, payment.amount, &format!("refund:{booking_id}")).await {
            Ok(refund) => {
                tracing::info!(booking_id, refund_id = %refund.id, amount = refund.amount, "refund requested");
                Ok(())
            }
            Err(ProviderError::Refused(message)) if message.contains("greater than the unrefunded") => Ok(()),
            Err(error) => Err(error.into()),
        }
    }

    /// Refunds one whole payment that belongs to no booking (the refund job).
    pub(crate) async fn refund_payment(&self, payment_intent_id: &str) -> Result<(), TicketingError> {
        let payment = self.find_payment(payment_intent_id).await?;
        match self.provider.refund(payment_intent_id, payment.amount, &format!("refund-intent:{payment_intent_id}")).await {
            Ok(refund) => {
                tracing::info!(payment_intent_id, refund_id = %refund.id, "stray payment refunded");
                Ok(())
            }
            Err(ProviderError::Refused(message)) if message.contains("greater than the unrefunded") => Ok(()),
            Err(error) => Err(error.into()),
        }
    }

    pub(crate) async fn schedule_intent_refund(&self, payment_intent_id: &str) -> Result<(), TicketingError> {
        let options = service_core::jobs::EnqueueOptions {
            job_id: Some(format!("refund-intent:{payment_intent_id}")),
            run_at: None,
            max_attempts: Some(20),
        };
        let payload = serde_json::json!({"payment_intent_id": payment_intent_id});
        self.jobs.enqueue(crate::expiry::REFUND_QUEUE, payload, options).await?;
        Ok(())
    }

    /// POST /api/payment/webhook: verify, de-duplicate, apply.
    pub async fn handle_webhook(&self, payload: &[u8], signature: &str) -> Result<WebhookOutcome, TicketingError> {
        let tolerance = self.settings.webhook_tolerance.as_secs() as i64;
        crate::signature::verify(signature, payload, &self.settings.webhook_secret, tolerance, Utc::now().timestamp())
            .map_err(|reason| {
                tracing::warn!(%reason, "webhook signature refused");
                TicketingError::invalid("stripe-signature", reason.to_string())
            })?;
        let event: Value = serde_json::from_slice(payload).map_err(|_| TicketingError::invalid("body", "is not a Stripe event"))?;
        let (Some(event_id), Some(event_type)) = (event["id"].as_str(), event["type"].as_str()) else {
            return Err(TicketingError::invalid("body", "a Stripe event needs id and type"));
        };
        if webhook_events::Entity::find_by_id(event_id.to_owned()).one(&self.db).await?.is_some() {
            tracing::info!(event_id, event_type, "webhook event already handled");
            return Ok(WebhookOutcome::Duplicate);
        }
        let object = &event["data"]["object"];
        let outcome = match event_type {
            "payment_intent.succeeded" | "payment_intent.payment_failed" | "payment_intent.canceled" => {
                self.apply_intent_event(event_type, object).await?
            }
            "charge.refunded" => self.apply_refund_event(object).await?,
            _ => WebhookOutcome::Ignored,
        };
        // Recorded after the effects, which are idempotent: a crash in between only means the
        // event is applied again when Stripe redelivers it.
        webhook_events::Entity::insert(webhook_events::ActiveModel {
            event_id: Set(event_id.to_owned()),
            event_type: Set(event_type.to_owned()),
            received_at: Set(Utc::now()),
        })
        .on_conflict(OnConflict::column(webhook_events::Column::EventId).do_nothing().to_owned())
        .exec_without_returning(&self.db)
        .await?;
        tracing::info!(event_id, event_type, ?outcome, "webhook event handled");
        Ok(outcome)
    }

    async fn apply_intent_event(&self, event_type: &str, object: &Value) -> Result<WebhookOutcome, TicketingError> {
        let Some(intent_id) = object["id"].as_str() else { return Ok(WebhookOutcome::Ignored) };
        let Some(payment) = payments::Entity::find_by_id(intent_id.to_owned()).one(&self.db).await? else {
            tracing::warn!(intent_id, event_type, "webhook for an unknown payment intent; nothing changed");
            return Ok(WebhookOutcome::Ignored);
        };
        let status = match event_type {
            "payment_intent.succeeded" => "succeeded",
            "payment_intent.canceled" => "canceled",
            // A failed attempt sends the intent back for another payment method.
            _ => "requires_payment_method",
        };
        let reported = ProviderIntent {
            id: payment.payment_intent_id.clone(),
            client_secret: payment.client_secret.clone(),
            amount: payment.amount,
            currency: payment.currency.clone(),
            status: status.to_owned(),
            payment_method: object["payment_method"].as_str().map(str::to_owned).or(payment.payment_method.clone()),
            created: 0,
            metadata: Default::default(),
        };
        self.record_intent_state(&reported).await?;
        if status == "succeeded" {
            match self.confirm_paid(&payment.booking_id, &payment.payment_intent_id).await? {
                ConfirmOutcome::Confirmed => {}
                ConfirmOutcome::AlreadyConfirmed => {
                    let booking = self.find_booking(&payment.booking_id).await?;
                    if booking.payment_intent_id.as_deref() != Some(payment.payment_intent_id.as_str()) {
                        // A second intent of an already paid booking succeeded: give it back.
                        tracing::warn!(booking_id = %payment.booking_id, payment_intent_id = %payment.payment_intent_id, "second payment for a paid booking; refunding it");
                        self.schedule_intent_refund(&payment.payment_intent_id).await?;
                    }
                }
                ConfirmOutcome::NotHeld => {
                    // The money came after the hold ended: never keep a charge without a booking.
                    tracing::warn!(booking_id = %payment.booking_id, "payment succeeded for a booking no longer held; refunding");
                    bookings::Entity::update_many()
                        .col_expr(bookings::Column::Paid, Expr::value(true))
                        .col_expr(bookings::Column::PaymentIntentId, Expr::value(Some(payment.payment_intent_id.clone())))
                        .col_expr(bookings::Column::RefundAmount, Expr::value(Some(payment.amount as f64)))
                        .col_expr(bookings::Column::RefundStatus, Expr::value(Some("processing".to_owned())))
                        .filter(bookings::Column::BookingId.eq(&payment.booking_id))
                        .filter(bookings::Column::Status.is_in(["cancelled", "expired"]))
                        .exec(&self.db)
                        .await?;
                    self.schedule_refund(&payment.booking_id).await?;
                }
            }
        }
        Ok(WebhookOutcome::Applied)
    }

    async fn apply_refund_event(&self, charge: &Value) -> Result<WebhookOutcome, TicketingError> {
        let Some(intent_id) = charge["payment_intent"].as_str() else { return Ok(WebhookOutcome::Ignored) };
        let Some(payment) = payments::Entity::find_by_id(intent_id.to_owned()).one(&self.db).await? else {
            tracing::warn!(intent_id, "refund webhook for an unknown payment intent; nothing changed");
            return Ok(WebhookOutcome::Ignored);
        };
        let refunded = charge["amount_refunded"].as_i64().unwrap_or(payment.amount);
        bookings::Entity::update_many()
            .col_expr(bookings::Column::RefundAmount, Expr::value(Some(refunded as f64)))
            .col_expr(bookings::Column::RefundStatus, Expr::value(Some("succeeded".to_owned())))
            .filter(bookings::Column::BookingId.eq(&payment.booking_id))
            .exec(&self.db)
            .await?;
        Ok(WebhookOutcome::Applied)
    }
}
