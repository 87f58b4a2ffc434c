//! The tonic side of KOS: proto ⇄ records, fault injection before every call but the admin ones.

use std::sync::Arc;
use std::time::Duration;

use tonic::{Request, Response, Status};

use contracts::proto::kos::v1 as pb;
use contracts::proto::kos::v1::kos_service_server::KosService as KosRpc;

use crate::faults::FaultSettings;
use crate::orders::KosService;
use crate::store::{lines, orders, products};

#[derive(Clone)]
pub struct KosApi {
    service: Arc<KosService>,
}

impl KosApi {
    pub fn new(service: Arc<KosService>) -> Self {
        Self { service }
    }

    pub fn into_server(self) -> pb::kos_service_server::KosServiceServer<Self> {
        pb::kos_service_server::KosServiceServer::new(self)
    }
}

fn line_state(state: &str) -> pb::LineState {
    match state {
        "ACTIVE" => pb::LineState::LineActive,
        "SUSPENDED" => pb::LineState::LineSuspended,
        "TERMINATED" => pb::LineState::LineTerminated,
        _ => pb::LineState::Unspecified,
    }
}

fn line(model: lines::Model) -> pb::Line {
    pb::Line {
        state: line_state(&model.state) as i32,
        line_number: model.line_number,
        customer_id: model.customer_id,
        customer_name: model.customer_name,
        portal_user_id: model.portal_user_id,
        operator_code: model.operator_code,
        product_code: model.product_code,
        contract_date: model.contract_date,
        term_end_date: model.term_end_date,
        early_termination_fee: model.early_termination_fee,
    }
}

fn product(model: products::Model) -> pb::Product {
    pb::Product {
        product_code: model.product_code,
        product_name: model.product_name,
        operator_code: model.operator_code,
        monthly_fee: model.monthly_fee,
        data_allowance: model.data_allowance,
        voice_allowance: model.voice_allowance,
        sms_allowance: model.sms_allowance,
        on_sale: model.on_sale,
        deferred: model.deferred,
    }
}

fn order(model: orders::Model) -> pb::ChangeOrder {
    let state = match model.state.as_str() {
        "ACCEPTED" => pb::OrderState::OrderAccepted,
        "COMPLETED" => pb::OrderState::OrderCompleted,
        "REJECTED" => pb::OrderState::OrderRejected,
        _ => pb::OrderState::Unspecified,
    };
    pb::ChangeOrder {
        state: state as i32,
        estimated_completion_at_ms: model.complete_at_ms,
        request_id: model.request_id,
        order_id: model.order_id,
        line_number: model.line_number,
        from_product_code: model.from_product_code,
        to_product_code: model.to_product_code,
        result_code: model.result_code,
        result_message: model.result_message,
        accepted_at_ms: model.accepted_at_ms,
        completed_at_ms: model.completed_at_ms,
    }
}

fn faults(settings: FaultSettings) -> pb::Faults {
    pb::Faults {
        error_rate: settings.error_rate,
        latency_ms: u32::try_from(settings.latency.as_millis()).unwrap_or(u32::MAX),
        down: settings.down,
    }
}

#[tonic::async_trait]
impl KosRpc for KosApi {
    async fn get_line(&self, request: Request<pb::GetLineRequest>) -> Result<Response<pb::Line>, Status> {
        self.service.inject_faults().await?;
        let found = self.service.line(&request.into_inner().line_number).await?;
        Ok(Response::new(line(found)))
    }

    async fn list_customer_lines(
        &self,
        request: Request<pb::ListCustomerLinesRequest>,
    ) -> Result<Response<pb::ListCustomerLinesResponse>, Status> {
        self.service.inject_faults().await?;
        let found = self.service.customer_lines(&request.into_inner().portal_user_id).await?;
        Ok(Response::new(pb::ListCustomerLinesResponse { lines: found.into_iter().map(line).collect() }))
    }

    async fn list_products(
        &self,
        request: Request<pb::ListProductsRequest>,
    ) -> Result<Response<pb::ListProductsResponse>, Status> {
        self.service.inject_faults().await?;
        let body = request.into_inner();
        let found = self.service.products(&body.operator_code, body.include_retired).await?;
        Ok(Response::new(pb::ListProductsResponse { products: found.into_iter().map(product).collect() }))
    }

    async fn get_product(&self, request: Request<pb::GetProductRequest>) -> Result<Response<pb::Product>, Status> {
        self.service.inject_faults().await?;
        let found = self.service.product(&request.into_inner().product_code).await?;
        Ok(Response::new(product(found)))
    }

    async fn change_product(
        &self,
        request: Request<pb::ChangeProductRequest>,
    ) -> Result<Response<pb::ChangeOrder>, Status> {
        let body = request.into_inner();
        let service = self.service.clone();
        // A back office finishes what it started even when the caller stops waiting: the order
        // runs on its own task, and the caller learns the outcome from GetChangeOrder.
        let work = tokio::spawn(async move {
            service.inject_faults().await?;
            service
                .change_product(&body.request_id, &body.line_number, &body.current_product_code, &body.target_product_code)
                .await
                .map_err(Status::from)
        });
        let done = work.await.map_err(|_| Status::internal("KOS order task failed"))??;
        Ok(Response::new(order(done)))
    }

    async fn get_change_order(
        &self,
        request: Request<pb::GetChangeOrderRequest>,
    ) -> Result<Response<pb::ChangeOrder>, Status> {
        self.service.inject_faults().await?;
        let found = self.service.order(&request.into_inner().request_id).await?;
        Ok(Response::new(order(found)))
    }

    async fn get_faults(&self, _request: Request<pb::GetFaultsRequest>) -> Result<Response<pb::Faults>, Status> {
        Ok(Response::new(faults(self.service.faults().get())))
    }

    async fn set_faults(&self, request: Request<pb::Faults>) -> Result<Response<pb::Faults>, Status> {
        let body = request.into_inner();
        let settings = FaultSettings {
            error_rate: body.error_rate,
            latency: Duration::from_millis(u64::from(body.latency_ms)),
            down: body.down,
        };
        Ok(Response::new(faults(self.service.faults().set(settings))))
    }
}
