//! Jobs: what brickdesk does in the background. Counts per queue, lists by state, the detail
//! of one job with its attempts and errors, and retry / cancel / delete, all live over SSE.

use std::time::Duration;

use app::{
    BreakerState, JobId, JobList, JobState, JobView, MarketplaceLimits, QueueCounts, QueueName,
    QueuesView, Schedule, routes,
};
use leptos::prelude::*;

use crate::components::loaded::loaded;

use crate::{
    api,
    components::format::{duration, kind_label, relative, state_label},
    sse::use_live_events,
};

const TABS: [(Option<JobState>, &str); 7] = [
    (None, "All"),
    (Some(JobState::Running), "Running"),
    (Some(JobState::Ready), "Waiting"),
    (Some(JobState::Scheduled), "Scheduled"),
    (Some(JobState::Retrying), "Will retry"),
    (Some(JobState::Dead), "Failed"),
    (Some(JobState::Succeeded), "Done"),
];

/// The Jobs page.
#[component]
pub fn JobsPage() -> impl IntoView {
    let live = use_live_events();
    let filter = RwSignal::new(None::<JobState>);
    let jobs = RwSignal::new(None::<Result<JobList, String>>);
    let counts = RwSignal::new(Vec::<QueueCounts>::new());
    let limits = RwSignal::new(Vec::<MarketplaceLimits>::new());
    let selected = RwSignal::new(None::<JobId>);
    let reload_queued = StoredValue::new(false);

    let load = move || {
        leptos::task::spawn_local(async move {
            let state = filter
                .get_untracked()
                .map(|s| format!("&state={}", s.as_str()));
            let path = format!("{}?per_page=100{}", routes::JOBS, state.unwrap_or_default());
            let list = api::get::<JobList>(&path).await.map_err(|e| e.message);
            jobs.set(Some(list));
            if let Ok(fresh) = api::get::<QueuesView>(routes::QUEUES).await {
                counts.set(fresh.queues);
                limits.set(fresh.marketplaces);
            }
        });
    };
    // First load, a new tab, or missed events.
    Effect::new(move |_| {
        filter.track();
        live.resync.track();
        load();
    });
    // A job changed: patch its row now, reload lists and counts shortly (bursts fold).
    Effect::new(move |_| {
        let Some(update) = live.job.get() else { return };
        jobs.update(|list| {
            if let Some(Ok(list)) = list
                && let Some(row) = list.jobs.iter_mut().find(|row| row.id == update.id)
            {
                row.state = update.state;
                row.progress.clone_from(&update.progress);
            }
        });
        if !reload_queued.get_value() {
            reload_queued.set_value(true);
            set_timeout(
                move || {
                    reload_queued.set_value(false);
                    load();
                },
                Duration::from_millis(400),
            );
        }
    });

    let tab_count = move |state: Option<JobState>| {
        counts.with(|all| {
            all.iter()
                .map(|q| match state {
                    Some(s) => q.counts.get(s.as_str()).copied().unwrap_or(0),
                    None => q.counts.values().sum(),
                })
                .sum::<usize>()
        })
    };

    view! {
        <div class="page-head">
            <h1>"Jobs"</h1>
            <p class="muted">
                "Everything brickdesk does in the background — syncing orders, checking connections, fetching parts. This page updates live."
            </p>
        </div>
        <div class="queue-cards">
            {QueueName::ALL.into_iter().map(|queue| view! { <QueueCard queue counts /> }).collect_view()}
        </div>
        <Limits limits />
        <div class="tabs" role="tablist">
            {TABS.into_iter().map(|(state, label)| view! {
                <button
                    role="tab"
                    class="tab"
                    aria-selected=move || (filter.get() == state).to_string()
                    on:click=move |_| { selected.set(None); filter.set(state); }
                >
                    {label}
                    <span class="tab-count">{move || tab_count(state)}</span>
                </button>
            }).collect_view()}
        </div>
        <div class="jobs-layout">
            <section class="card table-card">
                {loaded(jobs, "Loading jobs…", move |list| if list.jobs.is_empty() {
                    view! { <EmptyJobs filtered=filter.get().is_some() /> }.into_any()
                } else {
                    view! { <JobTable list selected /> }.into_any()
                })}
            </section>
            {move || selected.get().map(|id| view! { <JobDetail id selected /> })}
        </div>
        <Schedules />
    }
}

