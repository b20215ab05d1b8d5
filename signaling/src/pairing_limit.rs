//! Pairing attempts per camera, counted across every connection.
//!
//! The per-connection bucket in [`crate::limits`] stops a single socket from guessing
//! codes quickly, but a client can open a fresh socket for each guess. This limiter keys
//! on the *camera*, so the number of `pair_request`s any camera receives stays bounded
//! however many connections (or tokens) the guesser uses. A pairing code carries 128
//! secret bits, so the limit is defence in depth: it keeps guessing noise off the camera.
//!
//! Only a viewer whose token grants the camera reaches this check, so a stranger cannot
//! spend a camera's budget.

use crate::limits::{RateConfig, TokenBucket};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Buckets idle this long are full again and can be forgotten.
const FORGET_AFTER: Duration = Duration::from_secs(600);
/// Prune forgotten buckets once the map holds this many cameras.
const PRUNE_AT: usize = 1024;

/// One token bucket per camera id.
#[derive(Debug)]
pub(crate) struct PairingLimiter {
    burst: u32,
    per_second: f64,
    buckets: Mutex<HashMap<String, TokenBucket>>,
}

impl PairingLimiter {
    pub(crate) fn new(rates: &RateConfig) -> Self {
        Self {
            burst: rates.pairing_per_camera_burst,
            per_second: rates.pairing_per_camera_per_minute / 60.0,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Whether one more pairing attempt may reach `camera_id` now.
    pub(crate) fn allow(&self, camera_id: &str, now: Instant) -> bool {
        let mut buckets = self
            .buckets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if buckets.len() >= PRUNE_AT {
            buckets.retain(|_, b| now.saturating_duration_since(b.last_used()) < FORGET_AFTER);
        }
        buckets
            .entry(camera_id.to_owned())
            .or_insert_with(|| TokenBucket::new(self.burst, self.per_second, now))
            .try_take(now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_camera_has_its_own_budget_shared_by_all_callers() {
        let rates = RateConfig {
            pairing_per_camera_burst: 4,
            pairing_per_camera_per_minute: 6.0,
            ..RateConfig::default()
        };
        let limiter = PairingLimiter::new(&rates);
        let t0 = Instant::now();
        assert_eq!((0..10).filter(|_| limiter.allow("porch", t0)).count(), 4);
        // Another camera is unaffected.
        assert!(limiter.allow("garage", t0));
        // 10 s at 6/min earns exactly one more attempt.
        let t1 = t0 + Duration::from_secs(10);
        assert!(limiter.allow("porch", t1));
        assert!(!limiter.allow("porch", t1));
    }

    #[test]
    fn idle_buckets_are_pruned_once_the_map_is_large() {
        let limiter = PairingLimiter::new(&RateConfig::default());
        let t0 = Instant::now();
        for i in 0..PRUNE_AT {
            assert!(limiter.allow(&format!("cam-{i}"), t0));
        }
        let later = t0 + FORGET_AFTER + Duration::from_secs(1);
        assert!(limiter.allow("fresh", later));
        let held = limiter
            .buckets
            .lock()
            .map(|b| b.len())
            .unwrap_or(usize::MAX);
        assert_eq!(held, 1);
    }
}
