//! Korean text on a pixmap: the embedded font, word wrapping that keeps Korean words whole
//! (breaks at spaces only, like CSS `word-break: keep-all`), shrink-to-fit, and glyph
//! drawing. Precomposed Hangul syllables need no shaping, so glyphs are laid out one by one.

use std::sync::LazyLock;

use ab_glyph::{Font, FontRef, PxScale, ScaleFont};
use tiny_skia::Pixmap;

use crate::render::color::Rgb;

/// NanumSquare Bold (OFL-1.1, from Debian `fonts-nanum`): all 11,172 Hangul syllables.
static FONT_BYTES: &[u8] = include_bytes!("../../assets/NanumSquareB.ttf");

static FONT: LazyLock<Option<FontRef<'static>>> = LazyLock::new(|| FontRef::try_from_slice(FONT_BYTES).ok());

pub fn font() -> Option<&'static FontRef<'static>> {
    FONT.as_ref()
}

/// Smallest size text is ever shrunk to before words are split inside (never cut off).
const MIN_PX: f32 = 12.0;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    Left,
    Center,
}

/// A box text must stay inside.
#[derive(Debug, Clone, Copy)]
pub struct TextBox {
    pub x: f32,
    pub y: f32,
    pub width: f32,
    pub height: f32,
}

/// Text laid out in a box: the lines, the size, and the height they take.
#[derive(Debug, Clone)]
pub struct Laid {
    pub lines: Vec<String>,
    pub px: f32,
    pub line_height: f32,
}

impl Laid {
    pub fn height(&self) -> f32 {
        self.line_height * self.lines.len() as f32
    }
}

pub fn text_width(font: &FontRef<'_>, px: f32, text: &str) -> f32 {
    let scaled = font.as_scaled(PxScale::from(px));
    let mut width = 0.0;
    let mut previous = None;
    for ch in text.chars() {
        let id = scaled.glyph_id(ch);
        if let Some(prev) = previous {
            width += scaled.kern(prev, id);
        }
        width += scaled.h_advance(id);
        previous = Some(id);
    }
    width
}

fn line_height(font: &FontRef<'_>, px: f32) -> f32 {
    let scaled = font.as_scaled(PxScale::from(px));
    (scaled.ascent() - scaled.descent() + scaled.line_gap()) * 1.15
}

/// Greedy wrap at spaces. A word wider than the line is split between characters (only then).
pub fn wrap(font: &FontRef<'_>, px: f32, text: &str, max_width: f32) -> Vec<String> {
    let mut lines = Vec::new();
    for paragraph in text.split('\n') {
        let mut line = String::new();
        for word in paragraph.split_whitespace() {
            let candidate = if line.is_empty() { word.to_owned() } else { format!("{line} {word}") };
            if text_width(font, px, &candidate) <= max_width {
                line = candidate;
                continue;
            }
            if !line.is_empty() {
                lines.push(std::mem::take(&mut line));
            }
            if text_width(font, px, word) <= max_width {
                line = word.to_owned();
            } else {
                for ch in word.chars() {
                    let mut next = line.clone();
                    next.push(ch);
                    if !line.is_empty() && text_width(font, px, &next) > max_width {
                        lines.push(std::mem::take(&mut line));
                        line.push(ch);
                    } else {
                        line = next;
                    }
                }
            }
        }
        if !line.is_empty() {
            lines.push(line);
        }
    }
    lines
}

fn words_fit(font: &FontRef<'_>, px: f32, text: &str, max_width: f32) -> bool {
    text.split_whitespace().all(|word| text_width(font, px, word) <= max_width)
}

/// The largest size (at most `max_px`) at which the text fits the box with whole words.
/// When even `MIN_PX` cannot keep words whole, words are split; when the lines are still too
/// tall, the size keeps shrinking: the text is never cut off.
pub fn fit(font: &FontRef<'_>, text: &str, area: TextBox, max_px: f32) -> Laid {
    let mut px = max_px.max(MIN_PX);
    loop {
        let lines = wrap(font, px, text, area.width);
        let lh = line_height(font, px);
        let fits_height = lh * lines.len() as f32 <= area.height;
        let whole_words = words_fit(font, px, text, area.width) || px <= MIN_PX;
        if (fits_height && whole_words) || px <= 4.0 {
            return Laid { lines, px, line_height: lh };
        }
        px = if px > MIN_PX { (px * 0.92).max(MIN_PX) } else { px * 0.9 };
    }
}