/// The scheduler's table: what runs by itself, when it last ran and when it runs next.
#[component]
fn Schedules() -> impl IntoView {
    let live = use_live_events();
    let table = RwSignal::new(None::<Result<Vec<Schedule>, String>>);
    Effect::new(move |_| {
        live.resync.track();
        leptos::task::spawn_local(async move {
            let fresh = api::get::<Vec<Schedule>>(routes::SCHEDULES).await;
            table.set(Some(fresh.map_err(|e| e.message)));
        });
    });
    view! {
        <section class="card table-card schedules" id="schedules">
            <h2 class="section-title pad">"Schedules"</h2>
            {loaded(table, "Loading…", |rows| view! {
                    <table class="table">
                        <thead><tr><th>"What"</th><th>"When (UTC)"</th><th>"Last run"</th><th>"Next run"</th></tr></thead>
                        <tbody>
                            {rows.into_iter().map(|s| {
                                let name = s.name.clone();
                                view! {
                                <tr data-schedule=name>
                                    <td>{s.description}<br /><span class="mono small muted">{s.name}</span></td>
                                    <td class="mono">{if s.enabled { s.pattern } else { "off".to_owned() }}</td>
                                    <td>{s.last_run.map_or_else(|| "not since start".to_owned(), relative)}</td>
                                    <td>{s.next_run.map_or_else(|| "—".to_owned(), relative)}</td>
                                </tr>
                            }}).collect_view()}
                        </tbody>
                    </table>
            })}
        </section>
    }
}

#[component]
fn QueueCard(queue: QueueName, counts: RwSignal<Vec<QueueCounts>>) -> impl IntoView {
    let (title, about) = match queue {
        QueueName::Critical => ("Urgent", "Marketplace notifications"),
        QueueName::Default => ("Regular", "Order syncs and checks"),
        QueueName::Bulk => ("Bulk", "Imports and prefetching"),
    };
    let count = move |state: JobState| {
        counts.with(|all| {
            all.iter()
                .find(|q| q.queue == queue)
                .and_then(|q| q.counts.get(state.as_str()).copied())
                .unwrap_or(0)
        })
    };
    view! {
        <div class="card queue-card" data-queue=queue.as_str()>
            <div class="queue-title">{title}<span class="muted small">{about}</span></div>
            <dl class="queue-stats">
                <div><dt>"Running"</dt><dd>{move || count(JobState::Running)}</dd></div>
                <div><dt>"Waiting"</dt><dd>{move || count(JobState::Ready) + count(JobState::Scheduled)}</dd></div>
                <div><dt>"Will retry"</dt><dd>{move || count(JobState::Retrying)}</dd></div>
                <div class:bad=move || { count(JobState::Dead) > 0 }>
                    <dt>"Failed"</dt><dd>{move || count(JobState::Dead)}</dd>
                </div>
            </dl>
            <p class="muted small queue-lag">{move || {
                let lag = counts.with(|all| {
                    all.iter().find(|q| q.queue == queue).map_or(0.0, |q| q.lag_seconds)
                });
                if lag < 1.0 {
                    "Nothing is kept waiting.".to_owned()
                } else {
                    format!("The oldest waiting job has waited {lag:.0} s.")
                }
            }}</p>
        </div>
    }
}

