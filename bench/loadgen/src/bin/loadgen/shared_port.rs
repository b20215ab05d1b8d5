//! One UDP socket that reads the media of every polled subscriber, each subscriber known
//! by its own loopback address.
//!
//! Why: with a socket each, the generator paid the kernel per subscriber and per frame
//! for readiness (the epoll set), a `recvmsg` and the visit to the socket; the loopback
//! floor's third row measured a viewer's share read from one shared socket at 0.24–0.30
//! µs per datagram against 0.44–0.45 with a socket each, for the same cost to the sender
//! (docs/benchmarks.md). A viewer on another machine would cost its own host that, not
//! this one's.
//!
//! How: every subscriber joins on a socket of its own bound to its own address
//! (127.1.x.y) and this port's number; str0m's candidate is that address. The shared
//! socket is bound to the wildcard address on the same port, so it receives what no
//! subscriber's own socket takes. When a subscriber's media moves to the poll clock its
//! own socket is connected elsewhere (from then on it matches none of the server's
//! datagrams, which go to the shared socket instead), drained, and closed; the clock
//! reads the shared socket on its tick, `recvmmsg` after `recvmmsg`, and hands each read
//! to the subscriber its destination address names. Only each read's first [`HEAD`]
//! bytes are copied out: enough to name a segmented send's packets (`header_only.rs`).
//! After a mismatch str0m must be given whole datagrams, so the subscriber gets a socket
//! of its own again ([`SharedPort::subscriber_socket_at`]). str0m's replies leave from
//! the shared socket with the subscriber's address as their source (`IP_PKTINFO`).

use crate::peer_socket::{recv_each, recv_read, socket_addr, to_instant};
use crate::polled_media::{lock, PolledMedia};
use nix::cmsg_space;
use nix::sys::socket::{
    bind, connect, sendmsg, setsockopt, socket, sockopt, AddressFamily, ControlMessage,
    ControlMessageOwned, MsgFlags, SockFlag, SockType, SockaddrIn,
};
use nix::sys::time::TimeSpec;
use std::io::{self, IoSlice};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, UdpSocket};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Reads per `recvmmsg`.
const BATCH: usize = 32;

/// Bytes copied out of each read: the first datagram's RTP header with room to spare,
/// or a whole STUN message or RTCP report for str0m. The rest of a read is left in the
/// kernel (`MSG_TRUNC`): its datagrams are named from the first one's header and their
/// sizes (`header_only.rs`), and copying them cost the generator a fifth of its CPU.
const HEAD: usize = 256;

/// The shared socket's receive buffer: a tick's worth of every subscriber's media with
/// room to spare. At 2400 subscribers of 2 Mbit/s a 20 ms tick is 12 MB; a late tick
/// doubles it. Only what is queued is charged.
const RECEIVE_BUFFER: usize = 128 << 20;

/// The first subscriber address; the next ones count up, skipping .0 and .255.
const FIRST_ADDRESS: Ipv4Addr = Ipv4Addr::new(127, 1, 0, 1);

/// A read from the shared socket: its length, sender, destination (the subscriber), kernel
/// receive time, and segment size when it carried a whole segmented send.
type SharedRead = (usize, SocketAddr, Ipv4Addr, Instant, Option<usize>);

/// The shared socket, the subscribers it reads for, and where it reads into.
#[derive(Debug)]
pub(crate) struct SharedPort {
    socket: UdpSocket,
    port: u16,
    next_address: AtomicU32,
    routes: Mutex<Routes>,
    buffers: Mutex<Vec<Vec<u8>>>,
}

