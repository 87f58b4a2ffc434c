//! The local renderer: real PNGs drawn by the service itself (pure Rust), one layout per
//! style (SIMPLE, FANCY, TRENDY) and per orientation (square Instagram/Kakao, landscape Naver
//! blog), with the event's Korean title, prize, participation text, period and store name in
//! the event's colours.

mod canvas;
pub mod color;
pub mod text;

use serde::{Deserialize, Serialize};

use crate::render::canvas::{Canvas, Frac};
use crate::render::color::Rgb;
use crate::render::text::{Align, TextBox};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Style {
    Simple,
    Fancy,
    Trendy,
}

impl Style {
    pub const ALL: [Style; 3] = [Style::Simple, Style::Fancy, Style::Trendy];

    pub fn slug(self) -> &'static str {
        match self {
            Style::Simple => "simple",
            Style::Fancy => "fancy",
            Style::Trendy => "trendy",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Platform {
    Instagram,
    NaverBlog,
    KakaoChannel,
}

impl Platform {
    pub const ALL: [Platform; 3] = [Platform::Instagram, Platform::NaverBlog, Platform::KakaoChannel];

    /// Pixel size the platform wants.
    pub fn size(self) -> (u32, u32) {
        match self {
            Platform::Instagram => (1080, 1080),
            Platform::NaverBlog => (800, 600),
            Platform::KakaoChannel => (800, 800),
        }
    }

    pub fn slug(self) -> &'static str {
        match self {
            Platform::Instagram => "instagram",
            Platform::NaverBlog => "naver-blog",
            Platform::KakaoChannel => "kakao-channel",
        }
    }
}

/// What goes on an image. Colours are already-validated hex strings or absent.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RenderInput {
    pub title: String,
    pub prize: String,
    #[serde(default)]
    pub participation: Option<String>,
    #[serde(default)]
    pub period: Option<String>,
    #[serde(default)]
    pub store_name: Option<String>,
    #[serde(default)]
    pub background_color: Option<String>,
    #[serde(default)]
    pub text_color: Option<String>,
    #[serde(default)]
    pub accent_color: Option<String>,
}

struct Palette {
    background: Rgb,
    text: Rgb,
    accent: Rgb,
}

impl Palette {
    fn of(input: &RenderInput, background: Rgb, text: Rgb, accent: Rgb) -> Palette {
        let pick = |value: &Option<String>, default: Rgb| value.as_deref().and_then(Rgb::parse).unwrap_or(default);
        let background = pick(&input.background_color, background);
        // Without an edited text colour, keep the default only when it reads on the background.
        let default_text = if (text.luminance() - background.luminance()).abs() > 0.35 { text } else { background.readable_on() };
        Palette { background, text: pick(&input.text_color, default_text), accent: pick(&input.accent_color, accent) }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("the embedded font cannot be read")]
    Font,
    #[error("cannot allocate a {0}x{1} canvas")]
    Canvas(u32, u32),
    #[error("PNG encoding: {0}")]
    Encode(String),
}

/// Renders one image as PNG bytes.
pub fn render(input: &RenderInput, style: Style, platform: Platform) -> Result<Vec<u8>, RenderError> {
    text::font().ok_or(RenderError::Font)?;
    let (width, height) = platform.size();
    let mut canvas = Canvas::new(width, height).ok_or(RenderError::Canvas(width, height))?;
    match style {
        Style::Simple => simple(&mut canvas, input),
        Style::Fancy => fancy(&mut canvas, input),
        Style::Trendy => trendy(&mut canvas, input),
    }
    canvas.png().map_err(RenderError::Encode)
}

