//! A WebSocket proxy in front of signaling that records every message, both ways.
//!
//! Camera agent and viewers connect to the proxy instead of signaling; each connection is
//! paired with its own upstream connection. Every text or binary message is recorded
//! before it is forwarded, so a test can search everything signaling relayed (and
//! everything it was sent). Recording happens at the message level, after WebSocket
//! framing and masking, which is where payload bytes would be readable. Pings stay on
//! each hop (tungstenite answers them), so the idle timers of both ends still work.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, PoisonError};

use futures_util::{SinkExt as _, StreamExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;

/// Which way a recorded message went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// From a client (agent or viewer) to signaling.
    ToServer,
    /// From signaling to a client.
    ToClient,
}

/// One message as it crossed the proxy.
#[derive(Clone, Debug)]
pub struct Relayed {
    /// Its direction.
    pub direction: Direction,
    /// The message's bytes (UTF-8 JSON for text messages).
    pub bytes: Vec<u8>,
}

type Log = Arc<Mutex<Vec<Relayed>>>;

/// A running proxy; dropping it stops accepting (open connections end with their peers).
#[derive(Debug)]
pub struct RecordingProxy {
    addr: SocketAddr,
    log: Log,
    accept: JoinHandle<()>,
}

impl RecordingProxy {
    /// Listens on 127.0.0.1 (port 0) and forwards every connection to `upstream`
    /// (a `ws://…/ws` URL).
    ///
    /// # Errors
    /// The listener's bind error.
    pub async fn start(upstream: String) -> std::io::Result<Self> {
        let listener =
            TcpListener::bind(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0)).await?;
        let addr = listener.local_addr()?;
        let log = Log::default();
        let accept = tokio::spawn(accept_loop(listener, upstream, Arc::clone(&log)));
        Ok(Self { addr, log, accept })
    }

    /// The URL clients use instead of signaling's.
    #[must_use]
    pub fn url(&self) -> String {
        format!("ws://{}/ws", self.addr)
    }

    /// Everything recorded so far, in arrival order per direction.
    #[must_use]
    pub fn recorded(&self) -> Vec<Relayed> {
        self.log
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl Drop for RecordingProxy {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

async fn accept_loop(listener: TcpListener, upstream: String, log: Log) {
    while let Ok((stream, _)) = listener.accept().await {
        tokio::spawn(relay(stream, upstream.clone(), Arc::clone(&log)));
    }
}

/// One client connection: handshake both sides, then copy each way until either ends.
async fn relay(stream: TcpStream, upstream: String, log: Log) {
    let Ok(client) = tokio_tungstenite::accept_async(stream).await else {
        return;
    };
    let Ok((server, _)) = tokio_tungstenite::connect_async(upstream.as_str()).await else {
        return;
    };
    let (mut client_tx, mut client_rx) = client.split();
    let (mut server_tx, mut server_rx) = server.split();
    let up = {
        let log = Arc::clone(&log);
        async move {
            while let Some(Ok(message)) = client_rx.next().await {
                if !forward(&log, Direction::ToServer, message, &mut server_tx).await {
                    break;
                }
            }
            let _ = server_tx.close().await;
        }
    };
    let down = async move {
        while let Some(Ok(message)) = server_rx.next().await {
            if !forward(&log, Direction::ToClient, message, &mut client_tx).await {
                break;
            }
        }
        let _ = client_tx.close().await;
    };
    tokio::join!(up, down);
}

/// Records and forwards one message; false once the connection is over.
async fn forward<S>(log: &Log, direction: Direction, message: Message, to: &mut S) -> bool
where
    S: futures_util::Sink<Message> + Unpin,
{
    let bytes = match &message {
        Message::Text(text) => text.as_bytes().to_vec(),
        Message::Binary(data) => data.to_vec(),
        Message::Close(_) => {
            let _ = to.send(message).await;
            return false;
        }
        // Each hop answers its own pings.
        Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => return true,
    };
    log.lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(Relayed { direction, bytes });
    to.send(message).await.is_ok()
}
