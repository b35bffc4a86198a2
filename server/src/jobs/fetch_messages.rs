//! `fetch_messages`: reads an order's messages and feedback from BrickLink (after a `Message`
//! or `Feedback` notification, or when the seller asks), keeps them and tells the user's
//! pages. A `Feedback` notification names the feedback, not the order: it is read first to
//! find the order. BrickOwl's API has no messages or feedback to read.

use std::time::Duration;

use app::{
    Conversation, Feedback, Marketplace, OrderMessage, OrderRef, Rating, UserId, events::LiveEvent,
    jobs::kinds,
};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::{Job, Outcome};
use crate::{
    marketplace::{account::Account, bricklink::wire, guard::Priority},
    queue::{JobContext, JobError, RetryPolicy},
    services::Services,
};

/// The job.
pub struct FetchMessages;

/// The job's input: the order, or the BrickLink feedback that names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Input {
    pub user: UserId,
    pub marketplace: Marketplace,
    #[serde(default)]
    pub order_id: Option<String>,
    #[serde(default)]
    pub feedback_id: Option<i64>,
}

impl Job for FetchMessages {
    const KIND: &'static str = kinds::FETCH_MESSAGES;
    const POLICY: RetryPolicy = RetryPolicy {
        max_attempts: 8,
        timeout: Duration::from_secs(60),
        base: Duration::from_secs(2),
        cap: Duration::from_secs(10 * 60),
    };
    type Payload = Input;

    fn owner(input: &Input) -> UserId {
        input.user
    }

    fn key(input: &Input) -> Option<String> {
        Some(match (&input.order_id, input.feedback_id) {
            (Some(order), _) => format!(
                "messages:{}:{}:{order}",
                input.user,
                input.marketplace.as_str()
            ),
            (None, feedback) => format!("messages:{}:feedback:{feedback:?}", input.user),
        })
    }

    async fn run(services: Services, ctx: JobContext, input: Input) -> Outcome {
        let order_id = match (&input.order_id, input.feedback_id) {
            (Some(order), _) => order.clone(),
            (None, Some(feedback)) => {
                let Account::BrickLink(client) =
                    services.account(input.user, Marketplace::BrickLink)?
                else {
                    return Err(JobError::permanent("not a BrickLink account"));
                };
                ctx.progress(20, "reading the feedback");
                let found = client.feedback(feedback, Priority::Interactive).await?;
                found
                    .order_id
                    .ok_or_else(|| JobError::permanent("the feedback names no order"))?
                    .to_string()
            }
            (None, None) => return Err(JobError::permanent("neither order nor feedback")),
        };
        let order = OrderRef {
            marketplace: input.marketplace,
            order_id,
        };
        ctx.progress(50, "reading the messages and feedback");
        let conversation = fetch(&services, input.user, &order).await?;
        Ok(serde_json::json!({
            "messages": conversation.messages.len(),
            "feedback": conversation.feedback.len(),
        }))
    }
}

/// Reads `order`'s messages and feedback, keeps them and publishes them.
pub async fn fetch(
    services: &Services,
    user: UserId,
    order: &OrderRef,
) -> Result<Conversation, JobError> {
    let store = &services.store;
    let mut conversation = store.conversations().get(user, order)?;
    if order.marketplace == Marketplace::BrickLink {
        let Account::BrickLink(client) = services.account(user, Marketplace::BrickLink)? else {
            return Err(JobError::permanent("not a BrickLink account"));
        };
        let id: i64 = order
            .order_id
            .parse()
            .map_err(|_| JobError::permanent("a BrickLink order id is a number"))?;
        let buyer = store
            .orders()
            .get(user, order.marketplace, &order.order_id)?
            .map(|o| o.summary.buyer);
        let messages = client.order_messages(id, Priority::Interactive).await?;
        let feedback = client.order_feedback(id, Priority::Interactive).await?;
        conversation.messages = messages
            .into_iter()
            .map(|m| OrderMessage {
                from_seller: buyer.as_deref().is_some_and(|b| b != m.from),
                subject: m.subject,
                body: m.body,
                from: m.from,
                to: m.to,
                sent_at: m.date_sent,
            })
            .collect();
        conversation.feedback = feedback.into_iter().map(feedback_of).collect();
    }
    conversation.fetched_at = Some(OffsetDateTime::now_utc());
    store.conversations().put(user, &conversation)?;
    services.events.publish(
        user,
        LiveEvent::Conversation(Box::new(conversation.clone())),
    );
    Ok(conversation)
}

fn feedback_of(f: wire::Feedback) -> Feedback {
    Feedback {
        id: Some(f.feedback_id),
        from_seller: f.rating_of_bs.eq_ignore_ascii_case("B"),
        from: f.from,
        to: f.to,
        rating: Rating::from_bricklink(f.rating),
        comment: f.comment,
        reply: f.reply.filter(|r| !r.trim().is_empty()),
        at: f.date_rated,
    }
}
