//! Statistics over ratings. The leaderboard's interval is a seeded bootstrap of the mean of
//! per-result mean ratings: results are resampled with replacement, 1,000 rounds. Resampling n
//! results from a histogram of K distinct per-result means is one multinomial draw (K sequential
//! binomials), so a round costs O(K), not O(n): intervals stay fast at 300,000 ratings.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Binomial, Distribution};

pub const BOOTSTRAP_ROUNDS: usize = 1000;

/// A 95% percentile-bootstrap interval of the mean of `(value, count)` observations, or None with
/// no observations. Fewer than two observations say nothing about spread: the whole 1-5 scale.
pub fn bootstrap_interval(hist: &[(f64, u64)], rounds: usize, seed: u64) -> Option<(f64, f64)> {
    let n: u64 = hist.iter().map(|&(_, c)| c).sum();
    if n == 0 {
        return None;
    }
    if n < 2 {
        return Some((1.0, 5.0));
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut means: Vec<f64> = (0..rounds)
        .map(|_| {
            let (mut left, mut p_left, mut sum) = (n, 1.0_f64, 0.0);
            for (i, &(value, count)) in hist.iter().enumerate() {
                let p = count as f64 / n as f64;
                let k = if i + 1 == hist.len() || p_left <= p {
                    left
                } else {
                    Binomial::new(left, (p / p_left).clamp(0.0, 1.0)).expect("p in [0, 1]").sample(&mut rng)
                };
                sum += k as f64 * value;
                left -= k;
                p_left -= p;
            }
            sum / n as f64
        })
        .collect();
    means.sort_by(f64::total_cmp);
    let at = |q: f64| means[((q * rounds as f64) as usize).min(rounds - 1)];
    Some((at(0.025), at(0.975)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mean(hist: &[(f64, u64)]) -> f64 {
        let n: u64 = hist.iter().map(|h| h.1).sum();
        hist.iter().map(|&(v, c)| v * c as f64).sum::<f64>() / n as f64
    }

    #[test]
    fn the_interval_is_seeded_and_brackets_the_mean() {
        let hist = [(1.0, 3), (2.5, 4), (4.0, 10), (5.0, 6)];
        let a = bootstrap_interval(&hist, BOOTSTRAP_ROUNDS, 7).unwrap();
        assert_eq!(a, bootstrap_interval(&hist, BOOTSTRAP_ROUNDS, 7).unwrap(), "same seed, same interval");
        assert!(a.0 < mean(&hist) && mean(&hist) < a.1, "{a:?} around {}", mean(&hist));
    }

    #[test]
    fn the_interval_matches_the_standard_error_for_large_samples() {
        // 5,000 results: half rated 2, half rated 4. Mean 3, sd 1, standard error 1/sqrt(5000).
        let hist = [(2.0, 2500), (4.0, 2500)];
        let (lo, hi) = bootstrap_interval(&hist, BOOTSTRAP_ROUNDS, 1).unwrap();
        let half = 1.96 / (5000f64).sqrt();
        assert!(((hi - lo) / 2.0 - half).abs() < 0.15 * half, "half-width {} vs {half}", (hi - lo) / 2.0);
        assert!((lo + hi) / 2.0 - 3.0 < 0.01);
    }

    #[test]
    fn it_narrows_as_results_accumulate_and_is_degenerate_without_spread() {
        let width = |n| {
            let (lo, hi) = bootstrap_interval(&[(1.0, n), (5.0, n)], BOOTSTRAP_ROUNDS, 3).unwrap();
            hi - lo
        };
        assert!(width(10) > width(100) && width(100) > width(1000));
        assert_eq!(bootstrap_interval(&[(4.0, 50)], BOOTSTRAP_ROUNDS, 3), Some((4.0, 4.0)));
        assert_eq!(bootstrap_interval(&[(4.0, 1)], BOOTSTRAP_ROUNDS, 3), Some((1.0, 5.0)), "one result says nothing");
        assert_eq!(bootstrap_interval(&[], BOOTSTRAP_ROUNDS, 3), None);
    }
}
