//! `sync_colors`: copies BrickLink's colour table (one call) into the store, where part rows
//! find their colour names and swatches. Queued when a BrickLink connection proves valid and
//! weekly by the scheduler (`colors_cron`); one pending sync at a time for everyone, since the
//! table is the same for every account.

use std::time::Duration;

use app::{Color, Marketplace, QueueName, UserId, jobs::kinds};
use serde::{Deserialize, Serialize};

use super::{Job, Outcome};
use crate::{
    marketplace::{account::Account, guard::Priority},
    queue::{JobContext, JobError, RetryPolicy},
    services::Services,
};

/// The job.
pub struct SyncColors;

/// The job's input: whose account asks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Input {
    pub user: UserId,
}

impl Job for SyncColors {
    const KIND: &'static str = kinds::SYNC_COLORS;
    const POLICY: RetryPolicy = RetryPolicy {
        max_attempts: 6,
        timeout: Duration::from_secs(120),
        base: Duration::from_secs(30),
        cap: Duration::from_secs(30 * 60),
    };
    const QUEUE: QueueName = QueueName::Bulk;
    type Payload = Input;

    fn owner(input: &Input) -> UserId {
        input.user
    }

    fn key(_input: &Input) -> Option<String> {
        Some("sync_colors".to_owned())
    }

    async fn run(services: Services, _ctx: JobContext, input: Input) -> Outcome {
        let Account::BrickLink(client) = services.account(input.user, Marketplace::BrickLink)?
        else {
            return Err(JobError::Permanent("not a BrickLink account".into()));
        };
        let colors: Vec<Color> = client
            .colors(Priority::Background)
            .await?
            .into_iter()
            .map(|c| Color {
                id: c.color_id,
                name: c.color_name,
                code: c
                    .color_code
                    .map(|code| code.trim_start_matches('#').to_ascii_uppercase())
                    .filter(|code| !code.is_empty()),
            })
            .collect();
        services.store.catalog().replace_colors(&colors)?;
        Ok(serde_json::json!({"colors": colors.len()}))
    }
}
