//! Sentiment: a hashed logistic-regression classifier over character n-grams and jieba words of
//! the normalised text (Chinese), plus a lexicon scorer for English.
//!
//! * [`train`] splits the labelled lines with a fixed seed (80 % train / 20 % held out, stratified),
//!   trains on the training part only, and evaluates on the held-out part.
//! * The model is serialised by [`SentimentModel::to_bytes`] into a small, deterministic file
//!   (`models/sentiment.bin`, quantised 16-bit weights) that is embedded in the crate with
//!   `include_bytes!` and loaded by [`SentimentModel::embedded`].
//! * Training is single-threaded, uses a fixed-seed xorshift generator and fixed-order floating
//!   point, so retraining from the same data reproduces the committed file byte for byte.

use std::sync::OnceLock;

use serde::Serialize;

use crate::normalize::normalize;

/// Seed of the committed model's split and training order.
pub const DEFAULT_SEED: u64 = 20_240_601;
/// Fraction of each class kept for training (the rest is held out).
pub const TRAIN_FRACTION: f64 = 0.8;

const MAGIC: &[u8; 8] = b"TLSENT01";
const DEFAULT_BITS: u32 = 18;
const EPOCHS: usize = 10;
const LEARNING_RATE: f64 = 0.1;
const L2: f64 = 0.0;

/// Feature extraction flags stored in the model file.
const FEAT_CHAR_1: u32 = 1;
const FEAT_CHAR_2: u32 = 2;
const FEAT_CHAR_3: u32 = 4;
const FEAT_WORDS: u32 = 8;
const FEAT_WORD_2: u32 = 16;
/// Scale each active feature by 1/sqrt(number of active features).
const FEAT_NORM: u32 = 32;
/// NBSVM-style: scale each feature by its naive-Bayes log-count ratio during training (folded into
/// the stored weights, so inference is unchanged).
const FEAT_NB: u32 = 64;
/// Every feature, including jieba words and word bigrams.
pub const ALL_FEATURES: u32 =
    FEAT_CHAR_1 | FEAT_CHAR_2 | FEAT_CHAR_3 | FEAT_WORDS | FEAT_WORD_2 | FEAT_NORM | FEAT_NB;
/// The committed model's features: character 1–3-grams, length-normalised, NB-scaled. Jieba word
/// features ([`ALL_FEATURES`]) were measured on a validation split of the training part (see
/// `examples/sentiment_sweep.rs` and EVALUATION.md): they add nothing to accuracy or AUC here but
/// cost ~6 µs per sentence, which would take the model below 100,000 sentences/s, so the default
/// leaves them out. A model file records its features, so either kind loads and predicts.
pub const DEFAULT_FEATURES: u32 = FEAT_CHAR_1 | FEAT_CHAR_2 | FEAT_CHAR_3 | FEAT_NORM | FEAT_NB;

/// Error reading a model file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelError(pub String);

impl std::fmt::Display for ModelError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "invalid sentiment model: {}", self.0)
    }
}
impl std::error::Error for ModelError {}

/// A hashed logistic-regression sentiment model.
#[derive(Debug, Clone, PartialEq)]
pub struct SentimentModel {
    bits: u32,
    features: u32,
    bias: f32,
    scale: f32,
    weights: Vec<i16>,
}

/// Held-out evaluation of a model.
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct Evaluation {
    /// Number of held-out lines.
    pub n: usize,
    /// Accuracy at threshold 0.5.
    pub accuracy: f64,
    /// Area under the ROC curve (ties count one half).
    pub auc: f64,
}

/// A deterministic train / held-out split of labelled lines.
#[derive(Debug, Clone, Default)]
pub struct Split {
    pub train_pos: Vec<String>,
    pub train_neg: Vec<String>,
    pub test_pos: Vec<String>,
    pub test_neg: Vec<String>,
}

/// What [`train`] returns: the model, the split it used and its held-out evaluation.
#[derive(Debug, Clone)]
pub struct Trained {
    pub model: SentimentModel,
    pub split: Split,
    pub held_out: Evaluation,
}

