//! The tonic side of the Event Service: proto ⇄ domain, nothing else.

use std::sync::Arc;

use tonic::{Request, Response, Status};

use contracts::Contracts;
use contracts::auth::TokenVerifier;
use contracts::proto::event::v1 as pb;
use contracts::proto::event::v1::event_service_server::EventService as EventRpc;
use service_core::grpc::{authenticate, check_contract};
use service_core::jobs::JobState;

use crate::domain::{EditedContent, EventService, ListQuery, StoreInfo, chosen_texts, parse};
use crate::errors::EventError;
use crate::recommender::Recommendation;
use crate::store::events;

/// Tokens of the meeting-minutes User Service (the contract's audience).
pub const AUDIENCE: &str = "meeting";

#[derive(Clone)]
pub struct EventApi {
    service: Arc<EventService>,
    contracts: Arc<Contracts>,
    verifier: TokenVerifier,
}

impl EventApi {
    pub fn new(service: Arc<EventService>, contracts: Arc<Contracts>, verifier: TokenVerifier) -> Self {
        Self { service, contracts, verifier }
    }

    pub fn into_server(self) -> pb::event_service_server::EventServiceServer<Self> {
        pb::event_service_server::EventServiceServer::new(self)
    }

    fn caller<T>(&self, request: &Request<T>) -> Result<String, EventError> {
        authenticate(request, &self.verifier, AUDIENCE).map(|claims| claims.sub).map_err(|_| EventError::Unauthorized)
    }

    fn check<M: prost::Message + prost::Name>(&self, message: &M) -> Result<(), EventError> {
        check_contract(&self.contracts, message).map_err(|v| EventError::BadRequest(v.to_string()))
    }
}

fn timestamp(time: chrono::DateTime<chrono::Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp { seconds: time.timestamp(), nanos: 0 }
}

fn status_of(text: &str) -> i32 {
    pb::EventStatus::from_str_name(text).map_or(0, |s| s as i32)
}

fn objective_of(text: &str) -> i32 {
    pb::EventObjective::from_str_name(text).map_or(0, |s| s as i32)
}

fn period(row: &events::Model) -> Option<pb::EventPeriod> {
    Some(pb::EventPeriod { start_date: row.start_date.clone(), end_date: row.end_date.clone() })
}

fn summary(row: events::Model) -> pb::EventSummary {
    pb::EventSummary {
        period: period(&row),
        status: status_of(&row.status),
        participant_count: Some(row.participant_count),
        view_count: Some(0),
        created_at: Some(timestamp(row.created_at)),
        title: row.title,
        event_id: row.event_id,
    }
}

fn edited_pb(edited: EditedContent) -> pb::EditedContent {
    pb::EditedContent {
        title: edited.title,
        prize_text: edited.prize_text,
        participation_text: edited.participation_text,
        background_color: edited.background_color,
        text_color: edited.text_color,
        accent_color: edited.accent_color,
    }
}

fn channel_name(value: i32) -> Option<String> {
    pb::ChannelType::try_from(value).ok().filter(|c| *c != pb::ChannelType::Unspecified).map(|c| c.as_str_name().to_owned())
}

fn channel_of(name: &str) -> i32 {
    pb::ChannelType::from_str_name(name).map_or(0, |c| c as i32)
}

fn struct_to_json(value: Option<prost_types::Struct>) -> serde_json::Value {
    fn convert(value: &prost_types::Value) -> serde_json::Value {
        use prost_types::value::Kind;
        match &value.kind {
            Some(Kind::BoolValue(b)) => (*b).into(),
            Some(Kind::NumberValue(n)) => (*n).into(),
            Some(Kind::StringValue(s)) => s.clone().into(),
            Some(Kind::ListValue(list)) => list.values.iter().map(convert).collect::<Vec<_>>().into(),
            Some(Kind::StructValue(s)) => s.fields.iter().map(|(k, v)| (k.clone(), convert(v))).collect::<serde_json::Map<_, _>>().into(),
            _ => serde_json::Value::Null,
        }
    }
    value.map_or(serde_json::Value::Null, |s| s.fields.iter().map(|(k, v)| (k.clone(), convert(v))).collect::<serde_json::Map<_, _>>().into())
}

#[tonic::async_trait]
impl EventRpc for EventApi {
    async fn get_dashboard(&self, request: Request<pb::GetDashboardRequest>) -> Result<Response<pb::DashboardResponse>, Status> {
        let owner = self.caller(&request)?;
        let [active, approved, completed] = self.service.dashboard(&owner).await?;
        Ok(Response::new(pb::DashboardResponse {
            active: active.into_iter().map(summary).collect(),
            approved: approved.into_iter().map(summary).collect(),
            completed: completed.into_iter().map(summary).collect(),
        }))
    }

