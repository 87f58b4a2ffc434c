//! What KOS does: answers about lines and products, and runs product-change orders. Orders are
//! kept by the caller's request id (asking twice returns the same order); deferred orders
//! complete once their provisioning time has passed (settled whenever KOS is asked about
//! lines or orders, so nothing is lost across restarts).

use std::time::Duration;

use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, IntoActiveModel,
    PaginatorTrait, QueryFilter, QueryOrder, SqlErr, TransactionTrait,
};

use crate::faults::Faults;
use crate::seed;
use crate::store::{lines, orders, products};

#[derive(Debug, Clone)]
pub struct KosSettings {
    /// How long an order for a product that needs provisioning takes to complete.
    pub deferred_completion: Duration,
}

impl Default for KosSettings {
    fn default() -> Self {
        Self { deferred_completion: Duration::from_secs(5) }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum KosError {
    #[error("{0} not found")]
    NotFound(String),
    #[error("invalid request: {0}")]
    Invalid(String),
    #[error("database: {0}")]
    Db(#[from] DbErr),
}

impl From<KosError> for tonic::Status {
    fn from(error: KosError) -> Self {
        match error {
            KosError::NotFound(what) => tonic::Status::not_found(format!("{what} not found")),
            KosError::Invalid(reason) => tonic::Status::invalid_argument(reason),
            KosError::Db(error) => {
                tracing::error!(%error, "kos: database error");
                tonic::Status::internal("KOS internal error")
            }
        }
    }
}

/// A change KOS refuses, recorded as a REJECTED order.
struct Refusal {
    code: &'static str,
    message: &'static str,
}

pub struct KosService {
    db: DatabaseConnection,
    faults: Faults,
    settings: KosSettings,
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

impl KosService {
    pub fn new(db: DatabaseConnection, faults: Faults, settings: KosSettings) -> Self {
        Self { db, faults, settings }
    }

    pub fn faults(&self) -> &Faults {
        &self.faults
    }

    /// Loads the deterministic seed into empty tables.
    pub async fn seed_if_empty(&self) -> Result<(), DbErr> {
        if products::Entity::find().count(&self.db).await? > 0 {
            return Ok(());
        }
        let txn = self.db.begin().await?;
        products::Entity::insert_many(seed::products().into_iter().map(IntoActiveModel::into_active_model))
            .exec(&txn)
            .await?;
        let lines = seed::lines();
        let count = lines.len();
        for chunk in lines.chunks(100) {
            lines::Entity::insert_many(chunk.iter().cloned().map(IntoActiveModel::into_active_model)).exec(&txn).await?;
        }
        txn.commit().await?;
        tracing::info!(lines = count, products = seed::PRODUCTS.len(), seed = seed::SEED, "kos: seeded customers, lines and products");
        Ok(())
    }

    pub async fn line(&self, line_number: &str) -> Result<lines::Model, KosError> {
        self.settle_due().await?;
        lines::Entity::find_by_id(line_number.to_owned())
            .one(&self.db)
            .await?
            .ok_or_else(|| KosError::NotFound(format!("line {line_number}")))
    }

    pub async fn customer_lines(&self, portal_user_id: &str) -> Result<Vec<lines::Model>, KosError> {
        self.settle_due().await?;
        Ok(lines::Entity::find()
            .filter(lines::Column::PortalUserId.eq(portal_user_id))
            .order_by_asc(lines::Column::LineNumber)
            .all(&self.db)
            .await?)
    }

    pub async fn products(&self, operator_code: &str, include_retired: bool) -> Result<Vec<products::Model>, KosError> {
        let mut query = products::Entity::find().order_by_asc(products::Column::ProductCode);
        if !operator_code.is_empty() {
            query = query.filter(products::Column::OperatorCode.eq(operator_code));
        }
        if !include_retired {
            query = query.filter(products::Column::OnSale.eq(true));
        }
        Ok(query.all(&self.db).await?)
    }

    pub async fn product(&self, code: &str) -> Result<products::Model, KosError> {
        products::Entity::find_by_id(code.to_owned())
            .one(&self.db)
            .await?
            .ok_or_else(|| KosError::NotFound(format!("product {code}")))
    }

    pub async fn order(&self, request_id: &str) -> Result<orders::Model, KosError> {
        self.settle_due().await?;
        orders::Entity::find_by_id(request_id.to_owned())
            .one(&self.db)
            .await?
            .ok_or_else(|| KosError::NotFound(format!("order {request_id}")))
    }

    /// Checks a change as the back office does; None when it may go ahead.
    fn refusal(line: &lines::Model, current: &str, target: Option<&products::Model>) -> Option<Refusal> {
        let refuse = |code, message| Some(Refusal { code, message });
        if line.state != "ACTIVE" {
            return refuse("LINE_NOT_ACTIVE", "사용중인 회선이 아닙니다");
        }
        if line.product_code != current {
            return refuse("PRODUCT_MISMATCH", "현재 상품 정보가 일치하지 않습니다");
        }
        let Some(target) = target else {
            return refuse("PRODUCT_NOT_FOUND", "존재하지 않는 상품입니다");
        };
        if !target.on_sale {
            return refuse("PRODUCT_NOT_ON_SALE", "판매중인 상품이 아닙니다");
        }
        if target.operator_code != line.operator_code {
            return refuse("OPERATOR_MISMATCH", "회선의 사업자와 상품의 사업자가 다릅니다");
        }
        if target.product_code == line.product_code {
            return refuse("SAME_PRODUCT", "현재 사용중인 상품입니다");
        }
        None
    }

    /// Runs a product change, once per request id.
    pub async fn change_product(
        &self,
        request_id: &str,
        line_number: &str,
        current: &str,
        target: &str,
    ) -> Result<orders::Model, KosError> {
        if request_id.is_empty() {
            return Err(KosError::Invalid("request_id is required".into()));
        }
        if let Some(existing) = orders::Entity::find_by_id(request_id.to_owned()).one(&self.db).await? {
            return Ok(existing);
        }
        self.settle_due().await?;
        let txn = self.db.begin().await?;
        let line = lines::Entity::find_by_id(line_number.to_owned())
            .one(&txn)
            .await?
            .ok_or_else(|| KosError::NotFound(format!("line {line_number}")))?;
        let product = products::Entity::find_by_id(target.to_owned()).one(&txn).await?;
        let open = orders::Entity::find()
            .filter(orders::Column::LineNumber.eq(line_number))
            .filter(orders::Column::State.eq("ACCEPTED"))
            .count(&txn)
            .await?;
        let now = now_ms();
        let mut order = orders::Model {
            request_id: request_id.to_owned(),
            order_id: format!("KOS-{}", uuid::Uuid::new_v4().simple()),
            line_number: line_number.to_owned(),
            from_product_code: line.product_code.clone(),
            to_product_code: target.to_owned(),
            state: String::new(),
            result_code: String::new(),
            result_message: String::new(),
            accepted_at_ms: now,
            complete_at_ms: now,
            completed_at_ms: 0,
        };
        let refusal = if open > 0 {
            Some(Refusal { code: "ORDER_IN_PROGRESS", message: "처리중인 상품변경 주문이 있습니다" })
        } else {
            Self::refusal(&line, current, product.as_ref())
        };
        match (refusal, product) {
            (Some(refusal), _) => {
                order.state = "REJECTED".into();
                order.result_code = refusal.code.into();
                order.result_message = refusal.message.into();
                order.completed_at_ms = now;
            }
            (None, Some(product)) if product.deferred => {
                order.state = "ACCEPTED".into();
                order.result_message = "상품변경 주문이 접수되었습니다 (개통 작업 중)".into();
                order.complete_at_ms = now + self.settings.deferred_completion.as_millis() as i64;
            }
            (None, _) => {
                set_product(&txn, line_number, target).await?;
                order.state = "COMPLETED".into();
                order.result_code = "SUCCESS".into();
                order.result_message = "상품 변경이 완료되었습니다".into();
                order.completed_at_ms = now;
            }
        }
        match orders::Entity::insert(order.clone().into_active_model()).exec(&txn).await {
            Ok(_) => {
                txn.commit().await?;
                tracing::info!(request_id, line_number, state = %order.state, code = %order.result_code, "kos: product-change order");
                Ok(order)
            }
            Err(error) if matches!(error.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
                // The same request id raced in: answer with the order that won.
                txn.rollback().await?;
                orders::Entity::find_by_id(request_id.to_owned())
                    .one(&self.db)
                    .await?
                    .ok_or_else(|| KosError::NotFound(format!("order {request_id}")))
            }
            Err(error) => Err(error.into()),
        }
    }

    /// Completes every deferred order whose provisioning time has passed.
    async fn settle_due(&self) -> Result<(), DbErr> {
        let now = now_ms();
        let due = orders::Entity::find()
            .filter(orders::Column::State.eq("ACCEPTED"))
            .filter(orders::Column::CompleteAtMs.lte(now))
            .all(&self.db)
            .await?;
        for order in due {
            let txn = self.db.begin().await?;
            let line = lines::Entity::find_by_id(order.line_number.clone()).one(&txn).await?;
            let applies = line.as_ref().is_some_and(|l| l.state == "ACTIVE" && l.product_code == order.from_product_code);
            let (state, code, message) = if applies {
                ("COMPLETED", "SUCCESS", "상품 변경이 완료되었습니다")
            } else {
                ("REJECTED", "LINE_CHANGED", "개통 작업 중 회선 상태가 바뀌었습니다")
            };
            // Conditional on ACCEPTED: when two settlers race, exactly one applies the order.
            let claimed = orders::Entity::update_many()
                .col_expr(orders::Column::State, state.into())
                .col_expr(orders::Column::ResultCode, code.into())
                .col_expr(orders::Column::ResultMessage, message.into())
                .col_expr(orders::Column::CompletedAtMs, now.into())
                .filter(orders::Column::RequestId.eq(order.request_id.as_str()))
                .filter(orders::Column::State.eq("ACCEPTED"))
                .exec(&txn)
                .await?;
            if claimed.rows_affected == 1 && applies {
                set_product(&txn, &order.line_number, &order.to_product_code).await?;
            }
            txn.commit().await?;
        }
        Ok(())
    }

    /// The injected latency and failures, applied by the API before every faultable call.
    pub async fn inject_faults(&self) -> Result<(), tonic::Status> {
        self.faults.inject().await
    }
}

async fn set_product<C: ConnectionTrait>(db: &C, line_number: &str, product: &str) -> Result<(), DbErr> {
    if let Some(line) = lines::Entity::find_by_id(line_number.to_owned()).one(db).await? {
        let mut active = line.into_active_model();
        active.product_code = sea_orm::ActiveValue::Set(product.to_owned());
        active.update(db).await?;
    }
    Ok(())
}
