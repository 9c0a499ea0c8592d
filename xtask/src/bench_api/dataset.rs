//! Realistic, reproducible contacts: mostly Chinese names (with exactly 张伟 for 1 %), some English ones,
//! e-mail addresses, CN mobile numbers, cities and tags. Contact `i` depends only on the seed and `i`, so the
//! data is the same whatever the load concurrency.

use serde::Serialize;

/// SplitMix64: tiny, fast and stable across crate versions, which a fixed-seed benchmark needs.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// True with probability `percent` / 100.
    pub fn percent(&mut self, percent: u64) -> bool {
        self.next_u64() % 100 < percent
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    /// Picks from `(item, weight)` pairs.
    pub fn weighted<T: Copy>(&mut self, items: &[(T, u32)]) -> T {
        let total: u32 = items.iter().map(|(_, w)| w).sum();
        let mut x = self.below(total as usize) as u32;
        for (item, w) in items {
            if x < *w {
                return *item;
            }
            x -= w;
        }
        items[items.len() - 1].0
    }
}

pub const SEED: u64 = 0x6775_616e_7869; // "guanxi"

/// The city the list benchmark filters on (about 7 % of contacts).
pub const LIST_CITY: &str = "杭州";
/// The two-character name searched for; exactly 1 % of contacts are called this.
pub const SEARCH_NAME: &str = "张伟";
/// A Latin prefix of several English given names (Ada, Adam, Adele, Adrian).
pub const SEARCH_PREFIX: &str = "ada";

const SURNAMES: &[(&str, &str)] = &[
    ("王", "wang"),
    ("李", "li"),
    ("张", "zhang"),
    ("刘", "liu"),
    ("陈", "chen"),
    ("杨", "yang"),
    ("黄", "huang"),
    ("赵", "zhao"),
    ("吴", "wu"),
    ("周", "zhou"),
    ("徐", "xu"),
    ("孙", "sun"),
    ("马", "ma"),
    ("朱", "zhu"),
    ("胡", "hu"),
    ("郭", "guo"),
    ("何", "he"),
    ("高", "gao"),
    ("林", "lin"),
    ("罗", "luo"),
    ("郑", "zheng"),
    ("梁", "liang"),
    ("谢", "xie"),
    ("宋", "song"),
    ("唐", "tang"),
    ("韩", "han"),
    ("冯", "feng"),
    ("邓", "deng"),
    ("曹", "cao"),
    ("欧阳", "ouyang"),
    ("司马", "sima"),
];

const GIVEN_CHARS: &[(&str, &str)] = &[
    ("伟", "wei"),
    ("芳", "fang"),
    ("娜", "na"),
    ("敏", "min"),
    ("静", "jing"),
    ("丽", "li"),
    ("强", "qiang"),
    ("磊", "lei"),
    ("军", "jun"),
    ("洋", "yang"),
    ("勇", "yong"),
    ("艳", "yan"),
    ("杰", "jie"),
    ("娟", "juan"),
    ("涛", "tao"),
    ("明", "ming"),
    ("超", "chao"),
    ("秀", "xiu"),
    ("霞", "xia"),
    ("平", "ping"),
    ("刚", "gang"),
    ("英", "ying"),
    ("华", "hua"),
    ("建", "jian"),
    ("国", "guo"),
    ("文", "wen"),
    ("晓", "xiao"),
    ("红", "hong"),
    ("玲", "ling"),
    ("子", "zi"),
    ("轩", "xuan"),
    ("浩", "hao"),
    ("宇", "yu"),
    ("欣", "xin"),
    ("怡", "yi"),
    ("涵", "han"),
];

const ENGLISH_GIVEN: &[&str] = &[
    "Ada",
    "Adam",
    "Adele",
    "Adrian",
    "Alice",
    "Amelia",
    "Andrew",
    "Anna",
    "Ben",
    "Charlotte",
    "Chris",
    "Daniel",
    "David",
    "Emily",
    "Emma",
    "Grace",
    "Hannah",
    "Jack",
    "James",
    "John",
    "Laura",
    "Liam",
    "Lucy",
    "Mark",
    "Mary",
    "Michael",
    "Noah",
    "Oliver",
    "Olivia",
    "Peter",
    "Rachel",
    "Robert",
    "Sarah",
    "Sophie",
    "Thomas",
    "William",
];

const ENGLISH_FAMILY: &[&str] = &[
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Miller", "Davis", "Wilson", "Taylor", "Anderson", "Moore",
    "Martin", "Lee", "Walker", "Hall", "Young", "King", "Wright", "Lovelace", "Turing", "Hopper", "Clarke", "Evans",
];

const DOMAINS: &[(&str, u32)] = &[
    ("qq.com", 30),
    ("163.com", 20),
    ("126.com", 8),
    ("gmail.com", 12),
    ("outlook.com", 8),
    ("foxmail.com", 5),
    ("sina.com", 4),
    ("example.cn", 13),
];

