//! End-to-end SFU tests: an SFU on 127.0.0.1:0 and real str0m WebRTC clients as camera
//! and viewers, random bytes standing in for SFrame ciphertext in VP8 and H.264 framing.

#[path = "../common/mod.rs"]
mod common;

mod early_checks;
mod forwarding;
mod hostile_sdp;
mod ice_tcp;
mod isolation;
mod keyframes;
mod nack;
mod scale;
mod tap;
