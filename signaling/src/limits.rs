//! Per-connection rate limits: token buckets driven by a caller-supplied clock, so the
//! logic is deterministic and tested without sleeping.

use std::time::Instant;

/// A token bucket: holds up to `burst` tokens, refilled at `per_second`.
#[derive(Debug, Clone)]
pub struct TokenBucket {
    burst: f64,
    per_second: f64,
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    /// A full bucket.
    #[must_use]
    pub fn new(burst: u32, per_second: f64, now: Instant) -> Self {
        Self {
            burst: f64::from(burst),
            per_second,
            tokens: f64::from(burst),
            last: now,
        }
    }

    /// When a token was last asked for.
    #[must_use]
    pub const fn last_used(&self) -> Instant {
        self.last
    }

    /// Takes one token if available.
    pub fn try_take(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + elapsed * self.per_second).min(self.burst);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// Rates for one connection, from config.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateConfig {
    /// Any message: burst size.
    pub messages_burst: u32,
    /// Any message: sustained per second.
    pub messages_per_second: f64,
    /// `pair_request`: burst size. Pairing codes are guessable only by brute force, so
    /// attempts are held to a trickle.
    pub pairing_burst: u32,
    /// `pair_request`: sustained per minute.
    pub pairing_per_minute: f64,
    /// `pair_request` to one camera from all connections together: burst size. The
    /// per-connection bucket alone is bypassed by reconnecting; this one is not.
    pub pairing_per_camera_burst: u32,
    /// `pair_request` to one camera from all connections together: sustained per minute.
    pub pairing_per_camera_per_minute: f64,
}

impl Default for RateConfig {
    fn default() -> Self {
        Self {
            messages_burst: 100,
            messages_per_second: 50.0,
            pairing_burst: 3,
            pairing_per_minute: 5.0,
            pairing_per_camera_burst: 10,
            pairing_per_camera_per_minute: 10.0,
        }
    }
}

/// The buckets of one connection.
#[derive(Debug, Clone)]
pub struct ConnectionLimits {
    messages: TokenBucket,
    pairing: TokenBucket,
}

impl ConnectionLimits {
    /// Full buckets at `now`.
    #[must_use]
    pub fn new(config: RateConfig, now: Instant) -> Self {
        Self {
            messages: TokenBucket::new(config.messages_burst, config.messages_per_second, now),
            pairing: TokenBucket::new(config.pairing_burst, config.pairing_per_minute / 60.0, now),
        }
    }

    /// Whether a message of `kind` may pass now. Pairing messages spend from both buckets.
    pub fn allow(&mut self, kind: &str, now: Instant) -> bool {
        if !self.messages.try_take(now) {
            return false;
        }
        if kind == "pair_request" {
            return self.pairing.try_take(now);
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn bucket_allows_burst_then_refills_at_rate() {
        let t0 = Instant::now();
        let mut bucket = TokenBucket::new(3, 2.0, t0);
        assert!((0..3).all(|_| bucket.try_take(t0)));
        assert!(!bucket.try_take(t0));
        // Half a second at 2/s refills exactly one token.
        let t1 = t0 + Duration::from_millis(500);
        assert!(bucket.try_take(t1));
        assert!(!bucket.try_take(t1));
        // A long pause refills only up to the burst.
        let t2 = t1 + Duration::from_secs(3600);
        assert_eq!((0..10).filter(|_| bucket.try_take(t2)).count(), 3);
    }

    #[test]
    fn pairing_is_limited_far_below_other_messages() {
        let t0 = Instant::now();
        let mut limits = ConnectionLimits::new(RateConfig::default(), t0);
        let paired = (0..10).filter(|_| limits.allow("pair_request", t0)).count();
        assert_eq!(paired, 3);
        let keys = (0..10).filter(|_| limits.allow("key_request", t0)).count();
        assert_eq!(keys, 10);
        // 12 s at 5/min earns one more attempt.
        assert!(limits.allow("pair_request", t0 + Duration::from_secs(12)));
        assert!(!limits.allow("pair_request", t0 + Duration::from_secs(12)));
    }

    #[test]
    fn message_flood_is_cut_at_the_burst() {
        let t0 = Instant::now();
        let mut limits = ConnectionLimits::new(RateConfig::default(), t0);
        assert_eq!((0..500).filter(|_| limits.allow("ping", t0)).count(), 100);
    }
}
