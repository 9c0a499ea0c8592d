//! Cross-sell: frequent itemsets by FP-growth, association rules, and per-customer product recommendations.
//!
//! FP-growth (Han, Pei and Yin 2000) compresses the baskets into a prefix tree of items ordered by global
//! frequency and mines it recursively through conditional trees, never generating candidate itemsets. The
//! tree lives in one arena `Vec` per (conditional) tree with index links, so mining allocates a handful of
//! vectors per conditional tree and nothing per basket.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::error::{AnalyticsError, Result, ensure_finite};
use crate::orders::CustomerKey;
use crate::reason::Reason;

/// A product id.
pub type ItemId = u32;

/// A set of items bought together in at least `min_support` of the baskets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FrequentItemset {
    /// Items, ascending.
    pub items: Vec<ItemId>,
    /// Number of baskets containing all of them.
    pub count: u64,
    /// count / number of baskets.
    pub support: f64,
}

/// "Baskets with `antecedent` also contain `consequent`".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AssociationRule {
    /// If a basket has these (ascending)...
    pub antecedent: Vec<ItemId>,
    /// ...it tends to have these too (ascending).
    pub consequent: Vec<ItemId>,
    /// Share of baskets with both sides.
    pub support: f64,
    /// Share of baskets with the antecedent that also have the consequent.
    pub confidence: f64,
    /// Confidence divided by the consequent's own support (> 1: bought together more than by chance).
    pub lift: f64,
    /// Number of baskets with both sides.
    pub count: u64,
}

const NONE: u32 = u32::MAX;

#[derive(Debug, Clone, Copy)]
struct Node {
    item: u32,
    count: u64,
    parent: u32,
    first_child: u32,
    next_sibling: u32,
    next_same_item: u32,
}

/// An FP-tree over "local" item indices; `items[local]` is the global rank of the item.
struct FpTree {
    nodes: Vec<Node>,
    items: Vec<u32>,
    heads: Vec<u32>,
    counts: Vec<u64>,
}

impl FpTree {
    fn new(items: Vec<u32>) -> Self {
        let root =
            Node { item: NONE, count: 0, parent: NONE, first_child: NONE, next_sibling: NONE, next_same_item: NONE };
        let m = items.len();
        Self { nodes: vec![root], items, heads: vec![NONE; m], counts: vec![0; m] }
    }

    /// Inserts a path of local indices in ascending order.
    fn insert(&mut self, path: &[u32], count: u64) {
        let mut cur = 0u32;
        for &item in path {
            self.counts[item as usize] += count;
            let mut child = self.nodes[cur as usize].first_child;
            while child != NONE && self.nodes[child as usize].item != item {
                child = self.nodes[child as usize].next_sibling;
            }
            if child == NONE {
                child = self.nodes.len() as u32;
                self.nodes.push(Node {
                    item,
                    count: 0,
                    parent: cur,
                    first_child: NONE,
                    next_sibling: self.nodes[cur as usize].first_child,
                    next_same_item: self.heads[item as usize],
                });
                self.nodes[cur as usize].first_child = child;
                self.heads[item as usize] = child;
            }
            self.nodes[child as usize].count += count;
            cur = child;
        }
    }
}

