//! Demo data: a small trading company's CRM with Chinese and English customers, three years of orders with
//! realistic repeat-purchase behaviour (each customer buys at its own rate until it silently churns, as the
//! BG/NBD model assumes), and a timeline of calls, visits, notes and complaints. Seeded: the same every run.

use anyhow::{Context, Result};
use chrono::{Duration, Utc};
use guanxi_core::access::{Actor, Role, TokenScope, Visibility};
use guanxi_core::company::{CompanyInput, SizeBand};
use guanxi_core::contact::{ContactInput, ContactRules, EmailEntry, Gender, PhoneEntry, PostalAddress, Source};
use guanxi_core::contact_point::Region;
use guanxi_store::Db;
use guanxi_store::accounts::{self, NewUser};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use uuid::Uuid;

pub struct DemoLogin {
    pub email: String,
    pub password: String,
}

const FAMILY: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴", "徐", "孙", "胡", "朱", "高", "林", "何", "郭", "马",
    "罗", "梁", "宋", "郑", "谢", "韩", "唐", "冯", "于", "董", "萧", "程", "曹", "袁", "邓", "许", "傅", "沈", "曾",
    "彭", "吕", "欧阳", "司马", "诸葛", "上官",
];
const GIVEN: &[&str] = &[
    "伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超", "秀英", "霞",
    "平", "刚", "桂英", "建华", "晓东", "志强", "海燕", "俊杰", "子涵", "欣怡", "浩然", "雨桐", "梓萱", "思远", "嘉怡",
    "一鸣", "娜娜", "文博", "佳琪",
];
const EN_GIVEN: &[&str] = &[
    "Ada", "Grace", "Alan", "Linus", "Margaret", "James", "Emily", "Oliver", "Sophia", "Liam", "Olivia", "Noah",
    "Emma", "Lucas", "Mia", "Ethan", "Chloe", "Daniel", "Hannah", "David",
];
const EN_FAMILY: &[&str] = &[
    "Lovelace", "Hopper", "Turing", "Torvalds", "Hamilton", "Smith", "Johnson", "Brown", "Taylor", "Wilson", "Clarke",
    "Walker", "Wright", "Green", "Baker", "Hall", "Young", "King", "Scott", "Adams",
];
const CITIES: &[(&str, &str, &str)] = &[
    ("CN", "北京市", "北京"),
    ("CN", "上海市", "上海"),
    ("CN", "广东省", "广州"),
    ("CN", "广东省", "深圳"),
    ("CN", "浙江省", "杭州"),
    ("CN", "江苏省", "南京"),
    ("CN", "四川省", "成都"),
    ("CN", "湖北省", "武汉"),
    ("CN", "陕西省", "西安"),
    ("CN", "福建省", "厦门"),
    ("US", "California", "San Francisco"),
    ("GB", "England", "London"),
    ("SG", "Singapore", "Singapore"),
];
const COMPANY_WORDS: &[&str] =
    &["华信", "远航", "天成", "博雅", "星辰", "中联", "恒通", "锦程", "新元", "瑞丰", "蓝海", "云帆", "金桥", "宏图"];
const COMPANY_KINDS: &[(&str, &str)] = &[
    ("科技", "软件"),
    ("贸易", "贸易"),
    ("餐饮管理", "餐饮"),
    ("文化传媒", "传媒"),
    ("医疗器械", "医疗"),
    ("教育咨询", "教育"),
    ("物流", "物流"),
];
const EN_COMPANIES: &[&str] =
    &["Acme", "Globex", "Initech", "Umbrella", "Stark", "Wayne", "Hooli", "Vandelay", "Soylent", "Cyberdyne"];
const TITLES: &[&str] = &[
    "总经理",
    "采购经理",
    "市场总监",
    "销售代表",
    "财务主管",
    "CEO",
    "Buyer",
    "Marketing Manager",
    "Office Manager",
    "CTO",
];
const TAGS: &[&str] = &["vip", "经销商", "展会", "newsletter", "老客户", "潜在客户", "wholesale", "线上"];

