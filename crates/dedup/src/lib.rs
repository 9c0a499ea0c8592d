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
//!   switchboard number, `info@` placeholders) is evidence of nothing and skipped; the count of skipped keys is
//!   reported. A name with an attribute whose group is expected to hold several others of that name by chance
//!   (a common name at a large company or domain, see [`Frequencies`]) is not a key at all: such a pair could
//!   not reach [`MIN_SCORE`] on the name and that attribute.
//! - neighbourhood keys: the records of one company, one birthday or one company email domain, sorted by the
//!   pinyin of their name; each is compared with the next [`WINDOW`] records. This finds similar names
//!   (`Jonathan` / `Jonathon`) at a cost linear in the number of records.
//!
//! The pairs the keys yield are sorted and deduplicated (a pair found through several keys is scored once),
//! then scored in rounds on up to [`MAX_THREADS`] threads, each taking a contiguous share so that the results
//! come out in order; each round's candidates are handed on ([`contact_pairs_each`]) before the next round,
//! so that a scan writes them as they come and never holds them all. [`Progress`] lets another thread watch a
//! long scan.
//!
//! # Scoring in a data set
//!
//! A scan weighs the attributes next to a name with the [`Frequencies`] of its data set: two 张伟 at a company
//! of 5,000 contacts, or at an email domain that a tenth of all contacts use, are not a candidate pair unless
//! something rarer agrees too; two people with a rare name at that company still are. The check of one new
//! record ([`score_contacts`]) has no data set and weighs every attribute in full.

mod frequencies;
mod normalise;
mod reason;
mod score;

pub use frequencies::{Frequencies, MIN_POPULATION};
pub use normalise::{
    FREE_MAIL_DOMAINS, company_key, domain_key, email_key, name_key, phone_key, pinyin_key, simplified, traditional,
};
pub use reason::{Lang, Reason, combine};
pub use score::{
    CompanyFacts, CompanyKeys, ContactFacts, ContactKeys, MIN_SCORE, Match, score_companies, score_contacts,
    score_contacts_in,
};

use frequencies::Counted;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Exact blocking keys shared by more records than this are skipped.
pub const MAX_BLOCK: usize = 50;
/// Sorted-neighbourhood window: each record is compared with this many following records of its block.
pub const WINDOW: usize = 5;
/// Most threads a scan scores pairs on.
pub const MAX_THREADS: usize = 4;
/// A name with an attribute is not an exact blocking key when the attribute's group is expected to hold more
/// than this many other records of the name by chance: its weight is then under 5 % of itself
/// (`exp(-3)`), too little to lift a name to [`MIN_SCORE`] (pairs that share something rarer are found through
/// that).
const COMMON_EXPECTED: f64 = 3.0;
/// Pairs each thread scores per round; a round's candidates are handed on before the next round starts, so
/// memory holds at most a few rounds' worth whatever the data set.
const ROUND_PER_THREAD: usize = 16_384;

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

/// What a scan did, for its log and its record: the counts of [`Pairs`] and where the time went.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct ScanSummary {
    /// Pairs compared (the work blocking left).
    pub compared: u64,
    /// Candidate pairs found.
    pub found: u64,
    /// Exact keys skipped for being held by more than [`MAX_BLOCK`] records.
    pub oversized_blocks: usize,
    /// Name-and-attribute keys not used because the name is common in that group (see [`Frequencies`]).
    pub common_keys: u64,
    /// Counting frequencies and building, sorting and deduplicating the blocks.
    pub blocking: Duration,
    /// Scoring the pairs (wall time, on up to [`MAX_THREADS`] threads), including waiting for the sink.
    pub scoring: Duration,
    /// False when the sink asked to stop before every pair was scored.
    pub complete: bool,
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

fn key_hash<T: Hash + ?Sized>(kind: u8, parts: &[&T]) -> u64 {
    let mut h = DefaultHasher::new();
    kind.hash(&mut h);
    for p in parts {
        p.hash(&mut h);
    }
    h.finish()
}

