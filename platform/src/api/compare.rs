//! Side-by-side comparison of a scenario's submissions for judges: scores per split with
//! their intervals, latency, the budget verdict and resources, read from the stored reports,
//! and how likely each truly scores better than another.

use actix_web::{HttpResponse, web};
use serde::Deserialize;

use crate::api::input::Query;
use crate::auth::JudgeOrAdmin;
use crate::db::ids::ScenarioId;
use crate::error::AppError;
use crate::services::compare::{comparison, parse_ids};
use crate::state::AppState;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompareQuery {
    /// Comma-separated submission ids.
    pub submissions: String,
}

/// `GET /api/v1/scenarios/{id}/compare?submissions=a,b[,c,d]` — judges and admins. Beside
/// the columns, `significance`: for each pair that both have per-item data, on each board,
/// the probability that the one named first truly scores better.
pub async fn compare(
    state: web::Data<AppState>,
    JudgeOrAdmin(user): JudgeOrAdmin,
    path: web::Path<ScenarioId>,
    Query(query): Query<CompareQuery>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let ids = parse_ids(&query.submissions)?;
    let (columns, significance) = comparison(&state, user, id.clone(), ids).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "scenario_id": id,
        "submissions": columns,
        "significance": significance,
    })))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn two_to_four_distinct_ids() {
        assert_eq!(parse_ids("a, b").unwrap().len(), 2);
        assert!(parse_ids("a").is_err());
        assert!(parse_ids("a,b,c,d,e").is_err());
        assert!(parse_ids("a,a").is_err());
        assert!(parse_ids(",,").is_err());
    }
}
