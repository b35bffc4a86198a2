//! The web UI `scripts/ui.sh` built, embedded at build time (build.rs): each file
//! brotli-compressed once, sent as it is to browsers that take brotli, as gzip (made on first
//! use and kept) to those that take only gzip (browsers do not offer brotli over plain
//! `http://`, which is how most home installs are reached), else decoded. ETags, immutable
//! caching for the content-hashed files (the wasm parts live in `/pkg-<hash>/`), `index.html`
//! (never cached) for client-side routes such as `/settings`, and the Content-Security-Policy
//! that lets exactly this UI run.
//!
//! A crate did this before (memory-serve); it carried a brotli encoder for files that are never
//! compressed at run time, the largest part of a megabyte of the release binary.

use std::{io::Write as _, sync::OnceLock};

use axum::{
    Router,
    body::Body,
    extract::Request,
    http::{HeaderMap, HeaderValue, Method, StatusCode, header},
    response::{IntoResponse, Response},
};

use crate::error::ApiError;

/// Hashes of the inline scripts in the embedded `index.html` (the wasm loader).
const UI_SCRIPT_HASHES: &str = env!("BRICKDESK_UI_SCRIPT_HASHES");

/// What build.rs embedded: one entry per file of `dist/`.
struct Asset {
    /// Path from the site's root, `/index.html`.
    path: &'static str,
    content_type: &'static str,
    /// Quoted, from the content's SHA-256.
    etag: &'static str,
    /// The content, brotli-compressed.
    brotli: &'static [u8],
}

static ASSETS: &[Asset] = include!(concat!(env!("OUT_DIR"), "/ui_assets.rs"));

/// Each asset's decoded and gzip forms, made when first asked for.
struct Derived {
    plain: OnceLock<Vec<u8>>,
    gzip: OnceLock<Vec<u8>>,
}

fn derived(index: usize) -> &'static Derived {
    static DERIVED: OnceLock<Vec<Derived>> = OnceLock::new();
    &DERIVED.get_or_init(|| {
        ASSETS
            .iter()
            .map(|_| Derived {
                plain: OnceLock::new(),
                gzip: OnceLock::new(),
            })
            .collect()
    })[index]
}

/// How an answer's body is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Encoding {
    Brotli,
    Gzip,
    Identity,
}

/// Whether this binary carries the built UI or only the "build the UI" notice.
pub fn ui_built() -> bool {
    env!("BRICKDESK_UI_BUILT") == "true"
}

/// Router serving the embedded files; any other path gets `index.html` (client-side routes).
pub fn router() -> Router {
    Router::new().fallback(serve)
}

async fn serve(request: Request) -> Response {
    if request.method() != Method::GET && request.method() != Method::HEAD {
        return ApiError::MethodNotAllowed.into_response();
    }
    let path = request.uri().path();
    let index = match find(path) {
        Some(index) => index,
        // A part of another build (a page left open across an upgrade asks for the parts of
        // the UI it was loaded with): a 404, never the web page in its place.
        None if path.starts_with("/pkg-") => return ApiError::NotFound.into_response(),
        None => find("/index.html").expect("build.rs always embeds an index.html"),
    };
    let asset = &ASSETS[index];
    let is_page = asset.content_type.starts_with("text/html");
    let mut headers = HeaderMap::new();
    headers.insert(header::ETAG, HeaderValue::from_static(asset.etag));
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(if is_page {
            // A new release shows at once.
            "no-cache"
        } else {
            // Every other file is named by its content's hash, or lives in a folder that is.
            "max-age=31536000, immutable"
        }),
    );
    headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    if request
        .headers()
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|tag| {
            let tag = tag.trim();
            tag == "*" || tag.trim_start_matches("W/") == asset.etag
        })
    {
        return (StatusCode::NOT_MODIFIED, headers).into_response();
    }
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(asset.content_type),
    );
    let encoding = negotiate(request.headers());
    let body: &'static [u8] = match encoding {
        Encoding::Brotli => asset.brotli,
        Encoding::Gzip => gzip(index),
        Encoding::Identity => plain(index),
    };
    match encoding {
        Encoding::Brotli => {
            headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("br"));
        }
        Encoding::Gzip => {
            headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        }
        Encoding::Identity => {}
    }
    (StatusCode::OK, headers, Body::from(body)).into_response()
}

fn find(path: &str) -> Option<usize> {
    let path = if path == "/" { "/index.html" } else { path };
    ASSETS.iter().position(|asset| asset.path == path)
}

/// The best encoding the client accepts (`q=0` refuses one): brotli, then gzip, then none.
fn negotiate(headers: &HeaderMap) -> Encoding {
    let mut brotli = false;
    let mut gzip = false;
    for value in headers.get_all(header::ACCEPT_ENCODING) {
        let Ok(value) = value.to_str() else { continue };
        for item in value.split(',') {
            let mut parts = item.split(';');
            let name = parts.next().unwrap_or_default().trim();
            let refused = parts.any(|param| {
                param
                    .trim()
                    .strip_prefix("q=")
                    .and_then(|q| q.trim().parse::<f32>().ok())
                    .is_some_and(|q| q <= 0.0)
            });
            if refused {
                continue;
            }
            match name {
                "br" => brotli = true,
                "gzip" | "*" => gzip = true,
                _ => {}
            }
        }
    }
    if brotli {
        Encoding::Brotli
    } else if gzip {
        Encoding::Gzip
    } else {
        Encoding::Identity
    }
}

fn plain(index: usize) -> &'static [u8] {
    derived(index).plain.get_or_init(|| {
        let mut out = Vec::new();
        let mut compressed: &[u8] = ASSETS[index].brotli;
        brotli_decompressor::BrotliDecompress(&mut compressed, &mut out)
            .expect("build.rs compressed this asset with brotli");
        out
    })
}

fn gzip(index: usize) -> &'static [u8] {
    derived(index).gzip.get_or_init(|| {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        encoder
            .write_all(plain(index))
            .and_then(|()| encoder.finish())
            .expect("writing to memory cannot fail")
    })
}

/// The policy: own origin only, wasm compilation allowed, inline scripts only by hash.
pub fn content_security_policy() -> String {
    format!(
        "default-src 'self'; script-src 'self' 'wasm-unsafe-eval' {UI_SCRIPT_HASHES}; \
         style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; \
         font-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; \
         frame-ancestors 'none'"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accepting(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_str(value).unwrap(),
        );
        headers
    }

    #[test]
    fn the_best_accepted_encoding_is_chosen() {
        assert_eq!(negotiate(&accepting("gzip, deflate, br")), Encoding::Brotli);
        assert_eq!(negotiate(&accepting("gzip, deflate")), Encoding::Gzip);
        assert_eq!(negotiate(&accepting("br;q=0, gzip;q=0.5")), Encoding::Gzip);
        assert_eq!(negotiate(&accepting("identity")), Encoding::Identity);
        assert_eq!(negotiate(&HeaderMap::new()), Encoding::Identity);
    }

    #[test]
    fn every_embedded_file_decodes_and_gzips_to_its_content() {
        for (index, asset) in ASSETS.iter().enumerate() {
            let plain = plain(index);
            assert!(!plain.is_empty(), "{}", asset.path);
            let mut decoder = flate2::read::GzDecoder::new(gzip(index));
            let mut round = Vec::new();
            std::io::Read::read_to_end(&mut decoder, &mut round).unwrap();
            assert_eq!(round, plain, "{}", asset.path);
        }
        assert!(find("/").is_some() && find("/index.html").is_some());
    }
}
