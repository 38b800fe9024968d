//! Forecast accuracy metrics. All are deterministic and tie-aware.

/// Mean absolute error.
pub fn mae(pred: &[f64], actual: &[f64]) -> f64 {
    pred.iter()
        .zip(actual)
        .map(|(p, a)| (p - a).abs())
        .sum::<f64>()
        / pred.len().max(1) as f64
}

/// Root mean squared error.
pub fn rmse(pred: &[f64], actual: &[f64]) -> f64 {
    (pred
        .iter()
        .zip(actual)
        .map(|(p, a)| (p - a).powi(2))
        .sum::<f64>()
        / pred.len().max(1) as f64)
        .sqrt()
}

/// 1-based ranks, ties receiving the average of the ranks they span.
pub fn average_ranks(v: &[f64]) -> Vec<f64> {
    let mut idx: Vec<usize> = (0..v.len()).collect();
    idx.sort_by(|&a, &b| v[a].total_cmp(&v[b]));
    let mut ranks = vec![0.0; v.len()];
    let mut i = 0;
    while i < idx.len() {
        let mut j = i;
        while j + 1 < idx.len() && v[idx[j + 1]] == v[idx[i]] {
            j += 1;
        }
        let r = (i + j) as f64 / 2.0 + 1.0;
        for &k in &idx[i..=j] {
            ranks[k] = r;
        }
        i = j + 1;
    }
    ranks
}

fn pearson(x: &[f64], y: &[f64]) -> f64 {
    let n = x.len() as f64;
    let mx = x.iter().sum::<f64>() / n;
    let my = y.iter().sum::<f64>() / n;
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (a, b) in x.iter().zip(y) {
        sxy += (a - mx) * (b - my);
        sxx += (a - mx).powi(2);
        syy += (b - my).powi(2);
    }
    if sxx == 0.0 || syy == 0.0 {
        return f64::NAN;
    }
    sxy / (sxx * syy).sqrt()
}

/// Spearman rank correlation (Pearson correlation of average ranks). NaN when either side is
/// constant.
pub fn spearman(pred: &[f64], actual: &[f64]) -> f64 {
    pearson(&average_ranks(pred), &average_ranks(actual))
}

/// Area under the ROC curve of `score` for the binary `label` (Mann–Whitney; ties count ½).
/// NaN when one class is empty.
pub fn auc(score: &[f64], label: &[bool]) -> f64 {
    let ranks = average_ranks(score);
    let pos = label.iter().filter(|&&l| l).count() as f64;
    let neg = label.len() as f64 - pos;
    if pos == 0.0 || neg == 0.0 {
        return f64::NAN;
    }
    let rank_sum: f64 = ranks
        .iter()
        .zip(label)
        .filter(|(_, l)| **l)
        .map(|(r, _)| r)
        .sum();
    (rank_sum - pos * (pos + 1.0) / 2.0) / (pos * neg)
}

/// Share of positives among the `round(n/10)` (at least 1) customers with the highest score.
/// Customers tied with the cut-off score are counted fractionally (the expected hit rate under
/// a random tie-break), so the result does not depend on input order.
pub fn top_decile_hit_rate(score: &[f64], label: &[bool]) -> f64 {
    top_share_hit_rate(score, label, 0.1)
}

/// Like [`top_decile_hit_rate`] for the top `share` (0–1] of customers.
pub fn top_share_hit_rate(score: &[f64], label: &[bool], share: f64) -> f64 {
    let n = score.len();
    if n == 0 {
        return f64::NAN;
    }
    let k = ((n as f64 * share).round() as usize).clamp(1, n);
    let mut idx: Vec<usize> = (0..n).collect();
    idx.sort_by(|&a, &b| score[b].total_cmp(&score[a]));
    let cut = score[idx[k - 1]];
    let (mut above, mut above_hits, mut tied, mut tied_hits) = (0usize, 0usize, 0usize, 0usize);
    for i in 0..n {
        if score[i] > cut {
            above += 1;
            above_hits += usize::from(label[i]);
        } else if score[i] == cut {
            tied += 1;
            tied_hits += usize::from(label[i]);
        }
    }
    let from_tied = (k - above) as f64 * tied_hits as f64 / tied as f64;
    (above_hits as f64 + from_tied) / k as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranks_average_ties() {
        assert_eq!(
            average_ranks(&[3.0, 1.0, 3.0, 2.0]),
            vec![3.5, 1.0, 3.5, 2.0]
        );
    }

    #[test]
    fn errors() {
        assert!((mae(&[1.0, 2.0], &[0.0, 4.0]) - 1.5).abs() < 1e-15);
        assert!((rmse(&[1.0, 2.0], &[0.0, 4.0]) - 2.5f64.sqrt()).abs() < 1e-15);
    }

    #[test]
    fn spearman_perfect_and_ties() {
        assert!((spearman(&[1.0, 2.0, 3.0], &[10.0, 20.0, 30.0]) - 1.0).abs() < 1e-12);
        assert!((spearman(&[1.0, 2.0, 3.0], &[3.0, 2.0, 1.0]) + 1.0).abs() < 1e-12);
        // scipy.stats.spearmanr([1,2,3,4],[0,0,1,1]) = 0.894427...
        assert!(
            (spearman(&[1.0, 2.0, 3.0, 4.0], &[0.0, 0.0, 1.0, 1.0]) - 0.894_427_190_999_916).abs()
                < 1e-12
        );
        assert!(spearman(&[1.0, 1.0], &[1.0, 2.0]).is_nan());
    }

    #[test]
    fn auc_counts_ties_half() {
        assert_eq!(auc(&[0.1, 0.2, 0.3, 0.4], &[false, false, true, true]), 1.0);
        assert_eq!(auc(&[0.5, 0.5], &[false, true]), 0.5);
        // pos scores {0.3, 0.5}, neg {0.3, 0.1}: pairs (0.3,0.3)=.5,(0.3,0.1)=1,(0.5,*)=2 -> 3.5/4
        assert_eq!(
            auc(&[0.3, 0.5, 0.3, 0.1], &[true, true, false, false]),
            0.875
        );
    }

    #[test]
    fn top_decile_with_ties() {
        let score: Vec<f64> = (0..20).map(f64::from).collect();
        let label: Vec<bool> = (0..20).map(|i| i >= 19).collect();
        assert_eq!(top_decile_hit_rate(&score, &label), 0.5);
        // all tied: expected rate = base rate
        let flat = vec![1.0; 20];
        assert!((top_decile_hit_rate(&flat, &label) - 0.05).abs() < 1e-15);
    }
}
