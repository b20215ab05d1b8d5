//! A subscriber's UDP socket, woken per datagram while it joins and polled on a clock tick
//! once it reads media by header.
//!
//! Why polled: on loopback the server pays for waking the process that receives its
//! datagrams (`sock_def_readable` → the epoll waiter → an inter-processor interrupt, a VM
//! exit here). A generator that sleeps between packets, as a cheap one does, makes every
//! send cost the server more: Janus, which sends each datagram with its own `sendmsg`,
//! spent 15 → 18 µs per packet when the generator got cheaper (docs/benchmarks.md). A
//! viewer on another machine costs the server nothing of the kind. A socket that is not
//! in any epoll set a thread sleeps on wakes no one: its datagrams queue until the next
//! tick, and their kernel receive times (`SO_TIMESTAMPNS`) keep the measured delay exact.
//!
//! A polled socket may also take a server's segmented sends whole (UDP GRO): on loopback
//! the kernel otherwise splits each one back into datagrams at the receiving socket, in
//! the sending server's context, where a NIC's segmentation offload would have cost the
//! server nothing (docs/benchmarks.md). The clock reads it (`polled_media.rs`).
//!
//! Against Sealcam a polled subscriber's own socket is closed instead, and its media read
//! from one socket shared by every subscriber, each with its own address
//! (`shared_port.rs`).

use crate::header_only::HeaderOnly;
use crate::peer::{Reading, Record};
use crate::poll_clock::{PollClock, Registration};
use crate::polled_media::{lock, PolledMedia};
use crate::segmented_read::{self, ForStr0m};
use crate::shared_port::Route;
use loadgen::ledger::Ledger;
use nix::cmsg_space;
use nix::sys::socket::{
    recvmmsg, recvmsg, setsockopt, sockopt, ControlMessageOwned, MsgFlags, MultiHeaders, RecvMsg,
    SockaddrStorage,
};
use nix::sys::time::TimeSpec;
use std::io::{self, IoSliceMut};
use std::net::SocketAddr;
use std::os::fd::{AsFd, AsRawFd};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};
use tokio::io::Interest;
use tokio::net::UdpSocket;
use tokio::sync::Notify;

/// One datagram read: its length in the buffer, its sender, and when the kernel queued it
/// on the socket.
pub(crate) type Received = (usize, SocketAddr, Instant);

/// `SO_RCVBUF` of every subscriber socket. At the default (208 KiB, about 90 datagrams
/// of 1.1 KB as the kernel counts them) a saturated server's delayed bursts, and the group
/// of pictures replayed at a join, overflowed it between two reads.
const RECEIVE_BUFFER: usize = 1 << 20;

/// How the subscriber learns that datagrams are waiting.
#[derive(Debug)]
pub(crate) enum PeerSocket {
    /// Registered with the runtime: a datagram wakes the task.
    Woken(UdpSocket),
    /// In the poll clock's set, which no thread sleeps on: the clock reads it on a tick
    /// and wakes the task only when str0m must act.
    Polled {
        media: Arc<Mutex<PolledMedia>>,
        sender: Sender,
        task: Arc<Notify>,
    },
}

/// Where a polled subscriber's datagrams leave from.
#[derive(Debug)]
pub(crate) enum Sender {
    /// A duplicate of its own socket's descriptor, to send on without the media's lock;
    /// the socket is in the clock's epoll set until the registration drops.
    Own {
        socket: std::net::UdpSocket,
        _registration: Registration,
    },
    /// The shared socket, with the subscriber's address as the source: its own socket
    /// was closed, and the shared one reads for it until the route drops.
    Shared(Route),
}

impl Sender {
    /// `socket`, in `clock`'s set: each tick that finds datagrams on it has `media` read
    /// them.
    fn own(
        clock: &Arc<PollClock>,
        socket: std::net::UdpSocket,
        media: &Arc<Mutex<PolledMedia>>,
    ) -> io::Result<Self> {
        Ok(Self::Own {
            _registration: clock.register(&socket, Arc::clone(media) as _)?,
            socket,
        })
    }
}

/// Asks for each datagram's kernel receive time and a receive buffer deep enough for a
/// poll tick of a server's burst.
fn stamp_and_deepen(socket: &impl AsFd) -> io::Result<()> {
    setsockopt(socket, sockopt::ReceiveTimestampns, &true).map_err(io::Error::from)?;
    // The kernel caps it at net.core.rmem_max; a smaller buffer only drops sooner.
    setsockopt(socket, sockopt::RcvBuf, &RECEIVE_BUFFER).map_err(io::Error::from)
}

