//! Batched UDP sends: a worker queues every datagram of one poll round and hands them
//! to the kernel together, with `sendmmsg(2)` on Linux (one system call for up to
//! [`MAX_PER_CALL`] datagrams) and one `send_to` each elsewhere.
//!
//! This is the crate's only `unsafe` code: building the `mmsghdr` array the system call
//! reads. Everything it points into lives on this function's stack or in the queue,
//! which is not touched until the call returns.

#![allow(unsafe_code)]

use std::net::{SocketAddr, UdpSocket};

/// Datagrams handed to one `sendmmsg` call (the kernel's limit, UIO_MAXIOV, is 1024).
pub(crate) const MAX_PER_CALL: usize = 64;

/// Datagrams waiting for the end of the poll round.
#[derive(Debug, Default)]
pub(crate) struct SendBatch {
    queue: Vec<(SocketAddr, Vec<u8>)>,
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
}

impl SendBatch {
    /// Queue one datagram.
    pub(crate) fn push(&mut self, destination: SocketAddr, datagram: Vec<u8>) {
        self.queue.push((destination, datagram));
    }

    /// Datagrams queued.
    pub(crate) fn len(&self) -> usize {
        self.queue.len()
    }

    /// Send everything queued, in order, and empty the queue (keeping its capacity).
    pub(crate) fn flush(&mut self, socket: &UdpSocket) -> Flushed {
        let mut total = Flushed::default();
        for chunk in self.queue.chunks(MAX_PER_CALL) {
            let done = send_chunk(socket, chunk);
            total.sent += done.sent;
            total.failed += done.failed;
            total.calls += done.calls;
        }
        self.queue.clear();
        total
    }
}

#[cfg(target_os = "linux")]
fn send_chunk(socket: &UdpSocket, chunk: &[(SocketAddr, Vec<u8>)]) -> Flushed {
    use std::os::fd::AsRawFd;

    debug_assert!(chunk.len() <= MAX_PER_CALL);
    let count = chunk.len().min(MAX_PER_CALL);
    // SAFETY: sockaddr_storage, iovec and mmsghdr are plain C structs for which all-zero
    // bytes are a valid value (null pointers, zero lengths).
    let mut addrs: [libc::sockaddr_storage; MAX_PER_CALL] = unsafe { std::mem::zeroed() };
    // SAFETY: as above.
    let mut iovecs: [libc::iovec; MAX_PER_CALL] = unsafe { std::mem::zeroed() };
    // SAFETY: as above.
    let mut headers: [libc::mmsghdr; MAX_PER_CALL] = unsafe { std::mem::zeroed() };
    for (i, (destination, datagram)) in chunk.iter().take(count).enumerate() {
        let name_len = write_sockaddr(*destination, &mut addrs[i]);
        iovecs[i] = libc::iovec {
            // The kernel only reads through this pointer (a send), despite `*mut`.
            iov_base: datagram.as_ptr() as *mut libc::c_void,
            iov_len: datagram.len(),
        };
        let header = &mut headers[i].msg_hdr;
        header.msg_name = (&raw mut addrs[i]).cast();
        header.msg_namelen = name_len;
        header.msg_iov = &raw mut iovecs[i];
        header.msg_iovlen = 1;
    }
    let fd = socket.as_raw_fd();
    let mut done = Flushed::default();
    let mut next = 0;
    while next < count {
        let remaining = libc::c_uint::try_from(count - next).unwrap_or(0);
        // SAFETY: `headers[next..count]` are initialised mmsghdrs whose name and iovec
        // pointers point into `addrs`, `iovecs` and the datagrams of `chunk`, all alive
        // and unmoved until this call returns; `remaining` does not exceed the array.
        let sent = unsafe { libc::sendmmsg(fd, headers.as_mut_ptr().add(next), remaining, 0) };
        done.calls += 1;
        match usize::try_from(sent) {
            Ok(sent) if sent > 0 => {
                done.sent += sent;
                next += sent;
            }
            _ => {
                let error = std::io::Error::last_os_error();
                match error.raw_os_error() {
                    Some(libc::EINTR) => continue,
                    // The buffer is full: the rest of this chunk would meet the same.
                    Some(libc::EAGAIN | libc::ENOBUFS) => {
                        done.failed += count - next;
                        next = count;
                    }
                    // This datagram is refused (e.g. unreachable address): skip it only.
                    _ => {
                        done.failed += 1;
                        next += 1;
                    }
                }
            }
        }
    }
    done
}

