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
//! server nothing (docs/benchmarks.md). The socket then hands the datagrams out one by one.

use crate::poll_clock::{PollClock, Registration};
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
    /// In the poll clock's set, which no thread sleeps on: read when a tick finds it ready.
    Polled {
        socket: std::net::UdpSocket,
        registration: Registration,
        /// The rest of the last coalesced read, when the socket has UDP GRO on.
        coalesced: Mutex<Coalesced>,
    },
}

impl PeerSocket {
    /// A runtime socket whose datagrams carry their kernel receive time, with a receive
    /// buffer deep enough for a poll tick of a server's burst.
    pub(crate) fn new(socket: UdpSocket) -> io::Result<Self> {
        setsockopt(&socket, sockopt::ReceiveTimestampns, &true).map_err(io::Error::from)?;
        // The kernel caps it at net.core.rmem_max; a smaller buffer only drops sooner.
        setsockopt(&socket, sockopt::RcvBuf, &RECEIVE_BUFFER).map_err(io::Error::from)?;
        Ok(Self::Woken(socket))
    }

    /// Stops being woken: the socket leaves the runtime's epoll set. Datagrams already
    /// queued stay queued (the polled socket is a duplicate of the same descriptor). With
    /// `coalesce`, datagrams that arrive from now on in one segmented send are read whole.
    pub(crate) fn poll_instead(
        &mut self,
        clock: &Arc<PollClock>,
        coalesce: bool,
    ) -> io::Result<()> {
        let Self::Woken(woken) = self else {
            return Ok(());
        };
        let polled = std::net::UdpSocket::from(woken.as_fd().try_clone_to_owned()?);
        polled.set_nonblocking(true)?;
        if coalesce {
            setsockopt(&polled, sockopt::UdpGroSegment, &true).map_err(io::Error::from)?;
        }
        let registration = clock.register(&polled)?;
        // Dropping the runtime's socket deregisters it from the runtime.
        *self = Self::Polled {
            socket: polled,
            registration,
            coalesced: Mutex::new(Coalesced::default()),
        };
        Ok(())
    }

    /// Reads the datagrams already queued, up to one per buffer, in one system call, and
    /// appends where each went to `received` (datagram `i` is in `buffers[i]`).
    /// `WouldBlock` when none is queued.
    pub(crate) fn try_recv_many(
        &self,
        buffers: &mut [Vec<u8>],
        received: &mut Vec<Received>,
    ) -> io::Result<()> {
        match self {
            Self::Woken(s) => s.try_io(Interest::READABLE, || {
                recv_many_stamped(s, buffers, received)
            }),
            Self::Polled {
                socket, coalesced, ..
            } => {
                let mut coalesced = coalesced.lock().map_err(|_| io::Error::other("poisoned"))?;
                for buffer in buffers.iter_mut() {
                    match coalesced.next(socket, buffer) {
                        Ok(read) => received.push(read),
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                        Err(e) => return Err(e),
                    }
                }
                if received.is_empty() {
                    return Err(io::ErrorKind::WouldBlock.into());
                }
                Ok(())
            }
        }
    }

    /// Waits for a datagram: woken by the runtime, or by the poll clock's next tick that
    /// finds one.
    pub(crate) async fn recv(&self, buf: &mut [u8]) -> io::Result<Received> {
        match self {
            Self::Woken(s) => {
                s.async_io(Interest::READABLE, || recv_stamped(s, buf))
                    .await
            }
            Self::Polled {
                socket,
                registration,
                coalesced,
            } => loop {
                // What a coalesced read left comes first: the socket may be empty.
                let read = coalesced
                    .lock()
                    .map_err(|_| io::Error::other("poisoned"))?
                    .next(socket, buf);
                match read {
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => registration.ready().await,
                    read => return read,
                }
            },
        }
    }