/// Small deterministic PRNG (xorshift64*), so the split does not depend on a crate's algorithm.
struct Rng(u64);
impl Rng {
    fn new(seed: u64) -> Self {
        Rng(seed ^ 0x9E37_79B9_7F4A_7C15 | 1)
    }
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            let j = self.below(i + 1);
            v.swap(i, j);
        }
    }
}

/// Splits labelled lines deterministically: each class is shuffled with `seed` and its first
/// [`TRAIN_FRACTION`] kept for training. Empty lines are dropped.
pub fn split(pos_lines: &[&str], neg_lines: &[&str], seed: u64) -> Split {
    let mut rng = Rng::new(seed);
    let mut one = |lines: &[&str]| {
        let mut v: Vec<String> = lines
            .iter()
            .map(|l| l.trim())
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect();
        rng.shuffle(&mut v);
        let k = (v.len() as f64 * TRAIN_FRACTION).round() as usize;
        let test = v.split_off(k);
        (v, test)
    };
    let (train_pos, test_pos) = one(pos_lines);
    let (train_neg, test_neg) = one(neg_lines);
    Split {
        train_pos,
        train_neg,
        test_pos,
        test_neg,
    }
}

/// Splits `pos_lines` / `neg_lines` with `seed`, trains a model on the training part only and
/// evaluates it on the held-out part.
pub fn train(pos_lines: &[&str], neg_lines: &[&str], seed: u64) -> Trained {
    let split = split(pos_lines, neg_lines, seed);
    let model = fit(
        &split.train_pos,
        &split.train_neg,
        seed,
        DEFAULT_BITS,
        DEFAULT_FEATURES,
    );
    let held_out = evaluate(&model, &split.test_pos, &split.test_neg);
    Trained {
        model,
        split,
        held_out,
    }
}

/// Training hyper-parameters.
#[derive(Debug, Clone, Copy)]
pub struct Params {
    /// log2 of the number of hash buckets.
    pub bits: u32,
    /// Feature set (bit flags).
    pub features: u32,
    pub epochs: usize,
    pub learning_rate: f64,
    pub l2: f64,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            bits: DEFAULT_BITS,
            features: DEFAULT_FEATURES,
            epochs: EPOCHS,
            learning_rate: LEARNING_RATE,
            l2: L2,
        }
    }
}

/// Trains a model on all the given lines (no split).
pub fn fit<S: AsRef<str>>(
    pos: &[S],
    neg: &[S],
    seed: u64,
    bits: u32,
    features: u32,
) -> SentimentModel {
    fit_with(
        pos,
        neg,
        seed,
        &Params {
            bits,
            features,
            ..Params::default()
        },
    )
}

