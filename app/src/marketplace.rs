//! The two marketplaces, a seller's connection to each, and the keys they paste in Settings.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::validate::InvalidInput;

/// A marketplace brickdesk talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Marketplace {
    #[serde(rename = "bricklink")]
    BrickLink,
    #[serde(rename = "brickowl")]
    BrickOwl,
}

impl Marketplace {
    /// Both, in display order.
    pub const ALL: [Self; 2] = [Self::BrickLink, Self::BrickOwl];

    /// The path and wire form: `bricklink`, `brickowl`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::BrickLink => "bricklink",
            Self::BrickOwl => "brickowl",
        }
    }

    /// The name people know: `BrickLink`, `BrickOwl`.
    pub fn label(self) -> &'static str {
        match self {
            Self::BrickLink => "BrickLink",
            Self::BrickOwl => "BrickOwl",
        }
    }

    /// The other one.
    pub fn other(self) -> Self {
        match self {
            Self::BrickLink => Self::BrickOwl,
            Self::BrickOwl => Self::BrickLink,
        }
    }

    /// Parses the path form.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.as_str() == text)
    }

    /// One byte for storage keys.
    pub fn tag(self) -> u8 {
        match self {
            Self::BrickLink => 1,
            Self::BrickOwl => 2,
        }
    }

    /// The marketplace of a storage tag.
    pub fn from_tag(tag: u8) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.tag() == tag)
    }
}

impl fmt::Display for Marketplace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// Where a connection stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ConnectionStatus {
    /// No keys saved.
    Absent,
    /// Keys saved; the background check has not answered yet.
    Pending,
    /// The marketplace accepted the keys.
    Valid,
    /// The marketplace refused the keys; `message` says why.
    Invalid,
}

impl ConnectionStatus {
    /// The wire form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Absent => "absent",
            Self::Pending => "pending",
            Self::Valid => "valid",
            Self::Invalid => "invalid",
        }
    }

    /// Whether calls may be made with the saved keys: they are saved and not refused (keys
    /// still being checked count, so "Sync now" and the scheduled poll agree).
    pub fn is_usable(self) -> bool {
        matches!(self, Self::Pending | Self::Valid)
    }
}

/// A catalogue item type, as BrickLink writes it (`PART`, `MINIFIG`, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum ItemType {
    Part,
    Minifig,
    Set,
    Gear,
    Book,
}

impl ItemType {
    /// Every type brickdesk shows pictures of.
    pub const ALL: [Self; 5] = [Self::Part, Self::Minifig, Self::Set, Self::Gear, Self::Book];

    /// The wire form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Part => "PART",
            Self::Minifig => "MINIFIG",
            Self::Set => "SET",
            Self::Gear => "GEAR",
            Self::Book => "BOOK",
        }
    }

    /// Reads the wire form in any letter case.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|t| t.as_str().eq_ignore_ascii_case(text))
    }
}

/// The circuit breaker guarding one account's calls to one marketplace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BreakerState {
    /// Calls flow.
    Closed,
    /// Calls wait: the marketplace failed repeatedly.
    Open,
    /// One probe call is allowed through to see whether it recovered.
    HalfOpen,
}

/// API calls of one account today (UTC) against the marketplace's allowance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiUsage {
    /// Calls made since midnight UTC.
    pub calls_today: u32,
    /// The daily allowance, when the marketplace has one (BrickLink: 5,000).
    pub daily_budget: Option<u32>,
    /// Calls per minute allowed, when limited that way (BrickOwl: 600).
    pub per_minute: Option<u32>,
    /// The breaker's state.
    pub breaker: BreakerState,
    /// When an open breaker lets the next probe through.
    #[serde(with = "time::serde::rfc3339::option")]
    pub retry_at: Option<time::OffsetDateTime>,
}

/// `GET /api/connections` element: one marketplace connection, secrets never included.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectionView {
    pub marketplace: Marketplace,
    /// Keys are saved.
    pub configured: bool,
    pub status: ConnectionStatus,
    /// The marketplace's reason when invalid, or what is happening.
    pub message: Option<String>,
    /// The URL to paste into the marketplace for push notifications.
    pub webhook_url: Option<String>,
    /// When orders were last synced.
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_sync_at: Option<time::OffsetDateTime>,
    /// When the keys were last checked.
    #[serde(with = "time::serde::rfc3339::option")]
    pub checked_at: Option<time::OffsetDateTime>,
    /// Today's calls and limits.
    pub usage: ApiUsage,
    /// Counts key saves (0 when absent), so a page can tell a stale view from a fresh one.
    pub generation: u64,
}

impl ConnectionView {
    /// Whether this view should replace `older` on a page that may receive views out of order
    /// (an event can overtake the answer to the save that caused it): a check's verdict is
    /// never overwritten by the "pending" of the same keys.
    pub fn supersedes(&self, older: &ConnectionView) -> bool {
        if self.status == ConnectionStatus::Absent || older.status == ConnectionStatus::Absent {
            return true;
        }
        if self.generation != older.generation {
            return self.generation > older.generation;
        }
        let settled = matches!(
            older.status,
            ConnectionStatus::Valid | ConnectionStatus::Invalid
        );
        !(settled && self.status == ConnectionStatus::Pending)
    }
}

