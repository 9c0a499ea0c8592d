//! The comparable forms of names, company names, emails, phones and web domains.
//!
//! Every function here is total: any input gives a key (possibly empty, which never matches anything).

use guanxi_core::contact_point::{EmailAddress, PhoneNumber, Region};
use guanxi_core::person_name::is_cjk;
use pinyin::ToPinyin;
use unicode_normalization::UnicodeNormalization;
use zhconv::{Variant, zhconv};

/// Longest input looked at; names and company names longer than this are cut (the key of a 1 MB "name" is not
/// worth computing, and cutting both sides the same way keeps equal inputs equal).
const MAX_INPUT_CHARS: usize = 200;

/// Chinese text in simplified characters (MediaWiki's zh-Hans table, phrase-aware); other text unchanged.
///
/// ```
/// assert_eq!(guanxi_dedup::simplified("張偉"), "张伟");
/// assert_eq!(guanxi_dedup::simplified("Zhang 张伟"), "Zhang 张伟");
/// ```
pub fn simplified(s: &str) -> String {
    if !s.chars().any(is_cjk) {
        return s.to_string();
    }
    zhconv(s, Variant::ZhHans)
}

/// Chinese text in traditional characters: the spelling a record entered in Hong Kong or Taiwan would have.
/// Used to look stored names up by their other script.
///
/// ```
/// assert_eq!(guanxi_dedup::traditional("张伟"), "張偉");
/// ```
pub fn traditional(s: &str) -> String {
    if !s.chars().any(is_cjk) {
        return s.to_string();
    }
    zhconv(s, Variant::ZhHant)
}

/// NFKC, lowercase, at most [`MAX_INPUT_CHARS`] characters.
fn fold(s: &str) -> String {
    s.chars().take(MAX_INPUT_CHARS).collect::<String>().nfkc().flat_map(char::to_lowercase).collect()
}

/// A person's name as compared: folded, in simplified characters, without spaces, dots (`·` in transliterated
/// names) or other punctuation. `張 偉` and `张伟` give `张伟`; `Ada Lovelace` gives `adalovelace`.
///
/// ```
/// assert_eq!(guanxi_dedup::name_key(" 張 偉 "), "张伟");
/// assert_eq!(guanxi_dedup::name_key("Ada  Lovelace"), "adalovelace");
/// assert_eq!(guanxi_dedup::name_key("阿卜杜·热合曼"), "阿卜杜热合曼");
/// ```
pub fn name_key(s: &str) -> String {
    // Normalised again after dropping punctuation: combining marks that were apart may now be neighbours.
    let kept: String = simplified(&fold(s)).chars().filter(|c| c.is_alphanumeric()).collect();
    kept.nfkc().collect()
}

/// A name folded like [`name_key`] but in the script it was written in: tells `张伟`/`张伟` (the same spelling)
/// from `張偉`/`张伟` (two scripts).
pub(crate) fn plain_name_key(s: &str) -> String {
    fold(s).chars().filter(|c| c.is_alphanumeric()).collect()
}

/// The sound of a name: every Chinese character as toneless pinyin, Latin letters and digits as they are, in
/// order and without separators. `张伟`, `章伟`, `張偉` and `Zhang Wei` all give `zhangwei`. Characters with
/// several readings take the most common one, which is also the usual reading in names.
///
/// ```
/// assert_eq!(guanxi_dedup::pinyin_key("张伟"), "zhangwei");
/// assert_eq!(guanxi_dedup::pinyin_key("Zhang Wei"), "zhangwei");
/// assert_eq!(guanxi_dedup::pinyin_key("章伟"), guanxi_dedup::pinyin_key("張偉"));
/// ```
pub fn pinyin_key(s: &str) -> String {
    pinyin_of_name_key(&name_key(s))
}

