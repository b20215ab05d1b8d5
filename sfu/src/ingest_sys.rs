//! The system calls behind [`crate::ingest`]: an `eventfd(2)` other threads write to
//! wake the worker, `ppoll(2)` on it and the UDP socket together, and `recvmsg(2)` with
//! each datagram's kernel arrival time (`SO_TIMESTAMPNS`).
//!
//! Every pointer handed to the kernel points into locals of the calling function or the
//! caller's buffer, all alive until the call returns.

#![allow(unsafe_code)]

use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A non-blocking eventfd.
pub(crate) fn eventfd() -> io::Result<OwnedFd> {
    // SAFETY: no pointers; the returned descriptor is checked before it is owned.
    let fd = unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` was just created and is owned by nothing else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Adds one to the eventfd's counter, making it readable. A full counter (never, in
/// practice) is as good as readable.
pub(crate) fn signal(fd: &OwnedFd) {
    let one: u64 = 1;
    // SAFETY: writes 8 bytes from a live `u64`.
    let _ = unsafe { libc::write(fd.as_raw_fd(), (&raw const one).cast(), 8) };
}

/// Resets the eventfd's counter (not readable any more).
pub(crate) fn drain(fd: &OwnedFd) {
    let mut count: u64 = 0;
    // SAFETY: reads at most 8 bytes into a live `u64`.
    let _ = unsafe { libc::read(fd.as_raw_fd(), (&raw mut count).cast(), 8) };
}

/// What woke [`wait_readable`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Readable {
    pub(crate) socket: bool,
    pub(crate) wake: bool,
}

/// Sleeps until `socket` or `wake` is readable, or `timeout` has passed (nothing
/// readable), or a signal arrived (likewise).
pub(crate) fn wait_readable(socket: RawFd, wake: RawFd, timeout: Duration) -> io::Result<Readable> {
    let mut fds = [
        libc::pollfd {
            fd: socket,
            events: libc::POLLIN,
            revents: 0,
        },
        libc::pollfd {
            fd: wake,
            events: libc::POLLIN,
            revents: 0,
        },
    ];
    let timeout = libc::timespec {
        tv_sec: libc::time_t::try_from(timeout.as_secs()).unwrap_or(libc::time_t::MAX),
        // Below 10^9: fits a 32-bit `c_long` too, where this conversion is fallible.
        #[allow(clippy::unnecessary_fallible_conversions)]
        tv_nsec: libc::c_long::try_from(timeout.subsec_nanos()).unwrap_or(0),
    };
    // SAFETY: `fds` and `timeout` outlive the call; the length matches the array; no
    // signal mask is passed.
    let ready = unsafe {
        libc::ppoll(
            fds.as_mut_ptr(),
            fds.len() as libc::nfds_t,
            &raw const timeout,
            std::ptr::null(),
        )
    };
    if ready < 0 {
        let error = io::Error::last_os_error();
        if error.kind() == io::ErrorKind::Interrupted {
            return Ok(Readable::default());
        }
        return Err(error);
    }
    let readable = |fd: &libc::pollfd| fd.revents & (libc::POLLIN | libc::POLLERR) != 0;
    Ok(Readable {
        socket: readable(&fds[0]),
        wake: readable(&fds[1]),
    })
}

/// Asks the kernel to stamp each datagram `socket` receives with its arrival time.
pub(crate) fn enable_receive_timestamps(socket: &impl AsRawFd) -> io::Result<()> {
    let on: libc::c_int = 1;
    // SAFETY: passes a live `c_int` and its size.
    let result = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_TIMESTAMPNS,
            (&raw const on).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if result < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Room for one `SCM_TIMESTAMPNS` control message, aligned as `cmsghdr` is.
#[repr(C, align(8))]
struct Control([u8; 64]);

/// One datagram without blocking: its length in `buf`, its sender, and when the kernel
/// queued it (wall clock; `None` if it was not stamped). `WouldBlock` when none is queued.
pub(crate) fn recv_stamped(
    socket: &impl AsRawFd,
    buf: &mut [u8],
) -> io::Result<(usize, SocketAddr, Option<SystemTime>)> {
    // SAFETY: all-zero bytes are a valid value of these plain C structs.
    let mut address: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let mut control = Control([0; 64]);
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    // SAFETY: as above.
    let mut header: libc::msghdr = unsafe { std::mem::zeroed() };
    header.msg_name = (&raw mut address).cast();
    header.msg_namelen = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
    header.msg_iov = &raw mut iov;
    header.msg_iovlen = 1;
    header.msg_control = control.0.as_mut_ptr().cast();
    header.msg_controllen = control.0.len() as _;
    // SAFETY: every pointer in `header` points into a local above or into `buf`, with
    // its true length.
    let read = unsafe { libc::recvmsg(socket.as_raw_fd(), &raw mut header, libc::MSG_DONTWAIT) };
    let Ok(len) = usize::try_from(read) else {
        return Err(io::Error::last_os_error());
    };
    let source = socket_addr(&address)
        .ok_or_else(|| io::Error::other("datagram without an IP source address"))?;
    Ok((len, source, arrival_time(&header)))
}

/// The `SCM_TIMESTAMPNS` control message of a received `header`, if any.
fn arrival_time(header: &libc::msghdr) -> Option<SystemTime> {
    let mut stamp = None;
    // SAFETY: `header` was filled by `recvmsg`; the CMSG_* macros stay within its
    // control buffer (msg_controllen as the kernel set it).
    let mut cmsg = unsafe { libc::CMSG_FIRSTHDR(header) };
    while !cmsg.is_null() {
        // SAFETY: a non-null header from CMSG_FIRSTHDR/NXTHDR is inside the buffer.
        let (level, kind) = unsafe { ((*cmsg).cmsg_level, (*cmsg).cmsg_type) };
        if level == libc::SOL_SOCKET && kind == libc::SCM_TIMESTAMPNS {
            // SAFETY: this message carries a `timespec`; it may be unaligned.
            let at: libc::timespec =
                unsafe { std::ptr::read_unaligned(libc::CMSG_DATA(cmsg).cast()) };
            let seconds = u64::try_from(at.tv_sec).ok()?;
            let nanos = u32::try_from(at.tv_nsec).ok()?;
            stamp = Some(UNIX_EPOCH + Duration::new(seconds, nanos));
        }
        // SAFETY: as for CMSG_FIRSTHDR.
        cmsg = unsafe { libc::CMSG_NXTHDR(header, cmsg) };
    }
    stamp
}

fn socket_addr(address: &libc::sockaddr_storage) -> Option<SocketAddr> {
    let storage: *const libc::sockaddr_storage = address;
    match libc::c_int::from(address.ss_family) {
        libc::AF_INET => {
            // SAFETY: the family says the storage holds a `sockaddr_in`, which fits.
            let v4: libc::sockaddr_in = unsafe { std::ptr::read(storage.cast()) };
            let ip = Ipv4Addr::from(u32::from_be(v4.sin_addr.s_addr));
            Some(SocketAddr::from((ip, u16::from_be(v4.sin_port))))
        }
        libc::AF_INET6 => {
            // SAFETY: as above, a `sockaddr_in6`.
            let v6: libc::sockaddr_in6 = unsafe { std::ptr::read(storage.cast()) };
            let ip = Ipv6Addr::from(v6.sin6_addr.s6_addr);
            Some(SocketAddr::from((ip, u16::from_be(v6.sin6_port))))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::UdpSocket;

    #[test]
    fn a_datagram_comes_with_its_sender_and_arrival_time() {
        let port = UdpSocket::bind("127.0.0.1:0").expect("bind");
        port.set_nonblocking(true).expect("nonblocking");
        let mut buf = [0u8; 64];
        assert_eq!(
            recv_stamped(&port, &mut buf).expect_err("empty").kind(),
            io::ErrorKind::WouldBlock
        );
        enable_receive_timestamps(&port).expect("timestamps");
        let peer = UdpSocket::bind("127.0.0.1:0").expect("bind");
        let before = SystemTime::now();
        peer.send_to(b"hello", port.local_addr().expect("addr"))
            .expect("send");
        let after = SystemTime::now();
        let (len, source, at) = loop {
            match recv_stamped(&port, &mut buf) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => std::thread::yield_now(),
                read => break read.expect("read"),
            }
        };
        assert_eq!(&buf[..len], b"hello");
        assert_eq!(source, peer.local_addr().expect("addr"));
        let at = at.expect("stamped");
        // Stamped on the loopback delivery, within the send call (the wall clock may
        // step, so allow a little either side).
        let slack = Duration::from_millis(50);
        assert!(at + slack >= before && at <= after + slack, "{at:?}");
    }
}