/// `PUT /api/connections/bricklink`: the four values from BrickLink's API registration page.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrickLinkKeys {
    pub consumer_key: String,
    pub consumer_secret: String,
    pub token_value: String,
    pub token_secret: String,
}

impl fmt::Debug for BrickLinkKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BrickLinkKeys")
            .field("consumer_key", &self.consumer_key)
            .field("consumer_secret", &"<redacted>")
            .field("token_value", &self.token_value)
            .field("token_secret", &"<redacted>")
            .finish()
    }
}

impl BrickLinkKeys {
    /// Trims what was pasted and checks each value looks like a BrickLink key.
    pub fn parse(self) -> Result<Self, InvalidInput> {
        Ok(Self {
            consumer_key: key_value("consumer_key", "consumer key", &self.consumer_key)?,
            consumer_secret: key_value(
                "consumer_secret",
                "consumer secret",
                &self.consumer_secret,
            )?,
            token_value: key_value("token_value", "token value", &self.token_value)?,
            token_secret: key_value("token_secret", "token secret", &self.token_secret)?,
        })
    }
}

/// `PUT /api/connections/brickowl`: the API key from the BrickOwl account page.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrickOwlKeys {
    pub api_key: String,
}

impl fmt::Debug for BrickOwlKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BrickOwlKeys { api_key: <redacted> }")
    }
}

impl BrickOwlKeys {
    /// Trims what was pasted and checks it looks like a BrickOwl key.
    pub fn parse(self) -> Result<Self, InvalidInput> {
        Ok(Self {
            api_key: key_value("api_key", "API key", &self.api_key)?,
        })
    }
}

fn key_value(field: &'static str, name: &str, input: &str) -> Result<String, InvalidInput> {
    let value = input.trim();
    if value.is_empty() {
        return Err(InvalidInput::new(field, format!("Paste the {name}.")));
    }
    if value.len() > 128 || !value.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(InvalidInput::new(
            field,
            format!(
                "The {name} should be letters and digits only, as shown on the marketplace's page; \
                 check that nothing else was copied with it."
            ),
        ));
    }
    Ok(value.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(value: &str) -> BrickLinkKeys {
        BrickLinkKeys {
            consumer_key: value.into(),
            consumer_secret: "ABC".into(),
            token_value: "DEF".into(),
            token_secret: "0123".into(),
        }
    }

    #[test]
    fn keys_are_trimmed_and_checked() {
        let ok = keys("  7CCDCEF257CF43D89A74A7E39BEAA1E1\n").parse();
        assert_eq!(
            ok.map(|k| k.consumer_key).as_deref(),
            Ok("7CCDCEF257CF43D89A74A7E39BEAA1E1")
        );
        for bad in ["", "   ", "7CCD CEF2", "key\"", &"A".repeat(129)] {
            let err = keys(bad).parse().expect_err(bad);
            assert_eq!(err.field, "consumer_key");
        }
        assert!(BrickOwlKeys { api_key: "".into() }.parse().is_err());
    }

    #[test]
    fn secrets_never_reach_debug_output() {
        let shown = format!(
            "{:?} {:?}",
            keys("CK"),
            BrickOwlKeys {
                api_key: "SECRETKEY".into()
            }
        );
        assert!(
            !shown.contains("0123") && !shown.contains("SECRETKEY"),
            "{shown}"
        );
    }

    #[test]
    fn a_verdict_is_not_overwritten_by_the_pending_of_the_same_keys() {
        let view = |status, generation| ConnectionView {
            marketplace: Marketplace::BrickLink,
            configured: status != ConnectionStatus::Absent,
            status,
            message: None,
            webhook_url: None,
            last_sync_at: None,
            checked_at: None,
            usage: ApiUsage {
                calls_today: 0,
                daily_budget: None,
                per_minute: None,
                breaker: BreakerState::Closed,
                retry_at: None,
            },
            generation,
        };
        use ConnectionStatus::*;
        assert!(!view(Pending, 2).supersedes(&view(Valid, 2)));
        assert!(view(Valid, 2).supersedes(&view(Pending, 2)));
        assert!(
            view(Pending, 2).supersedes(&view(Pending, 2)),
            "a newer message"
        );
        assert!(view(Pending, 3).supersedes(&view(Invalid, 2)), "new keys");
        assert!(
            !view(Valid, 2).supersedes(&view(Pending, 3)),
            "an old verdict"
        );
        assert!(view(Absent, 0).supersedes(&view(Valid, 5)), "disconnected");
        assert!(
            view(Pending, 1).supersedes(&view(Absent, 0)),
            "connected again"
        );
    }

    #[test]
    fn marketplaces_round_trip_through_their_names_and_tags() {
        for m in Marketplace::ALL {
            assert_eq!(Marketplace::parse(m.as_str()), Some(m));
            assert_eq!(Marketplace::from_tag(m.tag()), Some(m));
            assert_eq!(
                serde_json::to_string(&m).ok(),
                Some(format!("\"{}\"", m.as_str()))
            );
        }
    }
}