/// All itemsets with support ≥ `min_support` (and at most `max_len` items, if given), by FP-growth.
///
/// Duplicate items within a basket count once. Output order: by length, then items.
///
/// ```
/// use guanxi_analytics::cross_sell::frequent_itemsets;
/// let baskets = vec![vec![1, 2, 3], vec![1, 2], vec![2, 3], vec![1, 2, 4]];
/// let sets = frequent_itemsets(&baskets, 0.5, None).unwrap();
/// let pairs: Vec<_> = sets.iter().filter(|s| s.items.len() == 2).map(|s| (s.items.clone(), s.count)).collect();
/// assert_eq!(pairs, vec![(vec![1, 2], 3), (vec![2, 3], 2)]);
/// ```
pub fn frequent_itemsets(
    baskets: &[Vec<ItemId>],
    min_support: f64,
    max_len: Option<usize>,
) -> Result<Vec<FrequentItemset>> {
    ensure_finite(min_support, "min_support")?;
    if !(min_support > 0.0 && min_support <= 1.0) {
        return Err(AnalyticsError::InvalidSetting(format!("min_support {min_support} must be in (0, 1]")));
    }
    if baskets.is_empty() {
        return Err(AnalyticsError::EmptyInput { what: "frequent itemsets (no baskets)" });
    }
    let n = baskets.len() as f64;
    // Smallest count c with c / n >= min_support, robust to rounding.
    let min_count = ((min_support * n) - 1e-9).ceil().max(1.0) as u64;
    let max_len = max_len.unwrap_or(usize::MAX);
    let mut item_counts: HashMap<ItemId, u64> = HashMap::new();
    let mut scratch: Vec<ItemId> = Vec::new();
    for b in baskets {
        scratch.clear();
        scratch.extend_from_slice(b);
        scratch.sort_unstable();
        scratch.dedup();
        for &i in &scratch {
            *item_counts.entry(i).or_insert(0) += 1;
        }
    }
    // Global ranks: most frequent first, ties by item id, so that the tree and the output are deterministic.
    let mut frequent: Vec<(ItemId, u64)> = item_counts.into_iter().filter(|&(_, c)| c >= min_count).collect();
    frequent.sort_unstable_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let rank_of: HashMap<ItemId, u32> = frequent.iter().enumerate().map(|(r, &(i, _))| (i, r as u32)).collect();
    let mut tree = FpTree::new((0..frequent.len() as u32).collect());
    let mut path: Vec<u32> = Vec::new();
    for b in baskets {
        path.clear();
        path.extend(b.iter().filter_map(|i| rank_of.get(i).copied()));
        path.sort_unstable();
        path.dedup();
        tree.insert(&path, 1);
    }
    let mut out: Vec<(Vec<u32>, u64)> = Vec::new();
    let mut suffix = Vec::new();
    if max_len > 0 {
        mine(&tree, &mut suffix, min_count, max_len, &mut out);
    }
    let mut result: Vec<FrequentItemset> = out
        .into_iter()
        .map(|(ranks, count)| {
            let mut items: Vec<ItemId> = ranks.iter().map(|&r| frequent[r as usize].0).collect();
            items.sort_unstable();
            FrequentItemset { items, count, support: count as f64 / n }
        })
        .collect();
    result.sort_unstable_by(|a, b| a.items.len().cmp(&b.items.len()).then_with(|| a.items.cmp(&b.items)));
    Ok(result)
}

fn mine(tree: &FpTree, suffix: &mut Vec<u32>, min_count: u64, max_len: usize, out: &mut Vec<(Vec<u32>, u64)>) {
    let mut base: Vec<(Vec<u32>, u64)> = Vec::new();
    for local in (0..tree.items.len()).rev() {
        let count = tree.counts[local];
        if count < min_count {
            continue;
        }
        suffix.push(tree.items[local]);
        out.push((suffix.clone(), count));
        if suffix.len() < max_len {
            // Conditional pattern base: the prefix path (global ranks, ascending) of every node of this item.
            base.clear();
            let mut cond_counts: HashMap<u32, u64> = HashMap::new();
            let mut node = tree.heads[local];
            while node != NONE {
                let n = &tree.nodes[node as usize];
                let mut p = n.parent;
                let mut prefix = Vec::new();
                while p != 0 {
                    let pn = &tree.nodes[p as usize];
                    prefix.push(tree.items[pn.item as usize]);
                    p = pn.parent;
                }
                if !prefix.is_empty() {
                    prefix.reverse();
                    for &r in &prefix {
                        *cond_counts.entry(r).or_insert(0) += n.count;
                    }
                    base.push((prefix, n.count));
                }
                node = n.next_same_item;
            }
            let mut keep: Vec<u32> = cond_counts.into_iter().filter(|&(_, c)| c >= min_count).map(|(r, _)| r).collect();
            if !keep.is_empty() {
                keep.sort_unstable();
                let mut cond = FpTree::new(keep);
                let mut local_path = Vec::new();
                for (prefix, c) in &base {
                    local_path.clear();
                    local_path.extend(prefix.iter().filter_map(|r| cond.items.binary_search(r).ok().map(|l| l as u32)));
                    if !local_path.is_empty() {
                        cond.insert(&local_path, *c);
                    }
                }
                mine(&cond, suffix, min_count, max_len, out);
            }
        }
        suffix.pop();
    }
}

