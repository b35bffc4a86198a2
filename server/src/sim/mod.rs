//! A faithful marketplace simulator: BrickLink Store API v1 and BrickOwl API v1 as
//! `docs/marketplace-apis.md` describes them, on one loopback port. Tests, the
//! demo and `brickdesk sim` use it; nothing in brickdesk ever needs the real marketplaces to
//! be exercised.
//!
//! It verifies OAuth with its own code ([`oauth`]), serves a deterministic world ([`data`]),
//! injects faults (latency, HTTP 503 HTML pages, 429s, hangs, malformed JSON, refused keys),
//! pushes notifications to callbacks, and counts calls per endpoint and the most it ever had
//! in flight. Control: `GET /_sim/stats`, `DELETE /_sim/stats`, `PUT /_sim/faults/{side}`,
//! `POST /_sim/orders`, `PUT /_sim/callbacks`, `GET /_sim/accounts`.

mod bricklink;
mod bricklink_inventory;
mod brickowl;
mod brickowl_inventory;
mod control;
pub mod data;
mod faults;
mod images;
pub mod inventory;
pub mod messages;
pub mod oauth;
mod sales;
mod server;

pub use faults::Faults;
pub use server::SimServer;

use std::{
    collections::{BTreeMap, HashMap, VecDeque},
    sync::{
        Arc, Mutex, MutexGuard,
        atomic::{AtomicU64, AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use data::{Flavour, Order, Rng};

/// Which simulated marketplace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    BrickLink,
    BrickOwl,
}

/// The shape of the world.
#[derive(Debug, Clone)]
pub struct SimConfig {
    pub seed: u64,
    /// Seller accounts, each with BrickLink keys and a BrickOwl key.
    pub accounts: usize,
    pub bricklink_orders: usize,
    pub brickowl_orders: usize,
    /// Lines per order; `None` for a realistic 1–8.
    pub lines: Option<usize>,
    /// Lots in each account's BrickLink store.
    pub lots: usize,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            seed: 42,
            accounts: 2,
            bricklink_orders: 30,
            brickowl_orders: 20,
            lines: None,
            lots: 60,
        }
    }
}

/// A simulated seller.
#[derive(Debug, Clone)]
pub struct Account {
    pub issued: oauth::Issued,
    pub brickowl_key: String,
    pub seller: String,
    pub store_id: i64,
    pub bricklink_orders: BTreeMap<i64, Order>,
    pub brickowl_orders: BTreeMap<i64, Order>,
    /// The BrickLink store's lots by inventory id.
    pub bricklink_lots: BTreeMap<i64, inventory::Lot>,
    /// The BrickOwl store's lots by lot id.
    pub brickowl_lots: BTreeMap<i64, inventory::OwlLot>,
    /// Every inventory change the account's stores took, in order, as `BL PUT {id}
    /// {"quantity":"+3"}`, `BL DELETE {id}` or `BO {lot_id} relative_quantity=-1 ...`: what
    /// tests compare the calls brickdesk made with.
    pub inventory_writes: Vec<String>,
    /// Unread BrickLink notifications: event type, resource id, time.
    pub notifications: Vec<(String, i64, OffsetDateTime)>,
    pub bricklink_callback: Option<String>,
    pub brickowl_notify: Option<String>,
    brickowl_minute: VecDeque<Instant>,
    /// Messages on BrickLink orders, by order.
    pub messages: BTreeMap<i64, Vec<messages::Message>>,
    /// Feedback on BrickLink orders, both ways.
    pub feedback: Vec<messages::Feedback>,
    /// Feedback the seller left on BrickOwl orders, by order.
    pub brickowl_feedback: BTreeMap<i64, messages::OwlFeedback>,
}

/// `GET /_sim/accounts` element: what a seller pastes into brickdesk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountKeys {
    pub seller: String,
    pub store_id: i64,
    pub bricklink: app::BrickLinkKeys,
    pub brickowl: app::BrickOwlKeys,
}

/// Calls of one side.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SideStats {
    /// Per `METHOD /path/{template}`.
    pub calls: BTreeMap<String, u64>,
    pub total: u64,
    pub in_flight: usize,
    pub max_in_flight: usize,
    /// Pushes sent to callbacks.
    pub pushes: u64,
}

/// `GET /_sim/stats`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimStats {
    pub bricklink: SideStats,
    pub brickowl: SideStats,
}

#[derive(Default)]
struct Counters {
    calls: Mutex<BTreeMap<String, u64>>,
    total: AtomicU64,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
    pushes: AtomicU64,
}

impl Counters {
    fn snapshot(&self) -> SideStats {
        SideStats {
            calls: lock(&self.calls).clone(),
            total: self.total.load(Ordering::SeqCst),
            in_flight: self.in_flight.load(Ordering::SeqCst),
            max_in_flight: self.max_in_flight.load(Ordering::SeqCst),
            pushes: self.pushes.load(Ordering::SeqCst),
        }
    }

