//! The forwarding decision: a pure function of (packet, per-subscriber state, now).
//!
//! Each subscriber sees one continuous RTP stream: its own sequence numbers and
//! timestamps, rebased whenever the source changes (camera restart, new SSRC) or the
//! subscriber resumes after a pause. Within one mapping the offset is constant, so gaps
//! and retransmitted packets keep their places and the subscriber's NACKs stay meaningful.

use std::time::{Duration, Instant};

use crate::packet::MediaPacket;

/// RTP clock for video (RFC 3551 §5 for every video codec we carry).
const VIDEO_CLOCK_HZ: u64 = 90_000;

/// What to do with one packet for one subscriber.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Send it with these header values.
    Forward {
        /// Subscriber-side sequence number (64-bit extended, starts below 2^16).
        seq: u64,
        /// Subscriber-side RTP timestamp.
        timestamp: u32,
        /// True when this packet ended a pause (the subscriber was waiting for a key frame).
        resumed: bool,
    },
    /// Do not send it.
    Drop(DropReason),
}

/// Why a packet was not forwarded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DropReason {
    /// The subscriber waits for a key frame (new, resumed or fell behind).
    WaitingForKeyframe,
    /// A retransmission older than the start of the current mapping.
    BeforeMappingStart,
    /// The packet waited longer than the allowed forwarding delay: this subscriber's
    /// path through the SFU fell behind, so it waits for a key frame that is on time.
    FellBehind,
}

#[derive(Clone, Copy, Debug)]
struct Mapping {
    source: u64,
    ssrc: u32,
    first_in_seq: u64,
    /// out_seq = in_seq + seq_offset (wrapping arithmetic on u64).
    seq_offset: u64,
    /// out_ts = in_ts + ts_offset (wrapping).
    ts_offset: u32,
}

/// Per-subscriber forwarding state.
#[derive(Clone, Debug)]
pub struct ForwardState {
    mapping: Option<Mapping>,
    waiting_for_keyframe: bool,
    /// Highest sequence number sent, its timestamp, and when it was sent.
    last_out: Option<(u64, u32, Instant)>,
    initial_seq: u64,
    initial_ts: u32,
}

impl ForwardState {
    /// A new subscriber. `initial_seq` must be below 2^16 (str0m needs no ROC signalling
    /// then); pass random values so streams are not predictable (RFC 3550 §5.1).
    pub fn new(initial_seq: u16, initial_ts: u32) -> Self {
        Self {
            mapping: None,
            waiting_for_keyframe: true,
            last_out: None,
            initial_seq: u64::from(initial_seq),
            initial_ts,
        }
    }

    /// The first sequence number this subscriber was given.
    pub fn initial_seq(&self) -> u16 {
        self.initial_seq as u16
    }

    /// True while the subscriber waits for a key frame.
    pub fn is_paused(&self) -> bool {
        self.waiting_for_keyframe
    }

    /// Stop forwarding until the next key frame (loss too high, fell behind).
    /// Returns true when this call changed the state.
    pub fn pause(&mut self) -> bool {
        !std::mem::replace(&mut self.waiting_for_keyframe, true)
    }

    /// Decide for one live packet: as [`ForwardState::decide`], except that a packet
    /// that arrived more than `max_delay` before `now` is not forwarded and pauses the
    /// subscriber until a key frame that is itself on time (a late key frame would only
    /// lead into more late packets). Not for cache replays, which are old by design.
    pub fn decide_live(
        &mut self,
        packet: &MediaPacket,
        now: Instant,
        max_delay: Duration,
    ) -> Decision {
        if now.saturating_duration_since(packet.arrival) > max_delay {
            self.waiting_for_keyframe = true;
            return Decision::Drop(DropReason::FellBehind);
        }
        self.decide(packet, now)
    }

    /// Decide for one packet.
    pub fn decide(&mut self, packet: &MediaPacket, now: Instant) -> Decision {
        let same_source = self
            .mapping
            .is_some_and(|m| m.source == packet.source && m.ssrc == packet.ssrc);
        let resumed = self.waiting_for_keyframe;
        if !same_source || self.waiting_for_keyframe {
            if !packet.keyframe {
                self.waiting_for_keyframe = true;
                return Decision::Drop(DropReason::WaitingForKeyframe);
            }
            self.remap(packet, now);
            self.waiting_for_keyframe = false;
        }
        let Some(mapping) = self.mapping else {
            return Decision::Drop(DropReason::WaitingForKeyframe);
        };
        if packet.seq < mapping.first_in_seq {
            return Decision::Drop(DropReason::BeforeMappingStart);
        }
        let seq = packet.seq.wrapping_add(mapping.seq_offset);
        let timestamp = packet.timestamp.wrapping_add(mapping.ts_offset);
        if self.last_out.is_none_or(|(last, _, _)| seq > last) {
            self.last_out = Some((seq, timestamp, now));
        }
        Decision::Forward {
            seq,
            timestamp,
            resumed,
        }
    }

    /// Where a packet the viewer reports lost came from: (source, SSRC, source sequence
    /// number), for a 16-bit sequence number of this subscriber's stream that was sent
    /// within the current mapping. `None` for one never sent or sent before a remap.
    pub fn lost_packet_source(&self, lost: u16) -> Option<(u64, u32, u64)> {
        let mapping = self.mapping?;
        let (last, _, _) = self.last_out?;
        // The extended number at or below the highest one sent with these low 16 bits.
        let mut seq = (last & !0xffff) | u64::from(lost);
        if seq > last {
            seq = seq.checked_sub(1 << 16)?;
        }
        let first_out = mapping.first_in_seq.wrapping_add(mapping.seq_offset);
        if seq < first_out {
            return None;
        }
        Some((
            mapping.source,
            mapping.ssrc,
            seq.wrapping_sub(mapping.seq_offset),
        ))
    }

    /// The header values `packet` was sent with under the current mapping (for a resend,
    /// which must repeat them), or `None` if it belongs to another mapping.
    pub fn sent_values(&self, packet: &MediaPacket) -> Option<(u64, u32)> {
        let m = self.mapping?;
        let same = m.source == packet.source && m.ssrc == packet.ssrc;
        (same && packet.seq >= m.first_in_seq).then(|| {
            (
                packet.seq.wrapping_add(m.seq_offset),
                packet.timestamp.wrapping_add(m.ts_offset),
            )
        })
    }

    /// Start a new mapping at `packet` so the output continues right after what was sent.
    fn remap(&mut self, packet: &MediaPacket, now: Instant) {
        let (out_seq, out_ts) = match self.last_out {
            None => (self.initial_seq, self.initial_ts),
            Some((last_seq, last_ts, sent_at)) => {
                // Advance the clock by the real time that passed (at least one tick) so the
                // receiver's jitter estimate and playout see a plausible gap.
                let ticks = now.saturating_duration_since(sent_at).as_micros() as u64
                    * VIDEO_CLOCK_HZ
                    / 1_000_000;
                let ticks = u32::try_from(ticks.max(1)).unwrap_or(u32::MAX / 2);
                (last_seq + 1, last_ts.wrapping_add(ticks))
            }
        };
        self.mapping = Some(Mapping {
            source: packet.source,
            ssrc: packet.ssrc,
            first_in_seq: packet.seq,
            seq_offset: out_seq.wrapping_sub(packet.seq),
            ts_offset: out_ts.wrapping_sub(packet.timestamp),
        });
    }
}

#[cfg(test)]
#[path = "forward_tests.rs"]
mod tests;
