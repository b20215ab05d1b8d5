//! Statistics over one run: quantiles of delay samples, the RFC 3550 jitter estimator, and
//! per-subscriber packet and frame accounting.

/// Quantiles of a set of samples (any unit), computed by sorting once.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Quantiles {
    sorted: Vec<f64>,
}

impl Quantiles {
    /// Sorts `samples`; NaNs are dropped (they carry no information).
    #[must_use]
    pub fn new(mut samples: Vec<f64>) -> Self {
        samples.retain(|s| !s.is_nan());
        samples.sort_by(f64::total_cmp);
        Self { sorted: samples }
    }

    /// How many samples there are.
    #[must_use]
    pub fn len(&self) -> usize {
        self.sorted.len()
    }

    /// True when there is no sample.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.sorted.is_empty()
    }

    /// The `q` quantile (0.0..=1.0) by the nearest-rank method, or `None` without samples.
    #[must_use]
    pub fn quantile(&self, q: f64) -> Option<f64> {
        if self.sorted.is_empty() {
            return None;
        }
        let q = q.clamp(0.0, 1.0);
        // Nearest rank: the smallest sample with at least q of the samples at or below it.
        let rank = (q * self.sorted.len() as f64).ceil() as usize;
        let index = rank.saturating_sub(1).min(self.sorted.len() - 1);
        self.sorted.get(index).copied()
    }

    /// The arithmetic mean, or `None` without samples.
    #[must_use]
    pub fn mean(&self) -> Option<f64> {
        if self.sorted.is_empty() {
            return None;
        }
        Some(self.sorted.iter().sum::<f64>() / self.sorted.len() as f64)
    }
}

/// Interarrival jitter as RFC 3550 §6.4.1 defines it (J += (|D| − J) / 16), in
/// microseconds. Transit times come from the generator's own clock on both ends, so no
/// clock offset enters: D is the change in forwarding delay between consecutive packets.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Jitter {
    last_transit_us: Option<f64>,
    jitter_us: f64,
}

impl Jitter {
    /// Feeds the forwarding delay of the next packet in arrival order.
    pub fn update(&mut self, transit_us: f64) {
        if let Some(last) = self.last_transit_us {
            let d = (transit_us - last).abs();
            self.jitter_us += (d - self.jitter_us) / 16.0;
        }
        self.last_transit_us = Some(transit_us);
    }

    /// The current estimate in microseconds.
    #[must_use]
    pub fn micros(&self) -> f64 {
        self.jitter_us
    }
}

/// A growable bit set over packet or frame indices.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BitSet {
    words: Vec<u64>,
}

impl BitSet {
    /// Sets bit `index`; returns true when it was not set before.
    pub fn insert(&mut self, index: usize) -> bool {
        let word = index / 64;
        if word >= self.words.len() {
            self.words.resize(word + 1, 0);
        }
        let mask = 1u64 << (index % 64);
        let fresh = self.words[word] & mask == 0;
        self.words[word] |= mask;
        fresh
    }

    /// Whether bit `index` is set.
    #[must_use]
    pub fn contains(&self, index: usize) -> bool {
        self.words
            .get(index / 64)
            .is_some_and(|w| w & (1u64 << (index % 64)) != 0)
    }

    /// How many bits are set in `range`.
    #[must_use]
    pub fn count_in(&self, range: std::ops::Range<usize>) -> usize {
        range.filter(|&i| self.contains(i)).count()
    }
}

/// Loss over a window of packets a subscriber should have received: the fraction of
/// `expected` that never arrived (0.0 when nothing was expected).
#[must_use]
pub fn loss_fraction(received: usize, expected: usize) -> f64 {
    if expected == 0 {
        return 0.0;
    }
    1.0 - (received.min(expected) as f64 / expected as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_use_nearest_rank() {
        let q = Quantiles::new((1..=100).map(f64::from).rev().collect());
        assert_eq!(q.quantile(0.5), Some(50.0));
        assert_eq!(q.quantile(0.99), Some(99.0));
        assert_eq!(q.quantile(0.95), Some(95.0));
        assert_eq!(q.quantile(1.0), Some(100.0));
        assert_eq!(q.quantile(0.0), Some(1.0));
        assert_eq!(q.mean(), Some(50.5));
    }

    #[test]
    fn quantiles_of_nothing_are_none_and_nan_is_ignored() {
        assert_eq!(Quantiles::new(vec![]).quantile(0.5), None);
        let q = Quantiles::new(vec![f64::NAN, 3.0]);
        assert_eq!((q.len(), q.quantile(0.5)), (1, Some(3.0)));
    }

    #[test]
    fn jitter_is_zero_for_constant_delay_and_converges_to_the_swing() {
        let mut j = Jitter::default();
        for _ in 0..50 {
            j.update(1000.0);
        }
        assert_eq!(j.micros(), 0.0);
        // Alternating 1000/1400 µs: |D| = 400 every packet, so J converges to 400.
        for i in 0..400 {
            j.update(if i % 2 == 0 { 1000.0 } else { 1400.0 });
        }
        assert!((j.micros() - 400.0).abs() < 1.0, "{}", j.micros());
    }

    #[test]
    fn jitter_first_step_is_one_sixteenth() {
        let mut j = Jitter::default();
        j.update(0.0);
        j.update(160.0);
        assert_eq!(j.micros(), 10.0);
    }

    #[test]
    fn bitset_counts_and_reports_duplicates() {
        let mut b = BitSet::default();
        assert!(b.insert(3));
        assert!(!b.insert(3));
        assert!(b.insert(200));
        assert!(b.contains(200) && !b.contains(199) && !b.contains(10_000));
        assert_eq!(b.count_in(0..201), 2);
        assert_eq!(b.count_in(4..200), 0);
    }

    #[test]
    fn loss_fraction_counts_missing_packets() {
        assert_eq!(loss_fraction(0, 0), 0.0);
        assert_eq!(loss_fraction(98, 100), 0.020_000_000_000_000_018);
        assert_eq!(loss_fraction(120, 100), 0.0);
    }
}
