//! The local default payment provider: a sandbox that keeps PaymentIntents in memory and
//! moves them through Stripe's lifecycle, driven by Stripe's test cards, and reports every
//! outcome to our webhook endpoint with a Stripe-signed event, like Stripe's test mode.
//!
//! Test cards (payment method id or card number):
//! - `pm_card_visa` / 4242 4242 4242 4242 → `succeeded` (webhook `payment_intent.succeeded`)
//! - `pm_card_chargeDeclined` / 4000 0000 0000 0002 → declined: back to
//!   `requires_payment_method` (webhook `payment_intent.payment_failed`)
//! - `pm_card_authenticationRequired` / 4000 0025 0000 3155 → `requires_action` (3-D Secure);
//!   completing the challenge (`authenticate`) succeeds or fails it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use http_body_util::Full;
use serde_json::{Value, json};

use super::{NewIntent, PaymentProvider, ProviderError, ProviderIntent, ProviderRefund, http_client};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestCard {
    Succeeds,
    Declined,
    RequiresAction,
}

impl TestCard {
    pub fn parse(payment_method: &str) -> Option<TestCard> {
        let compact: String = payment_method.chars().filter(|c| !c.is_whitespace() && *c != '-').collect();
        match compact.as_str() {
            "pm_card_visa" | "pm_card_mastercard" | "4242424242424242" | "5555555555554444" => Some(TestCard::Succeeds),
            "pm_card_chargeDeclined" | "pm_card_visa_chargeDeclined" | "4000000000000002" => Some(TestCard::Declined),
            "pm_card_authenticationRequired" | "pm_card_threeDSecure2Required" | "4000002500003155"
            | "4000000000003220" => Some(TestCard::RequiresAction),
            _ => None,
        }
    }
}

#[derive(Debug, Clone)]
struct Record {
    intent: ProviderIntent,
    charge_id: String,
    refunded: i64,
}

#[derive(Default)]
struct State {
    intents: HashMap<String, Record>,
    /// Idempotency key → (parameter fingerprint, object id).
    keys: HashMap<String, (String, String)>,
    refunds: HashMap<String, ProviderRefund>,
}

pub struct Sandbox {
    state: Mutex<State>,
    webhook_url: RwLock<Option<String>>,
    webhook_secret: String,
}

fn random_id(prefix: &str) -> String {
    format!("{prefix}_{}", &uuid::Uuid::new_v4().simple().to_string()[..24])
}

fn refused(message: &str) -> ProviderError {
    ProviderError::Refused(message.to_owned())
}

impl Sandbox {
    pub fn new(webhook_secret: &str) -> Arc<Sandbox> {
        Arc::new(Sandbox { state: Mutex::default(), webhook_url: RwLock::new(None), webhook_secret: webhook_secret.to_owned() })
    }

    /// Where signed events go (our own `/api/payment/webhook`), once the gateway listens.
    pub fn set_webhook_url(&self, url: &str) {
        if let Ok(mut guard) = self.webhook_url.write() {
            *guard = Some(url.to_owned());
        }
    }

    fn with_state<T>(&self, f: impl FnOnce(&mut State) -> Result<T, ProviderError>) -> Result<T, ProviderError> {
        let mut state = self.state.lock().map_err(|_| ProviderError::Unavailable("sandbox state poisoned".into()))?;
        f(&mut state)
    }

    /// Checks an idempotency key: Some(id) when it was used before with these parameters.
    fn remembered(state: &State, key: &str, fingerprint: &str) -> Result<Option<String>, ProviderError> {
        match state.keys.get(key) {
            Some((used, id)) if used == fingerprint => Ok(Some(id.clone())),
            Some(_) => Err(refused(
                "Keys for idempotent requests can only be used with the same parameters they were first used with.",
            )),
            None => Ok(None),
        }
    }

