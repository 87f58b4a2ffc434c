//! The tonic side of the Product-Change Service: proto ⇄ domain, nothing else.

use std::sync::Arc;

use tonic::{Request, Response, Status};

use contracts::Contracts;
use contracts::proto::productchange::v1 as pb;
use contracts::proto::productchange::v1::product_change_service_server::ProductChangeService as ProductChangeRpc;
use service_core::grpc::{authenticate, check_contract};

use crate::changes::{ChangeAnswer, ChangeCommand};
use crate::checks::{CheckType, Validation};
use crate::errors::PcError;
use crate::history::HistoryQuery;
use crate::model::{Caller, LineStatus, Product};
use crate::service::ProductChangeService;
use crate::store::{change_history, change_requests};

#[derive(Clone)]
pub struct ProductChangeApi {
    service: Arc<ProductChangeService>,
    contracts: Arc<Contracts>,
}

impl ProductChangeApi {
    pub fn new(service: Arc<ProductChangeService>, contracts: Arc<Contracts>) -> Self {
        Self { service, contracts }
    }

    pub fn into_server(self) -> pb::product_change_service_server::ProductChangeServiceServer<Self> {
        pb::product_change_service_server::ProductChangeServiceServer::new(self)
    }

    /// The caller, from a User Service access token for the audience the contract declares.
    fn caller<T>(&self, request: &Request<T>) -> Result<Caller, PcError> {
        let claims = authenticate(request, self.service.verifier(), self.service.audience())
            .map_err(|_| PcError::Unauthorized)?;
        Ok(ProductChangeService::caller(&claims))
    }

    /// Direct gRPC callers skip the gateway: the contract's field rules are checked here too.
    fn check<M: prost::Message + prost::Name>(&self, message: &M) -> Result<(), PcError> {
        check_contract(&self.contracts, message).map_err(|violation| PcError::InvalidRequest(violation.to_string()))
    }
}

fn timestamp(ms: i64) -> prost_types::Timestamp {
    prost_types::Timestamp { seconds: ms.div_euclid(1000), nanos: (ms.rem_euclid(1000) * 1_000_000) as i32 }
}

fn optional(text: &str) -> Option<String> {
    (!text.is_empty()).then(|| text.to_owned())
}

fn product_info(product: &Product) -> pb::ProductInfo {
    pb::ProductInfo {
        product_code: product.product_code.clone(),
        product_name: product.product_name.clone(),
        monthly_fee: product.monthly_fee,
        data_allowance: optional(&product.data_allowance),
        voice_allowance: optional(&product.voice_allowance),
        sms_allowance: optional(&product.sms_allowance),
        is_available: product.on_sale,
        operator_code: optional(&product.operator_code),
    }
}

fn process_status(status: &str) -> pb::ProcessStatus {
    match status {
        "PENDING" => pb::ProcessStatus::Pending,
        "PROCESSING" => pb::ProcessStatus::Processing,
        "COMPLETED" => pb::ProcessStatus::Completed,
        _ => pb::ProcessStatus::Failed,
    }
}

fn validation(validation: Validation) -> pb::ProductChangeValidationResponse {
    let details = validation
        .details
        .iter()
        .map(|detail| pb::ValidationDetail {
            check_type: Some(match detail.check {
                CheckType::ProductAvailable => pb::CheckType::ProductAvailable,
                CheckType::OperatorMatch => pb::CheckType::OperatorMatch,
                CheckType::LineStatus => pb::CheckType::LineStatus,
            } as i32),
            result: Some(if detail.passed { pb::CheckResult::Pass } else { pb::CheckResult::Fail } as i32),
            message: Some(detail.message.clone()),
        })
        .collect();
    let result = if validation.passed() { pb::ValidationResult::Success } else { pb::ValidationResult::Failure };
    pb::ProductChangeValidationResponse {
        validation_result: result as i32,
        validation_details: details,
        failure_reason: validation.failure.map(|f| f.reason),
    }
}

fn change_response(answer: ChangeAnswer) -> Response<pb::ProductChangeResponse> {
    match answer {
        ChangeAnswer::Processed { request, product } => {
            let completed = request.status == "COMPLETED";
            Response::new(pb::ProductChangeResponse {
                request_id: request.request_id,
                process_status: process_status(&request.status) as i32,
                result_code: Some(request.result_code.unwrap_or_else(|| "FAILED".into())),
                result_message: request.result_message,
                changed_product: product.filter(|_| completed).as_ref().map(product_info),
                processed_at: request.processed_at_ms.map(timestamp),
                estimated_completion_time: None,
                message: None,
            })
        }
        ChangeAnswer::Accepted { request, estimated_completion_ms } => {
            let mut response = Response::new(pb::ProductChangeResponse {
                request_id: request.request_id,
                process_status: process_status(&request.status) as i32,
                result_code: None,
                result_message: None,
                changed_product: None,
                processed_at: None,
                estimated_completion_time: estimated_completion_ms.map(timestamp),
                message: Some("상품 변경 요청이 접수되었습니다. 처리 결과는 요청 ID로 조회할 수 있습니다".into()),
            });
            response.metadata_mut().insert("x-http-status", tonic::metadata::MetadataValue::from_static("202"));
            response
        }
    }
}

fn result_response(request: change_requests::Model) -> pb::ProductChangeResultResponse {
    pb::ProductChangeResultResponse {
        process_status: process_status(&request.status) as i32,
        request_id: request.request_id,
        line_number: Some(request.line_number),
        current_product_code: Some(request.current_product_code),
        target_product_code: Some(request.target_product_code),
        requested_at: Some(timestamp(request.requested_at_ms)),
        processed_at: request.processed_at_ms.map(timestamp),
        result_code: request.result_code,
        result_message: request.result_message,
        failure_reason: request.failure_reason,
    }
}

