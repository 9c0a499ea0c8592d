//! Person names for Chinese and English speakers: cleaning the name parts, deriving the display name and splitting
//! a full name typed into one box (or one CSV column) into family and given name.
//!
//! Chinese, Japanese and Korean names are written family name first without a space (张伟, 欧阳娜娜); Latin-script
//! names given name first with a space (Ada Lovelace).

use unicode_normalization::UnicodeNormalization;

use crate::error::FieldError;

/// Whether `c` is a CJK ideograph (Han character): the Unified Ideographs block, extensions A–I, the
/// compatibility ideographs and their supplement, plus 〇 (U+3007, used in names and dates).
///
/// ```
/// use guanxi_core::person_name::is_cjk;
/// assert!(is_cjk('张') && is_cjk('𠀀') && !is_cjk('A') && !is_cjk('あ') && !is_cjk('。'));
/// ```
pub fn is_cjk(c: char) -> bool {
    matches!(c,
        '\u{4E00}'..='\u{9FFF}'       // CJK Unified Ideographs
        | '\u{3400}'..='\u{4DBF}'     // Extension A
        | '\u{20000}'..='\u{2A6DF}'   // Extension B
        | '\u{2A700}'..='\u{2EE5F}'   // Extensions C, D, E, F, I
        | '\u{30000}'..='\u{323AF}'   // Extensions G, H
        | '\u{F900}'..='\u{FAFF}'     // Compatibility Ideographs
        | '\u{2F800}'..='\u{2FA1F}'   // Compatibility Ideographs Supplement
        | '\u{3007}'                  // 〇
    )
}

/// Scripts whose names are written family-first without spaces: Han, kana and Hangul.
fn is_east_asian(c: char) -> bool {
    is_cjk(c)
        || matches!(c,
            '\u{3040}'..='\u{30FF}'       // Hiragana, Katakana
            | '\u{31F0}'..='\u{31FF}'     // Katakana phonetic extensions
            | '\u{AC00}'..='\u{D7AF}'     // Hangul syllables
            | '\u{1100}'..='\u{11FF}'     // Hangul jamo
        )
}

/// Middle dots that separate the parts of a transliterated foreign name (约翰·史密斯) or a minority name.
fn is_name_dot(c: char) -> bool {
    matches!(c, '·' | '・' | '•' | '‧' | '∙' | '⋅' | '･')
}

/// Bidi overrides and isolates: they make a name display as something else (a spoofing vector).
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Trims, NFC-normalises and collapses runs of whitespace to one space. Control characters are dropped.
fn tidy(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut pending_space = false;
    for c in s.trim().nfc() {
        if c.is_whitespace() {
            pending_space = true;
        } else if c.is_control() || is_bidi_control(c) {
            continue;
        } else {
            if pending_space && !out.is_empty() {
                out.push(' ');
            }
            pending_space = false;
            out.push(c);
        }
    }
    out
}

/// Cleans one part of a name (family name, given name, nickname…): trims, NFC-normalises and collapses internal
/// whitespace to single spaces. Blank → `Ok(None)`. Control characters and bidi overrides are rejected
/// (`invalid_characters`), and so is a result longer than `max_chars` characters (`too_long`).
///
/// ```
/// use guanxi_core::person_name::clean_name_part;
/// assert_eq!(clean_name_part("  Ada   King ", "given_name", 50).unwrap().as_deref(), Some("Ada King"));
/// assert_eq!(clean_name_part(" ", "given_name", 50).unwrap(), None);
/// assert_eq!(clean_name_part("Ada", "given_name", 2).unwrap_err().code, "too_long");
/// ```
pub fn clean_name_part(s: &str, field: &str, max_chars: usize) -> Result<Option<String>, FieldError> {
    let too_long = || FieldError::new(field, "too_long", format!("must be at most {max_chars} characters"));
    let mut out = String::new();
    let mut chars = 0usize;
    let mut pending_space = false;
    // Streaming, so a megabyte of input stops at the first character over the limit.
    for c in s.trim().nfc() {
        if c.is_whitespace() {
            pending_space = true;
            continue;
        }
        if c.is_control() || is_bidi_control(c) {
            return Err(FieldError::new(field, "invalid_characters", "must not contain control characters"));
        }
        if pending_space {
            out.push(' ');
            chars += 1;
            pending_space = false;
        }
        out.push(c);
        chars += 1;
        if chars > max_chars {
            return Err(too_long());
        }
    }
    Ok(if out.is_empty() { None } else { Some(out) })
}

