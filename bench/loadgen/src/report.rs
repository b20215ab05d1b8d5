//! The side-by-side table: one row per figure, Sealcam and Janus next to each other, and
//! Sealcam's advantage as a ratio oriented so that above 1.0 always means Sealcam is better.

/// Whether a smaller or a larger figure is better.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Better {
    /// Delay, CPU, memory, loss.
    Lower,
    /// Capacity, recovered frames.
    Higher,
    /// The load generator's own figures: context for reading a row (a busy generator
    /// bounds it), not a contest between the servers, so no ratio is shown.
    Context,
}

/// One figure of the table.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// Scenario, e.g. "efficiency 100 subs".
    pub scenario: String,
    /// What is measured, with its unit, e.g. "CPU µs/packet".
    pub metric: String,
    /// Sealcam's figure (NaN or None when not measured).
    pub sealcam: Option<f64>,
    /// Janus's figure.
    pub janus: Option<f64>,
    /// Orientation of the ratio.
    pub better: Better,
}

impl Row {
    /// Sealcam's advantage: Janus / Sealcam for lower-is-better figures, Sealcam / Janus
    /// otherwise. `None` when either side is missing or the division is meaningless.
    #[must_use]
    pub fn advantage(&self) -> Option<f64> {
        let (s, j) = (self.sealcam?, self.janus?);
        if !s.is_finite() || !j.is_finite() {
            return None;
        }
        let (num, den) = match self.better {
            Better::Lower => (j, s),
            Better::Higher => (s, j),
            Better::Context => return None,
        };
        if den == 0.0 {
            // 0 against 0 is a tie; a positive figure against a perfect 0 is unbounded.
            return Some(if num == 0.0 { 1.0 } else { f64::INFINITY });
        }
        Some(num / den)
    }
}

fn cell(value: Option<f64>) -> String {
    match value {
        Some(v) if v.is_finite() => {
            if v.abs() >= 100.0 {
                format!("{v:.0}")
            } else if v.abs() >= 10.0 {
                format!("{v:.1}")
            } else {
                format!("{v:.2}")
            }
        }
        _ => "–".to_owned(),
    }
}

/// Renders the rows as a Markdown table (readable in a terminal too).
#[must_use]
pub fn render(rows: &[Row]) -> String {
    let mut out = String::from(
        "| scenario | metric | Sealcam | Janus | Sealcam advantage |\n|---|---|---:|---:|---:|\n",
    );
    for row in rows {
        let advantage = match row.advantage() {
            Some(a) if a.is_infinite() => "∞ (Sealcam 0)".to_owned(),
            Some(a) if a >= 1.0 => format!("{a:.2}×"),
            Some(a) => format!("{a:.2}× (Janus better)"),
            None => "–".to_owned(),
        };
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} |\n",
            row.scenario,
            row.metric,
            cell(row.sealcam),
            cell(row.janus),
            advantage
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(sealcam: Option<f64>, janus: Option<f64>, better: Better) -> Row {
        Row {
            scenario: "s".into(),
            metric: "m".into(),
            sealcam,
            janus,
            better,
        }
    }

    #[test]
    fn advantage_is_oriented_so_above_one_favours_sealcam() {
        assert_eq!(
            row(Some(2.0), Some(8.0), Better::Lower).advantage(),
            Some(4.0)
        );
        assert_eq!(
            row(Some(400.0), Some(100.0), Better::Higher).advantage(),
            Some(4.0)
        );
        assert_eq!(
            row(Some(8.0), Some(2.0), Better::Lower).advantage(),
            Some(0.25)
        );
        assert_eq!(
            row(Some(0.0), Some(0.0), Better::Lower).advantage(),
            Some(1.0)
        );
        assert_eq!(
            row(Some(0.0), Some(0.1), Better::Lower).advantage(),
            Some(f64::INFINITY)
        );
        assert_eq!(row(None, Some(1.0), Better::Lower).advantage(), None);
        assert_eq!(row(Some(1.0), Some(2.0), Better::Context).advantage(), None);
        assert_eq!(
            row(Some(f64::NAN), Some(1.0), Better::Lower).advantage(),
            None
        );
    }

    #[test]
    fn table_shows_both_sides_and_the_ratio() {
        let text = render(&[
            Row {
                scenario: "efficiency 50".into(),
                metric: "CPU µs/packet".into(),
                sealcam: Some(3.456),
                janus: Some(12.34),
                better: Better::Lower,
            },
            row(Some(5.0), None, Better::Higher),
            row(Some(4.0), Some(2.0), Better::Lower),
            row(Some(0.0), Some(62.7), Better::Lower),
        ]);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[2],
            "| efficiency 50 | CPU µs/packet | 3.46 | 12.3 | 3.57× |"
        );
        assert_eq!(lines[3], "| s | m | 5.00 | – | – |");
        assert_eq!(lines[4], "| s | m | 4.00 | 2.00 | 0.50× (Janus better) |");
        assert_eq!(lines[5], "| s | m | 0.00 | 62.7 | ∞ (Sealcam 0) |");
    }
}