/// Trains a model on all the given lines (no split) with explicit hyper-parameters.
pub fn fit_with<S: AsRef<str>>(pos: &[S], neg: &[S], seed: u64, params: &Params) -> SentimentModel {
    let Params {
        bits,
        features,
        epochs,
        learning_rate,
        l2,
    } = *params;
    let mask = (1u32 << bits) - 1;
    let mut samples: Vec<(Vec<u32>, f64)> = Vec::with_capacity(pos.len() + neg.len());
    let mut buf = Vec::new();
    for (lines, y) in [(pos, 1.0), (neg, 0.0)] {
        for l in lines {
            extract(&normalize(l.as_ref()), features, mask, &mut buf);
            samples.push((buf.clone(), y));
        }
    }
    let n = 1usize << bits;
    // Naive-Bayes log-count ratios (all 1 without FEAT_NB).
    let mut r = vec![1f64; n];
    if features & FEAT_NB != 0 {
        let mut cp = vec![1f64; n];
        let mut cn = vec![1f64; n];
        for (x, y) in &samples {
            let c = if *y > 0.5 { &mut cp } else { &mut cn };
            for &j in x {
                c[j as usize] += 1.0;
            }
        }
        let sp: f64 = cp.iter().sum();
        let sn: f64 = cn.iter().sum();
        for j in 0..n {
            r[j] = ((cp[j] / sp) / (cn[j] / sn)).ln();
        }
    }
    let mut w = vec![0f64; n];
    let mut g2 = vec![1e-8f64; n];
    let mut b = 0f64;
    let mut gb = 1e-8f64;
    let mut order: Vec<usize> = (0..samples.len()).collect();
    let mut rng = Rng::new(seed.rotate_left(17));
    for _ in 0..epochs {
        rng.shuffle(&mut order);
        for &i in &order {
            let (x, y) = &samples[i];
            let v = feature_value(features, x.len());
            let mut z = 0.0;
            for &j in x {
                z += w[j as usize] * r[j as usize];
            }
            let p = sigmoid(b + z * v);
            let g = p - y;
            gb += g * g;
            b -= learning_rate * g / gb.sqrt();
            for &j in x {
                let j = j as usize;
                let gj = g * v * r[j] + l2 * w[j];
                g2[j] += gj * gj;
                w[j] -= learning_rate * gj / g2[j].sqrt();
            }
        }
    }
    for j in 0..n {
        w[j] *= r[j];
    }
    let max = w.iter().fold(0f64, |m, v| m.max(v.abs()));
    let scale = if max > 0.0 { max / 32767.0 } else { 1.0 };
    let weights = w
        .iter()
        .map(|v| (v / scale).round().clamp(-32767.0, 32767.0) as i16)
        .collect();
    SentimentModel {
        bits,
        features,
        bias: b as f32,
        scale: scale as f32,
        weights,
    }
}

/// The value of each active feature: 1, or 1/sqrt(n) with `FEAT_NORM`.
#[inline]
fn feature_value(features: u32, n: usize) -> f64 {
    if features & FEAT_NORM != 0 && n > 0 {
        1.0 / (n as f64).sqrt()
    } else {
        1.0
    }
}

#[inline]
fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

/// FNV-1a style hash of a feature (a kind tag followed by characters), reduced with `mask`.
#[inline]
fn hash_chars(kind: u32, chars: &[char], mask: u32) -> u32 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ u64::from(kind);
    for &c in chars {
        h ^= c as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h ^= h >> 29;
    h = h.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h ^= h >> 32;
    (h as u32) & mask
}

fn jieba() -> &'static jieba_rs::Jieba {
    static J: OnceLock<jieba_rs::Jieba> = OnceLock::new();
    J.get_or_init(jieba_rs::Jieba::new)
}

/// Feature ids (sorted, de-duplicated) of a normalised text.
fn extract(norm: &str, features: u32, mask: u32, out: &mut Vec<u32>) {
    out.clear();
    let chars: Vec<char> = norm.chars().filter(|c| !c.is_whitespace()).collect();
    for i in 0..chars.len() {
        if features & FEAT_CHAR_1 != 0 {
            out.push(hash_chars(1, &chars[i..=i], mask));
        }
        if features & FEAT_CHAR_2 != 0 && i + 2 <= chars.len() {
            out.push(hash_chars(2, &chars[i..i + 2], mask));
        }
        if features & FEAT_CHAR_3 != 0 && i + 3 <= chars.len() {
            out.push(hash_chars(3, &chars[i..i + 3], mask));
        }
    }
    if features & (FEAT_WORDS | FEAT_WORD_2) != 0 && !norm.is_empty() {
        let words = jieba().cut(norm, false);
        let mut prev: Option<&str> = None;
        let mut tmp: Vec<char> = Vec::with_capacity(16);
        for t in &words {
            let word = t.word.trim();
            if word.is_empty() {
                continue;
            }
            if features & FEAT_WORDS != 0 && word.chars().nth(1).is_some() {
                tmp.clear();
                tmp.extend(word.chars());
                out.push(hash_chars(4, &tmp, mask));
            }
            if features & FEAT_WORD_2 != 0
                && let Some(p) = prev
            {
                tmp.clear();
                tmp.extend(p.chars());
                tmp.push('\u{1}');
                tmp.extend(word.chars());
                out.push(hash_chars(5, &tmp, mask));
            }
            prev = Some(word);
        }
    }
    out.sort_unstable();
    out.dedup();
}

