//! Loss and jitter in userspace: a UDP relay that stands where the SFU's advertised ICE
//! candidate points, forwards each client's datagrams to the real SFU socket and back, and
//! drops or delays those of the impaired clients, in both directions.
//!
//! This does what `tc netem loss 5% delay 50ms 50ms` would do on the namespace's veth link,
//! on kernels built without `sch_netem` (the development and CI kernels), and it is seeded:
//! the same run drops the same share of packets. Like netem with jitter, a delayed datagram
//! may overtake an earlier one.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::UdpSocket;
use tokio::task::{JoinHandle, JoinSet};

/// Largest datagram relayed (above any WebRTC MTU).
const MAX_DATAGRAM: usize = 2048;

/// What happens to each datagram of an impaired client, in each direction.
#[derive(Debug, Clone, Copy)]
pub struct Impairment {
    /// Share of datagrams dropped, in percent.
    pub loss_percent: f64,
    /// Mean one-way delay added.
    pub delay: Duration,
    /// The added delay is uniform in `delay ± jitter` (never below zero).
    pub jitter: Duration,
    /// Seed of the loss and delay draws.
    pub seed: u64,
}

/// Datagrams relayed for impaired clients, both directions together.
#[derive(Debug, Default)]
pub struct ImpairmentCounters {
    /// Dropped on purpose.
    pub dropped: AtomicU64,
    /// Delivered (after their delay).
    pub delivered: AtomicU64,
    /// Sum of the delays drawn for delivered datagrams, in microseconds.
    pub delay_micros: AtomicU64,
    /// Largest delay drawn, in microseconds.
    pub max_delay_micros: AtomicU64,
}

impl ImpairmentCounters {
    /// Dropped share in percent of everything the impaired clients sent and received.
    #[must_use]
    pub fn loss_percent(&self) -> f64 {
        let dropped = self.dropped.load(Ordering::Relaxed) as f64;
        let delivered = self.delivered.load(Ordering::Relaxed) as f64;
        100.0 * dropped / (dropped + delivered).max(1.0)
    }

    /// Mean added delay of delivered datagrams.
    #[must_use]
    pub fn mean_delay(&self) -> Duration {
        let delivered = self.delivered.load(Ordering::Relaxed).max(1);
        Duration::from_micros(self.delay_micros.load(Ordering::Relaxed) / delivered)
    }
}

/// Draws the fate of each datagram: `None` to drop it, else the delay before delivery.
#[derive(Debug)]
struct Fate {
    impairment: Impairment,
    state: u64,
}

impl Fate {
    const fn new(impairment: Impairment, stream: u64) -> Self {
        Self {
            impairment,
            state: impairment.seed ^ stream.wrapping_mul(0x9e37_79b9_7f4a_7c15),
        }
    }

    /// SplitMix64: small, fast and well distributed; quality beyond that does not matter
    /// for a loss model.
    fn next_unit(&mut self) -> f64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64
    }

    fn draw(&mut self) -> Option<Duration> {
        if self.next_unit() * 100.0 < self.impairment.loss_percent {
            return None;
        }
        let spread = self.impairment.jitter.as_secs_f64() * (2.0 * self.next_unit() - 1.0);
        Some(Duration::from_secs_f64(
            (self.impairment.delay.as_secs_f64() + spread).max(0.0),
        ))
    }
}

/// Shared by both directions of every impaired client.
#[derive(Debug)]
struct Shaper {
    counters: Arc<ImpairmentCounters>,
    upstream_fate: Mutex<Fate>,
    downstream_fate: Mutex<Fate>,
}

impl Shaper {
    /// Sends `data` on `socket` (to `to`, or to the connected peer) after its drawn delay,
    /// or drops it.
    fn pass(
        &self,
        fate: &Mutex<Fate>,
        socket: &Arc<UdpSocket>,
        to: Option<SocketAddr>,
        data: &[u8],
    ) {
        let drawn = fate
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .draw();
        let Some(delay) = drawn else {
            self.counters.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        };
        let micros = u64::try_from(delay.as_micros()).unwrap_or(u64::MAX);
        self.counters.delivered.fetch_add(1, Ordering::Relaxed);
        self.counters
            .delay_micros
            .fetch_add(micros, Ordering::Relaxed);
        self.counters
            .max_delay_micros
            .fetch_max(micros, Ordering::Relaxed);
        let socket = Arc::clone(socket);
        let data = data.to_vec();
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            // A full socket buffer is one more loss; the protocol above repairs it.
            let _ = match to {
                Some(to) => socket.send_to(&data, to).await,
                None => socket.send(&data).await,
            };
        });
    }
}

