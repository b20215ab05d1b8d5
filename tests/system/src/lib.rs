//! Whole-system tests: camera agent, signaling, SFU and viewer in one process.
