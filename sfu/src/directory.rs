//! Which sessions exist, which camera they belong to and which worker owns them.
//!
//! Control path only (publish, subscribe, close, peer gone): guarded by a mutex in the
//! handle. The packet path never touches it; workers learn routes through messages.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use crate::session::Side;
use crate::{SessionId, SfuError};

/// Where a camera's peers live: the workers that must see its packets.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Route {
    pub(crate) publisher_worker: Option<usize>,
    pub(crate) subscriber_workers: Vec<usize>,
    /// Increases with every route computed, so a worker can tell a cache snapshot sent
    /// for this route from one sent for an older route (messages from different workers
    /// are not ordered with each other).
    pub(crate) epoch: u64,
}

#[derive(Clone, Debug)]
pub(crate) struct Entry {
    pub(crate) camera: Arc<str>,
    pub(crate) side: Side,
    pub(crate) worker: usize,
}

#[derive(Debug, Default)]
struct CameraPeers {
    publisher: Option<SessionId>,
    subscribers: HashSet<SessionId>,
}

/// The session table.
#[derive(Debug, Default)]
pub(crate) struct Directory {
    sessions: HashMap<SessionId, Entry>,
    cameras: HashMap<Arc<str>, CameraPeers>,
    epoch: u64,
}

impl Directory {
    /// True when `camera` has a publisher.
    pub(crate) fn is_publishing(&self, camera: &str) -> bool {
        self.cameras
            .get(camera)
            .is_some_and(|c| c.publisher.is_some())
    }

    /// Record a new session; returns the camera's new route.
    pub(crate) fn add(
        &mut self,
        session: SessionId,
        entry: Entry,
    ) -> Result<(Arc<str>, Route), SfuError> {
        let peers = self.cameras.entry(Arc::clone(&entry.camera)).or_default();
        match entry.side {
            Side::Publisher if peers.publisher.is_some() => {
                return Err(SfuError::CameraAlreadyPublishing)
            }
            Side::Publisher => peers.publisher = Some(session),
            Side::Subscriber => {
                peers.subscribers.insert(session);
            }
        }
        let camera = Arc::clone(&entry.camera);
        self.sessions.insert(session, entry);
        let route = self.route(&camera);
        Ok((camera, route))
    }

    /// Forget a session; returns what it was and the camera's new route.
    pub(crate) fn remove(&mut self, session: SessionId) -> Option<(Entry, Route)> {
        let entry = self.sessions.remove(&session)?;
        if let Some(peers) = self.cameras.get_mut(&entry.camera) {
            if peers.publisher == Some(session) {
                peers.publisher = None;
            }
            peers.subscribers.remove(&session);
            if peers.publisher.is_none() && peers.subscribers.is_empty() {
                self.cameras.remove(&entry.camera);
            }
        }
        let route = self.route(&entry.camera);
        Some((entry, route))
    }

    /// The worker owning `session`.
    pub(crate) fn worker_of(&self, session: SessionId) -> Option<usize> {
        self.sessions.get(&session).map(|e| e.worker)
    }

    /// Every session (used at shutdown).
    pub(crate) fn sessions(&self) -> Vec<SessionId> {
        self.sessions.keys().copied().collect()
    }

    fn route(&mut self, camera: &str) -> Route {
        self.epoch += 1;
        let epoch = self.epoch;
        let Some(peers) = self.cameras.get(camera) else {
            return Route {
                epoch,
                ..Route::default()
            };
        };
        let worker = |s: &SessionId| self.sessions.get(s).map(|e| e.worker);
        let subscriber_workers: BTreeSet<usize> =
            peers.subscribers.iter().filter_map(worker).collect();
        Route {
            publisher_worker: peers.publisher.as_ref().and_then(worker),
            subscriber_workers: subscriber_workers.into_iter().collect(),
            epoch,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(camera: &str, side: Side, worker: usize) -> Entry {
        Entry {
            camera: Arc::from(camera),
            side,
            worker,
        }
    }

    #[test]
    fn routes_follow_adds_and_removes() {
        let mut dir = Directory::default();
        let (_, r) = dir
            .add(SessionId(1), entry("cam", Side::Subscriber, 1))
            .expect("subscriber");
        assert_eq!(r.publisher_worker, None);
        assert_eq!(r.subscriber_workers, vec![1]);
        dir.add(SessionId(2), entry("cam", Side::Subscriber, 1))
            .expect("subscriber");
        let (_, r) = dir
            .add(SessionId(3), entry("cam", Side::Publisher, 0))
            .expect("publisher");
        assert_eq!(r.publisher_worker, Some(0));
        assert_eq!(r.subscriber_workers, vec![1]);
        assert!(dir.is_publishing("cam"));
        assert!(matches!(
            dir.add(SessionId(4), entry("cam", Side::Publisher, 1)),
            Err(SfuError::CameraAlreadyPublishing)
        ));
        let (gone, r) = dir.remove(SessionId(3)).expect("known");
        assert_eq!(gone.side, Side::Publisher);
        assert_eq!(r.publisher_worker, None);
        assert_eq!(dir.worker_of(SessionId(1)), Some(1));
        dir.remove(SessionId(1));
        let (_, last) = dir.remove(SessionId(2)).expect("known");
        assert_eq!(last.publisher_worker, None);
        assert!(last.subscriber_workers.is_empty());
        assert!(last.epoch > r.epoch, "epochs increase");
        assert!(dir.remove(SessionId(2)).is_none());
        assert!(dir.sessions().is_empty());
    }
}
