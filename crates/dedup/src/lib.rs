//! Guanxi's duplicate detection: which contacts (or companies) are probably one customer, how sure we are,
//! and why. Pure: no IO; the store feeds it records and keeps its findings.
//!
//! # Pieces
//!
//! - Normalisers ([`name_key`], [`pinyin_key`], [`company_key`], [`email_key`], [`phone_key`], [`domain_key`],
//!   [`simplified`]): the forms in which two spellings of one thing become equal.
//! - Scoring ([`score_contacts`], [`score_companies`]): the [`Reason`]s two records share, combined into a
//!   score from 0 to 100; pairs under [`MIN_SCORE`] are not candidates.
//! - Blocking ([`contact_pairs`], [`company_pairs`]): finds the candidate pairs of a whole data set without
//!   comparing every record with every other.
//!
//! # Traditional to simplified
//!
//! [`simplified`] uses the `zhconv` crate with MediaWiki's zh-Hans conversion table (the one Wikipedia
//! converts with; thousands of characters plus phrase rules, kept up to date upstream and by the crate).
//! `fast2s` has a smaller table (about 2,700 characters) and has not been released since 2022;
//! `character_converter` is orders of magnitude slower, which matters when every name of a million contacts
//! is converted in one scan. zhconv is GPL-2.0-or-later, which the project's AGPL-3.0-or-later can include.
//!
//! # Blocking
//!
//! Every record gets a few blocking keys; only records that share a key are compared:
//!
//! - exact keys, compared all-with-all: each email, each phone, and the name or its pinyin together with the
//!   company, the birthday or a company email domain. A key held by more than [`MAX_BLOCK`] records (a
//!   switchboard number, `info@` placeholders, forty 张伟 at one employer) is evidence of nothing and skipped;
//!   the count of skipped keys is reported.
//! - neighbourhood keys: the records of one company, one birthday or one company email domain, sorted by the
//!   pinyin of their name; each is compared with the next [`WINDOW`] records. This finds similar names
//!   (`Jonathan` / `Jonathon`) at a cost linear in the number of records.
//!
//! The pairs the keys yield are sorted and deduplicated (a pair found through several keys is scored once),
//! then scored on up to [`MAX_THREADS`] threads, each taking a contiguous share so that the results come out
//! in order. [`Progress`] lets another thread watch a long scan.

mod normalise;
mod reason;
mod score;

pub use normalise::{
    FREE_MAIL_DOMAINS, company_key, domain_key, email_key, name_key, phone_key, pinyin_key, simplified, traditional,
};
pub use reason::{Lang, Reason, combine};
pub use score::{
    CompanyFacts, CompanyKeys, ContactFacts, ContactKeys, MIN_SCORE, Match, score_companies, score_contacts,
};

use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};

/// Exact blocking keys shared by more records than this are skipped.
pub const MAX_BLOCK: usize = 50;
/// Sorted-neighbourhood window: each record is compared with this many following records of its block.
pub const WINDOW: usize = 5;
/// Most threads a scan scores pairs on.
pub const MAX_THREADS: usize = 4;

/// The candidate pairs of a data set: indices into the input (smaller first) with their match, ordered by
/// the first index and then the second.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Pairs {
    pub pairs: Vec<(u32, u32, Match)>,
    /// Exact keys skipped for being held by more than [`MAX_BLOCK`] records.
    pub oversized_blocks: usize,
    /// Pairs compared (the work blocking left).
    pub compared: u64,
}

/// Counters a scan updates as it goes, for another thread to report progress while [`contact_pairs`] or
/// [`company_pairs`] runs: `done` of `total` pairs compared (blocking has set `total` by the time any is),
/// `found` candidate pairs so far.
///
/// ```
/// use guanxi_dedup::{Progress, company_pairs};
/// let progress = Progress::default();
/// company_pairs(&[], &progress);
/// assert_eq!(progress.snapshot(), (0, 0, 0));
/// ```
#[derive(Debug, Default)]
pub struct Progress {
    pub done: AtomicU64,
    pub total: AtomicU64,
    pub found: AtomicU64,
}

