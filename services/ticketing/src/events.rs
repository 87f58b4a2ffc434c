//! Events and their seat maps: create (admin), list with filters, sort and pages, detail,
//! seat map. Seat statuses and `available_seats` are read from the seat rows that holds and
//! bookings change, so they always agree with the bookings that exist.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::sea_query::{Expr, ExprTrait as _};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, EntityTrait, Order, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
    TransactionTrait,
};

use crate::errors::TicketingError;
use crate::ids::new_id;
use crate::service::Ticketing;
use crate::store::{events, seats};

/// Seats per row in generated seat maps.
const SEATS_PER_ROW: i32 = 20;
/// Largest venue an event may declare (each seat is a row in the database).
pub const MAX_TOTAL_SEATS: i32 = 100_000;

pub struct NewEvent {
    pub title: String,
    pub description: String,
    pub category: String,
    pub venue: String,
    pub location: String,
    pub start_date: DateTime<Utc>,
    pub end_date: DateTime<Utc>,
    pub min_price: f64,
    pub max_price: f64,
    pub total_seats: i32,
    pub image_url: Option<String>,
}

#[derive(Debug, Default)]
pub struct EventFilter {
    pub category: Option<String>,
    pub status: Option<String>,
    pub min_price: Option<f64>,
    pub max_price: Option<f64>,
    pub start_date_from: Option<String>,
    pub start_date_to: Option<String>,
    /// "start_date" (default), "price" or "created_at".
    pub sort_by: Option<String>,
    /// "asc" (default) or "desc".
    pub order: Option<String>,
    pub page: Option<i32>,
    pub page_size: Option<i32>,
}

pub struct EventPage {
    pub events: Vec<(events::Model, i32)>,
    pub total: i64,
    pub page: i32,
    pub page_size: i32,
    pub total_pages: i64,
}

/// One section of a generated seat map: its name, share of the seats and price.
struct SectionPlan {
    name: &'static str,
    seats: i32,
    price: f64,
}

/// Splits a venue into VIP (10%), A (30%), B (30%) and C (the rest), priced from
/// `max_price` (VIP) down to `min_price` (C).
fn plan_sections(total: i32, min_price: f64, max_price: f64) -> Vec<SectionPlan> {
    let vip = Ord::min(Ord::max(total / 10, 1), total);
    let a = Ord::min(total * 3 / 10, total - vip);
    let b = Ord::min(total * 3 / 10, total - vip - a);
    let c = total - vip - a - b;
    let step = (max_price - min_price) / 3.0;
    let price = |steps: f64| (min_price + step * steps).round();
    [("VIP", vip, max_price), ("A", a, price(2.0)), ("B", b, price(1.0)), ("C", c, min_price)]
        .into_iter()
        .filter(|(_, seats, _)| *seats > 0)
        .map(|(name, seats, price)| SectionPlan { name, seats, price })
        .collect()
}

fn seat_rows(event_id: &str, total: i32, min_price: f64, max_price: f64) -> Vec<seats::ActiveModel> {
    let mut rows = Vec::with_capacity(total as usize);
    let mut position = 0;
    for section in plan_sections(total, min_price, max_price) {
        for index in 0..section.seats {
            let row = index / SEATS_PER_ROW + 1;
            let number = index % SEATS_PER_ROW + 1;
            rows.push(seats::ActiveModel {
                event_id: Set(event_id.to_owned()),
                seat_id: Set(format!("{}-{row}-{number}", section.name)),
                section: Set(section.name.to_owned()),
                row_label: Set(row.to_string()),
                number: Set(number.to_string()),
                price: Set(section.price),
                position: Set(position),
                status: Set("available".into()),
                booking_id: Set(None),
            });
            position += 1;
        }
    }
    rows
}

fn validate_new_event(event: &NewEvent) -> Result<(), TicketingError> {
    let required = [("title", &event.title), ("venue", &event.venue), ("location", &event.location)];
    for (field, value) in required {
        if value.trim().is_empty() {
            return Err(TicketingError::invalid(field, "is required"));
        }
    }
    if event.end_date < event.start_date {
        return Err(TicketingError::invalid("end_date", "must not be before start_date"));
    }
    if !(event.min_price >= 0.0 && event.min_price.is_finite()) {
        return Err(TicketingError::invalid("min_price", "must be zero or more"));
    }
    if !(event.max_price >= event.min_price && event.max_price.is_finite()) {
        return Err(TicketingError::invalid("max_price", "must be at least min_price"));
    }
    if !(1..=MAX_TOTAL_SEATS).contains(&event.total_seats) {
        return Err(TicketingError::invalid("total_seats", format!("must be 1 to {MAX_TOTAL_SEATS}")));
    }
    Ok(())
}