/// With `coalesce`, `socket` takes a server's segmented send whole (UDP GRO).
fn take_segmented_sends_whole(socket: &impl AsFd, coalesce: bool) -> io::Result<()> {
    if coalesce {
        setsockopt(socket, sockopt::UdpGroSegment, &true).map_err(io::Error::from)?;
    }
    Ok(())
}

/// What woke the subscriber.
pub(crate) enum Incoming {
    /// A datagram, read into the caller's buffer.
    Datagram(Received),
    /// The poll clock: see [`PeerSocket::take_wake`].
    Polled,
}

impl PeerSocket {
    /// A runtime socket whose datagrams carry their kernel receive time, with a receive
    /// buffer deep enough for a poll tick of a server's burst.
    pub(crate) fn new(socket: UdpSocket) -> io::Result<Self> {
        stamp_and_deepen(&socket)?;
        Ok(Self::Woken(socket))
    }

    /// Stops being woken: the clock names the socket's media with `naming` from now on.
    /// Datagrams already queued are not lost (the polled socket is a duplicate of the same
    /// descriptor). A socket made by the clock's shared port moves onto it
    /// (`shared_port.rs`); any other leaves the runtime's epoll set for the clock's, and
    /// with `coalesce` takes what arrives in one segmented send whole.
    pub(crate) fn name_by_header(
        &mut self,
        clock: &Arc<PollClock>,
        reading: &Reading,
        naming: HeaderOnly,
        ledger: Arc<Ledger>,
        record: Arc<Mutex<Record>>,
    ) -> io::Result<()> {
        let Self::Woken(woken) = self else {
            self.resume_naming(naming);
            return Ok(());
        };
        let shared = clock
            .shared_port()
            .filter(|port| woken.local_addr().is_ok_and(|a| port.is_bound_for(a)));
        let own = std::net::UdpSocket::from(woken.as_fd().try_clone_to_owned()?);
        own.set_nonblocking(true)?;
        // Only a socket the clock reads itself is the media's; the shared port reads for
        // the others.
        let read_by_clock = match shared {
            Some(_) => None,
            None => {
                take_segmented_sends_whole(&own, reading.coalesce)?;
                Some(own.try_clone()?)
            }
        };
        let task = Arc::new(Notify::new());
        let media = Arc::new(Mutex::new(PolledMedia::new(
            read_by_clock,
            naming,
            ledger,
            (Arc::clone(clock.arrivals()), reading.subscriber),
            record,
            Arc::clone(&task),
        )));
        let sender = match shared {
            Some(port) => Sender::Shared(port.take_over(&own, &media)?),
            None => Sender::own(clock, own, &media)?,
        };
        // Dropping the runtime's socket deregisters it from the runtime (and, once moved
        // onto the shared port, closes it).
        *self = Self::Polled {
            media,
            sender,
            task,
        };
        Ok(())
    }

    /// Whether the poll clock reads the socket.
    pub(crate) fn is_polled(&self) -> bool {
        matches!(self, Self::Polled { .. })
    }

    /// After a mismatch on the shared socket, which copies out only the start of each
    /// read: the subscriber gets a socket of its own again (bound to its address, it takes
    /// the server's datagrams from the shared one), read whole by `clock`, so str0m can be
    /// given its media until it names a packet again. Nothing otherwise.
    pub(crate) fn read_whole_if_needed(
        &mut self,
        clock: &Arc<PollClock>,
        reading: &Reading,
    ) -> io::Result<()> {
        let Self::Polled { media, sender, .. } = self else {
            return Ok(());
        };
        let Sender::Shared(route) = sender else {
            return Ok(());
        };
        if !lock(media).take_wants_own_socket() {
            return Ok(());
        }
        let own = route.port().subscriber_socket_at(route.address())?;
        stamp_and_deepen(&own)?;
        take_segmented_sends_whole(&own, reading.coalesce)?;
        lock(media).read_own(own.try_clone()?);
        // The route drops here: the shared socket no longer reads for the subscriber.
        *sender = Sender::own(clock, own, media)?;
        Ok(())
    }

    /// Naming resumes (str0m named a packet after a mismatch).
    pub(crate) fn resume_naming(&self, naming: HeaderOnly) {
        if let Self::Polled { media, .. } = self {
            lock(media).resume(naming);
        }
    }

    /// The datagrams the clock woke the task to give str0m (`None`: none after all).
    pub(crate) fn take_wake(&self) -> Option<Vec<ForStr0m>> {
        match self {
            Self::Woken(_) => None,
            Self::Polled { media, .. } => lock(media).take_wake(recv_read),
        }
    }