/// An external API's artwork as the background (scaled to cover the platform size), with the
/// event's text on a translucent panel: generated art alone carries no readable Korean copy.
pub fn compose_on(background_png: &[u8], input: &RenderInput, platform: Platform) -> Result<Vec<u8>, RenderError> {
    text::font().ok_or(RenderError::Font)?;
    let art = tiny_skia::Pixmap::decode_png(background_png).map_err(|e| RenderError::Encode(format!("artwork: {e}")))?;
    let (width, height) = platform.size();
    let mut canvas = Canvas::new(width, height).ok_or(RenderError::Canvas(width, height))?;
    let scale = (canvas.w / art.width() as f32).max(canvas.h / art.height() as f32);
    let dx = (canvas.w - art.width() as f32 * scale) / 2.0;
    let dy = (canvas.h - art.height() as f32 * scale) / 2.0;
    let paint = tiny_skia::PixmapPaint { quality: tiny_skia::FilterQuality::Bilinear, ..tiny_skia::PixmapPaint::default() };
    canvas.pixmap.draw_pixmap(0, 0, art.as_ref(), &paint, tiny_skia::Transform::from_row(scale, 0.0, 0.0, scale, dx, dy), None);
    let p = Palette::of(input, Rgb::new(0x11, 0x11, 0x11), Rgb::new(0xFF, 0xFF, 0xFF), Rgb::new(0xFF, 0xD7, 0x00));
    let u = canvas.unit();
    canvas.rect(canvas.rect_of(Frac(0.0, 0.55, 1.0, 0.45)), p.background, 190);
    canvas.text(&input.title, canvas.rect_of(Frac(0.06, 0.58, 0.88, 0.2)), u * 0.09, Align::Center, p.text);
    canvas.text(&prize_line(input), canvas.rect_of(Frac(0.06, 0.79, 0.88, 0.09)), u * 0.05, Align::Center, p.accent);
    canvas.text(input.period.as_deref().unwrap_or(""), canvas.rect_of(Frac(0.06, 0.89, 0.88, 0.06)), u * 0.035, Align::Center, p.text);
    canvas.png().map_err(RenderError::Encode)
}

fn prize_line(input: &RenderInput) -> String {
    format!("경품  {}", input.prize.trim())
}

/// Clean and text-centred: light background, thin frame, centred type, prize in a soft box.
fn simple(c: &mut Canvas, input: &RenderInput) {
    let p = Palette::of(input, Rgb::new(0xFF, 0xFF, 0xFF), Rgb::new(0x22, 0x22, 0x22), Rgb::new(0x2D, 0x6C, 0xDF));
    let u = c.unit();
    c.fill(p.background);
    let inset = u * 0.035;
    c.stroke_round_rect(TextBox { x: inset, y: inset, width: c.w - 2.0 * inset, height: c.h - 2.0 * inset }, u * 0.02, u * 0.006, p.accent);
    let soft = p.accent.mix(p.background, 0.82);
    if c.landscape() {
        // Two columns: the message on the left, the prize card on the right.
        let store = c.rect_of(Frac(0.08, 0.10, 0.50, 0.09));
        c.text(input.store_name.as_deref().unwrap_or(""), store, u * 0.055, Align::Left, p.accent);
        c.text(&input.title, c.rect_of(Frac(0.08, 0.22, 0.50, 0.40)), u * 0.11, Align::Left, p.text);
        c.rect(c.rect_of(Frac(0.08, 0.66, 0.12, 0.008)), p.accent, 255);
        c.text(input.period.as_deref().unwrap_or(""), c.rect_of(Frac(0.08, 0.72, 0.50, 0.08)), u * 0.045, Align::Left, p.text.mix(p.background, 0.35));
        let card = c.rect_of(Frac(0.62, 0.14, 0.31, 0.72));
        c.round_rect(card, u * 0.03, soft, 255);
        c.text(&prize_line(input), c.rect_of(Frac(0.64, 0.20, 0.27, 0.30)), u * 0.07, Align::Center, p.accent.mix(Rgb::new(0, 0, 0), 0.25));
        let participation = input.participation.as_deref().unwrap_or("");
        c.text(participation, c.rect_of(Frac(0.64, 0.54, 0.27, 0.28)), u * 0.045, Align::Center, p.text);
    } else {
        c.text(input.store_name.as_deref().unwrap_or(""), c.rect_of(Frac(0.1, 0.09, 0.8, 0.07)), u * 0.045, Align::Center, p.accent);
        c.text(&input.title, c.rect_of(Frac(0.1, 0.19, 0.8, 0.30)), u * 0.10, Align::Center, p.text);
        c.rect(c.rect_of(Frac(0.43, 0.52, 0.14, 0.006)), p.accent, 255);
        let card = c.rect_of(Frac(0.14, 0.57, 0.72, 0.14));
        c.round_rect(card, u * 0.03, soft, 255);
        c.text(&prize_line(input), c.rect_of(Frac(0.17, 0.58, 0.66, 0.12)), u * 0.055, Align::Center, p.accent.mix(Rgb::new(0, 0, 0), 0.25));
        c.text(input.participation.as_deref().unwrap_or(""), c.rect_of(Frac(0.12, 0.74, 0.76, 0.10)), u * 0.038, Align::Center, p.text);
        c.text(input.period.as_deref().unwrap_or(""), c.rect_of(Frac(0.12, 0.86, 0.76, 0.06)), u * 0.034, Align::Center, p.text.mix(p.background, 0.35));
    }
}

