//! Templated / mass messages: near-duplicate outgoing texts across many recipients.
//!
//! Each text is reduced to the set of character 3-gram shingles of its normalised form (digits
//! folded to `0`, whitespace and punctuation dropped, so a changed amount, name spacing or emoji
//! does not hide a template). A MinHash signature of [`PERMUTATIONS`] values estimates the Jaccard
//! similarity of two shingle sets; locality-sensitive banding ([`BANDS`] bands of [`ROWS`] rows)
//! finds candidates without comparing every pair, and candidates are kept only if their estimated
//! Jaccard similarity is at least the threshold (default 0.5).

use std::collections::{HashMap, HashSet};

use crate::normalize::normalize;

pub const PERMUTATIONS: usize = 32;
pub const BANDS: usize = 8;
pub const ROWS: usize = PERMUTATIONS / BANDS;
/// Texts with fewer shingles than this ("好的", "ok", an emoji) are never templates.
pub const MIN_SHINGLES: usize = 4;

type Sig = [u32; PERMUTATIONS];

#[inline]
fn mix(mut h: u64) -> u64 {
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^= h >> 33;
    h
}

/// MinHash signature of a text, or `None` if it is too short to be a template.
pub fn signature(text: &str) -> Option<[u32; PERMUTATIONS]> {
    let chars: Vec<char> = normalize(text)
        .chars()
        .filter(|c| c.is_alphanumeric())
        .map(|c| if c.is_ascii_digit() { '0' } else { c })
        .collect();
    if chars.len() < 3 {
        return None;
    }
    let mut shingles: Vec<u64> = chars
        .windows(3)
        .map(|w| mix((w[0] as u64) << 42 ^ (w[1] as u64) << 21 ^ w[2] as u64))
        .collect();
    shingles.sort_unstable();
    shingles.dedup();
    if shingles.len() < MIN_SHINGLES {
        return None;
    }
    let mut sig = [u32::MAX; PERMUTATIONS];
    for &s in &shingles {
        for (k, slot) in sig.iter_mut().enumerate() {
            let h = (mix(s ^ (k as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)) >> 32) as u32;
            if h < *slot {
                *slot = h;
            }
        }
    }
    Some(sig)
}

/// Estimated Jaccard similarity of two signatures.
pub fn similarity(a: &[u32; PERMUTATIONS], b: &[u32; PERMUTATIONS]) -> f64 {
    a.iter().zip(b).filter(|(x, y)| x == y).count() as f64 / PERMUTATIONS as f64
}

fn band_key(sig: &Sig, band: usize) -> u64 {
    let mut h = band as u64;
    for v in &sig[band * ROWS..(band + 1) * ROWS] {
        h = mix(h ^ u64::from(*v)).wrapping_add(0x9E37_79B9);
    }
    h
}

/// What [`TemplateIndex::add`] reports about a text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct TemplateHit {
    /// Distinct recipients (including this one) that got a near-duplicate of this text from the
    /// same sender; 0 if the text is too short to be a template.
    pub recipients: usize,
}

/// Distinct `(sender, signature)` texts, clustered as they come: the one clustering rule of
/// [`TemplateIndex`] and [`batch_recipients`]. A new text joins the first similar text (estimated
/// Jaccard ≥ the threshold) met in each of its locality-sensitive bands, among that sender's texts,
/// so clusters are transitive. Clusters are joined by size (the number of texts under a root), so
/// a root is never more than log₂(texts) steps away.
#[derive(Debug, Clone)]
struct Clusters {
    threshold: f64,
    /// Where each distinct text is in `texts`.
    position: HashMap<(u32, Sig), u32>,
    texts: Vec<(u32, Sig)>,
    parent: Vec<u32>,
    size: Vec<u32>,
    /// `(sender, band, band key)` → up to [`BUCKET_CAP`] texts with that band.
    buckets: HashMap<(u32, usize, u64), Vec<u32>>,
}

/// Texts kept per band bucket: a text already joined to a bucket's cluster adds nothing new.
const BUCKET_CAP: usize = 8;

