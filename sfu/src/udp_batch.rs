//! Batched UDP sends: a worker queues every datagram of one poll round and hands them
//! to the kernel together. On Linux that is `sendmmsg(2)` (one system call for many
//! datagrams) and, where the kernel has it, UDP segmentation offload: consecutive
//! equal-sized datagrams for one destination (the packets of one video frame for one
//! viewer) cross the network stack as one buffer and are split again at the end. The
//! unsafe system-call code lives in [`crate::udp_sys`]; elsewhere this is one `send_to`
//! per datagram.

use std::net::{SocketAddr, UdpSocket};

#[cfg(target_os = "linux")]
use crate::udp_sys;
#[cfg(not(target_os = "linux"))]
mod udp_sys {
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub(crate) struct Span {
        pub(crate) start: usize,
        pub(crate) count: usize,
        pub(crate) segment_size: usize,
    }
}

/// Most datagrams in one segmented send (the kernel's UDP_MAX_SEGMENTS is 64 or more).
const MAX_SEGMENTS: usize = 64;
/// Most bytes in one segmented send (an IP datagram's limit, less headers).
const MAX_SEGMENTED_BYTES: usize = 65_000;

/// Buffers kept for reuse (about 6 MB of 1500-byte datagrams at most).
const MAX_SPARE_BUFFERS: usize = 4096;

/// Datagrams waiting for the end of the poll round.
#[derive(Debug)]
pub(crate) struct SendBatch {
    queue: Vec<(SocketAddr, Vec<u8>)>,
    /// Buffers of earlier rounds, reused: allocating and freeing a round's worth of
    /// datagrams each time made the allocator grow and trim its heap (mprotect and page
    /// faults) on every round.
    spare: Vec<Vec<u8>>,
    /// Unknown until the first flush, then whether segmentation offload is used.
    segmentation: Option<bool>,
    order: Vec<usize>,
    spans: Vec<udp_sys::Span>,
}

impl Default for SendBatch {
    /// sendmmsg batching with segmentation offload where the kernel has it (only media
    /// datagrams are merged: see [`is_media`]).
    fn default() -> Self {
        Self::new(true)
    }
}

/// What one flush did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Flushed {
    /// Datagrams the kernel accepted.
    pub(crate) sent: usize,
    /// Datagrams it refused (full send buffer, unreachable address): UDP loss, which
    /// NACK and PLI repair.
    pub(crate) failed: usize,
    /// System calls made.
    pub(crate) calls: usize,
    /// Buffers handed to the kernel (a segmented send carries several datagrams).
    pub(crate) messages: usize,
}

impl SendBatch {
    /// An empty batch; `segmentation` false never uses segmentation offload.
    pub(crate) fn new(segmentation: bool) -> Self {
        Self {
            queue: Vec::new(),
            spare: Vec::new(),
            segmentation: (!segmentation).then_some(false),
            order: Vec::new(),
            spans: Vec::new(),
        }
    }

    /// Queue a copy of one datagram.
    pub(crate) fn push(&mut self, destination: SocketAddr, datagram: &[u8]) {
        let mut buffer = self.spare.pop().unwrap_or_default();
        buffer.clear();
        buffer.extend_from_slice(datagram);
        self.queue.push((destination, buffer));
    }

    /// Queue a datagram that `write` builds in a reused buffer (no copy). The buffer
    /// still holds an earlier datagram: `write` sets its length and every byte (a
    /// buffer that needs no zeroing first spares a pass over each datagram). When `write`
    /// returns false nothing is queued.
    pub(crate) fn push_with(
        &mut self,
        destination: SocketAddr,
        write: impl FnOnce(&mut Vec<u8>) -> bool,
    ) {
        let mut buffer = self.spare.pop().unwrap_or_default();
        if write(&mut buffer) {
            self.queue.push((destination, buffer));
        } else {
            self.spare.push(buffer);
        }
    }

    /// The datagrams queued, in order.
    #[cfg(test)]
    pub(crate) fn queued(&self) -> &[(SocketAddr, Vec<u8>)] {
        &self.queue
    }

    /// Datagrams queued.
    pub(crate) fn len(&self) -> usize {
        self.queue.len()
    }

    /// Send everything queued and empty the queue (keeping its capacity). Datagrams for
    /// one destination keep their order; different destinations may interleave.
    pub(crate) fn flush(&mut self, socket: &UdpSocket) -> Flushed {
        if self.queue.is_empty() {
            return Flushed::default();
        }
        let flushed = self.send(socket);
        let room = MAX_SPARE_BUFFERS.saturating_sub(self.spare.len());
        self.spare
            .extend(self.queue.drain(..).map(|(_, buffer)| buffer).take(room));
        self.queue.clear();
        flushed
    }

