//! One server-sent-events connection per logged-in session, feeding signals that pages react
//! to. Every event is read through [`LiveEvent`], so a name only ever carries its own payload.
//! The browser reconnects by itself; after a reconnect pages reload what they show, since
//! events sent in between were missed.

use app::{
    ConnectionView, Conversation, OrderSummary, PartialMinifig, PickTicked,
    events::{JobUpdated, LiveEvent, SyncUpdated},
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
    /// The latest order conversation read again.
    pub conversation: RwSignal<Option<Conversation>>,
    /// The latest ticked pick line.
    pub pick: RwSignal<Option<PickTicked>>,
    /// Bumped when events may have been missed: reload.
    pub resync: RwSignal<u64>,
}

impl LiveEvents {
    /// Puts one event into its signal.
    fn apply(self, event: LiveEvent) {
        match event {
            LiveEvent::Job(job) => self.job.set(Some(job)),
            LiveEvent::Order(order) => self.order.set(Some(order)),
            LiveEvent::Sync(sync) => self.sync.set(Some(sync)),
            LiveEvent::Connection(connection) => self.connection.set(Some(connection)),
            LiveEvent::Minifig(minifig) => self.minifig.set(Some(*minifig)),
            LiveEvent::PickTicked(tick) => self.pick.set(Some(tick)),
            LiveEvent::Conversation(c) => self.conversation.set(Some(*c)),
            LiveEvent::Resync => self.resync.update(|n| *n += 1),
        }
    }
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
        pick: RwSignal::new(None),
        conversation: RwSignal::new(None),
        resync: RwSignal::new(0),
    };
    provide_context(live);
    let Ok(source) = EventSource::new(routes::EVENTS) else {
        return live;
    };
    let on_event: Listener = Closure::new(move |event: MessageEvent| {
        let parsed = event
            .data()
            .as_string()
            .and_then(|data| LiveEvent::parse(&event.type_(), &data));
        if let Some(parsed) = parsed {
            live.apply(parsed);
        }
    });
    let mut opened_before = false;
    let on_open: Listener = Closure::new(move |_| {
        if opened_before {
            live.resync.update(|n| *n += 1);
        }
        opened_before = true;
    });
    for name in LiveEvent::NAMES {
        let _ = source.add_event_listener_with_callback(name, on_event.as_ref().unchecked_ref());
    }
    let _ = source.add_event_listener_with_callback("open", on_open.as_ref().unchecked_ref());
    let held = SendWrapper::new((source, [on_event, on_open]));
    on_cleanup(move || held.0.close());
    live
}

/// The live signals from context.
pub fn use_live_events() -> LiveEvents {
    expect_context::<LiveEvents>()
}