impl SharedPort {
    /// Binds the shared socket to a free port on every address.
    ///
    /// Its receive buffer is forced past `net.core.rmem_max`, which needs `CAP_NET_ADMIN`
    /// (root): without it this fails, and `loadgen --socket-each` gives every subscriber
    /// its own socket instead.
    pub(crate) fn open() -> io::Result<Arc<Self>> {
        let socket = reusable_socket()?;
        let any = SockaddrIn::from(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0));
        bind(socket.as_raw_fd(), &any).map_err(io::Error::from)?;
        setsockopt(&socket, sockopt::RcvBufForce, &RECEIVE_BUFFER).map_err(|e| {
            io::Error::other(format!(
                "the shared subscriber socket's receive buffer ({e}): run as root, or pass \
                 --socket-each"
            ))
        })?;
        setsockopt(&socket, sockopt::Ipv4PacketInfo, &true).map_err(io::Error::from)?;
        setsockopt(&socket, sockopt::ReceiveTimestampns, &true).map_err(io::Error::from)?;
        setsockopt(&socket, sockopt::UdpGroSegment, &true).map_err(io::Error::from)?;
        let port = socket.local_addr()?.port();
        Ok(Arc::new(Self {
            socket,
            port,
            next_address: AtomicU32::new(0),
            routes: Mutex::new(Routes::default()),
            buffers: Mutex::new(Vec::new()),
        }))
    }

    /// Whether a subscriber socket bound to `local` was made by [`Self::subscriber_socket`].
    pub(crate) fn is_bound_for(&self, local: SocketAddr) -> bool {
        local.port() == self.port && local.ip() != std::net::IpAddr::V4(Ipv4Addr::UNSPECIFIED)
    }

    /// A socket for the next subscriber to join on: its own address, this port.
    pub(crate) fn subscriber_socket(&self) -> io::Result<UdpSocket> {
        let n = self.next_address.fetch_add(1, Ordering::Relaxed);
        self.subscriber_socket_at(nth_address(n))
    }

    /// A socket of the subscriber at `address` again, as [`Self::subscriber_socket`] made
    /// it: more specific than the shared socket's wildcard, it takes what the server sends
    /// the subscriber from now on.
    pub(crate) fn subscriber_socket_at(&self, address: Ipv4Addr) -> io::Result<UdpSocket> {
        let socket = reusable_socket()?;
        let own = SockaddrIn::from(SocketAddrV4::new(address, self.port));
        bind(socket.as_raw_fd(), &own).map_err(io::Error::from)?;
        Ok(socket)
    }

    /// Moves the subscriber `own` was bound for onto the shared socket: from now on
    /// `media` is given its reads. What `own` already holds goes to `media` first, so
    /// nothing is lost or reordered; the caller closes `own` after.
    pub(crate) fn take_over(
        self: &Arc<Self>,
        own: &UdpSocket,
        media: &Arc<Mutex<PolledMedia>>,
    ) -> io::Result<Route> {
        let SocketAddr::V4(local) = own.local_addr()? else {
            return Err(io::Error::other(
                "a subscriber socket without an IPv4 address",
            ));
        };
        let address = *local.ip();
        // Routed before the media is locked, as `drain` takes the two locks in that order.
        routes(&self.routes).insert(address, Arc::clone(media));
        let route = Route {
            port: Arc::clone(self),
            address,
        };
        // Held until `own` is drained. Nothing reaches the shared socket for this
        // subscriber before `own` is connected away, below, so a read for it waits here
        // for what `own` holds.
        let mut held = lock(media);
        // Connected to a port nothing sends from, `own` matches none of the server's
        // datagrams: the kernel delivers them to the shared socket instead.
        let nowhere = SockaddrIn::from(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 9));
        connect(own.as_raw_fd(), &nowhere).map_err(io::Error::from)?;
        loop {
            match held.read_from(own, recv_read) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) => return Err(e),
            }
        }
        Ok(route)
    }

    /// Sends `datagram` to `to` as the subscriber at `from`.
    pub(crate) fn send_from(
        &self,
        from: Ipv4Addr,
        datagram: &[u8],
        to: SocketAddr,
    ) -> io::Result<()> {
        let SocketAddr::V4(to) = to else {
            return Err(io::Error::other("the shared socket sends IPv4 only"));
        };
        let source = nix::libc::in_pktinfo {
            ipi_ifindex: 0,
            ipi_spec_dst: nix::libc::in_addr {
                s_addr: u32::from(from).to_be(),
            },
            ipi_addr: nix::libc::in_addr { s_addr: 0 },
        };
        sendmsg(
            self.socket.as_raw_fd(),
            &[IoSlice::new(datagram)],
            &[ControlMessage::Ipv4PacketInfo(&source)],
            MsgFlags::MSG_DONTWAIT,
            Some(&SockaddrIn::from(to)),
        )
        .map(drop)
        .map_err(io::Error::from)
    }

    /// Reads every datagram queued and gives each read to the subscriber it is for
    /// (the clock's tick). A read for no subscriber (one that left) is dropped.
    pub(crate) fn drain(&self) {
        let mut buffers = self.buffers.lock().unwrap_or_else(|p| p.into_inner());
        if buffers.is_empty() {
            *buffers = (0..BATCH).map(|_| vec![0; HEAD]).collect();
        }
        let mut reads = Vec::with_capacity(BATCH);
        loop {
            reads.clear();
            if recv_many(&self.socket, &mut buffers, &mut reads).is_err() {
                return;
            }
            let routes = routes(&self.routes);
            for (buffer, &(len, source, to, received_at, segment)) in buffers.iter().zip(&reads) {
                if let Some(media) = routes.get(to) {
                    let head = &buffer[..len.min(buffer.len())];
                    lock(media).accept(head, len, source, received_at, segment);
                }
            }
            if reads.len() < BATCH {
                return;
            }
        }
    }
}

/// A subscriber's place among the shared socket's routes, until it drops.
#[derive(Debug)]
pub(crate) struct Route {
    port: Arc<SharedPort>,
    address: Ipv4Addr,
}

impl Route {
    /// The subscriber's own address: the source of what it sends.
    pub(crate) fn address(&self) -> Ipv4Addr {
        self.address
    }

