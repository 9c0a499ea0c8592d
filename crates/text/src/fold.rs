//! The one character walk shared by indexing, querying and ranking, so that all three see the same words.

use guanxi_core::person_name::is_cjk;
use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

use crate::{MAX_INPUT_BYTES, MAX_TOKEN_BYTES};

/// A piece of text as the tokeniser sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Segment<'a> {
    /// A run of ASCII letters and digits, lowercased, at most [`MAX_TOKEN_BYTES`] long (longer words are cut).
    Word(&'a str),
    /// A run of CJK ideographs (never empty).
    Cjk(&'a [char]),
}

/// Splits text into [`Segment`]s: NFKD (full-width → ASCII, compatibility ideographs → unified), combining marks
/// dropped (é → e), a few letters without a decomposition folded by hand (ß → ss, ø → o…), apostrophes inside a
/// word dropped (O'Brien → obrien). Every other character separates segments, so scripts other than Latin and Han
/// (kana, Hangul, Cyrillic…) are not searchable — a deliberate limit of the ASCII-or-CJK token alphabet.
///
/// Holds its buffers so that one scanner can walk many strings without allocating.
#[derive(Debug, Default)]
pub(crate) struct Scanner {
    word: String,
    cjk: Vec<char>,
}

impl Scanner {
    pub(crate) fn scan(&mut self, text: &str, f: &mut impl FnMut(Segment<'_>)) {
        self.word.clear();
        self.cjk.clear();
        for c in truncate(text, MAX_INPUT_BYTES).nfkd() {
            if c.is_ascii_alphanumeric() {
                self.flush_cjk(f);
                self.push_word(c.to_ascii_lowercase());
            } else if is_cjk(c) {
                self.flush_word(f);
                self.cjk.push(c);
            } else if is_combining_mark(c) || (is_apostrophe(c) && !self.word.is_empty()) {
                // Part of the character or word before it.
            } else if let Some(folded) = fold_letter(c) {
                self.flush_cjk(f);
                for b in folded.chars() {
                    self.push_word(b);
                }
            } else {
                self.flush_word(f);
                self.flush_cjk(f);
            }
        }
        self.flush_word(f);
        self.flush_cjk(f);
    }

    fn push_word(&mut self, c: char) {
        if self.word.len() < MAX_TOKEN_BYTES {
            self.word.push(c);
        }
    }

    fn flush_word(&mut self, f: &mut impl FnMut(Segment<'_>)) {
        if !self.word.is_empty() {
            f(Segment::Word(&self.word));
            self.word.clear();
        }
    }

    fn flush_cjk(&mut self, f: &mut impl FnMut(Segment<'_>)) {
        if !self.cjk.is_empty() {
            f(Segment::Cjk(&self.cjk));
            self.cjk.clear();
        }
    }
}

fn is_apostrophe(c: char) -> bool {
    matches!(c, '\'' | '\u{2019}' | '\u{02BC}')
}

/// Latin letters that NFKD does not decompose to ASCII.
fn fold_letter(c: char) -> Option<&'static str> {
    Some(match c {
        'ß' | 'ẞ' => "ss",
        'æ' | 'Æ' => "ae",
        'œ' | 'Œ' => "oe",
        'ø' | 'Ø' => "o",
        'đ' | 'Đ' | 'ð' | 'Ð' => "d",
        'ł' | 'Ł' => "l",
        'þ' | 'Þ' => "th",
        'ı' => "i",
        'ħ' | 'Ħ' => "h",
        _ => return None,
    })
}

/// The longest prefix of `s` of at most `max` bytes that ends on a character boundary.
pub(crate) fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// The text folded for comparison in ranking: words and CJK runs as the tokeniser sees them, words separated by
/// one space, adjacent CJK runs joined (张 伟 → 张伟). `"Ada  LOVELACE"` → `"ada lovelace"`.
pub(crate) fn fold(scanner: &mut Scanner, text: &str) -> String {
    let mut out = String::new();
    let mut last_cjk = false;
    scanner.scan(text, &mut |seg| match seg {
        Segment::Word(w) => {
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str(w);
            last_cjk = false;
        }
        Segment::Cjk(run) => {
            if !out.is_empty() && !last_cjk {
                out.push(' ');
            }
            out.extend(run.iter());
            last_cjk = true;
        }
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segments(text: &str) -> Vec<String> {
        let mut out = Vec::new();
        Scanner::default().scan(text, &mut |s| {
            out.push(match s {
                Segment::Word(w) => w.to_string(),
                Segment::Cjk(r) => format!("[{}]", r.iter().collect::<String>()),
            })
        });
        out
    }

    #[test]
    fn segments_fold_case_width_and_diacritics() {
        assert_eq!(segments("Ada LOVELACE"), ["ada", "lovelace"]);
        assert_eq!(segments("José Müller-Straße"), ["jose", "muller", "strasse"]);
        assert_eq!(segments("O'Brien’s"), ["obriens"]);
        assert_eq!(segments("ＡＢＣ１２３"), ["abc123"]);
        assert_eq!(segments("张伟abc 北京"), ["[张伟]", "abc", "[北京]"]);
        assert_eq!(segments("2024年3月"), ["2024", "[年]", "3", "[月]"]);
        assert_eq!(segments("Иван 김민준 😀 \u{202E}x"), ["x"]);
        assert_eq!(segments(&"a".repeat(100)), ["a".repeat(MAX_TOKEN_BYTES)]);
        // Compatibility ideograph → unified.
        assert_eq!(segments("\u{F900}"), ["[\u{8C48}]"]);
    }

    #[test]
    fn folding() {
        let mut s = Scanner::default();
        assert_eq!(fold(&mut s, "  Ada   LOVELACE "), "ada lovelace");
        assert_eq!(fold(&mut s, "张 伟"), "张伟");
        assert_eq!(fold(&mut s, "张伟 Wei"), "张伟 wei");
        assert_eq!(truncate("张伟", 4), "张");
    }
}
