use tonic::{Request, Response, Status};

use contracts::proto::ticketing::v1 as pb;
use contracts::proto::ticketing::v1::payment_service_server::PaymentService;

use super::{TicketingApi, timestamp};
use crate::payments::IntentRequest;
use crate::store::payments;

fn status(text: &str) -> Option<i32> {
    pb::PaymentStatus::from_str_name(text).map(|s| s as i32)
}

fn intent_message(payment: payments::Model) -> pb::PaymentIntent {
    pb::PaymentIntent {
        status: status(&payment.status),
        payment_intent_id: Some(payment.payment_intent_id),
        amount: Some(payment.amount),
        currency: Some(payment.currency),
        payment_method: payment.payment_method,
        created_at: Some(timestamp(payment.created_at)),
        confirmed_at: payment.confirmed_at.map(timestamp),
    }
}

#[tonic::async_trait]
impl PaymentService for TicketingApi {
    async fn create_payment_intent(
        &self,
        request: Request<pb::CreatePaymentIntentRequest>,
    ) -> Result<Response<pb::CreatePaymentIntentResponse>, Status> {
        let claims = self.service.authenticate(&request)?;
        let body = request.into_inner();
        self.check(&body)?;
        let metadata = body.metadata.unwrap_or_default();
        let payment = self
            .service
            .create_payment_intent(
                &claims,
                IntentRequest {
                    booking_id: body.booking_id.unwrap_or_default(),
                    amount: body.amount,
                    currency: body.currency,
                    metadata_event_id: metadata.event_id,
                    metadata_user_id: metadata.user_id,
                    idempotency_key: body.idempotency_key.filter(|k| !k.is_empty()),
                },
            )
            .await?;
        Ok(Response::new(pb::CreatePaymentIntentResponse {
            status: status(&payment.status),
            payment_intent_id: Some(payment.payment_intent_id),
            client_secret: Some(payment.client_secret),
            amount: Some(payment.amount),
            currency: Some(payment.currency),
        }))
    }

    async fn get_payment_intent(&self, request: Request<pb::GetPaymentIntentRequest>) -> Result<Response<pb::PaymentIntent>, Status> {
        let claims = self.service.authenticate(&request)?;
        let query = request.into_inner();
        self.check(&query)?;
        let payment = self.service.get_payment_intent(&claims, &query.payment_intent_id).await?;
        Ok(Response::new(intent_message(payment)))
    }

    async fn cancel_payment_intent(
        &self,
        request: Request<pb::CancelPaymentIntentRequest>,
    ) -> Result<Response<pb::CancelPaymentResponse>, Status> {
        let claims = self.service.authenticate(&request)?;
        let query = request.into_inner();
        self.check(&query)?;
        let payment = self.service.cancel_payment_intent(&claims, &query.payment_intent_id).await?;
        Ok(Response::new(pb::CancelPaymentResponse {
            status: status(&payment.status),
            payment_intent_id: Some(payment.payment_intent_id),
            canceled_at: payment.canceled_at.map(timestamp),
        }))
    }

    async fn handle_stripe_webhook(
        &self,
        request: Request<pb::HandleStripeWebhookRequest>,
    ) -> Result<Response<pb::HandleStripeWebhookResponse>, Status> {
        let body = request.into_inner();
        // The signature covers the raw bytes; the parsed `event` copy is never trusted.
        self.service.handle_webhook(&body.payload, &body.stripe_signature).await?;
        Ok(Response::new(pb::HandleStripeWebhookResponse {}))
    }
}