    pub fn create(&self, new: &NewIntent, idempotency_key: &str) -> Result<ProviderIntent, ProviderError> {
        if new.amount < 1 {
            return Err(refused("amount must be a positive integer"));
        }
        if new.currency.len() != 3 {
            return Err(refused("currency must be a three-letter ISO code"));
        }
        let mut metadata = new.metadata.clone();
        metadata.sort();
        let fingerprint = format!("create:{}:{}:{metadata:?}", new.amount, new.currency.to_lowercase());
        self.with_state(|state| {
            if let Some(id) = Self::remembered(state, idempotency_key, &fingerprint)? {
                return state.intents.get(&id).map(|r| r.intent.clone()).ok_or(ProviderError::NotFound(id));
            }
            let id = random_id("pi");
            let intent = ProviderIntent {
                client_secret: format!("{id}_secret_{}", &uuid::Uuid::new_v4().simple().to_string()[..16]),
                id: id.clone(),
                amount: new.amount,
                currency: new.currency.to_lowercase(),
                status: "requires_payment_method".into(),
                payment_method: None,
                created: chrono::Utc::now().timestamp(),
                metadata: new.metadata.iter().cloned().collect(),
            };
            state.keys.insert(idempotency_key.to_owned(), (fingerprint, id.clone()));
            state.intents.insert(id, Record { intent: intent.clone(), charge_id: random_id("ch"), refunded: 0 });
            Ok(intent)
        })
    }

    pub fn retrieve(&self, id: &str) -> Result<ProviderIntent, ProviderError> {
        self.with_state(|state| state.intents.get(id).map(|r| r.intent.clone()).ok_or_else(|| ProviderError::NotFound(id.into())))
    }

    /// Confirms with a test card (what Stripe.js does in the browser).
    pub fn confirm(&self, id: &str, payment_method: &str) -> Result<ProviderIntent, ProviderError> {
        let card = TestCard::parse(payment_method).ok_or_else(|| refused("No such test payment method"))?;
        let (intent, event) = self.with_state(|state| {
            let record = state.intents.get_mut(id).ok_or_else(|| ProviderError::NotFound(id.into()))?;
            if !matches!(record.intent.status.as_str(), "requires_payment_method" | "requires_confirmation") {
                return Err(refused(&format!("This PaymentIntent's status is {}", record.intent.status)));
            }
            record.intent.payment_method = Some(payment_method_label(payment_method));
            let event = match card {
                TestCard::Succeeds => {
                    record.intent.status = "succeeded".into();
                    Some("payment_intent.succeeded")
                }
                TestCard::Declined => {
                    record.intent.status = "requires_payment_method".into();
                    Some("payment_intent.payment_failed")
                }
                TestCard::RequiresAction => {
                    record.intent.status = "requires_action".into();
                    None
                }
            };
            Ok((record.intent.clone(), event))
        })?;
        if let Some(event) = event {
            self.send_event(event, intent_object(&intent));
        }
        if card == TestCard::Declined {
            return Err(refused("Your card was declined."));
        }
        Ok(intent)
    }

    /// Completes (or fails) the 3-D Secure challenge of an intent in `requires_action`.
    pub fn authenticate(&self, id: &str, success: bool) -> Result<ProviderIntent, ProviderError> {
        let intent = self.with_state(|state| {
            let record = state.intents.get_mut(id).ok_or_else(|| ProviderError::NotFound(id.into()))?;
            if record.intent.status != "requires_action" {
                return Err(refused(&format!("This PaymentIntent's status is {}", record.intent.status)));
            }
            record.intent.status = if success { "succeeded" } else { "requires_payment_method" }.into();
            Ok(record.intent.clone())
        })?;
        let event = if success { "payment_intent.succeeded" } else { "payment_intent.payment_failed" };
        self.send_event(event, intent_object(&intent));
        Ok(intent)
    }

