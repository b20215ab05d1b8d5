//! The short-lived commands: `init`, `fingerprint`, `pair`, `viewers list|revoke`.
//!
//! Each writes its human-readable output to a `Write` so tests can read it back; none of
//! them prints a secret other than the pairing code, whose whole purpose is to be shown.

use std::io::Write;
use std::time::{SystemTime, UNIX_EPOCH};

use e2ee::fingerprint::Fingerprint;
use e2ee::membership::Role;
use e2ee::pairing::PairingCode;
use qrcode::render::unicode::Dense1x2;
use qrcode::QrCode;

use crate::config::AgentConfig;
use crate::error::AgentError;
use crate::state::StateDir;

/// Seconds since the Unix epoch (the e2ee core takes time as an argument).
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn write_out(out: &mut dyn Write, text: &str) -> Result<(), AgentError> {
    out.write_all(text.as_bytes())
        .map_err(|e| AgentError::io("<stdout>", e))
}

/// Renders text as a terminal QR code (two pixel rows per character line).
pub fn qr_text(payload: &str) -> String {
    match QrCode::new(payload.as_bytes()) {
        Ok(code) => code
            .render::<Dense1x2>()
            .dark_color(Dense1x2::Light)
            .light_color(Dense1x2::Dark)
            .quiet_zone(true)
            .build(),
        Err(e) => format!("(no QR: {e})"),
    }
}

/// Fingerprint as three lines of four groups, the way people read safety numbers aloud.
pub fn fingerprint_lines(fingerprint: &Fingerprint) -> String {
    let groups = fingerprint.groups();
    groups
        .chunks(4)
        .map(|row| {
            row.iter()
                .map(|g| format!("{g:05}"))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// `init`: create the identity and print the fingerprint.
pub fn init(config: &AgentConfig, out: &mut dyn Write) -> Result<(), AgentError> {
    let state = StateDir::new(&config.state_dir);
    let identity = state.init_identity(&config.camera_id)?;
    let public = identity.public();
    write_out(
        out,
        &format!(
            "Created camera `{}` in {}\nFingerprint:\n{}\n",
            public.camera_id(),
            state.path().display(),
            fingerprint_lines(&public.fingerprint())
        ),
    )
}

/// `fingerprint`: print the fingerprint and its QR.
pub fn fingerprint(config: &AgentConfig, out: &mut dyn Write) -> Result<(), AgentError> {
    let public = StateDir::new(&config.state_dir).load_identity()?.public();
    let fingerprint = public.fingerprint();
    write_out(
        out,
        &format!(
            "Camera `{}`\n{}\n\n{}\n",
            public.camera_id(),
            fingerprint_lines(&fingerprint),
            qr_text(&format!(
                "sealcam-fp:{}:{}",
                public.camera_id(),
                fingerprint.digits()
            ))
        ),
    )
}

/// `pair`: issue a one-time pairing code, store it for `run`, print it and its QR.
pub fn pair(
    config: &AgentConfig,
    now: u64,
    out: &mut dyn Write,
) -> Result<PairingCode, AgentError> {
    let state = StateDir::new(&config.state_dir);
    let public = state.load_identity()?.public();
    let code = PairingCode::generate(&public, now);
    state.save_pending_pairing(&code)?;
    write_out(
        out,
        &format!(
            "Pairing code for camera `{}` (one use, valid for {} minutes):\n\n    {}\n\n{}\nThe running agent accepts it; enter it in the viewer or scan the QR.\n",
            public.camera_id(),
            code.expires_at().saturating_sub(now) / 60,
            code.to_base32(),
            qr_text(&code.qr_payload())
        ),
    )?;
    Ok(code)
}

/// `viewers list`: one line per member.
pub fn viewers_list(config: &AgentConfig, out: &mut dyn Write) -> Result<(), AgentError> {
    let membership = StateDir::new(&config.state_dir).load_membership()?;
    let mut text = format!(
        "{} device(s), membership version {}\n",
        membership.members().len(),
        membership.version()
    );
    for member in membership.members() {
        let role = match member.role {
            Role::Owner => "owner",
            Role::Viewer => "viewer",
        };
        text.push_str(&format!(
            "{}  {:<6}  {:<24}  added {}  fingerprint {}\n",
            member.device.device_id(),
            role,
            member.device.name(),
            member.added_at,
            member.device.fingerprint().digits()
        ));
    }
    write_out(out, &text)
}

/// `viewers revoke`: remove a device from the persisted membership.
pub fn viewers_revoke(
    config: &AgentConfig,
    device_id: &str,
    out: &mut dyn Write,
) -> Result<(), AgentError> {
    let state = StateDir::new(&config.state_dir);
    let mut membership = state.load_membership()?;
    if !membership.remove(device_id) {
        return Err(AgentError::UnknownViewer(device_id.to_owned()));
    }
    state.save_membership(&membership)?;
    write_out(
        out,
        &format!("Revoked {device_id}. A running agent rotates the media key now; the device gets no new keys.\n"),
    )
}
