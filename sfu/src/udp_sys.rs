//! The system calls behind [`crate::udp_batch`]: `sendmmsg(2)`, optionally with UDP
//! generic segmentation offload (`UDP_SEGMENT`, Linux ≥ 4.18), so that several
//! datagrams for one destination cross the network stack as one buffer.
//!
//! Also the router's registration of the shared socket for readability only
//! ([`readable_only`]).
//!
//! One of the crate's three `unsafe` modules (with `ingest_sys` and `udp_port`). Every pointer handed to the kernel points
//! into vectors built here or into the caller's datagrams; none of them is resized or
//! moved until the system call has returned.

#![allow(unsafe_code)]

use std::net::{SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;

/// The socket registered with the runtime for readability only (tokio's `UdpSocket`
/// always asks for writability too). Must be called within the runtime.
pub(crate) fn readable_only(
    socket: UdpSocket,
) -> std::io::Result<tokio::io::unix::AsyncFd<UdpSocket>> {
    // SAFETY: the `UdpSocket` owns its descriptor and is moved into the `AsyncFd`, so the
    // descriptor stays open, and `as_raw_fd` keeps returning it, until the `AsyncFd` drops.
    unsafe {
        tokio::io::unix::AsyncFd::register_with_interest(socket, tokio::io::Interest::READABLE)
    }
    .map_err(std::io::Error::from)
}

/// From `linux/udp.h`: the `SOL_UDP` option and control message carrying the segment size.
const UDP_SEGMENT: libc::c_int = 103;

/// Messages handed to one `sendmmsg` call (the kernel caps it at UIO_MAXIOV, 1024).
pub(crate) const MAX_MESSAGES_PER_CALL: usize = 256;

/// One message to send: `count` datagrams (positions `start..start + count` of the send
/// order), all for one destination. With more than one, every datagram but the last is
/// exactly `segment_size` bytes and the last is not longer: the kernel splits them again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Span {
    pub(crate) start: usize,
    pub(crate) count: usize,
    pub(crate) segment_size: usize,
}

/// What sending a plan did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Outcome {
    pub(crate) sent: usize,
    pub(crate) failed: usize,
    pub(crate) calls: usize,
    /// A segmented message was refused as such (no checksum offload on the route's
    /// device): the caller should stop segmenting.
    pub(crate) segmentation_refused: bool,
}

/// True when the kernel knows `UDP_SEGMENT` for this socket.
pub(crate) fn segmentation_supported(socket: &UdpSocket) -> bool {
    let mut value = [0u8; std::mem::size_of::<libc::c_int>()];
    crate::udp_port::get_option(socket, libc::SOL_UDP, UDP_SEGMENT, &mut value).is_ok()
}

/// One `UDP_SEGMENT` control message: the header, then its u16 at `CMSG_DATA`, padded
/// to `CMSG_SPACE(2)`. `cmsghdr` is already aligned so that its data follows directly.
#[derive(Clone, Copy)]
#[repr(C)]
struct SegmentControl {
    header: libc::cmsghdr,
    segment_size: u16,
    _pad: [u8; 6],
}

fn segment_control(segment_size: u16) -> SegmentControl {
    // SAFETY: cmsghdr is a plain C struct; all-zero bytes are a valid value (musl has
    // private padding fields, hence no struct literal).
    let mut header: libc::cmsghdr = unsafe { std::mem::zeroed() };
    header.cmsg_level = libc::SOL_UDP;
    header.cmsg_type = UDP_SEGMENT;
    header.cmsg_len = (std::mem::offset_of!(SegmentControl, segment_size) + 2) as _;
    SegmentControl {
        header,
        segment_size,
        _pad: [0; 6],
    }
}