/// The relay; stops (with every client link) when dropped.
#[derive(Debug)]
pub struct ImpairingRelay {
    /// What the impaired clients' datagrams went through so far.
    pub counters: Arc<ImpairmentCounters>,
    local_addr: SocketAddr,
    task: JoinHandle<()>,
}

impl ImpairingRelay {
    /// Listens on `listen` and relays to `upstream`. Datagrams of clients whose address is
    /// `impaired_ip` are impaired both ways; everyone else's pass untouched.
    ///
    /// # Errors
    /// When `listen` cannot be bound.
    pub async fn start(
        listen: SocketAddr,
        upstream: SocketAddr,
        impaired_ip: IpAddr,
        impairment: Impairment,
    ) -> io::Result<Self> {
        let front = Arc::new(UdpSocket::bind(listen).await?);
        let local_addr = front.local_addr()?;
        let counters = Arc::new(ImpairmentCounters::default());
        let shaper = Arc::new(Shaper {
            counters: Arc::clone(&counters),
            upstream_fate: Mutex::new(Fate::new(impairment, 1)),
            downstream_fate: Mutex::new(Fate::new(impairment, 2)),
        });
        let task = tokio::spawn(async move {
            if let Err(e) = relay(front, upstream, impaired_ip, shaper).await {
                tracing::warn!(error = %e, "impairing relay stopped");
            }
        });
        Ok(Self {
            counters,
            local_addr,
            task,
        })
    }

    /// Where clients send (the SFU's advertised candidate address).
    #[must_use]
    pub const fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }
}

