//! Whole-system tests: camera agent, signaling, SFU and viewer in one process.
//!
//! The harness pieces the tests in `tests/` share:
//! * [`proxy`]: a WebSocket proxy in front of signaling that records every message either
//!   side sends, so a test sees every byte signaling relays;
//! * [`windows`]: the protected region of an H.264 frame (DESIGN.md, "Encrypted frame
//!   layout") and a hash set of its 16-byte windows, searched in linear time;
//! * [`crate_graph`]: the normal dependency graph of a package, from `cargo tree`;
//! * [`metric_names`]: metric names in Grafana/Prometheus files and in the metrics code.

pub mod crate_graph;
pub mod metric_names;
pub mod proxy;
pub mod windows;
