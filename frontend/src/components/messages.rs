//! An order's messages and feedback on its page: the thread, feedback both ways with a reply
//! to the buyer's, leaving feedback, and what a marketplace's API does not offer said plainly.
//! The section listens for the conversation being read again before it reads it, so a read
//! that finishes first is not missed.

use app::{Conversation, FeedbackReply, LeaveFeedback, Marketplace, Queued, Rating, routes};
use leptos::{ev::SubmitEvent, prelude::*};

use crate::{
    api,
    components::{
        form::{ErrorNotice, SuccessNotice},
        format::relative,
    },
    sse::use_live_events,
};

/// Where a seller answers a message the API cannot send.
fn marketplace_page(marketplace: Marketplace, order_id: &str) -> String {
    match marketplace {
        Marketplace::BrickLink => {
            format!("https://www.bricklink.com/orderDetail.asp?ID={order_id}")
        }
        Marketplace::BrickOwl => "https://www.brickowl.com/mystore/orders".to_owned(),
    }
}

/// The section.
#[component]
pub fn MessagesCard(marketplace: Marketplace, order_id: String) -> impl IntoView {
    let live = use_live_events();
    let conversation = RwSignal::new(None::<Conversation>);
    let error = RwSignal::new(None::<String>);
    let sent = RwSignal::new(None::<String>);
    let id = order_id.clone();
    Effect::new(move |_| {
        if let Some(fresh) = live.conversation.get()
            && fresh.marketplace == marketplace
            && fresh.order_id == id
        {
            conversation.set(Some(fresh));
        }
    });
    let path = routes::order_messages(marketplace, &order_id);
    Effect::new(move |_| {
        live.resync.track();
        let path = path.clone();
        leptos::task::spawn_local(async move {
            match api::get::<Conversation>(&path).await {
                Ok(found) => conversation.set(Some(found)),
                Err(e) => error.set(Some(e.message)),
            }
        });
    });
    let fetch_path = routes::order_messages_fetch(marketplace, &order_id);
    let read_again = move |_| {
        let path = fetch_path.clone();
        error.set(None);
        leptos::task::spawn_local(async move {
            match api::post::<_, Queued>(&path, &serde_json::json!({})).await {
                Ok(_) => sent.set(Some(format!("Reading them from {marketplace}…"))),
                Err(e) => error.set(Some(e.message)),
            }
        });
    };
    let page = marketplace_page(marketplace, &order_id);
    let order_id = StoredValue::new(order_id);
    view! {
        <section class="card messages-card" id="order-messages">
            <div class="messages-head">
                <h2>"Messages and feedback"</h2>
                {move || conversation.with(|c| c.as_ref().is_some_and(|c| c.can.read_messages)).then(|| view! {
                    <button class="btn btn-small" id="read-messages" on:click=read_again.clone()>"Read again"</button>
                })}
            </div>
            {move || conversation.get().map(|c| {
                let can = c.can;
                view! {
                    {(!can.read_messages).then(|| view! {
                        <p class="muted small">{format!("{marketplace}'s API has no messages or feedback to read: see them on {marketplace}. brickdesk can leave feedback for the buyer.")}</p>
                    })}
                    {(can.read_messages && !can.send_messages).then(|| view! {
                        <p class="muted small">
                            {format!("{marketplace}'s API cannot send messages: answer on ")}
                            <a href=page.clone() target="_blank" rel="noopener">{format!("the order's {marketplace} page")}</a>"."
                        </p>
                    })}
                    {c.fetched_at.map(|at| view! { <p class="muted small">{format!("Read {}", relative(at))}</p> })}
                    {(can.read_messages && c.messages.is_empty()).then(|| view! { <p class="muted" id="no-messages">"No messages on this order."</p> })}
                    <ol class="thread" id="message-thread">
                        {c.messages.iter().map(|m| view! {
                            <li class="message" class:from-seller=m.from_seller>
                                <p class="small muted">{format!("{} · {}", if m.from_seller { "You".to_owned() } else { m.from.clone() }, relative(m.sent_at))}</p>
                                {(!m.subject.is_empty()).then(|| view! { <strong>{m.subject.clone()}</strong> })}
                                <p class="message-body">{m.body.clone()}</p>
                            </li>
                        }).collect_view()}
                    </ol>
                    <ul class="feedback-list" id="feedback-list">
                        {c.feedback.iter().chain(c.left.iter()).map(|f| {
                            let reply_to = (can.reply_feedback && !f.from_seller && f.reply.is_none()).then_some(f.id).flatten();
                            view! {
                                <li class="feedback" data-rating=format!("{:?}", f.rating).to_lowercase()>
                                    <strong>{if f.from_seller { format!("You rated the buyer: {}", f.rating.label()) } else { format!("{} rated you: {}", f.from, f.rating.label()) }}</strong>
                                    <p>{f.comment.clone()}</p>
                                    {f.reply.clone().map(|r| view! { <p class="small muted">{format!("Reply: {r}")}</p> })}
                                    {reply_to.map(|fid| view! { <ReplyForm marketplace order_id=order_id.get_value() feedback_id=fid sent error /> })}
                                </li>
                            }
                        }).collect_view()}
                    </ul>
                    {(can.leave_feedback && !c.seller_left_feedback()).then(|| view! {
                        <LeaveForm marketplace order_id=order_id.get_value() sent error />
                    })}
                }
            })}
            <ErrorNotice message=error />
            <SuccessNotice message=sent />
        </section>
    }
}

