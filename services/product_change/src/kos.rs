//! The KOS adapter: the generated gRPC client behind the core's resilience (per-call timeout,
//! retries for reads only, one circuit breaker for everything KOS). `KOS_GRPC_URL` points it
//! at a real KOS gateway; by default it talks to the platform's KOS simulator.

use std::time::Duration;

use tonic::transport::{Channel, Endpoint};

use contracts::proto::kos::v1 as pb;
use contracts::proto::kos::v1::kos_service_client::KosServiceClient;
use service_core::resilience::{
    BreakerSnapshot, CallError, CallOptions, Classify, ErrorClass, Resilience, ResilienceSettings,
};

use crate::model::{LineInfo, LineStatus, Product};

/// One failed KOS call, as the gRPC status said it.
#[derive(Debug, thiserror::Error)]
pub enum KosCallError {
    #[error("not found")]
    NotFound,
    /// Not processed: KOS (or the way to it) is unavailable.
    #[error("unavailable: {0}")]
    Unavailable(String),
    #[error("{0}")]
    Other(String),
}

impl Classify for KosCallError {
    fn classify(&self) -> ErrorClass {
        match self {
            // KOS answered correctly: a missing line says nothing about its health.
            KosCallError::NotFound => ErrorClass::Benign,
            KosCallError::Unavailable(_) => ErrorClass::Transient,
            KosCallError::Other(_) => ErrorClass::Permanent,
        }
    }
}

impl From<tonic::Status> for KosCallError {
    fn from(status: tonic::Status) -> Self {
        use tonic::Code;
        match status.code() {
            Code::NotFound => KosCallError::NotFound,
            Code::Unavailable | Code::ResourceExhausted | Code::Aborted => {
                KosCallError::Unavailable(status.message().to_owned())
            }
            _ => KosCallError::Other(format!("{:?}: {}", status.code(), status.message())),
        }
    }
}

/// What the domain learns from a failed KOS call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KosFailure {
    NotFound,
    /// The breaker refused the call without trying.
    Open { retry_after_secs: u64 },
    /// KOS said it is unavailable, or could not be reached: the call was not processed.
    Unavailable(String),
    /// No answer in time: KOS may or may not have processed the call.
    TimedOut,
    /// Any other error: the outcome of a write is unknown.
    Failed(String),
}

impl From<CallError<KosCallError>> for KosFailure {
    fn from(error: CallError<KosCallError>) -> Self {
        match &error {
            CallError::Open { .. } => KosFailure::Open { retry_after_secs: error.retry_after_secs().unwrap_or(1) },
            CallError::Timeout { .. } | CallError::DeadlineExceeded => KosFailure::TimedOut,
            CallError::Failed(KosCallError::NotFound) => KosFailure::NotFound,
            CallError::Failed(KosCallError::Unavailable(reason)) => KosFailure::Unavailable(reason.clone()),
            CallError::Failed(KosCallError::Other(reason)) => KosFailure::Failed(reason.clone()),
        }
    }
}

/// Resilience settings for KOS: the core's defaults, with overrides from configuration.
#[derive(Debug, Clone, Default)]
pub struct KosClientSettings {
    pub call_timeout: Option<Duration>,
    pub breaker_open: Option<Duration>,
}

#[derive(Clone)]
pub struct KosClient {
    client: KosServiceClient<Channel>,
    resilience: Resilience,
}

impl KosClient {
    /// Connects lazily: KOS may come up after this service.
    pub fn connect(uri: &str, settings: &KosClientSettings) -> Result<Self, tonic::transport::Error> {
        let channel = Endpoint::from_shared(uri.to_owned())?.connect_timeout(Duration::from_secs(2)).connect_lazy();
        let mut resilience = ResilienceSettings::kos();
        if let Some(timeout) = settings.call_timeout {
            resilience.call_timeout = timeout;
        }
        if let Some(open) = settings.breaker_open {
            resilience.breaker.open_duration = open;
        }
        Ok(Self { client: KosServiceClient::new(channel), resilience: Resilience::new("kos", resilience) })
    }

