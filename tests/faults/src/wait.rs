//! Bounded waiting: poll a condition until it holds or a deadline passes.

use std::time::Duration;
use tokio::time::Instant;

/// Generous bound for one expected event on a loaded 2-core CI machine.
pub const DEADLINE: Duration = Duration::from_secs(30);

/// Polls `condition` every 20 ms until it holds; returns how long that took.
///
/// # Panics
/// When `within` passes first, naming `what`.
pub async fn until(what: &str, within: Duration, mut condition: impl FnMut() -> bool) -> Duration {
    let started = Instant::now();
    while !condition() {
        assert!(
            started.elapsed() < within,
            "timed out after {within:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    started.elapsed()
}
