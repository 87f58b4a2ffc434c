//! requestProductChange and what finishes it.
//!
//! A request passes the pre-checks, is recorded (one in flight per line: a partial unique
//! index), gets a poll job scheduled for when the synchronous budget ends (the safety net
//! should this process stop), and is sent to KOS. KOS finishing within the budget → 200;
//! KOS accepting it for later, or not answering in time → 202, and the poll job asks KOS until
//! the order is done. KOS unreachable or its breaker open → 503 and nothing is kept. Every
//! state a request reaches is published on `product-change.changed`; the history is built
//! from those events.

use chrono::NaiveDate;
use sea_orm::{ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter, SqlErr};
use serde_json::{Value, json};

use contracts::proto::kos::v1 as kos_pb;
use service_core::jobs::{EnqueueOptions, JobContext, JobError};

use crate::cache::is_terminal;
use crate::checks::CheckType;
use crate::errors::PcError;
use crate::kos::KosFailure;
use crate::model::{Caller, Product};
use crate::service::{ProductChangeService, unknown_product};
use crate::store::change_requests;

pub const POLL_QUEUE: &str = "product-change.poll";
pub const CHANGED_TOPIC: &str = "product-change.changed";

#[derive(Debug, Clone)]
pub struct ChangeCommand {
    pub line_number: String,
    pub current_product_code: String,
    pub target_product_code: String,
    pub change_effective_date: Option<String>,
}

