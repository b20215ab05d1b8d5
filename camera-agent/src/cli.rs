//! Command-line interface (clap). Every command has `--help`.

use clap::{Parser, Subcommand};

use crate::config::ConfigArgs;

/// Sealcam camera agent: encrypts every video frame on the camera and publishes it;
/// the server relays what it cannot read.
#[derive(Debug, Parser)]
#[command(name = "camera-agent", version, about, long_about = None)]
pub struct Cli {
    /// Settings shared by every command (each also readable from SEALCAM_AGENT_*).
    #[command(flatten)]
    pub settings: ConfigArgs,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The agent's commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create the camera identity in the state directory and print its fingerprint.
    Init,
    /// Capture (or ingest), encrypt and publish video until stopped.
    Run,
    /// Print a one-time pairing code (and its QR) for a new viewer device; valid 10 minutes.
    Pair,
    /// List or revoke the devices allowed to watch.
    Viewers {
        /// list or revoke.
        #[command(subcommand)]
        action: ViewersAction,
    },
    /// Print the camera's fingerprint (12 groups of 5 digits, and a QR) to compare with a viewer.
    Fingerprint,
}

/// `viewers` sub-commands.
#[derive(Debug, Subcommand)]
pub enum ViewersAction {
    /// Show every paired device with its role and fingerprint.
    List,
    /// Remove a device; a running agent rotates the media key at once so it sees nothing new.
    Revoke {
        /// The device id shown by `viewers list`.
        device_id: String,
    },
}
