//! `validate_connection`: checks freshly saved keys with one cheap signed call, then marks the
//! connection valid or invalid with the marketplace's reason in words and tells the page.
//! While the marketplace is down the job retries (the status stays pending, saying so); while
//! the breaker is open it is parked without spending attempts.

use std::time::Duration;

use app::{BrickLinkKeys, BrickOwlKeys, ConnectionStatus, Marketplace, QueueName, UserId};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::{Deps, import_orders, sync_colors};
use crate::{
    connections,
    marketplace::{MarketplaceError, guard::Priority},
    queue::{Enqueued, JobContext, JobError, JobSpec, Queue, QueueError, RetryPolicy},
    store::StoreError,
};

pub const KIND: &str = "validate_connection";

const POLICY: RetryPolicy = RetryPolicy {
    max_attempts: 6,
    timeout: Duration::from_secs(90),
    base: Duration::from_secs(2),
    cap: Duration::from_secs(120),
};

/// The job's input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Input {
    pub user: UserId,
    pub marketplace: Marketplace,
    /// The saved keys' generation; an older check changes nothing.
    pub generation: u64,
}

/// Queues the check of `user`'s newly saved keys (one pending check per connection).
pub async fn enqueue(queue: &Queue, input: &Input) -> Result<Enqueued, QueueError> {
    let payload = serde_json::to_value(input).unwrap_or_default();
    queue
        .enqueue(
            JobSpec::new(KIND, payload)
                .queue(QueueName::Default)
                .priority(10)
                .owner(input.user)
                .key(format!(
                    "validate:{}:{}",
                    input.user,
                    input.marketplace.as_str()
                )),
        )
        .await
}

pub fn register(queue: &Queue, deps: Deps) {
    queue.register(KIND, POLICY, move |ctx: JobContext| {
        let deps = deps.clone();
        async move { run(&deps, &ctx).await }
    });
}

async fn run(deps: &Deps, ctx: &JobContext) -> Result<serde_json::Value, JobError> {
    let input: Input = ctx.payload()?;
    let (user, marketplace) = (input.user, input.marketplace);
    let connections_store = deps.store.connections();
    let Some(record) = connections_store
        .get(user, marketplace)
        .map_err(JobError::retryable)?
    else {
        return Ok(serde_json::json!({"skipped": "the connection was removed"}));
    };
    if record.generation != input.generation {
        return Ok(serde_json::json!({"skipped": "newer keys were saved"}));
    }
    ctx.progress(10, format!("asking {marketplace}"));
    let checked = match marketplace {
        Marketplace::BrickLink => {
            let keys: Result<BrickLinkKeys, _> = connections_store.keys(user, marketplace, &record);
            match keys {
                Ok(keys) => {
                    deps.marketplaces
                        .bricklink(user, keys.into())
                        .check(Priority::Interactive)
                        .await
                }
                Err(err) => return unreadable(deps, &input, &err),
            }
        }
        Marketplace::BrickOwl => {
            let keys: Result<BrickOwlKeys, _> = connections_store.keys(user, marketplace, &record);
            match keys {
                Ok(keys) => {
                    deps.marketplaces
                        .brickowl(user, keys.api_key)
                        .check(Priority::Interactive)
                        .await
                }
                Err(err) => return unreadable(deps, &input, &err),
            }
        }
    };
    match checked {
        Ok(()) => {
            let message = format!("Connected: {marketplace} accepted the keys.");
            settle(deps, &input, ConnectionStatus::Valid, message)?;
            // The first time keys work, bring in every order.
            if record.last_sync_at.is_none() {
                let import = import_orders::Input { user, marketplace };
                import_orders::enqueue(&deps.queue, &import)
                    .await
                    .map_err(JobError::retryable)?;
            }
            // Part rows need colour names; the table comes with the first BrickLink account.
            if marketplace == Marketplace::BrickLink && !deps.store.catalog().has_colors() {
                sync_colors::enqueue(&deps.queue, user)
                    .await
                    .map_err(JobError::retryable)?;
            }
            Ok(serde_json::json!({"status": "valid"}))
        }
        Err(MarketplaceError::BadCredentials(reason)) => {
            settle(
                deps,
                &input,
                ConnectionStatus::Invalid,
                refusal(marketplace, &reason),
            )?;
            Ok(serde_json::json!({"status": "invalid", "reason": reason}))
        }
        Err(MarketplaceError::Refused(reason)) => {
            let message = format!("{marketplace} refused the request: {reason}");
            settle(deps, &input, ConnectionStatus::Invalid, message)?;
            Ok(serde_json::json!({"status": "invalid", "reason": reason}))
        }
        Err(err) => {
            let last = ctx.attempt >= POLICY.max_attempts;
            let message = match &err {
                MarketplaceError::Gated { reason, .. } => {
                    format!("Waiting to check the keys: {reason}.")
                }
                _ if last => format!(
                    "{marketplace} could not be reached to check the keys ({err}). Save the keys again \
                     or retry the check on the Jobs page."
                ),
                _ => format!("{marketplace} did not answer ({err}); brickdesk keeps trying."),
            };
            settle(deps, &input, ConnectionStatus::Pending, message)?;
            Err(err.into())
        }
    }
}

/// The marketplace's reason for refusing keys, with what to do about it.
fn refusal(marketplace: Marketplace, reason: &str) -> String {
    if reason.starts_with("TOKEN_IP_MISMATCHED") {
        return format!(
            "{marketplace} accepts this token only from another IP address ({reason}). On \
             BrickLink's API registration page, register this server's address, or 0.0.0.0 for any."
        );
    }
    format!(
        "{marketplace} refused the keys ({reason}). Check that every value was copied completely."
    )
}

fn unreadable(deps: &Deps, input: &Input, err: &StoreError) -> Result<serde_json::Value, JobError> {
    settle(deps, input, ConnectionStatus::Invalid, err.to_string())?;
    Err(JobError::permanent(err))
}

fn settle(
    deps: &Deps,
    input: &Input,
    status: ConnectionStatus,
    message: String,
) -> Result<(), JobError> {
    let updated = deps
        .store
        .connections()
        .set_status(
            input.user,
            input.marketplace,
            input.generation,
            status,
            Some(message),
            OffsetDateTime::now_utc(),
        )
        .map_err(JobError::retryable)?;
    if updated.is_some() {
        connections::publish(deps, input.user, input.marketplace);
    }
    Ok(())
}
