//! Drawing helpers over a tiny-skia pixmap, in fractions of the canvas so one layout serves
//! every size of its orientation.

use tiny_skia::{FillRule, GradientStop, LinearGradient, Paint, PathBuilder, Pixmap, Point, Rect, SpreadMode, Stroke, Transform};

use crate::render::color::Rgb;
use crate::render::text::{self, Align, Laid, TextBox};

pub struct Canvas {
    pub pixmap: Pixmap,
    pub w: f32,
    pub h: f32,
}

/// A region in fractions of the canvas: x, y, width, height.
#[derive(Debug, Clone, Copy)]
pub struct Frac(pub f32, pub f32, pub f32, pub f32);

impl Canvas {
    pub fn new(width: u32, height: u32) -> Option<Canvas> {
        Some(Canvas { pixmap: Pixmap::new(width, height)?, w: width as f32, h: height as f32 })
    }

    /// The shorter side: sizes of type and strokes scale with it.
    pub fn unit(&self) -> f32 {
        self.w.min(self.h)
    }

    pub fn landscape(&self) -> bool {
        self.w > self.h * 1.1
    }

    pub fn rect_of(&self, f: Frac) -> TextBox {
        TextBox { x: f.0 * self.w, y: f.1 * self.h, width: f.2 * self.w, height: f.3 * self.h }
    }

    fn paint(color: Rgb, alpha: u8) -> Paint<'static> {
        let mut paint = Paint::default();
        paint.set_color(color.skia(alpha));
        paint.anti_alias = true;
        paint
    }

    pub fn fill(&mut self, color: Rgb) {
        self.pixmap.fill(color.skia(255));
    }

    pub fn vertical_gradient(&mut self, top: Rgb, bottom: Rgb) {
        let shader = LinearGradient::new(
            Point::from_xy(0.0, 0.0),
            Point::from_xy(self.w * 0.3, self.h),
            vec![GradientStop::new(0.0, top.skia(255)), GradientStop::new(1.0, bottom.skia(255))],
            SpreadMode::Pad,
            Transform::identity(),
        );
        if let (Some(shader), Some(rect)) = (shader, Rect::from_xywh(0.0, 0.0, self.w, self.h)) {
            let paint = Paint { shader, anti_alias: true, ..Paint::default() };
            self.pixmap.fill_rect(rect, &paint, Transform::identity(), None);
        }
    }

    pub fn rect(&mut self, b: TextBox, color: Rgb, alpha: u8) {
        if let Some(rect) = Rect::from_xywh(b.x, b.y, b.width, b.height) {
            self.pixmap.fill_rect(rect, &Self::paint(color, alpha), Transform::identity(), None);
        }
    }

    fn rounded_path(b: TextBox, radius: f32) -> Option<tiny_skia::Path> {
        let r = radius.min(b.width / 2.0).min(b.height / 2.0);
        let (x0, y0, x1, y1) = (b.x, b.y, b.x + b.width, b.y + b.height);
        let mut pb = PathBuilder::new();
        pb.move_to(x0 + r, y0);
        pb.line_to(x1 - r, y0);
        pb.quad_to(x1, y0, x1, y0 + r);
        pb.line_to(x1, y1 - r);
        pb.quad_to(x1, y1, x1 - r, y1);
        pb.line_to(x0 + r, y1);
        pb.quad_to(x0, y1, x0, y1 - r);
        pb.line_to(x0, y0 + r);
        pb.quad_to(x0, y0, x0 + r, y0);
        pb.close();
        pb.finish()
    }

    pub fn round_rect(&mut self, b: TextBox, radius: f32, color: Rgb, alpha: u8) {
        if let Some(path) = Self::rounded_path(b, radius) {
            self.pixmap.fill_path(&path, &Self::paint(color, alpha), FillRule::Winding, Transform::identity(), None);
        }
    }

    pub fn stroke_round_rect(&mut self, b: TextBox, radius: f32, width: f32, color: Rgb) {
        if let Some(path) = Self::rounded_path(b, radius) {
            let stroke = Stroke { width, ..Stroke::default() };
            self.pixmap.stroke_path(&path, &Self::paint(color, 255), &stroke, Transform::identity(), None);
        }
    }

    pub fn circle(&mut self, cx: f32, cy: f32, r: f32, color: Rgb, alpha: u8) {
        if let Some(path) = PathBuilder::from_circle(cx, cy, r) {
            self.pixmap.fill_path(&path, &Self::paint(color, alpha), FillRule::Winding, Transform::identity(), None);
        }
    }

    pub fn polygon(&mut self, points: &[(f32, f32)], color: Rgb, alpha: u8) {
        let mut pb = PathBuilder::new();
        for (index, (x, y)) in points.iter().enumerate() {
            if index == 0 { pb.move_to(*x, *y) } else { pb.line_to(*x, *y) }
        }
        pb.close();
        if let Some(path) = pb.finish() {
            self.pixmap.fill_path(&path, &Self::paint(color, alpha), FillRule::Winding, Transform::identity(), None);
        }
    }

    /// Text fitted into a region (shrunk and wrapped as needed, never cut off).
    pub fn text(&mut self, value: &str, area: TextBox, max_px: f32, align: Align, color: Rgb) -> Option<Laid> {
        if value.trim().is_empty() {
            return None;
        }
        text::draw_fitted(&mut self.pixmap, value, area, max_px, align, color)
    }

    pub fn png(&self) -> Result<Vec<u8>, String> {
        self.pixmap.encode_png().map_err(|e| e.to_string())
    }
}
