//! The DTLS-SRTP keying material of a subscriber's session, for the direct send path.
//!
//! str0m derives its SRTP contexts inside the engine and does not hand the keys out. The
//! SFU therefore gives each `Rtc` a crypto provider whose DTLS instances are str0m's own
//! (aws-lc-rs) ones, wrapped: everything passes through unchanged, and the keying
//! material the handshake exports (RFC 5764 §4.2) is also left in the session's
//! [`KeySlot`]. The SFU then seals its media packets itself ([`crate::srtp_seal`]) while
//! str0m keeps ICE, DTLS and RTCP.

use std::cell::RefCell;
use std::fmt;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

use str0m::crypto::dtls::{
    DtlsCert, DtlsImplError, DtlsInstance, DtlsOutput, DtlsProvider, DtlsVersion, ProtocolVersion,
    SrtpProfile,
};
use str0m::crypto::{from_feature_flags, CryptoError, CryptoProvider};
use str0m::{Rtc, RtcConfig};
use zeroize::Zeroizing;

/// The keying material one DTLS handshake exported, and the side this end played.
pub(crate) struct KeyingMaterial {
    /// client key ‖ server key ‖ client salt ‖ server salt (RFC 5764 §4.2).
    pub(crate) bytes: Zeroizing<Vec<u8>>,
    pub(crate) profile: SrtpProfile,
    /// True when this end was the DTLS client: it then sends with the client's half.
    pub(crate) local_is_client: bool,
}

impl fmt::Debug for KeyingMaterial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyingMaterial")
            .field("profile", &self.profile)
            .field("local_is_client", &self.local_is_client)
            .finish_non_exhaustive()
    }
}

/// Where one session's DTLS instance leaves its keying material, taken once by the worker.
#[derive(Debug, Default)]
pub(crate) struct KeySlot(Mutex<Option<KeyingMaterial>>);

impl KeySlot {
    fn fill(&self, material: KeyingMaterial) {
        if let Ok(mut slot) = self.0.lock() {
            *slot = Some(material);
        }
    }

    /// The material, once the handshake is done; it leaves the slot (one reader).
    pub(crate) fn take(&self) -> Option<KeyingMaterial> {
        self.0.lock().ok().and_then(|mut slot| slot.take())
    }
}

thread_local! {
    /// The slot for the `Rtc` being built on this thread: str0m creates its DTLS
    /// instance inside `RtcConfig::build`, through the provider, with no other context.
    static BUILDING: RefCell<Option<Arc<KeySlot>>> = const { RefCell::new(None) };
}

/// Build an `Rtc` whose DTLS handshake will leave its keying material in the returned slot.
pub(crate) fn build_with_key_slot(config: RtcConfig, now: Instant) -> (Rtc, Arc<KeySlot>) {
    let slot = Arc::new(KeySlot::default());
    BUILDING.with(|building| *building.borrow_mut() = Some(Arc::clone(&slot)));
    let rtc = config.set_crypto_provider(capturing_provider()).build(now);
    BUILDING.with(|building| building.borrow_mut().take());
    (rtc, slot)
}

/// str0m's default provider with the DTLS factory wrapped.
fn capturing_provider() -> Arc<CryptoProvider> {
    static PROVIDER: OnceLock<Arc<CryptoProvider>> = OnceLock::new();
    Arc::clone(PROVIDER.get_or_init(|| {
        Arc::new(CryptoProvider {
            dtls_provider: &CapturingDtls,
            ..default_provider().clone()
        })
    }))
}

fn default_provider() -> &'static CryptoProvider {
    static DEFAULT: OnceLock<CryptoProvider> = OnceLock::new();
    DEFAULT.get_or_init(from_feature_flags)
}

#[derive(Debug)]
struct CapturingDtls;

impl DtlsProvider for CapturingDtls {
    fn generate_certificate(&self) -> Option<DtlsCert> {
        default_provider().dtls_provider.generate_certificate()
    }

    fn new_dtls(
        &self,
        cert: &DtlsCert,
        now: Instant,
        dtls_version: DtlsVersion,
        mtu: Option<usize>,
    ) -> Result<Box<dyn DtlsInstance>, CryptoError> {
        let inner = default_provider()
            .dtls_provider
            .new_dtls(cert, now, dtls_version, mtu)?;
        let slot = BUILDING.with(|building| building.borrow().clone());
        Ok(Box::new(CapturingInstance { inner, slot }))
    }
}

/// str0m's DTLS instance; it also hands the exported keying material to the slot.
struct CapturingInstance {
    inner: Box<dyn DtlsInstance>,
    slot: Option<Arc<KeySlot>>,
}

impl fmt::Debug for CapturingInstance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CapturingInstance")
            .field("active", &self.inner.is_active())
            .finish_non_exhaustive()
    }
}

impl DtlsInstance for CapturingInstance {
    fn set_active(&mut self, active: bool) {
        self.inner.set_active(active);
    }

    fn handle_packet(&mut self, packet: &[u8]) -> Result<(), DtlsImplError> {
        self.inner.handle_packet(packet)
    }

    fn poll_output<'a>(&mut self, buf: &'a mut [u8]) -> DtlsOutput<'a> {
        let output = self.inner.poll_output(buf);
        if let (DtlsOutput::KeyingMaterial(material, profile), Some(slot)) = (&output, &self.slot) {
            slot.fill(KeyingMaterial {
                bytes: Zeroizing::new(material.to_vec()),
                profile: *profile,
                local_is_client: self.inner.is_active(),
            });
        }
        output
    }

    fn handle_timeout(&mut self, now: Instant) -> Result<(), DtlsImplError> {
        self.inner.handle_timeout(now)
    }

    fn send_application_data(&mut self, data: &[u8]) -> Result<usize, DtlsImplError> {
        self.inner.send_application_data(data)
    }

    fn is_active(&self) -> bool {
        self.inner.is_active()
    }

    fn protocol_version(&self) -> Option<ProtocolVersion> {
        self.inner.protocol_version()
    }

    fn is_closing(&self) -> bool {
        self.inner.is_closing()
    }

    fn is_closed(&self) -> bool {
        self.inner.is_closed()
    }

    fn close(&mut self) -> Result<(), DtlsImplError> {
        self.inner.close()
    }
}
