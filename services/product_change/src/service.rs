//! The service's state and its read operations: menu, customer info, available products and
//! the pre-change check. Reads go through the cache; a cached answer about a line is used
//! only while no change of that line happened since it was fetched (see `cache.rs`), so a
//! completed change is never hidden by the cache.

use std::sync::Arc;
use std::time::Duration;

use sea_orm::DatabaseConnection;

use contracts::auth::{Claims, TokenVerifier};
use service_core::jobs::Jobs;
use service_core::storage::Cache;

use crate::checks::{self, Validation};
use crate::errors::PcError;
use crate::kos::{KosClient, KosFailure};
use crate::model::{Caller, LineInfo, LineStatus, Product, is_line_number};

#[derive(Debug, Clone)]
pub struct ProductChangeSettings {
    /// How long requestProductChange waits for KOS before answering 202.
    pub sync_budget: Duration,
    pub menu_ttl: Duration,
    /// getCustomerInfo: 4 hours (spec).
    pub line_ttl: Duration,
    /// getAvailableProducts: 24 hours (spec).
    pub products_ttl: Duration,
    /// Polls of KOS for one queued change before it is given up as FAILED.
    pub poll_attempts: u32,
    /// Pause between polls (grows up to `poll_max_delay`).
    pub poll_delay: Duration,
    pub poll_max_delay: Duration,
}

impl Default for ProductChangeSettings {
    fn default() -> Self {
        Self {
            sync_budget: Duration::from_secs(3),
            menu_ttl: Duration::from_secs(3600),
            line_ttl: Duration::from_secs(4 * 3600),
            products_ttl: Duration::from_secs(24 * 3600),
            // About an hour of polls at the 5 s cap: KOS outages are usually shorter.
            poll_attempts: 720,
            poll_delay: Duration::from_millis(500),
            poll_max_delay: Duration::from_secs(5),
        }
    }
}

pub struct ProductChangeService {
    pub(crate) db: DatabaseConnection,
    pub(crate) cache: Arc<dyn Cache>,
    pub(crate) kos: KosClient,
    pub(crate) jobs: Jobs,
    verifier: TokenVerifier,
    audience: String,
    pub(crate) settings: ProductChangeSettings,
}

/// The menu: the caller's customer id, the line the menu is about, and its product.
#[derive(Debug, Clone)]
pub struct Menu {
    pub line: LineInfo,
    pub product: Option<Product>,
    pub lines: Vec<LineInfo>,
}

/// getCustomerInfo: a line and its current product.
#[derive(Debug, Clone)]
pub struct CustomerView {
    pub line: LineInfo,
    pub product: Product,
}

/// KOS failures on operations that document no 503: the documented 500.
pub(crate) fn read_failure(failure: KosFailure) -> PcError {
    match failure {
        KosFailure::NotFound => PcError::KosFailed("unexpected not found".into()),
        other => PcError::KosFailed(format!("{other:?}")),
    }
}

/// A product KOS no longer lists (should not happen): shown by its code.
pub(crate) fn unknown_product(code: &str) -> Product {
    Product {
        product_code: code.to_owned(),
        product_name: code.to_owned(),
        operator_code: String::new(),
        monthly_fee: 0.0,
        data_allowance: String::new(),
        voice_allowance: String::new(),
        sms_allowance: String::new(),
        on_sale: false,
        deferred: false,
    }
}

impl ProductChangeService {
    pub fn new(
        db: DatabaseConnection,
        cache: Arc<dyn Cache>,
        kos: KosClient,
        jobs: Jobs,
        verifier: TokenVerifier,
        audience: String,
        settings: ProductChangeSettings,
    ) -> Self {
        Self { db, cache, kos, jobs, verifier, audience, settings }
    }

    pub fn verifier(&self) -> &TokenVerifier {
        &self.verifier
    }

    pub fn audience(&self) -> &str {
        &self.audience
    }

    pub fn caller(claims: &Claims) -> Caller {
        Caller { username: claims.username.clone() }
    }

