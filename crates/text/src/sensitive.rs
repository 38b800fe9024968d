//! A tenant's own sensitive-word list, built from a string at run time (so a server can reload it
//! without a restart: build a new [`SensitiveWords`] and swap it in).
//!
//! Words and texts are normalised the same way (traditional → simplified, full-width → half-width,
//! lowercase), and matching ignores everything that is not a letter or digit between the
//! characters of a word, so `加.微.信`, `加 V 信` and `加-微-信` still match `加微信`.

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};

use crate::detect::{Signal, SignalKind};
use crate::normalize::Normalized;

/// Error building a sensitive-word list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SensitiveError(pub String);

impl std::fmt::Display for SensitiveError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "invalid sensitive-word list: {}", self.0)
    }
}
impl std::error::Error for SensitiveError {}

/// A compiled sensitive-word list.
#[derive(Debug, Clone)]
pub struct SensitiveWords {
    ac: Option<AhoCorasick>,
    words: Vec<String>,
}

/// Keeps only letters and digits: the "compact" form used for matching.
fn compact(s: &str) -> String {
    s.chars().filter(|c| c.is_alphanumeric()).collect()
}

impl SensitiveWords {
    /// Parses a list: one word per line; blank lines and lines starting with `#` are ignored.
    /// A word with no letter or digit is an error naming its line.
    pub fn parse(list: &str) -> Result<Self, SensitiveError> {
        let mut words: Vec<String> = Vec::new();
        for (no, line) in list.lines().enumerate() {
            let l = line.trim();
            if l.is_empty() || l.starts_with('#') {
                continue;
            }
            let w = compact(&Normalized::new(l).text);
            if w.is_empty() {
                return Err(SensitiveError(format!(
                    "line {}: {l:?} has no letter or digit",
                    no + 1
                )));
            }
            words.push(w);
        }
        words.sort();
        words.dedup();
        let ac = if words.is_empty() {
            None
        } else {
            Some(
                AhoCorasickBuilder::new()
                    .match_kind(MatchKind::LeftmostLongest)
                    .build(&words)
                    .map_err(|e| SensitiveError(e.to_string()))?,
            )
        };
        Ok(SensitiveWords { ac, words })
    }

    /// An empty list.
    pub fn empty() -> Self {
        SensitiveWords {
            ac: None,
            words: Vec::new(),
        }
    }

    /// Number of distinct (normalised) words.
    pub fn len(&self) -> usize {
        self.words.len()
    }

    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }

    /// Finds the sensitive words in `text`, with spans into `text`.
    pub fn find(&self, text: &str) -> Vec<Signal> {
        self.find_normalized(text, &Normalized::new(text))
    }

    pub(crate) fn find_normalized(&self, original: &str, n: &Normalized) -> Vec<Signal> {
        let Some(ac) = &self.ac else {
            return Vec::new();
        };
        // Compact form of the normalised text, with each byte's position in the normalised text.
        let mut text = String::with_capacity(n.text.len());
        let mut pos: Vec<usize> = Vec::with_capacity(n.text.len());
        for (i, c) in n.text.char_indices() {
            if c.is_alphanumeric() {
                text.push(c);
                pos.extend(std::iter::repeat_n(i, c.len_utf8()));
            }
        }
        let b = text.as_bytes();
        let mut out = Vec::new();
        for m in ac.find_iter(&text) {
            let w = &self.words[m.pattern().as_usize()];
            // An ASCII word must not be a piece of a longer ASCII word in the compact text.
            let ascii = w.bytes().all(|c| c.is_ascii_alphanumeric());
            if ascii
                && ((m.start() > 0 && b[m.start() - 1].is_ascii_alphanumeric() && {
                    // adjacent in the normalised text (not separated by punctuation/space)
                    pos[m.start()] == pos[m.start() - 1] + 1
                }) || (m.end() < b.len() && b[m.end()].is_ascii_alphanumeric() && {
                    pos[m.end()] == pos[m.end() - 1] + 1
                }))
            {
                continue;
            }
            let ns = pos[m.start()];
            let last = pos[m.end() - 1];
            let ne = last + n.text[last..].chars().next().map_or(1, char::len_utf8);
            let (os, oe) = n.original_span(ns, ne);
            out.push(Signal {
                kind: SignalKind::Sensitive,
                phrase: original.get(os..oe).unwrap_or_default().to_owned(),
                term: w.clone(),
                start: os,
                end: oe,
            });
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_with_evasion_traditional_and_fullwidth() {
        let sw = SensitiveWords::parse("# tenant list\n加微信\n最低价\n\nVX\n").unwrap();
        assert_eq!(sw.len(), 3);
        let t = "想要更便宜就加.微.信，全网最低價！ｖｘ：abc";
        let f = sw.find(t);
        let phrases: Vec<&str> = f.iter().map(|s| s.phrase.as_str()).collect();
        assert_eq!(phrases, ["加.微.信", "最低價", "ｖｘ"]);
        for s in &f {
            assert_eq!(&t[s.start..s.end], s.phrase);
        }
        // An ASCII word inside a longer word does not match.
        assert!(sw.find("vxyz").is_empty());
        assert!(sw.find("nothing here").is_empty());
    }

    #[test]
    fn reload_is_just_a_new_list() {
        let a = SensitiveWords::parse("返现").unwrap();
        let b = SensitiveWords::parse("好评返现\n刷单").unwrap();
        assert_eq!(a.find("好评返现5元").len(), 1);
        assert_eq!(b.find("好评返现5元")[0].term, "好评返现");
        assert!(SensitiveWords::parse("!!!").is_err());
        assert!(SensitiveWords::parse("").unwrap().is_empty());
    }
}
