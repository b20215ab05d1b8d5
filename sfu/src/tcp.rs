//! ICE-TCP fallback (RFC 6544): a passive TCP candidate on the same port number as
//! the UDP one, for viewers whose network blocks UDP. Each connection carries STUN,
//! DTLS, RTP and RTCP framed as RFC 4571 describes: a 16-bit big-endian length, then
//! the packet.
//!
//! A connection's reader hands each frame to the router, which routes it exactly like
//! a UDP datagram (by the ICE ufrag of its first STUN request). The router gives the
//! owning worker a [`TcpLink`] to the connection's writer, through which the peer's
//! answers go back.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, Semaphore};

use crate::stun;

/// Packets queued towards one TCP connection before new ones are dropped (a viewer on a
/// link this slow loses packets, as on UDP; NACK and PLI repair).
const LINK_QUEUE: usize = 1024;
/// Open TCP connections accepted at once (each costs two tasks and buffers).
const MAX_CONNECTIONS: usize = 4096;
/// A connection must send its first STUN request within this time.
const FIRST_FRAME_TIMEOUT: Duration = Duration::from_secs(10);

/// Where a worker writes packets for one TCP connection.
pub(crate) type TcpLink = mpsc::Sender<Vec<u8>>;

/// One framed packet read from a connection.
#[derive(Debug)]
pub(crate) struct TcpFrame {
    pub(crate) source: SocketAddr,
    pub(crate) data: Vec<u8>,
    pub(crate) link: TcpLink,
}

/// RFC 4571 framing of one packet; `None` when it cannot be framed (over 65535 bytes).
pub(crate) fn frame(packet: &[u8]) -> Option<Vec<u8>> {
    let len = u16::try_from(packet.len()).ok()?;
    let mut framed = Vec::with_capacity(packet.len() + 2);
    framed.extend_from_slice(&len.to_be_bytes());
    framed.extend_from_slice(packet);
    Some(framed)
}

/// Accept connections until the task is aborted.
pub(crate) async fn serve(listener: TcpListener, frames: mpsc::Sender<TcpFrame>) {
    let permits = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    loop {
        let Ok(permit) = Arc::clone(&permits).acquire_owned().await else {
            return;
        };
        match listener.accept().await {
            Ok((stream, remote)) => {
                let frames = frames.clone();
                tokio::spawn(async move {
                    connection(stream, remote, frames).await;
                    drop(permit);
                });
            }
            // Out of descriptors and the like: back off instead of spinning.
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
}

async fn connection(stream: TcpStream, remote: SocketAddr, frames: mpsc::Sender<TcpFrame>) {
    let _ = stream.set_nodelay(true);
    let (read_half, mut write_half) = stream.into_split();
    let (link, mut outgoing) = mpsc::channel::<Vec<u8>>(LINK_QUEUE);
    let writer = tokio::spawn(async move {
        while let Some(framed) = outgoing.recv().await {
            if write_half.write_all(&framed).await.is_err() {
                return;
            }
        }
    });
    let mut reader = BufReader::new(read_half);
    let mut first = true;
    loop {
        let read = read_frame(&mut reader);
        let packet = if first {
            // Only a STUN request may open the conversation, and promptly.
            match tokio::time::timeout(FIRST_FRAME_TIMEOUT, read).await {
                Ok(Some(packet)) if stun::is_stun(&packet) => packet,
                _ => break,
            }
        } else {
            // An idle connection must not outlive the SFU: stop when the router is gone.
            tokio::select! {
                packet = read => match packet {
                    Some(packet) => packet,
                    None => break,
                },
                () = frames.closed() => break,
            }
        };
        first = false;
        let frame = TcpFrame {
            source: remote,
            data: packet,
            link: link.clone(),
        };
        if frames.send(frame).await.is_err() {
            break;
        }
    }
    writer.abort();
}

/// Read one RFC 4571 frame; `None` at end of stream or on a read error.
async fn read_frame<R: AsyncReadExt + Unpin>(reader: &mut R) -> Option<Vec<u8>> {
    loop {
        let len = usize::from(reader.read_u16().await.ok()?);
        if len == 0 {
            continue; // an empty frame carries nothing
        }
        let mut packet = vec![0u8; len];
        reader.read_exact(&mut packet).await.ok()?;
        return Some(packet);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn frames_round_trip_and_truncation_ends_the_stream() {
        let packets: Vec<Vec<u8>> = vec![vec![1, 2, 3], vec![], vec![9; 1500]];
        let mut wire = Vec::new();
        for p in &packets {
            wire.extend(frame(p).expect("frameable"));
        }
        wire.extend_from_slice(&[0x00, 0x05, 1, 2]); // a truncated last frame
        let mut reader = &wire[..];
        assert_eq!(read_frame(&mut reader).await, Some(vec![1, 2, 3]));
        // The empty frame is skipped.
        assert_eq!(read_frame(&mut reader).await, Some(vec![9; 1500]));
        assert_eq!(read_frame(&mut reader).await, None);
        assert!(frame(&vec![0; 70_000]).is_none());
    }
}