    #[cfg(target_os = "linux")]
    fn send(&mut self, socket: &UdpSocket) -> Flushed {
        let segmentation = *self
            .segmentation
            .get_or_insert_with(|| udp_sys::segmentation_supported(socket));
        plan(&self.queue, segmentation, &mut self.order, &mut self.spans);
        let outcome = udp_sys::send(socket, &self.queue, &self.order, &self.spans);
        if outcome.segmentation_refused {
            // No checksum offload on this route: those datagrams are lost once (NACK
            // repairs them); every later flush sends them one by one.
            tracing::warn!("UDP segmentation offload refused; sending datagrams singly");
            self.segmentation = Some(false);
        }
        Flushed {
            sent: outcome.sent,
            failed: outcome.failed,
            calls: outcome.calls,
            messages: self.spans.len(),
        }
    }

    #[cfg(not(target_os = "linux"))]
    fn send(&mut self, socket: &UdpSocket) -> Flushed {
        let mut done = Flushed::default();
        for (destination, datagram) in &self.queue {
            done.calls += 1;
            done.messages += 1;
            match socket.send_to(datagram, destination) {
                Ok(_) => done.sent += 1,
                Err(_) => done.failed += 1,
            }
        }
        done
    }
}

/// Decide the send order and how datagrams merge into segmented sends: with
/// `segmentation`, datagrams are grouped by destination (stable, so each destination's
/// order holds) and runs of one size (the last may be shorter) become one span.
fn plan(
    queue: &[(SocketAddr, Vec<u8>)],
    segmentation: bool,
    order: &mut Vec<usize>,
    spans: &mut Vec<udp_sys::Span>,
) {
    order.clear();
    order.extend(0..queue.len());
    spans.clear();
    // A video frame's datagrams come one viewer after another (crate::fanout): then every
    // destination's datagrams are already together and sorting would only cost time.
    if segmentation && !grouped_by_destination(queue) {
        order.sort_by_key(|&i| queue[i].0);
    }
    let mut position = 0;
    while position < order.len() {
        let (destination, first) = &queue[order[position]];
        let size = first.len();
        let mut count = 1;
        let mut bytes = size;
        if segmentation && size > 0 && is_media(first) {
            while let Some(&next) = order.get(position + count) {
                let (to, datagram) = &queue[next];
                let fits = to == destination
                    && is_media(datagram)
                    && datagram.len() <= size
                    && count < MAX_SEGMENTS
                    && bytes + datagram.len() <= MAX_SEGMENTED_BYTES;
                if !fits {
                    break;
                }
                count += 1;
                bytes += datagram.len();
                if datagram.len() < size {
                    break; // a shorter datagram can only be the last segment
                }
            }
        }
        spans.push(udp_sys::Span {
            start: position,
            count,
            segment_size: size,
        });
        position += count;
    }
}

/// True when each destination's datagrams form one run in `queue`.
fn grouped_by_destination(queue: &[(SocketAddr, Vec<u8>)]) -> bool {
    let mut finished = std::collections::HashSet::new();
    let mut current = None;
    for (destination, _) in queue {
        if current != Some(destination) {
            if let Some(previous) = current {
                finished.insert(previous);
            }
            if finished.contains(destination) {
                return false;
            }
            current = Some(destination);
        }
    }
    true
}

