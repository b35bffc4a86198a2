//! Reading jobs: one job or all of them (memory overlays the disk until a write is
//! flushed), a user's counts, and the Prometheus series.

use std::collections::HashMap;

use app::{JobId, JobState, QueueName, UserId};
use time::OffsetDateTime;

use super::{JobRecord, Queue, QueueError, lock, metrics};
use crate::store::codec;

impl Queue {
    /// A job, live or finished.
    pub fn get(&self, id: JobId) -> Result<Option<JobRecord>, QueueError> {
        {
            let index = lock(&self.inner.index);
            if let Some(record) = index.live.get(&id) {
                return Ok(Some(record.clone()));
            }
            if let Some(pending) = index.committing.get(&id) {
                return Ok(pending.clone());
            }
        }
        self.load(id)
    }

    /// Forgets the overlay of `id` once its write is flushed, unless a newer one replaced it.
    pub(super) fn committed(&self, id: JobId, written: Option<OffsetDateTime>) {
        let mut index = lock(&self.inner.index);
        let current = index
            .committing
            .get(&id)
            .map(|r| r.as_ref().map(|r| r.updated_at));
        if current == Some(written) {
            index.committing.remove(&id);
        }
        drop(index);
        self.inner.changed.notify_waiters();
    }

    pub(super) fn load(&self, id: JobId) -> Result<Option<JobRecord>, QueueError> {
        let bytes = self.inner.jobs.get(id.0.to_be_bytes())?;
        Ok(bytes.map(|b| codec::decode(&b)).transpose()?)
    }

    /// Every stored job, newest first (a scan; the API pages over it).
    pub fn list(&self) -> Result<Vec<JobRecord>, QueueError> {
        let (live, committing) = {
            let index = lock(&self.inner.index);
            (index.live.clone(), index.committing.clone())
        };
        let mut all = Vec::new();
        for entry in self.inner.jobs.iter().rev() {
            let (_, value) = entry?;
            let record: JobRecord = codec::decode(&value)?;
            match (live.get(&record.id), committing.get(&record.id)) {
                (Some(newer), _) | (None, Some(Some(newer))) => all.push(newer.clone()),
                (None, Some(None)) => {}
                (None, None) => all.push(record),
            }
        }
        Ok(all)
    }

    /// How many of `owner`'s jobs wait, run, wait to retry and are dead.
    pub fn health(&self, owner: UserId) -> Result<app::JobHealth, QueueError> {
        let mut health = app::JobHealth::default();
        for job in self.list()? {
            if job.owner != Some(owner) {
                continue;
            }
            match job.state {
                JobState::Scheduled | JobState::Ready => health.waiting += 1,
                JobState::Running => health.running += 1,
                JobState::Retrying => health.retrying += 1,
                JobState::Dead => health.dead += 1,
                JobState::Succeeded | JobState::Cancelled => {}
            }
        }
        Ok(health)
    }

    /// The queue's series in Prometheus text format, counts and lag read now.
    pub fn metrics_text(&self) -> Result<String, QueueError> {
        let now = OffsetDateTime::now_utc();
        let m = &self.inner.metrics;
        let mut counts: HashMap<(QueueName, JobState), i64> = HashMap::new();
        for record in self.list()? {
            *counts
                .entry((record.queue, record.state_at(now)))
                .or_default() += 1;
        }
        for queue in QueueName::ALL {
            for state in JobState::ALL {
                let label = metrics::QueueStateLabel {
                    queue: queue.as_str().to_owned(),
                    state: state.as_str().to_owned(),
                };
                m.jobs
                    .get_or_create(&label)
                    .set(counts.get(&(queue, state)).copied().unwrap_or(0));
            }
            let lag = self.lag_seconds(queue, now);
            m.lag_seconds
                .get_or_create(&metrics::QueueLabel {
                    queue: queue.as_str().to_owned(),
                })
                .set(lag);
        }
        Ok(m.encode())
    }

    /// How long the oldest ready job of `queue` has waited for a worker, in seconds.
    pub fn lag_seconds(&self, queue: QueueName, now: OffsetDateTime) -> f64 {
        let index = lock(&self.inner.index);
        let oldest = index
            .live
            .values()
            .filter(|r| r.queue == queue && r.batch.is_none() && r.state_at(now) == JobState::Ready)
            .map(|r| r.run_at)
            .min();
        oldest.map_or(0.0, |at| (now - at).as_seconds_f64().max(0.0))
    }
}