    /// Reads a polled socket made (tests: how many datagrams one read carried).
    #[cfg(test)]
    fn polled_reads(&self) -> u64 {
        match self {
            Self::Woken(_) => 0,
            Self::Polled { coalesced, .. } => coalesced.lock().map_or(0, |c| c.reads),
        }
    }

    /// Sends one datagram. A full send buffer on a polled socket drops it, as the network
    /// would.
    pub(crate) async fn send_to(&self, datagram: &[u8], target: SocketAddr) -> io::Result<()> {
        match self {
            Self::Woken(s) => s.send_to(datagram, target).await.map(drop),
            Self::Polled { socket, .. } => socket.send_to(datagram, target).map(drop),
        }
    }
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

/// Largest read with UDP GRO on: one segmented send (an IP datagram's limit).
const COALESCED_MAX: usize = 65_536;

/// The last read of a polled socket and how much of it was handed out: a segmented send
/// read whole (UDP GRO) is `segment`-byte datagrams back to back, the last maybe shorter.
#[derive(Debug)]
pub(crate) struct Coalesced {
    data: Vec<u8>,
    len: usize,
    segment: usize,
    at: usize,
    source: SocketAddr,
    received_at: Instant,
    /// System calls that returned data.
    reads: u64,
}

impl Default for Coalesced {
    fn default() -> Self {
        Self {
            data: Vec::new(),
            len: 0,
            segment: 0,
            at: 0,
            source: SocketAddr::from(([0, 0, 0, 0], 0)),
            received_at: Instant::now(),
            reads: 0,
        }
    }
}

impl Coalesced {
    /// The next datagram into `buf`: from the last read if it has more, else from a new
    /// read of `socket` (`WouldBlock` when nothing is queued).
    fn next(&mut self, socket: &impl AsRawFd, buf: &mut [u8]) -> io::Result<Received> {
        if self.at >= self.len {
            self.read(socket)?;
        }
        let end = (self.at + self.segment).min(self.len);
        let datagram = &self.data[self.at..end];
        let n = datagram.len().min(buf.len());
        buf[..n].copy_from_slice(&datagram[..n]);
        self.at = end;
        Ok((n, self.source, self.received_at))
    }

