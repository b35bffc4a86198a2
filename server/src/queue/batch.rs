//! Batches: a parent record that runs no handler, counts its parts as they finish (in the same
//! commits as the parts) and shows their aggregated progress.

use app::{JobId, JobState};
use time::OffsetDateTime;

use super::{
    Queue,
    commit::Write,
    index::Index,
    record::{Attempt, Batch, JobRecord, Progress},
};

impl Queue {
    /// A part of a batch finished: count it on the parent (written in the same commit as the
    /// part) and finish the parent with its last part. Called under the index lock.
    pub(super) fn part_finished(
        &self,
        index: &mut Index,
        part: &JobRecord,
        now: OffsetDateTime,
        writes: &mut Vec<Write>,
    ) -> Finished {
        let parent_id = part.parent?;
        let parent = index.live.get_mut(&parent_id)?;
        let batch = parent.batch.as_mut()?;
        if part.state == JobState::Succeeded {
            batch.succeeded += 1;
        } else {
            batch.failed += 1;
        }
        let batch = *batch;
        parent.updated_at = now;
        if batch.finished() >= batch.total {
            return self.finish_batch(index, parent_id, now, writes);
        }
        let progress = aggregate(index, parent_id);
        if let Some(parent) = index.live.get_mut(&parent_id) {
            parent.progress = Some(progress);
            writes.push(Write::Put(Box::new(parent.clone())));
        }
        None
    }

    /// Ends a batch whose parts have all finished.
    pub(super) fn finish_batch(
        &self,
        index: &mut Index,
        parent_id: JobId,
        now: OffsetDateTime,
        writes: &mut Vec<Write>,
    ) -> Finished {
        let mut parent = index.live.remove(&parent_id)?;
        let batch = parent.batch.unwrap_or(Batch {
            total: 0,
            succeeded: 0,
            failed: 0,
            cancelled: false,
        });
        parent.state = if batch.cancelled {
            JobState::Cancelled
        } else if batch.failed == 0 {
            JobState::Succeeded
        } else {
            JobState::Dead
        };
        parent.progress = Some(Progress {
            percent: 100,
            message: format!("{} of {} done", batch.finished(), batch.total),
        });
        parent.result = Some(serde_json::json!({
            "parts": batch.total, "succeeded": batch.succeeded, "failed": batch.failed
        }));
        if batch.failed > 0 {
            parent.history.push(Attempt {
                started_at: parent.created_at,
                ended_at: Some(now),
                error: Some(format!("{} of {} parts failed", batch.failed, batch.total)),
            });
        }
        parent.updated_at = now;
        index.committing.insert(parent_id, Some(parent.clone()));
        self.emit(&parent);
        writes.push(Write::Put(Box::new(parent)));
        Some((parent_id, now))
    }

    /// Forgets a finished batch parent's overlay once the commit holding it is flushed.
    pub(super) fn batch_committed(&self, finished: Finished) {
        if let Some((parent, at)) = finished {
            self.committed(parent, Some(at));
        }
    }

    /// A part reported progress: the parent shows the average over its parts.
    pub(super) fn part_progressed(&self, index: &mut Index, parent_id: JobId) -> Option<JobRecord> {
        let progress = aggregate(index, parent_id);
        let parent = index.live.get_mut(&parent_id)?;
        parent.progress = Some(progress);
        Some(parent.clone())
    }
}

/// A batch parent that finished: its overlay is forgotten once the commit is flushed.
pub(crate) type Finished = Option<(JobId, OffsetDateTime)>;

/// A batch's progress: finished parts count 100 %, running ones what they last reported.
fn aggregate(index: &Index, parent_id: JobId) -> Progress {
    let Some(batch) = index.live.get(&parent_id).and_then(|p| p.batch) else {
        return Progress {
            percent: 100,
            message: String::new(),
        };
    };
    // Finished parts are counted by the batch; one still in the overlay must not count twice.
    let in_flight: u64 = index
        .live
        .values()
        .filter(|r| r.parent == Some(parent_id) && !r.state.is_terminal())
        .map(|r| u64::from(r.progress.as_ref().map_or(0, |p| p.percent)))
        .sum();
    let total = u64::from(batch.total.max(1));
    let percent = (u64::from(batch.finished()) * 100 + in_flight) / total;
    // A progress bar never goes back, whatever order parts report in.
    let before = index
        .live
        .get(&parent_id)
        .and_then(|p| p.progress.as_ref())
        .map_or(0, |p| u64::from(p.percent));
    Progress {
        percent: u8::try_from(percent.max(before).min(100)).unwrap_or(100),
        message: format!("{} of {} done", batch.finished(), batch.total),
    }
}
