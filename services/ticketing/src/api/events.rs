use tonic::{Request, Response, Status};

use contracts::proto::ticketing::v1 as pb;
use contracts::proto::ticketing::v1::event_service_server::EventService;

use super::{TicketingApi, from_timestamp, timestamp};
use crate::errors::TicketingError;
use crate::events::{EventFilter, NewEvent};
use crate::service::is_admin;
use crate::store::{events, seats};

fn category(text: &str) -> Option<i32> {
    pb::EventCategory::from_str_name(text).map(|c| c as i32)
}

fn status(text: &str) -> Option<i32> {
    pb::EventStatus::from_str_name(text).map(|s| s as i32)
}

fn summary(event: events::Model, available: i32) -> pb::EventSummary {
    pb::EventSummary {
        event_id: Some(event.event_id),
        title: Some(event.title),
        description: Some(event.description),
        category: category(&event.category),
        venue: Some(event.venue),
        location: Some(event.location),
        start_date: Some(timestamp(event.start_date)),
        end_date: Some(timestamp(event.end_date)),
        min_price: Some(event.min_price),
        max_price: Some(event.max_price),
        total_seats: Some(event.total_seats),
        available_seats: Some(available),
        status: status(&event.status),
        image_url: event.image_url,
        created_at: Some(timestamp(event.created_at)),
    }
}

fn detail(event: events::Model, available: i32) -> pb::EventDetail {
    let organizer = (event.organizer_name.is_some() || event.organizer_contact.is_some())
        .then(|| pb::event_detail::Organizer { name: event.organizer_name.clone(), contact: event.organizer_contact.clone() });
    pb::EventDetail {
        event_id: Some(event.event_id),
        title: Some(event.title),
        description: Some(event.description),
        category: category(&event.category),
        venue: Some(event.venue),
        location: Some(event.location),
        start_date: Some(timestamp(event.start_date)),
        end_date: Some(timestamp(event.end_date)),
        min_price: Some(event.min_price),
        max_price: Some(event.max_price),
        total_seats: Some(event.total_seats),
        available_seats: Some(available),
        status: status(&event.status),
        image_url: event.image_url,
        organizer,
        tags: event.tags.split(',').filter(|t| !t.is_empty()).map(str::to_owned).collect(),
        created_at: Some(timestamp(event.created_at)),
        updated_at: Some(timestamp(event.updated_at)),
    }
}

/// Seat rows in display order → sections → rows → seats.
fn seat_map(event_id: String, seats: Vec<seats::Model>) -> pb::SeatMapResponse {
    let mut sections: Vec<pb::SeatSection> = Vec::new();
    for seat in seats {
        if sections.last().and_then(|s| s.section.as_deref()) != Some(seat.section.as_str()) {
            sections.push(pb::SeatSection { section: Some(seat.section.clone()), rows: Vec::new() });
        }
        let Some(section) = sections.last_mut() else { continue };
        if section.rows.last().and_then(|r| r.row.as_deref()) != Some(seat.row_label.as_str()) {
            section.rows.push(pb::SeatRow { row: Some(seat.row_label.clone()), seats: Vec::new() });
        }
        let Some(row) = section.rows.last_mut() else { continue };
        row.seats.push(pb::Seat {
            seat_id: Some(seat.seat_id),
            seat_number: Some(seat.number),
            price: Some(seat.price),
            status: Some(seat.status),
        });
    }
    pb::SeatMapResponse {
        event_id: Some(event_id),
        sections,
        legend: Some(pb::seat_map_response::Legend {
            available: Some("예매 가능".into()),
            reserved: Some("예약 중 (10분 이내 결제 필요)".into()),
            sold: Some("판매 완료".into()),
        }),
    }
}

