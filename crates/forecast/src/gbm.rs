//! A small, deterministic gradient-boosted regression-tree learner with a Poisson loss and a
//! log link, trained on top of a per-row offset (the base model's log prediction).
//!
//! Features are quantile-binned (at most 63 cut points); missing values (NaN) get their own
//! bin, ordered before every finite value.

/// Hyper-parameters of the booster.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct GbmParams {
    /// Number of trees.
    pub trees: usize,
    /// Maximum depth of a tree.
    pub max_depth: usize,
    /// Shrinkage applied to every leaf value.
    pub learning_rate: f64,
    /// L2 penalty on leaf values.
    pub lambda: f64,
    /// Minimum sum of Hessians (expected counts) in a child.
    pub min_child_hessian: f64,
    /// Leaf values (before shrinkage) are clipped to `±max_delta`.
    pub max_delta: f64,
}

impl Default for GbmParams {
    fn default() -> Self {
        GbmParams {
            trees: 200,
            max_depth: 3,
            learning_rate: 0.05,
            lambda: 1.0,
            min_child_hessian: 5.0,
            max_delta: 0.7,
        }
    }
}

const MAX_BINS: usize = 64;
/// Trees without validation improvement after which training stops.
const PATIENCE: usize = 40;

#[derive(Debug, Clone)]
pub(crate) struct Binner {
    edges: Vec<Vec<f64>>,
}

impl Binner {
    pub(crate) fn fit(rows: &[Vec<f64>]) -> Self {
        let nf = rows.first().map_or(0, Vec::len);
        let edges = (0..nf)
            .map(|j| {
                let mut v: Vec<f64> = rows
                    .iter()
                    .map(|r| r[j])
                    .filter(|x| x.is_finite())
                    .collect();
                v.sort_by(f64::total_cmp);
                v.dedup();
                if v.len() < MAX_BINS {
                    // midpoints between distinct values
                    v.windows(2).map(|w| 0.5 * (w[0] + w[1])).collect()
                } else {
                    let mut e: Vec<f64> = (1..MAX_BINS - 1)
                        .map(|k| {
                            let pos = k * (v.len() - 1) / (MAX_BINS - 1);
                            0.5 * (v[pos] + v[pos + 1])
                        })
                        .collect();
                    e.dedup();
                    e
                }
            })
            .collect();
        Binner { edges }
    }

    /// Bin of value `v` of feature `j`: 0 for NaN, else 1 + number of edges below `v`.
    pub(crate) fn bin(&self, j: usize, v: f64) -> u8 {
        if v.is_nan() {
            0
        } else {
            (1 + self.edges[j].partition_point(|&e| e < v)) as u8
        }
    }

    pub(crate) fn bin_row(&self, row: &[f64]) -> Vec<u8> {
        row.iter()
            .enumerate()
            .map(|(j, &v)| self.bin(j, v))
            .collect()
    }
}

#[derive(Debug, Clone)]
enum Node {
    Leaf(f64),
    Split {
        feature: usize,
        /// go left when bin <= threshold
        threshold: u8,
        left: usize,
        right: usize,
    },
}

#[derive(Debug, Clone)]
struct Tree {
    nodes: Vec<Node>,
}

impl Tree {
    fn predict(&self, bins: &[u8]) -> f64 {
        let mut i = 0;
        loop {
            match self.nodes[i] {
                Node::Leaf(v) => return v,
                Node::Split {
                    feature,
                    threshold,
                    left,
                    right,
                } => {
                    i = if bins[feature] <= threshold {
                        left
                    } else {
                        right
                    }
                }
            }
        }
    }
}

/// Validation rows, targets and log-offsets.
pub(crate) type ValidSet<'a> = (&'a [Vec<f64>], &'a [f64], &'a [f64]);

/// A trained booster: `prediction = exp(offset + Σ trees)`.
#[derive(Debug, Clone)]
pub(crate) struct Gbm {
    binner: Binner,
    trees: Vec<Tree>,
}