/// Association rules with confidence ≥ `min_confidence` from frequent itemsets of `baskets` baskets, every
/// split of every itemset of two or more items into antecedent ⇒ consequent. Sorted best first: confidence,
/// then lift, then count (descending), then antecedent and consequent.
///
/// ```
/// use guanxi_analytics::cross_sell::{association_rules, frequent_itemsets};
/// let baskets = vec![vec![1, 2], vec![1, 2], vec![1, 3], vec![2, 3], vec![1, 2, 3]];
/// let sets = frequent_itemsets(&baskets, 0.4, None).unwrap();
/// let rules = association_rules(&sets, baskets.len(), 0.7).unwrap();
/// let r = &rules[0];
/// assert_eq!((r.antecedent.clone(), r.consequent.clone()), (vec![1], vec![2]));
/// assert!((r.confidence - 0.75).abs() < 1e-12);
/// ```
pub fn association_rules(
    itemsets: &[FrequentItemset],
    baskets: usize,
    min_confidence: f64,
) -> Result<Vec<AssociationRule>> {
    ensure_finite(min_confidence, "min_confidence")?;
    if !(0.0..=1.0).contains(&min_confidence) {
        return Err(AnalyticsError::InvalidSetting(format!("min_confidence {min_confidence} must be in [0, 1]")));
    }
    if baskets == 0 {
        return Err(AnalyticsError::EmptyInput { what: "association rules (no baskets)" });
    }
    let n = baskets as f64;
    let counts: HashMap<&[ItemId], u64> = itemsets.iter().map(|s| (s.items.as_slice(), s.count)).collect();
    let mut rules = Vec::new();
    let mut ante = Vec::new();
    let mut cons = Vec::new();
    for set in itemsets.iter().filter(|s| s.items.len() >= 2) {
        let k = set.items.len();
        if k > 24 {
            return Err(AnalyticsError::InvalidSetting(format!(
                "an itemset of {k} items has too many rules to enumerate; raise min_support or set max_len"
            )));
        }
        for mask in 1u32..(1 << k) - 1 {
            ante.clear();
            cons.clear();
            for (b, &item) in set.items.iter().enumerate() {
                if mask & (1 << b) != 0 { ante.push(item) } else { cons.push(item) }
            }
            // Every subset of a frequent itemset is frequent, so both lookups succeed for FP-growth output.
            let (Some(&ca), Some(&cc)) = (counts.get(ante.as_slice()), counts.get(cons.as_slice())) else {
                continue;
            };
            let confidence = set.count as f64 / ca as f64;
            if confidence + 1e-12 >= min_confidence {
                rules.push(AssociationRule {
                    antecedent: ante.clone(),
                    consequent: cons.clone(),
                    support: set.support,
                    confidence,
                    lift: confidence / (cc as f64 / n),
                    count: set.count,
                });
            }
        }
    }
    rules.sort_by(rule_order);
    Ok(rules)
}

