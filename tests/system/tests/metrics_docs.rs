//! The Grafana dashboard, the Prometheus alert rules and docs/metrics.md cannot name a
//! metric the code does not define: every `sfu_…`, `sealcam_signaling_…` and
//! `sealcam_agent_…` identifier in them must be built by that service's metrics file
//! (histogram series `_bucket`, `_sum`, `_count` count as their histogram). And the other
//! way round: every metric the services export is documented in docs/metrics.md.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use system_tests::metric_names::{declared_names, defined_names, is_defined, used_names, SERVICES};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn read(relative: &str) -> String {
    let path = root().join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

fn defined() -> BTreeSet<String> {
    SERVICES
        .iter()
        .flat_map(|(prefix, file)| defined_names(prefix, &read(file)))
        .collect()
}

fn check(file: &str, minimum: usize) {
    let defined = defined();
    let used = used_names(&read(file));
    assert!(
        used.len() >= minimum,
        "{file} names only {} metrics: {used:?}",
        used.len()
    );
    let unknown: Vec<&String> = used.iter().filter(|n| !is_defined(n, &defined)).collect();
    assert!(
        unknown.is_empty(),
        "{file} uses metrics the code does not define: {unknown:?}"
    );
}

#[test]
fn the_dashboard_uses_only_defined_metrics() {
    check("docs/grafana/sealcam.json", 30);
    // And it is JSON Grafana can import.
    let dashboard: serde_json::Value =
        serde_json::from_str(&read("docs/grafana/sealcam.json")).expect("valid JSON");
    assert!(dashboard["panels"]
        .as_array()
        .is_some_and(|p| !p.is_empty()));
}

#[test]
fn the_alert_rules_use_only_defined_metrics() {
    check("docs/prometheus/alerts.yml", 10);
}

#[test]
fn the_metrics_reference_names_only_defined_metrics() {
    check("docs/metrics.md", 35);
}

#[test]
fn an_undefined_name_is_caught() {
    let defined = defined();
    assert!(is_defined("sfu_packets_out_total", &defined));
    assert!(is_defined(
        "sealcam_signaling_session_setup_seconds_bucket",
        &defined
    ));
    assert!(is_defined("sealcam_agent_frames_sent_total", &defined));
    assert!(!is_defined("sfu_packets_forwarded_total", &defined));
    assert!(!is_defined("sealcam_agent_frames_dropped_total", &defined));
}

/// Names declared by `# TYPE` lines of a Prometheus text exposition.
fn exported(text: &str) -> BTreeSet<String> {
    text.lines()
        .filter_map(|line| line.strip_prefix("# TYPE "))
        .filter_map(|rest| rest.split_whitespace().next())
        .map(str::to_owned)
        .collect()
}

#[tokio::test]
async fn every_exported_metric_is_documented() {
    let sfu = sfu::Sfu::start(sfu::SfuConfig {
        bind: "127.0.0.1:0".parse().expect("address"),
        workers: 1,
        ..sfu::SfuConfig::default()
    })
    .await
    .expect("sfu starts");
    let mut names = exported(&sfu.handle().metrics_text());
    sfu.shutdown().await;
    names.extend(exported(
        &signaling::Metrics::new().expect("signaling metrics").text(),
    ));
    // Labelled signaling metrics appear in the exposition only once used: take their
    // names from where the code declares them.
    let source = read("signaling/src/metrics.rs");
    for call in ["opts(", "HistogramOpts::new("] {
        names.extend(declared_names("sealcam_signaling_", &source, call));
    }
    // The SFU's labelled ones likewise (`Opts::new(` also matches `HistogramOpts::new(`).
    names.extend(declared_names(
        "sfu_",
        &read("sfu/src/metrics.rs"),
        "Opts::new(",
    ));
    names.extend(exported(
        &camera_agent::metrics::AgentMetrics::default().render(),
    ));
    assert!(names.len() >= 25, "the expositions are real: {names:?}");
    let documented = used_names(&read("docs/metrics.md"));
    let missing: Vec<&String> = names.difference(&documented).collect();
    assert!(
        missing.is_empty(),
        "docs/metrics.md does not document {missing:?}"
    );
}
