//! Signaling messages → [`KeyAuthority`] handlers. Still no I/O: the pending pairing code
//! is fetched through a closure only when a `pair_request` needs it.

use e2ee::pairing::PairingCode;
use protocol::ServerMessage;

use super::{Effects, KeyAuthority};

impl KeyAuthority {
    /// Routes one server message. Relay messages go to their handler; a departed viewer's
    /// session is forgotten; anything else (server errors, unknown or unexpected types) is
    /// logged and changes nothing — never fatal.
    pub fn on_message(
        &mut self,
        message: ServerMessage,
        pending_code: impl FnOnce() -> Option<PairingCode>,
        now: u64,
    ) -> Effects {
        match message {
            ServerMessage::KeyRequest(request) => {
                self.on_key_request(request.from.as_str(), &request.payload.0, now)
            }
            ServerMessage::PairRequest(request) => {
                let code = pending_code();
                self.on_pair_request(
                    request.from.as_str(),
                    &request.payload.0,
                    code.as_ref(),
                    now,
                )
            }
            ServerMessage::OwnerCommand(command) => {
                self.on_owner_command(command.from.as_str(), &command.payload.0, now)
            }
            ServerMessage::ViewerLeft(left) => {
                self.forget_session(left.session_id.as_str());
                Effects::default()
            }
            ServerMessage::Error(error) => {
                tracing::warn!(code = ?error.code, message = %error.message, "server error");
                Effects::default()
            }
            other => {
                tracing::debug!(kind = other.kind(), "ignoring message");
                Effects::default()
            }
        }
    }
}
