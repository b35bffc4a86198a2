//! Opening a user's marketplace account for a job: the saved keys, unsealed, in a client.

use app::{BrickLinkKeys, BrickOwlKeys, ConnectionStatus, Marketplace, UserId};

use super::Deps;
use crate::{marketplace::account::Account, queue::JobError};

/// The account, or a permanent error when there is none to use.
pub fn open(deps: &Deps, user: UserId, marketplace: Marketplace) -> Result<Account, JobError> {
    let connections = deps.store.connections();
    let record = connections
        .get(user, marketplace)
        .map_err(JobError::retryable)?
        .ok_or_else(|| JobError::Permanent(format!("{marketplace} is not connected")))?;
    if record.status == ConnectionStatus::Invalid {
        return Err(JobError::Permanent(format!(
            "{marketplace} refused the saved keys; enter them again in Settings"
        )));
    }
    Ok(match marketplace {
        Marketplace::BrickLink => {
            let keys: BrickLinkKeys = connections
                .keys(user, marketplace, &record)
                .map_err(JobError::permanent)?;
            Account::BrickLink(deps.marketplaces.bricklink(user, keys.into()))
        }
        Marketplace::BrickOwl => {
            let keys: BrickOwlKeys = connections
                .keys(user, marketplace, &record)
                .map_err(JobError::permanent)?;
            Account::BrickOwl(deps.marketplaces.brickowl(user, keys.api_key))
        }
    })
}
