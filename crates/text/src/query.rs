//! Turning what a user typed into the search box into tokens to look up.

use guanxi_core::contact_point::split_country_code;
use unicode_normalization::UnicodeNormalization;

use crate::fold::{Scanner, Segment, truncate};
use crate::index::{MAX_PHONE_DIGITS, MIN_PHONE_SUFFIX};
use crate::{MAX_GROUP_TOKENS, MAX_GROUPS, MAX_QUERY_BYTES, PHONE_MARKER, PHONE_TAIL_MARKER};

/// A parsed search: a record matches when **every** group has **at least one** token that matches one of the
/// record's index tokens. Empty means "nothing to search for" (the caller returns no results).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SearchQuery {
    pub groups: Vec<Vec<QueryToken>>,
}

impl SearchQuery {
    pub fn is_empty(&self) -> bool {
        self.groups.iter().all(Vec::is_empty)
    }
}

/// One token to look up: equal to an index token, or (when `prefix`) a prefix of one.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct QueryToken {
    pub token: String,
    pub prefix: bool,
}

impl QueryToken {
    fn exact(token: impl Into<String>) -> Self {
        QueryToken { token: token.into(), prefix: false }
    }

    fn prefix(token: impl Into<String>) -> Self {
        QueryToken { token: token.into(), prefix: true }
    }
}

/// Parses a search box query.
///
/// - Latin words (and digit words): each its own group, matched as a **prefix** — every word, not just the last,
///   so `ada love` and `zh wei` work while typing and `lovelace` finds `Lovelace-Byron`. A digit word of 4+ digits
///   may also be a phone number's tail, so its group also holds the phone-suffix token.
/// - A CJK run of one character: that character; of two or more: one group per adjacent pair, each exact
///   (欧阳娜娜 → 欧阳 AND 阳娜 AND 娜娜), which finds any name containing the run.
/// - A query that looks like a phone number (only digits, spaces and `+ - ( ) .`, at least 4 digits): one group.
///   With a country code (`+86 138…`, `0086 138…`): the marker + country code + national number (trunk `0`
///   removed) as a prefix, so `+1 138…` does not find `+86 138…`. Without one: the digits as typed and without a
///   trunk `0`, reversed, as prefixes of the reversed-number token (a number ending with them), OR-ed with the same
///   digits as plain word prefixes. `+86 138 0013 8000`,
///   `13800138000` and `8000` all find `+8613800138000`.
/// - An email address falls out of the word rule: `zhang.wei@example.com` → zhang\* wei\* example\* com\*.
///
/// At most [`MAX_GROUPS`] groups of at most [`MAX_GROUP_TOKENS`] tokens; only the first [`MAX_QUERY_BYTES`] bytes
/// of the query are read. Repeated groups are dropped.
///
/// ```
/// use guanxi_text::parse_query;
/// let q = parse_query("欧阳娜 ada");
/// let groups: Vec<Vec<&str>> = q.groups.iter().map(|g| g.iter().map(|t| t.token.as_str()).collect()).collect();
/// assert_eq!(groups, [vec!["欧阳"], vec!["阳娜"], vec!["ada"]]);
/// assert!(parse_query(" ?! ").is_empty());
/// ```
pub fn parse_query(q: &str) -> SearchQuery {
    let q = truncate(q, MAX_QUERY_BYTES);
    let mut groups: Vec<Vec<QueryToken>> = Vec::new();
    if let Some(group) = phone_group(q) {
        groups.push(group);
        return SearchQuery { groups };
    }
    // A whole address (one `@`, a dot in the domain, no spaces) is looked up by its own token.
    let t = q.trim();
    if t.matches('@').count() == 1
        && !t.chars().any(char::is_whitespace)
        && t.rsplit_once('@').is_some_and(|(l, d)| !l.is_empty() && d.contains('.') && !d.ends_with('.'))
        && let Some(token) = crate::email_token(t)
    {
        return SearchQuery { groups: vec![vec![QueryToken::exact(token)]] };
    }
    let mut add = |group: Vec<QueryToken>| {
        if groups.len() < MAX_GROUPS && !group.is_empty() && !groups.contains(&group) {
            groups.push(group);
        }
    };
    Scanner::default().scan(q, &mut |seg| match seg {
        Segment::Word(w) => {
            let mut group = vec![QueryToken::prefix(w)];
            if w.len() >= MIN_PHONE_SUFFIX && w.len() <= MAX_PHONE_DIGITS && w.bytes().all(|b| b.is_ascii_digit()) {
                group.push(phone_tail(w));
            }
            add(group);
        }
        Segment::Cjk([c]) => add(vec![QueryToken::exact(*c)]),
        Segment::Cjk(run) => {
            for pair in run.windows(2) {
                add(vec![QueryToken::exact(pair.iter().collect::<String>())]);
            }
        }
    });
    SearchQuery { groups }
}

/// The digits of a query that looks like a phone number, and whether it started with `+`.
pub(crate) fn phone_digits(q: &str) -> Option<(String, bool)> {
    let mut digits = String::new();
    let mut plus = false;
    for c in q.trim().nfkc() {
        match c {
            '0'..='9' => digits.push(c),
            '+' if digits.is_empty() && !plus => plus = true,
            ' ' | '-' | '(' | ')' | '.' | '\u{2010}'..='\u{2015}' => {}
            c if c.is_whitespace() => {}
            _ => return None,
        }
        if digits.len() > MAX_PHONE_DIGITS + 4 {
            return None;
        }
    }
    (digits.len() >= MIN_PHONE_SUFFIX).then_some((digits, plus))
}

