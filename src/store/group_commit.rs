//! Group commit: many writers, one flusher.
//!
//! sled's own `flush_async` serialises callers behind its periodic flush, which caps
//! durable writes at a handful per second under concurrency (DESIGN §8). Instead a
//! writer takes a ticket after its write and waits until a flush that *started after
//! the ticket was taken* has completed. One thread does the flushing; a single
//! `flush()` makes every write before it durable, so N waiting writers cost one fsync.
//!
//! A writer thread that answers many callers at once (the batched creations) flushes
//! itself instead ([`Committer::flush`]), between its transactions. sled's flush holds
//! sled's process-wide lock, shared, for as long as the disk takes, and a transaction
//! takes that lock exclusively: with the flush on the flusher thread, a batch's
//! transaction waited for the flush of the batch before it, and that flush, started
//! just after, waited for the transaction in turn, so each batch was answered only
//! after the next one had been written. Flushing on the writer's own thread makes its cycle one
//! transaction and one flush.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use parking_lot::{Condvar, Mutex};
use tokio::sync::watch;

use super::StoreError;

struct Shared {
    /// Tickets handed out; a ticket is taken after its write completed.
    issued: AtomicU64,
    stop: AtomicBool,
    /// Guards the flusher's sleep.
    wake: Mutex<()>,
    wake_cv: Condvar,
    healthy: AtomicBool,
    /// Tests hold the flusher to see who waits for durability.
    #[cfg(test)]
    held: AtomicBool,
}

pub(super) struct GroupCommit {
    db: sled::Db,
    shared: Arc<Shared>,
    flushed: watch::Receiver<u64>,
    thread: Option<JoinHandle<()>>,
}

impl GroupCommit {
    pub(super) fn start(db: sled::Db) -> std::io::Result<Self> {
        let shared = Arc::new(Shared {
            issued: AtomicU64::new(0),
            stop: AtomicBool::new(false),
            wake: Mutex::new(()),
            wake_cv: Condvar::new(),
            healthy: AtomicBool::new(true),
            #[cfg(test)]
            held: AtomicBool::new(false),
        });
        let (tx, rx) = watch::channel(0u64);
        let thread = std::thread::Builder::new().name("deskgate-flusher".into()).spawn({
            let committer = Committer { db: db.clone(), shared: shared.clone() };
            move || flusher(&committer, tx)
        })?;
        Ok(Self { db, shared, flushed: rx, thread: Some(thread) })
    }

    /// Wait until every write that completed before this call is on disk.
    pub(super) async fn durable(&self) -> Result<(), StoreError> {
        let ticket = self.shared.issued.fetch_add(1, Ordering::SeqCst) + 1;
        {
            let _guard = self.shared.wake.lock();
            self.shared.wake_cv.notify_one();
        }
        let mut rx = self.flushed.clone();
        rx.wait_for(|flushed| *flushed >= ticket)
            .await
            .map(|_| ())
            .map_err(|_| StoreError::Io("the store's flusher has stopped".into()))
    }

    /// A handle for a writer thread that flushes between its own writes.
    pub(super) fn committer(&self) -> Committer {
        Committer { db: self.db.clone(), shared: self.shared.clone() }
    }

    /// Hold (or release) the flusher: while held, nothing becomes durable.
    #[cfg(test)]
    pub(super) fn hold(&self, held: bool) {
        self.shared.held.store(held, Ordering::SeqCst);
        let _guard = self.shared.wake.lock();
        self.shared.wake_cv.notify_one();
    }

    pub(super) fn is_healthy(&self) -> bool {
        self.shared.healthy.load(Ordering::SeqCst) && self.thread.as_ref().is_some_and(|t| !t.is_finished())
    }
}

/// Flushes for a writer thread (see [`GroupCommit::committer`]).
#[derive(Clone)]
pub(super) struct Committer {
    db: sled::Db,
    shared: Arc<Shared>,
}

impl Committer {
    /// Return once every write completed before this call is on disk. A failed flush
    /// is tried again until one succeeds: what waits for it is not durable before.
    /// While flushes fail, readiness reports the store unhealthy.
    pub(super) fn flush(&self) {
        loop {
            #[cfg(test)]
            while self.shared.held.load(Ordering::SeqCst) && !self.shared.stop.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(5));
            }
            let started = std::time::Instant::now();
            match self.db.flush() {
                Ok(bytes) => {
                    // How long the disk takes to make a round of writes durable, and
                    // how much it writes for them: what an accept waits for after its write.
                    metrics::histogram!("deskgate_store_flush_seconds").record(started.elapsed().as_secs_f64());
                    metrics::counter!("deskgate_store_flushed_bytes_total").increment(bytes as u64);
                    self.shared.healthy.store(true, Ordering::SeqCst);
                    return;
                }
                Err(e) => {
                    self.shared.healthy.store(false, Ordering::SeqCst);
                    tracing::error!(error = %e, "flushing the store failed; retrying");
                    std::thread::sleep(Duration::from_millis(200));
                }
            }
        }
    }
}

impl Drop for GroupCommit {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        {
            let _guard = self.shared.wake.lock();
            self.shared.wake_cv.notify_one();
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn flusher(commit: &Committer, flushed: watch::Sender<u64>) {
    let shared = &commit.shared;
    let mut done = 0u64;
    loop {
        {
            let mut guard = shared.wake.lock();
            while shared.issued.load(Ordering::SeqCst) == done && !shared.stop.load(Ordering::SeqCst) {
                shared.wake_cv.wait_for(&mut guard, Duration::from_millis(500));
            }
        }
        // Every ticket up to `target` belongs to a write that finished before now.
        let target = shared.issued.load(Ordering::SeqCst);
        commit.flush();
        done = target;
        flushed.send_replace(done);
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
    fn a_writers_own_flush_returns_only_once_flushes_go_through() {
        let dir = tempfile::tempdir().unwrap();
        let db = sled::open(dir.path()).unwrap();
        let commit = GroupCommit::start(db.clone()).unwrap();
        commit.hold(true);
        db.insert("k", "v").unwrap();
        let (done, flushed) = mpsc::channel();
        let committer = commit.committer();
        let writer = std::thread::spawn(move || {
            committer.flush();
            done.send(()).unwrap();
        });
        assert!(flushed.recv_timeout(Duration::from_millis(300)).is_err(), "returned while flushes were held");
        commit.hold(false);
        flushed.recv_timeout(Duration::from_secs(10)).expect("returned once flushed");
        writer.join().unwrap();
    }
}
