//! The chart of the HTML report: attempts per hour, failures and successes side by side, as a
//! PNG drawn in pure Rust (rectangles, text through `ab_glyph` with the bundled DejaVu Sans,
//! encoding by `png`). No system font, no C library.

use ab_glyph::{Font, FontRef, PxScale, ScaleFont, point};

use super::Report;

const FONT: &[u8] = include_bytes!("../../assets/DejaVuSans.ttf");
pub const WIDTH: u32 = 760;
pub const HEIGHT: u32 = 280;
const FAILURE: [u8; 3] = [0xd6, 0x27, 0x28];
const SUCCESS: [u8; 3] = [0x2c, 0xa0, 0x2c];
const INK: [u8; 3] = [0x33, 0x33, 0x33];
const GRID: [u8; 3] = [0xdd, 0xdd, 0xdd];

struct Canvas {
    w: u32,
    h: u32,
    rgb: Vec<u8>,
}

impl Canvas {
    fn new(w: u32, h: u32) -> Canvas {
        Canvas {
            w,
            h,
            rgb: vec![0xff; (w * h * 3) as usize],
        }
    }

    fn blend(&mut self, x: i64, y: i64, c: [u8; 3], a: f32) {
        if x < 0 || y < 0 || x >= i64::from(self.w) || y >= i64::from(self.h) {
            return;
        }
        let i = ((y as u32 * self.w + x as u32) * 3) as usize;
        for (dst, &src) in self.rgb[i..i + 3].iter_mut().zip(&c) {
            let old = f32::from(*dst);
            *dst = (old + (f32::from(src) - old) * a.clamp(0.0, 1.0)).round() as u8;
        }
    }

    fn rect(&mut self, x0: i64, y0: i64, x1: i64, y1: i64, c: [u8; 3]) {
        for y in y0.min(y1)..y0.max(y1) {
            for x in x0.min(x1)..x0.max(x1) {
                self.blend(x, y, c, 1.0);
            }
        }
    }

    /// Text with its left end at `x` (or centred on it) and its baseline at `y`.
    fn text(&mut self, font: &FontRef, s: &str, x: f32, y: f32, px: f32, centred: bool) {
        let scaled = font.as_scaled(PxScale::from(px));
        let width: f32 = s.chars().map(|c| scaled.h_advance(font.glyph_id(c))).sum();
        let mut pen = if centred { x - width / 2.0 } else { x };
        for c in s.chars() {
            let id = font.glyph_id(c);
            let glyph = id.with_scale_and_position(PxScale::from(px), point(pen, y));
            pen += scaled.h_advance(id);
            if let Some(outline) = font.outline_glyph(glyph) {
                let b = outline.px_bounds();
                outline.draw(|gx, gy, a| {
                    self.blend(
                        b.min.x as i64 + i64::from(gx),
                        b.min.y as i64 + i64::from(gy),
                        INK,
                        a,
                    );
                });
            }
        }
    }

    fn png(&self) -> Vec<u8> {
        let mut out = Vec::new();
        {
            let mut enc = png::Encoder::new(&mut out, self.w, self.h);
            enc.set_color(png::ColorType::Rgb);
            enc.set_depth(png::BitDepth::Eight);
            let mut writer = enc.write_header().expect("writing to a Vec cannot fail");
            writer
                .write_image_data(&self.rgb)
                .expect("the buffer has the size of the header");
        }
        out
    }
}

/// A round upper bound for the y axis (1, 2 or 5 times a power of ten).
fn nice_max(max: u64) -> u64 {
    let mut step = 1;
    loop {
        for m in [1, 2, 5] {
            if m * step >= max.max(1) {
                return m * step;
            }
        }
        step *= 10;
    }
}

/// The plot area inside the margins.
#[derive(Clone, Copy)]
struct Plot {
    left: f32,
    top: f32,
    w: f32,
    h: f32,
}

