//! 90 kHz frame timing.
//!
//! webrtc-rs turns a sample's `Duration` into RTP ticks by truncation
//! (`(d.as_secs_f64() * 90000.0) as u32`). At 30 fps a naive `1s / 30` = 33,333,333 ns
//! becomes 2999 ticks and the stream drifts; so durations are computed here in ticks and
//! converted back to one nanosecond above the exact value (3000 ticks → 33,333,334 ns), which
//! truncates back to exactly the intended tick count.

use std::time::Duration;

/// RTP clock rate for video.
pub const VIDEO_CLOCK_RATE: u32 = 90_000;

/// Hands out per-frame durations in ticks for any frame rate, without cumulative drift:
/// frame *n* starts at `round(n * 90000 / fps)`.
#[derive(Clone, Debug)]
pub struct FrameClock {
    fps: u32,
    frame: u64,
}

impl FrameClock {
    /// A clock for `fps` frames per second (0 is treated as 1).
    pub fn new(fps: u32) -> Self {
        Self {
            fps: fps.max(1),
            frame: 0,
        }
    }

    fn start_of(&self, frame: u64) -> u64 {
        let fps = u64::from(self.fps);
        (frame * u64::from(VIDEO_CLOCK_RATE) + fps / 2) / fps
    }

    /// Duration of the next frame in ticks.
    pub fn next_ticks(&mut self) -> u32 {
        let ticks = self.start_of(self.frame + 1) - self.start_of(self.frame);
        self.frame += 1;
        // One frame at >= 1 fps is at most 90000 ticks.
        u32::try_from(ticks).unwrap_or(VIDEO_CLOCK_RATE)
    }

    /// Nominal frame period, for pacing.
    pub fn period(&self) -> Duration {
        Duration::from_nanos(1_000_000_000 / u64::from(self.fps))
    }
}

/// A `Duration` that webrtc-rs truncates back to exactly `ticks`.
pub fn ticks_to_duration(ticks: u32) -> Duration {
    // One nanosecond above the exact value: a margin of 9e-5 ticks, far above f64 error,
    // far below one tick.
    let nanos = u64::from(ticks) * 1_000_000_000 / u64::from(VIDEO_CLOCK_RATE) + 1;
    Duration::from_nanos(nanos)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thirty_fps_is_3000_ticks_and_33_333_334_ns() {
        let mut clock = FrameClock::new(30);
        assert!((0..300).all(|_| clock.next_ticks() == 3000));
        assert_eq!(ticks_to_duration(3000), Duration::from_nanos(33_333_334));
    }

    #[test]
    fn webrtc_truncation_recovers_every_tick_count() {
        for ticks in 1..=VIDEO_CLOCK_RATE {
            let back =
                (ticks_to_duration(ticks).as_secs_f64() * f64::from(VIDEO_CLOCK_RATE)) as u32;
            assert_eq!(back, ticks, "ticks {ticks}");
        }
    }

    #[test]
    fn odd_rates_do_not_drift() {
        let mut clock = FrameClock::new(7);
        let total: u64 = (0..7 * 10).map(|_| u64::from(clock.next_ticks())).sum();
        assert_eq!(total, 10 * u64::from(VIDEO_CLOCK_RATE));
    }
}
