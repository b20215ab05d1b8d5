//! Enrollment requests: a viewer device's public keys, signed by the device and MACed under a
//! key derived from the pairing code's secret (layout in [`crate::pairing`]).

use hkdf::Hkdf;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use zeroize::Zeroizing;

use super::PairingCode;
use crate::identity::{ViewerDevice, ViewerPublic, SIGNATURE_LEN};
use crate::wire::{Kind, Reader, Writer};
use crate::Error;

const MAC_KEY_INFO: &[u8] = b"sealcam/v1 pairing-mac";
const SIGNATURE_LABEL: &[u8] = b"sealcam/v1 enrollment";
const MAC_LABEL: &[u8] = b"sealcam/v1 enrollment-mac";
const MAC_LEN: usize = 32;
const WHAT: &str = "enrollment request";

type HmacSha256 = Hmac<Sha256>;

impl PairingCode {
    /// The HMAC over `label || message` under this code's derived MAC key.
    fn mac(&self) -> HmacSha256 {
        let mut key = Zeroizing::new([0u8; MAC_LEN]);
        Hkdf::<Sha256>::new(Some(self.commitment()), self.secret())
            .expand(MAC_KEY_INFO, key.as_mut())
            .expect("32 bytes is a valid HKDF-SHA256 output length");
        let mut mac = <HmacSha256 as KeyInit>::new_from_slice(key.as_ref())
            .expect("HMAC takes any key length");
        mac.update(MAC_LABEL);
        mac
    }

    /// Camera side: checks an enrollment request against this code at `now` (Unix seconds)
    /// and returns the device to add to the membership.
    ///
    /// Fails with [`Error::PairingExpired`] after the code's 10 minutes,
    /// [`Error::PairingMacMismatch`] if the request was not made with this code, and
    /// [`Error::BadSignature`] if the device does not hold the key it enrolls. Discard the
    /// code after the first success: it is single-use.
    pub fn verify_enrollment(&self, request: &[u8], now: u64) -> Result<ViewerPublic, Error> {
        if now >= self.expires_at() {
            return Err(Error::PairingExpired);
        }
        let mut reader = Reader::new(request, Kind::Enrollment, WHAT)?;
        let device_bytes = reader.bytes16()?;
        let signed = &request[..reader.position()];
        let signature = reader.array::<SIGNATURE_LEN>()?;
        let maced = &request[..reader.position()];
        let tag = reader.array::<MAC_LEN>()?;
        reader.finish()?;

        let mut mac = self.mac();
        mac.update(maced);
        // verify_slice compares in constant time.
        mac.verify_slice(&tag)
            .map_err(|_| Error::PairingMacMismatch)?;

        let device = ViewerPublic::from_bytes(device_bytes)?;
        device
            .keys()
            .verify(SIGNATURE_LABEL, signed, &signature, WHAT)?;
        Ok(device)
    }
}

impl ViewerDevice {
    /// Viewer side: an enrollment request for the camera that printed `code`, to send through
    /// signaling. Fails with [`Error::PairingExpired`] if the code is past its expiry at `now`.
    ///
    /// Call [`PairingCode::verify_camera`] on the camera's public keys as well, so this device
    /// only ever trusts the camera the code came from.
    pub fn create_enrollment(&self, code: &PairingCode, now: u64) -> Result<Vec<u8>, Error> {
        if now >= code.expires_at() {
            return Err(Error::PairingExpired);
        }
        let mut writer = Writer::new(Kind::Enrollment);
        writer.bytes16(&self.public().to_bytes());
        let signature = self.secrets().sign(SIGNATURE_LABEL, writer.as_slice());
        writer.raw(&signature);
        let mut mac = code.mac();
        mac.update(writer.as_slice());
        writer.raw(&mac.finalize().into_bytes());
        Ok(writer.finish())
    }
}
