//! `brickdesk serve --demo`: the whole product with no marketplace account. The simulator runs
//! on a loopback port, the user `demo` (password `demo`) is created if absent and connected to
//! a simulated BrickLink and BrickOwl store, whose pushes point at this server's webhooks, and
//! the stores keep receiving new orders.

use std::time::Duration;

use app::{
    Marketplace,
    validate::{Email, Username},
};
use time::OffsetDateTime;
use tokio_util::sync::CancellationToken;

use crate::{
    auth::password,
    config::Config,
    connections::webhook_url,
    jobs::{
        self,
        fetch_minifig::{self, FetchMinifig},
        import_inventory::{self, ImportInventory},
        validate_connection::{self, ValidateConnection},
    },
    sim::{Side, Sim, SimConfig, SimServer},
    state::AppState,
    store::{NewUser, users::Creation},
};

/// The demo account's login and password.
pub const LOGIN: &str = "demo";

/// Where `serve --demo` keeps its data unless a data directory is given: never a real shop's.
pub const DATA_DIR: &str = "./brickdesk-demo";

/// Starts the simulator and points `config` at it.
pub async fn start_simulator(config: &mut Config) -> anyhow::Result<SimServer> {
    // A store of a few hundred lots to look through on the Inventory page.
    let world = SimConfig {
        lots: 300,
        ..SimConfig::default()
    };
    let sim = SimServer::start(Sim::new(&world), "127.0.0.1:0".parse()?).await?;
    config.bricklink_base_url = sim.bricklink_url();
    config.brickowl_base_url = sim.brickowl_url();
    config.demo = true;
    tracing::info!(simulator = %sim.addr, "demo mode: marketplaces are simulated");
    Ok(sim)
}

/// Creates the demo user (an administrator when it is the first account), connects it to
/// both simulated stores, and sends the stores' pushes to its webhooks.
pub async fn prepare(state: &AppState, sim: &SimServer) -> anyhow::Result<()> {
    let users = state.services.store.users();
    let user = match users.find_by_login(LOGIN)? {
        Some(user) => user,
        None => {
            let first = !users.setup_done()?;
            let user = users.create(
                NewUser {
                    username: Username::parse(LOGIN)?,
                    email: Email::parse("demo@example.com")?,
                    is_admin: first,
                    // Too short for a real account; the demo's password is public anyway.
                    password_hash: password::hash(LOGIN.to_owned()).await?,
                },
                Creation::Any,
            )?;
            tracing::info!("demo user created: log in as demo / demo");
            user
        }
    };
    let keys = sim
        .sim
        .keys(0)
        .ok_or_else(|| anyhow::anyhow!("the simulator has no seller"))?;
    let connections = state.services.store.connections();
    let now = OffsetDateTime::now_utc();
    for marketplace in Marketplace::ALL {
        if connections.get(user.id, marketplace)?.is_some() {
            continue;
        }
        let record = match marketplace {
            Marketplace::BrickLink => {
                connections.save_keys(user.id, marketplace, &keys.bricklink, now)?
            }
            Marketplace::BrickOwl => {
                connections.save_keys(user.id, marketplace, &keys.brickowl, now)?
            }
        };
        let input = validate_connection::Input {
            user: user.id,
            marketplace,
            generation: record.generation,
        };
        jobs::enqueue::<ValidateConnection>(&state.services.queue, &input).await?;
    }
    let hook = |marketplace| -> anyhow::Result<Option<String>> {
        Ok(connections
            .get(user.id, marketplace)?
            .map(|c| webhook_url(&state.services.public_base, marketplace, &c.webhook_token)))
    };
    sim.sim.set_callbacks(
        0,
        hook(Marketplace::BrickLink)?,
        hook(Marketplace::BrickOwl)?,
    );
    // Both stores' lots, read in the background, with stock sync on: the simulated buyers'
    // sales on one marketplace reach the other live.
    let inventory = state.services.store.inventory();
    if inventory.all(user.id)?.is_empty() {
        let input = import_inventory::Input { user: user.id };
        jobs::enqueue::<ImportInventory>(&state.services.queue, &input).await?;
        let settings = app::StockSyncSettings {
            enabled: true,
            ..app::StockSyncSettings::default()
        };
        inventory.set_stock_sync(user.id, settings)?;
    }
    // A list to look at: two minifigs whose parts load in the background; and, the first
    // time, a buyer's question on the newest BrickLink order.
    let minifigs = state.services.store.minifigs();
    if minifigs.lists(user.id)?.is_empty() {
        let newest = sim
            .sim
            .orders(0, crate::sim::Side::BrickLink)
            .into_iter()
            .max_by_key(|o| o.ordered)
            .map(|o| o.id);
        if let Some(order) = newest {
            sim.sim.buyer_writes(
                0,
                order,
                "Question about my order",
                "Hi! Could you combine this with my next order to save on shipping? Thanks!",
            );
        }
        let list = minifigs.create_list(
            user.id,
            "Demo: minifigs to complete".into(),
            Some("Added by demo mode; open a minifig to mark the parts you have.".into()),
        )?;
        for no in ["sw0001a", "cty0001"] {
            let new = crate::store::minifigs::NewMinifig {
                bricklink_id: no.into(),
                condition: app::Condition::Used,
                reference_id: None,
                notes: None,
            };
            if let Some(minifig) = minifigs.add_minifig(user.id, list.id, new)? {
                let input = fetch_minifig::Input {
                    user: user.id,
                    no: no.into(),
                    target: Some((list.id, minifig.id)),
                };
                jobs::enqueue::<FetchMinifig>(&state.services.queue, &input).await?;
            }
        }
    }
    state.services.store.flush().await?;
    tokio::spawn(demo_pick_list(
        state.services.store.clone(),
        user.id,
        user.username,
    ));
    Ok(())
}

