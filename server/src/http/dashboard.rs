//! The dashboard, search and the scheduler's table. The dashboard's parts are independent
//! reads, so they run at once on the blocking pool and the answer waits only for the slowest.

use app::{Dashboard, MinifigStats, Schedule, SearchResults, Totals, UserId};
use axum::extract::State;
use serde::Deserialize;
use time::OffsetDateTime;

use super::{ApiJson, ApiQuery};
use crate::{auth::CurrentUser, error::ApiError, state::AppState};

/// Top items on the dashboard.
pub const TOP_ITEMS: usize = 8;
/// Activity entries on the dashboard.
pub const ACTIVITY: usize = 12;

/// Runs `work` on the blocking pool.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("a dashboard query failed: {e}")))?
}

/// `GET /api/dashboard`.
pub async fn dashboard(
    State(state): State<AppState>,
    current: CurrentUser,
) -> Result<ApiJson<Dashboard>, ApiError> {
    Ok(ApiJson(Box::pin(assemble(state, current.user.id)).await?))
}

/// The dashboard of `user`, its six reads run at once.
pub async fn assemble(state: AppState, user: UserId) -> Result<Dashboard, ApiError> {
    let now = OffsetDateTime::now_utc();
    let conversations = blocking_conversations(state.services.store.clone(), user, now);
    let (orders, minifigs, activity, views, jobs, backups) = {
        let (s1, s2, s3, s4, s5) = (
            state.clone(),
            state.clone(),
            state.clone(),
            state.clone(),
            state.clone(),
        );
        tokio::try_join!(
            blocking(move || Ok(s1.services.store.orders().stats(user, now, TOP_ITEMS))),
            blocking(move || {
                let minifigs = s2.services.store.minifigs();
                let mut totals = Totals::default();
                for minifig in minifigs.all_minifigs(user)? {
                    totals.add(&minifig.totals);
                }
                let lists = u32::try_from(minifigs.list_count(user)).unwrap_or(u32::MAX);
                Ok(MinifigStats { lists, totals })
            }),
            blocking(move || Ok(s3.services.store.activity().recent(user, ACTIVITY)?)),
            blocking(move || Ok(s4.services.connections(user)?)),
            blocking(move || Ok(s5.services.queue.health(user)?)),
            blocking(move || { Ok(state.scheduler.backup_health(&state.services.store, now)) }),
        )?
    };
    let conversations = conversations.await?;
    Ok(Dashboard {
        conversations,
        generated_at: now,
        sales: orders.sales,
        needs_action: orders.needs_action,
        top_items: orders.top_items,
        minifigs,
        activity,
        connections: views,
        jobs,
        backups,
    })
}

/// Orders whose buyer wrote last, and orders received in the last 30 days with no feedback
/// from the seller yet.
async fn blocking_conversations(
    store: crate::store::Store,
    user: UserId,
    now: OffsetDateTime,
) -> Result<app::ConversationCounts, ApiError> {
    blocking(move || {
        let conversations = store.conversations();
        let unanswered = conversations
            .all(user, None)?
            .into_iter()
            .filter(app::Conversation::unanswered)
            .map(|c| app::OrderRef {
                marketplace: c.marketplace,
                order_id: c.order_id,
            })
            .collect();
        let received = crate::store::OrderFilter {
            statuses: vec![app::OrderStatus::Received, app::OrderStatus::Completed],
            marketplace: None,
            query: None,
            from: Some(now - time::Duration::days(30)),
            to: None,
            sort: app::OrderSort::Date,
            descending: true,
            page: 1,
            per_page: 500,
        };
        let mut feedback_to_leave = Vec::new();
        for order in store.orders().list(user, &received).orders {
            let order = app::OrderRef {
                marketplace: order.marketplace,
                order_id: order.order_id,
            };
            if !conversations.get(user, &order)?.seller_left_feedback() {
                feedback_to_leave.push(order);
            }
        }
        Ok(app::ConversationCounts {
            unanswered,
            feedback_to_leave,
        })
    })
    .await
}

/// `GET /api/search` query.
#[derive(Debug, Deserialize)]
pub struct SearchQuery {
    q: Option<String>,
}

/// `GET /api/search?q=`.
pub async fn search(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiQuery(query): ApiQuery<SearchQuery>,
) -> Result<ApiJson<SearchResults>, ApiError> {
    let q = query.q.unwrap_or_default();
    if q.chars().count() > 100 {
        return Err(
            app::validate::InvalidInput::new("q", "Search for at most 100 characters.").into(),
        );
    }
    let user = current.user.id;
    let results = blocking(move || {
        Ok(state
            .services
            .search
            .search(&state.services.store, user, &q)?)
    })
    .await?;
    Ok(ApiJson(results))
}

/// `GET /api/schedules`.
pub async fn schedules(
    State(state): State<AppState>,
    _current: CurrentUser,
) -> ApiJson<Vec<Schedule>> {
    ApiJson(state.scheduler.table(OffsetDateTime::now_utc()))
}
