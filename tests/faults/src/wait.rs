//! Bounded waiting: poll a condition until it holds or a deadline passes.

use std::time::Duration;

pub use test_support::wait::until;

/// Generous bound for one expected event on a loaded 2-core CI machine.
pub const DEADLINE: Duration = Duration::from_secs(30);
