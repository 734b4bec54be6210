//! The instants at which something happens to an incident by itself, without a
//! desk doing anything: the work the escalation watch does on each pass. The store
//! indexes each of them, so a pass reads the incidents that are due, never every
//! incident ever stored.

use jiff::Timestamp;

use super::Incident;
use crate::model::Status;

/// One kind of instant an incident may wait for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Timer {
    /// A P3/P4 reported outside staffed hours is taken up (process step 3).
    Deferral,
    /// A resolved incident closes unless reopened first (the process profile's
    /// auto-close window).
    AutoClose,
    /// A root-cause analysis falls due (the Mitz process): its assignee is reminded
    /// ahead of it, once.
    RcaDue,
}

impl Timer {
    pub const ALL: [Timer; 3] = [Timer::Deferral, Timer::AutoClose, Timer::RcaDue];

    /// A stable one-byte code (the sled index's key prefix).
    pub fn code(self) -> u8 {
        match self {
            Timer::Deferral => b'd',
            Timer::AutoClose => b'c',
            Timer::RcaDue => b'r',
        }
    }
}

impl Incident {
    /// When `timer` is due for this incident, if it waits for it at all.
    pub fn timer(&self, timer: Timer) -> Option<Timestamp> {
        match timer {
            Timer::Deferral => self.deferred_until,
            Timer::AutoClose => {
                self.process.as_ref().and_then(|p| p.auto_close_at).filter(|_| self.status == Status::Resolved)
            }
            Timer::RcaDue => self
                .rca
                .as_ref()
                .filter(|r| r.delivered_at.is_none() && r.reminded_at.is_none())
                .filter(|_| self.status != Status::Cancelled)
                .map(|r| r.due),
        }
    }
}