/// An ISO 8601 date or date-time bound; a bare date as an upper bound means its whole day.
fn parse_bound(field: &str, text: &str, upper: bool) -> Result<DateTime<Utc>, TicketingError> {
    if let Ok(time) = DateTime::parse_from_rfc3339(text) {
        return Ok(time.with_timezone(&Utc));
    }
    let date = NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map_err(|_| TicketingError::invalid(field, "must be an ISO 8601 date or date-time"))?;
    let time = if upper { date.and_hms_milli_opt(23, 59, 59, 999) } else { date.and_hms_opt(0, 0, 0) };
    time.map(|t| t.and_utc()).ok_or_else(|| TicketingError::invalid(field, "is not a valid date"))
}

impl Ticketing {
    pub async fn create_event(&self, event: NewEvent) -> Result<events::Model, TicketingError> {
        validate_new_event(&event)?;
        let now = Utc::now();
        let event_id = new_id("evt");
        let row = events::ActiveModel {
            event_id: Set(event_id.clone()),
            title: Set(event.title.trim().to_owned()),
            description: Set(event.description),
            category: Set(event.category),
            venue: Set(event.venue),
            location: Set(event.location),
            start_date: Set(event.start_date),
            end_date: Set(event.end_date),
            min_price: Set(event.min_price),
            max_price: Set(event.max_price),
            total_seats: Set(event.total_seats),
            // No publish step exists in the API: a new event is on sale at once.
            status: Set("published".into()),
            image_url: Set(event.image_url),
            organizer_name: Set(None),
            organizer_contact: Set(None),
            tags: Set(String::new()),
            created_at: Set(now),
            updated_at: Set(now),
        };
        let seat_rows = seat_rows(&event_id, event.total_seats, event.min_price, event.max_price);
        let txn = self.db.begin().await?;
        let saved = events::Entity::insert(row).exec_with_returning(&txn).await?;
        for chunk in seat_rows.chunks(500) {
            seats::Entity::insert_many(chunk.to_vec()).exec(&txn).await?;
        }
        txn.commit().await?;
        tracing::info!(event_id = %saved.event_id, seats = saved.total_seats, "event created");
        Ok(saved)
    }

    pub async fn find_event(&self, event_id: &str) -> Result<events::Model, TicketingError> {
        events::Entity::find_by_id(event_id.to_owned())
            .one(&self.db)
            .await?
            .ok_or_else(|| TicketingError::NotFound(format!("event {event_id}")))
    }

    /// Available seats per event, counted from the seat rows.
    pub(crate) async fn available_seats(&self, event_ids: &[String]) -> Result<HashMap<String, i32>, TicketingError> {
        if event_ids.is_empty() {
            return Ok(HashMap::new());
        }
        let counts: Vec<(String, i64)> = seats::Entity::find()
            .select_only()
            .column(seats::Column::EventId)
            .column_as(Expr::col(seats::Column::SeatId).count(), "available")
            .filter(seats::Column::EventId.is_in(event_ids.iter().cloned()))
            .filter(seats::Column::Status.eq("available"))
            .group_by(seats::Column::EventId)
            .into_tuple()
            .all(&self.db)
            .await?;
        Ok(counts.into_iter().map(|(id, n)| (id, n as i32)).collect())
    }

    pub async fn event_with_availability(&self, event_id: &str) -> Result<(events::Model, i32), TicketingError> {
        let event = self.find_event(event_id).await?;
        let available = self.available_seats(std::slice::from_ref(&event.event_id)).await?;
        let count = available.get(&event.event_id).copied().unwrap_or(0);
        Ok((event, count))
    }

