//! The camera as root of trust: who may watch, and which media key they get.
//!
//! [`KeyAuthority`] is pure (no I/O, time passed in): it answers the opaque relay messages
//! of docs/e2ee-messages.md — `key_request`, `pair_request`, `owner_command` — and turns
//! rotations into fresh envelopes for every connected member. The run loop persists what
//! it reports as changed and sends what it returns.
//!
//! Rules enforced here:
//! * an envelope goes only to a member whose public keys equal the member record; an
//!   unknown device gets nothing (and is logged by device id, never by key);
//! * a rotation pushes the new key, unasked, to every session that asked before and is
//!   still a member; a revoked device's sessions are forgotten, so it gets nothing new;
//! * pairing needs the pending one-time code; the first paired device becomes owner.

mod dispatch;
pub mod payload;

use std::collections::BTreeMap;

use e2ee::identity::{CameraIdentity, ViewerPublic};
use e2ee::membership::{Membership, MembershipChange, Role};
use e2ee::pairing::PairingCode;
use e2ee::MediaKey;

use payload::{decode, encode, refusal, LIST_MEMBERS};

/// A message for one viewer session, ready for the signaling relay.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outgoing {
    /// `key_envelope {to, payload}`.
    KeyEnvelope { to: String, payload: String },
    /// `pair_response {to, payload}`.
    PairResponse { to: String, payload: String },
    /// `owner_result {to, payload}`.
    OwnerResult { to: String, payload: String },
}

/// What a handled message changed, for the run loop to act on.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Effects {
    /// Messages to send.
    pub outgoing: Vec<Outgoing>,
    /// The membership changed: persist it.
    pub membership_changed: bool,
    /// A device lost access: rotate the media key now (and force a key frame).
    pub rotate_now: bool,
    /// The pending pairing code was used: delete it.
    pub pairing_used: bool,
}

/// Pairing refusal status bytes (docs/e2ee-messages.md).
const PAIR_BAD_CODE: u8 = 0x01;
const PAIR_EXPIRED: u8 = 0x02;
const PAIR_OTHER: u8 = 0xff;

/// Identity, membership and the current/previous media keys.
pub struct KeyAuthority {
    identity: CameraIdentity,
    membership: Membership,
    current: MediaKey,
    previous: Option<MediaKey>,
    key_lifetime_secs: u64,
    /// Sessions that asked for keys → the device they proved to be.
    sessions: BTreeMap<String, String>,
}

impl std::fmt::Debug for KeyAuthority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyAuthority")
            .field("camera_id", &self.identity.camera_id())
            .field("members", &self.membership.members().len())
            .field("generation", &self.current.generation())
            .field("sessions", &self.sessions.len())
            .finish_non_exhaustive()
    }
}

impl KeyAuthority {
    /// `key_lifetime_secs`: how long an envelope stays valid (a bit over two rotations).
    pub fn new(
        identity: CameraIdentity,
        membership: Membership,
        key: MediaKey,
        key_lifetime_secs: u64,
    ) -> Self {
        Self {
            identity,
            membership,
            current: key,
            previous: None,
            key_lifetime_secs,
            sessions: BTreeMap::new(),
        }
    }

    /// The key frames are encrypted under now.
    pub fn current_key(&self) -> &MediaKey {
        &self.current
    }

    /// The membership list.
    pub fn membership(&self) -> &Membership {
        &self.membership
    }

    /// Sessions currently receiving keys.
    pub fn session_count(&self) -> usize {
        self.sessions.len()
    }

    fn seal_for(&self, device: &ViewerPublic, now: u64) -> Vec<Vec<u8>> {
        let expires = now.saturating_add(self.key_lifetime_secs);
        std::iter::once(&self.current)
            .chain(self.previous.as_ref())
            .filter_map(|key| match self.identity.seal_media_key(key, device, expires) {
                Ok(envelope) => Some(envelope),
                Err(e) => {
                    tracing::warn!(device = device.device_id(), error = %e, "cannot seal media key");
                    None
                }
            })
            .collect()
    }

    /// `key_request` from session `from`: envelopes if the device is a member.
    pub fn on_key_request(&mut self, from: &str, payload: &str, now: u64) -> Effects {
        let Some(device) = decode(payload).and_then(|b| ViewerPublic::from_bytes(&b).ok()) else {
            tracing::warn!(session = from, "malformed key request ignored");
            return Effects::default();
        };
        let is_member = self
            .membership
            .get(device.device_id())
            .is_some_and(|m| m.device == device);
        if !is_member {
            tracing::warn!(
                session = from,
                device = device.device_id(),
                "key request from a device that is not a member: nothing sent"
            );
            return Effects::default();
        }
        self.sessions
            .insert(from.to_owned(), device.device_id().to_owned());
        let outgoing = self
            .seal_for(&device, now)
            .into_iter()
            .map(|envelope| Outgoing::KeyEnvelope {
                to: from.to_owned(),
                payload: encode(&envelope),
            })
            .collect();
        Effects {
            outgoing,
            ..Effects::default()
        }
    }