/// A small deterministic generator, so the same event always gets the same confetti.
fn seeded(input: &RenderInput) -> impl FnMut() -> f32 {
    let mut state = input.title.bytes().fold(0x9E37_79B9_u32, |h, b| h.rotate_left(5) ^ u32::from(b)).max(1);
    move || {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        (state % 10_000) as f32 / 10_000.0
    }
}

/// Eye-catching: deep gradient, gold double frame, confetti, white title, prize ribbon.
fn fancy(c: &mut Canvas, input: &RenderInput) {
    let p = Palette::of(input, Rgb::new(0x2A, 0x12, 0x5E), Rgb::new(0xFF, 0xFF, 0xFF), Rgb::new(0xF5, 0xC5, 0x42));
    let u = c.unit();
    c.vertical_gradient(p.background, p.background.mix(Rgb::new(0xC2, 0x18, 0x5B), 0.55));
    let mut random = seeded(input);
    for index in 0..26 {
        let (x, y, r) = (random() * c.w, random() * c.h, u * (0.006 + random() * 0.018));
        let color = if index % 3 == 0 { p.accent } else { Rgb::new(0xFF, 0xFF, 0xFF) };
        c.circle(x, y, r, color, 70 + (random() * 90.0) as u8);
    }
    let outer = u * 0.03;
    c.stroke_round_rect(TextBox { x: outer, y: outer, width: c.w - 2.0 * outer, height: c.h - 2.0 * outer }, u * 0.03, u * 0.008, p.accent);
    let inner = u * 0.05;
    c.stroke_round_rect(TextBox { x: inner, y: inner, width: c.w - 2.0 * inner, height: c.h - 2.0 * inner }, u * 0.025, u * 0.003, p.accent);
    let ribbon_text = p.accent.readable_on();
    if c.landscape() {
        c.text("SPECIAL EVENT", c.rect_of(Frac(0.1, 0.12, 0.5, 0.08)), u * 0.05, Align::Left, p.accent);
        c.text(&input.title, c.rect_of(Frac(0.1, 0.22, 0.5, 0.42)), u * 0.11, Align::Left, p.text);
        c.text(input.store_name.as_deref().unwrap_or(""), c.rect_of(Frac(0.1, 0.68, 0.5, 0.08)), u * 0.045, Align::Left, p.accent);
        c.text(input.period.as_deref().unwrap_or(""), c.rect_of(Frac(0.1, 0.78, 0.5, 0.08)), u * 0.04, Align::Left, p.text);
        let medal = (c.w * 0.76, c.h * 0.40, u * 0.21);
        c.circle(medal.0, medal.1, medal.2 * 1.08, p.accent.mix(Rgb::new(0xFF, 0xFF, 0xFF), 0.4), 255);
        c.circle(medal.0, medal.1, medal.2, p.accent, 255);
        c.text(&prize_line(input), TextBox { x: medal.0 - medal.2 * 0.72, y: medal.1 - medal.2 * 0.6, width: medal.2 * 1.44, height: medal.2 * 1.2 }, u * 0.07, Align::Center, ribbon_text);
        c.text(input.participation.as_deref().unwrap_or(""), c.rect_of(Frac(0.64, 0.74, 0.28, 0.14)), u * 0.036, Align::Center, p.text);
    } else {
        c.text("SPECIAL EVENT", c.rect_of(Frac(0.15, 0.10, 0.7, 0.06)), u * 0.045, Align::Center, p.accent);
        c.text(&input.title, c.rect_of(Frac(0.1, 0.18, 0.8, 0.30)), u * 0.105, Align::Center, p.text);
        let ribbon = c.rect_of(Frac(0.1, 0.53, 0.8, 0.15));
        c.polygon(&[(ribbon.x - u * 0.04, ribbon.y + ribbon.height * 0.2), (ribbon.x, ribbon.y + ribbon.height * 0.5), (ribbon.x - u * 0.04, ribbon.y + ribbon.height * 0.8)], p.accent.mix(Rgb::new(0, 0, 0), 0.3), 255);
        c.polygon(&[(ribbon.x + ribbon.width + u * 0.04, ribbon.y + ribbon.height * 0.2), (ribbon.x + ribbon.width, ribbon.y + ribbon.height * 0.5), (ribbon.x + ribbon.width + u * 0.04, ribbon.y + ribbon.height * 0.8)], p.accent.mix(Rgb::new(0, 0, 0), 0.3), 255);
        c.round_rect(ribbon, u * 0.015, p.accent, 255);
        c.text(&prize_line(input), TextBox { x: ribbon.x + u * 0.03, y: ribbon.y + u * 0.01, width: ribbon.width - u * 0.06, height: ribbon.height - u * 0.02 }, u * 0.06, Align::Center, ribbon_text);
        c.text(input.participation.as_deref().unwrap_or(""), c.rect_of(Frac(0.12, 0.71, 0.76, 0.10)), u * 0.038, Align::Center, p.text);
        c.text(input.period.as_deref().unwrap_or(""), c.rect_of(Frac(0.12, 0.82, 0.76, 0.05)), u * 0.033, Align::Center, p.text.mix(p.background, 0.25));
        c.text(input.store_name.as_deref().unwrap_or(""), c.rect_of(Frac(0.12, 0.875, 0.76, 0.05)), u * 0.036, Align::Center, p.accent);
    }
}