    fn reset(&self) {
        lock(&self.calls).clear();
        self.total.store(0, Ordering::SeqCst);
        self.max_in_flight
            .store(self.in_flight.load(Ordering::SeqCst), Ordering::SeqCst);
        self.pushes.store(0, Ordering::SeqCst);
    }
}

/// A BrickLink list filter (`status`, `item_type`, ...): a comma list, `-` before a value to
/// exclude it.
struct ListFilter {
    include: Vec<String>,
    exclude: Vec<String>,
}

impl ListFilter {
    fn parse(value: Option<&str>) -> Self {
        let (mut include, mut exclude) = (Vec::new(), Vec::new());
        for part in value
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
        {
            match part.strip_prefix('-') {
                Some(out) => exclude.push(out.to_ascii_uppercase()),
                None => include.push(part.to_ascii_uppercase()),
            }
        }
        Self { include, exclude }
    }

    fn admits(&self, value: &str) -> bool {
        (self.include.is_empty() || self.include.iter().any(|v| v == value))
            && !self.exclude.iter().any(|v| v == value)
    }
}

/// The simulator; cheap to clone.
#[derive(Clone)]
pub struct Sim {
    inner: Arc<Inner>,
}

struct Inner {
    world: Mutex<World>,
    faults: Mutex<HashMap<Side, Faults>>,
    fault_rng: Mutex<Rng>,
    nonces: Mutex<HashMap<String, i64>>,
    bricklink: Counters,
    brickowl: Counters,
    http: reqwest::Client,
}

struct World {
    accounts: Vec<Account>,
    rng: Rng,
    next_order: i64,
}

impl Sim {
    /// A world from `config`; the same seed gives the same world.
    pub fn new(config: &SimConfig) -> Self {
        let mut rng = Rng::new(config.seed);
        let now = OffsetDateTime::now_utc()
            .replace_millisecond(0)
            .unwrap_or_else(|_| OffsetDateTime::now_utc());
        let mut next_order = 4_100_000;
        let accounts = (0..config.accounts.max(1))
            .map(|i| {
                let issued = oauth::Issued {
                    consumer_key: rng.hex32(),
                    consumer_secret: rng.hex32(),
                    token: rng.hex32(),
                    token_secret: rng.hex32(),
                    allowed_ip: None,
                };
                let bricklink_orders = data::orders(
                    &mut rng,
                    Flavour::BrickLink,
                    next_order,
                    config.bricklink_orders,
                    config.lines,
                    now,
                );
                next_order += config.bricklink_orders as i64;
                let brickowl_orders = data::orders(
                    &mut rng,
                    Flavour::BrickOwl,
                    next_order,
                    config.brickowl_orders,
                    config.lines,
                    now,
                );
                next_order += config.brickowl_orders as i64;
                let first_lot = inventory::FIRST_LOT + i as i64 * 1_000_000;
                // A generator of their own: the orders and keys stay what they were.
                let mut lot_rng = Rng::new(config.seed ^ 0x1075 ^ i as u64);
                let bricklink_lots = inventory::lots(&mut lot_rng, first_lot, config.lots, now);
                let first_owl = inventory::FIRST_OWL_LOT + i as i64 * 1_000_000;
                let brickowl_lots = inventory::owl_lots(&mut lot_rng, first_owl, &bricklink_lots);
                Account {
                    brickowl_key: rng.hex32().to_ascii_lowercase(),
                    seller: format!("sim_seller_{}", i + 1),
                    store_id: 26_925 + i as i64,
                    issued,
                    bricklink_orders,
                    brickowl_orders,
                    bricklink_lots,
                    brickowl_lots,
                    notifications: Vec::new(),
                    bricklink_callback: None,
                    brickowl_notify: None,
                    brickowl_minute: VecDeque::new(),
                    inventory_writes: Vec::new(),
                    messages: BTreeMap::new(),
                    feedback: Vec::new(),
                    brickowl_feedback: BTreeMap::new(),
                }
            })
            .collect();
        Self {
            inner: Arc::new(Inner {
                world: Mutex::new(World {
                    accounts,
                    rng: Rng::new(config.seed ^ 0xA5A5),
                    next_order,
                }),
                faults: Mutex::new(HashMap::new()),
                fault_rng: Mutex::new(Rng::new(config.seed ^ 0x5A5A)),
                nonces: Mutex::new(HashMap::new()),
                bricklink: Counters::default(),
                brickowl: Counters::default(),
                http: reqwest::Client::builder()
                    .timeout(Duration::from_secs(10))
                    .build()
                    .unwrap_or_default(),
            }),
        }
    }

