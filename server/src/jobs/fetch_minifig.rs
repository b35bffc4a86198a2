//! `fetch_minifig`: looks a minifig up in BrickLink's catalogue, then fetches its parts, and
//! every part's picture and price guides (new and used, sold) concurrently: at most
//! [`PARTS_AT_ONCE`] parts in flight, each call still admitted by the account's guard, every
//! answer cache-first ([`crate::catalog`], [`crate::pictures`]). With a target minifig the job
//! fills it in as parts arrive and tells the page (`minifig.updated`); without one it only
//! warms the cache for a catalogue look-up.

use std::{collections::HashMap, sync::Arc, time::Duration};

use app::{
    Color, Condition, FetchState, ItemType, ListId, Marketplace, MinifigId, MinifigPart,
    PartialMinifig, UserId, events::LiveEvent, jobs::kinds,
};
use futures_util::StreamExt as _;
use serde::{Deserialize, Serialize};

use super::{Job, Outcome};
use crate::{
    catalog::{ItemColor, SubsetPart},
    connections::AccountError,
    marketplace::{MarketplaceError, account::Account, bricklink::BrickLink, guard::Priority},
    queue::{JobContext, JobError, RetryPolicy},
    services::Services,
};

/// Parts fetched at once; the BrickLink guard still caps calls in flight per account.
pub const PARTS_AT_ONCE: usize = 8;

/// The job.
pub struct FetchMinifig;

/// The job's input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Input {
    pub user: UserId,
    /// BrickLink item number.
    pub no: String,
    /// The minifig to fill in; none for a look-up.
    pub target: Option<(ListId, MinifigId)>,
}

/// One waiting fetch per minifig, or per user and item for a look-up; ahead of polling,
/// since a person watches it.
impl Job for FetchMinifig {
    const KIND: &'static str = kinds::FETCH_MINIFIG;
    const POLICY: RetryPolicy = RetryPolicy {
        max_attempts: 5,
        timeout: Duration::from_secs(300),
        base: Duration::from_secs(3),
        cap: Duration::from_secs(5 * 60),
    };
    const PRIORITY: i16 = 5;
    type Payload = Input;

    fn owner(input: &Input) -> UserId {
        input.user
    }

    fn key(input: &Input) -> Option<String> {
        Some(match input.target {
            Some((_, minifig)) => format!("minifig:{}", minifig.0),
            None => format!("catalog:{}:{}", input.user, input.no),
        })
    }

    async fn run(services: Services, ctx: JobContext, input: Input) -> Outcome {
        let outcome = fetch(&services, &ctx, &input).await;
        if let (Err(err), Some((list, minifig))) = (&outcome, input.target) {
            let last =
                matches!(err, JobError::Permanent(_)) || ctx.attempt >= Self::POLICY.max_attempts;
            if last {
                let message = err.to_string();
                update(&services, input.user, list, minifig, |m| {
                    m.fetch = FetchState::Failed {
                        message: message.clone(),
                    };
                    m.job = None;
                });
            }
        }
        outcome
    }
}

/// Fills in colour names and swatches from the synced colour table.
pub fn decorate(colors: &HashMap<i64, Color>, minifig: &mut PartialMinifig) {
    for part in &mut minifig.parts {
        if let Some(color) = colors.get(&part.color_id) {
            part.color_name = Some(color.name.clone());
            part.color_code.clone_from(&color.code);
        }
    }
}

/// Publishes the minifig to its owner's pages.
pub fn publish(services: &Services, user: UserId, mut minifig: PartialMinifig) {
    decorate(&services.store.catalog().color_table(), &mut minifig);
    services
        .events
        .publish(user, LiveEvent::Minifig(Box::new(minifig)));
}

fn update(
    services: &Services,
    user: UserId,
    list: ListId,
    minifig: MinifigId,
    change: impl FnMut(&mut PartialMinifig),
) -> Option<PartialMinifig> {
    match services
        .store
        .minifigs()
        .update_minifig(user, list, minifig, change)
    {
        Ok(Some(updated)) => {
            publish(services, user, updated.clone());
            Some(updated)
        }
        Ok(None) => None,
        Err(err) => {
            tracing::error!(%err, "cannot update a minifig");
            None
        }
    }
}

