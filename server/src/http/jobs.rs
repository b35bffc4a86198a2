//! Jobs over HTTP: list with filters, detail with attempts, retry, cancel, delete, and counts
//! per queue. A user sees the jobs they own; admins see every job; anyone else's is a 404.

use std::collections::BTreeMap;

use app::{
    AttemptView, JobId, JobList, JobState, JobView, MarketplaceLimits, PartsView, QueueCounts,
    QueueName, QueuesView,
};
use axum::{
    extract::{Path, State},
    http::StatusCode,
};
use serde::Deserialize;
use time::OffsetDateTime;

use super::{ApiJson, ApiQuery};
use crate::{
    auth::CurrentUser,
    error::ApiError,
    queue::{JobRecord, Queue},
};

/// `GET /api/jobs` filters.
#[derive(Debug, Deserialize)]
pub struct JobQuery {
    state: Option<JobState>,
    queue: Option<QueueName>,
    kind: Option<String>,
    page: Option<usize>,
    per_page: Option<usize>,
}

/// `GET /api/jobs`: newest first.
pub async fn list(
    State(queue): State<Queue>,
    current: CurrentUser,
    ApiQuery(query): ApiQuery<JobQuery>,
) -> Result<ApiJson<JobList>, ApiError> {
    let now = OffsetDateTime::now_utc();
    let per_page = query.per_page.unwrap_or(50).clamp(1, 200);
    let page = query.page.unwrap_or(1).max(1);
    let matching: Vec<JobRecord> = visible(&queue, &current)?
        .into_iter()
        .filter(|job| query.state.is_none_or(|s| job.state_at(now) == s))
        .filter(|job| query.queue.is_none_or(|q| job.queue == q))
        .filter(|job| query.kind.as_deref().is_none_or(|k| job.kind == k))
        .collect();
    let total = matching.len();
    let jobs = matching
        .iter()
        .skip((page - 1).saturating_mul(per_page))
        .take(per_page)
        .map(|job| view(job, now, false))
        .collect();
    Ok(ApiJson(JobList {
        jobs,
        total,
        page,
        per_page,
    }))
}

/// `GET /api/jobs/{id}`: with attempts and result.
pub async fn get(
    State(queue): State<Queue>,
    current: CurrentUser,
    Path(id): Path<u64>,
) -> Result<ApiJson<JobView>, ApiError> {
    let job = owned(&queue, &current, JobId(id))?;
    Ok(ApiJson(view(&job, OffsetDateTime::now_utc(), true)))
}

/// `POST /api/jobs/{id}/retry`: a dead or cancelled job runs again.
pub async fn retry(
    State(queue): State<Queue>,
    current: CurrentUser,
    Path(id): Path<u64>,
) -> Result<ApiJson<JobView>, ApiError> {
    owned(&queue, &current, JobId(id))?;
    let job = queue.retry(JobId(id)).await?;
    Ok(ApiJson(view(&job, OffsetDateTime::now_utc(), true)))
}

/// `POST /api/jobs/{id}/cancel`: answers with the job as it is now (a running job ends
/// `cancelled` once its handler stops).
pub async fn cancel(
    State(queue): State<Queue>,
    current: CurrentUser,
    Path(id): Path<u64>,
) -> Result<ApiJson<JobView>, ApiError> {
    owned(&queue, &current, JobId(id))?;
    queue.cancel(JobId(id)).await?;
    let job = owned(&queue, &current, JobId(id))?;
    Ok(ApiJson(view(&job, OffsetDateTime::now_utc(), true)))
}

/// `DELETE /api/jobs/{id}`: not while it runs.
pub async fn delete(
    State(queue): State<Queue>,
    current: CurrentUser,
    Path(id): Path<u64>,
) -> Result<StatusCode, ApiError> {
    owned(&queue, &current, JobId(id))?;
    queue.delete(JobId(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/queues`: counts per queue and state of the jobs the user may see, and the
/// user's marketplace limits (calls, rate, breaker).
pub async fn queues(
    State(state): State<crate::state::AppState>,
    current: CurrentUser,
) -> Result<ApiJson<QueuesView>, ApiError> {
    let queue = &state.services.queue;
    let now = OffsetDateTime::now_utc();
    let mut counts: BTreeMap<QueueName, BTreeMap<String, usize>> = QueueName::ALL
        .into_iter()
        .map(|q| {
            (
                q,
                JobState::ALL
                    .into_iter()
                    .map(|s| (s.as_str().to_owned(), 0))
                    .collect(),
            )
        })
        .collect();
    for job in visible(queue, &current)? {
        if let Some(n) = counts
            .get_mut(&job.queue)
            .and_then(|c| c.get_mut(job.state_at(now).as_str()))
        {
            *n += 1;
        }
    }
    let user = current.user.id;
    let mut marketplaces = Vec::new();
    for marketplace in app::Marketplace::ALL {
        marketplaces.push(MarketplaceLimits {
            marketplace,
            configured: state
                .services
                .store
                .connections()
                .get(user, marketplace)?
                .is_some(),
            usage: state.services.marketplaces.guard().usage(user, marketplace),
        });
    }
    Ok(ApiJson(QueuesView {
        queues: counts
            .into_iter()
            .map(|(name, counts)| QueueCounts {
                queue: name,
                counts,
                lag_seconds: queue.lag_seconds(name, now),
            })
            .collect(),
        marketplaces,
    }))
}

fn may_see(current: &CurrentUser, job: &JobRecord) -> bool {
    current.user.is_admin || job.owner == Some(current.user.id)
}

fn visible(queue: &Queue, current: &CurrentUser) -> Result<Vec<JobRecord>, ApiError> {
    Ok(queue
        .list()?
        .into_iter()
        .filter(|job| may_see(current, job))
        .collect())
}

fn owned(queue: &Queue, current: &CurrentUser, id: JobId) -> Result<JobRecord, ApiError> {
    queue
        .get(id)?
        .filter(|job| may_see(current, job))
        .ok_or(ApiError::NotFound)
}

fn view(job: &JobRecord, now: OffsetDateTime, detail: bool) -> JobView {
    JobView {
        id: job.id,
        kind: job.kind.clone(),
        queue: job.queue,
        state: job.state_at(now),
        priority: job.priority,
        attempts: job.attempts,
        max_attempts: job.max_attempts,
        run_at: job.run_at,
        created_at: job.created_at,
        updated_at: job.updated_at,
        owner: job.owner,
        key: job.key.clone(),
        merged: job.merged,
        progress: job.progress.clone().map(Into::into),
        last_error: job.last_error().map(str::to_owned),
        parent: job.parent,
        parts: job.batch.map(|b| PartsView {
            total: b.total,
            succeeded: b.succeeded,
            failed: b.failed,
        }),
        history: if detail {
            job.history
                .iter()
                .map(|a| AttemptView {
                    started_at: a.started_at,
                    ended_at: a.ended_at,
                    error: a.error.clone(),
                })
                .collect()
        } else {
            Vec::new()
        },
        result: if detail { job.result.clone() } else { None },
    }
}
