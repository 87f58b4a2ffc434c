//! External image-generation APIs, each an [`ImageSource`]: a Stable-Diffusion-style HTTP API
//! (`POST {url}/sdapi/v1/txt2img` → `{images: [base64 PNG]}`) and an OpenAI-Images-style API
//! (`POST {url}/v1/images/generations` with `response_format: b64_json` → `{data: [{b64_json}]}`).
//! The artwork becomes the background; the event's text is drawn over it locally.

use std::time::Duration;

use async_trait::async_trait;
use base64::Engine;
use serde_json::{Value, json};
use service_core::http_client::{HttpClient, HttpError};
use service_core::resilience::{Classify, ErrorClass};

use crate::render::{self, Platform, RenderInput, Style};
use crate::sources::{ImageSource, SourceError};

/// Where an external API is and how to authenticate (the key never reaches logs).
#[derive(Clone)]
pub struct ApiSettings {
    pub url: String,
    pub key: Option<String>,
    pub model: Option<String>,
    pub timeout: Duration,
}

impl std::fmt::Debug for ApiSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiSettings").field("url", &self.url).field("model", &self.model).field("key", &self.key.as_ref().map(|_| "***")).finish()
    }
}

fn prompt(input: &RenderInput, style: Style) -> String {
    let mood = match style {
        Style::Simple => "clean minimal pastel background, lots of empty space",
        Style::Fancy => "luxurious festive background, gold confetti, rich purple and magenta",
        Style::Trendy => "bold trendy pop-art background, vivid neon colours, playful shapes",
    };
    format!("{mood}, promotional artwork for a small shop event about \"{}\" with the prize \"{}\", no text, no letters", input.title, input.prize)
}

fn failed(error: HttpError) -> SourceError {
    SourceError { class: error.classify(), message: error.to_string() }
}

fn invalid(message: impl Into<String>) -> SourceError {
    SourceError { class: ErrorClass::Permanent, message: message.into() }
}

fn decode_and_compose(encoded: Option<&str>, input: &RenderInput, platform: Platform) -> Result<Vec<u8>, SourceError> {
    let encoded = encoded.ok_or_else(|| invalid("no image in the answer"))?;
    let art = base64::engine::general_purpose::STANDARD.decode(encoded.trim()).map_err(|e| invalid(format!("image is not base64: {e}")))?;
    render::compose_on(&art, input, platform).map_err(|e| invalid(e.to_string()))
}

fn auth(settings: &ApiSettings) -> Option<String> {
    settings.key.as_ref().map(|key| format!("Bearer {key}"))
}

pub struct StableDiffusionApi {
    settings: ApiSettings,
    client: HttpClient,
}

impl StableDiffusionApi {
    pub fn new(settings: ApiSettings) -> Self {
        Self { settings, client: HttpClient::new() }
    }
}

#[async_trait]
impl ImageSource for StableDiffusionApi {
    fn name(&self) -> &str {
        "stable-diffusion API"
    }

    async fn generate(&self, input: &RenderInput, style: Style, platform: Platform) -> Result<Vec<u8>, SourceError> {
        let (width, height) = platform.size();
        let body = json!({"prompt": prompt(input, style), "negative_prompt": "text, letters, watermark", "width": width, "height": height, "steps": 25});
        let url = format!("{}/sdapi/v1/txt2img", self.settings.url.trim_end_matches('/'));
        let header = auth(&self.settings);
        let headers: Vec<(&str, &str)> = header.iter().map(|h| ("authorization", h.as_str())).collect();
        let bytes = self.client.post_json(&url, &headers, &body, self.settings.timeout).await.map_err(failed)?;
        let answer: Value = serde_json::from_slice(&bytes).map_err(|e| invalid(format!("answer is not JSON: {e}")))?;
        decode_and_compose(answer["images"][0].as_str(), input, platform)
    }
}

pub struct OpenAiImagesApi {
    settings: ApiSettings,
    client: HttpClient,
}

impl OpenAiImagesApi {
    pub fn new(settings: ApiSettings) -> Self {
        Self { settings, client: HttpClient::new() }
    }
}

#[async_trait]
impl ImageSource for OpenAiImagesApi {
    fn name(&self) -> &str {
        "openai-images API"
    }

    async fn generate(&self, input: &RenderInput, style: Style, platform: Platform) -> Result<Vec<u8>, SourceError> {
        let size = if platform == Platform::NaverBlog { "1536x1024" } else { "1024x1024" };
        let model = self.settings.model.clone().unwrap_or_else(|| "gpt-image-1".into());
        let body = json!({"model": model, "prompt": prompt(input, style), "n": 1, "size": size, "response_format": "b64_json"});
        let url = format!("{}/v1/images/generations", self.settings.url.trim_end_matches('/'));
        let header = auth(&self.settings);
        let headers: Vec<(&str, &str)> = header.iter().map(|h| ("authorization", h.as_str())).collect();
        let bytes = self.client.post_json(&url, &headers, &body, self.settings.timeout).await.map_err(failed)?;
        let answer: Value = serde_json::from_slice(&bytes).map_err(|e| invalid(format!("answer is not JSON: {e}")))?;
        decode_and_compose(answer["data"][0]["b64_json"].as_str(), input, platform)
    }
}
