//! Anti-replay window for one key generation (RFC 9605, security considerations: anti-replay).
//!
//! A bitmap of the last [`REPLAY_WINDOW`] counters below the highest authenticated one.
//! Checking never changes state; only a frame that authenticated is recorded, so a forged
//! header can neither mark a counter as seen nor slide the window forward.

/// How many counters behind the newest authenticated frame are still accepted. Frames are
/// reordered by at most a few positions in practice; at 30 fps this is over 4 seconds.
pub const REPLAY_WINDOW: u64 = 128;

/// Counters seen for one KID.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct ReplayWindow {
    /// Highest authenticated counter, `None` before the first frame.
    highest: Option<u64>,
    /// Bit `i` set: counter `highest - i` was accepted.
    seen: u128,
}

impl ReplayWindow {
    /// True when `counter` may still be accepted: newer than anything seen, or inside the
    /// window and not seen yet.
    pub(crate) fn is_fresh(&self, counter: u64) -> bool {
        let Some(highest) = self.highest else {
            return true;
        };
        if counter > highest {
            return true;
        }
        let age = highest - counter;
        age < REPLAY_WINDOW && self.seen & (1u128 << age) == 0
    }

    /// Records an authenticated `counter`, sliding the window forward if it is the newest.
    pub(crate) fn record(&mut self, counter: u64) {
        match self.highest {
            Some(highest) if counter <= highest => {
                let age = highest - counter;
                if age < REPLAY_WINDOW {
                    self.seen |= 1u128 << age;
                }
            }
            Some(highest) => {
                let shift = counter - highest;
                self.seen = if shift >= REPLAY_WINDOW {
                    0
                } else {
                    self.seen << shift
                };
                self.seen |= 1;
                self.highest = Some(counter);
            }
            None => {
                self.seen = 1;
                self.highest = Some(counter);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_each_counter_once_in_any_order() {
        let mut window = ReplayWindow::default();
        for counter in [5, 3, 4, 9, 6] {
            assert!(window.is_fresh(counter));
            window.record(counter);
            assert!(!window.is_fresh(counter));
        }
        assert!(window.is_fresh(7) && window.is_fresh(8) && window.is_fresh(0));
    }

    #[test]
    fn rejects_counters_older_than_the_window() {
        let mut window = ReplayWindow::default();
        window.record(1000);
        assert!(window.is_fresh(1000 - (REPLAY_WINDOW - 1)));
        assert!(!window.is_fresh(1000 - REPLAY_WINDOW));
        window.record(1000 + 5 * REPLAY_WINDOW);
        assert!(!window.is_fresh(1000 + 4 * REPLAY_WINDOW));
        assert!(window.is_fresh(1000 + 5 * REPLAY_WINDOW - 1));
    }

    #[test]
    fn checking_alone_changes_nothing() {
        let window = ReplayWindow::default();
        assert!(window.is_fresh(u64::MAX));
        assert_eq!(window, ReplayWindow::default());
    }
}