/// How a phone-like query is looked up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PhoneQuery<'a> {
    /// Typed with a country code (`+86…`, `0086…`): country code + national number without a trunk `0`
    /// (`+44 (0)20…` → `4420…`). Compared with the whole number only, so `+1 138…` does not find `+86 138…`.
    International(String),
    /// Typed without one: the digits, and without trunk prefix zeros (`010…` → `10…`). Compared with the tail of
    /// the national number.
    National(Vec<&'a str>),
}

pub(crate) fn phone_query(digits: &str, plus: bool) -> PhoneQuery<'_> {
    // `00` is the international call prefix only in front of a whole number: a short `001001` is the tail of a
    // national number that happens to start with zeros.
    const MIN_INTERNATIONAL_DIGITS: usize = 8;
    let international =
        if plus { Some(digits) } else { digits.strip_prefix("00").filter(|d| d.len() >= MIN_INTERNATIONAL_DIGITS) };
    if let Some((cc, national)) = international.and_then(split_country_code) {
        let national = national.trim_start_matches('0');
        if !national.is_empty() {
            return PhoneQuery::International(format!("{cc}{national}"));
        }
    }
    let mut out = vec![digits];
    let trunkless = digits.trim_start_matches('0');
    if trunkless.len() >= MIN_PHONE_SUFFIX && trunkless != digits {
        out.push(trunkless);
    }
    PhoneQuery::National(out)
}

/// Matches the phone numbers whose national number ends with `digits`: a prefix of the reversed-number token.
fn phone_tail(digits: &str) -> QueryToken {
    QueryToken::prefix(format!("{PHONE_TAIL_MARKER}{}", digits.chars().rev().collect::<String>()))
}

fn phone_group(q: &str) -> Option<Vec<QueryToken>> {
    let (digits, plus) = phone_digits(q)?;
    Some(match phone_query(&digits, plus) {
        // A prefix, so a number still being typed (`+86 138 0013`) already finds it.
        PhoneQuery::International(number) => vec![QueryToken::prefix(format!("{PHONE_MARKER}{number}"))],
        PhoneQuery::National(candidates) => {
            let tails = candidates.iter().map(|c| phone_tail(c));
            // Digits typed with the country code but no `+` (`8613800138000`) equal the international token.
            let whole = candidates.iter().map(|c| QueryToken::exact(format!("{PHONE_MARKER}{c}")));
            let words = candidates.iter().map(|c| QueryToken::prefix(*c));
            tails.chain(whole).chain(words).take(MAX_GROUP_TOKENS).collect()
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn show(q: &str) -> Vec<Vec<String>> {
        parse_query(q)
            .groups
            .iter()
            .map(|g| g.iter().map(|t| format!("{}{}", t.token, if t.prefix { "*" } else { "" })).collect())
            .collect()
    }

    #[test]
    fn words_and_cjk() {
        assert_eq!(show("Ada Lovelace"), [["ada*"], ["lovelace*"]]);
        assert_eq!(show("张伟"), [["张伟"]]);
        assert_eq!(show("张"), [["张"]]);
        assert_eq!(show("欧阳娜娜"), [["欧阳"], ["阳娜"], ["娜娜"]]);
        // A whole address is one exact token; a part of one is searched word by word.
        assert_eq!(show("zhang.wei@example.com"), [["qxemzhangweiexamplecom"]]);
        assert_eq!(show("zhang.wei@"), [["zhang*"], ["wei*"]]);
        assert_eq!(show("张伟 2024"), vec![vec!["张伟"], vec!["2024*", "qxrev4202*"]]);
        assert_eq!(show("ada ada ADA"), [["ada*"]]);
        assert_eq!(show("Müller"), [["muller*"]]);
    }

    #[test]
    fn phones() {
        assert_eq!(show("+86 138 0013 8000"), [["qxtel8613800138000*"]]);
        assert_eq!(show("0086-138-0013-8000"), [["qxtel8613800138000*"]]);
        assert_eq!(show("+86 (0)10 6552"), [["qxtel86106552*"]]);
        assert_eq!(show("8613800138000"), [["qxrev0008310083168*", "qxtel8613800138000", "8613800138000*"]]);
        assert_eq!(show("8000"), [["qxrev0008*", "qxtel8000", "8000*"]]);
        assert_eq!(
            show("(010) 6552 9988"),
            [[
                "qxrev88992556010*",
                "qxrev8899255601*",
                "qxtel01065529988",
                "qxtel1065529988",
                "01065529988*",
                "1065529988*"
            ]]
        );
        assert_eq!(show("+44 (0)20 7946 0958"), [["qxtel442079460958*"]]);
        // Zeros in front of a short tail are not the international prefix.
        assert_eq!(show("001001"), [["qxrev100100*", "qxrev1001*", "qxtel001001", "qxtel1001", "001001*", "1001*"]]);
        // `+` and a digit string that starts with no country code: read as national digits.
        assert_eq!(
            show("+0123 4567"),
            [["qxrev76543210*", "qxrev7654321*", "qxtel01234567", "qxtel1234567", "01234567*", "1234567*"]]
        );
        assert_eq!(show("１３８００１３８０００"), [["qxrev00083100831*", "qxtel13800138000", "13800138000*"]]);
        // Three digits are a plain word.
        assert_eq!(show("138"), [["138*"]]);
    }

    #[test]
    fn garbage_is_empty_and_caps_hold() {
        for q in ["", "   ", "!?#", "😀", "\u{0}\u{202E}", "Иван"] {
            assert!(parse_query(q).is_empty(), "{q}");
        }
        let many = (0..100).map(|i| format!("w{i}")).collect::<Vec<_>>().join(" ");
        assert_eq!(parse_query(&many).groups.len(), MAX_GROUPS);
        let q = parse_query(&"x".repeat(1 << 20));
        assert_eq!(q.groups[0][0].token.len(), crate::MAX_TOKEN_BYTES);
    }
}