    /// The keys of account `index`, as a seller would paste them.
    pub fn keys(&self, index: usize) -> Option<AccountKeys> {
        let world = lock(&self.inner.world);
        world.accounts.get(index).map(account_keys)
    }

    /// Every account's keys.
    pub fn all_keys(&self) -> Vec<AccountKeys> {
        lock(&self.inner.world)
            .accounts
            .iter()
            .map(account_keys)
            .collect()
    }

    /// Changes account `index`'s BrickLink lots as a seller would on BrickLink's site.
    pub fn edit_bricklink_lots<T>(
        &self,
        index: usize,
        edit: impl FnOnce(&mut BTreeMap<i64, inventory::Lot>) -> T,
    ) -> Option<T> {
        let mut world = lock(&self.inner.world);
        world
            .accounts
            .get_mut(index)
            .map(|a| edit(&mut a.bricklink_lots))
    }

    /// Changes account `index`'s BrickOwl lots as a seller would on BrickOwl's site.
    pub fn edit_brickowl_lots<T>(
        &self,
        index: usize,
        edit: impl FnOnce(&mut BTreeMap<i64, inventory::OwlLot>) -> T,
    ) -> Option<T> {
        let mut world = lock(&self.inner.world);
        world
            .accounts
            .get_mut(index)
            .map(|a| edit(&mut a.brickowl_lots))
    }

    /// The inventory changes account `index`'s stores took, in order (see
    /// [`Account::inventory_writes`]).
    pub fn inventory_writes(&self, index: usize) -> Vec<String> {
        lock(&self.inner.world)
            .accounts
            .get(index)
            .map(|a| a.inventory_writes.clone())
            .unwrap_or_default()
    }

    /// Sets what goes wrong on one side.
    pub fn set_faults(&self, side: Side, faults: Faults) {
        lock(&self.inner.faults).insert(side, faults);
    }

    /// Calls so far.
    pub fn stats(&self) -> SimStats {
        SimStats {
            bricklink: self.inner.bricklink.snapshot(),
            brickowl: self.inner.brickowl.snapshot(),
        }
    }

    /// Starts counting again.
    pub fn reset_stats(&self) {
        self.inner.bricklink.reset();
        self.inner.brickowl.reset();
    }

    /// Pins account `index`'s BrickLink token to one address (`None`: any).
    pub fn pin_ip(&self, index: usize, ip: Option<std::net::IpAddr>) {
        if let Some(account) = lock(&self.inner.world).accounts.get_mut(index) {
            account.issued.allowed_ip = ip;
        }
    }

    /// Where account `index`'s pushes go.
    pub fn set_callbacks(&self, index: usize, bricklink: Option<String>, brickowl: Option<String>) {
        if let Some(account) = lock(&self.inner.world).accounts.get_mut(index) {
            account.bricklink_callback = bricklink;
            account.brickowl_notify = brickowl;
        }
    }

    /// Puts VAT of `vat` hundredths of a percent (`2100`: 21 %) on order `id` of account
    /// `index` on `side`, as a marketplace collecting VAT would; whether the order exists.
    pub fn set_vat(&self, index: usize, side: Side, id: i64, vat: i64) -> bool {
        let mut world = lock(&self.inner.world);
        let Some(account) = world.accounts.get_mut(index) else {
            return false;
        };
        let orders = match side {
            Side::BrickLink => &mut account.bricklink_orders,
            Side::BrickOwl => &mut account.brickowl_orders,
        };
        orders.get_mut(&id).map(|o| o.vat = vat).is_some()
    }

    /// The orders account `index` has on one side.
    pub fn orders(&self, index: usize, side: Side) -> Vec<Order> {
        let world = lock(&self.inner.world);
        world
            .accounts
            .get(index)
            .map(|a| match side {
                Side::BrickLink => a.bricklink_orders.values().cloned().collect(),
                Side::BrickOwl => a.brickowl_orders.values().cloned().collect(),
            })
            .unwrap_or_default()
    }

    /// A buyer of account `index` pays BrickLink order `id` (payment status `Received`).
    /// As on BrickLink, neither the status nor its date changes and nothing is pushed: only a
    /// poll that reads the payment sees it. False when there is no such order.
    pub fn pay(&self, index: usize, id: i64) -> bool {
        let mut world = lock(&self.inner.world);
        let order = world
            .accounts
            .get_mut(index)
            .and_then(|a| a.bricklink_orders.get_mut(&id));
        match order {
            Some(order) => {
                order.payment_status = "Received".to_owned();
                true
            }
            None => false,
        }
    }