    pub fn breaker(&self) -> BreakerSnapshot {
        self.resilience.snapshot()
    }

    pub async fn line(&self, line_number: &str) -> Result<LineInfo, KosFailure> {
        let request = pb::GetLineRequest { line_number: line_number.to_owned() };
        let line = self
            .resilience
            .call(true, || {
                let mut client = self.client.clone();
                let request = request.clone();
                async move { client.get_line(request).await.map(tonic::Response::into_inner).map_err(KosCallError::from) }
            })
            .await?;
        Ok(line_info(line))
    }

    pub async fn customer_lines(&self, portal_user_id: &str) -> Result<Vec<LineInfo>, KosFailure> {
        let request = pb::ListCustomerLinesRequest { portal_user_id: portal_user_id.to_owned() };
        let answer = self
            .resilience
            .call(true, || {
                let mut client = self.client.clone();
                let request = request.clone();
                async move {
                    client.list_customer_lines(request).await.map(tonic::Response::into_inner).map_err(KosCallError::from)
                }
            })
            .await?;
        Ok(answer.lines.into_iter().map(line_info).collect())
    }

    /// The whole catalog, retired products included.
    pub async fn catalog(&self) -> Result<Vec<Product>, KosFailure> {
        let request = pb::ListProductsRequest { operator_code: String::new(), include_retired: true };
        let answer = self
            .resilience
            .call(true, || {
                let mut client = self.client.clone();
                let request = request.clone();
                async move { client.list_products(request).await.map(tonic::Response::into_inner).map_err(KosCallError::from) }
            })
            .await?;
        Ok(answer.products.into_iter().map(product).collect())
    }

    /// Submits a change; tried once (a write), cut at `deadline` when given.
    pub async fn change(
        &self,
        request: pb::ChangeProductRequest,
        deadline: Option<tokio::time::Instant>,
    ) -> Result<pb::ChangeOrder, KosFailure> {
        let mut options = CallOptions::once();
        if let Some(deadline) = deadline {
            options = options.with_deadline(deadline);
        }
        let answer = self
            .resilience
            .call_with(options, KosCallError::classify, || {
                let mut client = self.client.clone();
                let request = request.clone();
                async move { client.change_product(request).await.map(tonic::Response::into_inner).map_err(KosCallError::from) }
            })
            .await?;
        Ok(answer)
    }

    pub async fn order(&self, request_id: &str) -> Result<pb::ChangeOrder, KosFailure> {
        let request = pb::GetChangeOrderRequest { request_id: request_id.to_owned() };
        let answer = self
            .resilience
            .call(true, || {
                let mut client = self.client.clone();
                let request = request.clone();
                async move {
                    client.get_change_order(request).await.map(tonic::Response::into_inner).map_err(KosCallError::from)
                }
            })
            .await?;
        Ok(answer)
    }
}

fn line_info(line: pb::Line) -> LineInfo {
    let status = match pb::LineState::try_from(line.state) {
        Ok(pb::LineState::LineActive) => LineStatus::Active,
        Ok(pb::LineState::LineSuspended) => LineStatus::Suspended,
        _ => LineStatus::Terminated,
    };
    LineInfo {
        line_number: line.line_number,
        customer_id: line.customer_id,
        customer_name: line.customer_name,
        portal_user_id: line.portal_user_id,
        operator_code: line.operator_code,
        product_code: line.product_code,
        status,
        contract_date: line.contract_date,
        term_end_date: line.term_end_date,
        early_termination_fee: line.early_termination_fee,
    }
}

fn product(product: pb::Product) -> Product {
    Product {
        product_code: product.product_code,
        product_name: product.product_name,
        operator_code: product.operator_code,
        monthly_fee: product.monthly_fee,
        data_allowance: product.data_allowance,
        voice_allowance: product.voice_allowance,
        sms_allowance: product.sms_allowance,
        on_sale: product.on_sale,
        deferred: product.deferred,
    }
}
