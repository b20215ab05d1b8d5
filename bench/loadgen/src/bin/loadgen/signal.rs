//! A Sealcam signaling client over WebSocket (the protocol crate's messages): hello, one
//! request and its answer, then a keep-alive task that answers pings so the session (and
//! with it the media subscription) stays open.

use anyhow::{bail, Context as _};
use futures_util::{SinkExt as _, StreamExt as _};
use protocol::{AccessToken, ClientMessage, Hello, ServerMessage, PROTOCOL_VERSION};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// How long any single signaling step may take on a loaded machine.
const STEP: Duration = Duration::from_secs(20);

/// Bytes the WebSocket reads at a time; longer messages still arrive whole.
const READ_BUFFER: usize = 4096;

/// An authenticated signaling session.
#[derive(Debug)]
pub(crate) struct Signal {
    ws: Ws,
}

impl Signal {
    /// Connects to `ws://addr/ws` and authenticates with `token`.
    pub(crate) async fn connect(addr: SocketAddr, token: &str) -> anyhow::Result<Self> {
        let url = format!("ws://{addr}/ws");
        // Nagle off, as a browser has it. A small read buffer: tungstenite's default of
        // 128 KiB, allocated per connection, was a fifth of a viewer's heap here, and
        // signaling's messages are a few KiB (signaling reads with 4 KiB too).
        let config = WebSocketConfig::default().read_buffer_size(READ_BUFFER);
        let connect = tokio_tungstenite::connect_async_with_config(url, Some(config), true);
        let (ws, _) = tokio::time::timeout(STEP, connect)
            .await
            .context("signaling connect timed out")?
            .context("signaling connect failed")?;
        let mut signal = Self { ws };
        let hello = ClientMessage::Hello(Hello {
            version: PROTOCOL_VERSION,
            token: AccessToken::new(token.to_owned()),
        });
        match signal.request(&hello).await? {
            ServerMessage::Welcome(_) => Ok(signal),
            other => bail!("expected welcome, got {}", other.kind()),
        }
    }

    /// Sends `message` and returns the first answer that is not presence or keep-alive.
    pub(crate) async fn request(
        &mut self,
        message: &ClientMessage,
    ) -> anyhow::Result<ServerMessage> {
        self.ws
            .send(Message::text(message.to_json()))
            .await
            .context("signaling send failed")?;
        tokio::time::timeout(STEP, self.next_answer())
            .await
            .context("no answer from signaling")?
    }

    async fn next_answer(&mut self) -> anyhow::Result<ServerMessage> {
        loop {
            let Some(frame) = self.ws.next().await else {
                bail!("signaling closed the connection");
            };
            let Message::Text(text) = frame.context("signaling read failed")? else {
                continue;
            };
            match ServerMessage::from_json(&text).context("bad server message")? {
                ServerMessage::CameraStatus(_) => {}
                ServerMessage::Ping => self.pong().await?,
                ServerMessage::Error(e) => bail!("signaling error {:?}: {}", e.code, e.message),
                other => return Ok(other),
            }
        }
    }

    async fn pong(&mut self) -> anyhow::Result<()> {
        self.ws
            .send(Message::text(ClientMessage::Pong.to_json()))
            .await
            .context("signaling send failed")
    }

    /// Keeps the session open (answering pings) until `stop` flips, then closes it.
    pub(crate) fn keep_alive(mut self, mut stop: watch::Receiver<bool>) {
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = stop.changed() => break,
                    frame = self.ws.next() => match frame {
                        Some(Ok(Message::Text(text))) => {
                            if matches!(ServerMessage::from_json(&text), Ok(ServerMessage::Ping))
                                && self.pong().await.is_err()
                            {
                                return;
                            }
                        }
                        Some(Ok(_)) => {}
                        Some(Err(_)) | None => return,
                    },
                }
            }
            let _ = self.ws.close(None).await;
        });
    }
}
