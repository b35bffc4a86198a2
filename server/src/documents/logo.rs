//! The seller's logo: a PNG sent as a `data:` URL, checked once when the template is saved and
//! decoded to 8-bit RGB (and its alpha, when it has one) for the PDF.

use base64::Engine as _;

/// A decoded logo.
pub struct Logo {
    pub width: u32,
    pub height: u32,
    /// Three bytes a pixel.
    pub rgb: Vec<u8>,
    /// One byte a pixel, when the picture is not opaque.
    pub alpha: Option<Vec<u8>>,
}

/// The most a logo may weigh as sent.
pub const MAX_BYTES: usize = 256 * 1024;
/// The largest side, in pixels.
pub const MAX_SIDE: u32 = 2_000;

const PREFIX: &str = "data:image/png;base64,";

/// Decodes a logo; the error says what is wrong in the seller's words.
pub fn decode(data_url: &str) -> Result<Logo, String> {
    let encoded = data_url
        .strip_prefix(PREFIX)
        .ok_or("The logo must be a PNG picture.")?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .map_err(|_| "The logo could not be read; choose the PNG file again.")?;
    if bytes.len() > MAX_BYTES {
        return Err(format!(
            "The logo is {} KB; at most {} KB, please.",
            bytes.len() / 1024,
            MAX_BYTES / 1024
        ));
    }
    let mut decoder = png::Decoder::new_with_limits(
        std::io::Cursor::new(bytes),
        png::Limits {
            bytes: 64 * 1024 * 1024,
        },
    );
    decoder.set_transformations(png::Transformations::normalize_to_color8());
    let unreadable = |_| "The logo is not a PNG picture brickdesk can read.".to_owned();
    let mut reader = decoder.read_info().map_err(unreadable)?;
    let (width, height) = (reader.info().width, reader.info().height);
    if width > MAX_SIDE || height > MAX_SIDE || width == 0 || height == 0 {
        return Err(format!(
            "The logo is {width} × {height} pixels; at most {MAX_SIDE} on each side, please."
        ));
    }
    let size = reader
        .output_buffer_size()
        .ok_or("The logo is too large to read.")?;
    let mut buffer = vec![0; size];
    let frame = reader.next_frame(&mut buffer).map_err(unreadable)?;
    buffer.truncate(frame.buffer_size());
    let pixels = (width * height) as usize;
    let (rgb, alpha) = match frame.color_type {
        png::ColorType::Rgb => (buffer, None),
        png::ColorType::Rgba => split(&buffer, 4, |p| [p[0], p[1], p[2]], |p| p[3]),
        png::ColorType::Grayscale => (buffer.iter().flat_map(|&g| [g, g, g]).collect(), None),
        png::ColorType::GrayscaleAlpha => split(&buffer, 2, |p| [p[0], p[0], p[0]], |p| p[1]),
        png::ColorType::Indexed => return Err("The logo's colours could not be read.".into()),
    };
    if rgb.len() != pixels * 3 {
        return Err("The logo could not be read; choose the PNG file again.".into());
    }
    Ok(Logo {
        width,
        height,
        rgb,
        alpha,
    })
}

fn split(
    buffer: &[u8],
    step: usize,
    color: impl Fn(&[u8]) -> [u8; 3],
    alpha: impl Fn(&[u8]) -> u8,
) -> (Vec<u8>, Option<Vec<u8>>) {
    let rgb = buffer.chunks_exact(step).flat_map(&color).collect();
    let mask: Vec<u8> = buffer.chunks_exact(step).map(alpha).collect();
    let opaque = mask.iter().all(|&a| a == 255);
    (rgb, (!opaque).then_some(mask))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png_of(width: u32, height: u32, color: png::ColorType, data: &[u8]) -> String {
        let mut out = Vec::new();
        {
            let mut encoder = png::Encoder::new(&mut out, width, height);
            encoder.set_color(color);
            encoder.set_depth(png::BitDepth::Eight);
            let mut writer = encoder.write_header().expect("header");
            writer.write_image_data(data).expect("data");
        }
        format!(
            "{PREFIX}{}",
            base64::engine::general_purpose::STANDARD.encode(out)
        )
    }

    #[test]
    fn a_png_decodes_to_rgb_with_its_alpha_and_the_rest_is_refused() {
        let rgba = png_of(
            2,
            1,
            png::ColorType::Rgba,
            &[255, 0, 0, 255, 0, 0, 255, 128],
        );
        let logo = decode(&rgba).expect("decodes");
        assert_eq!((logo.width, logo.height), (2, 1));
        assert_eq!(logo.rgb, [255, 0, 0, 0, 0, 255]);
        assert_eq!(logo.alpha, Some(vec![255, 128]));
        let gray = decode(&png_of(1, 1, png::ColorType::Grayscale, &[7])).expect("gray");
        assert_eq!((gray.rgb, gray.alpha), (vec![7, 7, 7], None));
        assert!(decode("data:image/jpeg;base64,AAAA").is_err());
        assert!(decode(&format!("{PREFIX}not base64!")).is_err());
        assert!(decode(&format!("{PREFIX}AAAA")).is_err());
    }
}
