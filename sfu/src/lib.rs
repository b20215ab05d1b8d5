//! sfu: placeholder, filled in by its issue.
