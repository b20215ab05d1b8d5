//! The kernel buffers of the SFU's UDP port: their sizes, and the datagrams the kernel
//! dropped because the receive buffer was full (a metric, [`ReceiveDrops`]).
//!
//! Every publisher's media and every viewer's RTCP arrive on one socket, and a worker
//! that is sealing a large fan-out does not read it for milliseconds. At the kernel's
//! default (`net.core.rmem_default`, about 200 KiB: some 90 datagrams of 1.2 kB as the
//! kernel counts them) a camera's frame arriving meanwhile overflowed it, and a frame's
//! last packets lost that way are never asked for again: no later packet shows the gap.
//! The send side is the same on a real network, where datagrams hold the send buffer
//! until the NIC has sent them. So the SFU asks for more, and says when it did not get it.
//!
//! The kernel caps a request at `net.core.rmem_max` / `wmem_max` unless the process may
//! override them (root, or `CAP_NET_ADMIN`: `SO_RCVBUFFORCE`), and reports twice the
//! size it granted (its own bookkeeping overhead included).

use std::io;
use std::net::UdpSocket;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Weak;

use prometheus::core::{Collector, Desc};
use prometheus::proto::MetricFamily;
use prometheus::IntCounter;

/// The sizes the kernel reports for the socket, in bytes (0 where unknown).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Granted {
    pub(crate) receive: usize,
    pub(crate) send: usize,
}

/// Asks for `wanted` bytes of receive and send buffer on `socket` (0: leave the kernel's
/// defaults), and returns what the kernel granted. Falling short is logged with what to
/// change, not an error: the SFU works, with more loss under load.
pub(crate) fn enlarge(socket: &UdpSocket, wanted: usize) -> Granted {
    if wanted > 0 {
        for direction in [Direction::Receive, Direction::Send] {
            if let Err(e) = ask(socket, direction, wanted) {
                tracing::warn!(
                    error = %e,
                    buffer = direction.name(),
                    "cannot size the UDP port's buffer; the kernel's default stays"
                );
            }
        }
    }
    let granted = Granted {
        receive: sys::get(socket, Direction::Receive).unwrap_or(0),
        send: sys::get(socket, Direction::Send).unwrap_or(0),
    };
    for (direction, size) in [
        (Direction::Receive, granted.receive),
        (Direction::Send, granted.send),
    ] {
        // The kernel reports double what it granted.
        if wanted > 0 && size > 0 && size / 2 < wanted {
            tracing::warn!(
                buffer = direction.name(),
                wanted,
                granted = size / 2,
                "UDP port buffer smaller than asked: expect loss under load; raise \
                 net.core.{} (sysctl -w net.core.{}={wanted}) or run the SFU with \
                 CAP_NET_ADMIN",
                direction.sysctl(),
                direction.sysctl(),
            );
        }
    }
    granted
}

/// Datagrams the kernel dropped on the port because its receive buffer was full, read
/// from the socket at each scrape (`sfu_udp_receive_drops_total`). Nothing else shows
/// that loss: it happens before the SFU sees the datagram. Once the SFU has closed the
/// socket the count stays where it was.
pub(crate) struct ReceiveDrops {
    socket: Weak<UdpSocket>,
    counter: IntCounter,
    /// The socket's count at the last scrape.
    seen: AtomicU64,
}

impl ReceiveDrops {
    /// `counter` (not registered: this collector is) counting for `socket`, a duplicate
    /// of the port's descriptor, from now on.
    pub(crate) fn new(socket: Weak<UdpSocket>, counter: IntCounter) -> Self {
        let seen = socket.upgrade().and_then(|s| sys::drops(&s).ok());
        Self {
            seen: AtomicU64::new(seen.unwrap_or(0)),
            socket,
            counter,
        }
    }
}

impl Collector for ReceiveDrops {
    fn desc(&self) -> Vec<&Desc> {
        self.counter.desc()
    }

    fn collect(&self) -> Vec<MetricFamily> {
        if let Some(now) = self.socket.upgrade().and_then(|s| sys::drops(&s).ok()) {
            let before = self.seen.swap(now, Ordering::Relaxed);
            self.counter.inc_by(now.saturating_sub(before));
        }
        self.counter.collect()
    }
}

