//! Bounded waiting for a condition the test cannot await directly (a counter another
//! thread moves, a metric): poll it until it holds, failing only once the deadline passed.

use std::time::{Duration, Instant};

/// How often the condition is checked.
const POLL: Duration = Duration::from_millis(5);

/// Polls `condition` until it holds; returns how long that took.
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
        tokio::time::sleep(POLL).await;
    }
    started.elapsed()
}
