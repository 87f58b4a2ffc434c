//! Colours as the APIs write them: `#RGB` or `#RRGGBB`.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rgb {
    pub r: u8,
    pub g: u8,
    pub b: u8,
}

impl Rgb {
    pub const fn new(r: u8, g: u8, b: u8) -> Self {
        Rgb { r, g, b }
    }

    /// Parses `#RGB` or `#RRGGBB`; None for anything else.
    pub fn parse(text: &str) -> Option<Rgb> {
        let hex = text.strip_prefix('#')?;
        if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let digit = |i: usize| u8::from_str_radix(&hex[i..=i], 16).ok();
        match hex.len() {
            3 => Some(Rgb::new(digit(0)? * 17, digit(1)? * 17, digit(2)? * 17)),
            6 => Some(Rgb::new(
                u8::from_str_radix(&hex[0..2], 16).ok()?,
                u8::from_str_radix(&hex[2..4], 16).ok()?,
                u8::from_str_radix(&hex[4..6], 16).ok()?,
            )),
            _ => None,
        }
    }

    pub fn skia(self, alpha: u8) -> tiny_skia::Color {
        tiny_skia::Color::from_rgba8(self.r, self.g, self.b, alpha)
    }

    /// Mixes toward `other` by `t` (0: self, 1: other).
    pub fn mix(self, other: Rgb, t: f32) -> Rgb {
        let m = |a: u8, b: u8| (f32::from(a) + (f32::from(b) - f32::from(a)) * t).round().clamp(0.0, 255.0) as u8;
        Rgb::new(m(self.r, other.r), m(self.g, other.g), m(self.b, other.b))
    }

    /// Relative luminance (0 dark … 1 light), to pick readable text colours.
    pub fn luminance(self) -> f32 {
        (0.2126 * f32::from(self.r) + 0.7152 * f32::from(self.g) + 0.0722 * f32::from(self.b)) / 255.0
    }

    /// Black or white, whichever reads better on this colour.
    pub fn readable_on(self) -> Rgb {
        if self.luminance() > 0.6 { Rgb::new(0x22, 0x22, 0x22) } else { Rgb::new(0xFF, 0xFF, 0xFF) }
    }
}

#[cfg(test)]
mod tests {
    use super::Rgb;

    #[test]
    fn parses_short_and_long_hex() {
        assert_eq!(Rgb::parse("#FFF"), Some(Rgb::new(255, 255, 255)));
        assert_eq!(Rgb::parse("#ff5733"), Some(Rgb::new(0xFF, 0x57, 0x33)));
        assert_eq!(Rgb::parse("FF5733"), None);
        assert_eq!(Rgb::parse("#GG0000"), None);
        assert_eq!(Rgb::parse("#12345"), None);
    }
}
