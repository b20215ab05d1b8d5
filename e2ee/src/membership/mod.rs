//! Who may view a camera: the membership list the camera keeps and persists (DESIGN.md,
//! "Membership").
//!
//! The first device paired at the camera becomes its owner; later ones are viewers. An owner
//! device can approve and revoke devices remotely with commands it signs
//! ([`crate::identity::ViewerDevice::sign_command`]); the camera checks each with
//! [`Membership::apply_signed`]. Every change increments [`Membership::version`], and a
//! command is only accepted for the exact version it was signed for, so a replayed or raced
//! command is refused ([`Error::StaleCommand`]).
//!
//! # Encoding
//!
//! ```text
//! Membership: 0x09 | 0x01 | str8 camera_id (empty: not tied to a camera) | u64 version
//!             | u32 count | count × ( bytes16 ViewerPublic | u8 role | u64 added_at )
//! role: 1 = owner, 2 = viewer
//! ```
//!
//! # Owner commands
//!
//! ```text
//! OwnerCommand: 0x08 | 0x01 | str8 camera_id | u64 membership_version | u64 issued_at
//!               | str8 signer device_id | u8 op | payload
//!               | [64] signer's Ed25519 signature over ("sealcam/v1 owner-command" || every byte before it)
//! op 1 Approve: bytes16 ViewerPublic | u8 role
//! op 2 Revoke:  str8 device_id
//! ```
//!
//! A command is accepted from `issued_at - 300` to `issued_at + 600` (Unix seconds, camera
//! clock), which bounds how long a relay can hold one back.

mod command;

pub use command::{MembershipChange, OwnerCommand, COMMAND_LIFETIME_SECS, MAX_CLOCK_SKEW_SECS};

use crate::identity::{validate_camera_id, ViewerPublic};
use crate::wire::{Kind, Reader, Writer};
use crate::Error;

/// What a member may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// May view, and may approve and revoke devices.
    Owner,
    /// May view.
    Viewer,
}

impl Role {
    pub(crate) fn to_byte(self) -> u8 {
        match self {
            Self::Owner => 1,
            Self::Viewer => 2,
        }
    }

    pub(crate) fn from_byte(byte: u8) -> Option<Self> {
        match byte {
            1 => Some(Self::Owner),
            2 => Some(Self::Viewer),
            _ => None,
        }
    }
}

/// One device on the list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    /// The device's id, name and public keys.
    pub device: ViewerPublic,
    /// What it may do.
    pub role: Role,
    /// Unix seconds when it joined.
    pub added_at: u64,
}

/// The camera's membership list: a version counter and the members.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Membership {
    camera_id: String,
    version: u64,
    members: Vec<Member>,
}

impl Membership {
    /// An empty list not tied to a camera id: it can pair devices and be edited locally, but
    /// [`Self::apply_signed`] refuses every command with [`Error::MembershipUnbound`]. Cameras
    /// should use [`Self::for_camera`].
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty list for the camera `camera_id`; owner commands must name that id.
    pub fn for_camera(camera_id: &str) -> Result<Self, Error> {
        validate_camera_id(camera_id)?;
        Ok(Self {
            camera_id: camera_id.to_owned(),
            ..Self::default()
        })
    }

    /// The camera id commands must name, if the list is tied to one.
    pub fn camera_id(&self) -> Option<&str> {
        (!self.camera_id.is_empty()).then_some(self.camera_id.as_str())
    }

    /// Adds a device that completed pairing at the camera. It becomes an owner if the camera
    /// has none (the first device, or after the last owner was removed locally), a viewer
    /// otherwise. A device already on the list keeps its role and nothing changes.
    pub fn enroll_paired(&mut self, device: ViewerPublic, now: u64) -> Role {
        if let Some(member) = self.get(device.device_id()) {
            return member.role;
        }
        let role = if self.owner_count() == 0 {
            Role::Owner
        } else {
            Role::Viewer
        };
        self.members.push(Member {
            device,
            role,
            added_at: now,
        });
        self.version += 1;
        role
    }

    /// The member with `device_id`, if any.
    pub fn get(&self, device_id: &str) -> Option<&Member> {
        self.members
            .iter()
            .find(|member| member.device.device_id() == device_id)
    }

    /// All members, in the order they joined.
    pub fn members(&self) -> &[Member] {
        &self.members
    }

    /// The change counter: incremented by every change, signed into every owner command.
    pub fn version(&self) -> u64 {
        self.version
    }

    /// Removes a device on the camera's own command line (physical access, so no signature
    /// and no last-owner rule: it is the recovery path). Returns whether it was a member.
    pub fn remove(&mut self, device_id: &str) -> bool {
        let before = self.members.len();
        self.members
            .retain(|member| member.device.device_id() != device_id);
        let removed = self.members.len() != before;
        if removed {
            self.version += 1;
        }
        removed
    }

    fn owner_count(&self) -> usize {
        self.members
            .iter()
            .filter(|member| member.role == Role::Owner)
            .count()
    }

    /// The encoding the camera persists (layout above).
    pub fn to_bytes(&self) -> Vec<u8> {
        let count = u32::try_from(self.members.len()).expect("fewer than 2^32 members");
        let mut writer = Writer::new(Kind::Membership);
        writer
            .str8(&self.camera_id)
            .u64(self.version)
            .raw(&count.to_be_bytes());
        for member in &self.members {
            writer
                .bytes16(&member.device.to_bytes())
                .u8(member.role.to_byte())
                .u64(member.added_at);
        }
        writer.finish()
    }

    /// Reads [`Self::to_bytes`] output; rejects duplicate devices and unknown roles.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        let mut reader = Reader::new(bytes, Kind::Membership, "membership")?;
        let camera_id = reader.str8()?.to_owned();
        if !camera_id.is_empty() {
            validate_camera_id(&camera_id)?;
        }
        let version = reader.u64()?;
        let count = u32::from_be_bytes(reader.array()?);
        // Never trust a length for an allocation: grow as members actually parse.
        let mut membership = Self {
            camera_id,
            version,
            members: Vec::new(),
        };
        for _ in 0..count {
            let device = ViewerPublic::from_bytes(reader.bytes16()?)?;
            let role_byte = reader.u8()?;
            let role = Role::from_byte(role_byte)
                .ok_or_else(|| reader.malformed(format!("unknown role {role_byte}")))?;
            let added_at = reader.u64()?;
            if membership.get(device.device_id()).is_some() {
                return Err(reader.malformed(format!("device {} listed twice", device.device_id())));
            }
            membership.members.push(Member {
                device,
                role,
                added_at,
            });
        }
        reader.finish()?;
        Ok(membership)
    }
}
