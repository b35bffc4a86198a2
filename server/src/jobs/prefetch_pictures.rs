//! `prefetch_pictures`: warms the picture cache for a newly arrived order, so its page shows
//! every item's picture at once. Runs on the `bulk` queue at background priority (it never
//! spends BrickLink's reserve); imports do not prefetch, or thousands of orders would spend
//! the day's budget on pictures nobody looked at.

use std::time::Duration;

use app::{OrderDetail, QueueName, UserId, jobs::kinds};
use serde::{Deserialize, Serialize};

use super::{Job, Outcome};
use crate::{
    marketplace::{MarketplaceError, guard::Priority},
    queue::{JobContext, JobError, QueueError, RetryPolicy},
    services::Services,
};

/// The job.
pub struct PrefetchPictures;

/// The job's input: pictures as (item type, item number, colour).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Input {
    pub user: UserId,
    pub pictures: Vec<(String, String, i64)>,
}

impl Job for PrefetchPictures {
    const KIND: &'static str = kinds::PREFETCH_PICTURES;
    const POLICY: RetryPolicy = RetryPolicy {
        max_attempts: 4,
        timeout: Duration::from_secs(300),
        base: Duration::from_secs(10),
        cap: Duration::from_secs(10 * 60),
    };
    const QUEUE: QueueName = QueueName::Bulk;
    type Payload = Input;

    fn owner(input: &Input) -> UserId {
        input.user
    }

    async fn run(services: Services, ctx: JobContext, input: Input) -> Outcome {
        let total = input.pictures.len();
        let (mut fetched, mut missing) = (0, 0);
        for (done, (kind, no, color)) in input.pictures.iter().enumerate() {
            let picture = services
                .pictures
                .get(input.user, kind, no, *color, Priority::Background)
                .await;
            match picture {
                Ok(_) => fetched += 1,
                Err(err) => match err.as_ref() {
                    MarketplaceError::NotFound(_) | MarketplaceError::Refused(_) => {
                        missing += 1;
                    }
                    other => return Err(JobError::from(other.clone())),
                },
            }
            let percent = u8::try_from((done + 1) * 100 / total.max(1)).unwrap_or(100);
            ctx.progress(percent, format!("{} of {total} pictures", done + 1));
        }
        Ok(serde_json::json!({"fetched": fetched, "missing": missing}))
    }
}

/// Queues the pictures of `order` that are not cached yet; nothing when all are.
pub async fn enqueue_for(
    services: &Services,
    user: UserId,
    order: &OrderDetail,
) -> Result<(), QueueError> {
    let mut wanted: Vec<(String, String, i64)> = order
        .lines
        .iter()
        .filter(|l| l.image.is_some())
        .map(|l| (l.item_type.clone(), l.item_no.clone(), l.color_id))
        .filter(|(kind, no, color)| !services.pictures.contains(kind, no, *color))
        .collect();
    wanted.sort();
    wanted.dedup();
    if wanted.is_empty() {
        return Ok(());
    }
    let input = Input {
        user,
        pictures: wanted,
    };
    super::enqueue::<PrefetchPictures>(&services.queue, &input)
        .await
        .map(drop)
}