impl Progress {
    /// `(done, total, found)`.
    pub fn snapshot(&self) -> (u64, u64, u64) {
        (self.done.load(Ordering::Relaxed), self.total.load(Ordering::Relaxed), self.found.load(Ordering::Relaxed))
    }
}

/// Progress counters are published every this many pairs (not on every one: they are shared between threads).
const PUBLISH_EVERY: usize = 4096;

fn key_hash(kind: u8, parts: &[&str]) -> u64 {
    let mut h = DefaultHasher::new();
    kind.hash(&mut h);
    for p in parts {
        p.hash(&mut h);
    }
    h.finish()
}

/// Collects all-with-all pairs of each exact block and neighbour pairs of each window block, then scores each
/// distinct pair once with `score`, spread over the machine's cores (at most [`MAX_THREADS`]).
fn find_pairs<F>(
    n: usize,
    mut exact: Vec<(u64, u32)>,
    mut window: Vec<(u64, &str, u32)>,
    progress: &Progress,
    score: F,
) -> Pairs
where
    F: Fn(usize, usize) -> Option<Match> + Sync,
{
    let mut out = Pairs::default();
    let mut todo: Vec<(u32, u32)> = Vec::with_capacity(exact.len() + window.len());
    let mut push = |i: u32, j: u32| {
        if i != j {
            todo.push(if i < j { (i, j) } else { (j, i) });
        }
    };
    exact.sort_unstable();
    for block in exact.chunk_by(|x, y| x.0 == y.0) {
        if block.len() > MAX_BLOCK {
            out.oversized_blocks += 1;
            continue;
        }
        for (x, &(_, i)) in block.iter().enumerate() {
            for &(_, j) in &block[x + 1..] {
                push(i, j);
            }
        }
    }
    window.sort_unstable();
    for (x, &(block, _, i)) in window.iter().enumerate() {
        for &(other, _, j) in window[x + 1..].iter().take(WINDOW) {
            if other != block {
                break;
            }
            push(i, j);
        }
    }
    drop(exact);
    drop(window);
    // A pair found through several keys is scored once; sorted, so that the output order needs no second sort.
    todo.sort_unstable();
    todo.dedup();
    out.compared = todo.len() as u64;
    progress.total.store(todo.len() as u64, Ordering::Relaxed);
    let threads = std::thread::available_parallelism().map_or(1, |t| t.get()).clamp(1, MAX_THREADS);
    let part = todo.len().div_ceil(threads).max(1);
    let score_part = |part: &[(u32, u32)]| {
        let mut found = Vec::new();
        for chunk in part.chunks(PUBLISH_EVERY) {
            let before = found.len();
            found.extend(chunk.iter().filter_map(|&(a, b)| score(a as usize, b as usize).map(|m| (a, b, m))));
            progress.done.fetch_add(chunk.len() as u64, Ordering::Relaxed);
            progress.found.fetch_add((found.len() - before) as u64, Ordering::Relaxed);
        }
        found
    };
    out.pairs = std::thread::scope(|s| {
        let mut parts = todo.chunks(part);
        let first = parts.next().unwrap_or(&[]);
        let others: Vec<_> = parts.map(|p| s.spawn(move || score_part(p))).collect();
        // This thread scores the first part itself; the parts are in order, so their results are too.
        let mut all = score_part(first);
        for h in others {
            // A panic while scoring is a bug: let it reach the caller as one.
            all.extend(h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)));
        }
        all
    });
    debug_assert!(out.pairs.iter().all(|p| (p.1 as usize) < n));
    out
}