impl Clusters {
    fn new(threshold: f64) -> Self {
        Clusters {
            threshold: threshold.clamp(0.0, 1.0),
            position: HashMap::new(),
            texts: Vec::new(),
            parent: Vec::new(),
            size: Vec::new(),
            buckets: HashMap::new(),
        }
    }

    fn root(&self, mut x: u32) -> u32 {
        while self.parent[x as usize] != x {
            x = self.parent[x as usize];
        }
        x
    }

    /// Joins the clusters of `a` and `b`, the smaller tree under the larger; the roots as
    /// `(kept, joined under it)`, or `None` when they were one cluster already.
    fn union(&mut self, a: u32, b: u32) -> Option<(u32, u32)> {
        let (ra, rb) = (self.root(a), self.root(b));
        if ra == rb {
            return None;
        }
        let (top, under) = if self.size[ra as usize] >= self.size[rb as usize] {
            (ra, rb)
        } else {
            (rb, ra)
        };
        self.parent[under as usize] = top;
        self.size[top as usize] += self.size[under as usize];
        Some((top, under))
    }

    /// The first text of `sender` similar to `sig` in each of its bands, as cluster roots.
    fn similar_roots(&self, sender: u32, sig: &Sig) -> Vec<u32> {
        let mut roots = Vec::new();
        for b in 0..BANDS {
            let Some(bucket) = self.buckets.get(&(sender, b, band_key(sig, b))) else {
                continue;
            };
            if let Some(&v) = bucket
                .iter()
                .find(|&&v| similarity(sig, &self.texts[v as usize].1) >= self.threshold)
            {
                let r = self.root(v);
                if !roots.contains(&r) {
                    roots.push(r);
                }
            }
        }
        roots
    }

    /// The roots of the clusters `sig` from `sender` belongs to: its own if held, else those it
    /// would join.
    fn roots_of(&self, sender: u32, sig: &Sig) -> Vec<u32> {
        match self.position.get(&(sender, *sig)) {
            Some(&u) => vec![self.root(u)],
            None => self.similar_roots(sender, sig),
        }
    }

    /// The text `(sender, sig)`, added and joined to the clusters it is similar to if new; the
    /// joins made, as [`Clusters::union`] reports them.
    fn insert(&mut self, sender: u32, sig: Sig) -> (u32, Vec<(u32, u32)>) {
        if let Some(&u) = self.position.get(&(sender, sig)) {
            return (u, Vec::new());
        }
        let u = self.texts.len() as u32;
        self.position.insert((sender, sig), u);
        self.texts.push((sender, sig));
        self.parent.push(u);
        self.size.push(1);
        let joins = self
            .similar_roots(sender, &sig)
            .into_iter()
            .filter_map(|v| self.union(u, v))
            .collect();
        for b in 0..BANDS {
            let bucket = self
                .buckets
                .entry((sender, b, band_key(&sig, b)))
                .or_default();
            if bucket.len() < BUCKET_CAP {
                bucket.push(u);
            }
        }
        (u, joins)
    }
}

/// An index of outgoing texts: feed it `(sender, recipient, text)` and it tells how many
/// distinct recipients got a near-duplicate of a text.
///
/// It clusters texts as [`batch_recipients`] does (the same `Clusters`), one text at a time,
/// and keeps each cluster's recipients at its root. Adding a text costs the same however many
/// copies came before it, and a copy the index already holds (the same text to the same
/// recipient, a re-sent message) adds nothing to its memory.
#[derive(Debug, Clone)]
pub struct TemplateIndex {
    ids: HashMap<String, u32>,
    clusters: Clusters,
    /// The recipients of each cluster, kept at its root (empty at every other text).
    recipients: Vec<HashSet<u32>>,
    /// Texts added (those long enough to be templates), copies included.
    added: usize,
}

impl Default for TemplateIndex {
    fn default() -> Self {
        Self::new()
    }
}

impl TemplateIndex {
    /// An empty index with the default similarity threshold (0.5 estimated Jaccard).
    pub fn new() -> Self {
        Self::with_threshold(0.5)
    }

