//! signaling: placeholder, filled in by its issue.