    pub fn cancel(&self, id: &str) -> Result<ProviderIntent, ProviderError> {
        let (intent, changed) = self.with_state(|state| {
            let record = state.intents.get_mut(id).ok_or_else(|| ProviderError::NotFound(id.into()))?;
            match record.intent.status.as_str() {
                "canceled" => Ok((record.intent.clone(), false)),
                "succeeded" => Err(refused("You cannot cancel this PaymentIntent because it has a status of succeeded.")),
                _ => {
                    record.intent.status = "canceled".into();
                    Ok((record.intent.clone(), true))
                }
            }
        })?;
        if changed {
            self.send_event("payment_intent.canceled", intent_object(&intent));
        }
        Ok(intent)
    }

    pub fn refund_intent(&self, payment_intent: &str, amount: i64, idempotency_key: &str) -> Result<ProviderRefund, ProviderError> {
        let fingerprint = format!("refund:{payment_intent}:{amount}");
        let (refund, charge) = self.with_state(|state| {
            if let Some(id) = Self::remembered(state, idempotency_key, &fingerprint)? {
                let refund = state.refunds.get(&id).cloned().ok_or(ProviderError::NotFound(id))?;
                return Ok((refund, None));
            }
            let record = state.intents.get_mut(payment_intent).ok_or_else(|| ProviderError::NotFound(payment_intent.into()))?;
            if record.intent.status != "succeeded" {
                return Err(refused("This PaymentIntent has no successful charge to refund."));
            }
            if amount < 1 || amount > record.intent.amount - record.refunded {
                return Err(refused("Refund amount is greater than the unrefunded amount of the charge."));
            }
            record.refunded += amount;
            let refund = ProviderRefund {
                id: random_id("re"),
                amount,
                status: "succeeded".into(),
                payment_intent: payment_intent.to_owned(),
            };
            let charge = json!({
                "id": record.charge_id,
                "object": "charge",
                "amount": record.intent.amount,
                "amount_refunded": record.refunded,
                "currency": record.intent.currency,
                "payment_intent": payment_intent,
                "refunded": record.refunded == record.intent.amount,
                "status": "succeeded",
            });
            state.keys.insert(idempotency_key.to_owned(), (fingerprint, refund.id.clone()));
            state.refunds.insert(refund.id.clone(), refund.clone());
            Ok((refund, Some(charge)))
        })?;
        if let Some(charge) = charge {
            self.send_event("charge.refunded", charge);
        }
        Ok(refund)
    }

    /// Signs and posts an event to the webhook endpoint, retrying like Stripe (a few times,
    /// backing off) until it answers 2xx.
    fn send_event(&self, event_type: &str, object: Value) {
        let Some(url) = self.webhook_url.read().ok().and_then(|guard| guard.clone()) else {
            tracing::warn!(event_type, "sandbox payment provider: no webhook URL yet; event dropped");
            return;
        };
        let event = json!({
            "id": random_id("evt"),
            "object": "event",
            "api_version": "2024-06-20",
            "created": chrono::Utc::now().timestamp(),
            "livemode": false,
            "type": event_type,
            "data": {"object": object},
        });
        let secret = self.webhook_secret.clone();
        let event_type = event_type.to_owned();
        tokio::spawn(async move {
            let body = serde_json::to_vec(&event).unwrap_or_default();
            for attempt in 0..6u32 {
                if attempt > 0 {
                    tokio::time::sleep(Duration::from_millis(200 * 2u64.pow(attempt))).await;
                }
                let signature = crate::signature::header(&secret, chrono::Utc::now().timestamp(), &body);
                let request = http::Request::post(url.as_str())
                    .header("content-type", "application/json")
                    .header("stripe-signature", signature)
                    .body(Full::new(Bytes::from(body.clone())));
                let Ok(request) = request else { return };
                match http_client::send(request, Duration::from_secs(10)).await {
                    Ok(reply) if (200..300).contains(&reply.status) => return,
                    Ok(reply) => tracing::warn!(event_type, status = reply.status, "sandbox webhook refused"),
                    Err(error) => tracing::warn!(event_type, %error, "sandbox webhook delivery failed"),
                }
            }
        });
    }
}

