//! The in-memory view of every job that is not finished: which are ready per queue (by
//! priority, then age), which wait for a time, which hold a coalescing key, which run. The
//! durable truth is the jobs tree; this index is rebuilt from it at start.

use std::{
    cmp::Reverse,
    collections::{BTreeSet, HashMap},
};

use app::{JobId, QueueName};
use time::OffsetDateTime;
use tokio_util::sync::CancellationToken;

use super::record::JobRecord;

/// The pending and running job of one coalescing key.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct KeySlots {
    pub pending: Option<JobId>,
    pub running: Option<JobId>,
}

/// A job a worker runs now.
pub struct Running {
    pub token: u64,
    pub cancel: CancellationToken,
    /// Cancelled by a user (not by shutdown or a timeout).
    pub cancel_requested: bool,
}

#[derive(Default)]
pub struct Index {
    pub live: HashMap<JobId, JobRecord>,
    ready: BTreeSet<(QueueName, Reverse<i16>, JobId)>,
    scheduled: BTreeSet<(OffsetDateTime, JobId)>,
    pub keys: HashMap<String, KeySlots>,
    pub running: HashMap<JobId, Running>,
    /// Jobs that left `live` (finished, or deleted: `None`) whose write is not flushed yet;
    /// readers see these instead of the older copy on disk.
    pub committing: HashMap<JobId, Option<JobRecord>>,
}

impl Index {
    /// Puts a waiting job where it belongs: ready, scheduled, or (behind a running job with
    /// the same key) nowhere until that one ends. Returns its queue if it became ready.
    pub fn place(&mut self, id: JobId, now: OffsetDateTime) -> Option<QueueName> {
        let record = self.live.get(&id)?;
        if let Some(key) = &record.key
            && self
                .keys
                .get(key)
                .is_some_and(|slots| slots.running.is_some_and(|r| r != id))
        {
            return None;
        }
        if record.run_at <= now {
            self.ready
                .insert((record.queue, Reverse(record.priority), id));
            Some(record.queue)
        } else {
            self.scheduled.insert((record.run_at, id));
            None
        }
    }

    /// Takes a waiting job out of the ready and scheduled sets.
    pub fn unplace(&mut self, id: JobId) {
        if let Some(record) = self.live.get(&id) {
            self.ready
                .remove(&(record.queue, Reverse(record.priority), id));
            self.scheduled.remove(&(record.run_at, id));
        }
    }

    /// The next ready job of `queue`, removed from the ready set.
    pub fn pop_ready(&mut self, queue: QueueName) -> Option<JobId> {
        let first = *self
            .ready
            .range(
                (queue, Reverse(i16::MAX), JobId(0))..=(queue, Reverse(i16::MIN), JobId(u64::MAX)),
            )
            .next()?;
        self.ready.remove(&first);
        Some(first.2)
    }

    /// Moves scheduled jobs whose time has come to ready; returns the queues that got work.
    pub fn promote_due(&mut self, now: OffsetDateTime) -> Vec<QueueName> {
        let mut queues = Vec::new();
        while let Some(&(at, id)) = self.scheduled.first() {
            if at > now {
                break;
            }
            self.scheduled.remove(&(at, id));
            if let Some(queue) = self.place(id, now) {
                queues.push(queue);
            }
        }
        queues
    }

    /// When the next scheduled job is due.
    pub fn next_due(&self) -> Option<OffsetDateTime> {
        self.scheduled.first().map(|(at, _)| *at)
    }

    /// Jobs ready now, across queues.
    pub fn ready_len(&self) -> usize {
        self.ready.len()
    }

    /// Frees `id`'s place in its key: the pending slot, or the running slot. Returns a pending
    /// job that may now be placed.
    pub fn release_key(&mut self, key: &str, id: JobId) -> Option<JobId> {
        let slots = self.keys.get_mut(key)?;
        if slots.pending == Some(id) {
            slots.pending = None;
        }
        let mut unblocked = None;
        if slots.running == Some(id) {
            slots.running = None;
            unblocked = slots.pending;
        }
        if slots.pending.is_none() && slots.running.is_none() {
            self.keys.remove(key);
        }
        unblocked
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::queue::record::JobSpec;

    fn record(id: u64, queue: QueueName, priority: i16, run_at: OffsetDateTime) -> JobRecord {
        let spec = JobSpec::new("k", serde_json::Value::Null)
            .queue(queue)
            .priority(priority);
        crate::queue::enqueue::new_record(
            JobId(id),
            spec,
            run_at,
            3,
            std::time::Duration::from_secs(1),
        )
    }

    #[test]
    fn ready_jobs_come_out_by_priority_then_age_per_queue() {
        let now = OffsetDateTime::now_utc();
        let mut index = Index::default();
        for (id, queue, priority) in [
            (1, QueueName::Default, 0),
            (2, QueueName::Default, 5),
            (3, QueueName::Bulk, 9),
            (4, QueueName::Default, 5),
            (5, QueueName::Default, -1),
        ] {
            index
                .live
                .insert(JobId(id), record(id, queue, priority, now));
            index.place(JobId(id), now);
        }
        let order: Vec<u64> = std::iter::from_fn(|| index.pop_ready(QueueName::Default))
            .map(|id| id.0)
            .collect();
        assert_eq!(order, [2, 4, 1, 5]);
        assert_eq!(index.pop_ready(QueueName::Bulk), Some(JobId(3)));
        assert_eq!(index.pop_ready(QueueName::Critical), None);
    }

    #[test]
    fn scheduled_jobs_become_ready_when_due() {
        let now = OffsetDateTime::now_utc();
        let later = now + time::Duration::seconds(10);
        let mut index = Index::default();
        index
            .live
            .insert(JobId(1), record(1, QueueName::Default, 0, later));
        assert_eq!(index.place(JobId(1), now), None);
        assert_eq!(index.next_due(), Some(later));
        assert!(index.promote_due(now).is_empty());
        assert_eq!(index.promote_due(later), vec![QueueName::Default]);
        assert_eq!(index.pop_ready(QueueName::Default), Some(JobId(1)));
    }
}
