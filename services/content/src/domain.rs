//! The Content Service's rules: image jobs on the `image-generation-job` queue that make all
//! nine images of a draft (3 styles × 3 platforms), the 7-day content set, listing, deleting
//! (the stored object stays: the spec's cost rule) and regenerating one image.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use sea_orm::{ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, Set};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use service_core::jobs::{EnqueueOptions, JobContext, JobError, JobState, Jobs};
use service_core::storage::Cache;

use crate::errors::ContentError;
use crate::render::{Platform, RenderInput, Style};
use crate::sources::{ChainError, SourceChain};
use crate::storage::ObjectStore;
use crate::store::{content_images, content_sets};

/// The spec's queue name (a Kafka topic in the original design).
pub const QUEUE: &str = "image-generation-job";

#[derive(Debug, Clone)]
pub struct ContentSettings {
    /// How long a draft's images are served (the spec's Redis TTL: 7 days).
    pub content_ttl: Duration,
}

impl Default for ContentSettings {
    fn default() -> Self {
        Self { content_ttl: Duration::from_secs(7 * 24 * 3600) }
    }
}

/// One image as the APIs show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Image {
    pub image_id: String,
    pub style: Style,
    pub platform: Platform,
    pub width: i32,
    pub height: i32,
    pub url: String,
    pub fallback_used: bool,
    pub created_at: DateTime<Utc>,
}

/// A finished job's result (stored with the job).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JobOutcome {
    pub images: Vec<Image>,
    pub from_cache: bool,
    pub completed_at: DateTime<Utc>,
}

/// A job as the status endpoints show it.
pub struct JobView {
    pub state: JobState,
    pub outcome: Option<JobOutcome>,
    pub error: Option<String>,
    pub updated_at: DateTime<Utc>,
}

/// A draft's image set.
pub struct ContentSet {
    pub event_draft_id: String,
    pub images: Vec<Image>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum Payload {
    Generate { event_draft_id: String, owner_id: String, input: RenderInput, force: bool },
    Regenerate { image_id: String, content: Option<String>, style: Option<Style> },
}

pub struct ContentService {
    db: DatabaseConnection,
    cache: Arc<dyn Cache>,
    jobs: Jobs,
    store: Arc<dyn ObjectStore>,
    sources: SourceChain,
    settings: ContentSettings,
}

fn style_name(style: Style) -> &'static str {
    match style {
        Style::Simple => "SIMPLE",
        Style::Fancy => "FANCY",
        Style::Trendy => "TRENDY",
    }
}

fn platform_name(platform: Platform) -> &'static str {
    match platform {
        Platform::Instagram => "INSTAGRAM",
        Platform::NaverBlog => "NAVER_BLOG",
        Platform::KakaoChannel => "KAKAO_CHANNEL",
    }
}

fn parse_style(text: &str) -> Option<Style> {
    Style::ALL.into_iter().find(|s| style_name(*s) == text)
}

fn parse_platform(text: &str) -> Option<Platform> {
    Platform::ALL.into_iter().find(|p| platform_name(*p) == text)
}

fn image_of(row: content_images::Model) -> Option<Image> {
    Some(Image {
        style: parse_style(&row.style)?,
        platform: parse_platform(&row.platform)?,
        image_id: row.image_id,
        width: row.width,
        height: row.height,
        url: row.url,
        fallback_used: row.fallback_used,
        created_at: row.created_at,
    })
}

fn cache_key(event_draft_id: &str) -> String {
    format!("content:set:{event_draft_id}")
}

fn ordered(mut images: Vec<Image>) -> Vec<Image> {
    let rank = |i: &Image| {
        (Style::ALL.iter().position(|s| *s == i.style), Platform::ALL.iter().position(|p| *p == i.platform))
    };
    images.sort_by(|a, b| rank(a).cmp(&rank(b)).then(a.created_at.cmp(&b.created_at)));
    images
}

impl ContentService {
    pub fn new(
        db: DatabaseConnection,
        cache: Arc<dyn Cache>,
        jobs: Jobs,
        store: Arc<dyn ObjectStore>,
        sources: SourceChain,
        settings: ContentSettings,
    ) -> Self {
        tracing::info!(sources = %sources.describe(), storage = store.kind(), jobs = jobs.backend_name(), "content service ready");
        Self { db, cache, jobs, store, sources, settings }
    }

