//! Viewers' feedback on the direct send path. A NACK's lost packets are found by their
//! sequence numbers in the camera's recent packets and sent again, unchanged, with the
//! header values they had (RFC 4585 §6.2.1 generic NACK); receiver reports feed the
//! loss-based pausing. For viewers on str0m's send path, str0m answers NACKs from its
//! own retransmission cache and reports the statistics.

use crate::direct_send::OutgoingPacket;
use crate::peer::{EgressStats, Role};
use crate::worker::Worker;
use crate::SessionId;

impl Worker {
    pub(crate) fn on_nack(&mut self, session: SessionId, entries: &[(u16, u16)]) {
        let Some(peer) = self.peers.get_mut(&session) else {
            return;
        };
        let Role::Subscriber(sub) = &mut peer.role else {
            return;
        };
        if sub.direct.is_none() {
            return;
        }
        sub.nacks_received += 1;
        let Some(feed) = self.feeds.get(&peer.camera) else {
            return;
        };
        let metrics = &self.shared.metrics;
        let lost = entries
            .iter()
            .flat_map(|&(pid, blp)| lost_sequence_numbers(pid, blp));
        for lost in lost {
            sub.packets_nacked += 1;
            let Some((source, ssrc, source_seq)) = sub.forward.lost_packet_source(lost) else {
                continue;
            };
            let Some(packet) = feed.recent.get(source, ssrc, source_seq) else {
                continue; // overwritten: the viewer's PLI repairs it
            };
            let (Some((seq, timestamp)), Some(pt)) =
                (sub.forward.sent_values(packet), sub.pt_for(packet.codec))
            else {
                continue;
            };
            let Some(direct) = &mut sub.direct else {
                return;
            };
            let outgoing = OutgoingPacket::of(packet, pt, seq, timestamp);
            match direct.resend(&mut self.batch, &outgoing) {
                Ok(true) => metrics.retransmissions.inc(),
                Ok(false) => {
                    // Out of credit: the rest of this NACK is not even looked up.
                    let limited = metrics.dropped_packets.with_label_values(&["resend_limit"]);
                    limited.inc();
                    break;
                }
                Err(_) => {
                    let failed = metrics.dropped_packets.with_label_values(&["seal_failed"]);
                    failed.inc();
                }
            }
        }
        self.flush_if_full();
    }

    /// A direct-path viewer's receiver report about its stream. The loss it stands for
    /// is the larger of the report's fraction lost and the share of packets the viewer
    /// asked for again since the last report: the report counts repaired packets as
    /// received (retransmissions on the media SSRC, or RTX a receiver folds back into it),
    /// so on a lossy link that NACK repairs it reads near zero while the link is bad.
    pub(crate) fn on_reception_report(&mut self, session: SessionId, ssrc: u32, fraction_lost: u8) {
        let Some(Role::Subscriber(sub)) = self.peers.get_mut(&session).map(|p| &mut p.role) else {
            return;
        };
        if sub.direct.as_ref().is_none_or(|d| d.ssrc() != ssrc) {
            return;
        }
        let new_nacked = sub
            .packets_nacked
            .saturating_sub(sub.packets_nacked_reported);
        let new_packets = sub.packets_written.saturating_sub(sub.packets_reported);
        sub.packets_nacked_reported = sub.packets_nacked;
        let nacked_share = new_nacked as f32 / new_packets.max(1) as f32;
        let stats = EgressStats {
            packets: 0, // str0m's count; the direct path's own is `packets_written`
            nacks: sub.nacks_received,
            loss: Some((f32::from(fraction_lost) / 256.0).max(nacked_share.min(1.0))),
        };
        self.on_egress_stats(session, stats);
    }
}

/// The sequence numbers one NACK entry reports lost: `pid`, and `pid + i + 1` for each
/// bit `i` set in `blp`.
fn lost_sequence_numbers(pid: u16, blp: u16) -> impl Iterator<Item = u16> {
    let following = (0..16u16)
        .filter(move |bit| blp & (1 << bit) != 0)
        .map(move |bit| pid.wrapping_add(bit + 1));
    std::iter::once(pid).chain(following)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_nack_entry_lists_its_packet_and_the_bitmask_after_it() {
        let lost: Vec<u16> = lost_sequence_numbers(100, 0b1000_0000_0000_0101).collect();
        assert_eq!(lost, vec![100, 101, 103, 116]);
        let wrapped: Vec<u16> = lost_sequence_numbers(65_535, 1).collect();
        assert_eq!(wrapped, vec![65_535, 0]);
    }
}
