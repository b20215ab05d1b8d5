//! One read of a polled socket: a datagram, or a server's whole segmented send (UDP GRO),
//! named where the kernel wrote it.
//!
//! Why no copy is kept: a polled subscriber names each packet by its clear header and
//! records it (`header_only.rs`); nothing needs the bytes after that. Until 2026-12-02
//! each read was copied into a ring of the subscriber's last 320 KiB, so str0m could be
//! given them at a gap and NACK what was missing: a fifth of the generator's CPU per
//! packet and two thirds of its memory per subscriber. A gap is now counted as loss
//! (docs/benchmarks.md, "Runs AI and AJ").

use std::cell::RefCell;
use std::io;
use std::net::SocketAddr;
use std::time::Instant;

/// Largest single read: a whole segmented send (UDP GRO), an IP datagram's limit.
pub(crate) const MAX_READ: usize = 65_536;

/// What one system call returned: length, sender, kernel receive time, and the segment
/// size when it carried several datagrams of one segmented send.
pub(crate) type Received = (usize, SocketAddr, Instant, Option<usize>);

/// A datagram for str0m, copied out of a read: when the kernel queued it, its sender, its
/// bytes.
pub(crate) type ForStr0m = (Instant, SocketAddr, Vec<u8>);

/// One read: its bytes, its sender, when the kernel queued it, and the size of the
/// datagrams in it (all but the last are that long).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Read<'a> {
    bytes: &'a [u8],
    segment: usize,
    pub(crate) source: SocketAddr,
    pub(crate) received_at: Instant,
}

impl<'a> Read<'a> {
    /// `bytes` as read, from `source` at `received_at`, in datagrams of `segment` bytes
    /// (`None`: one datagram).
    pub(crate) fn new(
        bytes: &'a [u8],
        source: SocketAddr,
        received_at: Instant,
        segment: Option<usize>,
    ) -> Self {
        Self {
            bytes,
            segment: segment.unwrap_or(bytes.len()).max(1),
            source,
            received_at,
        }
    }

    /// How many datagrams it carried.
    pub(crate) fn count(&self) -> usize {
        self.bytes.len().div_ceil(self.segment)
    }

    /// `datagram`, one of its own, copied out for str0m.
    pub(crate) fn for_str0m(&self, datagram: &[u8]) -> ForStr0m {
        (self.received_at, self.source, datagram.to_vec())
    }

    /// Its datagrams, in order.
    pub(crate) fn datagrams(&self) -> std::slice::Chunks<'a, u8> {
        self.bytes.chunks(self.segment)
    }
}

thread_local! {
    /// Where a polled socket is read on this thread: one buffer a thread, not one a
    /// subscriber.
    static SCRATCH: RefCell<Vec<u8>> = RefCell::new(vec![0; MAX_READ]);
}

/// Reads once with `recv` (given room for [`MAX_READ`] bytes) and hands the read to
/// `then`, which must not read another socket the same way.
pub(crate) fn read_once<T>(
    recv: impl FnOnce(&mut [u8]) -> io::Result<Received>,
    then: impl FnOnce(Read<'_>) -> T,
) -> io::Result<T> {
    SCRATCH.with_borrow_mut(|room| {
        let (len, source, received_at, segment) = recv(room)?;
        Ok(then(Read::new(&room[..len], source, received_at, segment)))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source() -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], 9))
    }

    #[test]
    fn a_read_is_split_into_its_datagrams_the_last_maybe_shorter() {
        let read = Read::new(b"aaaabbbbcc", source(), Instant::now(), Some(4));
        assert_eq!(read.count(), 3);
        assert_eq!(
            read.datagrams().collect::<Vec<_>>(),
            [&b"aaaa"[..], b"bbbb", b"cc"]
        );
        // A read without a segment size is one datagram.
        let single = Read::new(b"xyz", source(), Instant::now(), None);
        assert_eq!(single.count(), 1);
        assert_eq!(single.datagrams().collect::<Vec<_>>(), [&b"xyz"[..]]);
    }

    #[test]
    fn read_once_gives_what_was_read_or_the_error() {
        let lengths = read_once(
            |room| {
                room[..5].copy_from_slice(b"ab cd");
                Ok((5, source(), Instant::now(), Some(3)))
            },
            |read| read.datagrams().map(<[u8]>::len).collect::<Vec<_>>(),
        )
        .expect("read");
        assert_eq!(lengths, [3, 2]);
        let error = read_once(|_| Err(io::ErrorKind::WouldBlock.into()), |_| ());
        assert_eq!(
            error.expect_err("no data").kind(),
            io::ErrorKind::WouldBlock
        );
    }
}
