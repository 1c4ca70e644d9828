//! Prices of metered compute: fen per device-hour of an accelerator model, or per
//! CPU-core-hour, each valid for a period.

use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use crate::db::DbConnection;
use crate::db::ids::{PriceId, UserId};
use crate::db::models::audit;
use crate::db::now_millis;
use crate::db::schema::prices;
use crate::error::AppError;

jiebang_scenarios::text_enum! {
    sql;
    /// What a price is for: an accelerator of one model, or a CPU core of a run that held
    /// no accelerator.
    pub enum Resource: "priced resource" {
        Device = "device",
        CpuCore = "cpu_core",
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, Serialize)]
#[diesel(table_name = prices)]
pub struct Price {
    pub id: PriceId,
    pub kind: Resource,
    /// The accelerator model as workers report it (`MLU270`, `A100`); empty for CPU cores.
    pub model: String,
    pub fen_per_hour: i64,
    pub valid_from: i64,
    pub valid_until: Option<i64>,
    pub set_by: Option<UserId>,
    pub set_at: i64,
}

/// What the operator gives to set a price; times in milliseconds since the epoch.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PriceForm {
    pub kind: Resource,
    #[serde(default)]
    pub model: String,
    pub fen_per_hour: i64,
    pub valid_from: i64,
    #[serde(default)]
    pub valid_until: Option<i64>,
}

/// Records a price; earlier prices stay, so a run is always charged the price of its day.
pub fn set(
    conn: &mut DbConnection,
    form: PriceForm,
    actor: Option<&UserId>,
) -> Result<Price, AppError> {
    let model = form.model.trim().to_owned();
    match form.kind {
        Resource::Device => crate::validate::text("model", &model, 100)?,
        Resource::CpuCore if !model.is_empty() => {
            return Err(crate::validate::FieldProblem::new(
                "model",
                "cpu_price_model",
                "a CPU-core price names no model",
            )
            .into());
        }
        Resource::CpuCore => {}
    }
    if form.fen_per_hour < 0 {
        return Err(crate::validate::FieldProblem::new(
            "fen_per_hour",
            "negative",
            "must be 0 or more",
        )
        .into());
    }
    if form
        .valid_until
        .is_some_and(|until| until <= form.valid_from)
    {
        return Err(crate::validate::later_than("valid_until", "valid_from").into());
    }
    let price = Price {
        id: PriceId::generate(),
        kind: form.kind,
        model,
        fen_per_hour: form.fen_per_hour,
        valid_from: form.valid_from,
        valid_until: form.valid_until,
        set_by: actor.cloned(),
        set_at: now_millis(),
    };
    diesel::insert_into(prices::table)
        .values(&price)
        .execute(conn)?;
    audit::record(
        conn,
        actor,
        "price.set",
        "price",
        price.id.as_str(),
        serde_json::json!({
            "kind": price.kind, "model": price.model, "fen_per_hour": price.fen_per_hour,
            "valid_from": price.valid_from, "valid_until": price.valid_until,
        }),
    )?;
    Ok(price)
}

/// The price in force at `at` for the resource: of those valid then, the one that took
/// effect last (a newer price overrides an open-ended older one).
pub fn in_force(
    conn: &mut DbConnection,
    kind: Resource,
    model: &str,
    at: i64,
) -> QueryResult<Option<Price>> {
    prices::table
        .filter(prices::kind.eq(kind))
        .filter(prices::model.eq(model))
        .filter(prices::valid_from.le(at))
        .filter(prices::valid_until.is_null().or(prices::valid_until.gt(at)))
        .order((prices::valid_from.desc(), prices::set_at.desc()))
        .select(Price::as_select())
        .first(conn)
        .optional()
}

/// Whether any price at all is in force at `at`: without one, compute is not charged.
pub fn any_in_force(conn: &mut DbConnection, at: i64) -> QueryResult<bool> {
    let count: i64 = prices::table
        .filter(prices::valid_from.le(at))
        .filter(prices::valid_until.is_null().or(prices::valid_until.gt(at)))
        .filter(prices::fen_per_hour.gt(0))
        .count()
        .get_result(conn)?;
    Ok(count > 0)
}

/// Every price, newest first.
pub fn list(conn: &mut DbConnection) -> QueryResult<Vec<Price>> {
    prices::table
        .order((prices::valid_from.desc(), prices::set_at.desc()))
        .select(Price::as_select())
        .load(conn)
}