    pub async fn list_events(&self, filter: EventFilter) -> Result<EventPage, TicketingError> {
        let page = filter.page.unwrap_or(1);
        let page_size = filter.page_size.unwrap_or(20);
        if page < 1 {
            return Err(TicketingError::invalid("page", "must be 1 or more"));
        }
        if !(1..=100).contains(&page_size) {
            return Err(TicketingError::invalid("page_size", "must be 1 to 100"));
        }
        let mut condition = Condition::all();
        if let Some(category) = &filter.category {
            condition = condition.add(events::Column::Category.eq(category));
        }
        if let Some(status) = &filter.status {
            condition = condition.add(events::Column::Status.eq(status));
        }
        // Price filters select events whose price range meets [min_price, max_price].
        if let Some(min) = filter.min_price {
            condition = condition.add(events::Column::MaxPrice.gte(min));
        }
        if let Some(max) = filter.max_price {
            condition = condition.add(events::Column::MinPrice.lte(max));
        }
        if let Some(from) = &filter.start_date_from {
            condition = condition.add(events::Column::StartDate.gte(parse_bound("start_date_from", from, false)?));
        }
        if let Some(to) = &filter.start_date_to {
            condition = condition.add(events::Column::StartDate.lte(parse_bound("start_date_to", to, true)?));
        }
        let order = if filter.order.as_deref() == Some("desc") { Order::Desc } else { Order::Asc };
        let column = match filter.sort_by.as_deref() {
            Some("price") => events::Column::MinPrice,
            Some("created_at") => events::Column::CreatedAt,
            _ => events::Column::StartDate,
        };
        let query = events::Entity::find()
            .filter(condition)
            .order_by(column, order.clone())
            .order_by(events::Column::EventId, order);
        let total = query.clone().count(&self.db).await? as i64;
        let rows = query
            .offset(((page - 1) as u64) * page_size as u64)
            .limit(page_size as u64)
            .all(&self.db)
            .await?;
        let ids: Vec<String> = rows.iter().map(|e| e.event_id.clone()).collect();
        let available = self.available_seats(&ids).await?;
        let events = rows
            .into_iter()
            .map(|event| {
                let count = available.get(&event.event_id).copied().unwrap_or(0);
                (event, count)
            })
            .collect();
        let total_pages = (total + page_size as i64 - 1) / page_size as i64;
        Ok(EventPage { events, total, page, page_size, total_pages })
    }

    /// The seat map in display order, optionally one section.
    pub async fn event_seats(&self, event_id: &str, section: Option<&str>) -> Result<Vec<seats::Model>, TicketingError> {
        self.find_event(event_id).await?;
        let mut query = seats::Entity::find().filter(seats::Column::EventId.eq(event_id));
        if let Some(section) = section {
            query = query.filter(seats::Column::Section.eq(section));
        }
        Ok(query.order_by_asc(seats::Column::Position).all(&self.db).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_share_every_seat_and_price_from_max_down_to_min() {
        for total in [1, 2, 3, 7, 40, 25_000] {
            let plan = plan_sections(total, 100.0, 400.0);
            assert_eq!(plan.iter().map(|s| s.seats).sum::<i32>(), total, "{total}");
            assert_eq!(plan[0].name, "VIP");
            assert_eq!(plan[0].price, 400.0);
        }
        let plan = plan_sections(100, 100.0, 400.0);
        let prices: Vec<f64> = plan.iter().map(|s| s.price).collect();
        assert_eq!(prices, vec![400.0, 300.0, 200.0, 100.0]);
    }

    #[test]
    fn seat_ids_are_unique_and_in_rows_of_twenty() {
        let rows = seat_rows("evt_1", 100, 1.0, 2.0);
        let mut ids: Vec<String> = rows.iter().map(|r| r.seat_id.clone().unwrap()).collect();
        assert_eq!(ids[0], "VIP-1-1");
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), 100);
        assert!(rows.iter().any(|r| r.seat_id.clone().unwrap() == "A-2-10"));
    }

    #[test]
    fn date_bounds_accept_dates_and_date_times() {
        assert_eq!(parse_bound("f", "2024-06-15", false).unwrap().to_rfc3339(), "2024-06-15T00:00:00+00:00");
        assert!(parse_bound("f", "2024-06-15", true).unwrap().to_rfc3339().starts_with("2024-06-15T23:59:59"));
        assert!(parse_bound("f", "2024-06-15T19:00:00Z", false).is_ok());
        assert!(parse_bound("f", "tomorrow", false).is_err());
    }
}