fn job_error(err: &Arc<MarketplaceError>, no: &str) -> JobError {
    match err.as_ref() {
        MarketplaceError::NotFound(_) => JobError::Permanent(format!(
            "BrickLink has no minifigure with the ID {no}; check the ID on bricklink.com."
        )),
        other => JobError::from(other.clone()),
    }
}

async fn fetch(services: &Services, ctx: &JobContext, input: &Input) -> Outcome {
    let user = input.user;
    if let Some((list, minifig)) = input.target {
        let id = ctx.id;
        let still_there = update(services, user, list, minifig, |m| {
            m.job = Some(id);
            if !matches!(m.fetch, FetchState::Loading { .. }) {
                m.fetch = FetchState::Loading { done: 0, total: 0 };
            }
        });
        if still_there.is_none() {
            return Ok(serde_json::json!({"skipped": "the minifig was deleted"}));
        }
    }
    let client = match services.account(user, Marketplace::BrickLink) {
        Ok(Account::BrickLink(client)) => client,
        Ok(Account::BrickOwl(_))
        | Err(
            AccountError::NotConnected(_)
            | AccountError::KeysRefused(_)
            | AccountError::Unreadable(..),
        ) => {
            return Err(JobError::Permanent(
                "Connect BrickLink in Settings: minifigures are looked up in its catalogue.".into(),
            ));
        }
        Err(err) => return Err(err.into()),
    };
    let priority = Priority::Interactive;
    ctx.progress(2, format!("looking up {}", input.no));
    // Both need only the number: ask at once.
    let (item, subsets) = tokio::join!(
        services
            .catalog
            .item(&client, ItemType::Minifig.as_str(), &input.no, priority),
        services.catalog.subsets(&client, &input.no, priority),
    );
    let item = item.map_err(|e| job_error(&e, &input.no))?;
    let subsets = subsets.map_err(|e| job_error(&e, &input.no))?;
    let total = u32::try_from(subsets.len()).unwrap_or(u32::MAX);
    if let Some((list, minifig)) = input.target {
        let name = item.name.clone();
        update(services, user, list, minifig, |m| {
            m.name = Some(name.clone());
            if m.parts.is_empty() {
                m.parts = new_parts(&subsets, m.condition);
            }
            m.fetch = FetchState::Loading {
                done: count_ready(&m.parts),
                total,
            };
        });
    }
    ctx.progress(10, format!("{total} parts"));

    // Only the price guides shown are asked for: a list's minifig and parts in their own
    // condition; a look-up (no list) shows both.
    let listed = match input.target {
        Some((list, minifig)) => services
            .store
            .minifigs()
            .minifig(user, list, minifig)
            .map_err(JobError::retryable)?,
        None => None,
    };
    let own_conditions = listed.as_ref().map_or(BOTH.to_vec(), |m| vec![m.condition]);
    // The minifig's own picture and prices, alongside its parts.
    let own = async {
        let prices = services
            .catalog
            .prices(
                &client,
                user,
                &ItemColor {
                    kind: ItemType::Minifig.as_str(),
                    no: &item.no,
                    color_id: 0,
                },
                &own_conditions,
                priority,
            )
            .await;
        let _ = services
            .pictures
            .get(user, ItemType::Minifig.as_str(), &item.no, 0, priority)
            .await;
        prices
    };
    let wanted = match (input.target, &listed) {
        (Some(_), Some(m)) => distinct(&m.parts),
        (Some(_), None) => Vec::new(),
        (None, _) => subsets
            .iter()
            .map(|p| (p.kind.clone(), p.no.clone(), p.color_id, BOTH.to_vec()))
            .collect(),
    };
    let parts = fetch_parts(services, ctx, input, &client, wanted, total);
    let (own, parts) = tokio::join!(own, parts);
    parts?;
    let own = own.map_err(|e| job_error(&e, &input.no))?;
    if let Some((list, minifig)) = input.target {
        update(services, user, list, minifig, |m| {
            m.prices = Some(own.clone());
            // A colour or condition changed while this ran has a fetch of its own queued
            // behind this one: the minifig stays loading until that one has the prices.
            let priced = |prices: Option<&app::Prices>, condition| {
                prices.is_some_and(|p: &app::Prices| p.has(condition))
            };
            let complete = priced(m.prices.as_ref(), m.condition)
                && m.parts
                    .iter()
                    .all(|p| priced(p.prices.as_ref(), p.condition));
            if complete {
                m.fetch = FetchState::Ready;
                m.job = None;
            } else {
                m.fetch = FetchState::Loading {
                    done: count_ready(&m.parts),
                    total: u32::try_from(m.parts.len()).unwrap_or(u32::MAX),
                };
            }
        });
    }
    Ok(serde_json::json!({"minifig": item.no, "parts": total}))
}