/// The answer to requestProductChange.
#[derive(Debug, Clone)]
pub enum ChangeAnswer {
    /// 200: KOS finished it (COMPLETED or FAILED).
    Processed { request: change_requests::Model, product: Option<Product> },
    /// 202: accepted; `estimated_completion_ms` when KOS gave one.
    Accepted { request: change_requests::Model, estimated_completion_ms: Option<i64> },
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// KOS cannot take the change now: the documented 503.
fn unavailable(failure: &KosFailure) -> PcError {
    match failure {
        KosFailure::Open { retry_after_secs } => PcError::KosUnavailable {
            details: "KOS 연동 회로 차단기가 열려 있습니다 (circuit breaker open)".into(),
            retry_after_secs: u32::try_from(*retry_after_secs).unwrap_or(u32::MAX),
        },
        other => PcError::KosUnavailable {
            details: format!("KOS 시스템에 연결할 수 없습니다 ({})", match other {
                KosFailure::TimedOut => "timeout".to_owned(),
                KosFailure::Unavailable(reason) | KosFailure::Failed(reason) => reason.clone(),
                _ => "unavailable".to_owned(),
            }),
            retry_after_secs: 5,
        },
    }
}

fn kos_request(request: &change_requests::Model, effective_date: Option<&str>) -> kos_pb::ChangeProductRequest {
    kos_pb::ChangeProductRequest {
        request_id: request.request_id.clone(),
        line_number: request.line_number.clone(),
        current_product_code: request.current_product_code.clone(),
        target_product_code: request.target_product_code.clone(),
        effective_date: effective_date.unwrap_or_default().to_owned(),
    }
}

impl ProductChangeService {
    pub async fn request_change(&self, caller: &Caller, command: ChangeCommand) -> Result<ChangeAnswer, PcError> {
        Self::check_line_number(&command.line_number)?;
        if let Some(date) = &command.change_effective_date {
            NaiveDate::parse_from_str(date, "%Y-%m-%d")
                .map_err(|_| PcError::InvalidRequest("changeEffectiveDate는 YYYY-MM-DD 형식이어야 합니다".into()))?;
        }
        let line = match self.own_line_fresh(caller, &command.line_number).await {
            Ok(Some(line)) => line,
            Ok(None) => {
                return Err(PcError::ChangeDenied(format!(
                    "본인 명의의 회선이 아니거나 존재하지 않는 회선입니다 ({})",
                    command.line_number
                )));
            }
            Err(failure) => return Err(unavailable(&failure)),
        };
        let (validation, target) = self
            .run_checks(&line, &command.current_product_code, &command.target_product_code)
            .await
            .map_err(|error| match error {
                // This operation documents 503 for KOS trouble.
                PcError::KosFailed(reason) => unavailable(&KosFailure::Failed(reason)),
                other => other,
            })?;
        if let Some(failure) = validation.failure {
            return Err(match failure.check {
                Some(CheckType::LineStatus) => PcError::LineSuspended(failure.reason),
                _ => PcError::ValidationFailed(failure.reason),
            });
        }
        let target = target.unwrap_or_else(|| unknown_product(&command.target_product_code));
        let current_name = self
            .catalog()
            .await?
            .into_iter()
            .find(|p| p.product_code == line.product_code)
            .map_or_else(|| line.product_code.clone(), |p| p.product_name);
        let now = now_ms();
        let request = change_requests::Model {
            request_id: uuid::Uuid::new_v4().to_string(),
            user_id: caller.username.clone(),
            customer_id: line.customer_id.clone(),
            line_number: line.line_number.clone(),
            current_product_code: line.product_code.clone(),
            current_product_name: current_name,
            target_product_code: target.product_code.clone(),
            target_product_name: target.product_name.clone(),
            status: "PENDING".into(),
            result_code: None,
            result_message: None,
            failure_reason: None,
            requested_at_ms: now,
            processed_at_ms: None,
            updated_at_ms: now,
        };
        match change_requests::Entity::insert(request.clone().into_active_model()).exec(&self.db).await {
            Ok(_) => {}
            Err(error) if matches!(error.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
                return Err(PcError::ChangeDenied(format!(
                    "회선 {}에 처리중인 상품변경 요청이 있습니다",
                    command.line_number
                )));
            }
            Err(error) => return Err(error.into()),
        }
        // The safety net, scheduled before KOS hears of the change: should this process stop
        // mid-request, the poll job still finds out how it ended.
        let run_at = chrono::Utc::now() + chrono::TimeDelta::from_std(self.settings.sync_budget).unwrap_or_default();
        let options = EnqueueOptions {
            job_id: Some(format!("poll:{}", request.request_id)),
            run_at: Some(run_at),
            max_attempts: Some(self.settings.poll_attempts),
        };
        let payload = json!({"requestId": request.request_id, "changeEffectiveDate": command.change_effective_date});
        if let Err(error) = self.jobs.enqueue(POLL_QUEUE, payload, options).await {
            self.abandon(&request.request_id).await;
            return Err(error.into());
        }
        let deadline = tokio::time::Instant::now() + self.settings.sync_budget;
        let submitted = kos_request(&request, command.change_effective_date.as_deref());
        match self.kos.change(submitted, Some(deadline)).await {
            Ok(order) => {
                let estimated = (order.state == kos_pb::OrderState::OrderAccepted as i32)
                    .then_some(order.estimated_completion_at_ms)
                    .filter(|ms| *ms > 0);
                let request = self.apply_order(&request, &order).await?;
                if is_terminal(&request.status) {
                    Ok(ChangeAnswer::Processed { request, product: Some(target) })
                } else {
                    Ok(ChangeAnswer::Accepted { request, estimated_completion_ms: estimated })
                }
            }
            Err(failure @ (KosFailure::Open { .. } | KosFailure::Unavailable(_))) => {
                // KOS never took it: keep nothing, the client retries later.
                self.abandon(&request.request_id).await;
                tracing::warn!(request_id = %request.request_id, ?failure, breaker = ?self.kos.breaker().state, "product-change: KOS unavailable");
                Err(unavailable(&failure))
            }
            Err(KosFailure::NotFound) => {
                let request = self
                    .finalize(&request.request_id, "FAILED", "LINE_NOT_FOUND", "KOS에 회선 정보가 없습니다", true)
                    .await?;
                Ok(ChangeAnswer::Processed { request, product: None })
            }
            Err(failure) => {
                // No answer in time: KOS may still be working on it; the poll job finds out.
                tracing::info!(request_id = %request.request_id, ?failure, "product-change: KOS slower than the budget; answering 202");
                self.publish(&request).await;
                Ok(ChangeAnswer::Accepted { request, estimated_completion_ms: None })
            }
        }
    }

    /// Drops a request KOS never received (the poll job then finds nothing to do).
    async fn abandon(&self, request_id: &str) {
        let deleted = change_requests::Entity::delete_many()
            .filter(change_requests::Column::RequestId.eq(request_id))
            .filter(change_requests::Column::Status.eq("PENDING"))
            .exec(&self.db)
            .await;
        if let Err(error) = deleted {
            tracing::error!(%error, request_id, "product-change: dropping an unsent request failed");
        }
    }

    /// Records what KOS said about an order; returns the request as it now stands.
    async fn apply_order(
        &self,
        request: &change_requests::Model,
        order: &kos_pb::ChangeOrder,
    ) -> Result<change_requests::Model, PcError> {
        match kos_pb::OrderState::try_from(order.state) {
            Ok(kos_pb::OrderState::OrderCompleted) => {
                let message = if order.result_message.is_empty() { "상품 변경이 완료되었습니다" } else { &order.result_message };
                self.finalize(&request.request_id, "COMPLETED", "SUCCESS", message, false).await
            }
            Ok(kos_pb::OrderState::OrderRejected) => {
                let code = if order.result_code.is_empty() { "KOS_REJECTED" } else { &order.result_code };
                self.finalize(&request.request_id, "FAILED", code, &order.result_message, true).await
            }
            _ => {
                // Accepted: KOS completes it later.
                let now = now_ms();
                change_requests::Entity::update_many()
                    .col_expr(change_requests::Column::Status, "PROCESSING".into())
                    .col_expr(change_requests::Column::UpdatedAtMs, now.into())
                    .filter(change_requests::Column::RequestId.eq(request.request_id.as_str()))
                    .filter(change_requests::Column::Status.eq("PENDING"))
                    .exec(&self.db)
                    .await?;
                let current = self.load(&request.request_id).await?.unwrap_or_else(|| request.clone());
                self.publish(&current).await;
                Ok(current)
            }
        }
    }