fn rule_order(a: &AssociationRule, b: &AssociationRule) -> std::cmp::Ordering {
    b.confidence
        .total_cmp(&a.confidence)
        .then(b.lift.total_cmp(&a.lift))
        .then(b.count.cmp(&a.count))
        .then_with(|| a.antecedent.cmp(&b.antecedent))
        .then_with(|| a.consequent.cmp(&b.consequent))
}

/// A product suggested to a customer, with the rule that suggested it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProductRecommendation {
    /// The product.
    pub item: ItemId,
    /// The best rule that fires for this customer and includes the product in its consequent.
    pub rule: AssociationRule,
    /// The rule in words, with a code and parameters for translation.
    pub reason: Reason,
}

/// Up to `top_n` products per customer that the customer does not own yet, ranked by the best rule (in
/// [`association_rules`] order) whose antecedent the customer owns entirely. `owned` lists each customer's
/// products (any order, duplicates allowed).
///
/// ```
/// use guanxi_analytics::cross_sell::{association_rules, frequent_itemsets, recommend_products};
/// let baskets = vec![vec![1, 2], vec![1, 2], vec![1, 2, 3], vec![1, 3], vec![4]];
/// let rules = association_rules(&frequent_itemsets(&baskets, 0.4, None).unwrap(), baskets.len(), 0.5).unwrap();
/// let recs = recommend_products(&[("ann", vec![1]), ("bob", vec![1, 2, 3])], &rules, 2);
/// assert_eq!(recs[0].1.iter().map(|r| r.item).collect::<Vec<_>>(), vec![2, 3]);
/// assert!(recs[1].1.is_empty());
/// assert_eq!(recs[0].1[0].reason.code, "bought_together");
/// ```
pub fn recommend_products<K: CustomerKey>(
    owned: &[(K, Vec<ItemId>)],
    rules: &[AssociationRule],
    top_n: usize,
) -> Vec<(K, Vec<ProductRecommendation>)> {
    let mut sorted: Vec<&AssociationRule> = rules.iter().collect();
    if !sorted.is_sorted_by(|a, b| rule_order(a, b).is_le()) {
        sorted.sort_by(|a, b| rule_order(a, b));
    }
    let mut have: Vec<ItemId> = Vec::new();
    owned
        .iter()
        .map(|(k, items)| {
            have.clear();
            have.extend_from_slice(items);
            have.sort_unstable();
            have.dedup();
            let mut recs: Vec<ProductRecommendation> = Vec::new();
            for rule in &sorted {
                if recs.len() >= top_n {
                    break;
                }
                if !rule.antecedent.iter().all(|i| have.binary_search(i).is_ok()) {
                    continue;
                }
                for &item in &rule.consequent {
                    if recs.len() < top_n && have.binary_search(&item).is_err() && recs.iter().all(|r| r.item != item) {
                        recs.push(ProductRecommendation {
                            item,
                            rule: (*rule).clone(),
                            reason: rule_reason(rule, item),
                        });
                    }
                }
            }
            (k.clone(), recs)
        })
        .collect()
}

fn rule_reason(rule: &AssociationRule, item: ItemId) -> Reason {
    let list = |v: &[ItemId]| v.iter().map(|i| format!("#{i}")).collect::<Vec<_>>().join(", ");
    let ids = |v: &[ItemId]| v.iter().map(|i| i.to_string()).collect::<Vec<_>>().join(",");
    Reason::new(
        "bought_together",
        format!(
            "bought {}; {:.0}% of baskets with {} also contain #{item} (lift {:.1})",
            list(&rule.antecedent),
            rule.confidence * 100.0,
            if rule.antecedent.len() == 1 { "it" } else { "them" },
            rule.lift
        ),
    )
    .with("antecedent", ids(&rule.antecedent))
    .with("consequent", ids(&rule.consequent))
    .with("item", item)
    .with("confidence", format!("{:.4}", rule.confidence))
    .with("lift", format!("{:.4}", rule.lift))
    .with("support", format!("{:.6}", rule.support))
}