    /// An empty index keeping pairs whose estimated Jaccard similarity is ≥ `threshold`.
    pub fn with_threshold(threshold: f64) -> Self {
        TemplateIndex {
            ids: HashMap::new(),
            clusters: Clusters::new(threshold),
            recipients: Vec::new(),
            added: 0,
        }
    }

    fn id(&mut self, s: &str) -> u32 {
        let n = self.ids.len() as u32;
        *self.ids.entry(s.to_owned()).or_insert(n)
    }

    /// Number of texts added (those long enough to be templates), copies included.
    pub fn len(&self) -> usize {
        self.added
    }

    pub fn is_empty(&self) -> bool {
        self.added == 0
    }

    /// Number of distinct texts held (identical signatures from one sender count once): what
    /// the index's memory grows with.
    pub fn distinct_texts(&self) -> usize {
        self.clusters.texts.len()
    }

    /// Moves the recipients of the root joined `under` to the root kept on `top`, the smaller
    /// set copied into the larger.
    fn merge_recipients(&mut self, (top, under): (u32, u32)) {
        let mut kept = std::mem::take(&mut self.recipients[top as usize]);
        let mut moved = std::mem::take(&mut self.recipients[under as usize]);
        if kept.len() < moved.len() {
            std::mem::swap(&mut kept, &mut moved);
        }
        kept.extend(moved);
        self.recipients[top as usize] = kept;
    }

    /// Adds a text sent by `sender` to `recipient`, returning how many distinct recipients
    /// (including this one) have now received a text of its cluster from `sender`.
    pub fn add(&mut self, sender: &str, recipient: &str, text: &str) -> TemplateHit {
        let Some(sig) = signature(text) else {
            return TemplateHit { recipients: 0 };
        };
        let s = self.id(sender);
        let r = self.id(recipient);
        self.added += 1;
        let (u, joins) = self.clusters.insert(s, sig);
        self.recipients
            .resize_with(self.clusters.texts.len(), HashSet::new);
        for join in joins {
            self.merge_recipients(join);
        }
        let root = self.clusters.root(u) as usize;
        self.recipients[root].insert(r);
        TemplateHit {
            recipients: self.recipients[root].len(),
        }
    }

    /// Distinct recipients of the clusters `text` would join from `sender` (or from every
    /// sender, with `None`). Does not add the text.
    pub fn distinct_recipients(&self, sender: Option<&str>, text: &str) -> usize {
        let Some(sig) = signature(text) else { return 0 };
        let senders: HashSet<u32> = match sender {
            // a name that never sent anything holds no text: nothing is found
            Some(name) => self.ids.get(name).copied().into_iter().collect(),
            None => self.clusters.texts.iter().map(|(s, _)| *s).collect(),
        };
        let mut seen = HashSet::new();
        for s in senders {
            for r in self.clusters.roots_of(s, &sig) {
                seen.extend(self.recipients[r as usize].iter().copied());
            }
        }
        seen.len()
    }
}

/// For a whole batch of `(sender, recipient, text, day)` messages at once: how many distinct
/// recipients got a near-duplicate of each message's text from the same sender on the same day
/// (0 for texts too short to be templates). A saved reply used now and then over months is not a
/// blast; the same text to hundreds of people in a day is.
///
/// Built for bulk import, where a tenant's ledger holds hundreds of thousands of messages drawn
/// from a few saved replies: the texts are clustered as [`TemplateIndex`] clusters them (over
/// the whole batch, every day), and each cluster's recipients are counted once a day. Cost grows
/// with the number of distinct texts, not with the number of copies.
pub fn batch_recipients<'a>(
    messages: impl IntoIterator<Item = (&'a str, &'a str, &'a str, i64)>,
    threshold: f64,
) -> Vec<usize> {
    let mut names: HashMap<&'a str, u32> = HashMap::new();
    let mut id = |s: &'a str| {
        let n = names.len() as u32;
        *names.entry(s).or_insert(n)
    };
    let mut clusters = Clusters::new(threshold);
    // (text, recipient, day) of each message long enough to be a template
    let mut of_message: Vec<Option<(u32, u32, i64)>> = Vec::new();
    // Saved replies repeat word for word: sign each distinct text once.
    let mut signed: HashMap<&'a str, Option<Sig>> = HashMap::new();
    for (sender, recipient, text, day) in messages {
        let Some(sig) = *signed.entry(text).or_insert_with(|| signature(text)) else {
            of_message.push(None);
            continue;
        };
        let (s, r) = (id(sender), id(recipient));
        let (u, _) = clusters.insert(s, sig);
        of_message.push(Some((u, r, day)));
    }
    let mut per_day: HashMap<(u32, i64), HashSet<u32>> = HashMap::new();
    for &(u, r, day) in of_message.iter().flatten() {
        per_day
            .entry((clusters.root(u), day))
            .or_default()
            .insert(r);
    }
    of_message
        .into_iter()
        .map(|m| m.map_or(0, |(u, _, day)| per_day[&(clusters.root(u), day)].len()))
        .collect()
}