/// The marketplace limits jobs run under: calls today, the rate, and whether a marketplace is
/// paused by its circuit breaker.
#[component]
fn Limits(limits: RwSignal<Vec<MarketplaceLimits>>) -> impl IntoView {
    move || {
        limits.with(|all| {
            all.iter()
                .filter(|l| l.configured)
                .map(|l| {
                    let u = &l.usage;
                    let calls = match (u.daily_budget, u.per_minute) {
                        (Some(budget), _) => format!("{} of {budget} calls today", u.calls_today),
                        (None, Some(rate)) => format!("{} calls today, at most {rate} a minute", u.calls_today),
                        (None, None) => format!("{} calls today", u.calls_today),
                    };
                    let (class, breaker) = match u.breaker {
                        BreakerState::Closed => ("limit-line", "answering".to_owned()),
                        BreakerState::HalfOpen => ("limit-line limit-paused", "trying one call to see whether it is back".to_owned()),
                        BreakerState::Open => ("limit-line limit-paused", format!(
                            "paused after repeated failures{}",
                            u.retry_at.map(|at| format!(", next try {}", relative(at))).unwrap_or_default()
                        )),
                    };
                    view! {
                        <p class=class data-limits=l.marketplace.as_str()>
                            <strong>{l.marketplace.label()}</strong>{format!(": {breaker} · {calls}")}
                        </p>
                    }
                })
                .collect_view()
        })
    }
}

#[component]
fn EmptyJobs(filtered: bool) -> impl IntoView {
    let text = if filtered {
        "No jobs in this state right now."
    } else {
        "No background jobs yet. They appear here as soon as brickdesk syncs orders, checks a marketplace connection or fetches minifig parts."
    };
    view! { <div class="empty"><p class="muted">{text}</p></div> }
}

