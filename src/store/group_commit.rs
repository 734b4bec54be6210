//! Group commit: many writers, one flusher.
//!
//! sled's own `flush_async` serialises callers behind its periodic flush, which caps
//! durable writes at a handful per second under concurrency (DESIGN §8). Instead a
//! writer takes a ticket after its write and waits until a flush that *started after
//! the ticket was taken* has completed. One thread does the flushing; a single
//! `flush()` makes every write before it durable, so N waiting writers cost one fsync.
//! A writer that answers many callers at once (the batched creations) hands their
//! answers over with one ticket ([`Committer::after_durable`]): one wake-up of the
//! flusher per batch, and the flusher answers them when the flush is done.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use tokio::sync::watch;

use super::StoreError;

/// What to run once the flush covering its ticket is done.
pub(super) type OnDurable = Box<dyn FnOnce() + Send>;

struct Shared {
    /// Tickets handed out; a ticket is taken after its write completed.
    issued: AtomicU64,
    stop: AtomicBool,
    /// Guards the flusher's sleep; holds the hand-overs waiting for their flush.
    wake: Mutex<Vec<(u64, OnDurable)>>,
    wake_cv: Condvar,
    healthy: AtomicBool,
    /// Tests hold the flusher to see who waits for durability.
    #[cfg(test)]
    held: AtomicBool,
}

pub(super) struct GroupCommit {
    shared: Arc<Shared>,
    flushed: watch::Receiver<u64>,
    thread: Option<JoinHandle<()>>,
}

impl GroupCommit {
    pub(super) fn start(db: sled::Db) -> std::io::Result<Self> {
        let shared = Arc::new(Shared {
            issued: AtomicU64::new(0),
            stop: AtomicBool::new(false),
            wake: Mutex::new(Vec::new()),
            wake_cv: Condvar::new(),
            healthy: AtomicBool::new(true),
            #[cfg(test)]
            held: AtomicBool::new(false),
        });
        let (tx, rx) = watch::channel(0u64);
        let thread = std::thread::Builder::new().name("deskgate-flusher".into()).spawn({
            let shared = shared.clone();
            move || flusher(db, shared, tx)
        })?;
        Ok(Self { shared, flushed: rx, thread: Some(thread) })
    }

    /// Wait until every write that completed before this call is on disk.
    pub(super) async fn durable(&self) -> Result<(), StoreError> {
        let ticket = self.shared.issued.fetch_add(1, Ordering::SeqCst) + 1;
        {
            let _guard = self.shared.wake.lock().unwrap_or_else(|e| e.into_inner());
            self.shared.wake_cv.notify_one();
        }
        let mut rx = self.flushed.clone();
        rx.wait_for(|flushed| *flushed >= ticket)
            .await
            .map(|_| ())
            .map_err(|_| StoreError::Io("the store's flusher has stopped".into()))
    }

    /// A handle for a writer thread that answers its callers once durable.
    pub(super) fn committer(&self) -> Committer {
        Committer { shared: self.shared.clone() }
    }

    /// Hold (or release) the flusher: while held, nothing becomes durable.
    #[cfg(test)]
    pub(super) fn hold(&self, held: bool) {
        self.shared.held.store(held, Ordering::SeqCst);
        let _guard = self.shared.wake.lock().unwrap_or_else(|e| e.into_inner());
        self.shared.wake_cv.notify_one();
    }

    pub(super) fn is_healthy(&self) -> bool {
        self.shared.healthy.load(Ordering::SeqCst) && self.thread.as_ref().is_some_and(|t| !t.is_finished())
    }
}

/// Hands answers to the flusher (see [`GroupCommit::committer`]).
#[derive(Clone)]
pub(super) struct Committer {
    shared: Arc<Shared>,
}

impl Committer {
    /// Run `then` on the flusher once every write completed before this call is on
    /// disk. If the flusher is gone first, `then` is dropped unrun.
    pub(super) fn after_durable(&self, then: OnDurable) {
        let mut waiting = self.shared.wake.lock().unwrap_or_else(|e| e.into_inner());
        // Taken under the lock: the flusher cannot pass this ticket without seeing `then`.
        let ticket = self.shared.issued.fetch_add(1, Ordering::SeqCst) + 1;
        waiting.push((ticket, then));
        self.shared.wake_cv.notify_one();
    }
}

impl Drop for GroupCommit {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        {
            let _guard = self.shared.wake.lock().unwrap_or_else(|e| e.into_inner());
            self.shared.wake_cv.notify_one();
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn flusher(db: sled::Db, shared: Arc<Shared>, flushed: watch::Sender<u64>) {
    let mut done = 0u64;
    loop {
        {
            let mut guard = shared.wake.lock().unwrap_or_else(|e| e.into_inner());
            while shared.issued.load(Ordering::SeqCst) == done && !shared.stop.load(Ordering::SeqCst) {
                guard =
                    shared.wake_cv.wait_timeout(guard, Duration::from_millis(500)).unwrap_or_else(|e| e.into_inner()).0;
            }
        }
        #[cfg(test)]
        while shared.held.load(Ordering::SeqCst) && !shared.stop.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(5));
        }
        // Every ticket up to `target` belongs to a write that finished before now.
        let target = shared.issued.load(Ordering::SeqCst);
        let started = std::time::Instant::now();
        match db.flush() {
            Ok(bytes) => {
                // How long the disk takes to make a round of writes durable, and how
                // much it writes for them: what an accept waits for after its write.
                metrics::histogram!("deskgate_store_flush_seconds").record(started.elapsed().as_secs_f64());
                metrics::counter!("deskgate_store_flushed_bytes_total").increment(bytes as u64);
                shared.healthy.store(true, Ordering::SeqCst);
                done = target;
                flushed.send_replace(done);
                let ready = {
                    let mut waiting = shared.wake.lock().unwrap_or_else(|e| e.into_inner());
                    let (ready, later) = std::mem::take(&mut *waiting).into_iter().partition(|(t, _)| *t <= done);
                    *waiting = later;
                    ready
                };
                ready.into_iter().for_each(|(_, then): (u64, OnDurable)| then());
            }
            Err(e) => {
                // Waiters keep waiting: their writes are not durable. Readiness reports it.
                shared.healthy.store(false, Ordering::SeqCst);
                tracing::error!(error = %e, "flushing the store failed; retrying");
                std::thread::sleep(Duration::from_millis(200));
                continue;
            }
        }
        if shared.stop.load(Ordering::SeqCst) && shared.issued.load(Ordering::SeqCst) == done {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;

    use super::*;

    #[test]
    fn a_hand_over_runs_only_after_the_flush_that_covers_it() {
        let dir = tempfile::tempdir().unwrap();
        let db = sled::open(dir.path()).unwrap();
        let commit = GroupCommit::start(db.clone()).unwrap();
        commit.hold(true);
        db.insert("k", "v").unwrap();
        let (done, answered) = mpsc::channel();
        commit.committer().after_durable(Box::new(move || done.send(()).unwrap()));
        assert!(answered.recv_timeout(Duration::from_millis(300)).is_err(), "answered before its flush");
        commit.hold(false);
        answered.recv_timeout(Duration::from_secs(10)).expect("answered once flushed");
    }
}
