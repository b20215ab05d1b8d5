//! `taskset -c` CPU lists ("0", "0,2", "0-3,6"): how many CPUs one names, so a server can
//! be given as many event loops or workers as it has cores.

use anyhow::{bail, Context as _};

/// The number of distinct CPUs in a `taskset -c` list.
pub fn count(list: &str) -> anyhow::Result<usize> {
    Ok(cpus(list)?.len())
}

/// The distinct CPUs of a `taskset -c` list, in order.
pub fn cpus(list: &str) -> anyhow::Result<std::collections::BTreeSet<u32>> {
    let mut cpus = std::collections::BTreeSet::new();
    for part in list.split(',').map(str::trim) {
        let (first, last) = match part.split_once('-') {
            Some((a, b)) => (cpu(a, list)?, cpu(b, list)?),
            None => {
                let n = cpu(part, list)?;
                (n, n)
            }
        };
        if first > last {
            bail!("CPU range {part:?} in {list:?} runs backwards");
        }
        cpus.extend(first..=last);
    }
    Ok(cpus)
}

/// Above the kernel's largest CPU count (CONFIG_NR_CPUS ≤ 8192): a typo such as
/// "0-40000000" is refused rather than expanded.
const MAX_CPU: u32 = 8191;

fn cpu(text: &str, list: &str) -> anyhow::Result<u32> {
    let n: u32 = text
        .trim()
        .parse()
        .with_context(|| format!("{list:?} is not a CPU list like \"0\", \"0,2\" or \"0-3\""))?;
    if n > MAX_CPU {
        bail!("CPU {n} in {list:?} is above {MAX_CPU}, the most Linux supports");
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::{count, cpus};

    #[test]
    fn counts_single_cpus_ranges_and_overlaps_once() {
        assert_eq!(count("0").unwrap(), 1);
        assert_eq!(count("0,2").unwrap(), 2);
        assert_eq!(count("0-3,6").unwrap(), 5);
        assert_eq!(count("1-2, 2-3").unwrap(), 3);
    }

    #[test]
    fn lists_the_cpus_in_order() {
        assert_eq!(
            cpus("3,0-1").unwrap().into_iter().collect::<Vec<_>>(),
            [0, 1, 3]
        );
    }

    #[test]
    fn rejects_what_taskset_would_reject() {
        for bad in ["", "a", "3-1", "0,", "-1", "0-40000000"] {
            assert!(count(bad).is_err(), "{bad:?} accepted");
        }
    }
}
