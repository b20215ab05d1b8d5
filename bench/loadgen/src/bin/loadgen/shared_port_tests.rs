//! Tests of the shared socket: joins moved onto it, reads named from their start, and a
//! subscriber given its own socket back.

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
    drain_until_logged(&port, &log, &expected, "every packet, in order");

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

/// Drains `port` until `log` holds the ids `expected`, in order.
fn drain_until_logged(port: &SharedPort, log: &ArrivalLog, expected: &[u32], what: &str) {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        port.drain();
        let arrivals: Vec<u32> = log.entries().iter().map(|a| a.id).collect();
        if arrivals == expected {
            return;
        }
        assert!(Instant::now() < deadline, "{what}: {arrivals:?}");
        std::thread::yield_now();
    }
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
    drain_until_logged(&port, &log, &expected, "the frame, named");

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
