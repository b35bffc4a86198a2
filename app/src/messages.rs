//! An order's conversation: the messages and feedback its marketplace holds, as brickdesk last
//! fetched them, and what the seller can do about them there through the API.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::{Marketplace, validate::InvalidInput};

/// One message on an order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderMessage {
    pub subject: String,
    pub body: String,
    pub from: String,
    pub to: String,
    #[serde(with = "time::serde::rfc3339")]
    pub sent_at: OffsetDateTime,
    /// Sent by the seller (not the buyer).
    pub from_seller: bool,
}

/// Praise, neutral or complaint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Rating {
    Praise,
    Neutral,
    Complaint,
}

impl Rating {
    /// BrickLink's number (0 praise, 1 neutral, 2 complaint).
    pub fn to_bricklink(self) -> i64 {
        match self {
            Self::Praise => 0,
            Self::Neutral => 1,
            Self::Complaint => 2,
        }
    }

    /// From BrickLink's number.
    pub fn from_bricklink(n: i64) -> Self {
        match n {
            0 => Self::Praise,
            1 => Self::Neutral,
            _ => Self::Complaint,
        }
    }

    /// BrickOwl's number (1 positive, 0 neutral, -1 negative).
    pub fn to_brickowl(self) -> i64 {
        match self {
            Self::Praise => 1,
            Self::Neutral => 0,
            Self::Complaint => -1,
        }
    }

    /// In a seller's words.
    pub fn label(self) -> &'static str {
        match self {
            Self::Praise => "Praise",
            Self::Neutral => "Neutral",
            Self::Complaint => "Complaint",
        }
    }
}

/// Feedback on an order, either way.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Feedback {
    /// The marketplace's id (BrickLink), for a reply.
    pub id: Option<i64>,
    pub from: String,
    pub to: String,
    pub rating: Rating,
    pub comment: String,
    pub reply: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// Left by the seller for the buyer.
    pub from_seller: bool,
}

/// What the marketplace's API lets a seller do from brickdesk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConversationAbilities {
    pub read_messages: bool,
    pub send_messages: bool,
    pub read_feedback: bool,
    pub leave_feedback: bool,
    pub reply_feedback: bool,
}

impl ConversationAbilities {
    /// What each marketplace's API offers (docs/marketplace-apis.md).
    pub fn of(marketplace: Marketplace) -> Self {
        match marketplace {
            Marketplace::BrickLink => Self {
                read_messages: true,
                send_messages: false,
                read_feedback: true,
                leave_feedback: true,
                reply_feedback: true,
            },
            Marketplace::BrickOwl => Self {
                read_messages: false,
                send_messages: false,
                read_feedback: false,
                leave_feedback: true,
                reply_feedback: false,
            },
        }
    }
}

/// `GET /api/orders/{marketplace}/{order_id}/messages`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conversation {
    pub marketplace: Marketplace,
    pub order_id: String,
    pub messages: Vec<OrderMessage>,
    pub feedback: Vec<Feedback>,
    /// When brickdesk last read them; `None` before the first read.
    #[serde(with = "time::serde::rfc3339::option")]
    pub fetched_at: Option<OffsetDateTime>,
    /// brickdesk left feedback that the marketplace could not show (BrickOwl: it has no API to
    /// read feedback back).
    #[serde(default)]
    pub left: Option<Feedback>,
    pub can: ConversationAbilities,
}

impl Conversation {
    /// Nothing fetched yet.
    pub fn empty(marketplace: Marketplace, order_id: String) -> Self {
        Self {
            marketplace,
            order_id,
            messages: Vec::new(),
            feedback: Vec::new(),
            fetched_at: None,
            left: None,
            can: ConversationAbilities::of(marketplace),
        }
    }

    /// The buyer wrote last and the seller has not answered.
    pub fn unanswered(&self) -> bool {
        self.messages
            .iter()
            .max_by_key(|m| m.sent_at)
            .is_some_and(|m| !m.from_seller)
    }

    /// The seller left feedback for the buyer.
    pub fn seller_left_feedback(&self) -> bool {
        self.left.is_some() || self.feedback.iter().any(|f| f.from_seller)
    }
}

/// The dashboard's card: orders whose buyer waits for an answer, and recently received orders
/// whose buyer has no feedback from the seller yet.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConversationCounts {
    pub unanswered: Vec<crate::OrderRef>,
    pub feedback_to_leave: Vec<crate::OrderRef>,
}

/// `POST /api/orders/{marketplace}/{order_id}/feedback`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaveFeedback {
    pub rating: Rating,
    pub comment: String,
}

/// `POST /api/orders/{marketplace}/{order_id}/feedback/{id}/reply`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeedbackReply {
    pub reply: String,
}

/// A feedback comment or reply: 1 to 120 plain characters (BrickOwl's limit; BrickLink's is
/// larger), trimmed.
pub fn feedback_text(field: &'static str, text: &str) -> Result<String, InvalidInput> {
    let text = text.trim();
    if text.is_empty() || text.chars().count() > 120 {
        return Err(InvalidInput::new(field, "Write 1 to 120 characters."));
    }
    if text
        .chars()
        .any(|c| c == '\n' || crate::validate::is_hidden_control(c))
    {
        return Err(InvalidInput::new(field, "One line of plain text, please."));
    }
    Ok(text.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratings_map_both_ways_and_text_is_checked() {
        for rating in [Rating::Praise, Rating::Neutral, Rating::Complaint] {
            assert_eq!(Rating::from_bricklink(rating.to_bricklink()), rating);
        }
        assert_eq!(Rating::Complaint.to_brickowl(), -1);
        assert_eq!(
            feedback_text("comment", "  Great buyer ").unwrap(),
            "Great buyer"
        );
        assert!(feedback_text("comment", "").is_err());
        assert!(feedback_text("comment", &"x".repeat(121)).is_err());
        assert!(feedback_text("comment", "a\nb").is_err());
    }
}
