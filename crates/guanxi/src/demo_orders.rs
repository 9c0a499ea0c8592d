//! Demo products, orders and activities.
//!
//! Purchases follow the story the BG/NBD model tells: 70 % of contacts buy at some point; each buyer has its own
//! purchase rate and, after every purchase, a chance to drop out for good. So there are one-off buyers, regulars
//! and loyal customers who went quiet — what RFM tiers and churn risk need to show something.

use anyhow::{Result, anyhow};
use chrono::{DateTime, Duration, Utc};
use guanxi_core::access::Actor;
use guanxi_core::activity::{ActivityInput, ActivityKind};
use guanxi_core::order::{OrderInput, OrderLineInput, OrderStatus, ProductFacts, ProductInput};
use guanxi_store::Db;
use rand::Rng;
use rand::rngs::StdRng;
use uuid::Uuid;

/// Categories, their products and their price band in yuan. Prices follow the category (a box of 绿豆糕 is not
/// 1,980 yuan): with one band of 20–2,000 yuan for everything, a tea shop's mean order came out at 3,000 yuan
/// and Gamma-Gamma's spend scale at 5,000 yuan, correctly fitted to data no shop has.
const CATEGORIES: &[(&str, &[&str], (i64, i64))] = &[
    ("茶叶", &["西湖龙井", "碧螺春", "铁观音", "大红袍", "普洱", "白毫银针"], (68, 880)),
    ("茶具", &["紫砂壶", "盖碗", "公道杯", "茶盘"], (45, 1280)),
    ("Coffee", &["Espresso beans", "Drip bags", "Cold brew kit"], (39, 268)),
    ("礼盒", &["中秋礼盒", "春节礼盒", "Corporate gift box"], (168, 988)),
    ("Snacks", &["Almond cookies", "绿豆糕", "凤梨酥"], (12, 88)),
];

const NOTES: &[(ActivityKind, &str)] = &[
    (ActivityKind::Call, "电话回访，客户对上次的茶叶很满意"),
    (ActivityKind::Call, "Called about the autumn catalogue"),
    (ActivityKind::Meeting, "门店会面，讨论企业团购"),
    (ActivityKind::Visit, "到店参观，试饮了新到的大红袍"),
    (ActivityKind::Note, "喜欢绿茶，不喝咖啡"),
    (ActivityKind::Email, "Sent the price list for gift boxes"),
    (ActivityKind::EventAttendance, "参加了春季品茶会"),
    (ActivityKind::Complaint, "快递延误三天，已补发赠品"),
    (ActivityKind::Feedback, "建议增加小包装"),
    (ActivityKind::WebVisit, "Browsed the gift box page twice"),
];