/// Draws laid-out text inside the box, vertically centred in it.
pub fn draw(pixmap: &mut Pixmap, font: &FontRef<'_>, laid: &Laid, area: TextBox, align: Align, color: Rgb) {
    let scaled = font.as_scaled(PxScale::from(laid.px));
    let top = area.y + (area.height - laid.height()).max(0.0) / 2.0;
    for (index, line) in laid.lines.iter().enumerate() {
        let width = text_width(font, laid.px, line);
        let x0 = match align {
            Align::Left => area.x,
            Align::Center => area.x + (area.width - width) / 2.0,
        };
        let baseline = top + laid.line_height * index as f32 + (laid.line_height - (scaled.ascent() - scaled.descent())) / 2.0 + scaled.ascent();
        let mut caret = x0;
        let mut previous = None;
        for ch in line.chars() {
            let id = scaled.glyph_id(ch);
            if let Some(prev) = previous {
                caret += scaled.kern(prev, id);
            }
            let glyph = id.with_scale_and_position(PxScale::from(laid.px), ab_glyph::point(caret, baseline));
            caret += scaled.h_advance(id);
            previous = Some(id);
            if let Some(outlined) = font.outline_glyph(glyph) {
                let bounds = outlined.px_bounds();
                outlined.draw(|gx, gy, coverage| {
                    blend(pixmap, bounds.min.x as i32 + gx as i32, bounds.min.y as i32 + gy as i32, color, coverage);
                });
            }
        }
    }
}

/// Fits and draws in one go; returns the layout used.
pub fn draw_fitted(pixmap: &mut Pixmap, text: &str, area: TextBox, max_px: f32, align: Align, color: Rgb) -> Option<Laid> {
    let font = font()?;
    let laid = fit(font, text, area, max_px);
    draw(pixmap, font, &laid, area, align, color);
    Some(laid)
}

/// Source-over blend of one opaque colour with coverage onto an opaque pixmap.
fn blend(pixmap: &mut Pixmap, x: i32, y: i32, color: Rgb, coverage: f32) {
    if x < 0 || y < 0 || x >= pixmap.width() as i32 || y >= pixmap.height() as i32 || coverage <= 0.0 {
        return;
    }
    let index = (y as usize * pixmap.width() as usize + x as usize) * 4;
    let data = pixmap.data_mut();
    let a = coverage.min(1.0);
    for (offset, channel) in [color.r, color.g, color.b].into_iter().enumerate() {
        let dst = f32::from(data[index + offset]);
        data[index + offset] = (f32::from(channel) * a + dst * (1.0 - a)).round() as u8;
    }
    data[index + 3] = 255;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn font_covers_hangul() {
        let font = font().expect("embedded font parses");
        for ch in ['가', '힣', '벤', '트', '커', '피'] {
            assert_ne!(font.glyph_id(ch).0, 0, "{ch} has a glyph");
        }
    }

    #[test]
    fn wraps_at_spaces_keeping_korean_words_whole() {
        let font = font().expect("font");
        let text = "신규 고객 유치 이벤트 아메리카노 무료 증정";
        let lines = wrap(font, 40.0, text, 260.0);
        assert!(lines.len() > 1, "{lines:?}");
        let words: Vec<&str> = text.split(' ').collect();
        for line in &lines {
            for word in line.split(' ') {
                assert!(words.contains(&word), "word {word:?} was split in {lines:?}");
            }
        }
        assert_eq!(lines.join(" "), text);
    }

    #[test]
    fn fit_shrinks_until_everything_fits() {
        let font = font().expect("font");
        let text = "아주 긴 제목이 들어가도 잘리지 않고 크기를 줄여서 모두 보여야 합니다 정말로 길어요";
        let area = TextBox { x: 0.0, y: 0.0, width: 300.0, height: 120.0 };
        let laid = fit(font, text, area, 80.0);
        assert!(laid.px < 80.0);
        assert!(laid.height() <= area.height);
        assert!(laid.lines.iter().all(|l| text_width(font, laid.px, l) <= area.width));
        assert_eq!(laid.lines.join(" "), text);
    }
}
