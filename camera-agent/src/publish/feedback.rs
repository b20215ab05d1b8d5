//! Getting key-frame requests (PLI, FIR) from the SFU to the encoder.
//!
//! webrtc-rs 0.21 ends inbound RTCP at its interceptor chain: the NACK responder and the
//! report interceptors consume what they need and nothing reaches the application. A
//! late joiner's PLI would vanish and it would wait up to a whole key-frame interval for a
//! picture. [`KeyFrameFeedback`] sits last in the chain and marks PLI/FIR packets
//! `DeliverToApplication`, so they arrive on the local track's event stream.
//!
//! [`KeyFrameLimiter`] then turns a burst of requests (several viewers, or a browser that
//! cannot decrypt asking every 200 ms) into at most one IDR per interval — a forced IDR
//! costs every viewer bandwidth — without ever dropping the last request: a request
//! inside the interval is deferred to its end, not ignored.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use rtc::interceptor::{Attribute, Interceptor, Packet, StreamInfo, TaggedPacket};
use rtc::rtcp::payload_feedbacks::full_intra_request::FullIntraRequest;
use rtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication;
use rtc::sansio::Protocol;

/// The slot the interceptor takes: after every built-in one, so they all see the RTCP first.
pub const FEEDBACK_SLOT: usize = 14_000;

/// Whether an RTCP packet asks the sender for a key frame.
pub fn is_key_frame_request(packet: &dyn rtc::rtcp::Packet) -> bool {
    let any = packet.as_any();
    any.is::<PictureLossIndication>() || any.is::<FullIntraRequest>()
}

/// Interceptor that hands PLI/FIR to the application and lets all else end as usual.
#[derive(Default)]
pub struct KeyFrameFeedback {
    inbound: VecDeque<TaggedPacket>,
    outbound: VecDeque<TaggedPacket>,
}

impl std::fmt::Debug for KeyFrameFeedback {
    // Packets have no `Debug`; queue depths are what matters when debugging.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyFrameFeedback")
            .field("inbound", &self.inbound.len())
            .field("outbound", &self.outbound.len())
            .finish()
    }
}

impl Protocol<TaggedPacket, TaggedPacket, ()> for KeyFrameFeedback {
    type Rout = TaggedPacket;
    type Wout = TaggedPacket;
    type Eout = ();
    type Error = rtc::shared::error::Error;
    type Time = Instant;

    fn handle_read(&mut self, mut msg: TaggedPacket) -> Result<(), Self::Error> {
        if let Packet::Rtcp(packets) = &msg.message.packet {
            let requests: Vec<Box<dyn rtc::rtcp::Packet>> = packets
                .iter()
                .filter(|p| is_key_frame_request(&***p))
                .cloned()
                .collect();
            if requests.is_empty() {
                // Reports and NACKs were handled by the interceptors before us.
                return Ok(());
            }
            msg.message.packet = Packet::Rtcp(requests);
            msg.message.add(Attribute::DeliverToApplication);
        }
        self.inbound.push_back(msg);
        Ok(())
    }

    fn poll_read(&mut self) -> Option<Self::Rout> {
        self.inbound.pop_front()
    }

    fn handle_write(&mut self, msg: TaggedPacket) -> Result<(), Self::Error> {
        self.outbound.push_back(msg);
        Ok(())
    }

    fn poll_write(&mut self) -> Option<Self::Wout> {
        self.outbound.pop_front()
    }
}

impl Interceptor for KeyFrameFeedback {
    fn bind_local_stream(&mut self, _info: &StreamInfo) {}
    fn unbind_local_stream(&mut self, _info: &StreamInfo) {}
    fn bind_remote_stream(&mut self, _info: &StreamInfo) {}
    fn unbind_remote_stream(&mut self, _info: &StreamInfo) {}
}

/// Minimum spacing of forced IDRs (the "at most one per 500 ms").
pub const MIN_FORCED_KEY_FRAME_INTERVAL: Duration = Duration::from_millis(500);

/// Coalesces key-frame requests: at most one IDR per `min_interval`, none lost.
#[derive(Clone, Debug)]
pub struct KeyFrameLimiter {
    min_interval: Duration,
    last_key_frame: Option<Instant>,
    pending: bool,
}

impl KeyFrameLimiter {
    /// A limiter allowing one forced IDR per `min_interval`.
    pub fn new(min_interval: Duration) -> Self {
        Self {
            min_interval,
            last_key_frame: None,
            pending: false,
        }
    }

    /// Records a request (PLI, FIR, a key rotation).
    pub fn request(&mut self) {
        self.pending = true;
    }

    /// Records that a key frame went out at `now`, forced or periodic: it answers any
    /// pending request and restarts the interval.
    pub fn key_frame_sent(&mut self, now: Instant) {
        self.pending = false;
        self.last_key_frame = Some(now);
    }

    /// Whether the next frame should be forced to an IDR. Call once per frame.
    pub fn should_force(&self, now: Instant) -> bool {
        self.pending
            && self
                .last_key_frame
                .is_none_or(|last| now.saturating_duration_since(last) >= self.min_interval)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bursts_become_one_idr_per_interval_and_none_is_lost() {
        let start = Instant::now();
        let mut limiter = KeyFrameLimiter::new(MIN_FORCED_KEY_FRAME_INTERVAL);
        let mut forced = Vec::new();
        // A PLI every 100 ms for 2 s, frames every 33 ms.
        for ms in (0..2000u64).step_by(33) {
            let now = start + Duration::from_millis(ms);
            if ms % 100 < 33 {
                limiter.request();
            }
            if limiter.should_force(now) {
                limiter.key_frame_sent(now);
                forced.push(ms);
            }
        }
        assert!(forced.windows(2).all(|w| w[1] - w[0] >= 500), "{forced:?}");
        assert_eq!(forced.len(), 4, "{forced:?}");

        // A single request right after an IDR is deferred, not dropped.
        let mut limiter = KeyFrameLimiter::new(MIN_FORCED_KEY_FRAME_INTERVAL);
        limiter.key_frame_sent(start);
        limiter.request();
        assert!(!limiter.should_force(start + Duration::from_millis(100)));
        assert!(limiter.should_force(start + Duration::from_millis(500)));
    }
}