#[cfg(test)]
mod tests {

    #[test]
    fn batch_counts_match_the_index_on_a_pasted_message() {
        let texts: Vec<String> = (0..30)
            .map(|k| {
                format!(
                    "顾客{k}，好久不见！店里到了一批新款羊毛大衣，给老客户留了几件，有空来看看呀"
                )
            })
            .collect();
        let mut msgs: Vec<(&str, String, &str)> = texts
            .iter()
            .enumerate()
            .map(|(k, t)| ("op1", format!("c{k}"), t.as_str()))
            .collect();
        // The same text from another operator, and a short reply, are not part of it.
        msgs.push(("op2", "c0".into(), texts[0].as_str()));
        msgs.push(("op1", "c1".into(), "好的"));
        let counts = batch_recipients(msgs.iter().map(|(s, r, t)| (*s, r.as_str(), *t, 7)), 0.5);
        assert!(counts[..30].iter().all(|&n| n == 30), "{counts:?}");
        assert_eq!(counts[30], 1);
        assert_eq!(counts[31], 0);
        // Copies to the same recipient count once.
        let again = batch_recipients(
            [
                ("op1", "c1", texts[1].as_str(), 7),
                ("op1", "c1", texts[2].as_str(), 7),
            ],
            0.5,
        );
        assert_eq!(again, vec![1, 1]);
        // Spread over days (a saved reply used now and then), it is no blast.
        let spread = batch_recipients(
            msgs[..30]
                .iter()
                .enumerate()
                .map(|(k, (s, r, t))| (*s, r.as_str(), *t, k as i64)),
            0.5,
        );
        assert!(spread.iter().all(|&n| n == 1), "{spread:?}");
    }
    use super::*;

    #[test]
    fn pasted_personal_message_counts_as_broadcast() {
        let mut idx = TemplateIndex::new();
        let names = [
            "小王",
            "李姐",
            "张哥",
            "阿芳",
            "陈总",
            "Amy",
            "刘阿姨",
            "小美",
        ];
        let mut last = TemplateHit { recipients: 0 };
        for (i, name) in names.iter().enumerate() {
            let text = format!(
                "{name}，好久不见！最近店里到了一批新款羊毛大衣，给老客户留了{}件，想着你穿肯定好看，有空来看看呀😊",
                i + 3
            );
            last = idx.add("op1", &format!("cust{i}"), &text);
        }
        assert_eq!(last.recipients, names.len());
        // Traditional / full-width copy to another customer is still the same template.
        let hit = idx.add(
            "op1",
            "cust99",
            "小林，好久不見！最近店裡到了一批新款羊毛大衣，給老客戶留了５件，想著你穿肯定好看，有空來看看呀",
        );
        assert_eq!(hit.recipients, names.len() + 1);
        // Another sender's identical text is not counted for op1 but is with `None`.
        assert_eq!(
            idx.distinct_recipients(Some("op2"), "anything at all here"),
            0
        );
        let t = "小赵，好久不见！最近店里到了一批新款羊毛大衣，给老客户留了3件，想着你穿肯定好看，有空来看看呀";
        assert_eq!(idx.distinct_recipients(None, t), names.len() + 1);
    }