const PLOT: Plot = Plot {
    left: 56.0,
    top: 34.0,
    w: WIDTH as f32 - 56.0 - 16.0,
    h: HEIGHT as f32 - 34.0 - 40.0,
};

/// The PNG of the report's hourly attempts.
pub fn render(r: &Report) -> Vec<u8> {
    let font = FontRef::try_from_slice(FONT).expect("the bundled font parses");
    let mut c = Canvas::new(WIDTH, HEIGHT);
    let max = r
        .hours
        .iter()
        .map(|h| h.failures.max(h.successes))
        .max()
        .unwrap_or(0);
    // Four grid steps of a round size.
    let y_max = 4 * nice_max(max.div_ceil(4));
    c.text(
        &font,
        &format!("Attempts per hour - {}", r.window.label),
        WIDTH as f32 / 2.0,
        22.0,
        15.0,
        true,
    );
    grid(&mut c, &font, y_max);
    bars(&mut c, &font, r, y_max);
    let p = PLOT;
    c.rect(
        p.left as i64,
        (p.top + p.h) as i64,
        (p.left + p.w) as i64,
        (p.top + p.h) as i64 + 1,
        INK,
    );
    legend(&mut c, &font);
    c.png()
}

/// Horizontal lines with their values, in four steps up to `y_max`.
fn grid(c: &mut Canvas, font: &FontRef, y_max: u64) {
    let p = PLOT;
    for k in 0..=4u64 {
        let y = p.top + p.h - p.h * k as f32 / 4.0;
        c.rect(
            p.left as i64,
            y as i64,
            (p.left + p.w) as i64,
            y as i64 + 1,
            GRID,
        );
        c.text(
            font,
            &(y_max * k / 4).to_string(),
            8.0,
            y + 4.0,
            11.0,
            false,
        );
    }
}

/// Failures and successes side by side for each hour, with a time label every few hours.
fn bars(c: &mut Canvas, font: &FontRef, r: &Report, y_max: u64) {
    let p = PLOT;
    let slot = p.w / r.hours.len().max(1) as f32;
    let bar = (slot * 0.4).max(1.0);
    let base = (p.top + p.h) as i64;
    let step = (r.hours.len() / 12).max(1);
    for (i, h) in r.hours.iter().enumerate() {
        let x = p.left + slot * i as f32 + slot * 0.1;
        for (k, (v, colour)) in [(h.failures, FAILURE), (h.successes, SUCCESS)]
            .into_iter()
            .enumerate()
        {
            let height = p.h * v as f32 / y_max as f32;
            let x0 = x + bar * k as f32;
            c.rect(
                x0 as i64,
                base - height.round() as i64,
                (x0 + bar) as i64,
                base,
                colour,
            );
        }
        if i % step == 0 {
            let label = r.window.local(h.start_unix);
            let label = if r.hours.len() <= 48 {
                label[11..13].to_owned() + "h"
            } else {
                label[5..13].to_owned()
            };
            c.text(font, &label, x + bar, p.top + p.h + 16.0, 11.0, true);
        }
    }
}

fn legend(c: &mut Canvas, font: &FontRef) {
    let left = PLOT.left;
    let ly = HEIGHT as f32 - 10.0;
    for (dx, colour, label) in [
        (0.0, FAILURE, "failed attempts"),
        (130.0, SUCCESS, "successful logins"),
    ] {
        let x = (left + dx) as i64;
        c.rect(x, ly as i64 - 9, x + 10, ly as i64 + 1, colour);
        c.text(font, label, left + dx + 14.0, ly, 12.0, false);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axis_bounds_are_round() {
        assert_eq!(nice_max(0), 1);
        assert_eq!(4 * nice_max(3u64.div_ceil(4)), 4);
        assert_eq!(4 * nice_max(90u64.div_ceil(4)), 200);
        assert_eq!(nice_max(7), 10);
        assert_eq!(nice_max(11), 20);
        assert_eq!(nice_max(480), 500);
    }
}