/// One of the socket's two buffers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Direction {
    Receive,
    Send,
}

impl Direction {
    fn name(self) -> &'static str {
        match self {
            Self::Receive => "receive",
            Self::Send => "send",
        }
    }

    fn sysctl(self) -> &'static str {
        match self {
            Self::Receive => "rmem_max",
            Self::Send => "wmem_max",
        }
    }
}

/// The ordinary request, then, if the kernel capped it, the privileged one (which fails
/// harmlessly without the capability).
fn ask(socket: &UdpSocket, direction: Direction, wanted: usize) -> io::Result<()> {
    sys::set(socket, direction, wanted, false)?;
    if sys::get(socket, direction)? / 2 < wanted {
        let _ = sys::set(socket, direction, wanted, true);
    }
    Ok(())
}

#[cfg(target_os = "linux")]
mod sys {
    //! `setsockopt` / `getsockopt`: the only `unsafe` here (also used by
    //! [`crate::udp_sys`] for its one option query).
    #![allow(unsafe_code)]

    use super::Direction;
    use std::io;
    use std::net::UdpSocket;
    use std::os::fd::AsRawFd;

    /// From `asm-generic/socket.h` (x86 and arm, 32 and 64 bit, alike); not in libc.
    const SO_MEMINFO: libc::c_int = 55;

    fn option(direction: Direction, force: bool) -> libc::c_int {
        match (direction, force) {
            (Direction::Receive, false) => libc::SO_RCVBUF,
            (Direction::Receive, true) => libc::SO_RCVBUFFORCE,
            (Direction::Send, false) => libc::SO_SNDBUF,
            (Direction::Send, true) => libc::SO_SNDBUFFORCE,
        }
    }