    pub fn jobs(&self) -> &Jobs {
        &self.jobs
    }

    fn refuse_when_unavailable(&self) -> Result<(), ContentError> {
        match self.sources.refusal() {
            Some(ChainError::Unavailable { state, retry_after }) => Err(ContentError::BreakerOpen { state, retry_after }),
            _ => Ok(()),
        }
    }

    /// Queues the nine images of a draft; a repeated `job_id` returns the same job.
    pub async fn request_generation(
        &self,
        owner_id: &str,
        event_draft_id: &str,
        input: RenderInput,
        job_id: Option<String>,
        force: bool,
    ) -> Result<String, ContentError> {
        if event_draft_id.trim().is_empty() {
            return Err(ContentError::BadRequest("eventDraftId는 필수 항목입니다.".into()));
        }
        if input.title.trim().is_empty() {
            return Err(ContentError::BadRequest("eventInfo.title은 필수 항목입니다.".into()));
        }
        self.refuse_when_unavailable()?;
        let payload = Payload::Generate { event_draft_id: event_draft_id.to_owned(), owner_id: owner_id.to_owned(), input, force };
        let payload = serde_json::to_value(payload).map_err(|e| ContentError::Internal(e.to_string()))?;
        let job_id = job_id.unwrap_or_else(|| format!("job-img-{}", uuid::Uuid::new_v4().simple()));
        Ok(self.jobs.enqueue(QUEUE, payload, EnqueueOptions { job_id: Some(job_id), ..EnqueueOptions::default() }).await?)
    }

    /// Queues the re-rendering of one image (same platform; style and title as asked).
    pub async fn request_regeneration(&self, image_id: &str, content: Option<String>, style: Option<Style>) -> Result<String, ContentError> {
        self.live_image(image_id).await?;
        self.refuse_when_unavailable()?;
        let payload = serde_json::to_value(Payload::Regenerate { image_id: image_id.to_owned(), content, style })
            .map_err(|e| ContentError::Internal(e.to_string()))?;
        let job_id = format!("job-regen-{}", uuid::Uuid::new_v4().simple());
        Ok(self.jobs.enqueue(QUEUE, payload, EnqueueOptions { job_id: Some(job_id), ..EnqueueOptions::default() }).await?)
    }

    pub async fn job(&self, job_id: &str) -> Result<JobView, ContentError> {
        let record = self.jobs.status(job_id).await?.filter(|r| r.queue == QUEUE).ok_or(ContentError::NotFound("Job ID를 찾을 수 없습니다."))?;
        let outcome = match (&record.state, &record.result) {
            (JobState::Completed, Some(result)) => serde_json::from_value(result.clone()).ok(),
            _ => None,
        };
        Ok(JobView { state: record.state, outcome, error: record.last_error, updated_at: record.updated_at })
    }

    /// The job handler (at-least-once: a rerun of the same job writes the same rows and keys).
    pub async fn run_job(&self, ctx: JobContext) -> Result<Value, JobError> {
        let payload: Payload = serde_json::from_value(ctx.payload.clone()).map_err(|e| JobError::permanent(format!("bad payload: {e}")))?;
        let outcome = match payload {
            Payload::Generate { event_draft_id, owner_id, input, force } => {
                self.generate(&ctx.id, &event_draft_id, &owner_id, input, force).await?
            }
            Payload::Regenerate { image_id, content, style } => self.regenerate(&ctx.id, &image_id, content, style).await?,
        };
        serde_json::to_value(outcome).map_err(|e| JobError::permanent(e.to_string()))
    }

