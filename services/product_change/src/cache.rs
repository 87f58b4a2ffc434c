//! Cached KOS reads. KOS is slow; the spec caches line info for 4 hours and products for 24.
//!
//! A change makes cached line data stale, and a read racing a change could put stale data
//! back right after the change deleted it. So an entry carries the time its KOS read began,
//! and is used only while the line's latest change request (in our own database, the
//! source of truth) is finished and older than that read. Completed changes also delete the
//! entries outright. The cache is an accelerator only: when it fails, reads go to KOS.

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::errors::PcError;
use crate::kos::KosFailure;
use crate::model::{Caller, LineInfo, Product};
use crate::service::{ProductChangeService, read_failure};
use crate::store::change_requests;

#[derive(Serialize, Deserialize)]
struct Entry<T> {
    fetched_at_ms: i64,
    value: T,
}

pub(crate) fn line_key(line_number: &str) -> String {
    format!("pc:line:{line_number}")
}

pub(crate) fn menu_key(username: &str) -> String {
    format!("pc:menu:{username}")
}

const CATALOG_KEY: &str = "pc:catalog";

pub(crate) fn is_terminal(status: &str) -> bool {
    status == "COMPLETED" || status == "FAILED"
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

impl ProductChangeService {
    async fn cache_get<T: DeserializeOwned>(&self, key: &str) -> Option<Entry<T>> {
        match self.cache.get(key).await {
            Ok(Some(text)) => serde_json::from_str(&text).ok(),
            Ok(None) => None,
            Err(error) => {
                tracing::warn!(%error, "product-change: cache read failed; asking KOS");
                None
            }
        }
    }

    async fn cache_put<T: Serialize>(&self, key: &str, fetched_at_ms: i64, value: &T, ttl: std::time::Duration) {
        let Ok(text) = serde_json::to_string(&Entry { fetched_at_ms, value }) else { return };
        if let Err(error) = self.cache.set(key, &text, ttl).await {
            tracing::warn!(%error, "product-change: cache write failed");
        }
    }

    /// Deletes what the cache holds about a line and its owner's menu.
    pub(crate) async fn invalidate(&self, line_number: &str, username: &str) {
        for key in [line_key(line_number), menu_key(username)] {
            if let Err(error) = self.cache.delete(&key).await {
                tracing::warn!(%error, key, "product-change: cache delete failed (entries are checked against changes anyway)");
            }
        }
    }

    /// True when none of these lines has a change in flight or one newer than `since_ms`.
    async fn lines_unchanged_since(&self, lines: &[String], since_ms: i64) -> Result<bool, PcError> {
        if lines.is_empty() {
            return Ok(true);
        }
        let latest = change_requests::Entity::find()
            .filter(change_requests::Column::LineNumber.is_in(lines.iter().cloned()))
            .order_by_desc(change_requests::Column::UpdatedAtMs)
            .one(&self.db)
            .await?;
        Ok(latest.is_none_or(|row| is_terminal(&row.status) && row.updated_at_ms < since_ms))
    }

    /// One line from KOS, through the 4-hour cache; None when KOS has no such line.
    pub(crate) async fn cached_line(&self, line_number: &str) -> Result<Option<LineInfo>, PcError> {
        let key = line_key(line_number);
        if let Some(entry) = self.cache_get::<LineInfo>(&key).await {
            if self.lines_unchanged_since(&[line_number.to_owned()], entry.fetched_at_ms).await? {
                return Ok(Some(entry.value));
            }
        }
        let fetched_at = now_ms();
        match self.kos.line(line_number).await {
            Ok(line) => {
                self.cache_put(&key, fetched_at, &line, self.settings.line_ttl).await;
                Ok(Some(line))
            }
            Err(KosFailure::NotFound) => Ok(None),
            Err(other) => Err(read_failure(other)),
        }
    }

    /// The caller's lines from KOS, through the menu cache.
    pub(crate) async fn cached_customer_lines(&self, caller: &Caller) -> Result<Vec<LineInfo>, PcError> {
        let key = menu_key(&caller.username);
        if let Some(entry) = self.cache_get::<Vec<LineInfo>>(&key).await {
            let numbers: Vec<String> = entry.value.iter().map(|l| l.line_number.clone()).collect();
            if self.lines_unchanged_since(&numbers, entry.fetched_at_ms).await? {
                return Ok(entry.value);
            }
        }
        let fetched_at = now_ms();
        let lines = self.kos.customer_lines(&caller.username).await.map_err(read_failure)?;
        self.cache_put(&key, fetched_at, &lines, self.settings.menu_ttl).await;
        Ok(lines)
    }

    /// The product catalog (retired products included), through the 24-hour cache. Changes
    /// never alter the catalog, so it needs no change check.
    pub(crate) async fn catalog(&self) -> Result<Vec<Product>, PcError> {
        if let Some(entry) = self.cache_get::<Vec<Product>>(CATALOG_KEY).await {
            return Ok(entry.value);
        }
        let products = self.kos.catalog().await.map_err(read_failure)?;
        self.cache_put(CATALOG_KEY, now_ms(), &products, self.settings.products_ttl).await;
        Ok(products)
    }
}