    pub(crate) fn port(&self) -> &SharedPort {
        &self.port
    }
}

impl Drop for Route {
    fn drop(&mut self) {
        routes(&self.port.routes).remove(self.address);
    }
}

/// The subscribers the shared socket reads for, by the number of their address: a read's
/// destination names its subscriber without hashing.
#[derive(Debug, Default)]
struct Routes(Vec<Option<Arc<Mutex<PolledMedia>>>>);

impl Routes {
    fn insert(&mut self, address: Ipv4Addr, media: Arc<Mutex<PolledMedia>>) {
        let Some(n) = address_number(address) else {
            return;
        };
        if self.0.len() <= n {
            self.0.resize(n + 1, None);
        }
        self.0[n] = Some(media);
    }

    fn remove(&mut self, address: Ipv4Addr) {
        if let Some(slot) = address_number(address).and_then(|n| self.0.get_mut(n)) {
            *slot = None;
        }
    }

    fn get(&self, address: Ipv4Addr) -> Option<&Arc<Mutex<PolledMedia>>> {
        self.0.get(address_number(address)?)?.as_ref()
    }

    #[cfg(test)]
    fn is_empty(&self) -> bool {
        self.0.iter().all(Option::is_none)
    }
}

fn routes(routes: &Mutex<Routes>) -> std::sync::MutexGuard<'_, Routes> {
    // Each use is one insert, remove or lookup loop: a panic leaves nothing half-done.
    routes.lock().unwrap_or_else(|p| p.into_inner())
}

/// The `n`th subscriber address from [`FIRST_ADDRESS`], skipping host numbers 0 and 255
/// (2^16 × 254 addresses before it leaves 127/8's 127.1–127.255).
fn nth_address(n: u32) -> Ipv4Addr {
    let first = u32::from(FIRST_ADDRESS);
    let (block, host) = (n / 254, n % 254);
    Ipv4Addr::from((first & !0xff) + block * 256 + 1 + host)
}

/// Which subscriber address `address` is (the inverse of [`nth_address`]); `None` for
/// an address it never gives.
fn address_number(address: Ipv4Addr) -> Option<usize> {
    let offset = u32::from(address).checked_sub(u32::from(FIRST_ADDRESS) & !0xff)?;
    let (block, host) = (offset / 256, offset % 256);
    if host == 0 || host == 255 {
        return None;
    }
    usize::try_from(block * 254 + host - 1).ok()
}

/// A non-blocking UDP socket that may share its port with others that allow it too.
fn reusable_socket() -> io::Result<UdpSocket> {
    let fd = socket(
        AddressFamily::Inet,
        SockType::Datagram,
        SockFlag::SOCK_NONBLOCK | SockFlag::SOCK_CLOEXEC,
        None,
    )
    .map_err(io::Error::from)?;
    setsockopt(&fd, sockopt::ReuseAddr, &true).map_err(io::Error::from)?;
    Ok(UdpSocket::from(fd))
}

/// Reads up to one datagram (or segmented send) per buffer in one `recvmmsg`, and appends
/// what each read was to `reads`. `WouldBlock` when none is queued.
fn recv_many(
    socket: &UdpSocket,
    buffers: &mut [Vec<u8>],
    reads: &mut Vec<SharedRead>,
) -> io::Result<()> {
    let control = cmsg_space!(TimeSpec, nix::libc::in_pktinfo, i32);
    let flags = MsgFlags::MSG_DONTWAIT | MsgFlags::MSG_TRUNC;
    recv_each(socket, buffers, control, flags, |message| {
        // Read `i` is in `buffers[i]`: one without a source or destination stays in the
        // list, addressed to no subscriber.
        let source = message
            .address
            .as_ref()
            .and_then(socket_addr)
            .unwrap_or(SocketAddr::from(([0; 4], 0)));
        let (mut to, mut stamp, mut segment) = (None, None, None);
        for cmsg in message.cmsgs().map_err(io::Error::from)? {
            match cmsg {
                ControlMessageOwned::Ipv4PacketInfo(info) => {
                    to = Some(Ipv4Addr::from(u32::from_be(info.ipi_addr.s_addr)));
                }
                ControlMessageOwned::ScmTimestampns(at) => stamp = Some(at),
                ControlMessageOwned::UdpGroSegments(size) => segment = usize::try_from(size).ok(),
                _ => {}
            }
        }
        let to = to.unwrap_or(Ipv4Addr::UNSPECIFIED);
        let received_at = stamp.map_or_else(Instant::now, to_instant);
        reads.push((message.bytes, source, to, received_at, segment));
        Ok(())
    })?;
    if reads.is_empty() {
        return Err(io::ErrorKind::WouldBlock.into());
    }
    Ok(())
}

#[cfg(test)]
#[path = "shared_port_tests.rs"]
mod tests;