const MOBILE_PREFIXES: &[&str] = &[
    "130", "131", "132", "133", "135", "136", "137", "138", "139", "150", "151", "152", "155", "156", "158", "159",
    "180", "182", "185", "186", "187", "188", "189",
];

const CITIES: &[(&str, u32)] = &[
    ("上海", 15),
    ("北京", 14),
    ("深圳", 10),
    ("广州", 9),
    ("杭州", 7),
    ("成都", 6),
    ("南京", 5),
    ("武汉", 5),
    ("西安", 4),
    ("苏州", 4),
    ("重庆", 4),
    ("天津", 3),
    ("长沙", 3),
    ("厦门", 2),
    ("青岛", 2),
    ("Singapore", 2),
    ("London", 2),
    ("New York", 1),
    ("Sydney", 1),
    ("Hong Kong", 1),
];

const TAGS: &[&str] = &["vip", "潜在客户", "展会2026", "newsletter", "wechat", "老客户", "partner", "reseller"];

#[derive(Serialize)]
pub struct Email {
    pub address: String,
}

#[derive(Serialize)]
pub struct Phone {
    pub number: String,
}

#[derive(Serialize)]
pub struct Address {
    pub city: &'static str,
}

#[derive(Serialize)]
pub struct NewContact {
    pub family_name: String,
    pub given_name: String,
    pub emails: Vec<Email>,
    pub phones: Vec<Phone>,
    pub address: Address,
    pub tags: Vec<&'static str>,
    pub source: &'static str,
}

/// Contact number `i` of the data set.
pub fn contact(i: u64) -> NewContact {
    let mut rng = Rng::new(SEED ^ i.wrapping_mul(0xD6E8_FEB8_6659_FD93));
    let (family, given, family_latin, given_latin) = if i % 100 == 7 {
        ("张".to_string(), "伟".to_string(), "zhang".to_string(), "wei".to_string())
    } else if rng.percent(75) {
        let (f, fl) = *rng.pick(SURNAMES);
        let (g1, gl1) = *rng.pick(GIVEN_CHARS);
        let (mut g, mut gl) = (g1.to_string(), gl1.to_string());
        if rng.percent(45) {
            let (g2, gl2) = *rng.pick(GIVEN_CHARS);
            g.push_str(g2);
            gl.push_str(gl2);
        }
        // Avoid making more exact 张伟 than the fixed 1 %.
        if f == "张" && g == "伟" {
            g.push('华');
            gl.push_str("hua");
        }
        (f.to_string(), g, fl.to_string(), gl)
    } else {
        let g = *rng.pick(ENGLISH_GIVEN);
        let f = *rng.pick(ENGLISH_FAMILY);
        (f.to_string(), g.to_string(), f.to_lowercase(), g.to_lowercase())
    };
    let mut emails = Vec::new();
    if rng.percent(92) {
        let domain = rng.weighted(DOMAINS);
        let local = if rng.percent(50) {
            format!("{given_latin}.{family_latin}{i}")
        } else {
            format!("{family_latin}{given_latin}{i}")
        };
        emails.push(Email { address: format!("{local}@{domain}") });
        if rng.percent(8) {
            emails.push(Email { address: format!("{given_latin}{i}@work.example.com") });
        }
    }
    let mut phones = Vec::new();
    if rng.percent(88) {
        phones.push(Phone { number: format!("{}{:08}", rng.pick(MOBILE_PREFIXES), rng.next_u64() % 100_000_000) });
    }
    let tag_count = rng.below(3);
    let mut tags: Vec<&'static str> = Vec::new();
    for _ in 0..tag_count {
        let t = *rng.pick(TAGS);
        if !tags.contains(&t) {
            tags.push(t);
        }
    }
    NewContact {
        family_name: family,
        given_name: given,
        emails,
        phones,
        address: Address { city: rng.weighted(CITIES) },
        tags,
        source: "import",
    }
}

#[derive(Serialize)]
struct BatchBody {
    items: Vec<NewContact>,
}

/// The JSON body of `POST /api/v1/contacts/batch` for contacts `start..end`.
pub fn batch_body(start: u64, end: u64) -> Vec<u8> {
    let body = BatchBody { items: (start..end).map(contact).collect() };
    serde_json::to_vec(&body).expect("contacts serialise")
}

/// Percent-encodes a query-string value (everything but RFC 3986 unreserved characters).
pub fn encode_query(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_percent_are_exactly_zhang_wei() {
        let n = (0..10_000).filter(|&i| {
            let c = contact(i);
            c.family_name == "张" && c.given_name == "伟"
        });
        assert_eq!(n.count(), 100);
    }

    #[test]
    fn contacts_are_reproducible() {
        assert_eq!(serde_json::to_string(&contact(42)).unwrap(), serde_json::to_string(&contact(42)).unwrap());
    }

    #[test]
    fn query_values_are_encoded() {
        assert_eq!(encode_query("address.city:eq:杭州"), "address.city%3Aeq%3A%E6%9D%AD%E5%B7%9E");
    }
}
