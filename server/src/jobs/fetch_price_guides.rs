//! `fetch_price_guides`: reads BrickLink's sold price guide (last six months) for lots a bulk
//! "price to the guide" edit wants and brickdesk does not keep yet, one call per item, colour
//! and condition, under the rate guard, into the catalogue cache the edit's preview reads.

use std::time::Duration;

use app::{Condition, Marketplace, QueueName, UserId, jobs::kinds};
use serde::{Deserialize, Serialize};

use super::{Job, Outcome};
use crate::{
    catalog::ItemColor,
    marketplace::{account::Account, guard::Priority},
    queue::{JobContext, JobError, RetryPolicy},
    services::Services,
};

/// The job.
pub struct FetchPriceGuides;

/// One guide: an item in a colour and condition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Guide {
    /// `PART`, `MINIFIG`, ...
    pub kind: String,
    pub no: String,
    pub color_id: i64,
    pub condition: Condition,
}

/// The job's input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Input {
    pub user: UserId,
    pub guides: Vec<Guide>,
}

/// Guides one job reads.
pub const PER_JOB: usize = 100;

impl Job for FetchPriceGuides {
    const KIND: &'static str = kinds::FETCH_PRICE_GUIDES;
    const POLICY: RetryPolicy = RetryPolicy {
        max_attempts: 6,
        timeout: Duration::from_secs(15 * 60),
        base: Duration::from_secs(10),
        cap: Duration::from_secs(30 * 60),
    };
    const QUEUE: QueueName = QueueName::Bulk;
    type Payload = Input;

    fn owner(input: &Input) -> UserId {
        input.user
    }

    async fn run(services: Services, ctx: JobContext, input: Input) -> Outcome {
        let Account::BrickLink(client) = services.account(input.user, Marketplace::BrickLink)?
        else {
            return Err(JobError::permanent(
                "the BrickLink account is not BrickLink's",
            ));
        };
        let total = input.guides.len();
        for (n, guide) in input.guides.iter().enumerate() {
            ctx.progress(
                u8::try_from(n * 100 / total.max(1)).unwrap_or(100),
                format!("price guide {} of {total}: {}", n + 1, guide.no),
            );
            let item = ItemColor {
                kind: &guide.kind,
                no: &guide.no,
                color_id: guide.color_id,
            };
            services
                .catalog
                .prices(
                    &client,
                    input.user,
                    &item,
                    &[guide.condition],
                    Priority::Background,
                )
                .await
                .map_err(|err| JobError::from((*err).clone()))?;
        }
        Ok(serde_json::json!({"guides": total}))
    }
}
