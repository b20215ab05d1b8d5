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
mod tests {
    use super::*;
    use crate::arrival_log::ArrivalLog;
    use crate::header_only::test_rtp::{header, learn, ledger, SSRC};
    use crate::peer::Record;
    use loadgen::ledger::Ledger;
    use nix::sys::socket::{sendmsg, ControlMessage};
    use std::time::Duration;
    use tokio::sync::Notify;

    #[test]
    fn subscriber_addresses_are_distinct_loopback_hosts() {
        let addresses: Vec<Ipv4Addr> = (0..600).map(nth_address).collect();
        assert_eq!(addresses[0], FIRST_ADDRESS);
        assert_eq!(addresses[253], Ipv4Addr::new(127, 1, 0, 254));
        assert_eq!(addresses[254], Ipv4Addr::new(127, 1, 1, 1));
        let distinct: std::collections::HashSet<_> = addresses.iter().collect();
        assert_eq!(distinct.len(), addresses.len());
        for (n, &address) in addresses.iter().enumerate() {
            assert_eq!(address_number(address), Some(n), "{address}");
        }
        for stranger in [
            Ipv4Addr::LOCALHOST,
            Ipv4Addr::new(127, 1, 0, 0),
            Ipv4Addr::new(127, 1, 2, 255),
            Ipv4Addr::UNSPECIFIED,
        ] {
            assert_eq!(address_number(stranger), None, "{stranger}");
        }
        assert!(addresses
            .iter()
            .all(|a| a.is_loopback() && !matches!(a.octets()[3], 0 | 255)));
    }

    /// A subscriber whose packets, sent as sequence number 1000 + id, are named from the
    /// first frame's last one on.
    fn media(ledger: &Arc<Ledger>, log: &Arc<ArrivalLog>) -> Arc<Mutex<PolledMedia>> {
        media_with(ledger, log, Arc::new(Mutex::new(Record::default())))
    }

    fn media_with(
        ledger: &Arc<Ledger>,
        log: &Arc<ArrivalLog>,
        record: Arc<Mutex<Record>>,
    ) -> Arc<Mutex<PolledMedia>> {
        let learnt_at = ledger.stream.frames[0].packets as usize - 1;
        let media = PolledMedia::new(
            None,
            learn(ledger, 1000 + learnt_at as u64, learnt_at),
            Arc::clone(ledger),
            (Arc::clone(log), 0),
            record,
            Arc::new(Notify::new()),
        );
        Arc::new(Mutex::new(media))
    }

    #[test]
    fn a_subscriber_moved_onto_the_shared_socket_loses_nothing_and_still_sends_as_itself() {
        let port = SharedPort::open().expect("shared socket (the tests run as root)");
        let own = port.subscriber_socket().expect("subscriber socket");
        let subscriber = own.local_addr().expect("addr");
        assert!(port.is_bound_for(subscriber));
        let server = UdpSocket::bind("127.0.0.1:0").expect("bind");
        let ledger = Arc::new(ledger());
        let log = Arc::new(ArrivalLog::default());
        let media = media(&ledger, &log);
        let frame = &ledger.stream.frames[1];
        let ids: Vec<usize> =
            (frame.first_packet as usize..(frame.first_packet + frame.packets) as usize).collect();
        let send = |id: usize| {
            ledger.mark_sent(id, Instant::now());
            let datagram = header(&ledger, SSRC, (1000 + id) as u16, id);
            server.send_to(&datagram, subscriber).expect("send");
        };
        // The frame's first half is queued on the subscriber's own socket...
        let half = ids.len() / 2;
        for &id in &ids[..half] {
            send(id);
        }
        own.set_nonblocking(false).expect("blocking");
        own.set_read_timeout(Some(Duration::from_secs(5)))
            .expect("timeout");
        own.peek(&mut [0; 1]).expect("the first half arrives");
        own.set_nonblocking(true).expect("nonblocking");
        let route = port.take_over(&own, &media).expect("take over");
        // ...and the rest reaches the shared socket, though the subscriber's own is still
        // open (loopback delivers within the send).
        for &id in &ids[half..] {
            send(id);
        }
        drop(own);
        let expected: Vec<u32> = ids.iter().map(|&id| id as u32).collect();
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            port.drain();
            let arrivals: Vec<u32> = log.entries().iter().map(|a| a.id).collect();
            if arrivals == expected {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "every packet, in order: {arrivals:?}"
            );
            std::thread::yield_now();
        }

        route
            .port()
            .send_from(
                route.address(),
                b"report",
                server.local_addr().expect("addr"),
            )
            .expect("send from the subscriber's address");
        server
            .set_read_timeout(Some(Duration::from_secs(5)))
            .expect("timeout");
        let mut buf = [0; 16];
        let (n, from) = server.recv_from(&mut buf).expect("the report arrives");
        assert_eq!((&buf[..n], from), (&b"report"[..], subscriber));

