//! Hostile input at every external interface of Sealcam.