/// The candidate pairs among contacts.
///
/// ```
/// use guanxi_core::contact_point::Region;
/// use guanxi_dedup::{ContactFacts, ContactKeys, contact_pairs};
/// let people = [("张伟", "13800138000"), ("王芳", "13900139000"), ("張偉", "+86 138-0013-8000")];
/// let keys: Vec<ContactKeys> = people
///     .iter()
///     .map(|(n, p)| ContactKeys::new(&ContactFacts { display_name: n.to_string(), phones: vec![p.to_string()], ..Default::default() }, Region::CN))
///     .collect();
/// let found = contact_pairs(&keys, &Default::default());
/// assert_eq!(found.pairs.iter().map(|p| (p.0, p.1)).collect::<Vec<_>>(), [(0, 2)]);
/// ```
pub fn contact_pairs(keys: &[ContactKeys], progress: &Progress) -> Pairs {
    let mut exact: Vec<(u64, u32)> = Vec::with_capacity(keys.len() * 3);
    let mut window: Vec<(u64, &str, u32)> = Vec::with_capacity(keys.len() * 2);
    for (i, k) in keys.iter().enumerate() {
        let i = i as u32;
        exact.extend(k.emails.iter().map(|e| (key_hash(1, &[e]), i)));
        exact.extend(k.phones.iter().map(|p| (key_hash(2, &[p]), i)));
        let company = k.company_id.map(|c| c.simple().to_string());
        let mut attributes: Vec<(u8, &str)> = Vec::new();
        if let Some(c) = &company {
            attributes.push((3, c));
        }
        if let Some(b) = &k.birthday {
            attributes.push((4, b));
        }
        attributes.extend(k.email_domains.iter().map(|d| (5u8, &**d)));
        for &(kind, value) in &attributes {
            if !k.name.is_empty() {
                exact.push((key_hash(10 + kind, &[&k.name, value]), i));
            }
            // Also when the pinyin is the name itself (`Zhang Wei`), so that it meets the pinyin of `张伟`.
            if !k.pinyin.is_empty() {
                exact.push((key_hash(20 + kind, &[&k.pinyin, value]), i));
            }
            window.push((key_hash(30 + kind, &[value]), &k.pinyin, i));
        }
    }
    find_pairs(keys.len(), exact, window, progress, |a, b| score_contacts(&keys[a], &keys[b]))
}

