//! OAuth 1.0a HMAC-SHA1 request signing as BrickLink expects it: the consumer and the access
//! token are issued together on BrickLink's registration page, so there is no token dance,
//! only a signed `Authorization` header on every request. The query is signed, the JSON body
//! is not (RFC 5849 §3.4.1 signs only form bodies).

use base64::Engine as _;
use hmac::{Hmac, Mac as _};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use sha1::Sha1;

/// RFC 3986 unreserved characters stay; every other byte becomes `%XX` (uppercase).
const RFC3986: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The four values from BrickLink's API registration page.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub consumer_key: String,
    pub consumer_secret: String,
    pub token: String,
    pub token_secret: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("consumer_key", &self.consumer_key)
            .field("token", &self.token)
            .finish_non_exhaustive()
    }
}

impl From<app::BrickLinkKeys> for Credentials {
    fn from(keys: app::BrickLinkKeys) -> Self {
        Self {
            consumer_key: keys.consumer_key,
            consumer_secret: keys.consumer_secret,
            token: keys.token_value,
            token_secret: keys.token_secret,
        }
    }
}

/// What varies per request: the clock and a fresh nonce.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stamp {
    pub timestamp: u64,
    pub nonce: String,
}

impl Stamp {
    /// Now, with 16 random lowercase letters and digits.
    pub fn fresh() -> Self {
        const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
        let mut bytes = [0u8; 16];
        // getrandom only fails on exotic platforms; a fixed nonce would just be refused.
        let _ = getrandom::fill(&mut bytes);
        let nonce = bytes
            .iter()
            .map(|b| char::from(ALPHABET[usize::from(*b) % ALPHABET.len()]))
            .collect();
        let timestamp = time::OffsetDateTime::now_utc().unix_timestamp().max(0) as u64;
        Self { timestamp, nonce }
    }
}

fn encode(text: &str) -> String {
    utf8_percent_encode(text, RFC3986).to_string()
}

/// `scheme://host[:port]/path` with the port only when it is not the scheme's default.
fn base_uri(url: &url::Url) -> String {
    let host = url.host_str().unwrap_or_default();
    match url.port() {
        Some(port) => format!("{}://{host}:{port}{}", url.scheme(), url.path()),
        None => format!("{}://{host}{}", url.scheme(), url.path()),
    }
}