impl SentimentModel {
    /// The model committed at `models/sentiment.bin`, embedded in the crate.
    pub fn embedded() -> &'static SentimentModel {
        static M: OnceLock<SentimentModel> = OnceLock::new();
        M.get_or_init(|| {
            SentimentModel::from_bytes(EMBEDDED_MODEL).unwrap_or_else(|_| SentimentModel {
                bits: 1,
                features: 0,
                bias: 0.0,
                scale: 1.0,
                weights: vec![0, 0],
            })
        })
    }

    /// Whether the embedded model file was valid (a test checks this).
    pub fn embedded_is_valid() -> bool {
        SentimentModel::from_bytes(EMBEDDED_MODEL).is_ok()
    }

    /// Serialises the model (little-endian; deterministic).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(24 + self.weights.len() * 2);
        v.extend_from_slice(MAGIC);
        v.extend_from_slice(&self.bits.to_le_bytes());
        v.extend_from_slice(&self.features.to_le_bytes());
        v.extend_from_slice(&self.bias.to_le_bytes());
        v.extend_from_slice(&self.scale.to_le_bytes());
        for w in &self.weights {
            v.extend_from_slice(&w.to_le_bytes());
        }
        v
    }

    /// Reads a model written by [`SentimentModel::to_bytes`].
    pub fn from_bytes(b: &[u8]) -> Result<Self, ModelError> {
        if b.len() < 24 || &b[..8] != MAGIC {
            return Err(ModelError("bad magic or truncated header".into()));
        }
        let u = |i: usize| u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        let bits = u(8);
        let features = u(12);
        let bias = f32::from_bits(u(16));
        let scale = f32::from_bits(u(20));
        if !(1..=24).contains(&bits) {
            return Err(ModelError(format!("hash bits {bits} out of range")));
        }
        let n = 1usize << bits;
        if b.len() != 24 + 2 * n {
            return Err(ModelError(format!(
                "expected {} bytes of weights, found {}",
                2 * n,
                b.len() - 24
            )));
        }
        if !bias.is_finite() || !scale.is_finite() {
            return Err(ModelError("non-finite bias or scale".into()));
        }
        let weights = b[24..]
            .chunks_exact(2)
            .map(|c| i16::from_le_bytes([c[0], c[1]]))
            .collect();
        Ok(SentimentModel {
            bits,
            features,
            bias,
            scale,
            weights,
        })
    }

    /// Probability that a text is positive, from its already normalised form.
    pub fn predict_normalized(&self, norm: &str) -> f64 {
        let mut buf = Vec::new();
        self.predict_normalized_with(norm, &mut buf)
    }

    fn predict_normalized_with(&self, norm: &str, buf: &mut Vec<u32>) -> f64 {
        let mask = (1u32 << self.bits) - 1;
        extract(norm, self.features, mask, buf);
        let mut z = 0i64;
        for &j in buf.iter() {
            z += i64::from(self.weights[j as usize]);
        }
        sigmoid(
            f64::from(self.bias)
                + z as f64 * f64::from(self.scale) * feature_value(self.features, buf.len()),
        )
    }

    /// Probability that a text is positive.
    pub fn predict(&self, text: &str) -> f64 {
        self.predict_normalized(&normalize(text))
    }
}

static EMBEDDED_MODEL: &[u8] = include_bytes!("../models/sentiment.bin");

