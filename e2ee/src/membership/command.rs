//! Owner-signed approve/revoke commands (layout in [`crate::membership`]).

use super::{Member, Membership, Role};
use crate::identity::{validate_camera_id, ViewerDevice, ViewerPublic, SIGNATURE_LEN};
use crate::wire::{Kind, Reader, Writer};
use crate::Error;

/// How long after `issued_at` a command is accepted.
pub const COMMAND_LIFETIME_SECS: u64 = 600;
/// How far ahead of the camera's clock `issued_at` may be.
pub const MAX_CLOCK_SKEW_SECS: u64 = 300;

const SIGNATURE_LABEL: &[u8] = b"sealcam/v1 owner-command";
const WHAT: &str = "owner command";
const OP_APPROVE: u8 = 1;
const OP_REVOKE: u8 = 2;

/// A change an owner device asks the camera to make.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OwnerCommand {
    /// Add `device` with `role`, or change its role if it is already a member. The person
    /// approving should compare the device's fingerprint first.
    Approve {
        /// The device to admit.
        device: ViewerPublic,
        /// What it may do.
        role: Role,
    },
    /// Remove a device; it receives no further media keys.
    Revoke {
        /// The device to remove.
        device_id: String,
    },
}

/// What [`Membership::apply_signed`] changed, naming the device id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MembershipChange {
    /// The device was added, or its role changed.
    Approved(String),
    /// The device was removed: rotate the media key now.
    Revoked(String),
}

/// Text that is empty when it could not be a valid field, so the command still encodes
/// (signing cannot fail) and every camera rejects it.
fn or_empty(text: &str, valid: bool) -> &str {
    if valid && text.len() <= usize::from(u8::MAX) {
        text
    } else {
        ""
    }
}

impl ViewerDevice {
    /// Signs `command` for the camera `camera_id` at membership version `membership_version`
    /// (the camera's current [`Membership::version`]), issued at `now` (Unix seconds).
    ///
    /// An invalid camera id produces a command every camera refuses with
    /// [`Error::WrongCamera`].
    pub fn sign_command(
        &self,
        camera_id: &str,
        command: &OwnerCommand,
        membership_version: u64,
        now: u64,
    ) -> Vec<u8> {
        let camera_id = or_empty(camera_id, validate_camera_id(camera_id).is_ok());
        let mut writer = Writer::new(Kind::OwnerCommand);
        writer
            .str8(camera_id)
            .u64(membership_version)
            .u64(now)
            .str8(self.device_id());
        match command {
            OwnerCommand::Approve { device, role } => {
                writer
                    .u8(OP_APPROVE)
                    .bytes16(&device.to_bytes())
                    .u8(role.to_byte());
            }
            OwnerCommand::Revoke { device_id } => {
                writer.u8(OP_REVOKE).str8(or_empty(device_id, true));
            }
        }
        let signature = self.secrets().sign(SIGNATURE_LABEL, writer.as_slice());
        writer.raw(&signature);
        writer.finish()
    }
}

/// A command split into its fields, not yet verified.
struct SignedCommand<'a> {
    camera_id: &'a str,
    membership_version: u64,
    issued_at: u64,
    signer_id: &'a str,
    command: OwnerCommand,
    signed: &'a [u8],
    signature: [u8; SIGNATURE_LEN],
}

