//! How common names and shared attributes are in the data set a scan compares.
//!
//! Two contacts called 张伟 at a company of five people are probably one person; two 张伟 at a company, email
//! domain or city with thousands of contacts are probably two, because in a group that large another 张伟 is
//! expected by chance. The scorer weighs a shared attribute next to a name by the chance that the group holds
//! no other record of that name: `exp(-expected)`, where `expected` is the number of other records with the
//! name that the group would hold if names were spread evenly (others in the group × the name's share of all
//! records). This is the term-frequency adjustment of record linkage (Fellegi–Sunter), in its simplest form.

use crate::score::ContactKeys;
use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use uuid::Uuid;

/// A name's share is measured against at least this many records: in a small CRM four 张伟 do not yet show that
/// the name is common (and the documented pairs of a handful of records keep their full score).
pub const MIN_POPULATION: usize = 10_000;

/// What is counted: names (as compared and as pronounced) and the attributes a name is weighed with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Counted {
    Name,
    Pinyin,
    Company,
    Birthday,
    EmailDomain,
    City,
}

fn count_key<T: Hash + ?Sized>(what: Counted, value: &T) -> u64 {
    let mut h = DefaultHasher::new();
    what.hash(&mut h);
    value.hash(&mut h);
    h.finish()
}

/// How many records of a data set share each name and each attribute value.
///
/// ```
/// use guanxi_core::contact_point::Region;
/// use guanxi_dedup::{ContactFacts, ContactKeys, Frequencies, score_contacts, score_contacts_in};
/// use uuid::Uuid;
/// // A company with 20,000 contacts, 2,000 of them called 张伟.
/// let big = Some(Uuid::from_u128(1));
/// let people: Vec<ContactKeys> = (0..20_000)
///     .map(|i| {
///         let name = if i % 10 == 0 { "张伟".to_string() } else { format!("客户{i}") };
///         ContactKeys::new(&ContactFacts { display_name: name, company_id: big, ..Default::default() }, Region::CN)
///     })
///     .collect();
/// let freq = Frequencies::of_contacts(&people);
/// // Alone, two 张伟 at one company look like one person; in this data set they do not.
/// assert!(score_contacts(&people[0], &people[10]).is_some());
/// assert!(score_contacts_in(&people[0], &people[10], &freq).is_none());
/// ```
#[derive(Debug, Default, Clone)]
pub struct Frequencies {
    records: usize,
    counts: HashMap<u64, u32>,
}

impl Frequencies {
    /// Counts the names, pinyin, companies, birthdays, company email domains and cities of `keys`.
    pub fn of_contacts(keys: &[ContactKeys]) -> Frequencies {
        let mut counts: HashMap<u64, u32> = HashMap::with_capacity(keys.len() / 4);
        let mut add = |key: u64| *counts.entry(key).or_default() += 1;
        for k in keys {
            if !k.name.is_empty() {
                add(count_key(Counted::Name, &*k.name));
            }
            if !k.pinyin.is_empty() {
                add(count_key(Counted::Pinyin, &*k.pinyin));
            }
            if let Some(c) = &k.company_id {
                add(count_key(Counted::Company, c));
            }
            if let Some(b) = &k.birthday {
                add(count_key(Counted::Birthday, &**b));
            }
            for d in &k.email_domains {
                add(count_key(Counted::EmailDomain, &**d));
            }
            if let Some(c) = &k.city {
                add(count_key(Counted::City, &**c));
            }
        }
        Frequencies { records: keys.len(), counts }
    }

    /// Records holding `value`; 0 when not counted (including for the empty `Frequencies` of a single check).
    pub(crate) fn count<T: Hash + ?Sized>(&self, what: Counted, value: &T) -> u32 {
        if self.counts.is_empty() {
            return 0;
        }
        self.counts.get(&count_key(what, value)).copied().unwrap_or(0)
    }

    pub(crate) fn company(&self, id: &Uuid) -> u32 {
        self.count(Counted::Company, id)
    }

    /// How much a shared attribute held by `group` records still says next to a name held by `name` records:
    /// the chance that none of the group's other records has the name by coincidence, from 1 (nothing
    /// counted, or a group of two) towards 0.
    pub(crate) fn specificity(&self, group: u32, name: u32) -> f64 {
        self.expected(group, name).map_or(1.0, |e| (-e).exp())
    }

    /// Other records of the group expected to have the name by chance; `None` when nothing was counted.
    pub(crate) fn expected(&self, group: u32, name: u32) -> Option<f64> {
        if self.records == 0 {
            return None;
        }
        let population = self.records.max(MIN_POPULATION) - 1;
        Some(f64::from(group.saturating_sub(1)) * f64::from(name.saturating_sub(1)) / population as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specificity_falls_with_the_group_and_the_name() {
        let f = Frequencies { records: 1_000_000, counts: HashMap::from([(0, 1)]) };
        // A unique name at a company of two: full weight.
        assert!(f.specificity(2, 2) > 0.999);
        // A name held by 370 of 1M records at a domain of 130,000: about 48 others expected, nothing left.
        assert!(f.specificity(130_000, 370) < 1e-10);
        // A name held by 8 at that domain: about one other expected.
        let s = f.specificity(130_000, 8);
        assert!(s > 0.35 && s < 0.45, "{s}");
        // Nothing counted: full weight.
        assert_eq!(Frequencies::default().specificity(130_000, 370), 1.0);
    }

    #[test]
    fn small_data_sets_count_as_ten_thousand_records() {
        let f = Frequencies { records: 12, counts: HashMap::from([(0, 1)]) };
        assert!(f.specificity(2, 4) > 0.999);
    }
}