#[tonic::async_trait]
impl EventService for TicketingApi {
    async fn list_events(&self, request: Request<pb::ListEventsRequest>) -> Result<Response<pb::EventListResponse>, Status> {
        let query = request.into_inner();
        self.check(&query)?;
        let name_of_category = |v: i32| pb::EventCategory::try_from(v).ok().map(|c| c.as_str_name().to_owned());
        let filter = EventFilter {
            category: query.category.and_then(name_of_category),
            status: query.status.and_then(|v| pb::EventStatus::try_from(v).ok().map(|s| s.as_str_name().to_owned())),
            min_price: query.min_price,
            max_price: query.max_price,
            start_date_from: query.start_date_from.filter(|s| !s.is_empty()),
            start_date_to: query.start_date_to.filter(|s| !s.is_empty()),
            sort_by: query
                .sort_by
                .and_then(|v| pb::list_events_request::SortBy::try_from(v).ok().map(|s| s.as_str_name().to_owned())),
            order: query.order.and_then(|v| pb::list_events_request::Order::try_from(v).ok().map(|o| o.as_str_name().to_owned())),
            page: query.page,
            page_size: query.page_size,
        };
        let page = self.service.list_events(filter).await?;
        Ok(Response::new(pb::EventListResponse {
            events: page.events.into_iter().map(|(event, available)| summary(event, available)).collect(),
            total: Some(page.total as i32),
            page: Some(page.page),
            page_size: Some(page.page_size),
            total_pages: Some(page.total_pages as i32),
        }))
    }

    async fn create_event(&self, request: Request<pb::CreateEventRequest>) -> Result<Response<pb::CreateEventResponse>, Status> {
        let claims = self.service.authenticate(&request)?;
        if !is_admin(&claims) {
            return Err(TicketingError::Forbidden("creating events needs the admin role".into()).into());
        }
        let body = request.into_inner();
        self.check(&body)?;
        let category = body
            .category
            .and_then(|v| pb::EventCategory::try_from(v).ok())
            .filter(|c| *c != pb::EventCategory::Unspecified)
            .ok_or_else(|| TicketingError::invalid("category", "is required"))?;
        let event = NewEvent {
            title: body.title.unwrap_or_default(),
            description: body.description.unwrap_or_default(),
            category: category.as_str_name().to_owned(),
            venue: body.venue.unwrap_or_default(),
            location: body.location.unwrap_or_default(),
            start_date: from_timestamp("start_date", body.start_date)?,
            end_date: from_timestamp("end_date", body.end_date)?,
            min_price: body.min_price.ok_or_else(|| TicketingError::invalid("min_price", "is required"))?,
            max_price: body.max_price.ok_or_else(|| TicketingError::invalid("max_price", "is required"))?,
            total_seats: body.total_seats.ok_or_else(|| TicketingError::invalid("total_seats", "is required"))?,
            image_url: body.image_url.filter(|u| !u.is_empty()),
        };
        let event = self.service.create_event(event).await?;
        Ok(Response::new(pb::CreateEventResponse {
            event_id: Some(event.event_id),
            title: Some(event.title),
            status: status(&event.status),
            created_at: Some(timestamp(event.created_at)),
        }))
    }

    async fn get_event(&self, request: Request<pb::GetEventRequest>) -> Result<Response<pb::EventDetail>, Status> {
        let query = request.into_inner();
        self.check(&query)?;
        let (event, available) = self.service.event_with_availability(&query.event_id).await?;
        Ok(Response::new(detail(event, available)))
    }

    async fn get_event_seats(&self, request: Request<pb::GetEventSeatsRequest>) -> Result<Response<pb::SeatMapResponse>, Status> {
        let query = request.into_inner();
        self.check(&query)?;
        let section = query
            .section
            .and_then(|v| pb::get_event_seats_request::Section::try_from(v).ok())
            .filter(|s| *s != pb::get_event_seats_request::Section::Unspecified)
            .map(|s| s.as_str_name());
        let seats = self.service.event_seats(&query.event_id, section).await?;
        Ok(Response::new(seat_map(query.event_id, seats)))
    }
}
