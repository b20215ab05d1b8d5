//! When frames switch to a new media-key generation.
//!
//! A scheduled rotation (timer, or the SFrame counter nearing its limit) pushes the new
//! key's envelopes to every entitled viewer *first* and keeps encrypting under the old key
//! for a short grace period, so the envelopes arrive before the first frame that needs
//! them: a viewer never drops frames because its key is a few milliseconds late. A
//! revocation switches at once instead: the revoked device must not see one more frame
//! under a key it holds, and it gets no envelope for the new one anyway.
//!
//! [`KeySwitch`] is the pending-switch bookkeeping, pure (time passed in) so it is tested
//! without a clock; the run loop asks it before every frame.

use std::time::{Duration, Instant};

use e2ee::MediaKey;

/// Why a generation is replaced, which decides how frames switch to it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RotationKind {
    /// Timer or counter: the previous key stays valid for overlap and frames switch
    /// after the grace period.
    Scheduled,
    /// A device lost access: no overlap, frames switch immediately (with a key frame).
    Revocation,
}

impl RotationKind {
    /// Whether viewers may keep using the previous generation for a while.
    pub fn keeps_previous(self) -> bool {
        self == Self::Scheduled
    }
}

/// A generation whose envelopes are out but which frames do not use yet.
#[derive(Debug)]
struct Pending {
    key: MediaKey,
    switch_at: Instant,
}

/// Holds at most one pending switch.
#[derive(Debug)]
pub struct KeySwitch {
    grace: Duration,
    pending: Option<Pending>,
}

impl KeySwitch {
    /// Scheduled rotations wait `grace` between pushing envelopes and switching frames.
    pub fn new(grace: Duration) -> Self {
        Self {
            grace,
            pending: None,
        }
    }

    /// The configured grace period.
    pub fn grace(&self) -> Duration {
        self.grace
    }

    /// Records `key` (envelopes just sent) to be used from `now + grace`. A zero grace
    /// makes it due at once. Replaces any earlier pending key: the newest generation wins.
    pub fn schedule(&mut self, key: MediaKey, now: Instant) {
        self.pending = Some(Pending {
            key,
            switch_at: now + self.grace,
        });
    }

    /// The pending key if its moment has come (taken: returned once).
    pub fn due(&mut self, now: Instant) -> Option<MediaKey> {
        if self.pending.as_ref()?.switch_at <= now {
            self.pending.take().map(|p| p.key)
        } else {
            None
        }
    }

    /// The pending key regardless of the grace (the old counter is running out).
    pub fn take_now(&mut self) -> Option<MediaKey> {
        self.pending.take().map(|p| p.key)
    }

    /// Drops the pending key: an immediate rotation superseded it, or a new session starts
    /// with the authority's current key.
    pub fn cancel(&mut self) {
        self.pending = None;
    }

    /// Whether a switch is waiting.
    pub fn is_pending(&self) -> bool {
        self.pending.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scheduled_key_is_due_only_after_the_grace() {
        let start = Instant::now();
        let mut switch = KeySwitch::new(Duration::from_millis(1500));
        switch.schedule(MediaKey::generate(2), start);
        assert!(switch.is_pending());
        assert!(switch.due(start).is_none());
        assert!(switch.due(start + Duration::from_millis(1499)).is_none());
        let key = switch
            .due(start + Duration::from_millis(1500))
            .expect("due at the deadline");
        assert_eq!(key.generation(), 2);
        // Returned once.
        assert!(switch.due(start + Duration::from_secs(10)).is_none());
        assert!(!switch.is_pending());
    }

    #[test]
    fn zero_grace_is_due_at_once_and_newest_key_wins() {
        let start = Instant::now();
        let mut switch = KeySwitch::new(Duration::ZERO);
        switch.schedule(MediaKey::generate(3), start);
        switch.schedule(MediaKey::generate(4), start);
        assert_eq!(switch.due(start).map(|k| k.generation()), Some(4));
    }

    #[test]
    fn take_now_and_cancel_skip_the_wait() {
        let start = Instant::now();
        let mut switch = KeySwitch::new(Duration::from_secs(2));
        switch.schedule(MediaKey::generate(5), start);
        assert_eq!(switch.take_now().map(|k| k.generation()), Some(5));
        switch.schedule(MediaKey::generate(6), start);
        switch.cancel();
        assert!(switch.due(start + Duration::from_secs(5)).is_none());
        assert!(switch.take_now().is_none());
    }

    #[test]
    fn only_scheduled_rotations_keep_the_previous_key() {
        assert!(RotationKind::Scheduled.keeps_previous());
        assert!(!RotationKind::Revocation.keeps_previous());
    }
}