    /// A buyer places a new order with account `index`: it is stored, a notification is
    /// queued, and the push goes out (unless dropped by the faults). It buys from up to three
    /// of the store's lots in stock, which lose the pieces as the marketplace's own lots do
    /// ([`sales`]); a store without lots in stock sells catalogue items. Returns its id.
    pub fn place_order(&self, index: usize, side: Side) -> Option<i64> {
        self.new_order(index, side, None).ok()
    }

    /// A buyer buys `picks` (lot id on `side`, pieces) from account `index`: the order is
    /// placed and pushed as [`Sim::place_order`]'s, and the lots lose the pieces. Refused,
    /// changing nothing, when a lot is missing or holds fewer pieces.
    pub fn sell(&self, index: usize, side: Side, picks: &[(i64, i64)]) -> Result<i64, String> {
        self.new_order(index, side, Some(picks))
    }

    fn new_order(
        &self,
        index: usize,
        side: Side,
        picks: Option<&[(i64, i64)]>,
    ) -> Result<i64, String> {
        let now = OffsetDateTime::now_utc()
            .replace_millisecond(0)
            .unwrap_or_else(|_| OffsetDateTime::now_utc());
        let (id, push) = {
            let mut world = lock(&self.inner.world);
            let World {
                accounts,
                rng,
                next_order,
            } = &mut *world;
            let account = accounts
                .get_mut(index)
                .ok_or_else(|| format!("no account {index}"))?;
            let flavour = match side {
                Side::BrickLink => Flavour::BrickLink,
                Side::BrickOwl => Flavour::BrickOwl,
            };
            let id = *next_order;
            let mut order = data::order(rng, flavour, id, None, now);
            let picks = match picks {
                Some(picks) => picks.to_vec(),
                None => sales::pick(rng, account, side),
            };
            if !picks.is_empty() {
                order.batches = vec![sales::take(account, side, id, &picks)?];
            }
            *next_order += 1;
            order.changed = now;
            order.filed = false;
            order.status = match side {
                Side::BrickLink => "PENDING".into(),
                Side::BrickOwl => "0".into(),
            };
            let push = match side {
                Side::BrickLink => {
                    account.bricklink_orders.insert(id, order);
                    account.notifications.push(("Order".into(), id, now));
                    account
                        .bricklink_callback
                        .clone()
                        .map(|url| (url, Side::BrickLink))
                }
                Side::BrickOwl => {
                    account.brickowl_orders.insert(id, order);
                    account.brickowl_notify.clone().map(|url| {
                        let url = format!(
                            "{url}{}order_id={id}&store_id={}",
                            if url.contains('?') { '&' } else { '?' },
                            account.store_id
                        );
                        (url, Side::BrickOwl)
                    })
                }
            };
            (id, push)
        };
        if let Some((url, side)) = push {
            self.push(url, side, id, now);
        }
        Ok(id)
    }

    fn push(&self, url: String, side: Side, id: i64, now: OffsetDateTime) {
        let faults = self.faults(side);
        if lock(&self.inner.fault_rng).chance(faults.drop_pushes) {
            tracing::info!(%url, "simulator dropped a push on purpose");
            return;
        }
        let sim = self.clone();
        tokio::spawn(async move {
            let request = match side {
                Side::BrickLink => {
                    let request = sim.inner.http.post(&url);
                    if faults.push_body {
                        let stamp = now
                            .format(&time::format_description::well_known::Rfc3339)
                            .unwrap_or_default();
                        request.json(&serde_json::json!([{"event_type": "Order", "resource_id": id, "timestamp": stamp}]))
                    } else {
                        request
                    }
                }
                Side::BrickOwl => sim.inner.http.get(&url),
            };
            sim.counters(side).pushes.fetch_add(1, Ordering::SeqCst);
            if let Err(err) = request.send().await {
                tracing::info!(%err, %url, "simulator push not delivered");
            }
        });
    }

    fn faults(&self, side: Side) -> Faults {
        lock(&self.inner.faults)
            .get(&side)
            .cloned()
            .unwrap_or_default()
    }

    fn counters(&self, side: Side) -> &Counters {
        match side {
            Side::BrickLink => &self.inner.bricklink,
            Side::BrickOwl => &self.inner.brickowl,
        }
    }

    fn world(&self) -> MutexGuard<'_, World> {
        lock(&self.inner.world)
    }
}

fn account_keys(account: &Account) -> AccountKeys {
    AccountKeys {
        seller: account.seller.clone(),
        store_id: account.store_id,
        bricklink: app::BrickLinkKeys {
            consumer_key: account.issued.consumer_key.clone(),
            consumer_secret: account.issued.consumer_secret.clone(),
            token_value: account.issued.token.clone(),
            token_secret: account.issued.token_secret.clone(),
        },
        brickowl: app::BrickOwlKeys {
            api_key: account.brickowl_key.clone(),
        },
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}