/// Bold and playful: vivid background, diagonal colour block, sticker badge, left-aligned
/// heavy type, prize on a dark tag.
fn trendy(c: &mut Canvas, input: &RenderInput) {
    let p = Palette::of(input, Rgb::new(0xFF, 0x4F, 0x81), Rgb::new(0x11, 0x11, 0x11), Rgb::new(0xFF, 0xE1, 0x4D));
    let u = c.unit();
    c.fill(p.background);
    let dark = Rgb::new(0x11, 0x11, 0x11);
    let tag_text = if p.accent.luminance() > 0.3 { p.accent } else { Rgb::new(0xFF, 0xFF, 0xFF) };
    if c.landscape() {
        c.polygon(&[(c.w * 0.62, 0.0), (c.w, 0.0), (c.w, c.h), (c.w * 0.48, c.h)], p.accent, 255);
        c.circle(c.w * 0.80, c.h * 0.24, u * 0.13, dark, 255);
        c.text("EVENT", TextBox { x: c.w * 0.80 - u * 0.1, y: c.h * 0.24 - u * 0.06, width: u * 0.2, height: u * 0.12 }, u * 0.06, Align::Center, p.accent);
        let pill = c.rect_of(Frac(0.06, 0.08, 0.34, 0.09));
        c.round_rect(pill, pill.height / 2.0, dark, 255);
        c.text(input.store_name.as_deref().unwrap_or(""), TextBox { x: pill.x + u * 0.02, y: pill.y, width: pill.width - u * 0.04, height: pill.height }, u * 0.04, Align::Center, Rgb::new(0xFF, 0xFF, 0xFF));
        c.text(&input.title, c.rect_of(Frac(0.06, 0.22, 0.46, 0.44)), u * 0.12, Align::Left, p.text);
        c.text(input.period.as_deref().unwrap_or(""), c.rect_of(Frac(0.06, 0.84, 0.40, 0.07)), u * 0.04, Align::Left, p.text);
        let tag = c.rect_of(Frac(0.58, 0.46, 0.36, 0.22));
        c.round_rect(tag, u * 0.025, dark, 255);
        c.text(&prize_line(input), TextBox { x: tag.x + u * 0.02, y: tag.y + u * 0.01, width: tag.width - u * 0.04, height: tag.height - u * 0.02 }, u * 0.06, Align::Center, tag_text);
        c.text(input.participation.as_deref().unwrap_or(""), c.rect_of(Frac(0.58, 0.72, 0.36, 0.18)), u * 0.038, Align::Left, dark);
    } else {
        c.polygon(&[(0.0, c.h * 0.62), (c.w, c.h * 0.46), (c.w, c.h), (0.0, c.h)], p.accent, 255);
        c.circle(c.w * 0.84, c.h * 0.13, u * 0.1, dark, 255);
        c.text("NEW", TextBox { x: c.w * 0.84 - u * 0.075, y: c.h * 0.13 - u * 0.045, width: u * 0.15, height: u * 0.09 }, u * 0.05, Align::Center, p.accent);
        let pill = c.rect_of(Frac(0.07, 0.08, 0.5, 0.07));
        c.round_rect(pill, pill.height / 2.0, dark, 255);
        c.text(input.store_name.as_deref().unwrap_or(""), TextBox { x: pill.x + u * 0.02, y: pill.y, width: pill.width - u * 0.04, height: pill.height }, u * 0.035, Align::Center, Rgb::new(0xFF, 0xFF, 0xFF));
        c.text(&input.title, c.rect_of(Frac(0.07, 0.19, 0.84, 0.30)), u * 0.115, Align::Left, p.text);
        let tag = c.rect_of(Frac(0.07, 0.62, 0.86, 0.13));
        c.round_rect(tag, u * 0.02, dark, 255);
        c.text(&prize_line(input), TextBox { x: tag.x + u * 0.03, y: tag.y + u * 0.01, width: tag.width - u * 0.06, height: tag.height - u * 0.02 }, u * 0.055, Align::Left, tag_text);
        c.text(input.participation.as_deref().unwrap_or(""), c.rect_of(Frac(0.07, 0.78, 0.86, 0.09)), u * 0.038, Align::Left, dark);
        c.text(input.period.as_deref().unwrap_or(""), c.rect_of(Frac(0.07, 0.88, 0.86, 0.06)), u * 0.034, Align::Left, dark);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> RenderInput {
        RenderInput {
            title: "신규 고객 유치 이벤트 아메리카노 증정".into(),
            prize: "아메리카노 1+1 쿠폰".into(),
            participation: Some("매장 방문 후 인스타그램에 사진을 올려주세요".into()),
            period: Some("2025-11-01 ~ 2025-11-30".into()),
            store_name: Some("홍길동 카페".into()),
            ..RenderInput::default()
        }
    }

    #[test]
    fn renders_every_style_and_platform_at_its_size() {
        for style in Style::ALL {
            for platform in Platform::ALL {
                let png = render(&sample(), style, platform).expect("renders");
                let pixmap = tiny_skia::Pixmap::decode_png(&png).expect("decodes");
                assert_eq!((pixmap.width(), pixmap.height()), platform.size());
            }
        }
    }

    #[test]
    fn edited_colours_are_used() {
        let input = RenderInput { background_color: Some("#00FF00".into()), ..sample() };
        let png = render(&input, Style::Simple, Platform::KakaoChannel).expect("renders");
        let pixmap = tiny_skia::Pixmap::decode_png(&png).expect("decodes");
        let corner = pixmap.pixel(10, 10).expect("pixel");
        assert_eq!((corner.red(), corner.green(), corner.blue()), (0, 255, 0));
    }
}
