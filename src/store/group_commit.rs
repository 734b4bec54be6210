//! Group commit: many writers, one flusher.
//!
//! sled's own `flush_async` serialises callers behind its periodic flush, which caps
//! durable writes at a handful per second under concurrency (DESIGN §8). Instead a
//! writer takes a ticket after its write and waits until a flush that *started after
//! the ticket was taken* has completed. One thread does the flushing; a single
//! `flush()` makes every write before it durable, so N waiting writers cost one fsync.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use tokio::sync::watch;

use super::StoreError;

struct Shared {
    /// Tickets handed out; a ticket is taken after its write completed.
    issued: AtomicU64,
    stop: AtomicBool,
    wake: Mutex<()>,
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
            wake: Mutex::new(()),
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
        match db.flush() {
            Ok(_) => {
                shared.healthy.store(true, Ordering::SeqCst);
                done = target;
                flushed.send_replace(done);
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