#[component]
fn LeaveForm(
    marketplace: Marketplace,
    order_id: String,
    sent: RwSignal<Option<String>>,
    error: RwSignal<Option<String>>,
) -> impl IntoView {
    let rating = RwSignal::new(Rating::Praise);
    let comment = RwSignal::new(String::new());
    let path = routes::order_feedback(marketplace, &order_id);
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        error.set(None);
        let path = path.clone();
        let body = LeaveFeedback {
            rating: rating.get_untracked(),
            comment: comment.get_untracked(),
        };
        if let Err(e) = app::messages::feedback_text("comment", &body.comment) {
            error.set(Some(e.message));
            return;
        }
        leptos::task::spawn_local(async move {
            match api::post::<_, Queued>(&path, &body).await {
                Ok(_) => sent.set(Some(format!("Sending your feedback to {marketplace}…"))),
                Err(e) => error.set(Some(e.message)),
            }
        });
    };
    view! {
        <form class="inline-form feedback-form" id="leave-feedback" on:submit=submit>
            <label class="field">
                <span class="field-label">"Rate the buyer"</span>
                <select name="rating" on:change=move |ev| rating.set(match event_target_value(&ev).as_str() {
                    "neutral" => Rating::Neutral,
                    "complaint" => Rating::Complaint,
                    _ => Rating::Praise,
                })>
                    <option value="praise">"Praise"</option>
                    <option value="neutral">"Neutral"</option>
                    <option value="complaint">"Complaint"</option>
                </select>
            </label>
            <label class="field grow">
                <span class="field-label">"Comment (up to 120 characters)"</span>
                <input name="comment" maxlength="120" placeholder="Fast payment, great buyer!"
                    prop:value=move || comment.get() on:input=move |ev| comment.set(event_target_value(&ev)) />
            </label>
            <button class="btn btn-primary" type="submit">"Leave feedback"</button>
        </form>
    }
}

#[component]
fn ReplyForm(
    marketplace: Marketplace,
    order_id: String,
    feedback_id: i64,
    sent: RwSignal<Option<String>>,
    error: RwSignal<Option<String>>,
) -> impl IntoView {
    let reply = RwSignal::new(String::new());
    let path = routes::order_feedback_reply(marketplace, &order_id, feedback_id);
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        error.set(None);
        let path = path.clone();
        let body = FeedbackReply {
            reply: reply.get_untracked(),
        };
        leptos::task::spawn_local(async move {
            match api::post::<_, Queued>(&path, &body).await {
                Ok(_) => sent.set(Some("Sending your reply…".into())),
                Err(e) => error.set(Some(e.message)),
            }
        });
    };
    view! {
        <form class="inline-form reply-form" on:submit=submit>
            <input name="reply" maxlength="120" placeholder="Reply to this feedback"
                prop:value=move || reply.get() on:input=move |ev| reply.set(event_target_value(&ev)) />
            <button class="btn" type="submit">"Reply"</button>
        </form>
    }
}
