//! Which replica runs the work only one may run at a time (polling desks, the
//! escalation watch). A single-process store is always the leader; a shared store
//! hands leadership to one replica and to another when that one dies.

use tokio::sync::watch;

/// Whether this process leads now; cheap to clone and to ask.
#[derive(Clone, Debug)]
pub struct Leadership(watch::Receiver<bool>);

impl Leadership {
    /// Always the leader: the only process on its store.
    pub fn always() -> Self {
        // The receiver keeps the last value after its sender is gone.
        Self(watch::channel(true).1)
    }

    /// A leadership whose holder reports through `sender`.
    pub fn channel() -> (watch::Sender<bool>, Self) {
        let (tx, rx) = watch::channel(false);
        (tx, Self(rx))
    }

    pub fn is_leader(&self) -> bool {
        *self.0.borrow()
    }

    /// Wait until this process no longer leads (at once if it does not): work only
    /// the leader may do stops then, not at its end.
    pub async fn lost(&mut self) {
        if self.0.wait_for(|l| !*l).await.is_err() {
            // The holder is gone while leading: always the leader.
            std::future::pending::<()>().await;
        }
    }

    /// Wait until this process leads (at once if it does).
    pub async fn acquired(&mut self) {
        if self.0.wait_for(|l| *l).await.is_err() {
            // The holder is gone: it will never lead.
            std::future::pending::<()>().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::Leadership;

    #[tokio::test]
    async fn losing_leadership_is_seen_at_once_and_the_single_process_never_loses_it() {
        let (sender, mut leadership) = Leadership::channel();
        sender.send_replace(true);
        let mut watching = leadership.clone();
        let lost = tokio::spawn(async move { watching.lost().await });
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!lost.is_finished(), "lost while leading");
        sender.send_replace(false);
        tokio::time::timeout(Duration::from_secs(1), lost).await.expect("lost at once").unwrap();
        leadership.lost().await;
        let mut always = Leadership::always();
        assert!(tokio::time::timeout(Duration::from_millis(50), always.lost()).await.is_err(), "always leads");
    }
}