    /// `pair_request` from session `from`, checked against the pending code (if any).
    pub fn on_pair_request(
        &mut self,
        from: &str,
        payload: &str,
        code: Option<&PairingCode>,
        now: u64,
    ) -> Effects {
        let reply = |payload: String| Outgoing::PairResponse {
            to: from.to_owned(),
            payload,
        };
        let Some(code) = code else {
            return Effects {
                outgoing: vec![reply(refusal(
                    PAIR_BAD_CODE,
                    "No pairing code is active: run `camera-agent pair` at the camera.",
                ))],
                ..Effects::default()
            };
        };
        let Some(request) = decode(payload) else {
            return Effects {
                outgoing: vec![reply(refusal(
                    PAIR_BAD_CODE,
                    "The pairing request is not valid base64.",
                ))],
                ..Effects::default()
            };
        };
        let device = match code.verify_enrollment(&request, now) {
            Ok(device) => device,
            Err(e) => {
                let status = match e {
                    e2ee::Error::PairingExpired => PAIR_EXPIRED,
                    e2ee::Error::PairingMacMismatch | e2ee::Error::PairingCodeInvalid => {
                        PAIR_BAD_CODE
                    }
                    _ => PAIR_OTHER,
                };
                tracing::warn!(session = from, error = %e, "pairing refused");
                return Effects {
                    outgoing: vec![reply(refusal(status, &e.to_string()))],
                    ..Effects::default()
                };
            }
        };
        let role = self.membership.enroll_paired(device.clone(), now);
        tracing::info!(
            device = device.device_id(),
            name = device.name(),
            ?role,
            "device paired"
        );
        let mut bytes = vec![0x00];
        bytes.extend_from_slice(&self.identity.public().to_bytes());
        bytes.push(match role {
            Role::Owner => 0x01,
            Role::Viewer => 0x02,
        });
        Effects {
            outgoing: vec![reply(encode(&bytes))],
            membership_changed: true,
            pairing_used: true,
            ..Effects::default()
        }
    }

    /// `owner_command` from session `from`: the list ('L') or a signed approve/revoke.
    pub fn on_owner_command(&mut self, from: &str, payload: &str, now: u64) -> Effects {
        let reply = |payload: String| Outgoing::OwnerResult {
            to: from.to_owned(),
            payload,
        };
        let Some(command) = decode(payload) else {
            return Effects {
                outgoing: vec![reply(refusal(
                    0x01,
                    "The owner command is not valid base64.",
                ))],
                ..Effects::default()
            };
        };
        if command == LIST_MEMBERS {
            return Effects {
                outgoing: vec![reply(self.membership_result())],
                ..Effects::default()
            };
        }
        match self.membership.apply_signed(&command, now) {
            Ok(change) => {
                let revoked = matches!(change, MembershipChange::Revoked(_));
                tracing::info!(?change, "owner command applied");
                if revoked {
                    self.forget_non_members();
                }
                Effects {
                    outgoing: vec![reply(self.membership_result())],
                    membership_changed: true,
                    rotate_now: revoked,
                    ..Effects::default()
                }
            }
            Err(e) => {
                tracing::warn!(session = from, error = %e, "owner command refused");
                Effects {
                    outgoing: vec![reply(refusal(0x01, &e.to_string()))],
                    ..Effects::default()
                }
            }
        }
    }

    fn membership_result(&self) -> String {
        let mut bytes = vec![0x00];
        bytes.extend_from_slice(&self.membership.to_bytes());
        encode(&bytes)
    }

    /// Replaces the list after the CLI edited the file; reports whether anyone lost access.
    pub fn replace_membership(&mut self, membership: Membership) -> Effects {
        let lost = self.membership.members().iter().any(|m| {
            membership
                .get(m.device.device_id())
                .is_none_or(|n| n.device != m.device)
        });
        self.membership = membership;
        if lost {
            self.forget_non_members();
        }
        Effects {
            rotate_now: lost,
            ..Effects::default()
        }
    }

    /// Puts back `saved`, the list last stored in the state file, after persisting a
    /// change failed (a full disk): a pairing or owner command that could not be stored
    /// must not stay in effect in memory and reach the file with the next save. Nobody
    /// gains access by this; sessions of devices not on `saved` are forgotten.
    pub fn restore_membership(&mut self, saved: Membership) {
        self.membership = saved;
        self.forget_non_members();
    }

    fn forget_non_members(&mut self) {
        let membership = &self.membership;
        self.sessions
            .retain(|_, device| membership.get(device).is_some());
    }

    /// Installs a new generation; the old one stays sendable briefly for overlap. Returns
    /// the new key's envelopes for every session still entitled to it.
    pub fn rotate(&mut self, key: MediaKey, now: u64, keep_previous: bool) -> Vec<Outgoing> {
        let old = std::mem::replace(&mut self.current, key);
        self.previous = keep_previous.then_some(old);
        let expires = now.saturating_add(self.key_lifetime_secs);
        let mut outgoing = Vec::new();
        for (session, device_id) in &self.sessions {
            let Some(member) = self.membership.get(device_id) else {
                continue;
            };
            match self
                .identity
                .seal_media_key(&self.current, &member.device, expires)
            {
                Ok(envelope) => outgoing.push(Outgoing::KeyEnvelope {
                    to: session.clone(),
                    payload: encode(&envelope),
                }),
                Err(e) => {
                    tracing::warn!(device = device_id.as_str(), error = %e, "cannot seal media key")
                }
            }
        }
        outgoing
    }

    /// A viewer session ended.
    pub fn forget_session(&mut self, session: &str) {
        self.sessions.remove(session);
    }
}