pub async fn load(
    db: &Db,
    actor: &Actor,
    rng: &mut StdRng,
    contacts: &[Uuid],
    n_orders: usize,
    since: DateTime<Utc>,
) -> Result<()> {
    let started = std::time::Instant::now();
    // 200 products across the categories.
    let mut drafts = Vec::new();
    for i in 0..200 {
        let (cat, names, (low, high)) = CATEGORIES[i % CATEGORIES.len()];
        let name = names[(i / CATEGORIES.len()) % names.len()];
        let input = ProductInput {
            sku: Some(format!("SKU-{:04}", i + 1)),
            name: Some(format!("{name} #{}", i / (CATEGORIES.len() * names.len()) + 1)),
            category: Some(cat.to_string()),
            list_price_minor: Some(rng.random_range(low..=high) * 100),
            currency: Some("CNY".into()),
            active: Some(true),
            custom: Default::default(),
        };
        drafts.push(input.validate(&[]).map_err(|e| anyhow!("demo product: {e}"))?);
    }
    let products = guanxi_store::products::create_batch(db, actor, &drafts).await.map_err(|e| anyhow!("{e:?}"))?;
    let facts: Vec<ProductFacts> = products
        .iter()
        .map(|p| ProductFacts {
            id: p.id,
            name: p.name.clone(),
            list_price_minor: p.list_price_minor,
            currency: p.currency,
        })
        .collect();

    // Purchase histories until the order budget is spent.
    let span_days = (Utc::now() - since).num_days().max(30) as f64;
    // Each buyer also has a favourite category and a spending level (how many items an order holds), so order
    // values differ between customers and baskets group by category: what Gamma-Gamma and cross-sell rules need.
    let mut histories: Vec<(Uuid, DateTime<Utc>, usize, i64)> = Vec::with_capacity(n_orders);
    'contacts: for &contact in contacts {
        if histories.len() >= n_orders {
            break;
        }
        if !rng.random_bool(0.7) {
            continue;
        }
        let favourite = rng.random_range(0..CATEGORIES.len());
        let spend = 1 + (rng.random::<f64>().powi(3) * 6.0) as i64;
        let per_year = 1.0 + 16.0 * rng.random::<f64>().powi(2);
        let dropout = 0.02 + 0.25 * rng.random::<f64>().powi(2);
        let mut day = rng.random::<f64>().powi(2) * span_days * 0.9;
        loop {
            histories.push((contact, since + Duration::minutes((day * 1440.0) as i64), favourite, spend));
            if histories.len() >= n_orders || rng.random_bool(dropout) {
                continue 'contacts;
            }
            // Exponential gap at this customer's rate.
            let gap = -(1.0 - rng.random::<f64>()).ln() * 365.0 / per_year;
            day += gap.max(1.0);
            if day >= span_days {
                continue 'contacts;
            }
        }
    }

    let mut batch = Vec::with_capacity(1000);
    let mut n = 0;
    for (i, (contact, at, favourite, spend)) in histories.iter().enumerate() {
        let lines: Vec<OrderLineInput> = (0..rng.random_range(1..4))
            .map(|_| {
                // Products are laid out category by category in steps of CATEGORIES.len().
                // Favourite-category purchases concentrate on its eight best sellers.
                let index = if rng.random_bool(0.7) {
                    *favourite + CATEGORIES.len() * rng.random_range(0..8)
                } else {
                    rng.random_range(0..facts.len())
                };
                let p = &facts[index.min(facts.len() - 1)];
                OrderLineInput {
                    product_id: Some(p.id),
                    quantity: Some(rng.random_range(1..=*spend)),
                    ..Default::default()
                }
            })
            .collect();
        let status = if rng.random_bool(0.03) {
            OrderStatus::Refunded
        } else if rng.random_bool(0.02) {
            OrderStatus::Cancelled
        } else {
            OrderStatus::Paid
        };
        let input = OrderInput {
            number: Some(format!("D{:07}", i + 1)),
            contact_id: Some(*contact),
            company_id: None,
            status: Some(status),
            currency: Some("CNY".into()),
            ordered_at: Some(*at),
            lines,
            custom: Default::default(),
        };
        batch.push(input.validate(&facts, &[], Utc::now()).map_err(|e| anyhow!("demo order: {e}"))?);
        if batch.len() == 1000 || i + 1 == histories.len() {
            n += guanxi_store::orders::create_batch(db, actor, &batch).await.map_err(|e| anyhow!("{e:?}"))?.len();
            batch.clear();
        }
    }

    // About two timeline entries per contact.
    let mut acts = Vec::with_capacity(1000);
    let mut n_acts = 0;
    for (i, &contact) in contacts.iter().enumerate() {
        for _ in 0..rng.random_range(0..5) {
            let (kind, body) = NOTES[rng.random_range(0..NOTES.len())];
            let input = ActivityInput {
                kind: Some(kind),
                contact_id: Some(contact),
                company_id: None,
                occurred_at: Some(since + Duration::minutes((rng.random::<f64>() * span_days * 1440.0) as i64)),
                subject: None,
                body: Some(body.to_string()),
                metadata: Default::default(),
            };
            acts.push(input.validate(Utc::now()).map_err(|e| anyhow!("demo activity: {e}"))?);
        }
        if acts.len() >= 1000 || i + 1 == contacts.len() {
            n_acts +=
                guanxi_store::activities::create_batch(db, actor, &acts).await.map_err(|e| anyhow!("{e:?}"))?.len();
            acts.clear();
        }
    }
    println!("loaded {} products, {n} orders and {n_acts} activities in {:.1?}", products.len(), started.elapsed());
    Ok(())
}
