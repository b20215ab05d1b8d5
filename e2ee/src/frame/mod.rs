//! Placeholder: filled in by the frame work.
