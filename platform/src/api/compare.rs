//! Side-by-side comparison of a scenario's submissions for judges: scores per split with
//! their intervals, latency, the budget verdict and resources, read from the stored reports.

use actix_web::{HttpResponse, web};
use serde::Deserialize;

use crate::api::input::Query;
use crate::auth::JudgeOrAdmin;
use crate::db::ids::ScenarioId;
use crate::error::AppError;
use crate::services::compare::{columns_of, parse_ids};
use crate::state::AppState;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompareQuery {
    /// Comma-separated submission ids.
    pub submissions: String,
}

/// `GET /api/v1/scenarios/{id}/compare?submissions=a,b[,c,d]` — judges and admins.
pub async fn compare(
    state: web::Data<AppState>,
    JudgeOrAdmin(user): JudgeOrAdmin,
    path: web::Path<ScenarioId>,
    Query(query): Query<CompareQuery>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let ids = parse_ids(&query.submissions)?;
    let asked = id.clone();
    let columns = state
        .db
        .read({
            let blobs = state.blobs.clone();
            move |conn| columns_of(conn, &blobs, &user, &asked, &ids)
        })
        .await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({"scenario_id": id, "submissions": columns})))
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
