//! Small PNG pictures for the simulated catalogue: a square in the item's colour, so pages
//! show something real and caches have bytes to keep.

use axum::{
    extract::Path,
    http::{StatusCode, header},
    response::{IntoResponse, Response},
};

use super::data;

/// `GET /img/ItemImage/{code}/{color}/{file}`.
pub async fn image(Path((_code, color, file)): Path<(String, i64, String)>) -> Response {
    let (no, jpeg) = match (file.strip_suffix(".png"), file.strip_suffix(".jpg")) {
        (Some(no), _) => (no, false),
        (None, Some(no)) => (no, true),
        (None, None) => return StatusCode::NOT_FOUND.into_response(),
    };
    // Each picture is at one address only, as on BrickLink: a JPEG item has no .png.
    if data::JPEG_PICTURES.contains(&no) != jpeg {
        return StatusCode::NOT_FOUND.into_response();
    }
    if data::find_item("PART", no).is_none() && data::find_item("MINIFIG", no).is_none() {
        return StatusCode::NOT_FOUND.into_response();
    }
    let hex = data::color(color).map_or("A0A5A9", |c| c.hex);
    match png(hex) {
        Some(bytes) => ([(header::CONTENT_TYPE, "image/png")], bytes).into_response(),
        None => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

/// A 16×16 square of `hex` with a darker border.
pub fn png(hex: &str) -> Option<Vec<u8>> {
    let channel = |i: usize| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok();
    let rgb = [channel(0)?, channel(2)?, channel(4)?];
    let size = 16u32;
    let mut pixels = Vec::with_capacity((size * size * 3) as usize);
    for y in 0..size {
        for x in 0..size {
            let edge = x == 0 || y == 0 || x == size - 1 || y == size - 1;
            for c in rgb {
                pixels.push(if edge { c / 2 } else { c });
            }
        }
    }
    let mut out = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut out, size, size);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header().ok()?;
        writer.write_image_data(&pixels).ok()?;
    }
    Some(out)
}
