//! Run-time fault injection: what makes KOS behave like a slow, flaky back office on demand.
//! Set at start from configuration and changed at run time with the SetFaults RPC.

use std::sync::RwLock;
use std::time::Duration;

use rand::Rng;

#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct FaultSettings {
    /// Share of calls answered UNAVAILABLE (0.0–1.0).
    pub error_rate: f64,
    /// Added to every call before it is handled.
    pub latency: Duration,
    /// Every call answered UNAVAILABLE.
    pub down: bool,
}

#[derive(Debug, Default)]
pub struct Faults {
    settings: RwLock<FaultSettings>,
}

impl Faults {
    pub fn new(settings: FaultSettings) -> Self {
        Self { settings: RwLock::new(settings.clamped()) }
    }

    pub fn get(&self) -> FaultSettings {
        self.settings.read().map(|s| *s).unwrap_or_default()
    }

    pub fn set(&self, settings: FaultSettings) -> FaultSettings {
        let settings = settings.clamped();
        if let Ok(mut current) = self.settings.write() {
            *current = settings;
        }
        tracing::info!(error_rate = settings.error_rate, latency_ms = settings.latency.as_millis() as u64, down = settings.down, "kos: faults set");
        settings
    }

    /// Runs before every faultable call: waits the injected latency, then fails the call when
    /// KOS is down or the dice say so.
    pub async fn inject(&self) -> Result<(), tonic::Status> {
        let settings = self.get();
        if !settings.latency.is_zero() {
            tokio::time::sleep(settings.latency).await;
        }
        if settings.down {
            return Err(tonic::Status::unavailable("KOS is down (fault injection)"));
        }
        if settings.error_rate > 0.0 && rand::thread_rng().gen_bool(settings.error_rate) {
            return Err(tonic::Status::unavailable("KOS failed this call (fault injection)"));
        }
        Ok(())
    }
}

impl FaultSettings {
    fn clamped(self) -> Self {
        let error_rate = if self.error_rate.is_finite() { self.error_rate.clamp(0.0, 1.0) } else { 0.0 };
        Self { error_rate, ..self }
    }
}
