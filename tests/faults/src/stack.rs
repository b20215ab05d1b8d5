//! Signaling with the SFU embedded, in this process, on fixed addresses so it can be
//! stopped and started again where clients expect it: to a camera or a viewer this is
//! exactly a restart of the `signaling` process (which embeds the SFU).

use protocol::Role;
use signaling::{
    DrainOutcome, EmbeddedSfu, Server, ServerConfig, ShutdownHandle, TokenAuthority, TokenSecret,
};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinHandle;

/// The token secret every stack in these tests shares.
pub const SECRET: [u8; 32] = [0x3c; 32];

/// Knobs a fault test turns.
#[derive(Debug, Clone)]
pub struct StackOptions {
    /// Where signaling listens; port 0 on first start, then the bound port on restart.
    pub http: SocketAddr,
    /// Where the SFU binds its UDP socket.
    pub udp: SocketAddr,
    /// Address put in ICE candidates (the namespace-facing address in netns tests).
    pub public_ip: Option<IpAddr>,
    /// Signaling's idle timeout (and ping interval, a third of it).
    pub idle_timeout: Duration,
}

impl Default for StackOptions {
    fn default() -> Self {
        let localhost = IpAddr::V4(Ipv4Addr::LOCALHOST);
        Self {
            http: SocketAddr::new(localhost, 0),
            udp: SocketAddr::new(localhost, 0),
            public_ip: None,
            idle_timeout: Duration::from_secs(60),
        }
    }
}

/// A running signaling server with its embedded SFU.
#[derive(Debug)]
pub struct Stack {
    options: StackOptions,
    http: SocketAddr,
    sfu: sfu::Sfu,
    shutdown: ShutdownHandle,
    server: JoinHandle<DrainOutcome>,
}

impl Stack {
    /// Starts SFU and signaling.
    ///
    /// # Panics
    /// When an address cannot be bound.
    pub async fn start(options: StackOptions) -> Self {
        let sfu = start_sfu(&options).await;
        let mut config = ServerConfig::local(TokenSecret::new(SECRET.to_vec()).expect("secret"));
        config.listen = options.http;
        config.idle_timeout = options.idle_timeout;
        config.ping_interval = options.idle_timeout / 3;
        let server = Server::bind(config, Arc::new(EmbeddedSfu::new(sfu.handle())))
            .await
            .expect("signaling binds");
        let http = server.local_addr();
        let shutdown = server.shutdown_handle();
        let options = StackOptions {
            http,
            udp: sfu.local_addr(),
            ..options
        };
        Self {
            options,
            http,
            sfu,
            shutdown,
            server: tokio::spawn(server.run()),
        }
    }

    /// The WebSocket URL.
    #[must_use]
    pub fn url(&self) -> String {
        format!("ws://{}/ws", self.http)
    }

    /// The SFU's UDP socket address.
    #[must_use]
    pub const fn udp_addr(&self) -> SocketAddr {
        self.options.udp
    }

    /// The HTTP address.
    #[must_use]
    pub const fn http_addr(&self) -> SocketAddr {
        self.http
    }

    /// Drains signaling and stops the SFU, as a SIGTERM to the process would.
    pub async fn stop(self) -> StackOptions {
        self.shutdown.shutdown();
        let _ = self.server.await;
        self.sfu.shutdown().await;
        self.options
    }

    /// Stops, then starts again on the same addresses.
    pub async fn restart(self) -> Self {
        let options = self.stop().await;
        Self::start(options).await
    }
}

/// Starts the SFU on `options.udp`. On a restart the old SFU's sockets may still be
/// closing for a moment after its shutdown returned (seen as `AddrInUse` about one run in
/// five on a loaded machine): binding is retried until the deadline.
async fn start_sfu(options: &StackOptions) -> sfu::Sfu {
    let deadline = tokio::time::Instant::now() + crate::wait::DEADLINE;
    loop {
        let started = sfu::Sfu::start(sfu::SfuConfig {
            bind: options.udp,
            public_ip: options.public_ip,
            workers: 1,
            ..sfu::SfuConfig::default()
        })
        .await;
        match started {
            Ok(sfu) => return sfu,
            Err(sfu::SfuError::Io(e))
                if e.kind() == std::io::ErrorKind::AddrInUse
                    && tokio::time::Instant::now() < deadline =>
            {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("the SFU binds {}: {e:?}", options.udp),
        }
    }
}

/// Mints tokens with [`SECRET`].
#[must_use]
pub fn token(role: Role, camera: &str) -> String {
    TokenAuthority::new(&TokenSecret::new(SECRET.to_vec()).expect("secret"))
        .expect("authority")
        .mint(
            "fault-test",
            role,
            &[camera.to_owned()],
            Duration::from_secs(3600),
        )
        .expect("mint")
}

/// `GET /metrics` over a plain socket.
///
/// # Panics
/// When the server does not answer within the deadline.
pub async fn metrics_text(addr: SocketAddr) -> String {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let fetch = async {
        let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
        let request = format!("GET /metrics HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await.expect("write");
        let mut body = Vec::new();
        stream.read_to_end(&mut body).await.expect("read");
        String::from_utf8_lossy(&body).into_owned()
    };
    tokio::time::timeout(crate::wait::DEADLINE, fetch)
        .await
        .expect("metrics within the deadline")
}