    /// Reads the datagrams already queued, up to one per buffer, in one system call, and
    /// appends where each went to `received` (datagram `i` is in `buffers[i]`).
    /// `WouldBlock` when none is queued, or when the clock reads the socket.
    pub(crate) fn try_recv_many(
        &self,
        buffers: &mut [Vec<u8>],
        received: &mut Vec<Received>,
    ) -> io::Result<()> {
        match self {
            Self::Woken(s) => s.try_io(Interest::READABLE, || {
                recv_many_stamped(s, buffers, received)
            }),
            Self::Polled { .. } => Err(io::ErrorKind::WouldBlock.into()),
        }
    }

    /// Waits for a datagram (read into `buf`), or for the poll clock's call.
    pub(crate) async fn next(&self, buf: &mut [u8]) -> io::Result<Incoming> {
        match self {
            Self::Woken(s) => s
                .async_io(Interest::READABLE, || recv_stamped(s, buf))
                .await
                .map(Incoming::Datagram),
            Self::Polled { task, .. } => {
                task.notified().await;
                Ok(Incoming::Polled)
            }
        }
    }

    /// Waits until the runtime reports the socket readable (tests).
    #[cfg(test)]
    async fn readable_for_tests(&self) {
        if let Self::Woken(s) = self {
            let _ = s.readable().await;
        }
    }

    /// Sends one datagram. A full send buffer on a polled socket drops it, as the network
    /// would.
    pub(crate) async fn send_to(&self, datagram: &[u8], target: SocketAddr) -> io::Result<()> {
        match self {
            Self::Woken(s) => s.send_to(datagram, target).await.map(drop),
            Self::Polled {
                sender: Sender::Own { socket, .. },
                ..
            } => socket.send_to(datagram, target).map(drop),
            Self::Polled {
                sender: Sender::Shared(route),
                ..
            } => route.port().send_from(route.address(), datagram, target),
        }
    }
}

/// One read of a polled socket into `room`: a datagram, or with UDP GRO a whole
/// segmented send.
pub(crate) fn recv_read(
    socket: &std::net::UdpSocket,
    room: &mut [u8],
) -> io::Result<segmented_read::Received> {
    let ((len, source, received_at), segment) = recv_coalesced(socket, room)?;
    Ok((len, source, received_at, segment))
}

/// A socket that asks for receive timestamps for as long as it is held.
///
/// Why: the kernel stamps arriving datagrams only while some socket on the machine asks
/// for it, and switches that on and off asynchronously (a deferred static key). Datagrams
/// that arrive before it is on are stamped when read, as if the generator's read delay
/// were forwarding delay. Between two steps every subscriber socket closes; holding this
/// one for the generator's whole life keeps stamping on across them.
pub(crate) fn keep_receive_timestamps_on() -> io::Result<std::net::UdpSocket> {
    let socket = std::net::UdpSocket::bind("127.0.0.1:0")?;
    setsockopt(&socket, sockopt::ReceiveTimestampns, &true).map_err(io::Error::from)?;
    Ok(socket)
}

/// Room for one `SCM_TIMESTAMPNS` control message (a `struct timespec` and its header),
/// aligned as the kernel's `cmsghdr` is.
#[repr(C, align(8))]
struct Control([u8; 64]);

/// Reads one datagram without blocking, with its kernel receive time (`SO_TIMESTAMPNS`,
/// wall clock) carried over to the monotonic clock. A datagram without one (the option
/// not set yet) is stamped now.
fn recv_stamped(socket: &impl AsRawFd, buf: &mut [u8]) -> io::Result<Received> {
    recv_coalesced(socket, buf).map(|(read, _)| read)
}

/// [`recv_stamped`], and the segment size when the kernel handed over several datagrams
/// of one segmented send as one read (UDP GRO).
fn recv_coalesced(socket: &impl AsRawFd, buf: &mut [u8]) -> io::Result<(Received, Option<usize>)> {
    let mut control = Control([0; 64]);
    let mut iov = [IoSliceMut::new(buf)];
    let message = recvmsg::<SockaddrStorage>(
        socket.as_raw_fd(),
        &mut iov,
        Some(&mut control.0),
        MsgFlags::MSG_DONTWAIT,
    )
    .map_err(io::Error::from)?;
    let (source, received_at) = source_and_stamp(&message)?;
    let mut segment = None;
    for cmsg in message.cmsgs().map_err(io::Error::from)? {
        if let ControlMessageOwned::UdpGroSegments(size) = cmsg {
            segment = usize::try_from(size).ok();
        }
    }
    Ok(((message.bytes, source, received_at), segment))
}

