//! Property tests of the contract between indexing and querying.

use guanxi_core::person_name::{display_name, is_cjk};
use proptest::prelude::*;

use super::*;

/// FTS semantics: every group has a token equal to an index token, or a prefix of one for prefix tokens.
fn matches(query: &SearchQuery, tokens: &[String]) -> bool {
    !query.is_empty()
        && query.groups.iter().all(|group| {
            group.iter().any(|q| tokens.iter().any(|t| if q.prefix { t.starts_with(&q.token) } else { *t == q.token }))
        })
}

fn token_is_well_formed(t: &str) -> bool {
    !t.is_empty()
        && t.len() <= MAX_TOKEN_BYTES
        && (t.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()) || t.chars().all(is_cjk))
}

fn finds(doc: &SearchDoc<'_>, q: &str) -> bool {
    matches(&parse_query(q), &index_tokens(doc))
}

fn as_refs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

#[test]
fn table() {
    let zhang = SearchDoc {
        names: &["张伟", "张", "伟", "北京字节跳动科技有限公司", "高级工程师"],
        emails: &["zhang.wei@example.com"],
        phones: &["+8613800138000"],
        other: &["北京", "VIP"],
    };
    let ouyang =
        SearchDoc { names: &["欧阳娜娜", "欧阳", "娜娜"], phones: &["+861065529988"], ..SearchDoc::default() };
    let ada = SearchDoc {
        names: &["Ada Lovelace", "Lovelace", "Ada"],
        emails: &["ada@analytical.engine.org"],
        phones: &["+14155552671;ext=12"],
        other: &["London"],
    };
    let finds_zhang = [
        "张伟",
        "张",
        "zhang.wei@example.com",
        "zhangwei",
        "example",
        "+86 138 0013 8000",
        "0086-138-0013-8000",
        "13800138000",
        "138 0013 8000",
        "8000",
        "38000",
        "138",
        "字节跳动",
        "字节",
        "有限公司",
        "北京字节跳动科技有限公司",
        "工程师",
        "vip",
        "张伟 字节",
        "张伟 8000",
        "１３８００１３８０００",
    ];
    for q in finds_zhang {
        assert!(finds(&zhang, q), "{q} should find 张伟");
    }
    for q in ["李", "张三", "ada", "9999", "+1 138 0013 8000", "字节 ada", "伟张", "tel", "te", "qx8000"] {
        assert!(!finds(&zhang, q), "{q} should not find 张伟");
    }
    for q in ["欧阳娜娜", "欧阳", "阳娜", "娜娜", "(010) 6552 9988", "010-65529988", "+86 10 6552 9988", "9988"]
    {
        assert!(finds(&ouyang, q), "{q} should find 欧阳娜娜");
    }
    assert!(!finds(&ouyang, "欧娜"));
    for q in [
        "Ada Lovelace",
        "ada",
        "lov",
        "LOVELACE ADA",
        "ada@analytical.engine.org",
        "+1 (415) 555-2671",
        "2671",
        "london",
    ] {
        assert!(finds(&ada, q), "{q} should find Ada");
    }
    assert!(!finds(&ada, "adam"));
    assert!(!finds(&ada, "lovelace 12"));
}

fn cjk_char() -> impl Strategy<Value = char> {
    prop_oneof![
        8 => (0x4E00u32..=0x9FFF).prop_map(|c| char::from_u32(c).unwrap_or('一')),
        1 => (0x3400u32..=0x4DBF).prop_map(|c| char::from_u32(c).unwrap_or('一')),
        1 => (0x20000u32..=0x2A6DF).prop_map(|c| char::from_u32(c).unwrap_or('一')),
    ]
}

fn cjk_string(len: std::ops::RangeInclusive<usize>) -> impl Strategy<Value = String> {
    prop::collection::vec(cjk_char(), len).prop_map(|v| v.into_iter().collect())
}

fn latin_word() -> impl Strategy<Value = String> {
    "[A-Za-zÀ-ÖØ-öø-ÿ][a-zà-öø-ÿ]{1,12}"
}

fn email() -> impl Strategy<Value = String> {
    "[a-z0-9]{1,8}([._+\\-][a-z0-9]{1,8}){0,2}@[a-z0-9]{1,8}(-[a-z0-9]{1,4})?\\.(com|cn|com\\.cn|org)"
}

fn phone() -> impl Strategy<Value = String> {
    prop_oneof![
        "\\+861[3-9][0-9]{9}",
        "\\+8610[2-9][0-9]{7}",
        "\\+1[2-9][0-9]{2}[2-9][0-9]{6}",
        "\\+852[2-9][0-9]{7}",
        "\\+44[1-7][0-9]{9}",
    ]
}

