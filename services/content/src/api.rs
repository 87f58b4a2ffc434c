//! The tonic side of the Content Service: proto ⇄ domain, nothing else.

use std::sync::Arc;

use tonic::{Request, Response, Status};

use contracts::Contracts;
use contracts::auth::TokenVerifier;
use contracts::proto::content::v1 as pb;
use contracts::proto::content::v1::content_service_server::ContentService as ContentRpc;
use contracts::rpc_error::ServiceError;
use service_core::grpc::{authenticate, check_contract};
use service_core::jobs::JobState;

use crate::domain::{ContentService, Image, JobView};
use crate::errors::ContentError;
use crate::render::{Platform, RenderInput, Style};

/// Tokens of the meeting-minutes User Service (the contract's audience).
pub const AUDIENCE: &str = "meeting";

#[derive(Clone)]
pub struct ContentApi {
    service: Arc<ContentService>,
    contracts: Arc<Contracts>,
    verifier: TokenVerifier,
}

impl ContentApi {
    pub fn new(service: Arc<ContentService>, contracts: Arc<Contracts>, verifier: TokenVerifier) -> Self {
        Self { service, contracts, verifier }
    }

    pub fn into_server(self) -> pb::content_service_server::ContentServiceServer<Self> {
        pb::content_service_server::ContentServiceServer::new(self)
    }

    /// The caller's user id, from a verified access token.
    fn caller<T>(&self, request: &Request<T>) -> Result<String, Status> {
        authenticate(request, &self.verifier, AUDIENCE).map(|claims| claims.sub).map_err(|_| {
            ServiceError::new(401, "UNAUTHORIZED", "인증이 필요합니다.").into()
        })
    }

    fn check<M: prost::Message + prost::Name>(&self, message: &M) -> Result<(), Status> {
        check_contract(&self.contracts, message).map_err(|v| ContentError::BadRequest(v.to_string()).into())
    }
}

fn timestamp(time: chrono::DateTime<chrono::Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp { seconds: time.timestamp(), nanos: 0 }
}

fn style_to_pb(style: Style) -> pb::ImageStyle {
    match style {
        Style::Simple => pb::ImageStyle::Simple,
        Style::Fancy => pb::ImageStyle::Fancy,
        Style::Trendy => pb::ImageStyle::Trendy,
    }
}

fn style_from_pb(value: i32) -> Option<Style> {
    match pb::ImageStyle::try_from(value).ok()? {
        pb::ImageStyle::Simple => Some(Style::Simple),
        pb::ImageStyle::Fancy => Some(Style::Fancy),
        pb::ImageStyle::Trendy => Some(Style::Trendy),
        pb::ImageStyle::Unspecified => None,
    }
}

fn platform_to_pb(platform: Platform) -> pb::Platform {
    match platform {
        Platform::Instagram => pb::Platform::Instagram,
        Platform::NaverBlog => pb::Platform::NaverBlog,
        Platform::KakaoChannel => pb::Platform::KakaoChannel,
    }
}

fn platform_from_pb(value: i32) -> Option<Platform> {
    match pb::Platform::try_from(value).ok()? {
        pb::Platform::Instagram => Some(Platform::Instagram),
        pb::Platform::NaverBlog => Some(Platform::NaverBlog),
        pb::Platform::KakaoChannel => Some(Platform::KakaoChannel),
        pb::Platform::Unspecified => None,
    }
}

fn size(image: &Image) -> Option<pb::ImageSize> {
    Some(pb::ImageSize { width: image.width, height: image.height })
}

fn stored(image: Image) -> pb::StoredImage {
    pb::StoredImage {
        image_id: Some(image.image_id.clone()),
        style: style_to_pb(image.style) as i32,
        platform: platform_to_pb(image.platform) as i32,
        size: size(&image),
        created_at: Some(timestamp(image.created_at)),
        url: image.url,
    }
}

fn accepted(job_id: String, event_draft_id: String) -> pb::ImageGenerationAcceptedResponse {
    pb::ImageGenerationAcceptedResponse {
        job_id,
        event_draft_id,
        status: pb::image_generation_accepted_response::AcceptedStatus::Pending as i32,
        estimated_completion_time: Some(5),
        message: "이미지 생성 요청이 접수되었습니다. jobId로 결과를 조회하세요.".into(),
    }
}

fn status_response(job_id: String, view: JobView) -> pb::ImageGenerationStatusResponse {
    let mut response = pb::ImageGenerationStatusResponse { job_id, ..Default::default() };
    match view.state {
        JobState::Pending => {
            response.status = pb::JobStatus::Pending as i32;
            response.message = "이미지 생성 대기 중입니다.".into();
            response.estimated_completion_time = Some(5);
        }
        JobState::Processing => {
            response.status = pb::JobStatus::Processing as i32;
            response.message = "AI가 이벤트에 어울리는 이미지를 생성하고 있어요...".into();
            response.estimated_completion_time = Some(3);
        }
        JobState::Completed => {
            response.status = pb::JobStatus::Completed as i32;
            let outcome = view.outcome;
            let from_cache = outcome.as_ref().is_some_and(|o| o.from_cache);
            response.message = if from_cache { "이미지 생성이 완료되었습니다. (캐시)" } else { "이미지 생성이 완료되었습니다." }.into();
            response.from_cache = Some(from_cache);
            response.completed_at = Some(timestamp(outcome.as_ref().map_or(view.updated_at, |o| o.completed_at)));
            response.images = outcome
                .map(|o| o.images)
                .unwrap_or_default()
                .into_iter()
                .map(|image| pb::GeneratedImage {
                    style: style_to_pb(image.style) as i32,
                    platform: platform_to_pb(image.platform) as i32,
                    size: size(&image),
                    url: image.url,
                })
                .collect();
        }
        JobState::Failed => {
            response.status = pb::JobStatus::Failed as i32;
            response.message = "이미지 생성에 실패했습니다.".into();
            response.completed_at = Some(timestamp(view.updated_at));
            response.error = Some(pb::JobError {
                code: "IMAGE_GENERATION_FAILED".into(),
                detail: view.error.unwrap_or_else(|| "알 수 없는 오류".into()),
            });
        }
    }
    response
}

