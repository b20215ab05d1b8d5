//! Configuration layering: defaults → TOML file → environment → flags; unknown keys are
//! rejected. (Its own test binary: it sets process environment variables.)

use std::path::PathBuf;

use camera_agent::cli::Cli;
use camera_agent::config::AgentConfig;
use camera_agent::AgentError;
use clap::Parser;

#[test]
fn file_then_env_then_flags() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("agent.toml");
    std::fs::write(
        &file,
        "camera_id = \"porch\"\nfps = 15\nwidth = 320\nheight = 240\nsource = \"stdin\"\n",
    )
    .expect("write config");
    let file_arg = file.to_str().expect("utf-8 path");

    // File only.
    let cli =
        Cli::try_parse_from(["camera-agent", "--config", file_arg, "fingerprint"]).expect("parse");
    let config = AgentConfig::load(&cli.settings).expect("load");
    assert_eq!(
        (config.camera_id.as_str(), config.fps, config.width),
        ("porch", 15, 320)
    );
    assert_eq!(
        config.rotation_secs, 600,
        "untouched keys keep their defaults"
    );

    // The environment beats the file...
    std::env::set_var("SEALCAM_AGENT_FPS", "20");
    std::env::set_var("SEALCAM_AGENT_SOURCE", "file:/srv/clip.h264");
    let cli = Cli::try_parse_from(["camera-agent", "--config", file_arg, "run"]).expect("parse");
    let config = AgentConfig::load(&cli.settings).expect("load");
    assert_eq!(
        (config.fps, config.source.as_str()),
        (20, "file:/srv/clip.h264")
    );

    // ...and a flag beats the environment.
    let cli = Cli::try_parse_from(["camera-agent", "--config", file_arg, "run", "--fps", "25"])
        .expect("parse");
    let config = AgentConfig::load(&cli.settings).expect("load");
    assert_eq!(config.fps, 25);
    std::env::remove_var("SEALCAM_AGENT_FPS");
    std::env::remove_var("SEALCAM_AGENT_SOURCE");

    // Out-of-range values are named.
    let cli = Cli::try_parse_from([
        "camera-agent",
        "--config",
        file_arg,
        "run",
        "--width",
        "333",
    ])
    .expect("parse");
    let err = AgentConfig::load(&cli.settings).expect_err("odd width");
    assert!(
        matches!(err, AgentError::InvalidSetting { key: "width", .. }),
        "{err}"
    );
}

#[test]
fn unknown_keys_are_rejected_with_the_file_named() {
    let err = AgentConfig::from_toml(
        "camera_id = \"x\"\nframerate = 30\n",
        &PathBuf::from("agent.toml"),
    )
    .expect_err("unknown key");
    let text = err.to_string();
    assert!(
        text.contains("agent.toml") && text.contains("framerate"),
        "{text}"
    );
}

#[test]
fn sample_file_parses_and_validates() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("camera-agent.sample.toml");
    let text = std::fs::read_to_string(&path).expect("sample file");
    let config = AgentConfig::from_toml(&text, &path).expect("sample parses");
    config.validate().expect("sample is valid");
    assert_eq!(config.fps, AgentConfig::default().fps);
}

#[test]
fn rotation_grace_defaults_to_two_seconds_and_must_fit_the_interval() {
    let config = AgentConfig::default();
    assert_eq!(config.rotation_grace(), std::time::Duration::from_secs(2));
    let path = PathBuf::from("agent.toml");
    let config = AgentConfig::from_toml("rotation_grace_ms = 500\n", &path).expect("grace parses");
    config.validate().expect("500 ms is fine");
    assert_eq!(config.rotation_grace_ms, 500);

    // A grace as long as the interval would postpone every switch past the next rotation.
    let config = AgentConfig::from_toml("rotation_secs = 10\nrotation_grace_ms = 10000\n", &path)
        .expect("parses");
    let err = config.validate().expect_err("grace ≥ interval");
    assert!(
        matches!(
            err,
            AgentError::InvalidSetting {
                key: "rotation_grace_ms",
                ..
            }
        ),
        "{err}"
    );
}