    async fn create_event_draft(&self, request: Request<pb::CreateEventDraftRequest>) -> Result<Response<pb::EventDraftResponse>, Status> {
        let owner = self.caller(&request)?;
        let body = request.into_inner();
        self.check(&body)?;
        let objective = pb::EventObjective::try_from(body.objective)
            .ok()
            .filter(|o| *o != pb::EventObjective::Unspecified)
            .ok_or_else(|| EventError::BadRequest("objective: 지원하지 않는 값입니다".into()))?;
        let store = body.store_info.ok_or_else(|| EventError::BadRequest("storeInfo: 필수 항목입니다".into()))?;
        let row = self
            .service
            .create_draft(&owner, objective.as_str_name(), StoreInfo { store_name: store.store_name, industry: store.industry, region: store.region, address: store.address })
            .await?;
        Ok(Response::new(pb::EventDraftResponse {
            event_draft_id: row.event_id,
            objective: objective as i32,
            status: pb::event_draft_response::DraftStatus::Draft as i32,
            created_at: Some(timestamp(row.created_at)),
        }))
    }

    async fn request_ai_recommendation(&self, request: Request<pb::RequestAiRecommendationRequest>) -> Result<Response<pb::JobResponse>, Status> {
        let owner = self.caller(&request)?;
        let body = request.into_inner();
        self.check(&body)?;
        let job_id = self.service.request_recommendation(&owner, &body.id).await?;
        Ok(Response::new(pb::JobResponse { job_id, status: pb::job_response::JobStatus::Pending as i32 }))
    }

    async fn get_job_status(&self, request: Request<pb::GetJobStatusRequest>) -> Result<Response<pb::JobStatusResponse>, Status> {
        use pb::job_response::JobStatus;
        let owner = self.caller(&request)?;
        let body = request.into_inner();
        self.check(&body)?;
        let record = self.service.job(&owner, &body.job_id).await?;
        let image_job = record.queue == crate::domain::IMAGE_QUEUE;
        let mut response = pb::JobStatusResponse { job_id: Some(record.id.clone()), ..Default::default() };
        let status = match record.state {
            JobState::Pending => JobStatus::Pending,
            JobState::Processing => {
                if image_job {
                    response.progress = Some(50);
                }
                JobStatus::Processing
            }
            JobState::Completed => {
                let result = record.result.unwrap_or_default();
                if image_job {
                    response.progress = Some(100);
                    let urls = &result["imageUrls"];
                    let text = |key: &str| urls[key].as_str().map(str::to_owned);
                    response.image_urls = Some(pb::ImageUrls { simple: text("simple"), fancy: text("fancy"), trendy: text("trendy") });
                } else {
                    let recommendations: Vec<Recommendation> = serde_json::from_value(result["recommendations"].clone()).unwrap_or_default();
                    response.recommendations = recommendations
                        .into_iter()
                        .map(|r| pb::EventRecommendation {
                            title: r.title,
                            prize: r.prize,
                            participation_method: r.participation_method,
                            estimated_cost: r.estimated_cost,
                            estimated_participants: r.estimated_participants,
                            estimated_roi: r.estimated_roi,
                        })
                        .collect();
                }
                JobStatus::Completed
            }
            JobState::Failed => {
                response.error = Some(record.last_error.unwrap_or_else(|| "작업이 실패했습니다".into()));
                JobStatus::Failed
            }
        };
        response.status = Some(status as i32);
        Ok(Response::new(response))
    }

    async fn request_image_generation(&self, request: Request<pb::RequestImageGenerationRequest>) -> Result<Response<pb::JobResponse>, Status> {
        let owner = self.caller(&request)?;
        let body = request.into_inner();
        self.check(&body)?;
        let job_id = self.service.request_images(&owner, &body.id).await?;
        Ok(Response::new(pb::JobResponse { job_id, status: pb::job_response::JobStatus::Pending as i32 }))
    }

    async fn update_event_content(&self, request: Request<pb::UpdateContentRequest>) -> Result<Response<pb::EventContentResponse>, Status> {
        let owner = self.caller(&request)?;
        let body = request.into_inner();
        self.check(&body)?;
        let edited = body.edited_content.unwrap_or_default();
        let edited = EditedContent {
            title: edited.title,
            prize_text: edited.prize_text,
            participation_text: edited.participation_text,
            background_color: edited.background_color,
            text_color: edited.text_color,
            accent_color: edited.accent_color,
        };
        let row = self.service.update_content(&owner, &body.id, &body.selected_image_url, edited.clone()).await?;
        Ok(Response::new(pb::EventContentResponse {
            event_draft_id: row.event_id,
            selected_image_url: row.selected_image_url.unwrap_or_default(),
            edited_content: Some(edited_pb(edited)),
        }))
    }