#[tonic::async_trait]
impl ContentRpc for ContentApi {
    async fn generate_images(&self, request: Request<pb::ImageGenerationRequest>) -> Result<Response<pb::ImageGenerationAcceptedResponse>, Status> {
        let owner = self.caller(&request)?;
        let body = request.into_inner();
        self.check(&body)?;
        let info = body.event_info.unwrap_or_default();
        let input = RenderInput { title: info.title, prize: info.gift_name, accent_color: info.brand_color, ..RenderInput::default() };
        let job_id = self.service.request_generation(&owner, &body.event_draft_id, input, None, false).await?;
        Ok(Response::new(accepted(job_id, body.event_draft_id)))
    }

    async fn get_image_generation_status(&self, request: Request<pb::GetImageGenerationStatusRequest>) -> Result<Response<pb::ImageGenerationStatusResponse>, Status> {
        self.caller(&request)?;
        let body = request.into_inner();
        self.check(&body)?;
        let view = self.service.job(&body.job_id).await?;
        Ok(Response::new(status_response(body.job_id, view)))
    }

    async fn get_content_by_event_id(&self, request: Request<pb::GetContentByEventIdRequest>) -> Result<Response<pb::ContentResponse>, Status> {
        self.caller(&request)?;
        let body = request.into_inner();
        self.check(&body)?;
        let set = self.service.content(&body.event_draft_id).await?;
        let images: Vec<pb::ImageDetail> = set
            .images
            .into_iter()
            .map(|image| pb::ImageDetail {
                image_id: image.image_id.clone(),
                style: style_to_pb(image.style) as i32,
                platform: platform_to_pb(image.platform) as i32,
                size: size(&image),
                created_at: Some(timestamp(image.created_at)),
                fallback_used: Some(image.fallback_used),
                url: image.url,
            })
            .collect();
        Ok(Response::new(pb::ContentResponse {
            event_draft_id: set.event_draft_id,
            total_count: images.len() as i32,
            images,
            created_at: Some(timestamp(set.created_at)),
            expires_at: Some(timestamp(set.expires_at)),
        }))
    }

    async fn get_images(&self, request: Request<pb::GetImagesRequest>) -> Result<Response<pb::GetImagesResponse>, Status> {
        self.caller(&request)?;
        let body = request.into_inner();
        self.check(&body)?;
        let style = body.style.and_then(style_from_pb);
        let platform = body.platform.and_then(platform_from_pb);
        let images = self.service.images(&body.event_draft_id, style, platform).await?;
        Ok(Response::new(pb::GetImagesResponse {
            event_draft_id: Some(body.event_draft_id),
            total_count: Some(images.len() as i32),
            images: images.into_iter().map(stored).collect(),
        }))
    }

    async fn get_image_by_id(&self, request: Request<pb::GetImageByIdRequest>) -> Result<Response<pb::StoredImage>, Status> {
        self.caller(&request)?;
        let body = request.into_inner();
        self.check(&body)?;
        Ok(Response::new(stored(self.service.image(&body.image_id).await?)))
    }

    async fn delete_image(&self, request: Request<pb::DeleteImageRequest>) -> Result<Response<()>, Status> {
        self.caller(&request)?;
        let body = request.into_inner();
        self.check(&body)?;
        self.service.delete_image(&body.image_id).await?;
        Ok(Response::new(()))
    }

    async fn regenerate_image(&self, request: Request<pb::ImageRegenerationRequest>) -> Result<Response<pb::RegenerateImageResponse>, Status> {
        self.caller(&request)?;
        let body = request.into_inner();
        self.check(&body)?;
        let style = body.style.and_then(style_from_pb);
        let job_id = self.service.request_regeneration(&body.image_id, body.content, style).await?;
        Ok(Response::new(pb::RegenerateImageResponse { message: "이미지 재생성 요청이 접수되었습니다.".into(), job_id, estimated_time: 5 }))
    }

    async fn start_event_images(&self, request: Request<pb::EventImagesRequest>) -> Result<Response<pb::ImageGenerationAcceptedResponse>, Status> {
        let body = request.into_inner();
        let input = RenderInput {
            title: body.title,
            prize: body.prize_text,
            participation: body.participation_text,
            period: body.period,
            store_name: body.store_name,
            background_color: body.background_color,
            text_color: body.text_color,
            accent_color: body.accent_color,
        };
        let job_id = (!body.job_id.is_empty()).then_some(body.job_id);
        let job_id = self.service.request_generation(&body.owner_id, &body.event_draft_id, input, job_id, body.force).await?;
        Ok(Response::new(accepted(job_id, body.event_draft_id)))
    }

    async fn get_event_images_job(&self, request: Request<pb::GetImageGenerationStatusRequest>) -> Result<Response<pb::ImageGenerationStatusResponse>, Status> {
        let body = request.into_inner();
        let view = self.service.job(&body.job_id).await?;
        Ok(Response::new(status_response(body.job_id, view)))
    }
}
