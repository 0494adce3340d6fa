//! The statistics of `patcher stats`: Wilson score intervals for a success rate and Fisher's
//! exact test (two-sided) for a change between two periods.

/// The normal quantile for a two-sided 95 % interval.
const Z95: f64 = 1.959_963_984_540_054;

/// The Wilson 95 % score interval of `successes` out of `total` (`None` for no trials).
pub fn wilson95(successes: u64, total: u64) -> Option<(f64, f64)> {
    if total == 0 {
        return None;
    }
    let n = total as f64;
    let p = successes as f64 / n;
    let z2 = Z95 * Z95;
    let denom = 1.0 + z2 / n;
    let center = (p + z2 / (2.0 * n)) / denom;
    let half = Z95 * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt() / denom;
    Some(((center - half).max(0.0), (center + half).min(1.0)))
}

fn ln_factorial(n: u64) -> f64 {
    (2..=n).map(|i| (i as f64).ln()).sum()
}

/// Two-sided Fisher's exact test of the 2×2 table [[s1, f1], [s2, f2]] (successes and
/// failures of two periods): the probability, with the margins fixed, of a table at least as
/// unlikely as the observed one. `None` when a margin is empty.
pub fn fisher_two_sided(s1: u64, f1: u64, s2: u64, f2: u64) -> Option<f64> {
    let row1 = s1 + f1;
    let row2 = s2 + f2;
    let col1 = s1 + s2;
    let n = row1 + row2;
    if row1 == 0 || row2 == 0 || col1 == 0 || col1 == n {
        return Some(1.0).filter(|_| row1 > 0 && row2 > 0);
    }
    let fixed =
        ln_factorial(row1) + ln_factorial(row2) + ln_factorial(col1) + ln_factorial(n - col1)
            - ln_factorial(n);
    // P(top-left cell = a) under the hypergeometric distribution.
    let p = |a: u64| {
        (fixed
            - ln_factorial(a)
            - ln_factorial(row1 - a)
            - ln_factorial(col1 - a)
            - ln_factorial(row2 + a - col1))
        .exp()
    };
    let observed = p(s1);
    let lo = col1.saturating_sub(row2);
    let hi = row1.min(col1);
    // A relative tolerance so tables as likely as the observed one count despite rounding.
    let total: f64 = (lo..=hi)
        .map(p)
        .filter(|&q| q <= observed * (1.0 + 1e-7))
        .sum();
    Some(total.min(1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fisher_matches_hand_computed_values() {
        // 4/10 vs 9/10: tables with a ≤ 4 or a ≥ 9 of 13 successes; p = 0.05728.
        let p = fisher_two_sided(4, 6, 9, 1).unwrap();
        assert!((p - 0.057_275).abs() < 1e-4, "{p}");
        // 7/20 vs 18/20: p ≈ 7.7e-4.
        let p = fisher_two_sided(7, 13, 18, 2).unwrap();
        assert!((p - 7.7e-4).abs() < 0.5e-4, "{p}");
        // Symmetric in the periods, and 1 for identical rates.
        assert!((fisher_two_sided(9, 1, 4, 6).unwrap() - 0.057_275).abs() < 1e-4);
        assert!((fisher_two_sided(5, 5, 5, 5).unwrap() - 1.0).abs() < 1e-9);
    }

    #[test]
    fn fisher_needs_two_periods_with_runs() {
        assert_eq!(fisher_two_sided(0, 0, 3, 1), None);
        assert_eq!(fisher_two_sided(3, 0, 5, 0), Some(1.0));
    }

    #[test]
    fn wilson_matches_hand_computed_values() {
        // 4/10: [0.1682, 0.6873]; 9/10: [0.5958, 0.9821].
        let (lo, hi) = wilson95(4, 10).unwrap();
        assert!(
            (lo - 0.1682).abs() < 1e-4 && (hi - 0.6873).abs() < 1e-4,
            "{lo} {hi}"
        );
        let (lo, hi) = wilson95(9, 10).unwrap();
        assert!(
            (lo - 0.5958).abs() < 1e-4 && (hi - 0.9821).abs() < 1e-4,
            "{lo} {hi}"
        );
        let (lo, hi) = wilson95(0, 5).unwrap();
        assert!(lo == 0.0 && (hi - 0.4345).abs() < 1e-4, "{lo} {hi}");
        assert_eq!(wilson95(0, 0), None);
    }
}