#[component]
fn JobTable(list: JobList, selected: RwSignal<Option<JobId>>) -> impl IntoView {
    view! {
        <table class="table" id="jobs-table">
            <thead>
                <tr><th>"Job"</th><th>"Queue"</th><th>"State"</th><th>"Attempts"</th><th>"Updated"</th></tr>
            </thead>
            <tbody>
                {list.jobs.into_iter().map(|job| {
                    let id = job.id;
                    view! {
                        <tr
                            class="clickable"
                            class:selected=move || selected.get() == Some(id)
                            on:click=move |_| selected.set(Some(id))
                        >
                            <td>
                                <span class="job-kind">{kind_label(&job.kind)}</span>
                                <span class="muted small">" #"{id.0}</span>
                            </td>
                            <td class="muted">{job.queue.as_str()}</td>
                            <td><StateChip state=job.state progress=job.progress.as_ref().map(|p| p.percent) /></td>
                            <td>{job.attempts}" / "{job.max_attempts}</td>
                            <td class="muted">{relative(job.updated_at)}</td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
}

#[component]
fn StateChip(state: JobState, #[prop(default = None)] progress: Option<u8>) -> impl IntoView {
    view! {
        <span class=format!("chip chip-{}", state.as_str())>{state_label(state)}</span>
        {(state == JobState::Running).then(|| progress.map(|p| view! { <ProgressBar percent=p /> }))}
    }
}

#[component]
fn ProgressBar(percent: u8) -> impl IntoView {
    view! {
        <span class="progress" role="progressbar" aria-valuenow=percent aria-valuemin="0" aria-valuemax="100">
            <span class="progress-fill" style:width=format!("{percent}%")></span>
        </span>
    }
}

#[component]
fn JobDetail(id: JobId, selected: RwSignal<Option<JobId>>) -> impl IntoView {
    let live = use_live_events();
    let job = RwSignal::new(None::<Result<JobView, String>>);
    let action_error = RwSignal::new(None::<String>);
    let load = move || {
        leptos::task::spawn_local(async move {
            let path = routes::JOB.replace("{id}", &id.to_string());
            job.set(Some(
                api::get::<JobView>(&path).await.map_err(|e| e.message),
            ));
        });
    };
    Effect::new(move |_| {
        if live.job.get().is_none_or(|update| update.id == id) {
            load();
        }
    });
    let act = move |template: &'static str, delete: bool| {
        action_error.set(None);
        leptos::task::spawn_local(async move {
            let path = template.replace("{id}", &id.to_string());
            let result = if delete {
                api::delete(&path).await
            } else {
                api::post::<_, JobView>(&path, &()).await.map(drop)
            };
            match result {
                Ok(()) if delete => selected.set(None),
                Ok(()) => load(),
                Err(err) => action_error.set(Some(err.message)),
            }
        });
    };

    view! {
        <aside class="card job-detail" id="job-detail">
            {loaded(job, "Loading…", move |job| {
                    let state = job.state;
                    view! {
                        <div class="detail-head">
                            <h2>{kind_label(&job.kind)}</h2>
                            <button class="icon-button" aria-label="Close" on:click=move |_| selected.set(None)>"×"</button>
                        </div>
                        <p><StateChip state /> <span class="muted small">" job #"{job.id.0}" · "{job.queue.as_str()}" queue"</span></p>
                        {job.progress.clone().map(|p| view! {
                            <div class="detail-progress"><ProgressBar percent=p.percent /><span class="small">{p.percent}"% — "{p.message}</span></div>
                        })}
                        <dl class="facts">
                            <dt>"Attempts"</dt><dd>{job.attempts}" of "{job.max_attempts}</dd>
                            <dt>"Created"</dt><dd>{relative(job.created_at)}</dd>
                            <dt>{if state.is_terminal() { "Last change" } else { "Runs" }}</dt>
                            <dd>{if state.is_terminal() { relative(job.updated_at) } else { relative(job.run_at) }}</dd>
                            {job.key.clone().map(|key| view! { <dt>"Key"</dt><dd class="mono">{key}</dd> })}
                            {(job.merged > 0).then(|| view! { <dt>"Merged"</dt><dd>{job.merged}" later requests"</dd> })}
                            {job.parent.map(|parent| view! { <dt>"Part of"</dt><dd>"job #"{parent.0}</dd> })}
                            {job.parts.map(|parts| view! {
                                <dt>"Parts"</dt>
                                <dd>{parts.succeeded + parts.failed}" of "{parts.total}" done"
                                    {(parts.failed > 0).then(|| format!(", {} failed", parts.failed))}</dd>
                            })}
                        </dl>
                        {job.last_error.clone().map(|e| view! { <p class="notice notice-error">{e}</p> })}
                        <h3>"Attempts"</h3>
                        <ol class="attempts">
                            {job.history.iter().rev().map(|a| view! {
                                <li>
                                    <span>{relative(a.started_at)}</span>
                                    <span class="muted">{a.ended_at.map(|end| duration(a.started_at, end)).unwrap_or_else(|| "running".into())}</span>
                                    {a.error.clone().map(|e| view! { <span class="attempt-error">{e}</span> })}
                                </li>
                            }).collect_view()}
                        </ol>
                        {job.result.clone().filter(|r| !r.is_null()).map(|r| view! {
                            <details><summary>"Result"</summary><pre>{serde_json::to_string_pretty(&r).unwrap_or_default()}</pre></details>
                        })}
                        <div class="actions">
                            {matches!(state, JobState::Dead | JobState::Cancelled).then(|| view! {
                                <button class="btn btn-primary" id="job-retry" on:click=move |_| act(routes::JOB_RETRY, false)>"Run again"</button>
                            })}
                            {(!state.is_terminal()).then(|| view! {
                                <button class="btn" id="job-cancel" on:click=move |_| act(routes::JOB_CANCEL, false)>"Cancel"</button>
                            })}
                            {(state != JobState::Running).then(|| view! {
                                <button class="btn btn-danger" id="job-delete" on:click=move |_| act(routes::JOB, true)>"Delete"</button>
                            })}
                        </div>
                        <ErrorLine message=action_error />
                    }
            })}
        </aside>
    }
}

#[component]
fn ErrorLine(message: RwSignal<Option<String>>) -> impl IntoView {
    view! { {move || message.get().map(|m| view! { <p class="notice notice-error" role="alert">{m}</p> })} }
}
