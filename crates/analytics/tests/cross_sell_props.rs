//! FP-growth and rule generation agree with brute-force enumeration on small random data.

use std::collections::BTreeMap;

use guanxi_analytics::cross_sell::{association_rules, frequent_itemsets};
use proptest::prelude::*;

/// Every non-empty subset of the items 0..universe with its basket count, if at least `min_count`.
fn brute_force_itemsets(baskets: &[Vec<u32>], universe: u32, min_count: u64) -> BTreeMap<Vec<u32>, u64> {
    let mut out = BTreeMap::new();
    for mask in 1u32..(1 << universe) {
        let items: Vec<u32> = (0..universe).filter(|i| mask & (1 << i) != 0).collect();
        let count = baskets.iter().filter(|b| items.iter().all(|i| b.contains(i))).count() as u64;
        if count >= min_count {
            out.insert(items, count);
        }
    }
    out
}

fn baskets_strategy() -> impl Strategy<Value = (Vec<Vec<u32>>, u32)> {
    (1u32..=7).prop_flat_map(|universe| {
        // Baskets may repeat items; FP-growth must count them once.
        (prop::collection::vec(prop::collection::vec(0..universe, 0..6), 1..25), Just(universe))
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn fp_growth_finds_exactly_the_brute_force_itemsets(
        (baskets, universe) in baskets_strategy(),
        min_support in 0.01f64..0.8,
    ) {
        let n = baskets.len() as f64;
        let min_count = ((min_support * n) - 1e-9).ceil().max(1.0) as u64;
        let want = brute_force_itemsets(&baskets, universe, min_count);
        let got: BTreeMap<Vec<u32>, u64> = frequent_itemsets(&baskets, min_support, None)
            .unwrap()
            .into_iter()
            .map(|s| (s.items, s.count))
            .collect();
        prop_assert_eq!(got, want);
    }

    #[test]
    fn rules_match_brute_force(
        (baskets, universe) in baskets_strategy(),
        min_support in 0.05f64..0.6,
        min_confidence in 0.0f64..1.0,
    ) {
        let n = baskets.len();
        let sets = frequent_itemsets(&baskets, min_support, None).unwrap();
        let rules = association_rules(&sets, n, min_confidence).unwrap();
        let min_count = ((min_support * n as f64) - 1e-9).ceil().max(1.0) as u64;
        let frequent = brute_force_itemsets(&baskets, universe, min_count);
        let mut want = Vec::new();
        for (items, &count) in frequent.iter().filter(|(i, _)| i.len() >= 2) {
            let k = items.len();
            for mask in 1u32..(1 << k) - 1 {
                let ante: Vec<u32> = (0..k).filter(|b| mask & (1 << b) != 0).map(|b| items[b]).collect();
                let cons: Vec<u32> = (0..k).filter(|b| mask & (1 << b) == 0).map(|b| items[b]).collect();
                let confidence = count as f64 / frequent[&ante] as f64;
                if confidence + 1e-12 >= min_confidence {
                    let lift = confidence / (frequent[&cons] as f64 / n as f64);
                    want.push((ante, cons, count, confidence, lift));
                }
            }
        }
        want.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
        let mut got: Vec<_> = rules
            .iter()
            .map(|r| (r.antecedent.clone(), r.consequent.clone(), r.count, r.confidence, r.lift))
            .collect();
        got.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
        prop_assert_eq!(got.len(), want.len());
        for (g, w) in got.iter().zip(&want) {
            prop_assert_eq!((&g.0, &g.1, g.2), (&w.0, &w.1, w.2));
            prop_assert!((g.3 - w.3).abs() < 1e-12 && (g.4 - w.4).abs() < 1e-9);
        }
        // Best-first order: confidence never increases along the list.
        prop_assert!(rules.windows(2).all(|w| w[0].confidence >= w[1].confidence));
    }
}

#[test]
fn max_len_limits_itemset_size() {
    let baskets = vec![vec![1, 2, 3]; 4];
    let sets = frequent_itemsets(&baskets, 0.5, Some(2)).unwrap();
    assert_eq!(sets.len(), 6);
    assert!(sets.iter().all(|s| s.items.len() <= 2));
}

#[test]
fn bad_settings_are_errors() {
    assert!(frequent_itemsets(&[vec![1]], 0.0, None).is_err());
    assert!(frequent_itemsets(&[], 0.5, None).is_err());
    assert!(association_rules(&[], 10, 1.5).is_err());
}
