//! One publishing session: a connected [`Publisher`], the frame encryptor and the
//! key-frame limiter, driven frame by frame by the run loop (or a test).
//!
//! The caller `select!`s on the source, on [`MediaSession::key_frame_request`] and on its
//! own events (signaling, rotation), then calls [`MediaSession::send`] outside the select,
//! so a frame is never half-written when another branch wins.

use std::sync::Arc;
use std::time::{Duration, Instant};

use e2ee::MediaKey;

use super::feedback::{KeyFrameLimiter, MIN_FORCED_KEY_FRAME_INTERVAL};
use super::frames::{FrameProtector, ProtectedFrame};
use super::{Publisher, PublisherStats};
use crate::error::AgentError;
use crate::source::{AccessUnit, VideoSource};

/// Publisher + encryption + key-frame pacing.
#[derive(Debug)]
pub struct MediaSession {
    publisher: Publisher,
    protector: FrameProtector,
    limiter: KeyFrameLimiter,
}

impl MediaSession {
    /// Wraps a connected publisher; frames are encrypted under `key`.
    pub fn new(publisher: Publisher, key: &MediaKey) -> Self {
        Self::with_interval(publisher, key, MIN_FORCED_KEY_FRAME_INTERVAL)
    }

    /// As [`new`](Self::new) with a custom minimum spacing of forced IDRs.
    pub fn with_interval(
        publisher: Publisher,
        key: &MediaKey,
        min_key_frame_interval: Duration,
    ) -> Self {
        Self {
            publisher,
            protector: FrameProtector::new(key),
            limiter: KeyFrameLimiter::new(min_key_frame_interval),
        }
    }

    /// Waits for a PLI/FIR from the SFU. Cancel-safe.
    pub async fn key_frame_request(&mut self) -> Option<()> {
        self.publisher.key_frame_request().await
    }

    /// Records a key-frame request (from the SFU, or a key rotation).
    pub fn request_key_frame(&mut self) {
        self.limiter.request();
    }

    /// Switches to a new media key and asks for an IDR, so viewers holding the new key
    /// can decode from the first frame they can decrypt.
    pub fn rekey(&mut self, key: &MediaKey) {
        self.protector.rekey(key);
        self.limiter.request();
    }

    /// The generation frames are being encrypted under.
    pub fn generation(&self) -> u64 {
        self.protector.generation()
    }

    /// Whether the SFrame counter is near exhaustion (rotate before sending more).
    pub fn needs_rotation(&self) -> bool {
        self.protector.needs_rotation()
    }

    /// Encrypts and sends one unit; forwards a due key-frame request to `source` (it
    /// takes effect on the next frame the source encodes).
    pub async fn send(
        &mut self,
        unit: &AccessUnit,
        source: &VideoSource,
    ) -> Result<ProtectedFrame, AgentError> {
        let now = Instant::now();
        let frame = self.protector.protect(unit)?;
        if frame.key_frame {
            self.limiter.key_frame_sent(now);
        } else if self.limiter.should_force(now) && source.request_key_frame() {
            // Counted as answered now; the IDR follows within a frame or two.
            self.limiter.key_frame_sent(now);
        }
        self.publisher.write(&frame).await?;
        Ok(frame)
    }

    /// The publisher's counters.
    pub fn stats(&self) -> Arc<PublisherStats> {
        self.publisher.stats()
    }

    /// The underlying publisher (connection state).
    pub fn publisher(&self) -> &Publisher {
        &self.publisher
    }

    /// Closes the connection.
    pub async fn close(self) {
        self.publisher.close().await;
    }
}
