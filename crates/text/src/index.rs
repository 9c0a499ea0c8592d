//! Tokens for the search index of one record.

use guanxi_core::contact_point::split_country_code;

use crate::fold::{Scanner, Segment};
use crate::{MAX_DOC_TOKENS, MAX_TOKEN_BYTES, PHONE_MARKER, PHONE_TAIL_MARKER};

/// Longest digit string read from a phone number (E.164 has at most 15).
pub(crate) const MAX_PHONE_DIGITS: usize = 20;
/// Shortest phone-number suffix that is indexed (and can be searched for).
pub(crate) const MIN_PHONE_SUFFIX: usize = 4;
/// Names with more words than this get no joined token.
const MAX_JOINED_WORDS: usize = 4;

/// The searchable text of one record, borrowed from it. Fields are tokenised in this order, which is also the
/// order in which the token cap ([`MAX_DOC_TOKENS`]) cuts: names are never crowded out by tags.
///
/// ```
/// use guanxi_text::{SearchDoc, index_tokens};
/// let doc = SearchDoc { names: &["张伟", "Zhang Wei"], phones: &["+8613800138000"], ..SearchDoc::default() };
/// let tokens = index_tokens(&doc);
/// assert!(tokens.iter().any(|t| t == "张伟") && tokens.iter().any(|t| t == "qxrev00083100831"));
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct SearchDoc<'a> {
    /// The record's own names: display name, family name, given name, a company's name.
    pub names: &'a [&'a str],
    /// Email addresses (normalised).
    pub emails: &'a [&'a str],
    /// Phone numbers in E.164 (`+8613800138000`, optionally `;ext=…`); other spellings are read as bare digits.
    pub phones: &'a [&'a str],
    /// Anything else worth finding: a contact's company name, job title, city… Chinese text here is indexed by
    /// character pairs only (a single character is searched for in names, not in 有限公司).
    pub other: &'a [&'a str],
}

/// The index tokens of a record: deduplicated, in a deterministic order (first occurrence, fields in
/// [`SearchDoc`] order), at most [`MAX_DOC_TOKENS`] of them, each at most [`MAX_TOKEN_BYTES`] bytes (CJK pairs are
/// 6–8 bytes) and made only of lowercase ASCII letters and digits or only of CJK ideographs.
///
/// - Latin words: NFKC, lowercased, diacritics folded, split on everything that is not a letter or digit. A name of
///   2–4 words also gets the words joined (`Zhang Wei` → `zhangwei`), as does an email's local part.
/// - CJK runs: every character and every pair of adjacent characters (北京字节 → 北 北京 京 京字 字 字节 节); in
///   `other` only the pairs (and a run of one character), which halves the tokens of a company name.
/// - Emails: the words of the local part and of the domain (split on `. _ - + @`).
/// - Phones: [`PHONE_TAIL_MARKER`] + the national significant number reversed (`qxrev00083100831`), so any tail of
///   it is a prefix of that one token; [`PHONE_MARKER`] + country code + national number (`qxtel8613800138000`);
///   and the national number as a plain word (`13800138000`, for prefix search).
pub fn index_tokens(doc: &SearchDoc<'_>) -> Vec<String> {
    let mut sink = Sink::default();
    let mut scanner = Scanner::default();
    for name in doc.names {
        sink.text(&mut scanner, name, true, true);
    }
    for email in doc.emails {
        if let Some(t) = crate::email_token(email) {
            sink.push(&t);
        }
        match email.rsplit_once('@') {
            Some((local, domain)) => {
                sink.text(&mut scanner, local, true, true);
                sink.text(&mut scanner, domain, false, true);
            }
            None => sink.text(&mut scanner, email, false, true),
        }
    }
    for phone in doc.phones {
        sink.phone(phone);
    }
    for other in doc.other {
        sink.text(&mut scanner, other, false, false);
    }
    sink.tokens
}

/// [`index_tokens`] joined by spaces: the text to store in an FTS5 column (its `unicode61` tokenizer splits it back
/// into exactly these tokens).
pub fn index_text(doc: &SearchDoc<'_>) -> String {
    index_tokens(doc).join(" ")
}

#[derive(Default)]
struct Sink {
    tokens: Vec<String>,
    buf: String,
}

impl Sink {
    fn push(&mut self, token: &str) {
        if self.tokens.len() < MAX_DOC_TOKENS && !token.is_empty() && !self.tokens.iter().any(|t| t == token) {
            self.tokens.push(token.to_owned());
        }
    }