/// The candidate pairs among companies: same domain or core name (exact), similar core names (neighbours in
/// the order of core names, across all companies: there are far fewer companies than contacts).
pub fn company_pairs(keys: &[CompanyKeys], progress: &Progress) -> Pairs {
    let mut exact: Vec<(u64, u32)> = Vec::with_capacity(keys.len() * 2);
    let mut window: Vec<(u64, &str, u32)> = Vec::with_capacity(keys.len());
    for (i, k) in keys.iter().enumerate() {
        let i = i as u32;
        if let Some(d) = &k.domain {
            exact.push((key_hash(1, &[d]), i));
        }
        if !k.core.is_empty() {
            exact.push((key_hash(2, &[&k.core]), i));
            window.push((0, &k.core, i));
        }
    }
    find_pairs(keys.len(), exact, window, progress, |a, b| score_companies(&keys[a], &keys[b]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use guanxi_core::contact_point::Region;
    use proptest::prelude::*;
    use uuid::Uuid;

    fn facts(name: &str, company: u128, phone: Option<&str>) -> ContactFacts {
        ContactFacts {
            display_name: name.into(),
            company_id: (company > 0).then(|| Uuid::from_u128(company)),
            phones: phone.map(|p| vec![p.to_string()]).unwrap_or_default(),
            ..Default::default()
        }
    }

    fn keys(f: &[ContactFacts]) -> Vec<ContactKeys> {
        f.iter().map(|f| ContactKeys::new(f, Region::CN)).collect()
    }

    #[test]
    fn blocking_finds_each_kind_of_pair_and_nothing_else() {
        let k = keys(&[
            facts("张伟", 1, None),                      // 0
            facts("張偉", 1, None),                      // 1: traditional form of 0, same company
            facts("张伟", 2, None),                      // 2: same name, other company: nobody
            facts("Jonathan Smith", 3, None),            // 3
            facts("Jonathon Smith", 3, None),            // 4: similar to 3, same company
            facts("李娜", 0, Some("+86 139-0013-9000")), // 5
            facts("Lina", 0, Some("13900139000")),       // 6: same phone as 5
            facts("王芳", 1, None),                      // 7
        ]);
        let found = contact_pairs(&k, &Progress::default());
        let pairs: Vec<(u32, u32)> = found.pairs.iter().map(|p| (p.0, p.1)).collect();
        assert_eq!(pairs, [(0, 1), (3, 4), (5, 6)]);
    }

    #[test]
    fn oversized_blocks_are_skipped_and_counted() {
        let many: Vec<ContactFacts> =
            (0..MAX_BLOCK + 1).map(|i| facts(&format!("客户{i}"), 0, Some("+86 10 6552 9988"))).collect();
        let found = contact_pairs(&keys(&many), &Progress::default());
        assert!(found.pairs.is_empty());
        assert_eq!(found.oversized_blocks, 1);
    }

    #[test]
    fn company_pairs_by_core_name_and_domain() {
        let k: Vec<CompanyKeys> = [
            ("北京字节跳动科技有限公司", None),
            ("字节跳动", None),
            ("Acme Inc.", None),
            ("ACME", None),
            ("腾讯", Some("tencent.com")),
            ("Tencent Holdings", Some("https://www.tencent.com")),
            ("阿里巴巴", None),
        ]
        .iter()
        .map(|(n, d)| CompanyKeys::new(&CompanyFacts { name: n.to_string(), domain: d.map(String::from), city: None }))
        .collect();
        let pairs: Vec<(u32, u32)> = company_pairs(&k, &Progress::default()).pairs.iter().map(|p| (p.0, p.1)).collect();
        assert_eq!(pairs, [(0, 1), (2, 3), (4, 5)]);
    }

    /// Blocking must never lose a pair that shares an email or phone: compare with all-pairs scoring.
    fn brute_force(k: &[ContactKeys]) -> Vec<(u32, u32)> {
        let mut out = Vec::new();
        for i in 0..k.len() {
            for j in i + 1..k.len() {
                if score_contacts(&k[i], &k[j]).is_some_and(|m| {
                    m.reasons.iter().any(|r| matches!(r, Reason::SamePhone { .. } | Reason::SameEmail { .. }))
                        || m.reasons.iter().any(|r| {
                            matches!(
                                r,
                                Reason::SameName { .. }
                                    | Reason::TraditionalSimplifiedName { .. }
                                    | Reason::PinyinName { .. }
                            )
                        })
                }) {
                    out.push((i as u32, j as u32));
                }
            }
        }
        out
    }

    proptest! {
        #[test]
        fn blocking_keeps_every_exact_pair(
            people in proptest::collection::vec((0usize..6, 0u128..3, proptest::option::of(0usize..4)), 0..30)
        ) {
            let names = ["张伟", "張偉", "章伟", "王芳", "Zhang Wei", "李娜"];
            let phones = ["13800138000", "+86 139 0013 9000", "0086 137 0013 7000", "13600136000"];
            let f: Vec<ContactFacts> =
                people.iter().map(|(n, c, p)| facts(names[*n], *c, p.map(|p| phones[p]))).collect();
            let k = keys(&f);
            let found: std::collections::HashSet<(u32, u32)> = contact_pairs(&k, &Progress::default()).pairs.iter().map(|p| (p.0, p.1)).collect();
            for pair in brute_force(&k) {
                // Blocks larger than MAX_BLOCK cannot occur with 30 records.
                prop_assert!(found.contains(&pair), "missed {:?}", pair);
            }
        }
    }
}