/// [`pinyin_key`] of a name already turned into its [`name_key`] (a scan has it at hand: no second
/// simplification).
pub(crate) fn pinyin_of_name_key(folded: &str) -> String {
    let mut out = String::with_capacity(folded.len() * 2);
    for c in folded.chars() {
        if is_cjk(c) {
            match c.to_pinyin() {
                Some(p) => out.push_str(p.plain()),
                None => out.push(c),
            }
        } else {
            // Diacritics are dropped so that `Lü`/`Lu` and `José`/`Jose` sound alike.
            out.extend(c.to_string().nfd().filter(|c| c.is_ascii_alphanumeric() || !c.is_ascii() && c.is_alphabetic()));
        }
    }
    out
}

/// Legal forms at the end of Chinese company names, longest first so that `股份有限公司` is taken whole.
const CJK_LEGAL_SUFFIXES: &[&str] = &[
    "集团股份有限公司",
    "股份有限公司",
    "有限责任公司",
    "集团有限公司",
    "控股有限公司",
    "有限公司",
    "集团公司",
    "股份公司",
    "分公司",
    "总公司",
    "公司",
    "集团",
    "控股",
    "工作室",
    "合伙企业",
    "企业",
    "商行",
];

/// Words that say what a company does rather than who it is; stripped from the end after the legal form
/// (`北京字节跳动科技有限公司` is `字节跳动`).
const CJK_TRADE_WORDS: &[&str] = &[
    "电子商务",
    "信息技术",
    "网络科技",
    "互联网",
    "科技",
    "技术",
    "网络",
    "信息",
    "软件",
    "电子",
    "数码",
    "智能",
    "贸易",
    "商贸",
    "实业",
    "发展",
    "咨询",
    "服务",
    "文化",
    "传媒",
    "国际",
    "投资",
    "管理",
    "工程",
    "生物",
    "医药",
    "物流",
    "餐饮",
    "教育",
    "建设",
    "中国",
];

/// Places that prefix Chinese company names: provinces, municipalities and the larger cities. A trailing `市`,
/// `省` or `自治区` is taken with them.
const CJK_PLACES: &[&str] = &[
    "中国",
    "北京",
    "上海",
    "天津",
    "重庆",
    "深圳",
    "广州",
    "杭州",
    "南京",
    "苏州",
    "成都",
    "武汉",
    "西安",
    "长沙",
    "郑州",
    "东莞",
    "青岛",
    "宁波",
    "厦门",
    "福州",
    "济南",
    "合肥",
    "昆明",
    "大连",
    "沈阳",
    "哈尔滨",
    "长春",
    "石家庄",
    "太原",
    "南昌",
    "南宁",
    "贵阳",
    "兰州",
    "海口",
    "三亚",
    "珠海",
    "佛山",
    "无锡",
    "常州",
    "温州",
    "烟台",
    "香港",
    "澳门",
    "台北",
    "广东",
    "浙江",
    "江苏",
    "山东",
    "河南",
    "河北",
    "湖南",
    "湖北",
    "四川",
    "福建",
    "安徽",
    "江西",
    "辽宁",
    "吉林",
    "黑龙江",
    "山西",
    "陕西",
    "云南",
    "贵州",
    "甘肃",
    "青海",
    "海南",
    "台湾",
    "内蒙古",
    "广西",
    "西藏",
    "宁夏",
    "新疆",
];

/// Legal forms and filler words at the end (or, for `the`, the start) of Latin-script company names.
const LATIN_LEGAL_WORDS: &[&str] = &[
    "inc",
    "incorporated",
    "co",
    "company",
    "corp",
    "corporation",
    "ltd",
    "limited",
    "llc",
    "llp",
    "lp",
    "plc",
    "gmbh",
    "ag",
    "kg",
    "sa",
    "sas",
    "sarl",
    "srl",
    "spa",
    "bv",
    "nv",
    "pte",
    "pty",
    "kk",
    "oy",
    "ab",
    "group",
    "holding",
    "holdings",
    "international",
    "intl",
];

/// At least this many characters must remain after stripping, so `北京公司` keeps `北京` rather than becoming
/// empty and matching every other company.
const MIN_CJK_CORE: usize = 2;

fn strip_suffix_list<'a>(s: &'a str, list: &[&str]) -> Option<&'a str> {
    list.iter().find_map(|suffix| s.strip_suffix(suffix)).filter(|rest| rest.chars().count() >= MIN_CJK_CORE)
}

