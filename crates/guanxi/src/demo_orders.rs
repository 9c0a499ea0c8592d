//! Demo products, orders and activities (filled in once the order store lands).

use anyhow::Result;
use chrono::{DateTime, Utc};
use guanxi_core::access::Actor;
use guanxi_store::Db;
use rand::rngs::StdRng;
use uuid::Uuid;

pub async fn load(
    _db: &Db,
    _actor: &Actor,
    _rng: &mut StdRng,
    _contacts: &[Uuid],
    _n_orders: usize,
    _since: DateTime<Utc>,
) -> Result<()> {
    Ok(())
}
