//! Normalisation: traditional → simplified, full-width → half-width, lowercase, and removal of
//! invisible format characters, with a byte-offset map back to the original text.
//!
//! Traditional → simplified is character-level, from a table built once (lazily, in memory) by
//! running every CJK ideograph through `ferrous-opencc`'s embedded `t2s` dictionaries. Being
//! character-level keeps the offset map exact (one original character ↔ one normalised character)
//! and makes normalisation a table look-up; the phrase-level refinements of OpenCC (e.g. 乾隆)
//! do not matter for signal detection, which only needs a canonical form.

use std::sync::OnceLock;

/// Ranges of code points run through OpenCC to build the table.
const CJK_RANGES: &[(u32, u32)] = &[
    (0x3400, 0x4DBF), // CJK Extension A
    (0x4E00, 0x9FFF), // CJK Unified Ideographs
    (0xF900, 0xFAFF), // CJK Compatibility Ideographs
];

struct T2sTable {
    /// One entry per code point in `CJK_RANGES` (concatenated); 0 = unchanged.
    map: Vec<u32>,
}

fn table() -> &'static T2sTable {
    static TABLE: OnceLock<T2sTable> = OnceLock::new();
    TABLE.get_or_init(build_table)
}

fn build_table() -> T2sTable {
    let total: usize = CJK_RANGES.iter().map(|(a, b)| (b - a + 1) as usize).sum();
    let mut map = vec![0u32; total];
    let Ok(cc) = ferrous_opencc::OpenCC::from_config(ferrous_opencc::config::BuiltinConfig::T2s)
    else {
        // The dictionaries are embedded in the dependency; failing to load them would be a build
        // defect. Degrade to "no conversion" rather than panic in a pure library.
        return T2sTable { map };
    };
    // Convert all characters in one call, one per line, so that no phrase rule can span two
    // characters; then read the result back line by line.
    let mut input = String::with_capacity(total * 4);
    let mut chars = Vec::with_capacity(total);
    for &(a, b) in CJK_RANGES {
        for cp in a..=b {
            if let Some(c) = char::from_u32(cp) {
                input.push(c);
                input.push('\n');
                chars.push(c);
            }
        }
    }
    let out = cc.convert(&input);
    let lines: Vec<&str> = out.split('\n').collect();
    if lines.len() < chars.len() {
        return T2sTable { map };
    }
    for (c, line) in chars.iter().zip(lines) {
        let mut it = line.chars();
        if let (Some(s), None) = (it.next(), it.next())
            && s != *c
            && let Some(idx) = table_index(*c as u32)
        {
            map[idx] = s as u32;
        }
    }
    T2sTable { map }
}

fn table_index(cp: u32) -> Option<usize> {
    let mut base = 0usize;
    for &(a, b) in CJK_RANGES {
        if cp >= a && cp <= b {
            return Some(base + (cp - a) as usize);
        }
        base += (b - a + 1) as usize;
    }
    None
}

/// Forces the (lazy) traditional → simplified table to be built now, e.g. at server start, so the
/// first analysed text does not pay for it (≈ tens of milliseconds).
pub fn warm_up() {
    let _ = table();
}

/// Traditional → simplified for one character (identity for anything else).
#[inline]
pub fn t2s_char(c: char) -> char {
    let cp = c as u32;
    if cp < 0x3400 {
        return c;
    }
    match table_index(cp) {
        Some(i) => {
            let m = table().map[i];
            if m == 0 {
                c
            } else {
                char::from_u32(m).unwrap_or(c)
            }
        }
        None => c,
    }
}

/// Full-width → half-width for one character: U+FF01..U+FF5E → ASCII, ideographic space → space.
#[inline]
pub fn half_width(c: char) -> char {
    let cp = c as u32;
    if (0xFF01..=0xFF5E).contains(&cp) {
        char::from_u32(cp - 0xFEE0).unwrap_or(c)
    } else if cp == 0x3000 {
        ' '
    } else {
        c
    }
}

/// Invisible format characters dropped by normalisation (zero-width spaces and joiners, word
/// joiner, BOM, variation selectors, soft hyphen), which otherwise defeat phrase matching.
#[inline]
pub fn is_invisible(c: char) -> bool {
    matches!(c as u32,
        0x00AD | 0x200B..=0x200F | 0x202A..=0x202E | 0x2060..=0x2064 | 0xFEFF | 0xFE00..=0xFE0F)
}

/// A normalised text and the map from its bytes back to the original text.
#[derive(Debug, Clone, Default)]
pub struct Normalized {
    /// The normalised text: simplified, half-width, lowercase, without invisible characters and
    /// without whitespace between two non-ASCII characters (so `还 差 几 单` matches `还差几单`).
    pub text: String,
    /// For every byte of `text`, the byte range in the original of the character it came from.
    starts: Vec<u32>,
    ends: Vec<u32>,
}