impl<'a> SignedCommand<'a> {
    fn from_bytes(bytes: &'a [u8]) -> Result<Self, Error> {
        let mut reader = Reader::new(bytes, Kind::OwnerCommand, WHAT)?;
        let camera_id = reader.str8()?;
        let membership_version = reader.u64()?;
        let issued_at = reader.u64()?;
        let signer_id = reader.str8()?;
        let command = match reader.u8()? {
            OP_APPROVE => {
                let device = ViewerPublic::from_bytes(reader.bytes16()?)?;
                let role_byte = reader.u8()?;
                let role = Role::from_byte(role_byte)
                    .ok_or_else(|| reader.malformed(format!("unknown role {role_byte}")))?;
                OwnerCommand::Approve { device, role }
            }
            OP_REVOKE => OwnerCommand::Revoke {
                device_id: reader.str8()?.to_owned(),
            },
            op => return Err(reader.malformed(format!("unknown operation {op}"))),
        };
        let signed = &bytes[..reader.position()];
        let signature = reader.array()?;
        reader.finish()?;
        Ok(Self {
            camera_id,
            membership_version,
            issued_at,
            signer_id,
            command,
            signed,
            signature,
        })
    }
}

impl Membership {
    /// Checks and applies an owner command at `now` (Unix seconds, camera clock).
    ///
    /// Checks, in order: structure ([`Error::Malformed`], [`Error::UnsupportedVersion`]), the
    /// camera id ([`Error::MembershipUnbound`], [`Error::WrongCamera`]), that the signer is a
    /// member ([`Error::UnknownMember`]), its signature ([`Error::BadSignature`]), that it is
    /// an owner ([`Error::NotOwner`]), the time window ([`Error::Expired`]), the membership
    /// version ([`Error::StaleCommand`]), then the change itself ([`Error::UnknownMember`],
    /// [`Error::LastOwner`]). Nothing changes unless every check passes.
    pub fn apply_signed(&mut self, command: &[u8], now: u64) -> Result<MembershipChange, Error> {
        let signed = SignedCommand::from_bytes(command)?;
        let Some(camera_id) = self.camera_id() else {
            return Err(Error::MembershipUnbound);
        };
        if signed.camera_id != camera_id {
            return Err(Error::WrongCamera);
        }
        let signer = self
            .get(signed.signer_id)
            .ok_or_else(|| Error::UnknownMember(signed.signer_id.to_owned()))?;
        signer
            .device
            .keys()
            .verify(SIGNATURE_LABEL, signed.signed, &signed.signature, WHAT)?;
        if signer.role != Role::Owner {
            return Err(Error::NotOwner);
        }
        let too_old = now > signed.issued_at.saturating_add(COMMAND_LIFETIME_SECS);
        let too_new = signed.issued_at > now.saturating_add(MAX_CLOCK_SKEW_SECS);
        if too_old || too_new {
            return Err(Error::Expired { what: WHAT });
        }
        if signed.membership_version != self.version {
            return Err(Error::StaleCommand {
                command: signed.membership_version,
                current: self.version,
            });
        }

        let change = match signed.command {
            OwnerCommand::Approve { device, role } => self.approve(device, role, now)?,
            OwnerCommand::Revoke { device_id } => self.revoke(device_id)?,
        };
        self.version += 1;
        Ok(change)
    }

    fn approve(
        &mut self,
        device: ViewerPublic,
        role: Role,
        now: u64,
    ) -> Result<MembershipChange, Error> {
        let device_id = device.device_id().to_owned();
        match self
            .members
            .iter()
            .position(|member| member.device.device_id() == device_id)
        {
            Some(index) => {
                if self.members[index].role == Role::Owner
                    && role != Role::Owner
                    && self.owner_count() == 1
                {
                    return Err(Error::LastOwner);
                }
                self.members[index].role = role;
            }
            None => self.members.push(Member {
                device,
                role,
                added_at: now,
            }),
        }
        Ok(MembershipChange::Approved(device_id))
    }

    fn revoke(&mut self, device_id: String) -> Result<MembershipChange, Error> {
        let Some(index) = self
            .members
            .iter()
            .position(|member| member.device.device_id() == device_id)
        else {
            return Err(Error::UnknownMember(device_id));
        };
        if self.members[index].role == Role::Owner && self.owner_count() == 1 {
            return Err(Error::LastOwner);
        }
        self.members.remove(index);
        Ok(MembershipChange::Revoked(device_id))
    }
}
