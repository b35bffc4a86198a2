//! The simulator's own OAuth 1.0a check, written apart from the client's signer so that a
//! signing mistake cannot cancel itself out: credentials come from the `Authorization` header
//! or from BrickLink's `Authorization` query parameter (a JSON object of already
//! percent-encoded values); the timestamp must be within five minutes and each nonce is
//! accepted once.

use std::collections::{BTreeMap, HashMap};

use base64::Engine as _;
use hmac::{Hmac, Mac as _};
use sha1::Sha1;

/// How far a request's clock may be from ours.
pub const WINDOW_SECONDS: i64 = 300;

/// A consumer with its token, as issued by the registration page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issued {
    pub consumer_key: String,
    pub consumer_secret: String,
    pub token: String,
    pub token_secret: String,
    /// `None` is BrickLink's `0.0.0.0` (any address).
    pub allowed_ip: Option<std::net::IpAddr>,
}

/// What a request carried.
pub struct Presented {
    pub params: BTreeMap<String, String>,
}

/// Encodes per RFC 3986 by hand: unreserved bytes stay, the rest become `%XX`.
fn rfc3986(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 3);
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// Decodes `%XX` (and nothing else: `+` stays a plus, as in header values).
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = text.get(i + 1..i + 3).filter(|_| bytes[i] == b'%');
        if let Some(byte) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
            out.push(byte);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Reads `OAuth realm="", oauth_consumer_key="...", ...` in any order and spacing.
pub fn from_header(value: &str) -> Option<Presented> {
    let rest = value.trim().strip_prefix("OAuth")?.trim();
    let mut params = BTreeMap::new();
    for part in rest.split(',') {
        let (name, quoted) = part.trim().split_once('=')?;
        let inner = quoted.trim().trim_matches('"');
        if name.trim() != "realm" {
            params.insert(name.trim().to_owned(), percent_decode(inner));
        }
    }
    Some(Presented { params })
}

/// Reads the query form: `Authorization={"oauth_signature":"...%3D", ...}`.
pub fn from_query_json(json: &str) -> Option<Presented> {
    let object: HashMap<String, String> = serde_json::from_str(json).ok()?;
    let params = object
        .into_iter()
        .map(|(k, v)| (k, percent_decode(&v)))
        .collect();
    Some(Presented { params })
}

/// The request being checked.
pub struct Request<'a> {
    pub method: &'a str,
    /// `scheme://host[:port]/path` as the caller addressed it.
    pub base_uri: &'a str,
    /// Decoded query pairs.
    pub query: &'a [(String, String)],
    pub peer: std::net::IpAddr,
    /// Unix seconds.
    pub now: i64,
}