fn history_item(row: change_history::Model) -> pb::ProductChangeHistoryItem {
    pb::ProductChangeHistoryItem {
        process_status: process_status(&row.status) as i32,
        request_id: row.request_id,
        line_number: row.line_number,
        current_product_code: Some(row.current_product_code),
        current_product_name: Some(row.current_product_name),
        target_product_code: Some(row.target_product_code),
        target_product_name: Some(row.target_product_name),
        requested_at: Some(timestamp(row.requested_at_ms)),
        processed_at: row.processed_at_ms.map(timestamp),
        result_message: row.result_message,
    }
}

#[tonic::async_trait]
impl ProductChangeRpc for ProductChangeApi {
    async fn get_product_menu(
        &self,
        request: Request<pb::GetProductMenuRequest>,
    ) -> Result<Response<pb::ProductMenuResponse>, Status> {
        let caller = self.caller(&request)?;
        let menu = self.service.menu(&caller).await?;
        let active = menu.line.status == LineStatus::Active;
        let item = |id: &str, name: &str, available: bool| pb::MenuItem {
            menu_id: Some(id.into()),
            menu_name: Some(name.into()),
            available: Some(available),
        };
        Ok(Response::new(pb::ProductMenuResponse {
            customer_id: menu.line.customer_id.clone(),
            line_number: menu.line.line_number.clone(),
            current_product: menu.product.as_ref().map(product_info),
            menu_items: vec![
                item("MENU001", "상품변경", active),
                item("MENU002", "변경 가능 상품 조회", true),
                item("MENU003", "상품변경 이력 조회", true),
            ],
        }))
    }

    async fn get_customer_info(
        &self,
        request: Request<pb::GetCustomerInfoRequest>,
    ) -> Result<Response<pb::CustomerInfo>, Status> {
        let caller = self.caller(&request)?;
        let body = request.into_inner();
        self.check(&body)?;
        let view = self.service.customer_info(&caller, &body.line_number).await?;
        let line = view.line;
        let status = match line.status {
            LineStatus::Active => pb::LineStatus::Active,
            LineStatus::Suspended => pb::LineStatus::Suspended,
            LineStatus::Terminated => pb::LineStatus::Terminated,
        };
        Ok(Response::new(pb::CustomerInfo {
            customer_id: line.customer_id,
            line_number: line.line_number,
            customer_name: line.customer_name,
            current_product: Some(product_info(&view.product)),
            line_status: status as i32,
            contract_info: Some(pb::ContractInfo {
                contract_date: optional(&line.contract_date),
                term_end_date: optional(&line.term_end_date),
                early_termination_fee: Some(line.early_termination_fee),
            }),
        }))
    }

    async fn get_available_products(
        &self,
        request: Request<pb::GetAvailableProductsRequest>,
    ) -> Result<Response<pb::AvailableProductsResponse>, Status> {
        self.caller(&request)?;
        let body = request.into_inner();
        self.check(&body)?;
        let products = self
            .service
            .available_products(body.current_product_code.as_deref(), body.operator_code.as_deref())
            .await?;
        Ok(Response::new(pb::AvailableProductsResponse {
            total_count: Some(i32::try_from(products.len()).unwrap_or(i32::MAX)),
            products: products.iter().map(product_info).collect(),
        }))
    }

    async fn validate_product_change(
        &self,
        request: Request<pb::ProductChangeValidationRequest>,
    ) -> Result<Response<pb::ProductChangeValidationResponse>, Status> {
        let caller = self.caller(&request)?;
        let body = request.into_inner();
        self.check(&body)?;
        let outcome = self
            .service
            .validate(&caller, &body.line_number, &body.current_product_code, &body.target_product_code)
            .await?;
        Ok(Response::new(validation(outcome)))
    }

    async fn request_product_change(
        &self,
        request: Request<pb::ProductChangeRequest>,
    ) -> Result<Response<pb::ProductChangeResponse>, Status> {
        let caller = self.caller(&request)?;
        let body = request.into_inner();
        self.check(&body)?;
        let command = ChangeCommand {
            line_number: body.line_number,
            current_product_code: body.current_product_code,
            target_product_code: body.target_product_code,
            change_effective_date: body.change_effective_date,
        };
        let answer = self.service.request_change(&caller, command).await?;
        Ok(change_response(answer))
    }

    async fn get_product_change_result(
        &self,
        request: Request<pb::GetProductChangeResultRequest>,
    ) -> Result<Response<pb::ProductChangeResultResponse>, Status> {
        let caller = self.caller(&request)?;
        let body = request.into_inner();
        self.check(&body)?;
        let found = self.service.result(&caller, &body.request_id).await?;
        Ok(Response::new(result_response(found)))
    }

    async fn get_product_change_history(
        &self,
        request: Request<pb::GetProductChangeHistoryRequest>,
    ) -> Result<Response<pb::ProductChangeHistoryResponse>, Status> {
        let caller = self.caller(&request)?;
        let body = request.into_inner();
        self.check(&body)?;
        let query = HistoryQuery {
            line_number: body.line_number,
            start_date: body.start_date,
            end_date: body.end_date,
            page: body.page,
            size: body.size,
        };
        let page = self.service.history(&caller, query).await?;
        let total_pages = page.total_pages();
        Ok(Response::new(pb::ProductChangeHistoryResponse {
            pagination: Some(pb::PaginationInfo {
                page: page.page,
                size: page.size,
                total_elements: i64::try_from(page.total).unwrap_or(i64::MAX),
                total_pages,
                has_next: Some(page.page < total_pages),
                has_previous: Some(page.page > 1),
            }),
            history: page.items.into_iter().map(history_item).collect(),
        }))
    }
}
