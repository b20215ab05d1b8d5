//! Every command answers `--help` (run through the real binary).

use std::process::Command;

fn help(args: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_camera-agent"))
        .args(args)
        .arg("--help")
        .output()
        .expect("run camera-agent");
    assert!(output.status.success(), "{args:?} --help failed");
    String::from_utf8(output.stdout).expect("utf-8")
}

#[test]
fn every_command_has_help() {
    let top = help(&[]);
    for command in ["init", "run", "pair", "viewers", "fingerprint"] {
        assert!(top.contains(command), "top-level help lists {command}");
    }
    assert!(help(&["run"]).contains("--source"));
    assert!(help(&["init"]).contains("identity"));
    assert!(help(&["pair"]).contains("pairing code"));
    assert!(help(&["fingerprint"]).contains("fingerprint"));
    assert!(help(&["viewers"]).contains("revoke"));
    assert!(help(&["viewers", "list"]).contains("paired device"));
    assert!(help(&["viewers", "revoke"]).contains("DEVICE_ID"));
}

#[test]
fn clap_definition_is_consistent() {
    use clap::CommandFactory;
    camera_agent::cli::Cli::command().debug_assert();
}
