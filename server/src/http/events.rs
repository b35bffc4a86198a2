//! `GET /api/events`: the user's live events as server-sent events, so pages update the moment
//! something changes instead of polling. Streams end when the server stops or the session ends.

use std::convert::Infallible;

use app::events::{JobUpdated, LiveEvent};
use axum::{
    extract::State,
    response::sse::{Event, KeepAlive, Sse},
};
use time::OffsetDateTime;
use tokio_stream::{Stream, StreamExt as _, wrappers::BroadcastStream};

use crate::{auth::CurrentUser, queue::JobEvent, state::AppState};

/// Opens the stream.
pub async fn stream(
    State(state): State<AppState>,
    current: CurrentUser,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let user = current.user.id;
    let admin = current.user.is_admin;
    let (store, token) = (state.services.store.clone(), current.token_hash);
    // Before each event the session is checked again: a stream ends as soon as its session
    // has (logout, password change, expiry), and nothing more is sent on it.
    let session_live = move |_: &Event| {
        store
            .sessions()
            .get(&token, OffsetDateTime::now_utc())
            .is_ok_and(|s| s.is_some())
    };
    let jobs = BroadcastStream::new(state.services.queue.subscribe()).filter_map(move |message| {
        match message {
            Ok(event) if admin || event.owner == Some(user) => Some(job_updated(event)),
            Ok(_) => None,
            // This stream fell behind and missed events: the page reloads what it shows.
            Err(_) => Some(sse(&LiveEvent::Resync)),
        }
    });
    let domain =
        BroadcastStream::new(state.services.events.subscribe()).filter_map(move |message| {
            match message {
                Ok(event) if event.owner == user => Some(sse(&event.event)),
                Ok(_) => None,
                Err(_) => Some(sse(&LiveEvent::Resync)),
            }
        });
    let events = jobs.merge(domain).take_while(session_live).map(Ok);
    let events = futures_util::StreamExt::take_until(events, state.stopping.cancelled_owned());
    Sse::new(events).keep_alive(KeepAlive::default())
}

/// One live event as SSE; a payload that cannot be encoded tells the page to reload instead.
fn sse(event: &LiveEvent) -> Event {
    match event.data() {
        Ok(data) => Event::default().event(event.name()).data(data),
        Err(err) => {
            tracing::error!(%err, name = event.name(), "cannot encode an event");
            Event::default().event(LiveEvent::Resync.name()).data("{}")
        }
    }
}

fn job_updated(event: JobEvent) -> Event {
    sse(&LiveEvent::Job(JobUpdated {
        id: event.id,
        kind: event.kind,
        queue: event.queue,
        state: event.state,
        owner: event.owner,
        progress: event.progress.map(Into::into),
    }))
}