/// The blocks of a data set: record indices under exact keys (compared all with all) and under window keys
/// (sorted by the string, each compared with its next [`WINDOW`] neighbours).
struct Blocks<'a> {
    exact: Vec<(u64, u32)>,
    window: Vec<(u64, &'a str, u32)>,
    common_keys: u64,
}

/// The distinct pairs the blocks propose, sorted, and the number of oversized exact blocks skipped.
fn block_pairs(mut blocks: Blocks<'_>) -> (Vec<(u32, u32)>, usize) {
    let mut oversized = 0;
    let mut todo: Vec<(u32, u32)> = Vec::with_capacity(blocks.exact.len() + blocks.window.len());
    let mut push = |i: u32, j: u32| {
        if i != j {
            todo.push(if i < j { (i, j) } else { (j, i) });
        }
    };
    blocks.exact.sort_unstable();
    for block in blocks.exact.chunk_by(|x, y| x.0 == y.0) {
        if block.len() > MAX_BLOCK {
            oversized += 1;
            continue;
        }
        for (x, &(_, i)) in block.iter().enumerate() {
            for &(_, j) in &block[x + 1..] {
                push(i, j);
            }
        }
    }
    blocks.window.sort_unstable();
    for (x, &(block, _, i)) in blocks.window.iter().enumerate() {
        for &(other, _, j) in blocks.window[x + 1..].iter().take(WINDOW) {
            if other != block {
                break;
            }
            push(i, j);
        }
    }
    // A pair found through several keys is scored once; sorted, so that the output order needs no second sort.
    todo.sort_unstable();
    todo.dedup();
    (todo, oversized)
}