/// Fill `storage` with `address` as the kernel expects it; returns the length used.
#[cfg(target_os = "linux")]
fn write_sockaddr(address: SocketAddr, storage: &mut libc::sockaddr_storage) -> libc::socklen_t {
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
            // type (its purpose); the write stays inside `storage`.
            unsafe { std::ptr::write((storage as *mut libc::sockaddr_storage).cast(), sin) };
            std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t
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
            unsafe { std::ptr::write((storage as *mut libc::sockaddr_storage).cast(), sin6) };
            std::mem::size_of::<libc::sockaddr_in6>() as libc::socklen_t
        }
    }
}

/// Without `sendmmsg`: one `send_to` per datagram.
#[cfg(not(target_os = "linux"))]
fn send_chunk(socket: &UdpSocket, chunk: &[(SocketAddr, Vec<u8>)]) -> Flushed {
    let mut done = Flushed::default();
    for (destination, datagram) in chunk {
        done.calls += 1;
        match socket.send_to(datagram, destination) {
            Ok(_) => done.sent += 1,
            Err(_) => done.failed += 1,
        }
    }
    done
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;
    use std::time::Duration;

    use super::*;

    fn datagram(i: usize) -> Vec<u8> {
        // Distinct lengths and contents, so a swapped or truncated datagram shows.
        (0..(20 + i % 37)).map(|b| (b * 31 + i) as u8).collect()
    }

    #[test]
    fn every_datagram_arrives_byte_exact_and_in_order_across_chunks() {
        let sender = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind sender");
        let receivers: Vec<UdpSocket> = (0..2)
            .map(|_| UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind receiver"))
            .collect();
        let count = MAX_PER_CALL * 2 + 7; // several calls, one partial
        let mut batch = SendBatch::default();
        for i in 0..count {
            let to = receivers[i % 2].local_addr().expect("addr");
            batch.push(to, datagram(i));
        }
        assert_eq!(batch.len(), count);
        let flushed = batch.flush(&sender);
        assert_eq!(flushed.sent, count);
        assert_eq!(flushed.failed, 0);
        assert_eq!(batch.len(), 0, "flush empties the queue");
        if cfg!(target_os = "linux") {
            assert_eq!(flushed.calls, count.div_ceil(MAX_PER_CALL), "one call per chunk");
        }
        let mut buf = [0u8; 256];
        for (r, receiver) in receivers.iter().enumerate() {
            receiver
                .set_read_timeout(Some(Duration::from_secs(10)))
                .expect("timeout");
            for i in (r..count).step_by(2) {
                let (len, from) = receiver.recv_from(&mut buf).expect("datagram arrives");
                assert_eq!(from, sender.local_addr().expect("addr"));
                assert_eq!(&buf[..len], datagram(i).as_slice(), "datagram {i}");
            }
        }
    }

    #[test]
    fn ipv6_destinations_work_too() {
        let Ok(receiver) = UdpSocket::bind("[::1]:0") else {
            return; // no IPv6 loopback on this machine: nothing to test
        };
        let sender = UdpSocket::bind("[::1]:0").expect("bind v6 sender");
        let mut batch = SendBatch::default();
        batch.push(receiver.local_addr().expect("addr"), b"six".to_vec());
        assert_eq!(batch.flush(&sender).sent, 1);
        receiver
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        let mut buf = [0u8; 16];
        let (len, _) = receiver.recv_from(&mut buf).expect("datagram arrives");
        assert_eq!(&buf[..len], b"six");
    }

    #[test]
    fn a_refused_datagram_does_not_stop_the_rest() {
        let sender = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind sender");
        let receiver = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind receiver");
        let mut batch = SendBatch::default();
        batch.push(receiver.local_addr().expect("addr"), b"one".to_vec());
        // An IPv6 destination from an IPv4 socket is refused by the kernel.
        batch.push("[::1]:9".parse().expect("addr"), b"bad".to_vec());
        batch.push(receiver.local_addr().expect("addr"), b"two".to_vec());
        let flushed = batch.flush(&sender);
        assert_eq!((flushed.sent, flushed.failed), (2, 1));
        receiver
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        let mut buf = [0u8; 16];
        for want in [&b"one"[..], b"two"] {
            let (len, _) = receiver.recv_from(&mut buf).expect("datagram arrives");
            assert_eq!(&buf[..len], want);
        }
    }
}
