//! What a worker can be told, and how it reacts to each message.

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use str0m::net::{Protocol, Receive};
use str0m::Input;

use crate::directory::Route;
use crate::early::EarlyDatagram;
use crate::packet::MediaPacket;
use crate::tcp::TcpLink;
use crate::worker::{NewPeer, Worker};
use crate::SessionId;

/// Everything a worker can be told.
pub(crate) enum WorkerMsg {
    /// A datagram for one of this worker's peers.
    Datagram {
        session: SessionId,
        proto: Protocol,
        source: SocketAddr,
        destination: SocketAddr,
        data: Vec<u8>,
        at: Instant,
    },
    /// A TCP connection now carries this peer's ICE: answers to `remote` go to `link`.
    TcpAttach {
        session: SessionId,
        remote: SocketAddr,
        link: TcpLink,
    },
    AddPeer(Box<NewPeer>),
    ClosePeer(SessionId),
    /// Where a camera's peers live now.
    Route {
        camera: Arc<str>,
        route: Route,
    },
    /// A packet from a publisher on another worker.
    Media {
        camera: Arc<str>,
        packet: Arc<MediaPacket>,
    },
    /// The publisher worker's key-frame cache, sent before any `Media` to a new worker.
    CacheSnapshot {
        camera: Arc<str>,
        /// The route epoch it was sent for.
        epoch: u64,
        packets: Vec<Arc<MediaPacket>>,
    },
    /// A subscriber elsewhere needs a key frame (sent to the publisher's worker).
    KeyframeWanted {
        camera: Arc<str>,
    },
    InjectPanic(SessionId),
    /// Test hook: block the worker this long, as an overloaded worker would be.
    InjectStall(Duration),
    Shutdown,
}

impl Worker {
    /// Act on one message.
    pub(crate) fn handle(&mut self, msg: WorkerMsg) {
        if matches!(msg, WorkerMsg::Datagram { .. } | WorkerMsg::Media { .. }) {
            if let Some(depth) = self.shared.backlog.get(self.index) {
                depth.fetch_sub(1, Ordering::Relaxed);
            }
        }
        match msg {
            WorkerMsg::Datagram {
                session,
                proto,
                source,
                destination,
                data,
                at,
            } => self.on_datagram(session, proto, source, destination, &data, at),
            WorkerMsg::TcpAttach {
                session,
                remote,
                link,
            } => {
                if let Some(peer) = self.peers.get_mut(&session) {
                    peer.attach_tcp(remote, link);
                }
            }
            WorkerMsg::AddPeer(new) => self.add_peer(*new),
            WorkerMsg::ClosePeer(session) => {
                self.drive(session, |peer| {
                    peer.rtc.disconnect();
                    Ok(())
                });
                self.remove_peer(session);
            }
            WorkerMsg::Route { camera, route } => self.on_route(&camera, &route),
            WorkerMsg::Media { camera, packet } => self.fan_out(&camera, &packet, false),
            WorkerMsg::CacheSnapshot {
                camera,
                epoch,
                packets,
            } => self.on_snapshot(&camera, epoch, &packets),
            WorkerMsg::KeyframeWanted { camera } => self.request_keyframe(&camera),
            WorkerMsg::InjectPanic(session) => {
                self.drive(session, |_| panic!("injected panic (test hook)"));
            }
            WorkerMsg::InjectStall(duration) => std::thread::sleep(duration),
            WorkerMsg::Shutdown => {}
        }
    }

    /// One datagram for peer `session`, received at `at`.
    pub(crate) fn on_datagram(
        &mut self,
        session: SessionId,
        proto: Protocol,
        source: SocketAddr,
        destination: SocketAddr,
        data: &[u8],
        at: Instant,
    ) {
        let driven = self.drive(session, |peer| {
            let Ok(contents) = data.try_into() else {
                return Ok(());
            };
            let input = Input::Receive(
                at,
                Receive {
                    proto,
                    source,
                    destination,
                    contents,
                },
            );
            if peer.rtc.accepts(&input) {
                peer.rtc.handle_input(input)?;
            }
            Ok(())
        });
        if !driven {
            // Routed, so the peer is on its way to this worker (or was just closed).
            self.early.keep(EarlyDatagram {
                session,
                proto,
                source,
                destination,
                data: data.to_vec(),
                at,
            });
        }
    }
}
