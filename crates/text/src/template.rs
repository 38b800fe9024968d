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

/// An index of outgoing texts: feed it `(sender, recipient, text)` and it tells how many
/// distinct recipients got a near-duplicate of a text.
///
/// It clusters texts the way [`batch_recipients`] does for one day's messages, one text at a
/// time (a file spanning days is clustered across them there):
/// identical signatures from one sender are one text, a new text joins the first similar text
/// met in each of its locality-sensitive bands (so clusters are transitive), and each cluster
/// keeps its set of recipients. Adding a text costs the same however many copies came before
/// it, and a copy the index already holds (the same text to the same recipient, a re-sent
/// message) adds nothing to its memory.
#[derive(Debug, Clone)]
pub struct TemplateIndex {
    threshold: f64,
    ids: HashMap<String, u32>,
    /// Senders, by id (a recipient id never lands here).
    senders: HashSet<u32>,
    /// Distinct `(sender, signature)` texts, and their positions in `texts`.
    position: HashMap<(u32, Sig), u32>,
    texts: Vec<(u32, Sig)>,
    /// Union-find over `texts`, joined by size (the number of texts under each root), so a
    /// root is never more than log₂(texts) steps away.
    parent: Vec<u32>,
    size: Vec<u32>,
    /// The recipients of each cluster, kept at its root (empty at every other text).
    recipients: Vec<HashSet<u32>>,
    /// `(sender, band, band key)` → up to [`BUCKET_CAP`] texts with that band.
    buckets: HashMap<(u32, usize, u64), Vec<u32>>,
    /// Texts added (those long enough to be templates), copies included.
    added: usize,
}