fn pick<'a, T>(rng: &mut StdRng, xs: &'a [T]) -> &'a T {
    &xs[rng.random_range(0..xs.len())]
}

fn mobile(rng: &mut StdRng) -> String {
    let prefix = pick(rng, &["138", "139", "135", "136", "150", "151", "186", "188", "177", "199"]);
    format!("{prefix}{:08}", rng.random_range(0..100_000_000u32))
}

/// Loads the demo data and returns the admin login.
pub async fn load(db: &Db, n_contacts: usize, n_orders: usize) -> Result<DemoLogin> {
    let started = std::time::Instant::now();
    let mut rng = StdRng::seed_from_u64(20261123);
    let password = "guanxi-demo-2026".to_string();
    let email = "admin@demo.guanxi".to_string();

    let east = accounts::create_team(db, "华东销售").await?;
    let intl = accounts::create_team(db, "International").await?;
    let admin = crate::create_admin(db, &email, &password, "管理员 Admin").await?;
    let hash = guanxi_http::auth::hash_password(password.clone()).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut sellers = Vec::new();
    for (mail, name, role, team) in [
        ("li.na@demo.guanxi", "李娜", Role::Manager, east.id),
        ("wang.fang@demo.guanxi", "王芳", Role::Member, east.id),
        ("zhao.lei@demo.guanxi", "赵磊", Role::Member, east.id),
        ("emily.clarke@demo.guanxi", "Emily Clarke", Role::Manager, intl.id),
        ("david.young@demo.guanxi", "David Young", Role::Member, intl.id),
    ] {
        let u = accounts::create_user(
            db,
            &NewUser { email: mail, display_name: name, password_hash: &hash, role, team_id: Some(team), locale: None },
        )
        .await?;
        sellers.push(Actor { user_id: u.id, team_id: u.team_id, role, scope: TokenScope::ReadWrite });
    }
    let admin_actor = Actor { user_id: admin.id, team_id: None, role: Role::Admin, scope: TokenScope::ReadWrite };

    // Companies.
    let n_companies = (n_contacts / 10).max(1);
    let mut company_ids: Vec<(Uuid, usize)> = Vec::with_capacity(n_companies);
    let mut drafts = Vec::new();
    let mut owners = Vec::new();
    for i in 0..n_companies {
        let seller = rng.random_range(0..sellers.len());
        let (country, province, city) = *pick(&mut rng, CITIES);
        let (name, industry, domain) = if country == "CN" {
            let (kind, industry) = *pick(&mut rng, COMPANY_KINDS);
            let word = pick(&mut rng, COMPANY_WORDS);
            (format!("{city}{word}{kind}有限公司"), industry.to_string(), None)
        } else {
            let w = pick(&mut rng, EN_COMPANIES);
            (format!("{w} {} Ltd.", i), "Trading".to_string(), Some(format!("{}{}.example.com", w.to_lowercase(), i)))
        };
        let input = CompanyInput {
            name: Some(name),
            domain,
            industry: Some(industry),
            size_band: Some(*pick(&mut rng, &SizeBand::ALL)),
            address: PostalAddress {
                country: Some(country.into()),
                province: Some(province.into()),
                city: Some(city.into()),
                ..Default::default()
            },
            tags: if rng.random_bool(0.2) { vec![pick(&mut rng, TAGS).to_string()] } else { Vec::new() },
            owner_id: Some(sellers[seller].user_id),
            visibility: Some(if rng.random_bool(0.1) { Visibility::Private } else { Visibility::Team }),
            custom: Default::default(),
        };
        drafts.push(input.validate(&[]).map_err(|e| anyhow::anyhow!("{e}"))?);
        owners.push(seller);
    }
    for chunk in drafts.chunks(1000) {
        let created = guanxi_store::companies::create_batch(db, &admin_actor, chunk)
            .await
            .map_err(|e| anyhow::anyhow!("{e:?}"))?;
        for c in created {
            let seller = sellers.iter().position(|s| Some(s.user_id) == c.owner_id).unwrap_or(0);
            company_ids.push((c.id, seller));
        }
    }
    let _ = owners;

    // Contacts: ~70 % Chinese names, most with a company.
    let rules = ContactRules { default_region: Region::CN, custom_fields: &[], today: Utc::now().date_naive() };
    let mut contact_ids: Vec<Uuid> = Vec::with_capacity(n_contacts);
    let mut batch = Vec::with_capacity(1000);
    for i in 0..n_contacts {
        let chinese = rng.random_bool(0.7);
        let (family, given) = if chinese {
            (pick(&mut rng, FAMILY).to_string(), pick(&mut rng, GIVEN).to_string())
        } else {
            (pick(&mut rng, EN_FAMILY).to_string(), pick(&mut rng, EN_GIVEN).to_string())
        };
        let (company, seller) = if rng.random_bool(0.8) {
            company_ids[rng.random_range(0..company_ids.len())]
        } else {
            (Uuid::nil(), rng.random_range(0..sellers.len()))
        };
        let (country, province, city) =
            if chinese { *pick(&mut rng, &CITIES[..10]) } else { *pick(&mut rng, &CITIES[10..]) };
        let email_local = if chinese {
            format!("user{i}")
        } else {
            format!("{}.{}{}", given.to_lowercase(), family.to_lowercase(), i)
        };
        let phone = if chinese { mobile(&mut rng) } else { format!("+1 415 555 {:04}", rng.random_range(0..10000)) };
        let input = ContactInput {
            family_name: Some(family),
            given_name: Some(given),
            display_name: None,
            emails: vec![EmailEntry {
                address: format!(
                    "{email_local}@{}",
                    pick(&mut rng, &["qq.com", "163.com", "example.com", "gmail.com"])
                ),
                primary: true,
            }],
            phones: vec![PhoneEntry { number: phone, primary: true }],
            address: PostalAddress {
                country: Some(country.into()),
                province: Some(province.into()),
                city: Some(city.into()),
                ..Default::default()
            },
            company_id: (company != Uuid::nil()).then_some(company),
            job_title: Some(pick(&mut rng, TITLES).to_string()),
            gender: Some(*pick(&mut rng, &[Gender::Female, Gender::Male])),
            birthday: chrono::NaiveDate::from_ymd_opt(
                rng.random_range(1960..2004),
                rng.random_range(1..13),
                rng.random_range(1..29),
            ),
            preferred_language: Some(if chinese { "zh-CN" } else { "en" }.into()),
            source: Some(*pick(&mut rng, &Source::ALL)),
            source_detail: None,
            tags: if rng.random_bool(0.3) { vec![pick(&mut rng, TAGS).to_string()] } else { Vec::new() },
            owner_id: Some(sellers[seller].user_id),
            visibility: Some(if rng.random_bool(0.1) { Visibility::Private } else { Visibility::Team }),
            custom: Default::default(),
        };
        batch.push(input.validate(&rules).map_err(|e| anyhow::anyhow!("demo contact {i}: {e}"))?);
        if batch.len() == 1000 || i + 1 == n_contacts {
            let created = guanxi_store::contacts::create_batch(db, &admin_actor, &batch)
                .await
                .map_err(|e| anyhow::anyhow!("{e:?}"))?;
            contact_ids.extend(created.iter().map(|c| c.id));
            batch.clear();
        }
    }
    println!("loaded {} companies and {} contacts in {:.1?}", company_ids.len(), contact_ids.len(), started.elapsed());
    crate::demo_orders::load(db, &admin_actor, &mut rng, &contact_ids, n_orders, Utc::now() - Duration::days(3 * 365))
        .await
        .context("demo orders")?;
    println!("demo ready in {:.1?}", started.elapsed());
    Ok(DemoLogin { email, password })
}
