//! Outbound pushes (webhooks, business-rule REST calls): a simulator queues each
//! payload in the order its changes happened; one delivery task per simulator sends
//! them in that order; tests wait until every push queued so far is settled.

use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::Value;
use tokio::sync::{Notify, mpsc};

/// The sending side, with the counters a test waits on.
pub(crate) struct PushQueue {
    /// `None` when the simulator has no push target: nothing is queued.
    tx: Option<mpsc::UnboundedSender<Value>>,
    queued: AtomicU64,
    done: AtomicU64,
    notify: Notify,
}

impl PushQueue {
    /// A queue, and its receiving end for the delivery task when `enabled`.
    pub(crate) fn new(enabled: bool) -> (PushQueue, Option<mpsc::UnboundedReceiver<Value>>) {
        let (tx, rx) = if enabled {
            let (tx, rx) = mpsc::unbounded_channel();
            (Some(tx), Some(rx))
        } else {
            (None, None)
        };
        (PushQueue { tx, queued: AtomicU64::new(0), done: AtomicU64::new(0), notify: Notify::new() }, rx)
    }

    pub(crate) fn enabled(&self) -> bool {
        self.tx.is_some()
    }

    pub(crate) fn enqueue(&self, payload: Value) {
        let Some(tx) = &self.tx else { return };
        self.queued.fetch_add(1, Ordering::SeqCst);
        if tx.send(payload).is_err() {
            self.done.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// The delivery task has delivered one push, or given up on it.
    pub(crate) fn settled_one(&self) {
        self.done.fetch_add(1, Ordering::SeqCst);
        self.notify.notify_waiters();
    }

    /// Wait until every push queued so far has been delivered or has failed.
    pub(crate) async fn settled(&self) {
        loop {
            let notified = self.notify.notified();
            let queued = self.queued.load(Ordering::SeqCst);
            if self.done.load(Ordering::SeqCst) >= queued {
                return;
            }
            notified.await;
        }
    }
}