    async fn publish_event(&self, request: Request<pb::PublishEventRequest>) -> Result<Response<pb::PublishEventResponse>, Status> {
        use pb::channel_distribution_result::DistributionResultStatus;
        let owner = self.caller(&request)?;
        let body = request.into_inner();
        self.check(&body)?;
        let mut channels = Vec::new();
        for channel in body.selected_channels {
            let name = channel_name(channel.channel_type).ok_or_else(|| EventError::BadRequest("channelType: 지원하지 않는 값입니다".into()))?;
            if !channels.iter().any(|(n, _)| *n == name) {
                channels.push((name, struct_to_json(channel.settings)));
            }
        }
        let (row, results) = self.service.publish(&owner, &body.id, channels).await?;
        Ok(Response::new(pb::PublishEventResponse {
            event_id: row.event_id,
            status: pb::publish_event_response::PublishStatus::Active as i32,
            distribution_results: results
                .into_iter()
                .map(|r| pb::ChannelDistributionResult {
                    channel_type: channel_of(&r.channel_type),
                    status: if r.success { DistributionResultStatus::Success } else { DistributionResultStatus::Failed } as i32,
                    distribution_id: r.distribution_id,
                    estimated_reach: r.estimated_reach,
                    error: r.error,
                })
                .collect(),
        }))
    }

    async fn get_event_detail(&self, request: Request<pb::GetEventDetailRequest>) -> Result<Response<pb::EventDetailResponse>, Status> {
        use pb::channel_status::ChannelDistributionState;
        let owner = self.caller(&request)?;
        let body = request.into_inner();
        self.check(&body)?;
        let row = self.service.detail(&owner, &body.id).await?;
        let edited: Option<EditedContent> = parse(&row.edited_content);
        let (prize, participation) = chosen_texts(&row);
        let prize_name = edited.as_ref().and_then(|e| e.prize_text.clone()).unwrap_or(prize);
        let prizes = if prize_name.is_empty() {
            Vec::new()
        } else {
            let quantity = prize_name.split('(').nth(1).and_then(|t| t.trim_end_matches(|c: char| !c.is_ascii_digit()).parse().ok()).unwrap_or(1);
            vec![pb::Prize { prize_id: uuid::Uuid::parse_str(&row.event_id).map(|id| uuid::Uuid::from_u128(id.as_u128() ^ 0x0050_5249_5a45)).unwrap_or_default().to_string(), prize_name, quantity }]
        };
        let results: Vec<crate::channels::ChannelResult> = parse(&row.distribution).unwrap_or_default();
        let channels = results
            .into_iter()
            .map(|r| pb::ChannelStatus {
                channel_type: channel_of(&r.channel_type),
                status: if r.success { ChannelDistributionState::Active } else { ChannelDistributionState::Failed } as i32,
                distribution_id: r.distribution_id,
                estimated_reach: r.estimated_reach,
                actual_reach: r.success.then_some(0),
            })
            .collect();
        let participation = edited.as_ref().and_then(|e| e.participation_text.clone()).or((!participation.is_empty()).then_some(participation));
        Ok(Response::new(pb::EventDetailResponse {
            event: Some(pb::EventDetail {
                event_id: row.event_id.clone(),
                title: row.title.clone(),
                objective: objective_of(&row.objective),
                period: period(&row),
                status: status_of(&row.status),
                participation_method: participation,
                selected_image_url: row.selected_image_url.clone(),
                edited_content: edited.map(edited_pb),
                created_at: Some(timestamp(row.created_at)),
                published_at: row.published_at.map(timestamp),
            }),
            prizes,
            distribution_status: Some(pb::DistributionStatus { channels }),
        }))
    }

    async fn get_event_list(&self, request: Request<pb::GetEventListRequest>) -> Result<Response<pb::EventListResponse>, Status> {
        let owner = self.caller(&request)?;
        let body = request.into_inner();
        self.check(&body)?;
        let status = match body.status {
            None => None,
            Some(value) => Some(
                pb::EventStatus::try_from(value)
                    .ok()
                    .filter(|s| *s != pb::EventStatus::Unspecified)
                    .ok_or_else(|| EventError::BadRequest("status: 지원하지 않는 값입니다".into()))?
                    .as_str_name()
                    .to_owned(),
            ),
        };
        let query = ListQuery {
            status,
            keyword: body.keyword,
            page: body.page.unwrap_or(0).max(0) as u64,
            size: body.size.unwrap_or(20).clamp(1, 100) as u64,
            sort: body.sort.unwrap_or_else(|| "createdAt,desc".into()),
        };
        let page = self.service.list(&owner, query).await?;
        Ok(Response::new(pb::EventListResponse {
            events: page
                .events
                .into_iter()
                .map(|row| pb::EventListItem {
                    period: period(&row),
                    status: status_of(&row.status),
                    participant_count: Some(row.participant_count),
                    roi: Some(row.roi),
                    created_at: Some(timestamp(row.created_at)),
                    title: row.title,
                    event_id: row.event_id,
                })
                .collect(),
            total_count: page.total_count as i64,
            total_pages: page.total_pages as i32,
            current_page: page.page as i32,
        }))
    }
}