/// Scores each pair of `todo` with `score`, spread over the machine's cores (at most [`MAX_THREADS`]), in
/// rounds; hands each round's candidates to `sink` in the order of `todo` and stops early when `sink` returns
/// false.
fn score_pairs<F, S>(todo: &[(u32, u32)], progress: &Progress, score: F, mut sink: S) -> (u64, bool)
where
    F: Fn(usize, usize) -> Option<Match> + Sync,
    S: FnMut(Vec<(u32, u32, Match)>) -> bool,
{
    progress.total.store(todo.len() as u64, Ordering::Relaxed);
    let threads = std::thread::available_parallelism().map_or(1, |t| t.get()).clamp(1, MAX_THREADS);
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
    let mut found = 0u64;
    for round in todo.chunks(ROUND_PER_THREAD * threads) {
        let part = round.len().div_ceil(threads).max(1);
        let pairs = std::thread::scope(|s| {
            let mut parts = round.chunks(part);
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
        found += pairs.len() as u64;
        if !pairs.is_empty() && !sink(pairs) {
            return (found, false);
        }
    }
    (found, true)
}

/// Blocks, then scores and hands on the candidates in order (see [`contact_pairs_each`]).
fn find_pairs_each<F, S>(blocks: Blocks<'_>, progress: &Progress, started: Instant, score: F, sink: S) -> ScanSummary
where
    F: Fn(usize, usize) -> Option<Match> + Sync,
    S: FnMut(Vec<(u32, u32, Match)>) -> bool,
{
    let common_keys = blocks.common_keys;
    let (todo, oversized_blocks) = block_pairs(blocks);
    let blocking = started.elapsed();
    let scoring = Instant::now();
    let (found, complete) = score_pairs(&todo, progress, score, sink);
    ScanSummary {
        compared: todo.len() as u64,
        found,
        oversized_blocks,
        common_keys,
        blocking,
        scoring: scoring.elapsed(),
        complete,
    }
}

fn collect(run: impl FnOnce(&mut dyn FnMut(Vec<(u32, u32, Match)>) -> bool) -> ScanSummary) -> Pairs {
    let mut pairs = Vec::new();
    let summary = run(&mut |mut round| {
        pairs.append(&mut round);
        true
    });
    Pairs { pairs, oversized_blocks: summary.oversized_blocks, compared: summary.compared }
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
    collect(|sink| contact_pairs_each(keys, progress, sink))
}

/// The candidate pairs among contacts, handed to `sink` a round at a time (each round in order, the rounds in
/// order: the concatenation is what [`contact_pairs`] returns) so that a caller can write them while the
/// next are scored; `sink` returns false to stop the scan. Names and attributes are weighed with the
/// [`Frequencies`] of `keys`.
pub fn contact_pairs_each(
    keys: &[ContactKeys],
    progress: &Progress,
    sink: impl FnMut(Vec<(u32, u32, Match)>) -> bool,
) -> ScanSummary {
    let started = Instant::now();
    let freq = Frequencies::of_contacts(keys);
    let mut blocks = Blocks {
        exact: Vec::with_capacity(keys.len() * 3),
        window: Vec::with_capacity(keys.len() * 2),
        common_keys: 0,
    };
    let mut attributes: Vec<(u8, u64, u32)> = Vec::new();
    for (i, k) in keys.iter().enumerate() {
        let i = i as u32;
        blocks.exact.extend(k.emails.iter().map(|e| (key_hash(1, &[&**e]), i)));
        blocks.exact.extend(k.phones.iter().map(|p| (key_hash(2, &[&**p]), i)));
        // Each attribute with its hash and the number of records in its group.
        attributes.clear();
        if let Some(c) = &k.company_id {
            attributes.push((3, key_hash(3, &[c]), freq.company(c)));
        }
        if let Some(b) = &k.birthday {
            attributes.push((4, key_hash(4, &[&**b]), freq.count(Counted::Birthday, &**b)));
        }
        attributes.extend(
            k.email_domains.iter().map(|d| (5u8, key_hash(5, &[&**d]), freq.count(Counted::EmailDomain, &**d))),
        );
        let names = [(10u8, &k.name, Counted::Name), (20u8, &k.pinyin, Counted::Pinyin)];
        for &(kind, attribute, group) in &attributes {
            // Also the pinyin when it is the name itself (`Zhang Wei`), so that it meets the pinyin of `张伟`.
            for &(base, name, counted) in &names {
                if name.is_empty() {
                    continue;
                }
                let holders = freq.count(counted, &**name);
                if freq.expected(group, holders).is_some_and(|e| e > COMMON_EXPECTED) {
                    blocks.common_keys += 1;
                    continue;
                }
                blocks.exact.push((key_hash(base + kind, &[&key_hash(0, &[&**name]), &attribute]), i));
            }
            blocks.window.push((attribute, &k.pinyin, i));
        }
    }
    drop(attributes);
    find_pairs_each(blocks, progress, started, |a, b| score_contacts_in(&keys[a], &keys[b], &freq), sink)
}

/// The candidate pairs among companies: same domain or core name (exact), similar core names (neighbours in
/// the order of core names, across all companies: there are far fewer companies than contacts).
pub fn company_pairs(keys: &[CompanyKeys], progress: &Progress) -> Pairs {
    collect(|sink| company_pairs_each(keys, progress, sink))
}

/// [`company_pairs`] handed on a round at a time, like [`contact_pairs_each`].
pub fn company_pairs_each(
    keys: &[CompanyKeys],
    progress: &Progress,
    sink: impl FnMut(Vec<(u32, u32, Match)>) -> bool,
) -> ScanSummary {
    let started = Instant::now();
    let mut blocks =
        Blocks { exact: Vec::with_capacity(keys.len() * 2), window: Vec::with_capacity(keys.len()), common_keys: 0 };
    for (i, k) in keys.iter().enumerate() {
        let i = i as u32;
        if let Some(d) = &k.domain {
            blocks.exact.push((key_hash(1, &[&**d]), i));
        }
        if !k.core.is_empty() {
            blocks.exact.push((key_hash(2, &[&*k.core]), i));
            blocks.window.push((0, &k.core, i));
        }
    }
    find_pairs_each(blocks, progress, started, |a, b| score_companies(&keys[a], &keys[b]), sink)
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

    /// A data set like the benchmark's: `n` people at company 1 (every tenth called 张伟, the rest with names of
    /// their own) and `n` at no company, then the given records.
    fn crowd(n: usize, extra: &[ContactFacts]) -> Vec<ContactKeys> {
        let mut f: Vec<ContactFacts> = (0..2 * n)
            .map(|i| {
                let name = if i % 10 == 0 { "张伟".to_string() } else { format!("Client {i:05}") };
                facts(&name, if i < n { 1 } else { 0 }, None)
            })
            .collect();
        f.extend_from_slice(extra);
        keys(&f)
    }

    #[test]
    fn a_common_name_in_a_large_group_is_no_evidence() {
        // 10,000 contacts at one company, 1,000 of them 张伟: in this data set two 张伟 there are two people, and
        // so are 张伟 and 张卫 (the same pinyin), and similar names (`Client 00001` / `Client 00002`); the pair that
        // shares a phone still is a pair, and so is a rare name at that company.
        let k = crowd(
            10_000,
            &[
                facts("张卫", 1, None),
                facts("欧阳晓涵", 1, None),
                facts("歐陽曉涵", 1, None),
                facts("张伟", 1, Some("13800138000")),
                facts("张伟", 1, Some("+86 138 0013 8000")),
            ],
        );
        let found = contact_pairs(&k, &Progress::default());
        let pairs: Vec<(u32, u32)> = found.pairs.iter().map(|p| (p.0, p.1)).collect();
        assert_eq!(pairs, [(20_001, 20_002), (20_003, 20_004)]);
        let scores: Vec<u8> = found.pairs.iter().map(|p| p.2.score).collect();
        assert_eq!(scores, [55, 91]);
        let codes: Vec<&str> = found.pairs[0].2.reasons.iter().map(Reason::code).collect();
        assert_eq!(codes, ["traditional_simplified_name", "same_company"]);
        // Scored alone (the check of one record), the company still counts in full.
        assert!(score_contacts(&k[0], &k[10]).is_some());
        assert!(score_contacts(&k[0], &k[20_000]).is_some());
        // The name-and-company keys of the 张伟 were not even blocked (rather than blocked and found oversized):
        // only the neighbours of the company's window were compared.
        let summary = contact_pairs_each(&k, &Progress::default(), |_| true);
        assert_eq!(summary.oversized_blocks, 0);
        // Name and pinyin of the 1,002 张伟, the pinyin of 张卫.
        assert_eq!(summary.common_keys, 2 * 1_002 + 1);
        assert!(summary.compared <= 10_005 * WINDOW as u64 + 10, "{}", summary.compared);
    }

    #[test]
    fn a_small_data_set_keeps_every_documented_pair() {
        // Four of twelve records sound like zhangwei: in a CRM this small that says nothing about the name.
        let k = keys(&[
            facts("张伟", 2, None),
            facts("章伟", 2, None),
            facts("张伟", 3, None),
            facts("張偉", 3, None),
            facts("王芳", 4, None),
            facts("王芳", 5, None),
        ]);
        let pairs: Vec<(u32, u32)> = contact_pairs(&k, &Progress::default()).pairs.iter().map(|p| (p.0, p.1)).collect();
        assert_eq!(pairs, [(0, 1), (2, 3)]);
    }

    #[test]
    fn rounds_arrive_in_order_and_the_sink_can_stop_the_scan() {
        let k = crowd(1_000, &[]);
        let all = contact_pairs(&k, &Progress::default());
        let mut rounds = Vec::new();
        let summary = contact_pairs_each(&k, &Progress::default(), |r| {
            rounds.extend(r);
            true
        });
        assert!(summary.complete);
        assert_eq!(summary.found, all.pairs.len() as u64);
        assert_eq!(rounds, all.pairs);
        // A sink that refuses the first round ends the scan there.
        // Blocks of 50 sharing a phone: 1,225 pairs each, more than one round on any machine.
        let blocks = (2 * ROUND_PER_THREAD * MAX_THREADS).div_ceil(1_225);
        let many: Vec<ContactFacts> =
            (0..blocks * MAX_BLOCK).map(|i| facts("x", 0, Some(&format!("1380013{:04}", i / MAX_BLOCK)))).collect();
        let mut calls = 0;
        let summary = contact_pairs_each(&keys(&many), &Progress::default(), |_| {
            calls += 1;
            false
        });
        assert_eq!((calls, summary.complete), (1, false));
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