    /// Moves an in-flight request to COMPLETED or FAILED (once: later calls change nothing),
    /// forgets what the cache holds about its line, and publishes the outcome.
    async fn finalize(
        &self,
        request_id: &str,
        status: &str,
        code: &str,
        message: &str,
        failed: bool,
    ) -> Result<change_requests::Model, PcError> {
        let now = now_ms();
        let updated = change_requests::Entity::update_many()
            .col_expr(change_requests::Column::Status, status.into())
            .col_expr(change_requests::Column::ResultCode, Some(code.to_owned()).into())
            .col_expr(change_requests::Column::ResultMessage, Some(message.to_owned()).into())
            .col_expr(change_requests::Column::FailureReason, failed.then(|| message.to_owned()).into())
            .col_expr(change_requests::Column::ProcessedAtMs, Some(now).into())
            .col_expr(change_requests::Column::UpdatedAtMs, now.into())
            .filter(change_requests::Column::RequestId.eq(request_id))
            .filter(change_requests::Column::Status.is_in(["PENDING", "PROCESSING"]))
            .exec(&self.db)
            .await?;
        let request = self
            .load(request_id)
            .await?
            .ok_or_else(|| PcError::Internal(format!("change request {request_id} vanished")))?;
        if updated.rows_affected > 0 {
            self.invalidate(&request.line_number, &request.user_id).await;
            tracing::info!(request_id, status, code, "product-change: change finished");
        }
        self.publish(&request).await;
        Ok(request)
    }

    pub(crate) async fn load(&self, request_id: &str) -> Result<Option<change_requests::Model>, PcError> {
        Ok(change_requests::Entity::find_by_id(request_id.to_owned()).one(&self.db).await?)
    }

    /// Publishes the request's state for the history (at least once: the poll job publishes
    /// the final state again, and the history keeps the newest).
    async fn publish(&self, request: &change_requests::Model) {
        if let Err(error) = self.try_publish(request).await {
            tracing::warn!(%error, request_id = %request.request_id, "product-change: publishing to the history failed; the poll job publishes again");
        }
    }

    async fn try_publish(&self, request: &change_requests::Model) -> Result<(), service_core::jobs::Error> {
        let event_id = format!("{}:{}:{}", request.request_id, request.status, request.updated_at_ms);
        let payload = serde_json::to_value(request)?;
        self.jobs.publish(CHANGED_TOPIC, &event_id, &payload).await
    }

    /// The poll job: asks KOS how the change ended until it has, then records it.
    pub async fn poll(&self, job: JobContext) -> Result<Value, JobError> {
        let internal = |error: PcError| JobError::retry(error.to_string());
        let Some(request_id) = job.payload.get("requestId").and_then(Value::as_str) else {
            return Err(JobError::permanent("poll job without requestId"));
        };
        let effective = job.payload.get("changeEffectiveDate").and_then(Value::as_str);
        let Some(request) = self.load(request_id).await.map_err(internal)? else {
            return Ok(json!({"outcome": "dropped"}));
        };
        if is_terminal(&request.status) {
            self.try_publish(&request).await.map_err(|e| JobError::retry(e.to_string()))?;
            return Ok(json!({"outcome": request.status}));
        }
        let order = match self.kos.order(request_id).await {
            Ok(order) => Some(order),
            // KOS never got it (the first call died on the way): send it again; KOS keeps one
            // order per request id, so this cannot change the line twice.
            Err(KosFailure::NotFound) => self.kos.change(kos_request(&request, effective), None).await.ok(),
            Err(failure) => {
                tracing::debug!(request_id, ?failure, "product-change: KOS not answering the poll");
                None
            }
        };
        if let Some(order) = order {
            let request = self.apply_order(&request, &order).await.map_err(internal)?;
            if is_terminal(&request.status) {
                return Ok(json!({"outcome": request.status}));
            }
        }
        if job.attempt >= job.max_attempts {
            let request = self
                .finalize(request_id, "FAILED", "KOS_TIMEOUT", "KOS 처리 결과를 확인하지 못했습니다", true)
                .await
                .map_err(internal)?;
            return Ok(json!({"outcome": request.status}));
        }
        Err(JobError::retry("KOS has not finished the change yet"))
    }
}