/// The index of the issued consumer that signed `request`, or why it was refused, in
/// BrickLink's words.
pub fn verify(
    presented: &Presented,
    request: &Request<'_>,
    issued: &[Issued],
    nonces: &mut HashMap<String, i64>,
) -> Result<usize, String> {
    let Request {
        method,
        base_uri,
        query,
        peer,
        now,
    } = *request;
    let get = |name: &str| presented.params.get(name).map(String::as_str);
    for name in [
        "oauth_consumer_key",
        "oauth_token",
        "oauth_signature_method",
        "oauth_timestamp",
        "oauth_nonce",
        "oauth_version",
        "oauth_signature",
    ] {
        if get(name).is_none_or(str::is_empty) {
            return Err(format!("PARAMETER_MISSING: {name} is missing"));
        }
    }
    if get("oauth_signature_method") != Some("HMAC-SHA1") || get("oauth_version") != Some("1.0") {
        return Err("UNSUPPORTED_SIGNATURE_METHOD: only HMAC-SHA1 with version 1.0".into());
    }
    let consumer = get("oauth_consumer_key").unwrap_or_default();
    let index = issued
        .iter()
        .position(|i| i.consumer_key == consumer)
        .ok_or_else(|| format!("CONSUMER_KEY_UNKNOWN: consumer: {consumer}"))?;
    let account = &issued[index];
    if get("oauth_token") != Some(account.token.as_str()) {
        return Err(format!("TOKEN_VALUE_UNKNOWN: consumer: {consumer}"));
    }
    let stamp: i64 = get("oauth_timestamp")
        .and_then(|t| t.parse().ok())
        .ok_or("TIMESTAMP_INVALID: not a number")?;
    if (now - stamp).abs() > WINDOW_SECONDS {
        return Err(format!("TIMESTAMP_EXPIRED: {stamp} is too far from {now}"));
    }

    let mut pairs: Vec<(String, String)> = query
        .iter()
        .filter(|(k, _)| k != "Authorization")
        .map(|(k, v)| (rfc3986(k), rfc3986(v)))
        .collect();
    for (k, v) in &presented.params {
        if k != "oauth_signature" && k != "realm" {
            pairs.push((rfc3986(k), rfc3986(v)));
        }
    }
    pairs.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.cmp(&b.1)));
    let joined: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let base = format!(
        "{}&{}&{}",
        method.to_ascii_uppercase(),
        rfc3986(base_uri),
        rfc3986(&joined.join("&"))
    );
    let key = format!(
        "{}&{}",
        rfc3986(&account.consumer_secret),
        rfc3986(&account.token_secret)
    );
    let Ok(mut mac) = Hmac::<Sha1>::new_from_slice(key.as_bytes()) else {
        return Err("SIGNATURE_INVALID: Invalid Signature".into());
    };
    mac.update(base.as_bytes());
    let expected = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    if get("oauth_signature") != Some(expected.as_str()) {
        return Err("SIGNATURE_INVALID: Invalid Signature".into());
    }
    if let Some(allowed) = account.allowed_ip
        && allowed != peer
    {
        return Err(format!(
            "TOKEN_IP_MISMATCHED: consumer: {consumer} IP: {peer}"
        ));
    }
    nonces.retain(|_, at| (now - *at).abs() <= WINDOW_SECONDS);
    let nonce_key = format!("{consumer}/{}", get("oauth_nonce").unwrap_or_default());
    if nonces.insert(nonce_key, stamp).is_some() {
        return Err("NONCE_USED: that nonce was already used".into());
    }
    Ok(index)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn issued() -> Vec<Issued> {
        vec![Issued {
            consumer_key: "7CCDCEF257CF43D89A74A7E39BEAA1E1".into(),
            consumer_secret: "CONSUMERSECRET0000".into(),
            token: "AC40C8C32A1748E0AE1EFA13CCCFAC3A".into(),
            token_secret: "TOKENSECRET0000".into(),
            allowed_ip: None,
        }]
    }

    fn query(direction: &str) -> Vec<(String, String)> {
        [
            ("direction", direction),
            ("status", "-purged,-cancelled"),
            ("filed", "false"),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
    }

    fn check(
        presented: &Presented,
        query: &[(String, String)],
        issued: &[Issued],
        now: i64,
        nonces: &mut HashMap<String, i64>,
    ) -> Result<usize, String> {
        let request = Request {
            method: "GET",
            base_uri: "https://api.bricklink.com/api/store/v1/orders",
            query,
            peer: std::net::IpAddr::from([127, 0, 0, 1]),
            now,
        };
        verify(presented, &request, issued, nonces)
    }

    const HEADER: &str = "OAuth realm=\"\",oauth_consumer_key=\"7CCDCEF257CF43D89A74A7E39BEAA1E1\",oauth_token=\"AC40C8C32A1748E0AE1EFA13CCCFAC3A\",oauth_signature_method=\"HMAC-SHA1\",oauth_signature=\"wW81fW%2Fqf1Abk7uBMwyFSvAFNd8%3D\",oauth_timestamp=\"1700000000\",oauth_nonce=\"abc123nonce\",oauth_version=\"1.0\"";
    const JSON: &str = r#"{"oauth_signature":"wW81fW%2Fqf1Abk7uBMwyFSvAFNd8%3D","oauth_nonce":"abc123nonce","oauth_version":"1.0","oauth_consumer_key":"7CCDCEF257CF43D89A74A7E39BEAA1E1","oauth_signature_method":"HMAC-SHA1","oauth_token":"AC40C8C32A1748E0AE1EFA13CCCFAC3A","oauth_timestamp":"1700000000"}"#;

    #[test]
    fn accepts_the_reference_vector_once_in_the_header_form() {
        let presented = from_header(HEADER).expect("header");
        let mut nonces = HashMap::new();
        assert_eq!(
            check(
                &presented,
                &query("in"),
                &issued(),
                1_700_000_100,
                &mut nonces
            ),
            Ok(0)
        );
        assert_eq!(
            check(
                &presented,
                &query("in"),
                &issued(),
                1_700_000_100,
                &mut nonces
            ),
            Err("NONCE_USED: that nonce was already used".into()),
            "a replay is refused"
        );
    }

    #[test]
    fn accepts_the_query_json_form_and_refuses_what_is_off() {
        let presented = from_query_json(JSON).expect("json");
        assert_eq!(
            check(
                &presented,
                &query("in"),
                &issued(),
                1_700_000_000,
                &mut HashMap::new()
            ),
            Ok(0)
        );
        let late = check(
            &presented,
            &query("in"),
            &issued(),
            1_700_001_000,
            &mut HashMap::new(),
        );
        assert!(late.is_err_and(|e| e.starts_with("TIMESTAMP_EXPIRED")));
        let tampered = check(
            &presented,
            &query("out"),
            &issued(),
            1_700_000_000,
            &mut HashMap::new(),
        );
        assert_eq!(tampered, Err("SIGNATURE_INVALID: Invalid Signature".into()));
        let mut pinned = issued();
        pinned[0].allowed_ip = Some(std::net::IpAddr::from([10, 0, 0, 9]));
        let foreign = check(
            &presented,
            &query("in"),
            &pinned,
            1_700_000_000,
            &mut HashMap::new(),
        );
        assert!(foreign.is_err_and(|e| e.starts_with("TOKEN_IP_MISMATCHED: consumer: 7CCD")));
    }
}
