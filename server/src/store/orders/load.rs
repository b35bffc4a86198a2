//! The orders index is read after the server listens: at a million orders reading it takes
//! seconds, and pushes must be accepted meanwhile. [`Load`] says how far it got; whatever
//! needs the index waits for it (blocking callers on a condition variable, async callers
//! without holding a thread), and `/readyz` reports it.

use std::sync::{
    Condvar, Mutex, PoisonError,
    atomic::{AtomicBool, AtomicU64, Ordering},
};

/// How far reading the index got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoadState {
    /// Reading; this many orders so far.
    Loading {
        orders: u64,
    },
    Ready,
    /// The index could not be read (a damaged record): the server stops.
    Failed(String),
}

/// The gate between the index being read and everything that uses it.
#[derive(Debug)]
pub(super) struct Load {
    /// Set once reading ended, well or not: the fast path of every index read.
    done: AtomicBool,
    read: AtomicU64,
    failure: Mutex<Option<String>>,
    ended: Condvar,
    ended_async: tokio::sync::Notify,
}

impl Load {
    pub(super) fn new() -> Self {
        Self {
            done: AtomicBool::new(false),
            read: AtomicU64::new(0),
            failure: Mutex::new(None),
            ended: Condvar::new(),
            ended_async: tokio::sync::Notify::new(),
        }
    }

    /// Counts orders read so far.
    pub(super) fn progress(&self, orders: u64) {
        self.read.store(orders, Ordering::Relaxed);
    }

    /// Reading ended; `failure` says why it failed, if it did.
    pub(super) fn end(&self, failure: Option<String>) {
        let mut slot = self.failure.lock().unwrap_or_else(PoisonError::into_inner);
        *slot = failure;
        self.done.store(true, Ordering::Release);
        drop(slot);
        self.ended.notify_all();
        self.ended_async.notify_waiters();
    }

    pub(super) fn state(&self) -> LoadState {
        if !self.done.load(Ordering::Acquire) {
            return LoadState::Loading {
                orders: self.read.load(Ordering::Relaxed),
            };
        }
        match &*self.failure.lock().unwrap_or_else(PoisonError::into_inner) {
            Some(reason) => LoadState::Failed(reason.clone()),
            None => LoadState::Ready,
        }
    }

    /// Blocks the thread until reading ended.
    pub(super) fn wait(&self) {
        if self.done.load(Ordering::Acquire) {
            return;
        }
        let mut slot = self.failure.lock().unwrap_or_else(PoisonError::into_inner);
        while !self.done.load(Ordering::Acquire) {
            slot = self
                .ended
                .wait(slot)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }

    /// Resolves once reading ended, without holding a thread.
    pub(super) async fn ended(&self) -> LoadState {
        loop {
            let ended = self.ended_async.notified();
            tokio::pin!(ended);
            // Registered before the check: an `end` between the two still wakes it.
            ended.as_mut().enable();
            if self.done.load(Ordering::Acquire) {
                return self.state();
            }
            ended.await;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    #[tokio::test]
    async fn waiters_of_both_kinds_see_the_end() {
        let load = Arc::new(Load::new());
        load.progress(7);
        assert_eq!(load.state(), LoadState::Loading { orders: 7 });
        let blocking = {
            let load = load.clone();
            std::thread::spawn(move || {
                load.wait();
                load.state()
            })
        };
        let waiting = tokio::spawn({
            let load = load.clone();
            async move { load.ended().await }
        });
        tokio::task::yield_now().await;
        load.end(Some("the orders record ff72 is damaged".into()));
        let failed = LoadState::Failed("the orders record ff72 is damaged".into());
        assert_eq!(waiting.await.unwrap(), failed);
        assert_eq!(blocking.join().unwrap(), failed);
        // After the end, waiting returns at once.
        load.wait();
        assert_eq!(load.ended().await, failed);
    }
}