proptest! {
    #[test]
    fn index_tokens_are_well_formed(
        names in prop::collection::vec("\\PC{0,30}|.{0,30}", 0..4),
        emails in prop::collection::vec(".{0,30}", 0..3),
        phones in prop::collection::vec(".{0,30}", 0..3),
        other in prop::collection::vec("\\PC{0,60}", 0..3),
    ) {
        let (n, e, p, o) = (as_refs(&names), as_refs(&emails), as_refs(&phones), as_refs(&other));
        let doc = SearchDoc { names: &n, emails: &e, phones: &p, other: &o };
        let tokens = index_tokens(&doc);
        prop_assert!(tokens.len() <= MAX_DOC_TOKENS);
        for t in &tokens {
            prop_assert!(token_is_well_formed(t), "bad token {:?}", t);
        }
        let mut sorted = tokens.clone();
        sorted.sort();
        sorted.dedup();
        prop_assert_eq!(sorted.len(), tokens.len());
        prop_assert_eq!(index_tokens(&doc), tokens);
    }

    #[test]
    fn queries_are_well_formed_and_render(q in "\\PC{0,60}|.{0,60}|[0-9+ ()\\-.]{0,30}") {
        let query = parse_query(&q);
        prop_assert!(query.groups.len() <= MAX_GROUPS);
        for group in &query.groups {
            prop_assert!(!group.is_empty() && group.len() <= MAX_GROUP_TOKENS);
            for t in group {
                prop_assert!(token_is_well_formed(&t.token), "bad token {:?}", t);
            }
        }
        prop_assert_eq!(fts5_match_expr(&query).is_some(), !query.is_empty());
        prop_assert_eq!(pg_tsquery(&query).is_some(), !query.is_empty());
        let _ = rank(&q, &RankDoc { display_name: &q, names: &[&q], company: Some(&q), emails: &[&q], phones: &[&q], other: &[&q] });
    }

    #[test]
    fn cjk_names_are_found(family in cjk_string(1..=2), given in cjk_string(1..=2), start in 0usize..4) {
        let full = display_name(Some(&family), Some(&given)).unwrap_or_default();
        let doc = SearchDoc { names: &[&full, &family, &given], ..SearchDoc::default() };
        let tokens = index_tokens(&doc);
        prop_assert!(matches(&parse_query(&full), &tokens), "full name {}", full);
        let chars: Vec<char> = full.chars().collect();
        let start = start.min(chars.len() - 2);
        let pair: String = chars[start..start + 2].iter().collect();
        prop_assert!(matches(&parse_query(&pair), &tokens), "substring {} of {}", pair, full);
        let single: String = chars[start..=start].iter().collect();
        prop_assert!(matches(&parse_query(&single), &tokens));
    }

    #[test]
    fn cjk_substrings_of_company_names_are_found(name in cjk_string(2..=14), a in 0usize..14, len in 2usize..14) {
        let chars: Vec<char> = name.chars().collect();
        let a = a.min(chars.len() - 2);
        let b = (a + len).min(chars.len());
        let sub: String = chars[a..b].iter().collect();
        let doc = SearchDoc { names: &[&name], ..SearchDoc::default() };
        prop_assert!(finds(&doc, &sub), "{} in {}", sub, name);
    }

    #[test]
    fn latin_names_are_found(given in latin_word(), family in latin_word(), cut in 2usize..14, which in 0usize..2) {
        let full = display_name(Some(&family), Some(&given)).unwrap_or_default();
        let doc = SearchDoc { names: &[&full, &family, &given], ..SearchDoc::default() };
        let tokens = index_tokens(&doc);
        prop_assert!(matches(&parse_query(&full), &tokens), "{}", full);
        prop_assert!(matches(&parse_query(&full.to_uppercase()), &tokens), "{}", full);
        let word = if which == 0 { &given } else { &family };
        let prefix: String = word.chars().take(cut).collect();
        prop_assert!(matches(&parse_query(&prefix), &tokens), "prefix {} of {}", prefix, full);
    }

    #[test]
    fn emails_are_found(address in email()) {
        let doc = SearchDoc { emails: &[&address], ..SearchDoc::default() };
        let tokens = index_tokens(&doc);
        prop_assert!(matches(&parse_query(&address), &tokens), "{}", address);
        prop_assert!(matches(&parse_query(&address.to_uppercase()), &tokens), "{}", address);
    }

    #[test]
    fn phones_are_found_by_any_tail(e164 in phone(), tail in 4usize..16) {
        let doc = SearchDoc { phones: &[&e164], ..SearchDoc::default() };
        let tokens = index_tokens(&doc);
        let digits = guanxi_core::contact_point::split_country_code(&e164[1..]).map_or("", |(_, n)| n);
        let tail = tail.min(digits.len());
        let q = &digits[digits.len() - tail..];
        prop_assert!(matches(&parse_query(q), &tokens), "{} tail {}", e164, q);
        prop_assert!(matches(&parse_query(&e164), &tokens), "{}", e164);
        let score = rank(&e164, &RankDoc { phones: &[&e164], ..RankDoc::default() });
        prop_assert!(score >= SCORE_PHONE_EXACT);
    }

    #[test]
    fn cn_phone_spellings_are_found(n in "1[3-9][0-9]{9}") {
        let e164 = format!("+86{n}");
        let doc = SearchDoc { phones: &[&e164], ..SearchDoc::default() };
        let (a, b, c) = (&n[..3], &n[3..7], &n[7..]);
        for q in [format!("+86 {a} {b} {c}"), format!("0086-{a}-{b}-{c}"), format!("{a} {b} {c}"), format!("86{n}"), n.clone()] {
            prop_assert!(finds(&doc, &q), "{} for {}", q, e164);
        }
    }
}

#[test]
fn huge_and_hostile_input_does_not_panic() {
    let mb = "张伟Ada😀\u{202E}\u{0}é ".repeat(1 << 16);
    let doc = SearchDoc { names: &[&mb], emails: &[&mb], phones: &[&mb], other: &[&mb] };
    let tokens = index_tokens(&doc);
    assert!(tokens.len() <= MAX_DOC_TOKENS && tokens.iter().all(|t| token_is_well_formed(t)));
    let q = parse_query(&mb);
    assert!(q.groups.len() <= MAX_GROUPS);
    let digits = "1".repeat(1 << 20);
    assert!(parse_query(&digits).groups.len() == 1);
    let rd = RankDoc {
        display_name: &mb,
        names: &[&mb],
        company: Some(&mb),
        emails: &[&mb],
        phones: &[&digits],
        other: &[],
    };
    let _ = rank(&mb, &rd);
    let _ = rank(&digits, &rd);
}
