//! Signaling over WebSocket, as the tests speak it: JSON text frames from the `protocol`
//! crate. Two clients, because tests want two things:
//!
//! * [`TestClient`]: for tests *of* signaling — every step is an assertion (a message
//!   within the deadline, valid JSON from the server), so a failure names what broke;
//! * [`ViewerWs`]: a viewer device's session — errors are values, because a viewer role
//!   that survives restarts reconnects on them instead of failing.

mod test_client;
mod viewer;

pub use test_client::{assert_error, TestClient};
pub use viewer::ViewerWs;

use futures_util::StreamExt as _;
use protocol::{ProtocolError, ServerMessage};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// The next text frame, parsed; `None` once the connection closed or failed. Ping and pong
/// are answered by tungstenite itself and skipped here. Cancel-safe: the only await is the
/// stream's `next`.
async fn next_parsed(ws: &mut Socket) -> Option<Result<ServerMessage, ProtocolError>> {
    loop {
        match ws.next().await? {
            Ok(Message::Text(text)) => return Some(ServerMessage::from_json(text.as_str())),
            Ok(Message::Close(_)) | Err(_) => return None,
            Ok(_) => {}
        }
    }
}