/// SRTP or SRTCP (RFC 7983: first byte 128..=191). Only these share a segmented send:
/// a receiver that coalesces segments (UDP GRO, as webrtc-rs enables) hands it the whole
/// span at once, and a DTLS handshake record followed in the same span by the first SRTP
/// packet made webrtc-rs read that packet before its SRTP keys were installed.
fn is_media(datagram: &[u8]) -> bool {
    datagram.first().is_some_and(|b| (128..192).contains(b))
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;
    use std::time::Duration;

    use super::*;

    /// Frame-like traffic: runs of equal-sized datagrams with a shorter last one, and
    /// odd sizes between them; contents unique per datagram.
    fn datagram(i: usize) -> Vec<u8> {
        let len = match i % 10 {
            9 => 333,
            7 => 40 + i % 13,
            _ => 1200,
        };
        // First byte of an RTP header (version 2): segmented sends carry media only.
        let mut datagram: Vec<u8> = (0..len).map(|b| (b * 31 + i * 7) as u8).collect();
        datagram[0] = 0x80;
        datagram
    }

    fn receiver() -> UdpSocket {
        let socket = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind receiver");
        socket
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        socket
    }

    fn round_trip(segmentation: bool) -> Flushed {
        let sender = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind sender");
        let receivers = [receiver(), receiver(), receiver()];
        // Few enough that the receivers' default buffers hold them all.
        let count = 150;
        let mut batch = SendBatch::new(segmentation);
        for i in 0..count {
            let to = receivers[(i / 4) % 3].local_addr().expect("addr");
            batch.push(to, &datagram(i));
        }
        assert_eq!(batch.len(), count);
        let flushed = batch.flush(&sender);
        assert_eq!((flushed.sent, flushed.failed), (count, 0));
        assert_eq!(batch.len(), 0, "flush empties the queue");
        let mut buf = [0u8; 2048];
        for (r, receiver) in receivers.iter().enumerate() {
            for i in (0..count).filter(|i| (i / 4) % 3 == r) {
                let (len, from) = receiver.recv_from(&mut buf).expect("datagram arrives");
                assert_eq!(from, sender.local_addr().expect("addr"));
                assert_eq!(&buf[..len], datagram(i).as_slice(), "datagram {i}");
            }
        }
        flushed
    }

    #[test]
    fn every_datagram_arrives_byte_exact_in_order_per_destination() {
        let single = round_trip(false);
        assert_eq!(single.messages, 150);
        if cfg!(target_os = "linux") {
            assert_eq!(single.calls, 1, "one sendmmsg for the whole batch");
        }
        let segmented = round_trip(true);
        #[cfg(target_os = "linux")]
        {
            let probe = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind probe");
            if udp_sys::segmentation_supported(&probe) {
                // Runs of four datagrams per destination: far fewer buffers.
                assert!(segmented.messages < single.messages / 2, "{segmented:?}");
            }
        }
    }

    #[test]
    fn plan_merges_equal_runs_per_destination_and_keeps_their_order() {
        let a: SocketAddr = "127.0.0.1:1000".parse().expect("addr");
        let b: SocketAddr = "127.0.0.1:2000".parse().expect("addr");
        // First bytes 0x81.. stand for SRTP; 22 is a DTLS handshake record.
        let queue = vec![
            (b, vec![0x81; 100]),
            (a, vec![0x82; 100]),
            (b, vec![0x83; 100]),
            (a, vec![0x84; 100]),
            (a, vec![0x85; 60]), // shorter: ends the run
            (a, vec![0x86; 100]),
            (b, vec![0x87; 120]), // longer: starts a new run
            (b, vec![22; 120]),   // DTLS: never merged, nor anything after it
            (b, vec![0x88; 100]),
        ];
        let (mut order, mut spans) = (Vec::new(), Vec::new());
        plan(&queue, true, &mut order, &mut spans);
        assert_eq!(
            order,
            vec![1, 3, 4, 5, 0, 2, 6, 7, 8],
            "grouped, stable per destination"
        );
        let shape: Vec<(usize, usize, usize)> = spans
            .iter()
            .map(|s| (s.start, s.count, s.segment_size))
            .collect();
        assert_eq!(
            shape,
            vec![
                (0, 3, 100),
                (3, 1, 100),
                (4, 2, 100),
                (6, 1, 120),
                (7, 1, 120),
                (8, 1, 100)
            ]
        );
        plan(&queue, false, &mut order, &mut spans);
        assert_eq!(order, (0..9).collect::<Vec<_>>());
        assert!(spans.iter().all(|s| s.count == 1));
        // Already one run per destination (b before a): kept as it is, no sorting.
        let grouped = vec![
            (b, vec![0x81; 100]),
            (b, vec![0x82; 100]),
            (a, vec![0x83; 100]),
            (a, vec![0x84; 80]),
        ];
        plan(&grouped, true, &mut order, &mut spans);
        assert_eq!(order, vec![0, 1, 2, 3]);
        let shape: Vec<(usize, usize)> = spans.iter().map(|s| (s.start, s.count)).collect();
        assert_eq!(shape, vec![(0, 2), (2, 2)]);
    }

    #[test]
    fn ipv6_destinations_work_too() {
        let Ok(receiver) = UdpSocket::bind("[::1]:0") else {
            return; // no IPv6 loopback on this machine: nothing to test
        };
        let sender = UdpSocket::bind("[::1]:0").expect("bind v6 sender");
        let mut batch = SendBatch::default();
        batch.push(receiver.local_addr().expect("addr"), b"six");
        batch.push(receiver.local_addr().expect("addr"), b"vi");
        assert_eq!(batch.flush(&sender).sent, 2);
        receiver
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        let mut buf = [0u8; 16];
        for want in [&b"six"[..], b"vi"] {
            let (len, _) = receiver.recv_from(&mut buf).expect("datagram arrives");
            assert_eq!(&buf[..len], want);
        }
    }

    #[test]
    fn a_refused_datagram_does_not_stop_the_rest() {
        let sender = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind sender");
        let receiver = receiver();
        let mut batch = SendBatch::default();
        batch.push(receiver.local_addr().expect("addr"), b"one");
        // An IPv6 destination from an IPv4 socket is refused by the kernel.
        batch.push("[::1]:9".parse().expect("addr"), b"bad");
        batch.push(receiver.local_addr().expect("addr"), b"two");
        let flushed = batch.flush(&sender);
        assert_eq!((flushed.sent, flushed.failed), (2, 1));
        let mut buf = [0u8; 16];
        for want in [&b"one"[..], b"two"] {
            let (len, _) = receiver.recv_from(&mut buf).expect("datagram arrives");
            assert_eq!(&buf[..len], want);
        }
    }
}
