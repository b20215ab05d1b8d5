//! Frame pacing: when frame k is due and which 90 kHz RTP timestamp it carries. Both are
//! computed from k directly, never accumulated, so a long run does not drift.

use std::time::{Duration, Instant};

/// RTP clock rate of video (RFC 6184 §8.2.1).
pub const VIDEO_CLOCK_HZ: u64 = 90_000;

/// A fixed-rate frame schedule starting at `start`.
#[derive(Debug, Clone, Copy)]
pub struct Pacer {
    start: Instant,
    fps: u32,
}

impl Pacer {
    /// Frames at `fps` (≥ 1) from `start`.
    #[must_use]
    pub fn new(start: Instant, fps: u32) -> Self {
        Self {
            start,
            fps: fps.max(1),
        }
    }

    /// When frame `k` is due.
    #[must_use]
    pub fn due(&self, k: u64) -> Instant {
        self.start + self.offset(k)
    }

    /// Frame `k`'s offset from the start, rounded to the nanosecond.
    #[must_use]
    pub fn offset(&self, k: u64) -> Duration {
        let nanos = u128::from(k) * 1_000_000_000 / u128::from(self.fps);
        Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
    }

    /// The RTP timestamp of frame `k` (wrapping, as RTP timestamps do).
    #[must_use]
    pub fn rtp_timestamp(&self, base: u32, k: u64) -> u32 {
        let ticks = k * VIDEO_CLOCK_HZ / u64::from(self.fps);
        base.wrapping_add(ticks as u32)
    }

    /// The frames due by `now` that are not sent yet: `next..end`.
    #[must_use]
    pub fn due_by(&self, now: Instant, next: u64) -> std::ops::Range<u64> {
        let elapsed = now.saturating_duration_since(self.start).as_nanos();
        let end = elapsed * u128::from(self.fps) / 1_000_000_000 + 1;
        next..u64::try_from(end).unwrap_or(u64::MAX).max(next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thirty_fps_is_exact_3000_ticks_and_does_not_drift() {
        let start = Instant::now();
        let p = Pacer::new(start, 30);
        assert_eq!(p.rtp_timestamp(1000, 1), 4000);
        assert_eq!(p.rtp_timestamp(0, 1800), 1800 * 3000);
        // One minute of frames ends exactly one minute later.
        assert_eq!(p.offset(1800), Duration::from_secs(60));
        assert_eq!(p.offset(1), Duration::from_nanos(33_333_333));
        assert_eq!(p.due(30), start + Duration::from_secs(1));
    }

    #[test]
    fn timestamps_wrap() {
        let p = Pacer::new(Instant::now(), 30);
        assert_eq!(p.rtp_timestamp(u32::MAX - 999, 1), 2000);
    }

    #[test]
    fn due_by_counts_frames_whose_time_has_come() {
        let start = Instant::now();
        let p = Pacer::new(start, 30);
        assert_eq!(p.due_by(start, 0), 0..1);
        assert_eq!(p.due_by(start + Duration::from_millis(100), 1), 1..4);
        // Nothing new before the next frame's time; never a range going backwards.
        assert_eq!(p.due_by(start + Duration::from_millis(100), 4), 4..4);
        assert_eq!(p.due_by(start, 9), 9..9);
    }
}