    pub(crate) fn check_line_number(line_number: &str) -> Result<(), PcError> {
        if is_line_number(line_number) {
            Ok(())
        } else {
            Err(PcError::InvalidRequest("lineNumber는 010으로 시작하는 11자리 숫자여야 합니다 (^010[0-9]{8}$)".into()))
        }
    }

    /// getProductMenu: the caller's lines (403 when there are none), the first active one first.
    pub async fn menu(&self, caller: &Caller) -> Result<Menu, PcError> {
        let mut lines = self.cached_customer_lines(caller).await?;
        if lines.is_empty() {
            return Err(PcError::NoLines);
        }
        lines.sort_by_key(|l| (l.status != LineStatus::Active, l.line_number.clone()));
        let line = lines[0].clone();
        let product = self.catalog().await?.into_iter().find(|p| p.product_code == line.product_code);
        Ok(Menu { line, product, lines })
    }

    /// getCustomerInfo: 404 for unknown lines and for lines of other customers alike (the
    /// caller learns nothing about lines that are not theirs).
    pub async fn customer_info(&self, caller: &Caller, line_number: &str) -> Result<CustomerView, PcError> {
        Self::check_line_number(line_number)?;
        let not_found = || PcError::NotFound(format!("회선 {line_number}의 고객 정보를 찾을 수 없습니다"));
        let line = self.cached_line(line_number).await?.ok_or_else(not_found)?;
        if line.portal_user_id != caller.username {
            return Err(not_found());
        }
        let product = self
            .catalog()
            .await?
            .into_iter()
            .find(|p| p.product_code == line.product_code)
            .unwrap_or_else(|| unknown_product(&line.product_code));
        Ok(CustomerView { line, product })
    }

    /// getAvailableProducts: products on sale, of `operator_code` (or of the current
    /// product's operator), without the current product itself.
    pub async fn available_products(
        &self,
        current_product_code: Option<&str>,
        operator_code: Option<&str>,
    ) -> Result<Vec<Product>, PcError> {
        let catalog = self.catalog().await?;
        let current = current_product_code.filter(|c| !c.is_empty());
        let operator = operator_code
            .filter(|o| !o.is_empty())
            .map(str::to_owned)
            .or_else(|| current.and_then(|c| catalog.iter().find(|p| p.product_code == c)).map(|p| p.operator_code.clone()));
        Ok(catalog
            .into_iter()
            .filter(|p| p.on_sale)
            .filter(|p| operator.as_deref().is_none_or(|o| p.operator_code == o))
            .filter(|p| current.is_none_or(|c| p.product_code != c))
            .collect())
    }

    /// The line as KOS has it now, if it is the caller's (never from the cache: a change
    /// decision is made on fresh data).
    pub(crate) async fn own_line_fresh(&self, caller: &Caller, line_number: &str) -> Result<Option<LineInfo>, KosFailure> {
        match self.kos.line(line_number).await {
            Ok(line) if line.portal_user_id == caller.username => Ok(Some(line)),
            Ok(_) | Err(KosFailure::NotFound) => Ok(None),
            Err(other) => Err(other),
        }
    }

    /// The pre-checks for a line the caller owns.
    pub(crate) async fn run_checks(&self, line: &LineInfo, current: &str, target: &str) -> Result<(Validation, Option<Product>), PcError> {
        let target_product = self.catalog().await?.into_iter().find(|p| p.product_code == target);
        Ok((checks::validate(line, current, target, target_product.as_ref()), target_product))
    }

    /// validateProductChange: 200 with every check's outcome; 400 for a line that is not the
    /// caller's (or unknown).
    pub async fn validate(&self, caller: &Caller, line_number: &str, current: &str, target: &str) -> Result<Validation, PcError> {
        Self::check_line_number(line_number)?;
        let line = self
            .own_line_fresh(caller, line_number)
            .await
            .map_err(read_failure)?
            .ok_or_else(|| PcError::InvalidRequest(format!("조회할 수 없는 회선입니다 ({line_number})")))?;
        Ok(self.run_checks(&line, current, target).await?.0)
    }
}