struct Builder<'a> {
    /// Row-major bins: row `i`'s features are `bins[i * nf..(i + 1) * nf]`.
    bins: &'a [u8],
    grad: &'a [f64],
    hess: &'a [f64],
    p: GbmParams,
    nf: usize,
}

impl Builder<'_> {
    fn leaf_value(&self, g: f64, h: f64) -> f64 {
        (-g / (h + self.p.lambda)).clamp(-self.p.max_delta, self.p.max_delta) * self.p.learning_rate
    }

    fn build(&self, idx: &mut [usize], depth: usize, nodes: &mut Vec<Node>) -> usize {
        let (g, h) = idx.iter().fold((0.0, 0.0), |(g, h), &i| {
            (g + self.grad[i], h + self.hess[i])
        });
        let me = nodes.len();
        nodes.push(Node::Leaf(self.leaf_value(g, h)));
        if depth >= self.p.max_depth || h < 2.0 * self.p.min_child_hessian {
            return me;
        }
        let lam = self.p.lambda;
        let parent = g * g / (h + lam);
        let mut best: Option<(f64, usize, u8)> = None;
        // One pass over the node's rows fills every feature's histogram (each row's bins are
        // read once, in order); per bin the sums accumulate in the same row order as a pass
        // per feature would, so the result does not depend on the loop order.
        let stride = MAX_BINS + 1;
        let mut hist = vec![[0.0f64; 2]; self.nf * stride];
        for &i in idx.iter() {
            let (gi, hi) = (self.grad[i], self.hess[i]);
            let row = &self.bins[i * self.nf..(i + 1) * self.nf];
            for (f, &b) in row.iter().enumerate() {
                let c = &mut hist[f * stride + usize::from(b)];
                c[0] += gi;
                c[1] += hi;
            }
        }
        for f in 0..self.nf {
            let (mut gl, mut hl) = (0.0, 0.0);
            for (t, c) in hist[f * stride..(f + 1) * stride]
                .iter()
                .enumerate()
                .take(MAX_BINS)
            {
                gl += c[0];
                hl += c[1];
                let (gr, hr) = (g - gl, h - hl);
                if hl < self.p.min_child_hessian || hr < self.p.min_child_hessian {
                    continue;
                }
                let gain = gl * gl / (hl + lam) + gr * gr / (hr + lam) - parent;
                if gain > 1e-9 && best.is_none_or(|b| gain > b.0) {
                    best = Some((gain, f, t as u8));
                }
            }
        }
        let Some((_, feature, threshold)) = best else {
            return me;
        };
        let mut split = 0;
        for k in 0..idx.len() {
            if self.bins[idx[k] * self.nf + feature] <= threshold {
                idx.swap(k, split);
                split += 1;
            }
        }
        let (l, r) = idx.split_at_mut(split);
        let left = self.build(l, depth + 1, nodes);
        let right = self.build(r, depth + 1, nodes);
        nodes[me] = Node::Split {
            feature,
            threshold,
            left,
            right,
        };
        me
    }
}

/// Poisson deviance contribution of one row (`y ln(y/μ) − (y − μ)`, times 2).
pub(crate) fn poisson_deviance(y: f64, mu: f64) -> f64 {
    let mu = mu.max(1e-12);
    2.0 * (if y > 0.0 { y * (y / mu).ln() } else { 0.0 } - (y - mu))
}

