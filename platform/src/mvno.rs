//! Wiring of the MVNO services: the KOS simulator and the Product-Change Service.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use sea_orm_migration::MigratorTrait;

use contracts::Contracts;
use contracts::auth::TokenVerifier;
use kos_service::{FaultSettings, Faults, KosApi, KosService, KosSettings, Migrator as KosMigrator};
use product_change_service::{
    KosClient, KosClientSettings, Migrator as ProductChangeMigrator, ProductChangeApi, ProductChangeService,
    ProductChangeSettings,
};
use service_core::jobs::{Jobs, Worker};
use service_core::storage::{connect_cache, connect_database};

use crate::app::StartError;
use crate::config::Config;

/// The KOS simulator on its own tables, seeded on first start, with the configured faults.
pub async fn build_kos(config: &Config) -> Result<KosApi, StartError> {
    let db = connect_database(&config.db_config(), "kos_service").await?;
    KosMigrator::up(&db, None).await?;
    let faults = Faults::new(FaultSettings {
        error_rate: config.kos.error_rate,
        latency: Duration::from_millis(config.kos.latency_ms),
        down: config.kos.down,
    });
    let settings = KosSettings { deferred_completion: Duration::from_millis(config.kos.deferred_completion_ms) };
    let service = KosService::new(db, faults, settings);
    service.seed_if_empty().await?;
    tracing::info!(
        error_rate = config.kos.error_rate,
        latency_ms = config.kos.latency_ms,
        down = config.kos.down,
        "KOS simulator (built-in stand-in for the operator's KOS) ready"
    );
    Ok(KosApi::new(Arc::new(service)))
}

/// The Product-Change Service and its workers (poll job, history subscriber).
pub async fn build_product_change(
    config: &Config,
    backends: &HashMap<String, String>,
    verifier: TokenVerifier,
    contracts: Arc<Contracts>,
) -> Result<(ProductChangeApi, Vec<Worker>), StartError> {
    let failed = |e: String| StartError::ProductChange(e);
    let db = connect_database(&config.db_config(), "product_change_service").await?;
    ProductChangeMigrator::up(&db, None).await?;
    let cache = connect_cache(config.redis_url.as_deref(), &config.cache_prefix).await?;
    let prefix = format!("{}svc:product_change", config.cache_prefix);
    let jobs = Jobs::connect(&db, config.redis_url.as_deref(), &prefix).await.map_err(|e| failed(e.to_string()))?;
    let kos_uri = backends
        .get("kos.v1")
        .ok_or_else(|| failed("KOS_GRPC_URL is not set (and no KOS runs in this process)".into()))?;
    let kos_settings = KosClientSettings {
        call_timeout: config.product_change.kos_call_timeout_ms.map(Duration::from_millis),
        breaker_open: config.product_change.kos_breaker_open_ms.map(Duration::from_millis),
    };
    let kos = KosClient::connect(kos_uri, &kos_settings).map_err(|e| failed(format!("KOS client: {e}")))?;
    let audience = contracts
        .api("product_change")
        .map(|api| api.options.token_audience.clone())
        .ok_or_else(|| failed("no product_change API in the contracts".into()))?;
    let settings =
        ProductChangeSettings { sync_budget: Duration::from_millis(config.product_change.sync_budget_ms), ..Default::default() };
    tracing::info!(kos = %kos_uri, jobs = jobs.backend_name(), sync_budget_ms = config.product_change.sync_budget_ms, "product-change service ready");
    let service = Arc::new(ProductChangeService::new(db, cache, kos, jobs, verifier, audience, settings));
    let workers = service.workers().await.map_err(|e| failed(e.to_string()))?;
    Ok((ProductChangeApi::new(service, contracts), workers))
}