/// A pick list to look at: once the first import has brought the orders in (their count
/// stops growing), up to eight paid orders on one list, unless the demo has lists already.
async fn demo_pick_list(store: crate::store::Store, user: app::UserId, username: String) {
    store.orders().loaded().await;
    let mut seen = usize::MAX;
    for _ in 0..120 {
        tokio::time::sleep(std::time::Duration::from_secs(2)).await;
        let count = store.orders().count(user);
        if count > 0 && count == seen {
            break;
        }
        seen = count;
    }
    let made = tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
        if !store.fulfilment().list(user)?.is_empty() {
            return Ok(());
        }
        let all_paid = app::NewPickList {
            orders: Vec::new(),
            all_paid: true,
        };
        let mut orders = crate::picking::chosen_orders(&store, user, &all_paid)?;
        orders.truncate(8);
        let locator = crate::picking::Locator::new("")?;
        let lines = crate::picking::build(&store, user, &orders, &locator)?;
        store.fulfilment().create(user, &username, orders, lines)?;
        store.flush_blocking()?;
        Ok(())
    })
    .await;
    match made {
        Ok(Ok(())) => {}
        Ok(Err(err)) => tracing::warn!(%err, "the demo's pick list was not made"),
        Err(err) => tracing::warn!(%err, "the demo's pick list was not made"),
    }
}

/// Places a new order in a simulated store every 30–90 seconds until `stop`.
pub async fn keep_selling(sim: Sim, stop: CancellationToken) {
    let mut turn: u64 = 0;
    loop {
        turn += 1;
        let wait = Duration::from_secs(30 + (turn * 37) % 61);
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            () = stop.cancelled() => return,
        }
        let side = if turn.is_multiple_of(3) {
            Side::BrickOwl
        } else {
            Side::BrickLink
        };
        if let Some(id) = sim.place_order(0, side) {
            tracing::info!(order = id, ?side, "demo: a simulated buyer placed an order");
        }
    }
}
