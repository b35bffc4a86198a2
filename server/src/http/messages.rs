//! An order's messages and feedback over HTTP: what was last read (at once), reading again,
//! leaving feedback and replying to it; the marketplace calls are jobs (202). What a
//! marketplace's API does not offer is refused in words (422 `not-allowed`).

use app::{
    Conversation, FeedbackReply, LeaveFeedback, Marketplace, OrderRef, Queued,
    messages::feedback_text,
};
use axum::{
    extract::{Path, State},
    http::StatusCode,
};

use super::ApiJson;
use crate::{
    auth::CurrentUser,
    error::ApiError,
    jobs::{
        self,
        fetch_messages::{self, FetchMessages},
        send_feedback::{self, Action, SendFeedback},
    },
    state::AppState,
};

/// The order the path names, if the user has it (404 otherwise).
pub(super) fn known(
    state: &AppState,
    user: app::UserId,
    market: &str,
    order_id: String,
) -> Result<OrderRef, ApiError> {
    let marketplace = Marketplace::parse(market).ok_or(ApiError::NotFound)?;
    if state
        .services
        .store
        .orders()
        .get(user, marketplace, &order_id)?
        .is_none()
    {
        return Err(ApiError::NotFound);
    }
    Ok(OrderRef {
        marketplace,
        order_id,
    })
}

fn queued(id: app::JobId) -> (StatusCode, ApiJson<Queued>) {
    (StatusCode::ACCEPTED, ApiJson(Queued { job_ids: vec![id] }))
}

/// `GET /api/orders/{marketplace}/{order_id}/messages`.
pub async fn get(
    State(state): State<AppState>,
    current: CurrentUser,
    Path((market, order_id)): Path<(String, String)>,
) -> Result<ApiJson<Conversation>, ApiError> {
    let user = current.user.id;
    let order = known(&state, user, &market, order_id)?;
    Ok(ApiJson(
        state.services.store.conversations().get(user, &order)?,
    ))
}

/// `POST /api/orders/{marketplace}/{order_id}/messages/fetch` -> 202.
pub async fn fetch(
    State(state): State<AppState>,
    current: CurrentUser,
    Path((market, order_id)): Path<(String, String)>,
) -> Result<(StatusCode, ApiJson<Queued>), ApiError> {
    let user = current.user.id;
    let order = known(&state, user, &market, order_id)?;
    if !app::ConversationAbilities::of(order.marketplace).read_messages {
        return Err(ApiError::NotAllowed(format!(
            "{}'s API has no messages or feedback to read; see them on {}.",
            order.marketplace, order.marketplace
        )));
    }
    let input = fetch_messages::Input {
        user,
        marketplace: order.marketplace,
        order_id: Some(order.order_id),
        feedback_id: None,
    };
    let job = jobs::enqueue::<FetchMessages>(&state.services.queue, &input).await?;
    Ok(queued(job.id))
}

/// `POST /api/orders/{marketplace}/{order_id}/feedback` -> 202.
pub async fn leave(
    State(state): State<AppState>,
    current: CurrentUser,
    Path((market, order_id)): Path<(String, String)>,
    ApiJson(request): ApiJson<LeaveFeedback>,
) -> Result<(StatusCode, ApiJson<Queued>), ApiError> {
    let user = current.user.id;
    let order = known(&state, user, &market, order_id)?;
    let comment = feedback_text("comment", &request.comment)?;
    let conversation = state.services.store.conversations().get(user, &order)?;
    if conversation.seller_left_feedback() {
        return Err(ApiError::NotAllowed(
            "You left feedback for this buyer already.".into(),
        ));
    }
    let input = send_feedback::Input {
        user,
        marketplace: order.marketplace,
        order_id: order.order_id,
        action: Action::Leave {
            rating: request.rating,
            comment,
        },
    };
    let job = jobs::enqueue::<SendFeedback>(&state.services.queue, &input).await?;
    Ok(queued(job.id))
}

/// `POST /api/orders/{marketplace}/{order_id}/feedback/{feedback_id}/reply` -> 202.
pub async fn reply(
    State(state): State<AppState>,
    current: CurrentUser,
    Path((market, order_id, feedback_id)): Path<(String, String, i64)>,
    ApiJson(request): ApiJson<FeedbackReply>,
) -> Result<(StatusCode, ApiJson<Queued>), ApiError> {
    let user = current.user.id;
    let order = known(&state, user, &market, order_id)?;
    if !app::ConversationAbilities::of(order.marketplace).reply_feedback {
        return Err(ApiError::NotAllowed(format!(
            "{}'s API has no replies to feedback.",
            order.marketplace
        )));
    }
    let reply = feedback_text("reply", &request.reply)?;
    let conversation = state.services.store.conversations().get(user, &order)?;
    let Some(feedback) = conversation
        .feedback
        .iter()
        .find(|f| f.id == Some(feedback_id))
    else {
        return Err(ApiError::NotFound);
    };
    if feedback.from_seller || feedback.reply.is_some() {
        return Err(ApiError::NotAllowed(
            "Only the buyer's feedback can be replied to, once.".into(),
        ));
    }
    let input = send_feedback::Input {
        user,
        marketplace: order.marketplace,
        order_id: order.order_id,
        action: Action::Reply { feedback_id, reply },
    };
    let job = jobs::enqueue::<SendFeedback>(&state.services.queue, &input).await?;
    Ok(queued(job.id))
}