/// The name to show for a person with these family and given names, or `None` when both are blank.
///
/// - Family name in Han/kana/Hangul: family first; no space when the given name is East Asian too
///   (张 + 伟 → 张伟, 欧阳 + 娜娜 → 欧阳娜娜), one space otherwise (张 + David → 张 David).
/// - Otherwise given name first with a space (Lovelace + Ada → Ada Lovelace).
/// - One side blank: the other one alone.
///
/// Both parts are trimmed, NFC-normalised and have internal whitespace collapsed.
///
/// ```
/// use guanxi_core::person_name::display_name;
/// assert_eq!(display_name(Some("欧阳"), Some("娜娜")).as_deref(), Some("欧阳娜娜"));
/// assert_eq!(display_name(Some("Lovelace"), Some(" Ada ")).as_deref(), Some("Ada Lovelace"));
/// assert_eq!(display_name(None, Some("伟")).as_deref(), Some("伟"));
/// ```
pub fn display_name(family: Option<&str>, given: Option<&str>) -> Option<String> {
    let family = family.map(tidy).filter(|s| !s.is_empty());
    let given = given.map(tidy).filter(|s| !s.is_empty());
    match (family, given) {
        (None, None) => None,
        (Some(one), None) | (None, Some(one)) => Some(one),
        (Some(family), Some(given)) => {
            let family_east_asian = family.chars().last().is_some_and(is_east_asian);
            if family_east_asian {
                let sep = if given.chars().next().is_some_and(is_east_asian) { "" } else { " " };
                Some(format!("{family}{sep}{given}"))
            } else {
                Some(format!("{given} {family}"))
            }
        }
    }
}

/// Two-character Chinese surnames (复姓), the common ones plus the historical ones still seen today.
const COMPOUND_SURNAMES: &[&str] = &[
    "欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "尉迟", "公孙", "慕容", "长孙", "宇文", "司徒", "夏侯", "令狐",
    "端木", "独孤", "西门", "南宫", "轩辕", "呼延", "澹台", "公冶", "太史", "申屠", "赫连", "闻人", "万俟", "钟离",
    "宗政", "濮阳", "淳于", "单于", "公羊", "拓跋", "百里", "东郭", "南门", "羊舌", "微生", "梁丘", "左丘", "东门",
    "司空", "司寇", "亓官", "仲孙", "乐正", "漆雕", "壤驷", "公良", "夹谷", "宰父", "谷梁", "段干", "第五", "巫马",
    "公西", "颛孙", "子车", "鲜于", "闾丘", "锺离", "歐陽", "司馬", "諸葛", "東方", "尉遲", "長孫",
];

/// Lowercase particles that belong to the family name in European names (Ludwig van Beethoven).
const FAMILY_PARTICLES: &[&str] =
    &["van", "von", "de", "der", "den", "del", "della", "di", "da", "du", "la", "le", "ter", "ten", "dos", "das", "do"];

