//! A bare WebSocket client over TCP that never answers pings (tungstenite always does),
//! to test the server's idle timeout, and that can send frames no well-behaved library
//! would (invalid UTF-8 text, frames over the transport cap).

use std::net::SocketAddr;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

pub struct RawClient {
    stream: TcpStream,
}

/// Opcodes of RFC 6455 §5.2.
pub const TEXT: u8 = 0x1;
pub const BINARY: u8 = 0x2;
const CLOSE: u8 = 0x8;

impl RawClient {
    pub async fn connect(addr: SocketAddr) -> Self {
        Self::upgrade(TcpStream::connect(addr).await.expect("connect"), addr).await
    }

    /// As [`RawClient::connect`], with a tiny kernel receive buffer: a client that stops
    /// reading then backs up the server's writes quickly.
    pub async fn connect_with_small_buffer(addr: SocketAddr) -> Self {
        let socket = tokio::net::TcpSocket::new_v4().expect("socket");
        socket.set_recv_buffer_size(4096).expect("SO_RCVBUF");
        Self::upgrade(socket.connect(addr).await.expect("connect"), addr).await
    }

    async fn upgrade(mut stream: TcpStream, addr: SocketAddr) -> Self {
        let request = format!(
            "GET /ws HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        );
        stream.write_all(request.as_bytes()).await.expect("write");
        // Read the 101 response head byte by byte so no frame bytes are consumed.
        let mut head = Vec::new();
        while !head.ends_with(b"\r\n\r\n") {
            head.push(stream.read_u8().await.expect("response head"));
        }
        assert!(
            head.starts_with(b"HTTP/1.1 101"),
            "{}",
            String::from_utf8_lossy(&head)
        );
        Self { stream }
    }

    /// Sends one masked text frame.
    pub async fn send_text(&mut self, text: &str) {
        self.send_frame(TEXT, text.as_bytes()).await;
    }

    /// Sends one masked frame with any opcode and payload (clients must mask, RFC 6455
    /// §5.3). A write error is returned, not a panic: the server may already have cut us.
    pub async fn try_send_frame(&mut self, opcode: u8, payload: &[u8]) -> std::io::Result<()> {
        let mask = [0x12, 0x34, 0x56, 0x78];
        let mut frame = vec![0x80 | opcode];
        match payload.len() {
            len @ 0..=125 => frame.push(0x80 | u8::try_from(len).expect("< 126")),
            len @ 126..=0xffff => {
                frame.push(0x80 | 126);
                frame.extend_from_slice(&u16::try_from(len).expect("fits").to_be_bytes());
            }
            len => {
                frame.push(0x80 | 127);
                frame.extend_from_slice(&u64::try_from(len).expect("fits").to_be_bytes());
            }
        }
        frame.extend_from_slice(&mask);
        frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
        self.stream.write_all(&frame).await
    }

    pub async fn send_frame(&mut self, opcode: u8, payload: &[u8]) {
        self.try_send_frame(opcode, payload)
            .await
            .expect("write frame");
    }

    /// Reads and discards until the server closes the TCP connection (EOF or reset).
    pub async fn until_disconnected(&mut self) {
        let mut buf = [0u8; 4096];
        loop {
            match self.stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    }

    /// The next text frame (pings skipped, unanswered).
    pub async fn next_text(&mut self) -> String {
        loop {
            let (opcode, payload) = self.read_frame().await;
            if opcode == TEXT {
                return String::from_utf8(payload).expect("utf-8");
            }
        }
    }

    async fn read_frame(&mut self) -> (u8, Vec<u8>) {
        let first = self.stream.read_u8().await.expect("frame header");
        let len = match self.stream.read_u8().await.expect("length") & 0x7f {
            126 => u64::from(self.stream.read_u16().await.expect("len16")),
            127 => self.stream.read_u64().await.expect("len64"),
            n => u64::from(n),
        };
        let mut payload = vec![0; usize::try_from(len).expect("fits")];
        self.stream.read_exact(&mut payload).await.expect("payload");
        (first & 0x0f, payload)
    }

    /// Text frames received until the server's close frame, skipping pings unanswered.
    pub async fn texts_until_close(&mut self) -> Vec<String> {
        let mut texts = Vec::new();
        loop {
            match self.read_frame().await {
                (TEXT, payload) => texts.push(String::from_utf8(payload).expect("utf-8")),
                (CLOSE, _) => return texts,
                _ => {}
            }
        }
    }
}