impl Gbm {
    /// Trains on `rows` with targets `y` and log-offsets `offset`. When `valid` is given
    /// (rows, targets, offsets), also returns the mean validation Poisson deviance after each
    /// tree, and stops early once it has not improved for `PATIENCE` trees.
    pub(crate) fn train(
        rows: &[Vec<f64>],
        y: &[f64],
        offset: &[f64],
        p: GbmParams,
        valid: Option<ValidSet<'_>>,
    ) -> (Gbm, Vec<f64>) {
        let binner = Binner::fit(rows);
        let bins: Vec<u8> = rows.iter().flat_map(|r| binner.bin_row(r)).collect();
        let nf = rows.first().map_or(0, Vec::len);
        let n = rows.len();
        let mut f: Vec<f64> = offset.to_vec();
        let mut grad = vec![0.0; n];
        let mut hess = vec![0.0; n];
        // validation rows, binned the same way (row-major, `nf` per row)
        let vbins: Vec<u8> = valid.map_or(Vec::new(), |(r, _, _)| {
            r.iter().flat_map(|x| binner.bin_row(x)).collect()
        });
        let mut vf: Vec<f64> = valid.map_or(Vec::new(), |(_, _, o)| o.to_vec());
        let mut curve = Vec::new();
        let mut trees = Vec::with_capacity(p.trees);
        let mut idx: Vec<usize> = (0..n).collect();
        for _ in 0..p.trees {
            for i in 0..n {
                let mu = f[i].exp();
                grad[i] = mu - y[i];
                hess[i] = mu;
            }
            let b = Builder {
                bins: &bins,
                grad: &grad,
                hess: &hess,
                p,
                nf,
            };
            let mut nodes = Vec::new();
            b.build(&mut idx, 0, &mut nodes);
            let tree = Tree { nodes };
            for i in 0..n {
                f[i] += tree.predict(&bins[i * nf..(i + 1) * nf]);
            }
            if let Some((_, vy, _)) = valid {
                let mut dev = 0.0;
                for i in 0..vy.len() {
                    vf[i] += tree.predict(&vbins[i * nf..(i + 1) * nf]);
                    dev += poisson_deviance(vy[i], vf[i].exp());
                }
                curve.push(dev / vy.len().max(1) as f64);
            }
            trees.push(tree);
            // early stopping: no validation improvement over the last PATIENCE trees
            if curve.len() > PATIENCE {
                let best = curve.iter().copied().fold(f64::INFINITY, f64::min);
                if curve[curve.len() - PATIENCE - 1..]
                    .iter()
                    .all(|&d| d > best)
                {
                    break;
                }
            }
        }
        (Gbm { binner, trees }, curve)
    }

    /// Additive log-scale correction for one feature row.
    #[cfg(test)]
    pub(crate) fn margin(&self, row: &[f64]) -> f64 {
        self.margin_of_first(row, self.trees.len())
    }

    /// The correction of the first `trees` trees only (all of them if there are fewer): what a
    /// booster trained with `trees` trees (and the same data and parameters) would give.
    pub(crate) fn margin_of_first(&self, row: &[f64], trees: usize) -> f64 {
        let bins = self.binner.bin_row(row);
        self.trees
            .iter()
            .take(trees)
            .map(|t| t.predict(&bins))
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn learns_a_step_function() {
        // y ~ Poisson with mean 1 for x < 0.5 and 4 for x >= 0.5 (deterministic "counts")
        let rows: Vec<Vec<f64>> = (0..400).map(|i| vec![f64::from(i / 10) / 40.0]).collect();
        let y: Vec<f64> = rows
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let m = if r[0] < 0.5 { 1.0 } else { 4.0 };
                m + if i % 2 == 0 { 1.0 } else { -1.0 }
            })
            .collect();
        let off = vec![0.0; 400];
        let p = GbmParams {
            trees: 300,
            max_depth: 2,
            learning_rate: 0.1,
            ..GbmParams::default()
        };
        let (m, _) = Gbm::train(&rows, &y, &off, p, None);
        assert!(
            (m.margin(&[0.2]).exp() - 1.0).abs() < 0.05,
            "{}",
            m.margin(&[0.2]).exp()
        );
        assert!(
            (m.margin(&[0.8]).exp() - 4.0).abs() < 0.1,
            "{}",
            m.margin(&[0.8]).exp()
        );
        // NaN is handled
        assert!(m.margin(&[f64::NAN]).is_finite());
    }

    #[test]
    fn deviance_zero_at_truth() {
        assert!(poisson_deviance(0.0, 0.0).abs() < 1e-9);
        assert!(poisson_deviance(3.0, 3.0).abs() < 1e-12);
        assert!(poisson_deviance(3.0, 1.0) > 0.0);
    }
}
