//! Scoring a bounded set of candidate records against the query, in the app (never `ORDER BY rank` over a whole
//! match set: that costs hundreds of milliseconds on a frequent token).

use guanxi_core::contact_point::split_country_code;

use crate::fold::{Scanner, fold};
use crate::index::MIN_PHONE_SUFFIX;
use crate::query::{PhoneQuery, phone_digits, phone_query};

/// The display name equals the query (after folding case, width, diacritics and spacing).
pub const SCORE_NAME_EXACT: u32 = 1000;
/// Another name field (family, given, nickname…) equals the query.
pub const SCORE_NAME_PART_EXACT: u32 = 900;
/// The display name starts with the query.
pub const SCORE_NAME_PREFIX: u32 = 800;
/// Every query word starts a word of some name field (`love ada` → Ada Lovelace).
pub const SCORE_NAME_WORDS_PREFIX: u32 = 750;
/// An email address equals the query.
pub const SCORE_EMAIL_EXACT: u32 = 700;
/// An email address starts with the query.
pub const SCORE_EMAIL_PREFIX: u32 = 650;
/// A phone's national number (or E.164 digits) equals the query's.
pub const SCORE_PHONE_EXACT: u32 = 600;
/// A phone's national number ends with the query's digits (at least 4).
pub const SCORE_PHONE_SUFFIX: u32 = 500;
/// A name field contains the query.
pub const SCORE_NAME_SUBSTRING: u32 = 400;
/// The company name equals the query.
pub const SCORE_COMPANY_EXACT: u32 = 350;
/// The company name contains the query, or every query word starts one of its words.
pub const SCORE_COMPANY: u32 = 300;
/// An email address contains the query.
pub const SCORE_EMAIL_SUBSTRING: u32 = 200;
/// Another field contains the query, or every query word starts one of its words.
pub const SCORE_OTHER: u32 = 100;

/// What ranking looks at in one candidate record.
#[derive(Debug, Clone, Copy, Default)]
pub struct RankDoc<'a> {
    pub display_name: &'a str,
    /// The other name fields: family, given, nickname…
    pub names: &'a [&'a str],
    pub company: Option<&'a str>,
    pub emails: &'a [&'a str],
    /// E.164 numbers.
    pub phones: &'a [&'a str],
    /// City, tags…
    pub other: &'a [&'a str],
}

/// The score of a candidate for the query: the weight of the best criterion it meets (see the `SCORE_*`
/// constants: exact display name > name prefix > exact email > phone > name substring > company > other), `0` when
/// it meets none. Deterministic; the caller breaks ties (by id).
///
/// ```
/// use guanxi_text::{RankDoc, rank, SCORE_NAME_EXACT, SCORE_NAME_PREFIX};
/// let ada = RankDoc { display_name: "Ada Lovelace", ..RankDoc::default() };
/// assert_eq!(rank("ada lovelace", &ada), SCORE_NAME_EXACT);
/// assert_eq!(rank("Ada L", &ada), SCORE_NAME_PREFIX);
/// ```
pub fn rank(q: &str, candidate: &RankDoc<'_>) -> u32 {
    let mut scanner = Scanner::default();
    let query = fold(&mut scanner, q);
    let query_words: Vec<&str> = query.split(' ').filter(|w| !w.is_empty()).collect();
    let raw = q.trim().to_lowercase();
    let mut best = 0u32;
    let mut consider = |score: u32, met: bool| {
        if met && score > best {
            best = score;
        }
    };

    if !query.is_empty() {
        let display = fold(&mut scanner, candidate.display_name);
        let names: Vec<String> = candidate.names.iter().map(|n| fold(&mut scanner, n)).collect();
        let all_names = || std::iter::once(&display).chain(names.iter());
        consider(SCORE_NAME_EXACT, display == query);
        consider(SCORE_NAME_PART_EXACT, names.contains(&query));
        consider(SCORE_NAME_PREFIX, display.starts_with(&query));
        consider(SCORE_NAME_WORDS_PREFIX, all_names().any(|n| words_prefix(&query_words, n)));
        consider(SCORE_NAME_SUBSTRING, all_names().any(|n| n.contains(&query)));
        if let Some(company) = candidate.company {
            let company = fold(&mut scanner, company);
            consider(SCORE_COMPANY_EXACT, company == query);
            consider(SCORE_COMPANY, company.contains(&query) || words_prefix(&query_words, &company));
        }
        for other in candidate.other {
            let other = fold(&mut scanner, other);
            consider(SCORE_OTHER, other.contains(&query) || words_prefix(&query_words, &other));
        }
    }
    if !raw.is_empty() {
        for email in candidate.emails {
            let email = email.trim().to_lowercase();
            consider(SCORE_EMAIL_EXACT, email == raw);
            consider(SCORE_EMAIL_PREFIX, email.starts_with(&raw));
            consider(SCORE_EMAIL_SUBSTRING, email.contains(&raw));
        }
    }
    if let Some((digits, plus)) = phone_digits(q) {
        let query = phone_query(&digits, plus);
        for phone in candidate.phones {
            let number = phone.split(';').next().unwrap_or("");
            let all: String = number.chars().filter(char::is_ascii_digit).collect();
            let national = match split_country_code(&all).filter(|_| number.trim_start().starts_with('+')) {
                Some((_, n)) => n,
                None => &all,
            };
            match &query {
                PhoneQuery::International(intl) => {
                    consider(SCORE_PHONE_EXACT, *intl == all);
                    consider(SCORE_PHONE_SUFFIX, all.starts_with(intl.as_str()));
                }
                PhoneQuery::National(candidates) => {
                    consider(SCORE_PHONE_EXACT, candidates.iter().any(|c| *c == national || *c == all));
                    let suffix = candidates.iter().any(|c| c.len() >= MIN_PHONE_SUFFIX && national.ends_with(c));
                    consider(SCORE_PHONE_SUFFIX, suffix);
                }
            }
        }
    }
    best
}