/// Texts kept per band bucket: a text already joined to a bucket's cluster adds nothing new.
const BUCKET_CAP: usize = 8;

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
            threshold: threshold.clamp(0.0, 1.0),
            ids: HashMap::new(),
            senders: HashSet::new(),
            position: HashMap::new(),
            texts: Vec::new(),
            parent: Vec::new(),
            size: Vec::new(),
            recipients: Vec::new(),
            buckets: HashMap::new(),
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
        self.texts.len()
    }

    fn root(&self, mut x: u32) -> u32 {
        while self.parent[x as usize] != x {
            x = self.parent[x as usize];
        }
        x
    }

    /// Joins the clusters of `a` and `b`: the smaller tree goes under the larger, and the
    /// smaller recipient set is copied into the larger, which the new root keeps.
    fn union(&mut self, a: u32, b: u32) {
        let (ra, rb) = (self.root(a), self.root(b));
        if ra == rb {
            return;
        }
        let (top, under) = if self.size[ra as usize] >= self.size[rb as usize] {
            (ra, rb)
        } else {
            (rb, ra)
        };
        let (top_i, under_i) = (top as usize, under as usize);
        self.parent[under_i] = top;
        self.size[top_i] += self.size[under_i];
        let mut kept = std::mem::take(&mut self.recipients[top_i]);
        let mut moved = std::mem::take(&mut self.recipients[under_i]);
        if kept.len() < moved.len() {
            std::mem::swap(&mut kept, &mut moved);
        }
        kept.extend(moved);
        self.recipients[top_i] = kept;
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

    /// Adds a text sent by `sender` to `recipient`, returning how many distinct recipients
    /// (including this one) have now received a text of its cluster from `sender`.
    pub fn add(&mut self, sender: &str, recipient: &str, text: &str) -> TemplateHit {
        let Some(sig) = signature(text) else {
            return TemplateHit { recipients: 0 };
        };
        let s = self.id(sender);
        let r = self.id(recipient);
        self.senders.insert(s);
        self.added += 1;
        let u = match self.position.get(&(s, sig)) {
            Some(&u) => u,
            None => {
                let u = self.texts.len() as u32;
                self.position.insert((s, sig), u);
                self.texts.push((s, sig));
                self.parent.push(u);
                self.size.push(1);
                self.recipients.push(HashSet::new());
                for v in self.similar_roots(s, &sig) {
                    self.union(u, v);
                }
                for b in 0..BANDS {
                    let bucket = self.buckets.entry((s, b, band_key(&sig, b))).or_default();
                    if bucket.len() < BUCKET_CAP {
                        bucket.push(u);
                    }
                }
                u
            }
        };
        let root = self.root(u) as usize;
        self.recipients[root].insert(r);
        TemplateHit {
            recipients: self.recipients[root].len(),
        }
    }

    /// Distinct recipients of the clusters `text` would join from `sender` (or from every
    /// sender, with `None`). Does not add the text.
    pub fn distinct_recipients(&self, sender: Option<&str>, text: &str) -> usize {
        let Some(sig) = signature(text) else { return 0 };
        let senders: Vec<u32> = match sender {
            Some(name) => match self.ids.get(name) {
                Some(id) if self.senders.contains(id) => vec![*id],
                _ => return 0,
            },
            None => self.senders.iter().copied().collect(),
        };
        let mut seen = HashSet::new();
        for s in senders {
            let roots = match self.position.get(&(s, sig)) {
                Some(&u) => vec![self.root(u)],
                None => self.similar_roots(s, &sig),
            };
            for r in roots {
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
/// from a few saved replies: identical signatures are merged first, near-duplicate signatures are
/// joined into clusters (locality-sensitive bands; a text joins the first similar text met in any
/// of its bands, so clusters are transitive), and each cluster's recipients are counted once.
/// Cost grows with the number of distinct texts, not with the number of copies.
pub fn batch_recipients<'a>(
    messages: impl IntoIterator<Item = (&'a str, &'a str, &'a str, i64)>,
    threshold: f64,
) -> Vec<usize> {
    let mut names: HashMap<&'a str, u32> = HashMap::new();
    let mut id = |s: &'a str| {
        let n = names.len() as u32;
        *names.entry(s).or_insert(n)
    };
    // Distinct (sender, signature) texts and the recipients of each.
    let mut texts: HashMap<(u32, Sig), usize> = HashMap::new();
    let mut uniq: Vec<(u32, Sig)> = Vec::new();
    let mut recipients: Vec<Vec<(i64, u32)>> = Vec::new();
    let mut of_message: Vec<Option<(usize, i64)>> = Vec::new();
    // Saved replies repeat word for word: sign each distinct text once.
    let mut signed: HashMap<&'a str, Option<Sig>> = HashMap::new();
    for (sender, recipient, text, day) in messages {
        let Some(sig) = *signed.entry(text).or_insert_with(|| signature(text)) else {
            of_message.push(None);
            continue;
        };
        let (s, r) = (id(sender), id(recipient));
        let u = *texts.entry((s, sig)).or_insert_with(|| {
            uniq.push((s, sig));
            recipients.push(Vec::new());
            uniq.len() - 1
        });
        recipients[u].push((day, r));
        of_message.push(Some((u, day)));
    }
    // Union-find over distinct texts.
    let mut parent: Vec<usize> = (0..uniq.len()).collect();
    fn root(parent: &mut [usize], mut x: usize) -> usize {
        while parent[x] != x {
            parent[x] = parent[parent[x]];
            x = parent[x];
        }
        x
    }
    let mut buckets: HashMap<(u32, usize, u64), Vec<usize>> = HashMap::new();
    for (u, (s, sig)) in uniq.iter().enumerate() {
        for b in 0..BANDS {
            let bucket = buckets.entry((*s, b, band_key(sig, b))).or_default();
            if let Some(&v) = bucket
                .iter()
                .find(|&&v| similarity(sig, &uniq[v].1) >= threshold)
            {
                let (ru, rv) = (root(&mut parent, u), root(&mut parent, v));
                parent[ru] = rv;
            }
            // Keep buckets short: a text already joined to the bucket's cluster adds nothing new.
            if bucket.len() < BUCKET_CAP {
                bucket.push(u);
            }
        }
    }
    let mut cluster: HashMap<(usize, i64), HashSet<u32>> = HashMap::new();
    for (u, rs) in recipients.iter().enumerate() {
        let r = root(&mut parent, u);
        for &(day, who) in rs {
            cluster.entry((r, day)).or_default().insert(who);
        }
    }
    of_message
        .into_iter()
        .map(|m| m.map_or(0, |(u, day)| cluster[&(root(&mut parent, u), day)].len()))
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

    /// The index clusters one text at a time exactly as `batch_recipients` does a whole day,
    /// so live detection and import agree; copies of a text it holds cost no memory.
    #[test]
    fn the_index_counts_what_the_batch_counts() {
        let mut msgs: Vec<(String, String, String)> = Vec::new();
        for k in 0..300 {
            let sender = format!("op{}", k % 3);
            // every eleventh message is a one-off: CJK characters no other message has
            let one_off: String = (0..8)
                .filter_map(|j| char::from_u32(0x4e00 + 8 * k as u32 + j))
                .collect();
            let text = match k % 5 {
                _ if k % 11 == 0 => one_off,
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
            let one_off: String = (0..8)
                .filter_map(|j| char::from_u32(0x4e00 + 8 * k + j))
                .collect();
            idx.add("op", "r", &one_off);
        }
        assert_eq!(idx.distinct_texts(), 1_000);
        for k in 1..1_000 {
            idx.union(k, 0);
        }
        let depth = |mut x: u32| {
            let mut d = 0;
            while idx.parent[x as usize] != x {
                x = idx.parent[x as usize];
                d += 1;
            }
            d
        };
        assert!((0..1_000).map(depth).max().unwrap() <= 10);
        let root = idx.root(0) as usize;
        assert_eq!(idx.recipients[root].len(), 1);
        assert_eq!(idx.size[root], 1_000);
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