    fn read(&mut self, socket: &impl AsRawFd) -> io::Result<()> {
        self.data.resize(COALESCED_MAX, 0);
        let ((len, source, received_at), segment) = recv_coalesced(socket, &mut self.data)?;
        (self.len, self.at, self.source, self.received_at) = (len, 0, source, received_at);
        self.segment = segment.unwrap_or(len).max(1);
        self.reads += 1;
        Ok(())
    }
}

/// [`recv_stamped`] for up to `buffers.len()` datagrams in one `recvmmsg`.
fn recv_many_stamped(
    socket: &impl AsRawFd,
    buffers: &mut [Vec<u8>],
    received: &mut Vec<Received>,
) -> io::Result<()> {
    let mut headers =
        MultiHeaders::<SockaddrStorage>::preallocate(buffers.len(), Some(cmsg_space!(TimeSpec)));
    let mut slices: Vec<[IoSliceMut<'_>; 1]> = buffers
        .iter_mut()
        .map(|buffer| [IoSliceMut::new(buffer)])
        .collect();
    let messages = recvmmsg(
        socket.as_raw_fd(),
        &mut headers,
        slices.iter_mut(),
        MsgFlags::MSG_DONTWAIT,
        None,
    )
    .map_err(io::Error::from)?;
    let before = received.len();
    for message in messages {
        let (source, received_at) = source_and_stamp(&message)?;
        received.push((message.bytes, source, received_at));
    }
    if received.len() == before {
        return Err(io::ErrorKind::WouldBlock.into());
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

fn socket_addr(address: &SockaddrStorage) -> Option<SocketAddr> {
    if let Some(v4) = address.as_sockaddr_in() {
        return Some(SocketAddr::from((v4.ip(), v4.port())));
    }
    address
        .as_sockaddr_in6()
        .map(|v6| SocketAddr::from((v6.ip(), v6.port())))
}

/// The monotonic instant of a wall-clock kernel timestamp: now, less how long ago it was.
fn to_instant(at: TimeSpec) -> Instant {
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
    use tokio::sync::watch;

    async fn pair() -> (PeerSocket, std::net::UdpSocket) {
        let receiver = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
        let sender = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
        sender
            .connect(receiver.local_addr().expect("addr"))
            .expect("connect");
        (PeerSocket::new(receiver).expect("timestamps"), sender)
    }

    /// Waits until the kernel stamps datagrams on arrival (it switches stamping on
    /// asynchronously; see [`keep_receive_timestamps_on`]): a probe read 5 ms after it was
    /// sent must be stamped at least 4 ms before the read.
    async fn until_stamping_is_on(socket: &PeerSocket, sender: &std::net::UdpSocket) {
        let mut buf = [0u8; 64];
        for _ in 0..200 {
            sender.send(b"probe").expect("send");
            tokio::time::sleep(Duration::from_millis(5)).await;
            let (_, _, received_at) = socket.recv(&mut buf).await.expect("recv");
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
        let (n, source, received_at) = socket.recv(&mut buf).await.expect("recv");
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
        let (_stop_tx, stop) = watch::channel(false);
        let clock = PollClock::start(stop).expect("clock");
        let (mut socket, sender) = pair().await;
        // Datagrams sent one by one arrive one by one, GRO or not.
        socket.poll_instead(&clock, true).expect("to polling");
        for payload in [&b"one"[..], b"two", b"three"] {
            sender.send(payload).expect("send");
        }
        let mut buffers = vec![vec![0u8; 64]; 16];
        let mut received = Vec::new();
        socket
            .try_recv_many(&mut buffers, &mut received)
            .expect("three queued");
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

    #[tokio::test]
    async fn a_polled_socket_keeps_what_was_queued_and_is_read_on_a_tick() {
        let (_stop_tx, stop) = watch::channel(false);
        let clock = PollClock::start(stop).expect("clock");
        let (mut socket, sender) = pair().await;
        sender.send(b"queued before").expect("send");
        socket.poll_instead(&clock, false).expect("to polling");
        sender.send(b"queued after").expect("send");
        let mut buf = [0u8; 64];
        for expected in [&b"queued before"[..], b"queued after"] {
            let (n, ..) = tokio::time::timeout(Duration::from_secs(5), socket.recv(&mut buf))
                .await
                .expect("a tick reads it")
                .expect("recv");
            assert_eq!(&buf[..n], expected);
        }
    }

    #[tokio::test]
    async fn a_segmented_send_is_read_whole_then_handed_out_datagram_by_datagram() {
        use nix::sys::socket::{sendmsg, ControlMessage};
        use std::io::IoSlice;
        let (_stop_tx, stop) = watch::channel(false);
        let clock = PollClock::start(stop).expect("clock");
        let (mut socket, sender) = pair().await;
        socket.poll_instead(&clock, true).expect("to polling");
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
        let mut buffers = vec![vec![0u8; 2048]; 16];
        let mut received = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(5);
        while received.is_empty() {
            assert!(Instant::now() < deadline, "the send never arrived");
            let _ = socket.try_recv_many(&mut buffers, &mut received);
            tokio::task::yield_now().await;
        }
        let lengths: Vec<usize> = received.iter().map(|&(n, ..)| n).collect();
        assert_eq!(lengths, [100, 100, 100, 40]);
        for (i, (buffer, &(n, source, _))) in buffers.iter().zip(&received).enumerate() {
            assert!(
                buffer[..n].iter().all(|&b| usize::from(b) == i + 1),
                "datagram {i}"
            );
            assert_eq!(source, sender.local_addr().expect("addr"));
        }
        assert_eq!(socket.polled_reads(), 1, "one read carried all four");
    }
}
