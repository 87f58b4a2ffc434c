use tonic::{Request, Response, Status};

use contracts::proto::ticketing::v1 as pb;
use contracts::proto::ticketing::v1::booking_service_server::BookingService;

use super::{TicketingApi, timestamp};
use crate::bookings::{api_status, booking_seat_ids};
use crate::store::bookings;

fn qr_code(base_url: &str, booking: &bookings::Model) -> String {
    format!("{}/tickets/{}/qr", base_url.trim_end_matches('/'), booking.booking_id)
}

#[tonic::async_trait]
impl BookingService for TicketingApi {
    async fn create_booking(&self, request: Request<pb::CreateBookingRequest>) -> Result<Response<pb::CreateBookingResponse>, Status> {
        let claims = self.service.authenticate(&request)?;
        let body = request.into_inner();
        self.check(&body)?;
        let event_id = body.event_id.unwrap_or_default();
        let booking = self.service.create_booking(&claims, &event_id, body.seat_ids, body.total_amount).await?;
        Ok(Response::new(pb::CreateBookingResponse {
            seat_ids: booking_seat_ids(&booking),
            booking_id: Some(booking.booking_id),
            user_id: Some(booking.user_id),
            event_id: Some(booking.event_id),
            status: Some(api_status(&booking.status).to_owned()),
            total_amount: Some(booking.total_amount),
            created_at: Some(timestamp(booking.created_at)),
            expires_at: Some(timestamp(booking.expires_at)),
            reservation_id: Some(booking.reservation_id),
        }))
    }

    async fn get_booking(&self, request: Request<pb::GetBookingRequest>) -> Result<Response<pb::BookingDetail>, Status> {
        let claims = self.service.authenticate(&request)?;
        let query = request.into_inner();
        self.check(&query)?;
        let detail = self.service.booking_detail(&claims, &query.booking_id).await?;
        let booking = detail.booking;
        Ok(Response::new(pb::BookingDetail {
            seat_ids: booking_seat_ids(&booking),
            seats: detail
                .seats
                .into_iter()
                .map(|seat| pb::BookingSeat {
                    seat_id: Some(seat.seat_id),
                    section: Some(seat.section),
                    row: Some(seat.row_label),
                    number: Some(seat.number),
                    price: Some(seat.price),
                })
                .collect(),
            status: Some(api_status(&booking.status).to_owned()),
            booking_id: Some(booking.booking_id),
            user_id: Some(booking.user_id),
            event_id: Some(booking.event_id),
            event_title: Some(detail.event_title),
            total_amount: Some(booking.total_amount),
            payment_intent_id: booking.payment_intent_id,
            created_at: Some(timestamp(booking.created_at)),
            confirmed_at: booking.confirmed_at.map(timestamp),
        }))
    }

    async fn list_user_bookings(
        &self,
        request: Request<pb::ListUserBookingsRequest>,
    ) -> Result<Response<pb::UserBookingListResponse>, Status> {
        let claims = self.service.authenticate(&request)?;
        let query = request.into_inner();
        self.check(&query)?;
        let page = self
            .service
            .list_user_bookings(&claims, &query.user_id, query.status.as_deref(), query.page, query.page_size)
            .await?;
        Ok(Response::new(pb::UserBookingListResponse {
            bookings: page
                .items
                .into_iter()
                .map(|(booking, event)| pb::UserBookingItem {
                    seat_count: Some(booking_seat_ids(&booking).len() as i32),
                    status: Some(api_status(&booking.status).to_owned()),
                    booking_id: Some(booking.booking_id),
                    event_id: Some(booking.event_id),
                    event_title: event.as_ref().map(|e| e.title.clone()),
                    event_date: event.as_ref().map(|e| timestamp(e.start_date)),
                    total_amount: Some(booking.total_amount),
                    created_at: Some(timestamp(booking.created_at)),
                })
                .collect(),
            total: Some(page.total as i32),
            page: Some(page.page),
            page_size: Some(page.page_size),
        }))
    }

    async fn confirm_booking(&self, request: Request<pb::ConfirmBookingRequest>) -> Result<Response<pb::ConfirmBookingResponse>, Status> {
        let claims = self.service.authenticate(&request)?;
        let body = request.into_inner();
        self.check(&body)?;
        let intent = body.payment_intent_id.filter(|id| !id.is_empty());
        let booking = self.service.confirm_booking(&claims, &body.booking_id, intent.as_deref()).await?;
        Ok(Response::new(pb::ConfirmBookingResponse {
            qr_code: Some(qr_code(&self.service.settings().public_base_url, &booking)),
            booking_id: Some(booking.booking_id),
            status: Some(api_status(&booking.status).to_owned()),
            confirmed_at: booking.confirmed_at.map(timestamp),
        }))
    }

    async fn cancel_booking(&self, request: Request<pb::CancelBookingRequest>) -> Result<Response<pb::CancelBookingResponse>, Status> {
        let claims = self.service.authenticate(&request)?;
        let body = request.into_inner();
        self.check(&body)?;
        let booking = self.service.cancel_booking(&claims, &body.booking_id).await?;
        Ok(Response::new(pb::CancelBookingResponse {
            booking_id: Some(booking.booking_id),
            status: Some(api_status(&booking.status).to_owned()),
            cancelled_at: booking.cancelled_at.map(timestamp),
            refund_amount: booking.refund_amount,
            refund_status: booking.refund_status,
        }))
    }
}