/// Held-out accuracy and AUC of `model` on labelled lines.
pub fn evaluate<S: AsRef<str>>(model: &SentimentModel, pos: &[S], neg: &[S]) -> Evaluation {
    let mut scored: Vec<(f64, bool)> = Vec::with_capacity(pos.len() + neg.len());
    for l in pos {
        scored.push((model.predict(l.as_ref()), true));
    }
    for l in neg {
        scored.push((model.predict(l.as_ref()), false));
    }
    let correct = scored.iter().filter(|(p, y)| (*p >= 0.5) == *y).count();
    Evaluation {
        n: scored.len(),
        accuracy: if scored.is_empty() {
            0.0
        } else {
            correct as f64 / scored.len() as f64
        },
        auc: auc(&scored),
    }
}

/// Area under the ROC curve of `(score, is_positive)` pairs, ties counted one half
/// (Mann–Whitney U). 0.5 when one class is empty.
pub fn auc(scored: &[(f64, bool)]) -> f64 {
    let mut v: Vec<(f64, bool)> = scored.to_vec();
    v.sort_by(|a, b| a.0.total_cmp(&b.0));
    let n_pos = v.iter().filter(|x| x.1).count() as f64;
    let n_neg = v.len() as f64 - n_pos;
    if n_pos == 0.0 || n_neg == 0.0 {
        return 0.5;
    }
    // Sum of ranks of positives, average ranks for ties.
    let mut rank_sum = 0.0;
    let mut i = 0;
    while i < v.len() {
        let mut j = i;
        while j + 1 < v.len() && v[j + 1].0 == v[i].0 {
            j += 1;
        }
        let avg = (i + j) as f64 / 2.0 + 1.0;
        rank_sum += v[i..=j].iter().filter(|x| x.1).count() as f64 * avg;
        i = j + 1;
    }
    (rank_sum - n_pos * (n_pos + 1.0) / 2.0) / (n_pos * n_neg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auc_known_values() {
        assert_eq!(auc(&[(0.9, true), (0.1, false)]), 1.0);
        assert_eq!(auc(&[(0.1, true), (0.9, false)]), 0.0);
        assert_eq!(auc(&[(0.5, true), (0.5, false)]), 0.5);
        let v = [(0.8, true), (0.6, false), (0.4, true), (0.2, false)];
        assert!((auc(&v) - 0.75).abs() < 1e-12);
    }

    #[test]
    fn split_is_deterministic_and_disjoint() {
        let pos: Vec<String> = (0..50).map(|i| format!("好 {i}")).collect();
        let neg: Vec<String> = (0..40).map(|i| format!("差 {i}")).collect();
        let p: Vec<&str> = pos.iter().map(String::as_str).collect();
        let n: Vec<&str> = neg.iter().map(String::as_str).collect();
        let a = split(&p, &n, 7);
        let b = split(&p, &n, 7);
        assert_eq!(a.train_pos, b.train_pos);
        assert_eq!(a.test_neg, b.test_neg);
        assert_eq!(a.train_pos.len(), 40);
        assert_eq!(a.test_pos.len(), 10);
        assert_eq!(a.train_neg.len(), 32);
        for t in &a.test_pos {
            assert!(!a.train_pos.contains(t));
        }
        let c = split(&p, &n, 8);
        assert_ne!(a.train_pos, c.train_pos);
    }

    #[test]
    fn tiny_model_learns_and_round_trips() {
        let pos = [
            "非常好,很满意",
            "质量很好,推荐",
            "服务周到,满意",
            "好评,很喜欢",
        ];
        let neg = [
            "太差了,不满意",
            "质量很差,失望",
            "服务差,后悔",
            "差评,不喜欢",
        ];
        let m = fit(&pos, &neg, 1, 12, DEFAULT_FEATURES);
        assert!(m.predict("很满意,推荐") > 0.5);
        assert!(m.predict("很失望,太差") < 0.5);
        let back = SentimentModel::from_bytes(&m.to_bytes()).unwrap();
        assert_eq!(back, m);
        assert!(SentimentModel::from_bytes(&m.to_bytes()[..30]).is_err());
        assert!(SentimentModel::from_bytes(b"garbage").is_err());
    }
}
