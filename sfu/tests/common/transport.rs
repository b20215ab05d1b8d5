//! How a test client's packets travel: a UDP socket, or one TCP connection carrying
//! RFC 4571 frames (ICE-TCP, RFC 6544, the client side being active).

#![allow(dead_code, unreachable_pub)]

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::time::Duration;

use str0m::net::Protocol;

/// A client's socket.
pub enum Transport {
    Udp(UdpSocket),
    Tcp(TcpLink),
}

/// A TCP connection to the SFU and the bytes read but not yet framed.
pub struct TcpLink {
    stream: TcpStream,
    inbox: Vec<u8>,
    peer: SocketAddr,
}

impl TcpLink {
    pub fn connect(to: SocketAddr) -> std::io::Result<Self> {
        let stream = TcpStream::connect(to)?;
        stream.set_nodelay(true)?;
        Ok(Self {
            stream,
            inbox: Vec::new(),
            peer: to,
        })
    }

    /// One complete frame from the inbox, if there is one.
    fn take_frame(&mut self, buf: &mut [u8]) -> Option<usize> {
        let len = usize::from(u16::from_be_bytes([
            *self.inbox.first()?,
            *self.inbox.get(1)?,
        ]));
        let packet = self.inbox.get(2..2 + len)?;
        let n = len.min(buf.len());
        buf[..n].copy_from_slice(&packet[..n]);
        self.inbox.drain(..2 + len);
        Some(n)
    }
}

impl Transport {
    pub fn local_addr(&self) -> SocketAddr {
        match self {
            Self::Udp(socket) => socket.local_addr().expect("local address"),
            Self::Tcp(link) => link.stream.local_addr().expect("local address"),
        }
    }

    pub fn proto(&self) -> Protocol {
        match self {
            Self::Udp(_) => Protocol::Udp,
            Self::Tcp(_) => Protocol::Tcp,
        }
    }

    /// Send one packet; errors are loss, as on the network.
    pub fn send(&mut self, packet: &[u8], to: SocketAddr) {
        match self {
            Self::Udp(socket) => {
                let _ = socket.send_to(packet, to);
            }
            Self::Tcp(link) => {
                let Ok(len) = u16::try_from(packet.len()) else {
                    return;
                };
                let mut framed = len.to_be_bytes().to_vec();
                framed.extend_from_slice(packet);
                let _ = link.stream.write_all(&framed);
            }
        }
    }

    /// Receive one packet, waiting at most `wait` (then `WouldBlock` or `TimedOut`).
    pub fn recv(&mut self, buf: &mut [u8], wait: Duration) -> std::io::Result<(usize, SocketAddr)> {
        match self {
            Self::Udp(socket) => {
                socket.set_read_timeout(Some(wait))?;
                socket.recv_from(buf)
            }
            Self::Tcp(link) => loop {
                if let Some(n) = link.take_frame(buf) {
                    return Ok((n, link.peer));
                }
                link.stream.set_read_timeout(Some(wait))?;
                let mut chunk = [0u8; 4096];
                match link.stream.read(&mut chunk)? {
                    0 => return Err(ErrorKind::ConnectionAborted.into()),
                    n => link.inbox.extend_from_slice(&chunk[..n]),
                }
            },
        }
    }
}
