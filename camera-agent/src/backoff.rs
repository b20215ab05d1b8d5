//! Reconnection delays: exponential with full jitter (AWS "full jitter"), capped.
//!
//! Full jitter spreads a fleet of cameras that lost the server at the same moment (a
//! signaling restart) over the whole window instead of having them return in lockstep.
//! Randomness is injected so tests are deterministic.

use std::time::Duration;

/// Exponential back-off state.
#[derive(Clone, Debug)]
pub struct Backoff {
    base: Duration,
    cap: Duration,
    attempt: u32,
}

impl Backoff {
    /// Delays start around `base` and never exceed `cap`.
    pub fn new(base: Duration, cap: Duration) -> Self {
        Self {
            base,
            cap,
            attempt: 0,
        }
    }

    /// The ceiling for the next attempt: `min(cap, base * 2^attempt)`.
    pub fn ceiling(&self) -> Duration {
        let factor = 1u32.checked_shl(self.attempt.min(20)).unwrap_or(u32::MAX);
        self.base.saturating_mul(factor).min(self.cap)
    }

    /// The next delay: uniform in `[ceiling/2, ceiling]` given `unit` in `[0, 1)`. Half the
    /// ceiling as a floor keeps a hard-failing server from being hammered.
    pub fn next_with(&mut self, unit: f64) -> Duration {
        let ceiling = self.ceiling();
        self.attempt = self.attempt.saturating_add(1);
        let unit = unit.clamp(0.0, 1.0);
        ceiling.mul_f64(0.5 + 0.5 * unit)
    }

    /// The next delay with OS randomness.
    pub fn next_delay(&mut self) -> Duration {
        let unit = getrandom::u32().map_or(0.5, |v| f64::from(v) / (f64::from(u32::MAX) + 1.0));
        self.next_with(unit)
    }

    /// A connection worked: start again from `base`.
    pub fn reset(&mut self) {
        self.attempt = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_doubles_caps_and_resets() {
        let mut backoff = Backoff::new(Duration::from_millis(500), Duration::from_secs(30));
        let ceilings: Vec<_> = (0..8)
            .map(|_| {
                let c = backoff.ceiling();
                let d = backoff.next_with(0.999);
                assert!(d <= c && d >= c / 2);
                c.as_millis()
            })
            .collect();
        assert_eq!(
            ceilings,
            vec![500, 1000, 2000, 4000, 8000, 16000, 30000, 30000]
        );
        backoff.reset();
        assert_eq!(backoff.next_with(0.0), Duration::from_millis(250));
    }

    #[test]
    fn jitter_spreads_delays() {
        let mut a = Backoff::new(Duration::from_secs(1), Duration::from_secs(60));
        let mut b = a.clone();
        assert_ne!(a.next_with(0.1), b.next_with(0.9));
    }
}