    async fn generate(&self, job_id: &str, draft: &str, owner: &str, input: RenderInput, force: bool) -> Result<JobOutcome, JobError> {
        let now = Utc::now();
        let existing = content_sets::Entity::find_by_id(draft.to_owned()).one(&self.db).await.map_err(retry)?;
        if let (false, Some(set)) = (force, &existing) {
            let same_input = serde_json::from_str::<RenderInput>(&set.input).ok().as_ref() == Some(&input);
            if set.expires_at > now && same_input {
                let images = self.live_images(draft).await.map_err(retry)?;
                if images.len() >= 9 {
                    return Ok(JobOutcome { images, from_cache: true, completed_at: now });
                }
            }
        }
        let ttl = TimeDelta::from_std(self.settings.content_ttl).unwrap_or(TimeDelta::days(7));
        let input_json = serde_json::to_string(&input).map_err(|e| JobError::permanent(e.to_string()))?;
        let set = content_sets::ActiveModel {
            event_draft_id: Set(draft.to_owned()),
            owner_id: Set(owner.to_owned()),
            input: Set(input_json),
            created_at: Set(now),
            expires_at: Set(now + ttl),
        };
        if existing.is_some() { set.update(&self.db).await.map_err(retry)? } else { set.insert(&self.db).await.map_err(retry)? };
        let short = job_id.rsplit('-').next().unwrap_or(job_id).chars().take(12).collect::<String>();
        let mut images = Vec::with_capacity(9);
        for style in Style::ALL {
            for platform in Platform::ALL {
                let image_id = format!("img-{short}-{}-{}", style.slug(), platform.slug());
                images.push(self.produce(&image_id, draft, &input, style, platform, &short).await?);
            }
        }
        // The new set replaces earlier images of the draft in listings (objects stay stored).
        let ids: Vec<String> = images.iter().map(|i| i.image_id.clone()).collect();
        content_images::Entity::update_many()
            .col_expr(content_images::Column::Deleted, sea_orm::sea_query::Expr::value(true))
            .filter(content_images::Column::EventDraftId.eq(draft))
            .filter(content_images::Column::ImageId.is_not_in(ids))
            .exec(&self.db)
            .await
            .map_err(retry)?;
        self.forget(draft).await;
        Ok(JobOutcome { images, from_cache: false, completed_at: Utc::now() })
    }

    async fn regenerate(&self, job_id: &str, image_id: &str, content: Option<String>, style: Option<Style>) -> Result<JobOutcome, JobError> {
        let row = content_images::Entity::find_by_id(image_id.to_owned()).one(&self.db).await.map_err(retry)?
            .ok_or_else(|| JobError::permanent("image not found"))?;
        let set = content_sets::Entity::find_by_id(row.event_draft_id.clone()).one(&self.db).await.map_err(retry)?
            .ok_or_else(|| JobError::permanent("content set not found"))?;
        let mut input: RenderInput = serde_json::from_str(&set.input).map_err(|e| JobError::permanent(e.to_string()))?;
        if let Some(text) = content.filter(|t| !t.trim().is_empty()) {
            input.title = text;
        }
        let old = image_of(row.clone()).ok_or_else(|| JobError::permanent("unreadable image row"))?;
        let style = style.unwrap_or(old.style);
        let short = job_id.rsplit('-').next().unwrap_or(job_id).chars().take(12).collect::<String>();
        let new_id = format!("img-{short}-{}-{}", style.slug(), old.platform.slug());
        let image = self.produce(&new_id, &row.event_draft_id, &input, style, old.platform, &short).await?;
        let mut hidden: content_images::ActiveModel = row.into();
        hidden.deleted = Set(true);
        hidden.update(&self.db).await.map_err(retry)?;
        self.forget(&set.event_draft_id).await;
        Ok(JobOutcome { images: vec![image], from_cache: false, completed_at: Utc::now() })
    }

    /// Makes, stores and records one image (idempotent per image id).
    async fn produce(&self, image_id: &str, draft: &str, input: &RenderInput, style: Style, platform: Platform, short: &str) -> Result<Image, JobError> {
        if let Some(row) = content_images::Entity::find_by_id(image_id.to_owned()).one(&self.db).await.map_err(retry)? {
            if let Some(image) = image_of(row) {
                return Ok(image);
            }
        }
        let produced = self.sources.produce(input, style, platform).await.map_err(|e| JobError::retry(e.to_string()))?;
        let key = format!("images/{}/{}-{}-{short}.png", safe_segment(draft), style.slug(), platform.slug());
        let url = self.store.put(&key, produced.png, "image/png").await.map_err(|e| JobError::retry(e.to_string()))?;
        let (width, height) = platform.size();
        let now = Utc::now();
        content_images::ActiveModel {
            image_id: Set(image_id.to_owned()),
            event_draft_id: Set(draft.to_owned()),
            style: Set(style_name(style).into()),
            platform: Set(platform_name(platform).into()),
            width: Set(width as i32),
            height: Set(height as i32),
            url: Set(url.clone()),
            object_key: Set(key),
            source: Set(produced.source),
            fallback_used: Set(produced.fallback_used),
            deleted: Set(false),
            created_at: Set(now),
        }
        .insert(&self.db)
        .await
        .map_err(retry)?;
        Ok(Image { image_id: image_id.to_owned(), style, platform, width: width as i32, height: height as i32, url, fallback_used: produced.fallback_used, created_at: now })
    }

