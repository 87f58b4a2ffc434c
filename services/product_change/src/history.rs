//! The change history (the spec's asynchronous history): kept from `product-change.changed`
//! events, read with filters and pages; and the result of one request.

use chrono::{NaiveDate, TimeZone, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
    SqlErr,
};

use service_core::jobs::{EventContext, JobError};

use crate::errors::PcError;
use crate::model::Caller;
use crate::service::ProductChangeService;
use crate::store::{change_history, change_requests};

#[derive(Debug, Clone, Default)]
pub struct HistoryQuery {
    pub line_number: Option<String>,
    pub start_date: Option<String>,
    pub end_date: Option<String>,
    pub page: Option<i32>,
    pub size: Option<i32>,
}

#[derive(Debug, Clone)]
pub struct HistoryPage {
    pub items: Vec<change_history::Model>,
    pub page: i32,
    pub size: i32,
    pub total: u64,
}

impl HistoryPage {
    pub fn total_pages(&self) -> i32 {
        let size = u64::try_from(self.size.max(1)).unwrap_or(1);
        i32::try_from(self.total.div_ceil(size)).unwrap_or(i32::MAX)
    }
}

/// Later states win; within one millisecond the further state does.
fn rank(status: &str) -> u8 {
    match status {
        "PENDING" => 0,
        "PROCESSING" => 1,
        _ => 2,
    }
}

fn parse_date(name: &str, text: &str) -> Result<NaiveDate, PcError> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map_err(|_| PcError::InvalidRequest(format!("{name}는 YYYY-MM-DD 형식의 날짜여야 합니다")))
}

fn day_start_ms(date: NaiveDate) -> i64 {
    date.and_hms_opt(0, 0, 0).map_or(0, |t| Utc.from_utc_datetime(&t).timestamp_millis())
}

impl ProductChangeService {
    /// Applies one event to the history (idempotent: an older or repeated event changes nothing).
    pub async fn record_history(&self, event: EventContext) -> Result<(), JobError> {
        let request: change_requests::Model = serde_json::from_value(event.payload)
            .map_err(|e| JobError::permanent(format!("not a change request: {e}")))?;
        let retry = |e: sea_orm::DbErr| JobError::retry(format!("history: {e}"));
        let row = change_history::Model {
            request_id: request.request_id.clone(),
            user_id: request.user_id,
            line_number: request.line_number,
            status: request.status,
            current_product_code: request.current_product_code,
            current_product_name: request.current_product_name,
            target_product_code: request.target_product_code,
            target_product_name: request.target_product_name,
            requested_at_ms: request.requested_at_ms,
            processed_at_ms: request.processed_at_ms,
            result_message: request.result_message,
            version_ms: request.updated_at_ms,
        };
        match change_history::Entity::find_by_id(request.request_id).one(&self.db).await.map_err(retry)? {
            None => match change_history::Entity::insert(row.into_active_model()).exec(&self.db).await {
                Ok(_) => Ok(()),
                // A delivery of another state of the same request got there first: try again.
                Err(e) if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
                    Err(JobError::retry("history row raced; retrying"))
                }
                Err(e) => Err(retry(e)),
            },
            Some(existing) if (row.version_ms, rank(&row.status)) > (existing.version_ms, rank(&existing.status)) => {
                row.into_active_model().reset_all().update(&self.db).await.map_err(retry)?;
                Ok(())
            }
            Some(_) => Ok(()),
        }
    }

    /// getProductChangeHistory: the caller's changes, of one line when given, within the date
    /// range (UTC days, both ends included), newest first.
    pub async fn history(&self, caller: &Caller, query: HistoryQuery) -> Result<HistoryPage, PcError> {
        let page = query.page.unwrap_or(1);
        let size = query.size.unwrap_or(10);
        if page < 1 {
            return Err(PcError::InvalidRequest("page는 1 이상이어야 합니다".into()));
        }
        if !(1..=100).contains(&size) {
            return Err(PcError::InvalidRequest("size는 1 이상 100 이하여야 합니다".into()));
        }
        let start = query.start_date.as_deref().map(|d| parse_date("startDate", d)).transpose()?;
        let end = query.end_date.as_deref().map(|d| parse_date("endDate", d)).transpose()?;
        if let (Some(start), Some(end)) = (start, end) {
            if start > end {
                return Err(PcError::InvalidRequest("startDate가 endDate보다 늦습니다".into()));
            }
        }
        let mut select = change_history::Entity::find().filter(change_history::Column::UserId.eq(caller.username.as_str()));
        if let Some(line_number) = query.line_number.as_deref().filter(|l| !l.is_empty()) {
            Self::check_line_number(line_number)?;
            self.check_history_line(caller, line_number).await?;
            select = select.filter(change_history::Column::LineNumber.eq(line_number));
        }
        if let Some(start) = start {
            select = select.filter(change_history::Column::RequestedAtMs.gte(day_start_ms(start)));
        }
        if let Some(end) = end.and_then(|d| d.succ_opt()) {
            select = select.filter(change_history::Column::RequestedAtMs.lt(day_start_ms(end)));
        }
        let total = select.clone().count(&self.db).await?;
        let items = select
            .order_by_desc(change_history::Column::RequestedAtMs)
            .order_by_desc(change_history::Column::RequestId)
            .offset(u64::try_from(page - 1).unwrap_or(0) * u64::try_from(size).unwrap_or(10))
            .limit(u64::try_from(size).unwrap_or(10))
            .all(&self.db)
            .await?;
        Ok(HistoryPage { items, page, size, total })
    }

    /// A line of another customer is refused (400). When KOS cannot say, the history is still
    /// answered: it only ever holds the caller's own changes.
    async fn check_history_line(&self, caller: &Caller, line_number: &str) -> Result<(), PcError> {
        match self.cached_line(line_number).await {
            Ok(Some(line)) if line.portal_user_id == caller.username => Ok(()),
            Ok(_) => Err(PcError::InvalidRequest(format!("조회할 수 없는 회선입니다 ({line_number})"))),
            Err(PcError::KosFailed(reason)) => {
                tracing::warn!(reason, "product-change: KOS unavailable; history limited to the caller's own records");
                Ok(())
            }
            Err(other) => Err(other),
        }
    }

    /// getProductChangeResult: the caller's own requests only (404 otherwise).
    pub async fn result(&self, caller: &Caller, request_id: &str) -> Result<change_requests::Model, PcError> {
        let not_found = || PcError::NotFound(format!("상품변경 요청 {request_id}을(를) 찾을 수 없습니다"));
        uuid::Uuid::parse_str(request_id).map_err(|_| PcError::InvalidRequest("requestId는 UUID여야 합니다".into()))?;
        match self.load(request_id).await? {
            Some(request) if request.user_id == caller.username => Ok(request),
            _ => Err(not_found()),
        }
    }
}
