//! Group commit: every state change goes to one committer thread, which applies everything
//! that arrived together, flushes sled once, and only then answers each caller. One flush per
//! group keeps durability cheap, and a single flusher avoids sled's `flush_async` deadlock.
//!
//! Fail-stop: the first commit that fails (a full or failing disk) is remembered in
//! [`Failure`], every later one is refused, and the queue stops claiming. Memory may hold a
//! change the disk refused; nothing acts on it, and the next start rebuilds from the disk.

use std::{
    sync::{Arc, OnceLock, mpsc},
    thread,
};

use app::JobId;
use sled::Transactional as _;
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

use super::{QueueError, record::JobRecord};
use crate::store::codec;

/// A change to the jobs tree.
pub enum Write {
    Put(Box<JobRecord>),
    Delete(JobId),
}

/// Application writes that must land in the same commit as the job writes.
pub type Extra = crate::store::WriteSet;

struct Request {
    writes: Vec<Write>,
    extra: Extra,
    ack: oneshot::Sender<Result<(), String>>,
}

/// The first failed commit, if any. Once set it stays: the queue has stopped.
pub struct Failure {
    reason: OnceLock<String>,
    /// Cancelled by the first failure: the queue stops claiming, the server stops.
    stopped: CancellationToken,
    /// Tests break the disk with it: the next group fails as a refused write would.
    #[cfg(test)]
    pub(super) simulated: std::sync::atomic::AtomicBool,
}

impl Failure {
    /// A failure record that cancels `stop` when a commit fails.
    pub fn new(stop: CancellationToken) -> Self {
        Self {
            reason: OnceLock::new(),
            stopped: stop,
            #[cfg(test)]
            simulated: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// Why commits stopped, once one failed.
    pub fn reason(&self) -> Option<&str> {
        self.reason.get().map(String::as_str)
    }

    fn record(&self, reason: &str) {
        if self.reason.set(reason.to_owned()).is_ok() {
            tracing::error!(
                %reason,
                "the disk refused a write: the job queue stops and brickdesk with it; what was \
                 acknowledged before is on disk, and the next start continues from there"
            );
            self.stopped.cancel();
        }
    }
}

/// Handle to the committer thread; the thread ends when the last handle is dropped.
pub struct Committer {
    tx: mpsc::Sender<Request>,
}

/// Most requests folded into one flush.
const MAX_GROUP: usize = 8192;

impl Committer {
    /// Starts the committer for `jobs` in `db`.
    pub fn spawn(
        db: sled::Db,
        jobs: sled::Tree,
        failure: Arc<Failure>,
    ) -> (Self, thread::JoinHandle<()>) {
        let (tx, rx) = mpsc::channel::<Request>();
        let handle = thread::Builder::new()
            .name("brickdesk-commit".into())
            .spawn(move || {
                while let Ok(first) = rx.recv() {
                    let mut group = vec![first];
                    while group.len() < MAX_GROUP {
                        match rx.try_recv() {
                            Ok(next) => group.push(next),
                            Err(_) => break,
                        }
                    }
                    commit_group(&db, &jobs, group, &failure);
                }
            })
            .unwrap_or_else(|e| panic!("cannot start the commit thread: {e}"));
        (Self { tx }, handle)
    }

    /// Hands `writes` (and `extra`) to the committer now, so that commits land in the order
    /// they were submitted; [`Pending::wait`] returns once they are flushed.
    pub fn submit(&self, writes: Vec<Write>, extra: Extra) -> Result<Pending, QueueError> {
        let (ack, done) = oneshot::channel();
        self.tx
            .send(Request { writes, extra, ack })
            .map_err(|_| QueueError::Stopped)?;
        Ok(Pending(done))
    }
}

/// A submitted commit.
#[must_use = "a commit is only durable once waited for"]
pub struct Pending(oneshot::Receiver<Result<(), String>>);

impl Pending {
    /// Waits until the commit is flushed.
    pub async fn wait(self) -> Result<(), QueueError> {
        self.0
            .await
            .map_err(|_| QueueError::Stopped)?
            .map_err(QueueError::Storage)
    }
}

fn commit_group(db: &sled::Db, jobs: &sled::Tree, group: Vec<Request>, failure: &Failure) {
    #[cfg(test)]
    if failure.simulated.load(std::sync::atomic::Ordering::Relaxed) {
        failure.record("simulated I/O error: no space left on device");
    }
    if let Some(reason) = failure.reason() {
        let refused = format!("an earlier write failed ({reason}); nothing more is written");
        for Request { ack, .. } in group {
            let _ = ack.send(Err(refused.clone()));
        }
        return;
    }
    let mut batch = sled::Batch::default();
    let mut pending = false;
    let mut results: Vec<Result<(), String>> = Vec::with_capacity(group.len());
    let mut acks = Vec::with_capacity(group.len());
    for Request { writes, extra, ack } in group {
        acks.push(ack);
        if extra.is_empty() {
            for write in writes {
                apply(&mut batch, write);
            }
            pending = true;
            results.push(Ok(()));
            continue;
        }
        // An atomic request: land what came before it, then it, in one transaction.
        if pending {
            if let Err(e) = jobs.apply_batch(std::mem::take(&mut batch)) {
                results.iter_mut().for_each(|r| *r = Err(e.to_string()));
            }
            pending = false;
        }
        let mut own = sled::Batch::default();
        for write in writes {
            apply(&mut own, write);
        }
        let mut trees = vec![jobs.clone()];
        trees.extend(extra.iter().map(|(tree, _)| tree.clone()));
        let outcome = trees.as_slice().transaction(|views| {
            views[0].apply_batch(&own)?;
            for (view, (_, extra_batch)) in views[1..].iter().zip(&extra) {
                view.apply_batch(extra_batch)?;
            }
            Ok::<_, sled::transaction::ConflictableTransactionError<()>>(())
        });
        results.push(outcome.map_err(|e| format!("{e:?}")));
    }
    if pending && let Err(e) = jobs.apply_batch(batch) {
        results.iter_mut().for_each(|r| *r = Err(e.to_string()));
    }
    if let Err(e) = db.flush() {
        results.iter_mut().for_each(|r| *r = Err(e.to_string()));
    }
    if let Some(Err(reason)) = results.iter().find(|r| r.is_err()) {
        failure.record(reason);
    }
    for (ack, result) in acks.into_iter().zip(results) {
        let _ = ack.send(result);
    }
}

fn apply(batch: &mut sled::Batch, write: Write) {
    match write {
        Write::Put(record) => batch.insert(&record.id.0.to_be_bytes(), codec::encode(&*record)),
        Write::Delete(id) => batch.remove(&id.0.to_be_bytes()),
    }
}