/// [`recv_stamped`] for up to `buffers.len()` datagrams in one `recvmmsg`.
fn recv_many_stamped(
    socket: &impl AsRawFd,
    buffers: &mut [Vec<u8>],
    received: &mut Vec<Received>,
) -> io::Result<()> {
    let before = received.len();
    recv_each(
        socket,
        buffers,
        cmsg_space!(TimeSpec),
        MsgFlags::MSG_DONTWAIT,
        |message| {
            let (source, received_at) = source_and_stamp(message)?;
            received.push((message.bytes, source, received_at));
            Ok(())
        },
    )?;
    if received.len() == before {
        return Err(io::ErrorKind::WouldBlock.into());
    }
    Ok(())
}

/// One `recvmmsg` of up to one datagram (or segmented send) per buffer, with room for
/// `control` bytes of control messages each; `each` sees every message in order (message
/// `i` is in `buffers[i]`). With `MSG_TRUNC` in `flags` a message's `bytes` is its whole
/// length, however little of it the buffer took.
pub(crate) fn recv_each(
    socket: &impl AsRawFd,
    buffers: &mut [Vec<u8>],
    control: Vec<u8>,
    flags: MsgFlags,
    mut each: impl FnMut(&RecvMsg<'_, '_, SockaddrStorage>) -> io::Result<()>,
) -> io::Result<()> {
    let mut headers = MultiHeaders::<SockaddrStorage>::preallocate(buffers.len(), Some(control));
    let mut slices: Vec<[IoSliceMut<'_>; 1]> = buffers
        .iter_mut()
        .map(|buffer| [IoSliceMut::new(buffer)])
        .collect();
    let messages = recvmmsg(
        socket.as_raw_fd(),
        &mut headers,
        slices.iter_mut(),
        flags,
        None,
    )
    .map_err(io::Error::from)?;
    for message in messages {
        each(&message)?;
    }
    Ok(())
}

/// A received datagram's sender, and its kernel receive time (now if it has none).
fn source_and_stamp(
    message: &RecvMsg<'_, '_, SockaddrStorage>,
) -> io::Result<(SocketAddr, Instant)> {
    let source = message
        .address
        .as_ref()
        .and_then(socket_addr)
        .ok_or_else(|| io::Error::other("datagram without an IP source"))?;
    let mut stamp = None;
    for cmsg in message.cmsgs().map_err(io::Error::from)? {
        if let ControlMessageOwned::ScmTimestampns(at) = cmsg {
            stamp = Some(at);
        }
    }
    Ok((source, stamp.map_or_else(Instant::now, to_instant)))
}

pub(crate) fn socket_addr(address: &SockaddrStorage) -> Option<SocketAddr> {
    if let Some(v4) = address.as_sockaddr_in() {
        return Some(SocketAddr::from((v4.ip(), v4.port())));
    }
    address
        .as_sockaddr_in6()
        .map(|v6| SocketAddr::from((v6.ip(), v6.port())))
}

/// The monotonic instant of a wall-clock kernel timestamp: now, less how long ago it was.
pub(crate) fn to_instant(at: TimeSpec) -> Instant {
    let at = Duration::from(at);
    let now = Instant::now();
    let wall = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default();
    now.checked_sub(wall.saturating_sub(at)).unwrap_or(now)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::segmented_read::Read;

    async fn pair() -> (PeerSocket, std::net::UdpSocket) {
        let receiver = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
        let sender = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
        sender
            .connect(receiver.local_addr().expect("addr"))
            .expect("connect");
        (PeerSocket::new(receiver).expect("timestamps"), sender)
    }

    async fn next_datagram(socket: &PeerSocket, buf: &mut [u8]) -> Received {
        match socket.next(buf).await.expect("recv") {
            Incoming::Datagram(received) => received,
            Incoming::Polled => panic!("a woken socket is not polled"),
        }
    }

    /// Waits until the kernel stamps datagrams on arrival (it switches stamping on
    /// asynchronously; see [`keep_receive_timestamps_on`]): a probe read 5 ms after it was
    /// sent must be stamped at least 4 ms before the read.
    async fn until_stamping_is_on(socket: &PeerSocket, sender: &std::net::UdpSocket) {
        let mut buf = [0u8; 64];
        for _ in 0..200 {
            sender.send(b"probe").expect("send");
            tokio::time::sleep(Duration::from_millis(5)).await;
            let (_, _, received_at) = next_datagram(socket, &mut buf).await;
            if received_at.elapsed() >= Duration::from_millis(4) {
                return;
            }
        }
        panic!("the kernel never stamped a datagram on arrival");
    }

    #[tokio::test]
    async fn a_datagram_carries_its_sender_and_the_time_the_kernel_queued_it() {
        let (socket, sender) = pair().await;
        until_stamping_is_on(&socket, &sender).await;
        let sent_at = Instant::now();
        sender.send(b"first").expect("send");
        // Read well after it arrived: the stamp is the arrival, not the read.
        tokio::time::sleep(Duration::from_millis(30)).await;
        let mut buf = [0u8; 64];
        let (n, source, received_at) = next_datagram(&socket, &mut buf).await;
        let read_at = Instant::now();
        assert_eq!(&buf[..n], b"first");
        assert_eq!(source, sender.local_addr().expect("addr"));
        assert!(
            received_at >= sent_at - Duration::from_millis(1),
            "stamped before it was sent"
        );
        assert!(
            read_at.duration_since(received_at) >= Duration::from_millis(25),
            "stamped when read ({:?} before the read), not when it arrived",
            read_at.duration_since(received_at)
        );
        let mut empty = vec![vec![0u8; 64]; 2];
        assert_eq!(
            socket
                .try_recv_many(&mut empty, &mut Vec::new())
                .map_err(|e| e.kind()),
            Err(io::ErrorKind::WouldBlock)
        );
    }

    #[tokio::test]
    async fn one_call_reads_every_queued_datagram_into_its_own_buffer() {
        let (socket, sender) = pair().await;
        for payload in [&b"one"[..], b"two", b"three"] {
            sender.send(payload).expect("send");
        }
        let mut buffers = vec![vec![0u8; 64]; 16];
        let mut received = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(5);
        while received.len() < 3 {
            assert!(Instant::now() < deadline, "the datagrams never arrived");
            socket.readable_for_tests().await;
            let _ = socket.try_recv_many(&mut buffers[received.len()..], &mut received);
        }
        let payloads: Vec<&[u8]> = buffers
            .iter()
            .zip(&received)
            .map(|(buffer, &(n, source, _))| {
                assert_eq!(source, sender.local_addr().expect("addr"));
                &buffer[..n]
            })
            .collect();
        assert_eq!(payloads, [&b"one"[..], b"two", b"three"]);
        received.clear();
        assert_eq!(
            socket
                .try_recv_many(&mut buffers, &mut received)
                .map_err(|e| e.kind()),
            Err(io::ErrorKind::WouldBlock)
        );
        assert!(received.is_empty());
    }

    #[test]
    fn a_segmented_send_is_read_whole_and_split_into_its_datagrams() {
        use nix::sys::socket::{sendmsg, ControlMessage};
        use std::io::IoSlice;
        let receiver = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
        setsockopt(&receiver, sockopt::UdpGroSegment, &true).expect("GRO");
        let sender = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
        sender
            .connect(receiver.local_addr().expect("addr"))
            .expect("connect");
        // Three 100-byte segments and a 40-byte tail in one send (UDP_SEGMENT), as the
        // SFU sends a frame's packets to one viewer.
        let payload: Vec<u8> = (0..340u32).map(|i| (i / 100) as u8 + 1).collect();
        let segment = 100u16;
        sendmsg::<()>(
            sender.as_raw_fd(),
            &[IoSlice::new(&payload)],
            &[ControlMessage::UdpGsoSegments(&segment)],
            MsgFlags::empty(),
            None,
        )
        .expect("segmented send");
        receiver.set_nonblocking(true).expect("nonblocking");
        let mut room = vec![0; segmented_read::MAX_READ];
        let deadline = Instant::now() + Duration::from_secs(5);
        let (len, source, received_at, segment) = loop {
            match recv_read(&receiver, &mut room) {
                Ok(received) => break received,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    assert!(Instant::now() < deadline, "the send never arrived");
                    std::thread::yield_now();
                }
                Err(e) => panic!("read: {e}"),
            }
        };
        let read = Read::new(&room[..len], source, received_at, segment);
        assert_eq!(read.source, sender.local_addr().expect("addr"));
        let datagrams: Vec<&[u8]> = read.datagrams().collect();
        assert_eq!(
            datagrams.iter().map(|d| d.len()).collect::<Vec<_>>(),
            [100, 100, 100, 40],
            "one read carried all four"
        );
        for (i, datagram) in datagrams.iter().enumerate() {
            assert!(datagram.iter().all(|&b| usize::from(b) == i + 1), "{i}");
        }
    }
}
