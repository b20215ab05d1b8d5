//! Metric names as dashboards and alert rules use them, and as the code defines them, so a
//! test can fail when the two drift apart.
//!
//! Each service builds its names from a prefix and a string literal in one file:
//! `sfu_` + name (sfu/src/metrics.rs), `sealcam_signaling_` + name
//! (signaling/src/metrics.rs), `sealcam_agent_` + name (camera-agent/src/metrics.rs).

use std::collections::BTreeSet;

/// (prefix, the file under the workspace root that defines that service's metrics).
pub const SERVICES: [(&str, &str); 3] = [
    ("sealcam_signaling_", "signaling/src/metrics.rs"),
    ("sealcam_agent_", "camera-agent/src/metrics.rs"),
    ("sfu_", "sfu/src/metrics.rs"),
];

/// Suffixes Prometheus adds to a histogram's name.
const HISTOGRAM_SUFFIXES: [&str; 3] = ["_bucket", "_sum", "_count"];

/// Every identifier in `text` (a PromQL expression, a JSON dashboard, YAML rules,
/// Markdown) that starts with one of the services' prefixes (a bare prefix such as
/// `sfu_` in prose is not a name).
#[must_use]
pub fn used_names(text: &str) -> BTreeSet<String> {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
        .filter(|word| !word.ends_with('_'))
        .filter(|word| SERVICES.iter().any(|(prefix, _)| word.starts_with(prefix)))
        .map(str::to_owned)
        .collect()
}

/// The full names a metrics source file can produce: `prefix` + every string literal
/// made only of `a-z 0-9 _` (help texts have spaces; label names also pass, harmlessly).
#[must_use]
pub fn defined_names(prefix: &str, source: &str) -> BTreeSet<String> {
    source
        .split('"')
        .skip(1)
        .step_by(2)
        .filter(|literal| {
            !literal.is_empty()
                && literal
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        })
        .map(|literal| format!("{prefix}{literal}"))
        .collect()
}

/// The names a source file passes as the first argument of `call` (e.g. `opts(` or
/// `HistogramOpts::new(`), prefixed: how signaling declares its labelled metrics, which
/// only show in the exposition once a label value was used.
#[must_use]
pub fn declared_names(prefix: &str, source: &str, call: &str) -> BTreeSet<String> {
    source
        .split(call)
        .skip(1)
        .filter_map(|rest| rest.trim_start().strip_prefix('"'))
        .filter_map(|rest| rest.split('"').next())
        .map(|name| format!("{prefix}{name}"))
        .collect()
}

/// Whether `name` is a defined metric, or a histogram series of one.
#[must_use]
pub fn is_defined(name: &str, defined: &BTreeSet<String>) -> bool {
    defined.contains(name)
        || HISTOGRAM_SUFFIXES.iter().any(|suffix| {
            name.strip_suffix(suffix)
                .is_some_and(|base| defined.contains(base))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_names_in_expressions_and_literals_in_code() {
        let used = used_names(
            r#"{"expr": "rate(sfu_packets_out_total[5m]) / sealcam_agent_members", "x": "sfu"}"#,
        );
        assert_eq!(
            used.into_iter().collect::<Vec<_>>(),
            ["sealcam_agent_members", "sfu_packets_out_total"]
        );
        let defined = defined_names("sfu_", r#"counter("packets_out_total", "RTP packets out")"#);
        assert!(defined.contains("sfu_packets_out_total"));
        assert!(!defined.iter().any(|n| n.contains(' ')));
        let declared = declared_names(
            "p_",
            "let a = opts(\n    \"a_total\", \"A\");\nHistogramOpts::new(\"b_seconds\", \"B\")",
            "opts(",
        );
        assert_eq!(declared.into_iter().collect::<Vec<_>>(), ["p_a_total"]);
        let hist: BTreeSet<String> = ["sfu_first_packet_seconds".to_owned()].into();
        assert!(is_defined("sfu_first_packet_seconds_bucket", &hist));
        assert!(!is_defined("sfu_first_packet", &hist));
    }
}
