//! The anchor for "CPU per forwarded packet": what the kernel alone charges a sender for
//! one datagram of the bench's size to a loopback socket, with a receiver draining it.
//! No SFU can forward a packet for less on this machine, so the SFU's figure is best read
//! as this floor plus its own work.

use std::net::UdpSocket;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Datagrams sent per measurement.
const DATAGRAMS: u64 = 200_000;

/// CPU µs (user, system) the sending thread spent per datagram.
pub(crate) fn per_datagram(payload: usize, thread_cpu: fn(&[&str]) -> (f64, f64)) -> (f64, f64) {
    let receiver = UdpSocket::bind("127.0.0.1:0").expect("bind receiver");
    receiver
        .set_read_timeout(Some(Duration::from_millis(100)))
        .expect("timeout");
    let destination = receiver.local_addr().expect("addr");
    let done = Arc::new(AtomicBool::new(false));
    let draining = {
        let done = Arc::clone(&done);
        std::thread::Builder::new()
            .name("floor-recv".into())
            .spawn(move || {
                let mut buf = [0u8; 2048];
                while !done.load(Ordering::Relaxed) {
                    let _ = receiver.recv(&mut buf);
                }
            })
            .expect("receiver thread")
    };
    let sending = std::thread::Builder::new()
        .name("floor-send".into())
        .spawn(move || {
            let socket = UdpSocket::bind("127.0.0.1:0").expect("bind sender");
            let datagram = vec![0x5a; payload];
            let before = thread_cpu(&["floor-send"]);
            for _ in 0..DATAGRAMS {
                // A full receive buffer drops the datagram after the kernel did the work.
                let _ = socket.send_to(&datagram, destination);
            }
            let after = thread_cpu(&["floor-send"]);
            (after.0 - before.0, after.1 - before.1)
        })
        .expect("sender thread");
    let (user, system) = sending.join().expect("sender");
    done.store(true, Ordering::Relaxed);
    let _ = draining.join();
    let per = |seconds: f64| seconds * 1e6 / DATAGRAMS as f64;
    (per(user), per(system))
}