    pub(super) fn set(
        socket: &UdpSocket,
        direction: Direction,
        bytes: usize,
        force: bool,
    ) -> io::Result<()> {
        let value = libc::c_int::try_from(bytes).unwrap_or(libc::c_int::MAX);
        // SAFETY: `value` is a live local of the size the call is told about; the
        // descriptor is owned by `socket`, borrowed for the call.
        let rc = unsafe {
            libc::setsockopt(
                socket.as_raw_fd(),
                libc::SOL_SOCKET,
                option(direction, force),
                (&raw const value).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
        if rc == 0 {
            Ok(())
        } else {
            Err(io::Error::last_os_error())
        }
    }

    /// The socket's drop count (`SO_MEMINFO`, `SK_MEMINFO_DROPS`).
    pub(super) fn drops(socket: &UdpSocket) -> io::Result<u64> {
        // Up to and including the drop count (u32 fields): older kernels report fewer.
        const FIELD: usize = std::mem::size_of::<u32>();
        let at = libc::SK_MEMINFO_DROPS as usize * FIELD;
        let mut info = [0u8; (libc::SK_MEMINFO_DROPS as usize + 1) * FIELD];
        let len = get_option(socket, libc::SOL_SOCKET, SO_MEMINFO, &mut info)?;
        let drops = info
            .get(at..at + FIELD)
            .filter(|_| len >= at + FIELD)
            .and_then(|bytes| bytes.try_into().ok())
            .ok_or_else(|| io::Error::other("the kernel reports no drop count"))?;
        Ok(u64::from(u32::from_ne_bytes(drops)))
    }

    pub(super) fn get(socket: &UdpSocket, direction: Direction) -> io::Result<usize> {
        let mut value = [0u8; std::mem::size_of::<libc::c_int>()];
        get_option(
            socket,
            libc::SOL_SOCKET,
            option(direction, false),
            &mut value,
        )?;
        Ok(usize::try_from(libc::c_int::from_ne_bytes(value)).unwrap_or(0))
    }

    /// `getsockopt` into `value`; how many of its bytes the kernel wrote.
    pub(crate) fn get_option(
        socket: &UdpSocket,
        level: libc::c_int,
        name: libc::c_int,
        value: &mut [u8],
    ) -> io::Result<usize> {
        let mut len = libc::socklen_t::try_from(value.len()).unwrap_or(libc::socklen_t::MAX);
        // SAFETY: `value` is a live, exclusively borrowed buffer of at least `len` bytes
        // (any bytes are valid in it) and the kernel writes at most `len`.
        let rc = unsafe {
            libc::getsockopt(
                socket.as_raw_fd(),
                level,
                name,
                value.as_mut_ptr().cast(),
                &raw mut len,
            )
        };
        if rc == 0 {
            Ok(len as usize)
        } else {
            Err(io::Error::last_os_error())
        }
    }
}

#[cfg(target_os = "linux")]
pub(crate) use sys::get_option;

#[cfg(not(target_os = "linux"))]
mod sys {
    //! Elsewhere the kernel's defaults stay (reported as unknown).
    use super::Direction;
    use std::io;
    use std::net::UdpSocket;

    pub(super) fn set(_: &UdpSocket, _: Direction, _: usize, _: bool) -> io::Result<()> {
        Ok(())
    }

    pub(super) fn get(_: &UdpSocket, _: Direction) -> io::Result<usize> {
        Ok(0)
    }

    pub(super) fn drops(_: &UdpSocket) -> io::Result<u64> {
        Err(io::ErrorKind::Unsupported.into())
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    fn socket() -> UdpSocket {
        UdpSocket::bind("127.0.0.1:0").expect("bind")
    }

    /// What an unprivileged request may get: the kernel's cap for it.
    fn sysctl(name: &str) -> usize {
        std::fs::read_to_string(format!("/proc/sys/net/core/{name}"))
            .expect("the sysctl is readable")
            .trim()
            .parse()
            .expect("a number")
    }

    #[test]
    fn the_port_gets_the_buffers_asked_for_up_to_what_the_kernel_allows() {
        let wanted = 3 << 20;
        let untouched = enlarge(&socket(), 0);
        let granted = enlarge(&socket(), wanted);
        let floor = |cap: &str| 2 * wanted.min(sysctl(cap));
        assert!(
            granted.receive >= floor("rmem_max"),
            "receive {granted:?}, untouched {untouched:?}"
        );
        assert!(
            granted.send >= floor("wmem_max"),
            "send {granted:?}, untouched {untouched:?}"
        );
        // Where the kernel allows it (root, or raised limits), the whole request.
        let privileged = sys::set(&socket(), Direction::Receive, 1 << 16, true).is_ok();
        if privileged || sysctl("rmem_max") >= wanted {
            assert!(granted.receive >= 2 * wanted, "{granted:?}");
        }
        // Untouched, the kernel's default, as it is (only a request is doubled).
        assert_eq!(untouched.receive, sysctl("rmem_default"));
    }

    fn counted(drops: &ReceiveDrops) -> u64 {
        let families = drops.collect();
        let value = families[0].get_metric()[0].get_counter().get_value();
        value as u64
    }

    #[test]
    fn datagrams_the_kernel_dropped_on_a_full_port_are_counted_from_the_start() {
        // An earlier drop on the same socket is not the metric's.
        let port = socket();
        sys::set(&port, Direction::Receive, 1, false).expect("smallest receive buffer");
        let sender = socket();
        let target = port.local_addr().expect("addr");
        let flood = |count: usize| {
            for _ in 0..count {
                sender.send_to(&[0u8; 1200], target).expect("send");
            }
        };
        flood(50);
        let before = sys::drops(&port).expect("drop count");
        assert!(before > 0, "the tiny buffer overflowed");
        let counter = IntCounter::new("drops", "test").expect("counter");
        let watched = std::sync::Arc::new(port.try_clone().expect("dup"));
        let drops = ReceiveDrops::new(std::sync::Arc::downgrade(&watched), counter);
        assert_eq!(counted(&drops), 0);
        flood(50);
        let after = sys::drops(&port).expect("drop count");
        assert!(after > before, "more datagrams were dropped");
        assert_eq!(counted(&drops), after - before);
        // A scrape with nothing new adds nothing.
        assert_eq!(counted(&drops), after - before);
        // Closed by the SFU: the metric keeps its count and holds no descriptor.
        drop(watched);
        flood(50);
        assert_eq!(counted(&drops), after - before);
    }
}