fn strip_place(s: &str) -> Option<&str> {
    for place in CJK_PLACES {
        if let Some(rest) = s.strip_prefix(place) {
            let rest = ["特别行政区", "自治区", "市", "省"].iter().find_map(|x| rest.strip_prefix(x)).unwrap_or(rest);
            if rest.chars().count() >= MIN_CJK_CORE {
                return Some(rest);
            }
        }
    }
    None
}

/// A company name as compared: folded, simplified, without legal form (`有限公司`, `Co., Ltd.`, `Inc.`,
/// `GmbH`…), trade words (`科技`, `贸易`…), leading place names (`北京`, `深圳市`…) or parenthesised parts
/// (`（中国）`), spaces and punctuation.
///
/// ```
/// use guanxi_dedup::company_key;
/// assert_eq!(company_key("北京字节跳动科技有限公司"), company_key("字节跳动"));
/// assert_eq!(company_key("Acme Inc."), "acme");
/// assert_eq!(company_key("ACME"), "acme");
/// assert_eq!(company_key("Siemens (China) Co., Ltd."), "siemens");
/// ```
pub fn company_key(s: &str) -> String {
    let folded = simplified(&fold(s));
    // Parenthesised parts name a branch or a region: `华为技术有限公司(深圳)`, `Siemens (China)`.
    let mut text = String::with_capacity(folded.len());
    let mut depth = 0usize;
    for c in folded.chars() {
        match c {
            '(' | '[' | '【' | '〔' => depth += 1,
            ')' | ']' | '】' | '〕' => depth = depth.saturating_sub(1),
            c if depth == 0 => text.push(c),
            _ => {}
        }
    }
    // Latin words: drop legal forms from the end and `the` from the start.
    let mut words: Vec<String> = Vec::new();
    let mut word = String::new();
    for c in text.chars() {
        if c.is_alphanumeric() {
            word.push(c);
        } else if c == '&' {
            // `AT&T`, `P&G`: part of the name.
            word.push('&');
        } else if !word.is_empty() {
            words.push(std::mem::take(&mut word));
        }
    }
    if !word.is_empty() {
        words.push(word);
    }
    while words.len() > 1 && words.last().is_some_and(|w| LATIN_LEGAL_WORDS.contains(&w.as_str())) {
        words.pop();
    }
    if words.len() > 1 && words[0] == "the" {
        words.remove(0);
    }
    let mut core = words.concat();
    // Chinese: legal form, then trade words, then places, each repeatedly (`深圳市腾讯科技集团有限公司`).
    loop {
        if let Some(rest) = strip_suffix_list(&core, CJK_LEGAL_SUFFIXES) {
            core = rest.to_string();
            continue;
        }
        if let Some(rest) = strip_suffix_list(&core, CJK_TRADE_WORDS) {
            core = rest.to_string();
            continue;
        }
        if let Some(rest) = strip_place(&core) {
            core = rest.to_string();
            continue;
        }
        break;
    }
    core
}

/// An email address as compared: the normalised form of [`EmailAddress`], or the trimmed lowercase text when
/// it is not a valid address (imported data is not always clean; equal garbage is still equal).
pub fn email_key(s: &str) -> String {
    match EmailAddress::parse(s) {
        Ok(e) => e.into_string(),
        Err(_) => fold(s.trim()),
    }
}

/// A phone number as compared: E.164 via [`PhoneNumber`] (`+86 138-0013-8000`, `0086 13800138000` and
/// `138 0013 8000` are one number), or its digits when it does not parse. Extensions are ignored: they reach
/// the same switchboard.
///
/// ```
/// use guanxi_core::contact_point::Region;
/// use guanxi_dedup::phone_key;
/// assert_eq!(phone_key("+86 138-0013-8000", Region::CN), "+8613800138000");
/// assert_eq!(phone_key("0086 138 0013 8000", Region::CN), phone_key("13800138000", Region::CN));
/// ```
pub fn phone_key(s: &str, region: Region) -> String {
    match PhoneNumber::parse(s, region) {
        Ok(p) => p.e164().to_string(),
        Err(_) => s.chars().filter(char::is_ascii_digit).collect(),
    }
}