/// Every query word is a prefix of some word of `text` (both folded).
fn words_prefix(query_words: &[&str], text: &str) -> bool {
    !query_words.is_empty() && query_words.iter().all(|q| text.split(' ').any(|w| w.starts_with(q)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_order_the_criteria() {
        let zhang = RankDoc {
            display_name: "张伟",
            names: &["张", "伟"],
            company: Some("北京字节跳动科技有限公司"),
            emails: &["zhang.wei@example.com"],
            phones: &["+8613800138000"],
            other: &["北京", "VIP"],
        };
        let cases = [
            ("张伟", SCORE_NAME_EXACT),
            ("张 伟", SCORE_NAME_EXACT),
            ("伟", SCORE_NAME_PART_EXACT),
            ("张", SCORE_NAME_PART_EXACT),
            ("zhang.wei@example.com", SCORE_EMAIL_EXACT),
            ("Zhang.Wei@Example.com", SCORE_EMAIL_EXACT),
            ("zhang.wei@", SCORE_EMAIL_PREFIX),
            ("+86 138 0013 8000", SCORE_PHONE_EXACT),
            ("13800138000", SCORE_PHONE_EXACT),
            ("0086 13800138000", SCORE_PHONE_EXACT),
            ("8000", SCORE_PHONE_SUFFIX),
            ("字节跳动", SCORE_COMPANY),
            ("北京字节跳动科技有限公司", SCORE_COMPANY_EXACT),
            ("example.com", SCORE_EMAIL_SUBSTRING),
            ("vip", SCORE_OTHER),
            ("李", 0),
            ("", 0),
            ("!!", 0),
        ];
        for (q, want) in cases {
            assert_eq!(rank(q, &zhang), want, "{q}");
        }
        let ada = RankDoc { display_name: "Ada Lovelace", names: &["Lovelace", "Ada"], ..RankDoc::default() };
        assert_eq!(rank("ADA LOVELACE", &ada), SCORE_NAME_EXACT);
        assert_eq!(rank("lovelace", &ada), SCORE_NAME_PART_EXACT);
        assert_eq!(rank("ada lo", &ada), SCORE_NAME_PREFIX);
        assert_eq!(rank("love ada", &ada), SCORE_NAME_WORDS_PREFIX);
        assert_eq!(rank("velace", &ada), SCORE_NAME_SUBSTRING);
    }
}