        // Once the subscriber leaves, its datagrams are read and dropped.
        drop(route);
        assert!(routes(&port.routes).is_empty());
    }

    /// Bytes a server adds to each payload in these tests: the 32-byte test header and
    /// 16 more (an SRTP tag, say).
    const OVERHEAD: usize = 48;

    /// The ids of a frame after the first whose payloads are as long as its first one's
    /// but the last (shorter): one segmented send carries it.
    fn segmentable_frame(ledger: &Ledger) -> std::ops::Range<usize> {
        let len = |id: usize| ledger.stream.packets[id].payload.len();
        ledger.stream.frames[1..]
            .iter()
            .map(|f| f.first_packet as usize..(f.first_packet + f.packets) as usize)
            .find(|ids| {
                ids.len() >= 3
                    && ids
                        .clone()
                        .skip(1)
                        .take(ids.len() - 2)
                        .all(|id| len(id) == len(ids.start))
                    && len(ids.end - 1) < len(ids.start)
            })
            .expect("a frame of equal packets")
    }

    /// Sends packets `ids` (sequence number 1000 + id, each `grow` bytes longer than
    /// [`OVERHEAD`] makes it) from `server` to `to` in one segmented send.
    fn send_segmented(
        ledger: &Ledger,
        server: &UdpSocket,
        to: SocketAddr,
        ids: std::ops::Range<usize>,
        grow: usize,
    ) {
        let mut bytes = Vec::new();
        let mut segment = 0;
        for id in ids {
            ledger.mark_sent(id, Instant::now());
            let mut datagram = header(ledger, SSRC, (1000 + id) as u16, id);
            datagram.resize(ledger.stream.packets[id].payload.len() + OVERHEAD + grow, 0);
            segment = segment.max(datagram.len());
            bytes.extend_from_slice(&datagram);
        }
        let segment = u16::try_from(segment).expect("segment");
        let SocketAddr::V4(to) = to else {
            panic!("IPv4")
        };
        sendmsg(
            server.as_raw_fd(),
            &[IoSlice::new(&bytes)],
            &[ControlMessage::UdpGsoSegments(&segment)],
            MsgFlags::empty(),
            Some(&SockaddrIn::from(to)),
        )
        .expect("segmented send");
    }

    #[test]
    fn a_segmented_send_is_named_from_its_start_and_a_mismatch_gets_its_own_socket_back() {
        let port = SharedPort::open().expect("shared socket (the tests run as root)");
        let own = port.subscriber_socket().expect("subscriber socket");
        let subscriber = own.local_addr().expect("addr");
        let server = UdpSocket::bind("127.0.0.1:0").expect("bind");
        let ledger = Arc::new(ledger());
        let log = Arc::new(ArrivalLog::default());
        let record = Arc::new(Mutex::new(Record::default()));
        let media = media_with(&ledger, &log, Arc::clone(&record));
        let route = port.take_over(&own, &media).expect("take over");
        drop(own);

        // A frame in one segmented send: only its first 256 bytes are copied out, and every
        // packet is named.
        let frame = segmentable_frame(&ledger);
        assert!(
            ledger.stream.packets[frame.start].payload.len() + OVERHEAD > HEAD,
            "the read is truncated"
        );
        send_segmented(&ledger, &server, subscriber, frame.clone(), 0);
        let expected: Vec<u32> = frame.clone().map(|id| id as u32).collect();
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            port.drain();
            let arrivals: Vec<u32> = log.entries().iter().map(|a| a.id).collect();
            if arrivals == expected {
                break;
            }
            assert!(Instant::now() < deadline, "the frame, named: {arrivals:?}");
            std::thread::yield_now();
        }

        // The next frame a byte longer per packet than the ledger says: not those packets.
        let next = ledger.stream.frames[ledger.stream.packets[frame.start].frame as usize + 1];
        let next = next.first_packet as usize..(next.first_packet + next.packets) as usize;
        send_segmented(&ledger, &server, subscriber, next, 1);
        let deadline = Instant::now() + Duration::from_secs(5);
        while lock(&record).header_resyncs == 0 {
            assert!(Instant::now() < deadline, "the mismatch is never seen");
            port.drain();
            std::thread::yield_now();
        }
        assert!(lock(&media).take_wants_own_socket());
        assert_eq!(log.entries().len(), expected.len(), "nothing more counted");

        // Its own socket again, which takes the server's datagrams whole from now on.
        let again = port
            .subscriber_socket_at(route.address())
            .expect("own socket again");
        drop(route);
        server.send_to(&[0x80; 600], subscriber).expect("send");
        again.set_nonblocking(false).expect("blocking");
        again
            .set_read_timeout(Some(Duration::from_secs(5)))
            .expect("timeout");
        let mut buf = [0; 1024];
        let (n, from) = again.recv_from(&mut buf).expect("the datagram arrives");
        assert_eq!((n, from), (600, server.local_addr().expect("addr")));
    }
}