fn payment_method_label(payment_method: &str) -> String {
    let digits: String = payment_method.chars().filter(char::is_ascii_digit).collect();
    if digits.len() >= 4 {
        format!("card_{}", &digits[digits.len() - 4..])
    } else {
        payment_method.to_owned()
    }
}

/// A PaymentIntent in Stripe's JSON form.
pub(crate) fn intent_object(intent: &ProviderIntent) -> Value {
    json!({
        "id": intent.id,
        "object": "payment_intent",
        "amount": intent.amount,
        "currency": intent.currency,
        "status": intent.status,
        "client_secret": intent.client_secret,
        "payment_method": intent.payment_method,
        "created": intent.created,
        "metadata": intent.metadata,
        "livemode": false,
    })
}

#[async_trait]
impl PaymentProvider for Sandbox {
    fn name(&self) -> &'static str {
        "sandbox"
    }

    async fn create_intent(&self, intent: &NewIntent, idempotency_key: &str) -> Result<ProviderIntent, ProviderError> {
        self.create(intent, idempotency_key)
    }

    async fn retrieve_intent(&self, id: &str) -> Result<ProviderIntent, ProviderError> {
        self.retrieve(id)
    }

    async fn cancel_intent(&self, id: &str, _idempotency_key: &str) -> Result<ProviderIntent, ProviderError> {
        self.cancel(id)
    }

    async fn refund(&self, payment_intent: &str, amount: i64, idempotency_key: &str) -> Result<ProviderRefund, ProviderError> {
        self.refund_intent(payment_intent, amount, idempotency_key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new_intent(amount: i64) -> NewIntent {
        NewIntent { amount, currency: "krw".into(), metadata: vec![("booking_id".into(), "book_1".into())] }
    }

    #[tokio::test]
    async fn lifecycle_follows_the_test_cards() {
        let sandbox = Sandbox::new("whsec");
        let paid = sandbox.create(&new_intent(1000), "k1").unwrap();
        assert_eq!(paid.status, "requires_payment_method");
        assert_eq!(sandbox.confirm(&paid.id, "4242 4242 4242 4242").unwrap().status, "succeeded");
        assert!(sandbox.cancel(&paid.id).is_err(), "a succeeded intent cannot be cancelled");

        let declined = sandbox.create(&new_intent(1000), "k2").unwrap();
        assert!(sandbox.confirm(&declined.id, "pm_card_chargeDeclined").is_err());
        assert_eq!(sandbox.retrieve(&declined.id).unwrap().status, "requires_payment_method");
        assert_eq!(sandbox.confirm(&declined.id, "pm_card_visa").unwrap().status, "succeeded", "payable again");

        let secure = sandbox.create(&new_intent(1000), "k3").unwrap();
        assert_eq!(sandbox.confirm(&secure.id, "pm_card_authenticationRequired").unwrap().status, "requires_action");
        assert_eq!(sandbox.authenticate(&secure.id, true).unwrap().status, "succeeded");

        let dropped = sandbox.create(&new_intent(1000), "k4").unwrap();
        assert_eq!(sandbox.cancel(&dropped.id).unwrap().status, "canceled");
        assert!(sandbox.confirm(&dropped.id, "pm_card_visa").is_err());
    }

    #[tokio::test]
    async fn idempotency_keys_replay_or_refuse() {
        let sandbox = Sandbox::new("whsec");
        let first = sandbox.create(&new_intent(1000), "same").unwrap();
        assert_eq!(sandbox.create(&new_intent(1000), "same").unwrap().id, first.id);
        assert!(matches!(sandbox.create(&new_intent(2000), "same"), Err(ProviderError::Refused(_))));
        sandbox.confirm(&first.id, "pm_card_visa").unwrap();
        let refund = sandbox.refund_intent(&first.id, 1000, "r1").unwrap();
        assert_eq!(sandbox.refund_intent(&first.id, 1000, "r1").unwrap().id, refund.id);
        assert!(sandbox.refund_intent(&first.id, 1, "r2").is_err(), "nothing left to refund");
    }
}