/// A part's item in one colour, and the conditions its price guides are wanted in.
type Wanted = (String, String, i64, Vec<Condition>);

/// Both conditions, for a look-up that shows both.
const BOTH: [Condition; 2] = [Condition::New, Condition::Used];

/// The (type, number, colour) of each part, once, with the conditions its parts are wanted in.
fn distinct(parts: &[MinifigPart]) -> Vec<Wanted> {
    let mut wanted: Vec<Wanted> = Vec::new();
    for p in parts {
        match wanted.iter_mut().find(|(kind, no, color, _)| {
            (kind.as_str(), no.as_str(), *color) == (&p.item_type, &p.item_no, p.color_id)
        }) {
            Some((.., conditions)) if !conditions.contains(&p.condition) => {
                conditions.push(p.condition);
            }
            Some(_) => {}
            None => wanted.push((
                p.item_type.clone(),
                p.item_no.clone(),
                p.color_id,
                vec![p.condition],
            )),
        }
    }
    wanted
}

fn count_ready(parts: &[MinifigPart]) -> u32 {
    u32::try_from(parts.iter().filter(|p| p.prices.is_some()).count()).unwrap_or(u32::MAX)
}

async fn fetch_parts(
    services: &Services,
    ctx: &JobContext,
    input: &Input,
    client: &BrickLink,
    wanted: Vec<Wanted>,
    total: u32,
) -> Result<(), JobError> {
    let user = input.user;
    let priority = Priority::Interactive;
    let mut results = futures_util::stream::iter(wanted)
        .map(|(kind, no, color, conditions)| async move {
            let item = ItemColor {
                kind: &kind,
                no: &no,
                color_id: color,
            };
            let (prices, _) = tokio::join!(
                services
                    .catalog
                    .prices(client, user, &item, &conditions, priority),
                services.pictures.get(user, &kind, &no, color, priority),
            );
            (kind, no, color, prices)
        })
        .buffer_unordered(PARTS_AT_ONCE);
    let mut done = 0u32;
    let mut failure = None;
    while let Some((kind, no, color, prices)) = results.next().await {
        let prices = match prices {
            Ok(prices) => prices,
            Err(err) => {
                failure.get_or_insert_with(|| JobError::from(err.as_ref().clone()));
                continue;
            }
        };
        done += 1;
        let percent = u8::try_from(10 + u64::from(done) * 90 / u64::from(total.max(1)))
            .unwrap_or(100)
            .min(99);
        ctx.progress(percent, format!("{done} of {total} parts"));
        if let Some((list, minifig)) = input.target {
            update(services, user, list, minifig, |m| {
                for part in &mut m.parts {
                    if part.item_type == kind && part.item_no == no && part.color_id == color {
                        part.prices = Some(prices.clone());
                    }
                }
                m.fetch = FetchState::Loading {
                    done: count_ready(&m.parts),
                    total: u32::try_from(m.parts.len()).unwrap_or(u32::MAX),
                };
            });
        }
    }
    failure.map_or(Ok(()), Err)
}

/// A minifig's parts as first added: every piece needed, in the minifig's condition.
fn new_parts(subsets: &[SubsetPart], condition: app::Condition) -> Vec<MinifigPart> {
    subsets
        .iter()
        .enumerate()
        .map(|(i, p)| MinifigPart {
            id: u32::try_from(i).unwrap_or(u32::MAX),
            item_type: p.kind.clone(),
            item_no: p.no.clone(),
            name: p.name.clone(),
            color_id: p.color_id,
            color_name: None,
            color_code: None,
            quantity: p.quantity,
            quantity_needed: p.quantity,
            quantity_collected: 0,
            condition,
            prices: None,
            image: app::routes::image(&p.kind, &p.no, p.color_id),
        })
        .collect()
}