impl Normalized {
    /// Normalises `original`.
    pub fn new(original: &str) -> Self {
        let mut n = Normalized {
            text: String::with_capacity(original.len()),
            starts: Vec::with_capacity(original.len()),
            ends: Vec::with_capacity(original.len()),
        };
        // `pending_ws`: a whitespace character seen after a non-ASCII one; kept only if the next
        // visible character is ASCII.
        let mut pending_ws: Option<(usize, usize)> = None;
        let mut last_non_ascii = false;
        for (i, c) in original.char_indices() {
            let end = i + c.len_utf8();
            if is_invisible(c) {
                continue;
            }
            let h = match half_width(c) {
                // Typographic apostrophes (phones type ’): negations are spelled with '.
                '\u{2018}' | '\u{2019}' | '\u{02BC}' | '\u{2032}' => '\'',
                h => h,
            };
            if h.is_whitespace() {
                if last_non_ascii {
                    if pending_ws.is_none() {
                        pending_ws = Some((i, end));
                    }
                    continue;
                }
                n.push(' ', i, end);
                last_non_ascii = false;
                continue;
            }
            let s = t2s_char(h);
            if let Some((ws, we)) = pending_ws.take()
                && s.is_ascii()
            {
                n.push(' ', ws, we);
            }
            last_non_ascii = !s.is_ascii();
            if s.is_ascii() {
                n.push(s.to_ascii_lowercase(), i, end);
            } else if s.is_uppercase() {
                for l in s.to_lowercase() {
                    n.push(l, i, end);
                }
            } else {
                n.push(s, i, end);
            }
        }
        if let Some((ws, we)) = pending_ws {
            n.push(' ', ws, we);
        }
        n
    }

    #[inline]
    fn push(&mut self, c: char, start: usize, end: usize) {
        self.text.push(c);
        for _ in 0..c.len_utf8() {
            self.starts.push(start as u32);
            self.ends.push(end as u32);
        }
    }

    /// Maps a byte range `[start, end)` of the normalised text (on char boundaries, non-empty)
    /// to the byte range in the original text. Both ends are char boundaries of the original.
    pub fn original_span(&self, start: usize, end: usize) -> (usize, usize) {
        if self.starts.is_empty() {
            return (0, 0);
        }
        let s = start.min(self.starts.len() - 1);
        let e = end.saturating_sub(1).clamp(s, self.ends.len() - 1);
        (self.starts[s] as usize, self.ends[e] as usize)
    }

    /// Byte offset in the original text of the character that produced normalised byte `pos`;
    /// `original_len` for `pos` at or past the end.
    pub fn original_offset(&self, pos: usize, original_len: usize) -> usize {
        self.starts.get(pos).map_or(original_len, |&s| s as usize)
    }
}

/// Normalises a text and returns only the normalised string.
pub fn normalize(text: &str) -> String {
    Normalized::new(text).text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traditional_to_simplified() {
        assert_eq!(normalize("貨不對版"), "货不对版");
        assert_eq!(normalize("與描述不符，質量很差"), "与描述不符,质量很差");
        assert_eq!(normalize("還差幾單就完成任務了"), "还差几单就完成任务了");
    }

    #[test]
    fn full_width_and_lowercase() {
        assert_eq!(
            normalize("ＮＯＴ　ＡＳ　ＤＥＳＣＲＩＢＥＤ！"),
            "not as described!"
        );
        assert_eq!(normalize("ＡＢＣ１２３？"), "abc123?");
        assert_eq!(normalize("Ünïcode ÀÉ"), "ünïcode àé");
    }

    #[test]
    fn typographic_apostrophes_become_straight_ones() {
        assert_eq!(normalize("I wasn’t disappointed"), "i wasn't disappointed");
        assert_eq!(normalize("don‘t ʼem"), "don't 'em");
    }

    #[test]
    fn invisible_and_spaced_cjk() {
        assert_eq!(normalize("还\u{200b}差几单"), "还差几单");
        assert_eq!(normalize("还 差 几 单"), "还差几单");
        assert_eq!(normalize("货 ok 了"), "货 ok 了");
        assert_eq!(normalize("hello world"), "hello world");
    }

    #[test]
    fn spans_map_back() {
        let orig = "親，貨不對版！ＯＫ";
        let n = Normalized::new(orig);
        let p = n.text.find("货不对版").unwrap();
        let (s, e) = n.original_span(p, p + "货不对版".len());
        assert_eq!(&orig[s..e], "貨不對版");
        let p = n.text.find("ok").unwrap();
        let (s, e) = n.original_span(p, p + 2);
        assert_eq!(&orig[s..e], "ＯＫ");
    }

    #[test]
    fn simplified_is_stable() {
        let s = "还差几单就完成任务了，支持一下";
        assert_eq!(normalize(s), "还差几单就完成任务了,支持一下");
    }
}
