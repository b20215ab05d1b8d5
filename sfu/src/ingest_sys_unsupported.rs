//! Where `eventfd(2)`, `ppoll(2)` and `SO_TIMESTAMPNS` are not available, the only worker does not read the
//! port itself: the router task does, as it does for several workers.

use std::io;
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::os::fd::{OwnedFd, RawFd};
use std::time::{Duration, SystemTime};

pub(crate) fn eventfd() -> io::Result<OwnedFd> {
    Err(io::ErrorKind::Unsupported.into())
}

pub(crate) fn signal(_fd: &OwnedFd) {}

pub(crate) fn drain(_fd: &OwnedFd) {}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Readable {
    pub(crate) socket: bool,
    pub(crate) wake: bool,
}

pub(crate) fn wait_readable(
    _socket: RawFd,
    _wake: RawFd,
    _timeout: Duration,
) -> io::Result<Readable> {
    Err(io::ErrorKind::Unsupported.into())
}

pub(crate) fn enable_receive_timestamps(_socket: &impl AsRawFd) -> io::Result<()> {
    Err(io::ErrorKind::Unsupported.into())
}

pub(crate) fn recv_stamped(
    _socket: &impl AsRawFd,
    _buf: &mut [u8],
) -> io::Result<(usize, SocketAddr, Option<SystemTime>)> {
    Err(io::ErrorKind::Unsupported.into())
}
