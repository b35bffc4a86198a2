//! `validate_connection`: checks freshly saved keys with one cheap signed call, then marks the
//! connection valid or invalid with the marketplace's reason in words and tells the page.
//! While the marketplace is down the job retries (the status stays pending, saying so); while
//! the breaker is open it is parked without spending attempts.

use std::time::Duration;

use app::{BrickLinkKeys, BrickOwlKeys, ConnectionStatus, Marketplace, UserId, jobs::kinds};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::{Job, Outcome, import_orders::ImportOrders, sync_colors::SyncColors};
use crate::{
    marketplace::{MarketplaceError, guard::Priority},
    queue::{JobContext, JobError, RetryPolicy},
    services::Services,
    store::StoreError,
};

/// The job.
pub struct ValidateConnection;

/// The job's input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Input {
    pub user: UserId,
    pub marketplace: Marketplace,
    /// The saved keys' generation; an older check changes nothing.
    pub generation: u64,
}

/// One pending check per connection, ahead of other default work.
impl Job for ValidateConnection {
    const KIND: &'static str = kinds::VALIDATE_CONNECTION;
    const POLICY: RetryPolicy = RetryPolicy {
        max_attempts: 6,
        timeout: Duration::from_secs(90),
        base: Duration::from_secs(2),
        cap: Duration::from_secs(120),
    };
    const PRIORITY: i16 = 10;
    type Payload = Input;

    fn owner(input: &Input) -> UserId {
        input.user
    }

    fn key(input: &Input) -> Option<String> {
        Some(format!(
            "validate:{}:{}",
            input.user,
            input.marketplace.as_str()
        ))
    }

    async fn run(services: Services, ctx: JobContext, input: Input) -> Outcome {
        check(&services, &ctx, input).await
    }
}

async fn check(deps: &Services, ctx: &JobContext, input: Input) -> Outcome {
    let (user, marketplace) = (input.user, input.marketplace);
    let connections_store = deps.store.connections();
    let Some(record) = connections_store.get(user, marketplace)? else {
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
            settle(deps, &input, ConnectionStatus::Valid, &message)?;
            // The first time keys work, bring in every order.
            if record.last_sync_at.is_none() {
                let import = super::import_orders::Input { user, marketplace };
                super::enqueue::<ImportOrders>(&deps.queue, &import).await?;
            }
            // Part rows need colour names; the table comes with the first BrickLink account.
            if marketplace == Marketplace::BrickLink && !deps.store.catalog().has_colors() {
                super::enqueue::<SyncColors>(&deps.queue, &super::sync_colors::Input { user })
                    .await?;
            }
            Ok(serde_json::json!({"status": "valid"}))
        }
        Err(MarketplaceError::BadCredentials(reason)) => {
            settle(
                deps,
                &input,
                ConnectionStatus::Invalid,
                &refusal(marketplace, &reason),
            )?;
            Ok(serde_json::json!({"status": "invalid", "reason": reason}))
        }
        Err(MarketplaceError::Refused(reason)) => {
            let message = format!("{marketplace} refused the request: {reason}");
            settle(deps, &input, ConnectionStatus::Invalid, &message)?;
            Ok(serde_json::json!({"status": "invalid", "reason": reason}))
        }
        Err(err) => {
            let last = ctx.attempt >= ValidateConnection::POLICY.max_attempts;
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
            settle(deps, &input, ConnectionStatus::Pending, &message)?;
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

fn unreadable(
    deps: &Services,
    input: &Input,
    err: &StoreError,
) -> Result<serde_json::Value, JobError> {
    settle(deps, input, ConnectionStatus::Invalid, &err.to_string())?;
    Err(JobError::permanent(err))
}

fn settle(
    deps: &Services,
    input: &Input,
    status: ConnectionStatus,
    message: &str,
) -> Result<(), JobError> {
    let updated = deps.store.connections().set_status(
        input.user,
        input.marketplace,
        input.generation,
        status,
        Some(message),
        OffsetDateTime::now_utc(),
    )?;
    if updated.is_some() {
        deps.publish_connection(input.user, input.marketplace);
    }
    Ok(())
}