fn oauth_params(creds: &Credentials, stamp: &Stamp) -> [(&'static str, String); 6] {
    [
        ("oauth_consumer_key", creds.consumer_key.clone()),
        ("oauth_nonce", stamp.nonce.clone()),
        ("oauth_signature_method", "HMAC-SHA1".into()),
        ("oauth_timestamp", stamp.timestamp.to_string()),
        ("oauth_token", creds.token.clone()),
        ("oauth_version", "1.0".into()),
    ]
}

/// The signature base string of RFC 5849 §3.4.1.
pub fn base_string(method: &str, url: &url::Url, creds: &Credentials, stamp: &Stamp) -> String {
    let mut params: Vec<(String, String)> = url
        .query_pairs()
        .map(|(k, v)| (encode(&k), encode(&v)))
        .chain(
            oauth_params(creds, stamp)
                .into_iter()
                .map(|(k, v)| (encode(k), encode(&v))),
        )
        .collect();
    params.sort();
    let normalized = params
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    format!(
        "{}&{}&{}",
        method.to_ascii_uppercase(),
        encode(&base_uri(url)),
        encode(&normalized)
    )
}

/// `base64(HMAC-SHA1(enc(consumer_secret)&enc(token_secret), base_string))`.
pub fn signature(method: &str, url: &url::Url, creds: &Credentials, stamp: &Stamp) -> String {
    let key = format!(
        "{}&{}",
        encode(&creds.consumer_secret),
        encode(&creds.token_secret)
    );
    #[allow(clippy::expect_used)] // HMAC accepts keys of any length.
    let mut mac = Hmac::<Sha1>::new_from_slice(key.as_bytes()).expect("any key length");
    mac.update(base_string(method, url, creds, stamp).as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// The `Authorization: OAuth ...` header value for one request.
pub fn authorization(method: &str, url: &url::Url, creds: &Credentials, stamp: &Stamp) -> String {
    let signature = signature(method, url, creds, stamp);
    let mut parts: Vec<String> = oauth_params(creds, stamp)
        .iter()
        .map(|(k, v)| format!("{k}=\"{}\"", encode(v)))
        .collect();
    parts.push(format!("oauth_signature=\"{}\"", encode(&signature)));
    format!("OAuth realm=\"\", {}", parts.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(text: &str) -> url::Url {
        url::Url::parse(text).expect("url")
    }

    fn bricklink_creds() -> Credentials {
        Credentials {
            consumer_key: "7CCDCEF257CF43D89A74A7E39BEAA1E1".into(),
            consumer_secret: "CONSUMERSECRET0000".into(),
            token: "AC40C8C32A1748E0AE1EFA13CCCFAC3A".into(),
            token_secret: "TOKENSECRET0000".into(),
        }
    }

    fn stamp(timestamp: u64, nonce: &str) -> Stamp {
        Stamp {
            timestamp,
            nonce: nonce.into(),
        }
    }

    #[test]
    fn oauth_core_appendix_a_vector() {
        let creds = Credentials {
            consumer_key: "dpf43f3p2l4k3l03".into(),
            consumer_secret: "kd94hf93k423kf44".into(),
            token: "nnch734d00sl2jdk".into(),
            token_secret: "pfkkdhi9sl3r4s00".into(),
        };
        let signed = signature(
            "GET",
            &url("http://photos.example.net/photos?file=vacation.jpg&size=original"),
            &creds,
            &stamp(1_191_242_096, "kllo9940pd9333jh"),
        );
        assert_eq!(signed, "tR3+Ty81lMeYAr/Fid0kMTYa/WM=");
    }

    #[test]
    fn bricklink_orders_vector_with_its_base_string() {
        let target = url(
            "https://api.bricklink.com/api/store/v1/orders?direction=in&status=-purged,-cancelled&filed=false",
        );
        let stamp = stamp(1_700_000_000, "abc123nonce");
        assert_eq!(
            base_string("GET", &target, &bricklink_creds(), &stamp),
            "GET&https%3A%2F%2Fapi.bricklink.com%2Fapi%2Fstore%2Fv1%2Forders&direction%3Din%26filed%3Dfalse%26oauth_consumer_key%3D7CCDCEF257CF43D89A74A7E39BEAA1E1%26oauth_nonce%3Dabc123nonce%26oauth_signature_method%3DHMAC-SHA1%26oauth_timestamp%3D1700000000%26oauth_token%3DAC40C8C32A1748E0AE1EFA13CCCFAC3A%26oauth_version%3D1.0%26status%3D-purged%252C-cancelled"
        );
        assert_eq!(
            signature("GET", &target, &bricklink_creds(), &stamp),
            "wW81fW/qf1Abk7uBMwyFSvAFNd8="
        );
        let header = authorization("GET", &target, &bricklink_creds(), &stamp);
        assert!(
            header.contains("oauth_signature=\"wW81fW%2Fqf1Abk7uBMwyFSvAFNd8%3D\""),
            "{header}"
        );
        assert!(header.starts_with("OAuth realm=\"\", oauth_consumer_key="));
    }

    #[test]
    fn bricklink_status_update_vector_signs_no_body() {
        let signed = signature(
            "put",
            &url("https://api.bricklink.com/api/store/v1/orders/3986441/status"),
            &bricklink_creds(),
            &stamp(1_700_000_000, "abc123nonce"),
        );
        assert_eq!(signed, "gkB4kBmNVHmfqHFXHvEeMeutdrA=");
    }

    #[test]
    fn non_default_ports_are_part_of_the_base_uri() {
        assert_eq!(
            base_uri(&url("http://127.0.0.1:4100/api/store/v1/orders?x=1")),
            "http://127.0.0.1:4100/api/store/v1/orders"
        );
        assert_eq!(
            base_uri(&url("https://h.example:443/p")),
            "https://h.example/p"
        );
    }

    #[test]
    fn fresh_stamps_differ() {
        let (a, b) = (Stamp::fresh(), Stamp::fresh());
        assert_ne!(a.nonce, b.nonce);
        assert_eq!(a.nonce.len(), 16);
    }
}