    /// Eight CJK characters no other `k` has: a text like no other.
    fn one_off(k: u32) -> String {
        (0..8)
            .filter_map(|j| char::from_u32(0x4e00 + 8 * k + j))
            .collect()
    }

    /// The index clusters one text at a time exactly as `batch_recipients` does a whole day,
    /// so live detection and import agree; copies of a text it holds cost no memory.
    #[test]
    fn the_index_counts_what_the_batch_counts() {
        let mut msgs: Vec<(String, String, String)> = Vec::new();
        for k in 0..300u32 {
            let sender = format!("op{}", k % 3);
            let text = match k % 5 {
                // every eleventh message is a one-off
                _ if k % 11 == 0 => one_off(k),
                0 => format!(
                    "顾客{k}，好久不见！店里到了一批新款羊毛大衣，给老客户留了几件，有空来看看呀"
                ),
                1 => format!(
                    "Hi {k}, our winter sale starts today, 20% off everything in store until Sunday"
                ),
                2 => format!("亲爱的{k}号会员，本周六会员日全场八折，记得带上会员卡来店里哦"),
                3 => "上次说的那款面霜我帮你问了，敏感肌也能用".to_owned(),
                _ => format!("第{k}单已发货，请注意查收，有问题随时找我"),
            };
            msgs.push((sender, format!("c{}", k % 97), text));
        }
        let batch = batch_recipients(
            msgs.iter()
                .map(|(s, r, t)| (s.as_str(), r.as_str(), t.as_str(), 1)),
            0.5,
        );
        let mut idx = TemplateIndex::new();
        for (s, r, t) in &msgs {
            idx.add(s, r, t);
        }
        for ((s, _, t), n) in msgs.iter().zip(&batch) {
            assert_eq!(idx.distinct_recipients(Some(s), t), *n, "{s}: {t}");
        }
        assert!(batch.iter().any(|&n| n >= 15), "{batch:?}");
        assert!(batch.contains(&1), "{batch:?}");
        // The same 300 messages again: no new text, the same counts.
        let held = idx.distinct_texts();
        for (s, r, t) in &msgs {
            idx.add(s, r, t);
        }
        assert_eq!(idx.distinct_texts(), held);
        assert_eq!(idx.len(), 600);
    }

    /// Clusters are joined by tree size, so however the joins come (here always a new text
    /// joining the oldest cluster, one recipient each, where joining by recipients would
    /// stack a chain a thousand deep), every text's root is a few steps away.
    #[test]
    fn roots_stay_near_whatever_the_order_of_joins() {
        let mut idx = TemplateIndex::new();
        for k in 0..1_000u32 {
            idx.add("op", "r", &one_off(k));
        }
        assert_eq!(idx.distinct_texts(), 1_000);
        for k in 1..1_000 {
            if let Some(join) = idx.clusters.union(k, 0) {
                idx.merge_recipients(join);
            }
        }
        let c = &idx.clusters;
        let depth = |mut x: u32| {
            let mut d = 0;
            while c.parent[x as usize] != x {
                x = c.parent[x as usize];
                d += 1;
            }
            d
        };
        assert!((0..1_000).map(depth).max().unwrap() <= 10);
        let root = c.root(0) as usize;
        assert_eq!(idx.recipients[root].len(), 1);
        assert_eq!(c.size[root], 1_000);
    }

    #[test]
    fn different_messages_and_same_recipient() {
        let mut idx = TemplateIndex::new();
        assert_eq!(
            idx.add("op", "a", "您的快递已经发出，单号是SF123456，请注意查收")
                .recipients,
            1
        );
        assert_eq!(
            idx.add("op", "a", "您的快递已经发出，单号是SF654321，请注意查收")
                .recipients,
            1
        );
        assert_eq!(
            idx.add("op", "b", "天冷了，记得给孩子多穿点衣服，别着凉")
                .recipients,
            1
        );
        assert_eq!(
            idx.add("op", "c", "上次说的那款面霜我帮你问了，敏感肌也能用")
                .recipients,
            1
        );
        assert_eq!(idx.add("op", "d", "好的").recipients, 0);
        assert_eq!(idx.len(), 4);
    }
}
