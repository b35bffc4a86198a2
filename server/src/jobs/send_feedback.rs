//! `send_feedback`: leaves feedback for a buyer (BrickLink `POST /feedback`, BrickOwl
//! `order/feedback`) or replies to a buyer's feedback (BrickLink `POST /feedback/{id}/reply`),
//! then reads the conversation again. BrickOwl cannot show feedback back, so what was left
//! there is kept with the conversation.

use std::time::Duration;

use app::{Feedback, Marketplace, OrderRef, QueueName, Rating, UserId, jobs::kinds};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::{Job, Outcome, fetch_messages};
use crate::{
    marketplace::{account::Account, guard::Priority},
    queue::{JobContext, JobError, RetryPolicy},
    services::Services,
};

/// The job.
pub struct SendFeedback;

/// What to send.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Action {
    Leave { rating: Rating, comment: String },
    Reply { feedback_id: i64, reply: String },
}

/// The job's input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Input {
    pub user: UserId,
    pub marketplace: Marketplace,
    pub order_id: String,
    pub action: Action,
}

impl Job for SendFeedback {
    const KIND: &'static str = kinds::SEND_FEEDBACK;
    const POLICY: RetryPolicy = RetryPolicy {
        max_attempts: 6,
        timeout: Duration::from_secs(60),
        base: Duration::from_secs(2),
        cap: Duration::from_secs(10 * 60),
    };
    const QUEUE: QueueName = QueueName::Critical;
    type Payload = Input;

    fn owner(input: &Input) -> UserId {
        input.user
    }

    fn key(_input: &Input) -> Option<String> {
        // Never merged: each is something the seller wrote.
        None
    }

    async fn run(services: Services, ctx: JobContext, input: Input) -> Outcome {
        let account = services.account(input.user, input.marketplace)?;
        ctx.progress(30, format!("telling {}", input.marketplace));
        let order = OrderRef {
            marketplace: input.marketplace,
            order_id: input.order_id.clone(),
        };
        match (&account, &input.action) {
            (Account::BrickLink(client), Action::Leave { rating, comment }) => {
                client
                    .leave_feedback(
                        bricklink_id(&input.order_id)?,
                        rating.to_bricklink(),
                        comment,
                        Priority::Interactive,
                    )
                    .await?;
            }
            (Account::BrickLink(client), Action::Reply { feedback_id, reply }) => {
                client
                    .reply_feedback(*feedback_id, reply, Priority::Interactive)
                    .await?;
            }
            (Account::BrickOwl(client), Action::Leave { rating, comment }) => {
                client
                    .leave_feedback(
                        &input.order_id,
                        rating.to_brickowl(),
                        comment,
                        Priority::Interactive,
                    )
                    .await?;
                let conversations = services.store.conversations();
                let mut conversation = conversations.get(input.user, &order)?;
                conversation.left = Some(Feedback {
                    id: None,
                    from: "you".into(),
                    to: String::new(),
                    rating: *rating,
                    comment: comment.clone(),
                    reply: None,
                    at: OffsetDateTime::now_utc(),
                    from_seller: true,
                });
                conversations.put(input.user, &conversation)?;
            }
            (Account::BrickOwl(_), Action::Reply { .. }) => {
                return Err(JobError::permanent(
                    "BrickOwl's API has no replies to feedback",
                ));
            }
        }
        ctx.progress(70, "reading the conversation again");
        let conversation = fetch_messages::fetch(&services, input.user, &order).await?;
        Ok(serde_json::json!({"feedback": conversation.feedback.len()}))
    }
}

fn bricklink_id(order_id: &str) -> Result<i64, JobError> {
    order_id
        .parse()
        .map_err(|_| JobError::permanent("a BrickLink order id is a number"))
}