/// A web domain as compared: lowercase, without scheme, `www.`, port, path or trailing dot.
///
/// ```
/// assert_eq!(guanxi_dedup::domain_key("https://WWW.Acme.com/about"), "acme.com");
/// ```
pub fn domain_key(s: &str) -> String {
    let s = fold(s.trim());
    let s = s.split_once("://").map_or(s.as_str(), |(_, rest)| rest);
    let host = s.split(['/', '?', '#']).next().unwrap_or("");
    let host = host.rsplit_once('@').map_or(host, |(_, h)| h);
    let host = host.split(':').next().unwrap_or("");
    let host = host.trim_end_matches('.');
    host.strip_prefix("www.").unwrap_or(host).to_string()
}

/// Email domains shared by unrelated people; a shared one says nothing about two contacts.
pub const FREE_MAIL_DOMAINS: &[&str] = &[
    "qq.com",
    "163.com",
    "126.com",
    "sina.com",
    "sina.cn",
    "sohu.com",
    "yeah.net",
    "foxmail.com",
    "139.com",
    "aliyun.com",
    "gmail.com",
    "outlook.com",
    "hotmail.com",
    "live.com",
    "yahoo.com",
    "icloud.com",
    "me.com",
    "proton.me",
    "protonmail.com",
    "example.com",
];

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn company_suffixes_and_places() {
        for (a, b) in [
            ("北京字节跳动科技有限公司", "字节跳动"),
            ("深圳市腾讯计算机系统有限公司", "腾讯计算机系统"),
            ("华为技术有限公司", "华为"),
            ("上海浦东发展银行股份有限公司", "浦东发展银行"),
            ("阿里巴巴（中国）有限公司", "阿里巴巴"),
            ("Acme Inc.", "acme"),
            ("ACME", "acme"),
            ("Acme Co., Ltd.", "acme"),
            ("The Boring Company", "boring"),
            ("Siemens AG", "siemens"),
            ("Bosch GmbH", "bosch"),
            ("AT&T Inc.", "at&t"),
            ("字節跳動有限公司", "字节跳动"),
        ] {
            assert_eq!(company_key(a), company_key(b), "{a} vs {b}");
        }
        // Stripping never empties a name.
        assert_eq!(company_key("北京公司"), "北京");
        assert_eq!(company_key("Inc"), "inc");
        assert_ne!(company_key("字节跳动"), company_key("腾讯"));
    }

    #[test]
    fn phone_spellings_are_one_number() {
        let r = Region::CN;
        let k = phone_key("13800138000", r);
        for s in
            ["+86 138-0013-8000", "0086 138 0013 8000", "+86 13800138000", "138 0013 8000", "１３８００１３８０００"]
        {
            assert_eq!(phone_key(s, r), k, "{s}");
        }
        assert_ne!(phone_key("13800138001", r), k);
    }

    #[test]
    fn traditional_and_simplified_names_meet() {
        assert_eq!(name_key("張偉"), name_key("张伟"));
        assert_eq!(name_key("陳嘉欣"), "陈嘉欣");
        assert_eq!(pinyin_key("陳嘉欣"), "chenjiaxin");
        assert_eq!(traditional("张伟"), "張偉");
    }

    proptest! {
        #[test]
        fn keys_never_panic_and_are_idempotent(s in "\\PC{0,40}") {
            let k = name_key(&s);
            prop_assert_eq!(name_key(&k), k.clone());
            let _ = pinyin_key(&s);
            let c = company_key(&s);
            prop_assert!(c.chars().count() <= MAX_INPUT_CHARS);
            let _ = phone_key(&s, Region::CN);
            let _ = email_key(&s);
            let _ = domain_key(&s);
        }

        #[test]
        fn name_key_ignores_case_and_spacing(a in "[A-Za-z]{1,10}", b in "[A-Za-z]{1,10}") {
            prop_assert_eq!(name_key(&format!("{a} {b}")), name_key(&format!("{}{}", a.to_uppercase(), b)));
        }
    }
}
