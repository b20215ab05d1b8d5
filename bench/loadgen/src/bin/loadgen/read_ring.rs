//! A polled subscriber's latest reads, in one buffer the kernel reads into directly.
//!
//! Why: each read must stay readable after it was named by header, for str0m to be
//! given the latest datagrams should it take over (`header_only.rs`), and copying every
//! datagram aside for that cost the generator a tenth of its CPU. Reads land back to back
//! in one ring; the oldest are overwritten, and at least [`RETAINED`] bytes of the latest
//! stay.

use std::collections::VecDeque;
use std::io;
use std::net::SocketAddr;
use std::time::Instant;

/// Largest single read: a whole segmented send (UDP GRO), an IP datagram's limit.
pub(crate) const MAX_READ: usize = 65_536;

/// Bytes kept of the latest reads, at least: 105 of the largest datagrams (a 1200-byte
/// payload with its RTP header, extensions and SRTP tag, under 1250 bytes), more than
/// str0m's NACK window (101 packets), so after a replay its window holds only packets it
/// has been given. It was 192 KiB until 2026-12-02: 64 KiB a viewer for nothing.
pub(crate) const RETAINED: usize = 128 * 1024;

/// Ring size: what is retained, and room for the next read, the reads it overlaps in
/// part, and the tail a wrap skips.
const RING: usize = RETAINED + 3 * MAX_READ;

/// One read: where it is in the ring, its sender, when the kernel queued it, and the
/// size of the datagrams in it (all but the last are that long).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Read {
    start: usize,
    len: usize,
    segment: usize,
    pub(crate) source: SocketAddr,
    pub(crate) received_at: Instant,
}

/// What one system call returned: length, sender, kernel receive time, and the segment
/// size when it carried several datagrams of one segmented send.
pub(crate) type Received = (usize, SocketAddr, Instant, Option<usize>);

#[derive(Debug)]
pub(crate) struct ReadRing {
    bytes: Vec<u8>,
    reads: VecDeque<Read>,
    next: usize,
}

impl Default for ReadRing {
    fn default() -> Self {
        Self {
            bytes: vec![0; RING],
            reads: VecDeque::new(),
            next: 0,
        }
    }
}

impl Read {
    /// How many datagrams it carried.
    pub(crate) fn datagrams(&self) -> usize {
        self.len.div_ceil(self.segment)
    }
}

impl ReadRing {
    /// Reads once with `recv` (given room for [`MAX_READ`] bytes) and keeps what it
    /// returned as the latest read, dropping the oldest ones it overwrote.
    pub(crate) fn read(
        &mut self,
        recv: impl FnOnce(&mut [u8]) -> io::Result<Received>,
    ) -> io::Result<Read> {
        if self.next + MAX_READ > RING {
            // The reads left beyond this point are the oldest, from before the last wrap.
            while self.reads.front().is_some_and(|r| r.start >= self.next) {
                self.reads.pop_front();
            }
            self.next = 0;
        }
        let room = self.next..self.next + MAX_READ;
        // Since the last wrap reads lie in the ring in the order they were made, so the
        // ones this read may overwrite are the oldest.
        while self
            .reads
            .front()
            .is_some_and(|r| r.start < room.end && room.start < r.start + r.len)
        {
            self.reads.pop_front();
        }
        let (len, source, received_at, segment) = recv(&mut self.bytes[room.clone()])?;
        let read = Read {
            start: room.start,
            len,
            segment: segment.unwrap_or(len).max(1),
            source,
            received_at,
        };
        self.next += len;
        self.reads.push_back(read);
        Ok(read)
    }

    /// The datagrams of `read`, in order.
    pub(crate) fn datagrams(&self, read: Read) -> impl Iterator<Item = &[u8]> {
        self.bytes[read.start..read.start + read.len].chunks(read.segment)
    }

    /// Every datagram kept, oldest first, with its read.
    pub(crate) fn all(&self) -> impl Iterator<Item = (Read, &[u8])> {
        self.reads
            .iter()
            .flat_map(|&read| self.datagrams(read).map(move |d| (read, d)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source() -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], 9))
    }

    /// A read of `count` datagrams of `size` bytes, each filled with its own number.
    fn read_of(ring: &mut ReadRing, first: u32, count: usize, size: usize) -> Read {
        ring.read(|room| {
            for i in 0..count {
                let n = (first + i as u32).to_be_bytes();
                for chunk in room[i * size..(i + 1) * size].chunks_mut(4) {
                    chunk.copy_from_slice(&n[..chunk.len()]);
                }
            }
            Ok((count * size, source(), Instant::now(), Some(size)))
        })
        .expect("read")
    }

    fn number(datagram: &[u8]) -> u32 {
        u32::from_be_bytes(datagram[..4].try_into().expect("4 bytes"))
    }

    #[test]
    fn a_read_is_split_into_its_datagrams_the_last_maybe_shorter() {
        let mut ring = ReadRing::default();
        let read = ring
            .read(|room| {
                room[..10].copy_from_slice(b"aaaabbbbcc");
                Ok((10, source(), Instant::now(), Some(4)))
            })
            .expect("read");
        let datagrams: Vec<&[u8]> = ring.datagrams(read).collect();
        assert_eq!(datagrams, [&b"aaaa"[..], b"bbbb", b"cc"]);
        // A read without a segment size is one datagram.
        let single = ring
            .read(|room| {
                room[..3].copy_from_slice(b"xyz");
                Ok((3, source(), Instant::now(), None))
            })
            .expect("read");
        assert_eq!(ring.datagrams(single).collect::<Vec<_>>(), [&b"xyz"[..]]);
    }

    #[test]
    fn the_latest_datagrams_survive_any_number_of_wraps_oldest_first() {
        let mut ring = ReadRing::default();
        let size = 1200;
        let mut next = 0u32;
        for round in 0..500 {
            // Frames of 1 to 30 datagrams, as a camera's GOP gives.
            let count = 1 + (round * 7) % 30;
            read_of(&mut ring, next, count, size);
            next += count as u32;
            let kept: Vec<u32> = ring.all().map(|(_, d)| number(d)).collect();
            let expected_start = next - kept.len() as u32;
            assert_eq!(
                kept,
                (expected_start..next).collect::<Vec<_>>(),
                "round {round}"
            );
            if next as usize * size > RING {
                assert!(
                    kept.len() * size >= RETAINED,
                    "round {round}: {}",
                    kept.len()
                );
            }
        }
        let error = ring.read(|_| Err(io::ErrorKind::WouldBlock.into()));
        assert_eq!(
            error.expect_err("no data").kind(),
            io::ErrorKind::WouldBlock
        );
    }
}
