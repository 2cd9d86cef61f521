//! Statistics over ratings, as pure functions of small summaries (the store maintains those).
//!
//! - The leaderboard's interval is a seeded bootstrap of the mean of per-result mean ratings:
//!   results are resampled with replacement, 1,000 rounds. Resampling n results from a histogram
//!   of K distinct per-result means is one multinomial draw (K sequential binomials), so a round
//!   costs O(K), not O(n): intervals stay fast at 300,000 ratings.
//! - Rater-normalised scores turn each rater's ratings into z-scores (their own mean and spread),
//!   so harsh and lenient raters weigh equally; a group's score is the mean z over its ratings.
//! - Agreement is Krippendorff's alpha with the ordinal metric, over results rated twice or more.
//! - The Pareto front of quality against cost: the groups nothing beats on both.

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

/// One rater's live ratings within one group (or overall): count, sum and sum of squares.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Moments {
    pub n: f64,
    pub s: f64,
    pub ss: f64,
}

impl Moments {
    fn mean(self) -> f64 {
        self.s / self.n
    }

    /// The population standard deviation.
    fn sd(self) -> f64 {
        (self.ss / self.n - self.mean().powi(2)).max(0.0).sqrt()
    }
}

/// A group's mean z-score and its 95% interval (normal approximation over ratings), given for
/// each rater `(all their ratings in scope, their ratings in this group)`. A rater without spread
/// (one rating, or always the same) says nothing about relative quality: their z-scores are 0.
/// None without ratings; no interval below two ratings.
pub fn z_score(raters: &[(Moments, Moments)]) -> Option<(f64, Option<(f64, f64)>)> {
    let (mut n, mut sum, mut sq) = (0.0, 0.0, 0.0);
    for &(all, group) in raters {
        n += group.n;
        let (mu, sd) = (all.mean(), all.sd());
        if group.n == 0.0 || sd < 1e-9 {
            continue;
        }
        // sum of (r - mu) / sd and of its square, from the group's moments
        sum += (group.s - group.n * mu) / sd;
        sq += (group.ss - 2.0 * mu * group.s + group.n * mu * mu) / (sd * sd);
    }
    if n == 0.0 {
        return None;
    }
    let mean = sum / n;
    let interval = (n >= 2.0).then(|| {
        let var = ((sq - n * mean * mean) / (n - 1.0)).max(0.0);
        let half = 1.96 * (var / n).sqrt();
        (mean - half, mean + half)
    });
    Some((mean, interval))
}

/// Krippendorff's coincidence matrix over values 1-5: each ordered pair of ratings within a unit
/// (a result), weighted 1 / (m - 1) for a unit rated m times. Units rated fewer than twice cannot
/// be paired and add nothing. The store maintains the same sums per group (`coincidence`).
pub type Coincidence = [[f64; 5]; 5];

/// The coincidence matrix of units given as each unit's count of each rating 1-5.
pub fn coincidence(units: &[[u32; 5]]) -> Coincidence {
    let mut o = [[0.0_f64; 5]; 5];
    for unit in units {
        let m: u32 = unit.iter().sum();
        if m < 2 {
            continue;
        }
        for c in 0..5 {
            for k in 0..5 {
                let partners = if c == k { unit[k].saturating_sub(1) } else { unit[k] };
                o[c][k] += f64::from(unit[c] * partners) / f64::from(m - 1);
            }
        }
    }
    o
}

/// Krippendorff's alpha with the ordinal difference function. None when nothing can be paired
/// or every value is the same (no expected disagreement).
pub fn krippendorff_alpha_ordinal(o: &Coincidence) -> Option<f64> {
    let marginals: Vec<f64> = o.iter().map(|row| row.iter().sum()).collect();
    let n: f64 = marginals.iter().sum();
    if n < 2.0 {
        return None;
    }
    // Ordinal distance: the values passed between c and k, counting the ends by half.
    let delta = |c: usize, k: usize| {
        let (lo, hi) = (c.min(k), c.max(k));
        let between: f64 = marginals[lo..=hi].iter().sum();
        (between - (marginals[c] + marginals[k]) / 2.0).powi(2)
    };
    let (mut observed, mut expected) = (0.0, 0.0);
    for c in 0..5 {
        for k in 0..5 {
            if c != k {
                observed += o[c][k] * delta(c, k);
                expected += marginals[c] * marginals[k] * delta(c, k);
            }
        }
    }
    (expected > 0.0).then(|| 1.0 - (n - 1.0) * observed / expected)
}

