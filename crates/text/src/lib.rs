//! Guanxi's search tokeniser, query parser and candidate ranking, shared by indexing and querying so that both
//! always agree. Pure: no IO.
//!
//! # Backends
//!
//! The app, not the database, splits text into tokens. The store keeps them in an SQLite FTS5 table (column text =
//! [`index_text`], `unicode61` tokenizer) and in a PostgreSQL `tsvector` built with
//! `array_to_tsvector(`[`index_tokens`]`)`, which applies no parser or dictionary. A search is [`parse_query`],
//! rendered with [`fts5_match_expr`] or [`pg_tsquery`] and bound as a parameter; the bounded candidate set is then
//! ordered with [`rank`].
//!
//! Every token is made **only of lowercase ASCII letters and digits, or only of CJK ideographs**. `unicode61`
//! keeps such a string as exactly one token (it splits only on separators and folds only case and diacritics,
//! which are already folded), and PostgreSQL stores it unchanged, so both backends see identical tokens.
//!
//! # Token scheme
//!
//! - Latin script: NFKC/NFKD-folded, lowercased, diacritics removed, split on anything not a letter or digit.
//!   Queries match words by prefix.
//! - Chinese: every character and every pair of adjacent characters. A two-character name (张伟) is one exact
//!   pair token, and any run of two or more characters is found as the AND of its pairs, so substring search
//!   works without a dictionary. We do **not** use jieba: its dictionary costs start-up time and binary size,
//!   and word segmentation would *lose* matches (a name or company fragment it segments differently from the
//!   query would not be found), while pairs find every substring. The price is some false positives for runs
//!   of 3+ characters whose pairs occur apart (the ranking pushes those down).
//! - Phones: [`PHONE_TAIL_MARKER`] + the national number reversed, so the tail typed from memory (4+ digits) is a
//!   prefix search on one token, kept apart from ordinary numbers in text by the marker.
//! - Emails: the words of the local part and of the domain.
//!
//! # Limits
//!
//! [`MAX_INPUT_BYTES`] of each input string are read; tokens are at most [`MAX_TOKEN_BYTES`] bytes (longer words
//! are cut, the same way on both sides, so prefix search still finds them); a record has at most
//! [`MAX_DOC_TOKENS`] tokens; a query at most [`MAX_GROUPS`] groups of [`MAX_GROUP_TOKENS`] tokens from its first
//! [`MAX_QUERY_BYTES`] bytes. Scripts other than Latin and Han (kana, Hangul, Cyrillic…) are not indexed, and
//! pinyin search for Chinese names is not provided (index a pinyin field as a name if needed).

mod expr;
mod fold;
mod index;
mod query;
mod rank;

pub use expr::{fts5_match_expr, pg_tsquery};
pub use index::{SearchDoc, index_text, index_tokens};
pub use query::{QueryToken, SearchQuery, parse_query};
pub use rank::{
    RankDoc, SCORE_COMPANY, SCORE_COMPANY_EXACT, SCORE_EMAIL_EXACT, SCORE_EMAIL_PREFIX, SCORE_EMAIL_SUBSTRING,
    SCORE_NAME_EXACT, SCORE_NAME_PART_EXACT, SCORE_NAME_PREFIX, SCORE_NAME_SUBSTRING, SCORE_NAME_WORDS_PREFIX,
    SCORE_OTHER, SCORE_PHONE_EXACT, SCORE_PHONE_SUFFIX, rank,
};

/// Prefix of phone-number tokens (`qxtel8000`), keeping them apart from numbers in ordinary text. It starts with
/// letters that begin no English or pinyin word: with a plain `tel`, a query word `te` (Ted, Tesla) would
/// prefix-match every contact that has a phone and flood the bounded candidate set.
pub const PHONE_MARKER: &str = "qxtel";
/// Prefix of the token holding a phone's national number reversed: a search for the last digits of a number is
/// a prefix search on it (one token per phone instead of one per tail).
pub const PHONE_TAIL_MARKER: &str = "qxrev";
/// Marks the one token that stands for a whole email address (its letters and digits, cut at
/// [`MAX_TOKEN_BYTES`]): a search for a full address is then one exact lookup instead of an AND of common words
/// such as `qq` and `com`.
pub const EMAIL_MARKER: &str = "qxem";

/// The whole-address token of an email (see [`EMAIL_MARKER`]), or None when it has no `@`.
pub fn email_token(email: &str) -> Option<String> {
    let (local, domain) = email.trim().rsplit_once('@')?;
    if local.is_empty() || domain.is_empty() {
        return None;
    }
    let mut t = String::from(EMAIL_MARKER);
    for c in email.trim().chars().flat_map(char::to_lowercase) {
        if t.len() >= MAX_TOKEN_BYTES {
            break;
        }
        if c.is_ascii_alphanumeric() {
            t.push(c);
        }
    }
    Some(t)
}
/// Longest token in bytes; longer Latin words are cut to this length.
pub const MAX_TOKEN_BYTES: usize = 32;
/// Most tokens one record gets; later fields are cut first (see [`SearchDoc`]).
pub const MAX_DOC_TOKENS: usize = 256;
/// How much of each indexed string is read.
pub const MAX_INPUT_BYTES: usize = 4096;
/// How much of a query is read.
pub const MAX_QUERY_BYTES: usize = 512;
/// Most AND-ed groups in a query.
pub const MAX_GROUPS: usize = 16;
/// Most OR-ed tokens in one group.
pub const MAX_GROUP_TOKENS: usize = 8;

#[cfg(test)]
mod tests;