impl Drop for ImpairingRelay {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// One client's way to the SFU: its own socket, so the SFU sees one address per client.
struct Link {
    to_sfu: Arc<UdpSocket>,
    impaired: bool,
}

async fn relay(
    front: Arc<UdpSocket>,
    upstream: SocketAddr,
    impaired_ip: IpAddr,
    shaper: Arc<Shaper>,
) -> io::Result<()> {
    let mut links: HashMap<SocketAddr, Link> = HashMap::new();
    // Owns the return paths: aborting the relay aborts them.
    let mut returns = JoinSet::new();
    let mut buf = vec![0u8; MAX_DATAGRAM];
    loop {
        let (len, client) = front.recv_from(&mut buf).await?;
        let link = match links.get(&client) {
            Some(link) => link,
            None => {
                let to_sfu = UdpSocket::bind(SocketAddr::new(upstream.ip(), 0)).await?;
                to_sfu.connect(upstream).await?;
                let link = Link {
                    to_sfu: Arc::new(to_sfu),
                    impaired: client.ip() == impaired_ip,
                };
                returns.spawn(return_path(
                    Arc::clone(&link.to_sfu),
                    Arc::clone(&front),
                    client,
                    link.impaired.then(|| Arc::clone(&shaper)),
                ));
                links.entry(client).or_insert(link)
            }
        };
        if link.impaired {
            shaper.pass(&shaper.upstream_fate, &link.to_sfu, None, &buf[..len]);
        } else {
            let _ = link.to_sfu.send(&buf[..len]).await;
        }
    }
}

/// Carries the SFU's datagrams for `client` back through the front socket.
async fn return_path(
    from_sfu: Arc<UdpSocket>,
    front: Arc<UdpSocket>,
    client: SocketAddr,
    shaper: Option<Arc<Shaper>>,
) {
    let mut buf = vec![0u8; MAX_DATAGRAM];
    loop {
        let len = match from_sfu.recv(&mut buf).await {
            Ok(len) => len,
            // ICMP "port unreachable" for an earlier datagram surfaces here once; the
            // socket stays usable. Any other error would repeat on every call: stop.
            Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => continue,
            Err(e) => {
                tracing::warn!(error = %e, %client, "impairing relay: return path stopped");
                return;
            }
        };
        match &shaper {
            Some(shaper) => shaper.pass(&shaper.downstream_fate, &front, Some(client), &buf[..len]),
            None => {
                let _ = front.send_to(&buf[..len], client).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fate(loss_percent: f64) -> Fate {
        Fate::new(
            Impairment {
                loss_percent,
                delay: Duration::from_millis(50),
                jitter: Duration::from_millis(50),
                seed: 7,
            },
            1,
        )
    }

    #[test]
    fn drops_about_the_share_asked_for_and_delays_within_the_jitter() {
        let mut fate = fate(5.0);
        let draws: Vec<Option<Duration>> = (0..100_000).map(|_| fate.draw()).collect();
        let dropped = draws.iter().filter(|d| d.is_none()).count();
        assert!(
            (4_500..5_500).contains(&dropped),
            "dropped {dropped} of 100000"
        );
        let delays: Vec<Duration> = draws.into_iter().flatten().collect();
        assert!(delays.iter().all(|d| *d <= Duration::from_millis(100)));
        let mean = delays.iter().sum::<Duration>() / u32::try_from(delays.len()).unwrap();
        assert!(
            (Duration::from_millis(48)..Duration::from_millis(52)).contains(&mean),
            "mean delay {mean:?}"
        );
        assert!(delays.iter().any(|d| *d < Duration::from_millis(5)));
        assert!(delays.iter().any(|d| *d > Duration::from_millis(95)));
    }

    #[test]
    fn the_same_seed_draws_the_same_fates() {
        let (mut a, mut b) = (fate(5.0), fate(5.0));
        for _ in 0..1_000 {
            assert_eq!(a.draw(), b.draw());
        }
    }

    async fn relay_to(server: &UdpSocket, impaired_ip: &str, loss_percent: f64) -> ImpairingRelay {
        ImpairingRelay::start(
            "127.0.0.1:0".parse().unwrap(),
            server.local_addr().unwrap(),
            impaired_ip.parse().unwrap(),
            Impairment {
                loss_percent,
                delay: Duration::from_millis(1),
                jitter: Duration::ZERO,
                seed: 1,
            },
        )
        .await
        .unwrap()
    }

    #[tokio::test]
    async fn relays_other_clients_both_ways_byte_exact() {
        let server = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        // Everything from the impaired address would be dropped; this client is not it.
        let relay = relay_to(&server, "127.0.0.9", 100.0).await;
        let client = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        client.send_to(b"offer", relay.local_addr()).await.unwrap();
        let mut buf = [0u8; 64];
        let (len, via) = server.recv_from(&mut buf).await.unwrap();
        assert_eq!(&buf[..len], b"offer");
        assert_ne!(
            via,
            client.local_addr().unwrap(),
            "the SFU sees the relay's socket"
        );
        server.send_to(b"answer", via).await.unwrap();
        let (len, from) = client.recv_from(&mut buf).await.unwrap();
        assert_eq!((&buf[..len], from), (&b"answer"[..], relay.local_addr()));
        assert_eq!(relay.counters.dropped.load(Ordering::Relaxed), 0);
    }

    #[tokio::test]
    async fn impairs_the_chosen_client_in_both_directions() {
        let server = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let relay = relay_to(&server, "127.0.0.1", 0.0).await;
        let client = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        client.send_to(b"up", relay.local_addr()).await.unwrap();
        let mut buf = [0u8; 64];
        let (_, via) = server.recv_from(&mut buf).await.unwrap();
        server.send_to(b"down", via).await.unwrap();
        client.recv_from(&mut buf).await.unwrap();
        assert_eq!(relay.counters.delivered.load(Ordering::Relaxed), 2);
        assert!(relay.counters.mean_delay() >= Duration::from_millis(1));

        let dropping = relay_to(&server, "127.0.0.1", 100.0).await;
        for _ in 0..3 {
            client
                .send_to(b"lost", dropping.local_addr())
                .await
                .unwrap();
        }
        crate::wait::until("three drops", crate::wait::DEADLINE, || {
            dropping.counters.dropped.load(Ordering::Relaxed) == 3
        })
        .await;
        assert_eq!(dropping.counters.delivered.load(Ordering::Relaxed), 0);
    }
}