/// Splits a full name into `(family, given)`.
///
/// - `Family, Given` (also with a full-width `，`): the part before the comma is the family name.
/// - A name in Han characters: a known compound surname (欧阳, 司马, 诸葛… see the list) followed by at least one
///   more character is the family name, else the first character is. A space (张 伟) marks the split explicitly;
///   a middle dot (约翰·史密斯, a transliterated Western name) means given·family.
/// - A name whose first word is East Asian and whose other words are not (张 David): family first.
/// - Latin script: the last word (with particles such as van, de, von) is the family name, the rest the given
///   name; a single word is taken as the given name (a single Han character as the family name).
///
/// ```
/// use guanxi_core::person_name::split_full_name;
/// let s = |f: &str, g: &str| (Some(f.to_string()), Some(g.to_string()));
/// assert_eq!(split_full_name("欧阳娜娜"), s("欧阳", "娜娜"));
/// assert_eq!(split_full_name("张伟"), s("张", "伟"));
/// assert_eq!(split_full_name("Ada Lovelace"), s("Lovelace", "Ada"));
/// assert_eq!(split_full_name("Lovelace, Ada"), s("Lovelace", "Ada"));
/// ```
pub fn split_full_name(full: &str) -> (Option<String>, Option<String>) {
    let name = tidy(full);
    let some = |s: &str| {
        let s = s.trim();
        if s.is_empty() { None } else { Some(s.to_string()) }
    };
    if name.is_empty() {
        return (None, None);
    }
    if let Some((family, given)) = name.split_once([',', '，']) {
        return (some(family), some(given));
    }
    if name.contains(is_name_dot) {
        let mut parts = name.split(is_name_dot).map(str::trim).filter(|p| !p.is_empty());
        let first = parts.next().unwrap_or("");
        let last = parts.next_back();
        return match last {
            None => (None, some(first)),
            Some(last) => {
                let middle: Vec<&str> = parts.collect();
                let given =
                    if middle.is_empty() { first.to_string() } else { format!("{first}·{}", middle.join("·")) };
                (some(last), some(&given))
            }
        };
    }
    let words: Vec<&str> = name.split(' ').collect();
    let first_word_east_asian = words[0].chars().all(is_east_asian);
    if words.len() > 1 && first_word_east_asian {
        return (some(words[0]), some(&words[1..].join(" ")));
    }
    if words.len() == 1 && name.chars().all(is_east_asian) {
        let count = name.chars().count();
        if count == 1 {
            return (Some(name), None);
        }
        let two_end = name.char_indices().nth(2).map_or(name.len(), |(i, _)| i);
        let split_at = if count >= 3 && COMPOUND_SURNAMES.contains(&&name[..two_end]) {
            two_end
        } else {
            name.char_indices().nth(1).map_or(name.len(), |(i, _)| i)
        };
        return (some(&name[..split_at]), some(&name[split_at..]));
    }
    if words.len() == 1 {
        return (None, Some(name));
    }
    // Latin script: the family name is the last word plus any particles right before it.
    let mut start = words.len() - 1;
    while start > 1 && FAMILY_PARTICLES.contains(&words[start - 1]) {
        start -= 1;
    }
    (some(&words[start..].join(" ")), some(&words[..start].join(" ")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn pair(f: Option<&str>, g: Option<&str>) -> (Option<String>, Option<String>) {
        (f.map(str::to_string), g.map(str::to_string))
    }

    #[test]
    fn display_names() {
        let cases: &[(Option<&str>, Option<&str>, Option<&str>)] = &[
            (Some("张"), Some("伟"), Some("张伟")),
            (Some("欧阳"), Some("娜娜"), Some("欧阳娜娜")),
            (Some("Lovelace"), Some("Ada"), Some("Ada Lovelace")),
            (Some(" Lovelace "), Some(" Ada \t Augusta "), Some("Ada Augusta Lovelace")),
            (Some("张"), Some("David"), Some("张 David")),
            (Some("Wang"), Some("伟"), Some("伟 Wang")),
            (Some("山田"), Some("さくら"), Some("山田さくら")),
            (Some("김"), Some("민준"), Some("김민준")),
            (None, Some("Ada"), Some("Ada")),
            (Some("张"), None, Some("张")),
            (Some("  "), Some(""), None),
            (None, None, None),
            (Some("Jose\u{301}"), None, Some("José")),
        ];
        for (f, g, want) in cases {
            assert_eq!(display_name(*f, *g).as_deref(), *want, "{f:?} {g:?}");
        }
    }

    #[test]
    fn splits() {
        let cases: &[(&str, Option<&str>, Option<&str>)] = &[
            ("张伟", Some("张"), Some("伟")),
            ("王小明", Some("王"), Some("小明")),
            ("欧阳娜娜", Some("欧阳"), Some("娜娜")),
            ("司马懿", Some("司马"), Some("懿")),
            ("诸葛亮", Some("诸葛"), Some("亮")),
            ("欧阳", Some("欧"), Some("阳")),
            ("张", Some("张"), None),
            (" 张  伟 ", Some("张"), Some("伟")),
            ("约翰·史密斯", Some("史密斯"), Some("约翰")),
            ("Ada Lovelace", Some("Lovelace"), Some("Ada")),
            ("Ada King Lovelace", Some("Lovelace"), Some("Ada King")),
            ("Lovelace, Ada", Some("Lovelace"), Some("Ada")),
            ("张，伟", Some("张"), Some("伟")),
            ("Ludwig van Beethoven", Some("van Beethoven"), Some("Ludwig")),
            ("van Gogh", Some("Gogh"), Some("van")),
            ("Madonna", None, Some("Madonna")),
            ("张 David", Some("张"), Some("David")),
            (", Ada", None, Some("Ada")),
            ("Lovelace,", Some("Lovelace"), None),
            ("", None, None),
            ("   ", None, None),
            ("·", None, None),
        ];
        for (full, f, g) in cases {
            assert_eq!(split_full_name(full), pair(*f, *g), "{full}");
        }
    }

    #[test]
    fn name_parts_are_cleaned() {
        assert_eq!(clean_name_part(" 张\u{3000}伟 ", "f", 5).unwrap().as_deref(), Some("张 伟"));
        assert_eq!(clean_name_part("a\u{0}b", "family_name", 5).unwrap_err().code, "invalid_characters");
        assert_eq!(clean_name_part("a\u{202E}b", "family_name", 5).unwrap_err().field, "family_name");
        assert_eq!(clean_name_part("abcdef", "f", 5).unwrap_err().code, "too_long");
        assert_eq!(clean_name_part("abcde", "f", 5).unwrap().as_deref(), Some("abcde"));
        // Whitespace runs collapse before counting, so this fits.
        let spaced = format!("a{}b", " ".repeat(1 << 20));
        assert_eq!(clean_name_part(&spaced, "f", 3).unwrap().as_deref(), Some("a b"));
        assert_eq!(clean_name_part(&"x".repeat(1 << 20), "f", 100).unwrap_err().code, "too_long");
        for huge in ["张".repeat(1 << 18), "Ada ".repeat(1 << 18), "a,".repeat(1 << 19), "·😀\u{202E}".repeat(1 << 16)]
        {
            let _ = split_full_name(&huge);
            assert!(display_name(Some(&huge), Some(&huge)).is_some());
        }
    }

    #[test]
    fn cjk_ranges() {
        for c in ['一', '龥', '㐀', '𠀀', '𪜀', '𫝀', '𬺰', '𰀀', '豈', '〇'] {
            assert!(is_cjk(c), "{c}");
        }
        for c in ['a', 'あ', 'ア', '한', '，', '。', '·', '😀', '\u{0}'] {
            assert!(!is_cjk(c), "{c}");
        }
    }

    proptest! {
        #[test]
        fn never_panics(s in "\\PC*|.*", t in ".*") {
            let _ = split_full_name(&s);
            let _ = display_name(Some(&s), Some(&t));
            let _ = clean_name_part(&s, "f", 10);
        }

        #[test]
        fn chinese_names_round_trip(
            family in prop::sample::select(vec!["张", "王", "李", "赵", "欧阳", "司马", "诸葛", "上官"]),
            given in "[伟娜明华芳军][伟娜明华芳军]?",
        ) {
            let full = display_name(Some(family), Some(&given)).unwrap();
            prop_assert_eq!(&full, &format!("{family}{given}"));
            let (f, g) = split_full_name(&full);
            prop_assert_eq!(f.as_deref(), Some(family));
            prop_assert_eq!(format!("{}{}", f.unwrap_or_default(), g.unwrap_or_default()), full);
        }

        #[test]
        fn latin_names_round_trip(family in "[A-Z][a-z]{1,10}", given in "[A-Z][a-z]{1,10}( [A-Z][a-z]{1,10})?") {
            let full = display_name(Some(&family), Some(&given)).unwrap();
            prop_assert_eq!(split_full_name(&full), (Some(family.clone()), Some(given.clone())));
            prop_assert_eq!(split_full_name(&format!("{family}, {given}")), (Some(family), Some(given)));
        }

        #[test]
        fn cleaned_parts_are_tidy(s in ".{0,40}") {
            if let Ok(Some(c)) = clean_name_part(&s, "f", 40) {
                prop_assert_eq!(c.trim(), c.as_str());
                prop_assert!(!c.contains("  "));
                prop_assert!(c.chars().count() <= 40);
                prop_assert_eq!(clean_name_part(&c, "f", 40).ok(), Some(Some(c.clone())));
            }
        }
    }
}