/// Send `spans` of `datagrams` (taken in `order`).
pub(crate) fn send(
    socket: &UdpSocket,
    datagrams: &[(SocketAddr, Vec<u8>)],
    order: &[usize],
    spans: &[Span],
) -> Outcome {
    // Everything the kernel reads is built first; afterwards these vectors are only
    // reached through the base pointers below, so no pointer is invalidated.
    let mut iovecs: Vec<libc::iovec> = order
        .iter()
        .map(|&i| libc::iovec {
            // The kernel only reads through this pointer (a send), despite `*mut`.
            iov_base: datagrams[i].1.as_ptr() as *mut libc::c_void,
            iov_len: datagrams[i].1.len(),
        })
        .collect();
    let destination = |span: &Span| datagrams[order[span.start]].0;
    let mut addrs: Vec<libc::sockaddr_storage> = spans
        .iter()
        .map(|span| sockaddr(destination(span)))
        .collect();
    let mut controls: Vec<SegmentControl> = spans
        .iter()
        .map(|span| segment_control(u16::try_from(span.segment_size).unwrap_or(u16::MAX)))
        .collect();
    let iovec_base = iovecs.as_mut_ptr();
    let addr_base = addrs.as_mut_ptr();
    let control_base = controls.as_mut_ptr();
    let mut headers: Vec<libc::mmsghdr> = spans
        .iter()
        .enumerate()
        .map(|(k, span)| {
            // SAFETY: mmsghdr is a plain C struct; all-zero bytes (null pointers) are valid.
            let mut message: libc::mmsghdr = unsafe { std::mem::zeroed() };
            let header = &mut message.msg_hdr;
            header.msg_name = addr_base.wrapping_add(k).cast();
            header.msg_namelen = sockaddr_len(destination(span));
            header.msg_iov = iovec_base.wrapping_add(span.start);
            header.msg_iovlen = span.count as _;
            if span.count > 1 {
                header.msg_control = control_base.wrapping_add(k).cast();
                header.msg_controllen = std::mem::size_of::<SegmentControl>() as _;
            }
            message
        })
        .collect();
    let header_base = headers.as_mut_ptr();
    let fd = socket.as_raw_fd();
    let mut outcome = Outcome::default();
    let mut next = 0;
    while next < spans.len() {
        let batch = (spans.len() - next).min(MAX_MESSAGES_PER_CALL);
        // SAFETY: `headers[next..next + batch]` are initialised; each points into
        // `addrs`, `controls`, `iovecs` and the caller's datagrams, all alive and not
        // moved until this call returns.
        let rc = unsafe { libc::sendmmsg(fd, header_base.add(next), batch as libc::c_uint, 0) };
        outcome.calls += 1;
        if let Ok(done) = usize::try_from(rc) {
            if done > 0 {
                outcome.sent += spans[next..next + done]
                    .iter()
                    .map(|s| s.count)
                    .sum::<usize>();
                next += done;
                continue;
            }
        }
        let error = std::io::Error::last_os_error().raw_os_error();
        match error {
            Some(libc::EINTR) => {}
            // The send buffer is full: everything left would meet the same.
            Some(libc::EAGAIN | libc::ENOBUFS) => {
                outcome.failed += spans[next..].iter().map(|s| s.count).sum::<usize>();
                next = spans.len();
            }
            // This message is refused; the ones after it are independent.
            _ => {
                let span = spans[next];
                if span.count > 1 && matches!(error, Some(libc::EIO | libc::EINVAL)) {
                    outcome.segmentation_refused = true;
                }
                outcome.failed += span.count;
                next += 1;
            }
        }
    }
    // Keep the buffers the kernel read from alive (and visibly so) until here.
    drop((headers, iovecs, addrs, controls));
    outcome
}

/// `address` as the kernel expects it, in a `sockaddr_storage`.
fn sockaddr(address: SocketAddr) -> libc::sockaddr_storage {
    // SAFETY: sockaddr_storage is a plain C struct; all-zero bytes are a valid value.
    let mut storage: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let target: *mut libc::sockaddr_storage = &raw mut storage;
    match address {
        SocketAddr::V4(v4) => {
            let sin = libc::sockaddr_in {
                sin_family: libc::AF_INET as libc::sa_family_t,
                sin_port: v4.port().to_be(),
                sin_addr: libc::in_addr {
                    s_addr: u32::from_ne_bytes(v4.ip().octets()),
                },
                sin_zero: [0; 8],
            };
            // SAFETY: sockaddr_storage is larger than and aligned for every sockaddr
            // type (that is its purpose); the write stays inside `storage`.
            unsafe { std::ptr::write(target.cast(), sin) };
        }
        SocketAddr::V6(v6) => {
            let sin6 = libc::sockaddr_in6 {
                sin6_family: libc::AF_INET6 as libc::sa_family_t,
                sin6_port: v6.port().to_be(),
                sin6_flowinfo: v6.flowinfo().to_be(),
                sin6_addr: libc::in6_addr {
                    s6_addr: v6.ip().octets(),
                },
                sin6_scope_id: v6.scope_id(),
            };
            // SAFETY: as above.
            unsafe { std::ptr::write(target.cast(), sin6) };
        }
    }
    storage
}

fn sockaddr_len(address: SocketAddr) -> libc::socklen_t {
    let len = match address {
        SocketAddr::V4(_) => std::mem::size_of::<libc::sockaddr_in>(),
        SocketAddr::V6(_) => std::mem::size_of::<libc::sockaddr_in6>(),
    };
    len as libc::socklen_t
}
