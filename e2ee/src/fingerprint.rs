//! Safety numbers: what a person compares to know they hold the right camera's (or device's)
//! keys.
//!
//! # Derivation
//!
//! ```text
//! hash   = SHA-512( "sealcam/v1 fingerprint" || role: u8 || str8(id) || ed25519_pk[32] || x25519_pk[32] )
//! groups = for i in 0..12: big-endian u40 of hash[5i .. 5i+5] mod 100000
//! ```
//!
//! `role` is 1 for a camera (id = camera id) and 2 for a viewer device (id = device id), so a
//! camera and a device can never show the same number. SHA-512 (SHA-2, the SHA-256 family)
//! gives the 60 bytes needed in one call; reducing 40-bit chunks mod 10^5 has a bias below
//! 10^-7. The result is 12 groups of 5 digits (about 199 bits), in the style of Signal's
//! safety numbers, shown as `"12345 67890 ..."`.
//!
//! The pairing code carries only a 16-byte [`Fingerprint::commitment`]:
//! `SHA-256("sealcam/v1 commitment" || hash)[..16]`, so a viewer can pin the camera's keys
//! without the whole number.

use sha2::{Digest, Sha256, Sha512};

use crate::identity::PublicKeys;

const FINGERPRINT_LABEL: &[u8] = b"sealcam/v1 fingerprint";
const COMMITMENT_LABEL: &[u8] = b"sealcam/v1 commitment";

/// Number of 5-digit groups shown.
pub const GROUPS: usize = 12;
/// Length of [`Fingerprint::commitment`].
pub const COMMITMENT_LEN: usize = 16;

/// Whose keys a fingerprint describes; part of the hash input.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Role {
    Camera = 1,
    Viewer = 2,
}

/// A safety number over an id and two public keys. Public data: safe to show and log.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Fingerprint {
    hash: [u8; 64],
}

impl Fingerprint {
    pub(crate) fn new(role: Role, id: &str, keys: &PublicKeys) -> Self {
        let id_len = u8::try_from(id.len()).expect("ids are validated to at most 64 bytes");
        let digest = Sha512::new()
            .chain_update(FINGERPRINT_LABEL)
            .chain_update([role as u8, id_len])
            .chain_update(id.as_bytes())
            .chain_update(keys.signing_bytes())
            .chain_update(keys.kem)
            .finalize();
        let mut hash = [0u8; 64];
        hash.copy_from_slice(&digest);
        Self { hash }
    }

    /// The 12 groups, each in `0..100000`.
    pub fn groups(&self) -> [u32; GROUPS] {
        let mut groups = [0u32; GROUPS];
        for (group, chunk) in groups.iter_mut().zip(self.hash.chunks_exact(5)) {
            let value = chunk
                .iter()
                .fold(0u64, |acc, byte| (acc << 8) | u64::from(*byte));
            *group = u32::try_from(value % 100_000).expect("a value mod 100000 fits a u32");
        }
        groups
    }

    /// The 60 digits with no separators (for QR codes and comparisons by machine).
    pub fn digits(&self) -> String {
        self.groups()
            .iter()
            .map(|group| format!("{group:05}"))
            .collect()
    }

    /// The 16-byte commitment a pairing code carries so the viewer can pin these keys.
    pub fn commitment(&self) -> [u8; COMMITMENT_LEN] {
        let digest = Sha256::new()
            .chain_update(COMMITMENT_LABEL)
            .chain_update(self.hash)
            .finalize();
        let mut commitment = [0u8; COMMITMENT_LEN];
        commitment.copy_from_slice(&digest[..COMMITMENT_LEN]);
        commitment
    }
}

/// `"12345 67890 ..."`: 12 groups of 5 digits separated by single spaces.
impl std::fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (index, group) in self.groups().iter().enumerate() {
            if index > 0 {
                f.write_str(" ")?;
            }
            write!(f, "{group:05}")?;
        }
        Ok(())
    }
}

impl std::fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Fingerprint({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::SecretKeys;

    #[test]
    fn digits_and_display_agree() {
        let print = Fingerprint::new(Role::Camera, "cam", &SecretKeys::generate().public());
        let digits = print.digits();
        assert_eq!(digits.len(), 60);
        assert!(digits.bytes().all(|b| b.is_ascii_digit()));
        assert_eq!(print.to_string().replace(' ', ""), digits);
        assert_eq!(print.to_string().split(' ').count(), GROUPS);
    }

    #[test]
    fn role_is_part_of_the_hash() {
        let keys = SecretKeys::generate().public();
        assert_ne!(
            Fingerprint::new(Role::Camera, "x", &keys),
            Fingerprint::new(Role::Viewer, "x", &keys)
        );
    }

    #[test]
    fn known_groups_from_a_fixed_hash() {
        // 0x00_0000_0001 = 1 and 0xFF_FFFF_FFFF = 1099511627775 -> 27775 (mod 100000).
        let mut hash = [0u8; 64];
        hash[4] = 1;
        hash[5..10].copy_from_slice(&[0xff; 5]);
        let print = Fingerprint { hash };
        assert_eq!(print.groups()[..2], [1, 27_775]);
        assert!(print.digits().starts_with("0000127775"));
    }
}
