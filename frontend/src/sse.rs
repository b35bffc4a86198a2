//! One server-sent-events connection per logged-in session, feeding signals that pages react
//! to. The browser reconnects by itself; after a reconnect pages reload what they show, since
//! events sent in between were missed.

use app::{
    ConnectionView, OrderSummary, PartialMinifig,
    events::{
        CONNECTION_UPDATED, JOB_UPDATED, JobUpdated, ORDER_UPDATED, RESYNC, SYNC_UPDATED,
        SyncUpdated,
    },
    minifigs::MINIFIG_UPDATED,
    routes,
};
use leptos::prelude::*;
use send_wrapper::SendWrapper;
use wasm_bindgen::{JsCast as _, closure::Closure};
use web_sys::{EventSource, MessageEvent};

/// The live signals.
#[derive(Clone, Copy)]
pub struct LiveEvents {
    /// The latest job change.
    pub job: RwSignal<Option<JobUpdated>>,
    /// The latest new or changed order.
    pub order: RwSignal<Option<OrderSummary>>,
    /// The latest sync progress.
    pub sync: RwSignal<Option<SyncUpdated>>,
    /// The latest connection change.
    pub connection: RwSignal<Option<ConnectionView>>,
    /// The latest changed minifig.
    pub minifig: RwSignal<Option<PartialMinifig>>,
    /// Bumped when events may have been missed: reload.
    pub resync: RwSignal<u64>,
}

type Listener = Closure<dyn FnMut(MessageEvent)>;

/// Opens the stream for the lifetime of the calling component and provides [`LiveEvents`].
pub fn provide_live_events() -> LiveEvents {
    let live = LiveEvents {
        job: RwSignal::new(None),
        connection: RwSignal::new(None),
        order: RwSignal::new(None),
        sync: RwSignal::new(None),
        minifig: RwSignal::new(None),
        resync: RwSignal::new(0),
    };
    provide_context(live);
    let Ok(source) = EventSource::new(routes::EVENTS) else {
        return live;
    };

    let on_job = setter(live.job);
    let on_connection = setter(live.connection);
    let on_order = setter(live.order);
    let on_sync = setter(live.sync);
    let on_minifig = setter(live.minifig);
    let on_resync: Listener = Closure::new(move |_| live.resync.update(|n| *n += 1));
    let mut opened_before = false;
    let on_open: Listener = Closure::new(move |_| {
        if opened_before {
            live.resync.update(|n| *n += 1);
        }
        opened_before = true;
    });
    for (name, listener) in [
        (JOB_UPDATED, &on_job),
        (CONNECTION_UPDATED, &on_connection),
        (ORDER_UPDATED, &on_order),
        (SYNC_UPDATED, &on_sync),
        (MINIFIG_UPDATED, &on_minifig),
        (RESYNC, &on_resync),
        ("open", &on_open),
    ] {
        let _ = source.add_event_listener_with_callback(name, listener.as_ref().unchecked_ref());
    }
    let held = SendWrapper::new((
        source,
        [
            on_job,
            on_connection,
            on_order,
            on_sync,
            on_minifig,
            on_resync,
            on_open,
        ],
    ));
    on_cleanup(move || held.0.close());
    live
}

/// A listener that puts each event's JSON data, read as `T`, into `signal`.
fn setter<T>(signal: RwSignal<Option<T>>) -> Listener
where
    T: serde::de::DeserializeOwned + Send + Sync + 'static,
{
    Closure::new(move |event: MessageEvent| {
        let update = event
            .data()
            .as_string()
            .and_then(|d| serde_json::from_str::<T>(&d).ok());
        if let Some(update) = update {
            signal.set(Some(update));
        }
    })
}

/// The live signals from context.
pub fn use_live_events() -> LiveEvents {
    expect_context::<LiveEvents>()
}
