//! The Event Service's rules: drafts, the AI recommendation and image jobs, content edits,
//! publishing (readiness, DRAFT → APPROVED → ACTIVE, distribution), detail, list, dashboard.
//! The database is the truth; the cache only saves reads (TTLs from the design: draft 30 min,
//! detail 5 min, list and dashboard 1 min) and is invalidated on every write.

use std::sync::Arc;
use std::time::Duration;

use chrono::{TimeDelta, Utc};
use sea_orm::{ActiveModelTrait, ColumnTrait, Condition, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tonic::transport::Channel;

use contracts::proto::content::v1 as content_pb;
use contracts::proto::content::v1::content_service_client::ContentServiceClient;
use service_core::jobs::{EnqueueOptions, JobContext, JobError, JobRecord, Jobs};
use service_core::storage::Cache;

use crate::channels::{ChannelResult, Distributor, Posting};
use crate::errors::EventError;
use crate::recommender::{Brief, Recommendation, Recommender, current_month};
use crate::store::events;

pub const AI_QUEUE: &str = "ai-recommendation-job";
pub const IMAGE_QUEUE: &str = "event-image-job";
pub const TOPIC_DRAFT_CREATED: &str = "EventDraftCreated";
pub const TOPIC_EVENT_CREATED: &str = "EventCreated";

const DRAFT_TTL: Duration = Duration::from_secs(30 * 60);
const DETAIL_TTL: Duration = Duration::from_secs(5 * 60);
const LIST_TTL: Duration = Duration::from_secs(60);

/// The draft's generated images: the three Instagram style URLs and all nine.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GeneratedImages {
    pub simple: Option<String>,
    pub fancy: Option<String>,
    pub trendy: Option<String>,
    pub all: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EditedContent {
    pub title: Option<String>,
    pub prize_text: Option<String>,
    pub participation_text: Option<String>,
    pub background_color: Option<String>,
    pub text_color: Option<String>,
    pub accent_color: Option<String>,
}

pub struct StoreInfo {
    pub store_name: String,
    pub industry: String,
    pub region: String,
    pub address: Option<String>,
}

pub struct ListQuery {
    pub status: Option<String>,
    pub keyword: Option<String>,
    pub page: u64,
    pub size: u64,
    pub sort: String,
}

#[derive(Serialize, Deserialize)]
pub struct ListPage {
    pub events: Vec<events::Model>,
    pub total_count: u64,
    pub total_pages: u64,
    pub page: u64,
}

pub struct EventService {
    db: DatabaseConnection,
    cache: Arc<dyn Cache>,
    jobs: Jobs,
    recommender: Arc<dyn Recommender>,
    content: ContentServiceClient<Channel>,
    distributor: Distributor,
}

pub fn parse<T: for<'de> Deserialize<'de>>(column: &Option<String>) -> Option<T> {
    column.as_deref().and_then(|text| serde_json::from_str(text).ok())
}

fn to_json<T: Serialize>(value: &T) -> Result<String, EventError> {
    serde_json::to_string(value).map_err(|e| EventError::Internal(e.to_string()))
}

fn row_key(id: &str) -> String {
    format!("event:row:{id}")
}

fn generation_key(owner: &str) -> String {
    format!("event:gen:{owner}")
}

impl EventService {
    pub fn new(
        db: DatabaseConnection,
        cache: Arc<dyn Cache>,
        jobs: Jobs,
        recommender: Arc<dyn Recommender>,
        content: ContentServiceClient<Channel>,
        distributor: Distributor,
    ) -> Self {
        tracing::info!(recommender = recommender.kind(), jobs = jobs.backend_name(), "event service ready");
        Self { db, cache, jobs, recommender, content, distributor }
    }

    pub fn jobs(&self) -> &Jobs {
        &self.jobs
    }

    // ------------------------------------------------------------------ caching

    async fn load(&self, id: &str) -> Result<Option<events::Model>, EventError> {
        if let Ok(Some(text)) = self.cache.get(&row_key(id)).await {
            if let Ok(row) = serde_json::from_str(&text) {
                return Ok(Some(row));
            }
        }
        let row = events::Entity::find_by_id(id.to_owned()).one(&self.db).await?;
        if let Some(row) = &row {
            let ttl = if row.status == "DRAFT" { DRAFT_TTL } else { DETAIL_TTL };
            if let Ok(text) = serde_json::to_string(row) {
                let _ = self.cache.set(&row_key(id), &text, ttl).await;
            }
        }
        Ok(row)
    }

    /// The caller's event, or 404 (a draft of another user is not theirs to see).
    async fn owned(&self, owner: &str, id: &str) -> Result<events::Model, EventError> {
        self.load(id).await?.filter(|row| row.owner_id == owner).ok_or(EventError::NotFound("이벤트를 찾을 수 없습니다"))
    }

    /// After a write: the row's entry goes, and the owner's list/dashboard generation moves on.
    async fn invalidate(&self, row: &events::Model) {
        let _ = self.cache.delete(&row_key(&row.event_id)).await;
        if let Err(error) = self.cache.set(&generation_key(&row.owner_id), &uuid::Uuid::new_v4().to_string(), LIST_TTL * 2).await {
            tracing::warn!(%error, "cache invalidation failed; entries expire within their TTL");
        }
    }

    async fn save(&self, active: events::ActiveModel) -> Result<events::Model, EventError> {
        let row = active.update(&self.db).await?;
        self.invalidate(&row).await;
        Ok(row)
    }

    async fn generation(&self, owner: &str) -> Option<String> {
        self.cache.get(&generation_key(owner)).await.ok().map(|g| g.unwrap_or_else(|| "0".into()))
    }

    // ------------------------------------------------------------------ drafts

    pub async fn create_draft(&self, owner: &str, objective: &str, store: StoreInfo) -> Result<events::Model, EventError> {
        let now = Utc::now();
        let row = events::ActiveModel {
            event_id: Set(uuid::Uuid::new_v4().to_string()),
            owner_id: Set(owner.to_owned()),
            status: Set("DRAFT".into()),
            objective: Set(objective.to_owned()),
            store_name: Set(store.store_name),
            industry: Set(store.industry),
            region: Set(store.region),
            address: Set(store.address),
            title: Set(String::new()),
            description: Set(String::new()),
            participant_count: Set(0),
            roi: Set(0.0),
            recommendations: Set(None),
            images: Set(None),
            selected_image_url: Set(None),
            edited_content: Set(None),
            distribution: Set(None),
            start_date: Set(None),
            end_date: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
            published_at: Set(None),
        }
        .insert(&self.db)
        .await?;
        self.invalidate(&row).await;
        let event = json!({ "eventDraftId": row.event_id, "userId": owner, "objective": objective, "createdAt": now.to_rfc3339() });
        if let Err(error) = self.jobs.publish(TOPIC_DRAFT_CREATED, &row.event_id, &event).await {
            tracing::warn!(%error, "publishing EventDraftCreated failed");
        }
        Ok(row)
    }

    // ------------------------------------------------------------------ jobs

    pub async fn request_recommendation(&self, owner: &str, id: &str) -> Result<String, EventError> {
        let row = self.owned(owner, id).await?;
        if row.status != "DRAFT" {
            return Err(EventError::BadRequest("초안 상태의 이벤트만 AI 추천을 요청할 수 있습니다".into()));
        }
        let payload = json!({ "eventId": id, "ownerId": owner });
        Ok(self.jobs.enqueue(AI_QUEUE, payload, EnqueueOptions::default()).await?)
    }

    pub async fn request_images(&self, owner: &str, id: &str) -> Result<String, EventError> {
        let row = self.owned(owner, id).await?;
        if row.status != "DRAFT" {
            return Err(EventError::BadRequest("초안 상태의 이벤트만 이미지를 생성할 수 있습니다".into()));
        }
        if row.title.is_empty() {
            return Err(EventError::BadRequest("AI 추천을 먼저 완료해야 이미지를 생성할 수 있습니다".into()));
        }
        let payload = json!({ "eventId": id, "ownerId": owner });
        Ok(self.jobs.enqueue(IMAGE_QUEUE, payload, EnqueueOptions::default()).await?)
    }

    /// A job of either kind, if it belongs to the caller.
    pub async fn job(&self, owner: &str, job_id: &str) -> Result<JobRecord, EventError> {
        self.jobs
            .status(job_id)
            .await?
            .filter(|r| (r.queue == AI_QUEUE || r.queue == IMAGE_QUEUE) && r.payload["ownerId"].as_str() == Some(owner))
            .ok_or(EventError::NotFound("작업을 찾을 수 없습니다"))
    }

    fn payload_event(ctx: &JobContext) -> Result<String, JobError> {
        ctx.payload["eventId"].as_str().map(str::to_owned).ok_or_else(|| JobError::permanent("payload without eventId"))
    }

    async fn job_row(&self, id: &str) -> Result<events::Model, JobError> {
        events::Entity::find_by_id(id.to_owned())
            .one(&self.db)
            .await
            .map_err(|e| JobError::retry(e.to_string()))?
            .ok_or_else(|| JobError::permanent("event not found"))
    }

    pub async fn run_recommendation(&self, ctx: JobContext) -> Result<Value, JobError> {
        let id = Self::payload_event(&ctx)?;
        let row = self.job_row(&id).await?;
        let brief = Brief { objective: row.objective.clone(), store_name: row.store_name.clone(), industry: row.industry.clone(), region: row.region.clone(), month: current_month() };
        let recommendations = self.recommender.recommend(&brief).await.map_err(|e| JobError::retry(e.to_string()))?;
        let chosen = recommendations.first().cloned().ok_or_else(|| JobError::retry("no recommendation"))?;
        let mut active: events::ActiveModel = row.clone().into();
        active.recommendations = Set(Some(serde_json::to_string(&recommendations).map_err(|e| JobError::permanent(e.to_string()))?));
        let edited: EditedContent = parse(&row.edited_content).unwrap_or_default();
        active.title = Set(edited.title.clone().unwrap_or_else(|| chosen.title.clone()));
        active.description = Set(format!("{} / {}", chosen.prize, chosen.participation_method));
        active.participant_count = Set(chosen.estimated_participants);
        active.roi = Set(chosen.estimated_roi);
        active.updated_at = Set(Utc::now());
        self.save(active).await.map_err(|e| JobError::retry(e.to_string()))?;
        Ok(json!({ "recommendations": recommendations }))
    }

    pub async fn run_images(&self, ctx: JobContext) -> Result<Value, JobError> {
        let id = Self::payload_event(&ctx)?;
        let row = self.job_row(&id).await?;
        let (prize, participation) = chosen_texts(&row);
        let edited: EditedContent = parse(&row.edited_content).unwrap_or_default();
        let request = content_pb::EventImagesRequest {
            event_draft_id: id.clone(),
            owner_id: row.owner_id.clone(),
            job_id: format!("job-img-{}", ctx.id),
            title: row.title.clone(),
            prize_text: edited.prize_text.clone().unwrap_or(prize),
            participation_text: Some(edited.participation_text.clone().unwrap_or(participation)),
            period: Some(planned_period().0 + " ~ " + &planned_period().1),
            store_name: Some(row.store_name.clone()),
            background_color: edited.background_color,
            text_color: edited.text_color,
            accent_color: edited.accent_color,
            force: false,
        };
        let mut client = self.content.clone();
        let accepted = client.start_event_images(request).await.map_err(|s| JobError::retry(format!("content service: {}", s.message())))?.into_inner();
        // Wait for the Content Service's job (bounded: its breaker timeout is 5 minutes).
        let started = tokio::time::Instant::now();
        let status = loop {
            let status = client
                .get_event_images_job(content_pb::GetImageGenerationStatusRequest { job_id: accepted.job_id.clone() })
                .await
                .map_err(|s| JobError::retry(format!("content service: {}", s.message())))?
                .into_inner();
            let state = content_pb::JobStatus::try_from(status.status).unwrap_or(content_pb::JobStatus::Pending);
            match state {
                content_pb::JobStatus::Completed => break status,
                content_pb::JobStatus::Failed => {
                    let detail = status.error.map(|e| e.detail).unwrap_or_default();
                    return Err(JobError::permanent(format!("이미지 생성 실패: {detail}")));
                }
                _ if started.elapsed() > Duration::from_secs(330) => return Err(JobError::retry("content job still running")),
                _ => tokio::time::sleep(Duration::from_millis(250)).await,
            }
        };
        let mut images = GeneratedImages::default();
        for image in &status.images {
            images.all.push(image.url.clone());
            if image.platform == content_pb::Platform::Instagram as i32 {
                let slot = match content_pb::ImageStyle::try_from(image.style) {
                    Ok(content_pb::ImageStyle::Simple) => &mut images.simple,
                    Ok(content_pb::ImageStyle::Fancy) => &mut images.fancy,
                    Ok(content_pb::ImageStyle::Trendy) => &mut images.trendy,
                    _ => continue,
                };
                *slot = Some(image.url.clone());
            }
        }
        let mut active: events::ActiveModel = self.job_row(&id).await?.into();
        active.images = Set(Some(serde_json::to_string(&images).map_err(|e| JobError::permanent(e.to_string()))?));
        active.updated_at = Set(Utc::now());
        self.save(active).await.map_err(|e| JobError::retry(e.to_string()))?;
        Ok(json!({ "imageUrls": { "simple": images.simple, "fancy": images.fancy, "trendy": images.trendy } }))
    }

    // ------------------------------------------------------------------ content

    pub async fn update_content(&self, owner: &str, id: &str, selected: &str, edited: EditedContent) -> Result<events::Model, EventError> {
        let row = self.owned(owner, id).await?;
        if row.status != "DRAFT" {
            return Err(EventError::BadRequest("발행된 이벤트의 콘텐츠는 수정할 수 없습니다".into()));
        }
        let images: GeneratedImages = parse(&row.images).ok_or_else(|| EventError::BadRequest("이미지를 먼저 생성해야 합니다".into()))?;
        if !images.all.iter().any(|url| url == selected) {
            return Err(EventError::BadRequest("selectedImageUrl은 생성된 이미지 중 하나여야 합니다".into()));
        }
        let mut active: events::ActiveModel = row.clone().into();
        if let Some(title) = edited.title.clone().filter(|t| !t.trim().is_empty()) {
            active.title = Set(title);
        }
        active.selected_image_url = Set(Some(selected.to_owned()));
        active.edited_content = Set(Some(to_json(&edited)?));
        active.updated_at = Set(Utc::now());
        self.save(active).await
    }

    // ------------------------------------------------------------------ publishing

    pub async fn publish(&self, owner: &str, id: &str, channels: Vec<(String, Value)>) -> Result<(events::Model, Vec<ChannelResult>), EventError> {
        let row = self.owned(owner, id).await?;
        if row.status != "DRAFT" {
            return Err(EventError::BadRequest("이미 발행된 이벤트입니다".into()));
        }
        let mut missing = Vec::new();
        if row.objective.is_empty() {
            missing.push("이벤트 목적");
        }
        if row.recommendations.is_none() || row.title.is_empty() {
            missing.push("AI 추천 선택");
        }
        if row.selected_image_url.is_none() || row.edited_content.is_none() {
            missing.push("콘텐츠(이미지 선택)");
        }
        if channels.is_empty() {
            missing.push("배포 채널");
        }
        if !missing.is_empty() {
            return Err(EventError::BadRequest(format!("발행 준비가 완료되지 않았습니다: {}", missing.join(", "))));
        }
        let names: Vec<String> = channels.iter().map(|(c, _)| c.clone()).collect();
        if !self.distributor.reachable(&names) {
            return Err(EventError::Unavailable("선택한 모든 채널의 연결이 일시적으로 차단되었습니다".into()));
        }
        let mut approved: events::ActiveModel = row.clone().into();
        approved.status = Set("APPROVED".into());
        approved.updated_at = Set(Utc::now());
        let row = self.save(approved).await?;
        let posting = Posting {
            event_id: id.to_owned(),
            title: row.title.clone(),
            image_url: row.selected_image_url.clone(),
            settings: Value::Object(channels.iter().map(|(c, s)| (c.clone(), s.clone())).collect()),
        };
        let results = self.distributor.distribute(&names, &posting).await;
        let mut active: events::ActiveModel = row.clone().into();
        if !results.iter().any(|r| r.success) {
            // Nothing went out: the event stays a draft the owner can publish again.
            active.status = Set("DRAFT".into());
            self.save(active).await?;
            return Err(EventError::Unavailable("모든 배포 채널 호출이 실패했습니다".into()));
        }
        let (start, end) = planned_period();
        let now = Utc::now();
        active.status = Set("ACTIVE".into());
        active.distribution = Set(Some(to_json(&results)?));
        active.start_date = Set(Some(start));
        active.end_date = Set(Some(end));
        active.published_at = Set(Some(now));
        active.updated_at = Set(now);
        let row = self.save(active).await?;
        let event = json!({ "eventId": id, "userId": owner, "title": row.title, "channels": names, "publishedAt": now.to_rfc3339() });
        if let Err(error) = self.jobs.publish(TOPIC_EVENT_CREATED, id, &event).await {
            tracing::warn!(%error, "publishing EventCreated failed");
        }
        Ok((row, results))
    }

    // ------------------------------------------------------------------ reads

    pub async fn detail(&self, owner: &str, id: &str) -> Result<events::Model, EventError> {
        let row = self.load(id).await?.ok_or(EventError::NotFound("이벤트를 찾을 수 없습니다"))?;
        if row.owner_id != owner {
            return Err(EventError::Forbidden);
        }
        Ok(row)
    }

    pub async fn list(&self, owner: &str, query: ListQuery) -> Result<ListPage, EventError> {
        let generation = self.generation(owner).await;
        let key = generation.as_ref().map(|g| {
            format!("event:list:{owner}:{g}:{:?}:{:?}:{}:{}:{}", query.status, query.keyword, query.page, query.size, query.sort)
        });
        if let Some(key) = &key {
            if let Ok(Some(text)) = self.cache.get(key).await {
                if let Ok(page) = serde_json::from_str(&text) {
                    return Ok(page);
                }
            }
        }
        let mut select = events::Entity::find().filter(events::Column::OwnerId.eq(owner));
        if let Some(status) = &query.status {
            select = select.filter(events::Column::Status.eq(status.as_str()));
        }
        if let Some(keyword) = query.keyword.as_deref().map(str::trim).filter(|k| !k.is_empty()) {
            select = select.filter(Condition::any().add(events::Column::Title.contains(keyword)).add(events::Column::Description.contains(keyword)));
        }
        select = match query.sort.as_str() {
            "participantCount,desc" => select.order_by_desc(events::Column::ParticipantCount),
            "roi,desc" => select.order_by_desc(events::Column::Roi),
            _ => select,
        }
        .order_by_desc(events::Column::CreatedAt)
        .order_by_desc(events::Column::EventId);
        let total_count = select.clone().count(&self.db).await?;
        let events = select.offset(query.page * query.size).limit(query.size).all(&self.db).await?;
        let page = ListPage { events, total_count, total_pages: total_count.div_ceil(query.size), page: query.page };
        if let (Some(key), Ok(text)) = (key, serde_json::to_string(&page)) {
            let _ = self.cache.set(&key, &text, LIST_TTL).await;
        }
        Ok(page)
    }

    /// Up to five ACTIVE, APPROVED and COMPLETED events each, newest first.
    pub async fn dashboard(&self, owner: &str) -> Result<[Vec<events::Model>; 3], EventError> {
        let key = self.generation(owner).await.map(|g| format!("event:dashboard:{owner}:{g}"));
        if let Some(key) = &key {
            if let Ok(Some(text)) = self.cache.get(key).await {
                if let Ok(lists) = serde_json::from_str(&text) {
                    return Ok(lists);
                }
            }
        }
        let mut lists: [Vec<events::Model>; 3] = Default::default();
        for (slot, status) in lists.iter_mut().zip(["ACTIVE", "APPROVED", "COMPLETED"]) {
            *slot = events::Entity::find()
                .filter(events::Column::OwnerId.eq(owner))
                .filter(events::Column::Status.eq(status))
                .order_by_desc(events::Column::CreatedAt)
                .limit(5)
                .all(&self.db)
                .await?;
        }
        if let (Some(key), Ok(text)) = (key, serde_json::to_string(&lists)) {
            let _ = self.cache.set(&key, &text, LIST_TTL).await;
        }
        Ok(lists)
    }
}

/// The chosen recommendation's prize and participation method (the first recommendation).
pub fn chosen_texts(row: &events::Model) -> (String, String) {
    let first = parse::<Vec<Recommendation>>(&row.recommendations).and_then(|r| r.into_iter().next());
    first.map(|r| (r.prize, r.participation_method)).unwrap_or_default()
}

/// Events run for two weeks from publishing.
pub fn planned_period() -> (String, String) {
    let today = Utc::now().date_naive();
    (today.to_string(), (today + TimeDelta::days(14)).to_string())
}