    /// Pushes `self.buf` as a token.
    fn push_buf(&mut self) {
        let buf = std::mem::take(&mut self.buf);
        self.push(&buf);
        self.buf = buf;
    }

    /// `single_chars`: index every character of a CJK run, not only the pairs.
    fn text(&mut self, scanner: &mut Scanner, text: &str, join_words: bool, single_chars: bool) {
        let mut joined = String::new();
        let mut words = 0usize;
        scanner.scan(text, &mut |seg| match seg {
            Segment::Word(w) => {
                self.push(w);
                words += 1;
                if join_words && words <= MAX_JOINED_WORDS {
                    for c in w.chars() {
                        if joined.len() < MAX_TOKEN_BYTES {
                            joined.push(c);
                        }
                    }
                }
            }
            Segment::Cjk(run) => {
                for (i, &c) in run.iter().enumerate() {
                    self.buf.clear();
                    self.buf.push(c);
                    if single_chars || run.len() == 1 {
                        self.push_buf();
                    }
                    if let Some(&next) = run.get(i + 1) {
                        self.buf.push(next);
                        self.push_buf();
                    }
                }
            }
        });
        if (2..=MAX_JOINED_WORDS).contains(&words) {
            self.push(&joined);
        }
    }

    fn phone(&mut self, phone: &str) {
        let number = phone.split(';').next().unwrap_or("");
        let mut digits = String::with_capacity(MAX_PHONE_DIGITS);
        digits.extend(number.chars().filter(char::is_ascii_digit).take(MAX_PHONE_DIGITS));
        if digits.is_empty() {
            return;
        }
        let international = number.trim_start().starts_with('+');
        let national = match split_country_code(&digits).filter(|_| international) {
            Some((_, national)) if !national.is_empty() => {
                self.buf.clear();
                self.buf.push_str(PHONE_MARKER);
                self.buf.push_str(&digits);
                self.push_buf();
                national
            }
            _ => &digits,
        };
        self.buf.clear();
        self.buf.push_str(PHONE_TAIL_MARKER);
        self.buf.extend(national.chars().rev());
        self.push_buf();
        self.push(national);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(doc: SearchDoc<'_>) -> Vec<String> {
        index_tokens(&doc)
    }

    #[test]
    fn names() {
        let t = tokens(SearchDoc { names: &["欧阳娜娜", "Ada Lovelace"], ..Default::default() });
        assert_eq!(t, ["欧", "欧阳", "阳", "阳娜", "娜", "娜娜", "ada", "lovelace", "adalovelace"]);
        let t = tokens(SearchDoc { names: &["北京字节跳动科技有限公司"], ..Default::default() });
        assert!(t.iter().any(|t| t == "字节") && t.iter().any(|t| t == "跳动") && t.iter().any(|t| t == "公司"));
        assert_eq!(t.len(), 12 + 11);
        // As a contact's company or city: pairs only, except a run of one character.
        let t = tokens(SearchDoc { other: &["字节跳动", "京 Beijing"], ..Default::default() });
        assert_eq!(t, ["字节", "节跳", "跳动", "京", "beijing"]);
    }

    #[test]
    fn emails() {
        let t = tokens(SearchDoc { emails: &["zhang.wei+crm@mail.example.com"], ..Default::default() });
        assert_eq!(
            t,
            ["qxemzhangweicrmmailexamplecom", "zhang", "wei", "crm", "zhangweicrm", "mail", "example", "com"]
        );
    }

    #[test]
    fn phones() {
        let t = tokens(SearchDoc { phones: &["+8613800138000;ext=12"], ..Default::default() });
        // The extension is not part of the number.
        assert_eq!(t, ["qxtel8613800138000", "qxrev00083100831", "13800138000"]);
        // Not E.164: all digits are the number.
        let t = tokens(SearchDoc { phones: &["010-6552"], ..Default::default() });
        assert_eq!(t, ["qxrev2556010", "0106552"]);
        assert_eq!(tokens(SearchDoc { phones: &["+86 123"], ..Default::default() }), ["qxtel86123", "qxrev321", "123"]);
        assert!(tokens(SearchDoc { phones: &["", "+", "abc"], ..Default::default() }).is_empty());
    }

    #[test]
    fn capped_and_deduplicated() {
        let long: String = ('\u{4E00}'..='\u{9FFF}').take(2000).collect();
        let t = tokens(SearchDoc { names: &["张伟", "张伟"], other: &[&long], ..Default::default() });
        assert_eq!(t.len(), MAX_DOC_TOKENS);
        assert_eq!(&t[..3], ["张", "张伟", "伟"]);
    }
}