/// Which points of (cost, quality) are on the Pareto front: no other point is at least as cheap
/// and at least as good, and strictly better in one of the two.
pub fn pareto_front(points: &[(f64, f64)]) -> Vec<bool> {
    points
        .iter()
        .map(|&(cost, quality)| {
            !points.iter().any(|&(c, q)| c <= cost && q >= quality && (c < cost || q > quality))
        })
        .collect()
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

    /// Krippendorff's published example (Computing Krippendorff's Alpha-Reliability, 2011):
    /// four coders, twelve units, values 1-5 with gaps. Reference values from the `krippendorff`
    /// package on PyPI: ordinal 0.8153875037548814.
    #[test]
    fn alpha_matches_krippendorffs_published_example() {
        let coders: [[u8; 12]; 4] = [
            [1, 2, 3, 3, 2, 1, 4, 1, 2, 0, 0, 0],
            [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, 0, 3],
            [0, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, 0],
            [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, 0],
        ];
        let units: Vec<[u32; 5]> = (0..12)
            .map(|u| {
                let mut counts = [0; 5];
                for coder in &coders {
                    if coder[u] > 0 {
                        counts[usize::from(coder[u] - 1)] += 1;
                    }
                }
                counts
            })
            .collect();
        let alpha = krippendorff_alpha_ordinal(&coincidence(&units)).unwrap();
        assert!((alpha - 0.815_387_503_754_881_4).abs() < 1e-12, "{alpha}");
    }

    #[test]
    fn alpha_of_two_raters_perfect_chance_and_degenerate() {
        // Two raters over seven results; PyPI `krippendorff`, ordinal: 0.8423588039867109.
        let pairs = [(1, 2), (2, 2), (3, 4), (4, 4), (5, 4), (3, 3), (2, 1)];
        let unit = |a: usize, b: usize| {
            let mut u = [0; 5];
            u[a - 1] += 1;
            u[b - 1] += 1;
            u
        };
        let units: Vec<_> = pairs.iter().map(|&(a, b)| unit(a, b)).collect();
        assert!((krippendorff_alpha_ordinal(&coincidence(&units)).unwrap() - 0.842_358_803_986_710_9).abs() < 1e-12);
        let agree: Vec<_> = (1..=5).map(|v| unit(v, v)).collect();
        assert_eq!(krippendorff_alpha_ordinal(&coincidence(&agree)), Some(1.0));
        assert_eq!(krippendorff_alpha_ordinal(&coincidence(&[unit(5, 5), unit(5, 5), unit(5, 5), unit(5, 4)])), Some(0.0));
        assert_eq!(krippendorff_alpha_ordinal(&coincidence(&[unit(3, 3), unit(3, 3)])), None, "no variation: undefined");
        assert_eq!(krippendorff_alpha_ordinal(&coincidence(&[[0, 0, 1, 0, 0]])), None, "a unit rated once pairs with nothing");
    }

    fn moments(ratings: &[f64]) -> Moments {
        Moments { n: ratings.len() as f64, s: ratings.iter().sum(), ss: ratings.iter().map(|r| r * r).sum() }
    }

    #[test]
    fn z_scores_weigh_harsh_and_lenient_raters_equally() {
        // A harsh rater (1-3) and a lenient one (3-5) each rate A their best and B their worst.
        let (harsh, lenient) = (moments(&[1.0, 2.0, 3.0]), moments(&[3.0, 4.0, 5.0]));
        let a = z_score(&[(harsh, moments(&[3.0])), (lenient, moments(&[5.0]))]).unwrap();
        let b = z_score(&[(harsh, moments(&[1.0])), (lenient, moments(&[3.0]))]).unwrap();
        // sd of {1, 2, 3} is sqrt(2/3); the best rating is +1 / sqrt(2/3) = 1.2247 for both raters
        let best = 1.0 / (2.0f64 / 3.0).sqrt();
        assert!((a.0 - best).abs() < 1e-12 && (b.0 + best).abs() < 1e-12, "{a:?} {b:?}");
        let (lo, hi) = a.1.unwrap();
        assert!((hi - lo).abs() < 1e-6, "two equal z-scores: no spread");
        // Raw means would rank a lenient rater's middling result (4) above a harsh one's best (3).
        let middling = z_score(&[(lenient, moments(&[4.0]))]).unwrap().0;
        assert!(middling.abs() < 1e-12 && a.0 > middling);
        let flat = moments(&[4.0, 4.0]);
        assert_eq!(z_score(&[(flat, flat)]), Some((0.0, Some((0.0, 0.0)))), "no spread: z = 0");
        assert_eq!(z_score(&[]), None);
    }

    #[test]
    fn the_z_interval_is_the_normal_interval_of_the_ratings_z_scores() {
        // One rater with ratings 1..=5 (mean 3, sd sqrt 2); a group holding 2, 4, 5.
        let all = moments(&[1.0, 2.0, 3.0, 4.0, 5.0]);
        let (mean, interval) = z_score(&[(all, moments(&[2.0, 4.0, 5.0]))]).unwrap();
        let z: Vec<f64> = [2.0, 4.0, 5.0].iter().map(|r| (r - 3.0) / 2f64.sqrt()).collect();
        let m = z.iter().sum::<f64>() / 3.0;
        let sd = (z.iter().map(|x| (x - m).powi(2)).sum::<f64>() / 2.0).sqrt();
        let (lo, hi) = interval.unwrap();
        assert!((mean - m).abs() < 1e-12);
        assert!((lo - (m - 1.96 * sd / 3f64.sqrt())).abs() < 1e-12 && (hi - (m + 1.96 * sd / 3f64.sqrt())).abs() < 1e-12);
    }

    #[test]
    fn the_pareto_front_keeps_what_nothing_beats_on_cost_and_quality() {
        // (cost, quality): a cheap weak model, a dear strong one, one beaten by a, a tie with b.
        let points = [(1.0, 3.0), (5.0, 4.5), (2.0, 2.5), (5.0, 4.5), (3.0, 4.0), (6.0, 4.0)];
        assert_eq!(pareto_front(&points), [true, true, false, true, true, false]);
        assert_eq!(pareto_front(&[]), Vec::<bool>::new());
    }
}