    async fn forget(&self, draft: &str) {
        if let Err(error) = self.cache.delete(&cache_key(draft)).await {
            tracing::warn!(%error, "content cache invalidation failed; entries expire on their own");
        }
    }

    async fn live_images(&self, draft: &str) -> Result<Vec<Image>, sea_orm::DbErr> {
        let rows = content_images::Entity::find()
            .filter(content_images::Column::EventDraftId.eq(draft))
            .filter(content_images::Column::Deleted.eq(false))
            .order_by_asc(content_images::Column::CreatedAt)
            .all(&self.db)
            .await?;
        Ok(ordered(rows.into_iter().filter_map(image_of).collect()))
    }

    /// A draft's images while its set is within the 7-day TTL; 404 afterwards.
    pub async fn content(&self, draft: &str) -> Result<ContentSet, ContentError> {
        let set = content_sets::Entity::find_by_id(draft.to_owned())
            .one(&self.db)
            .await?
            .filter(|set| set.expires_at > Utc::now())
            .ok_or(ContentError::NotFound("해당 이벤트의 콘텐츠를 찾을 수 없습니다."))?;
        let images = self.cached_images(draft).await?;
        Ok(ContentSet { event_draft_id: set.event_draft_id, images, created_at: set.created_at, expires_at: set.expires_at })
    }

    async fn cached_images(&self, draft: &str) -> Result<Vec<Image>, ContentError> {
        if let Ok(Some(text)) = self.cache.get(&cache_key(draft)).await {
            if let Ok(images) = serde_json::from_str(&text) {
                return Ok(images);
            }
        }
        let images = self.live_images(draft).await?;
        if let Ok(text) = serde_json::to_string(&images) {
            let _ = self.cache.set(&cache_key(draft), &text, self.settings.content_ttl).await;
        }
        Ok(images)
    }

    pub async fn images(&self, draft: &str, style: Option<Style>, platform: Option<Platform>) -> Result<Vec<Image>, ContentError> {
        let set = self.content(draft).await?;
        Ok(set
            .images
            .into_iter()
            .filter(|i| style.is_none_or(|s| i.style == s) && platform.is_none_or(|p| i.platform == p))
            .collect())
    }

    async fn live_image(&self, image_id: &str) -> Result<content_images::Model, ContentError> {
        content_images::Entity::find_by_id(image_id.to_owned())
            .one(&self.db)
            .await?
            .filter(|row| !row.deleted)
            .ok_or(ContentError::NotFound("이미지를 찾을 수 없습니다."))
    }

    pub async fn image(&self, image_id: &str) -> Result<Image, ContentError> {
        image_of(self.live_image(image_id).await?).ok_or_else(|| ContentError::Internal("unreadable image row".into()))
    }

    /// Hides an image from listings and the cache; the stored object stays (cost rule).
    pub async fn delete_image(&self, image_id: &str) -> Result<(), ContentError> {
        let row = self.live_image(image_id).await?;
        let draft = row.event_draft_id.clone();
        let mut hidden: content_images::ActiveModel = row.into();
        hidden.deleted = Set(true);
        hidden.update(&self.db).await?;
        self.forget(&draft).await;
        Ok(())
    }
}

fn retry(error: sea_orm::DbErr) -> JobError {
    JobError::retry(format!("database: {error}"))
}

/// Draft ids are free strings in the spec: keep object keys to safe characters.
fn safe_segment(text: &str) -> String {
    let cleaned: String = text.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' }).take(80).collect();
    if cleaned.is_empty() { "_".into() } else { cleaned }
}
