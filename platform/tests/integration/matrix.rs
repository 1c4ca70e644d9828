//! The authorization matrix: every protected route against anonymous callers, a member of
//! another team, a department of another town, a judge and an admin.

use actix_web::http::Method;
use serde_json::json;

use crate::common::{Backend, TestApp};
use crate::on_both_backends;

/// method, path (with `{team_a}` and `{phase}` filled in), body, then the expected status
/// for: anonymous, Bob (Team B, not Team A), the Fengdong department (the scenarios are
/// Konggang's), a judge, an admin.
type Row = (Method, &'static str, Option<serde_json::Value>, [u16; 5]);

fn rows() -> Vec<Row> {
    let scenario = json!({"organization_id": "konggang", "title_zh": "新", "title_en": "New",
        "domain": "logistics", "mode": "batch", "metric": "accuracy"});
    vec![
        (
            Method::GET,
            "/api/v1/organizations",
            None,
            [200, 200, 200, 200, 200],
        ),
        (
            Method::GET,
            "/api/v1/scenarios",
            None,
            [200, 200, 200, 200, 200],
        ),
        (
            Method::GET,
            "/api/v1/scenarios/kg-open",
            None,
            [200, 200, 200, 200, 200],
        ),
        (
            Method::GET,
            "/api/v1/scenarios/kg-draft",
            None,
            [404, 404, 404, 404, 200],
        ),
        (
            Method::POST,
            "/api/v1/scenarios",
            Some(scenario),
            [401, 403, 403, 403, 201],
        ),
        (
            Method::PATCH,
            "/api/v1/scenarios/kg-open",
            Some(json!({"title_en": "x"})),
            [401, 403, 403, 403, 200],
        ),
        (
            Method::POST,
            "/api/v1/scenarios/kg-draft/publish",
            None,
            [401, 404, 404, 404, 409],
        ),
        (
            Method::POST,
            "/api/v1/scenarios/kg-draft/phases",
            Some(
                json!({"name": "p", "opens_at": "2030-01-01T00:00:00Z", "closes_at": "2030-02-01T00:00:00Z"}),
            ),
            [401, 404, 404, 404, 201],
        ),
        (
            Method::PATCH,
            "/api/v1/scenarios/kg-open/phases/{phase}",
            Some(json!({"name": "x"})),
            [401, 403, 403, 403, 200],
        ),
        (
            Method::DELETE,
            "/api/v1/scenarios/kg-open/phases/{phase}",
            None,
            [401, 403, 403, 403, 409],
        ),
        (
            Method::POST,
            "/api/v1/scenarios/kg-open/enrolments",
            Some(json!({"team_id": "{team_a}"})),
            [401, 403, 403, 403, 403],
        ),
        (
            Method::GET,
            "/api/v1/scenarios/kg-open/enrolments",
            None,
            [401, 403, 403, 200, 200],
        ),
        (
            Method::GET,
            "/api/v1/teams/{team_a}",
            None,
            [401, 403, 403, 200, 200],
        ),
        (
            Method::POST,
            "/api/v1/teams/{team_a}/invitations",
            Some(json!({"login": "carol"})),
            [401, 403, 403, 403, 403],
        ),
        (
            Method::GET,
            "/api/v1/teams/{team_a}/invitations",
            None,
            [401, 403, 403, 200, 200],
        ),
        (
            Method::POST,
            "/api/v1/teams/{team_a}/leave",
            None,
            [401, 403, 403, 403, 403],
        ),
        (
            Method::GET,
            "/api/v1/teams/{team_a}/enrolments",
            None,
            [401, 403, 403, 200, 200],
        ),
        (
            Method::GET,
            "/api/v1/teams/{team_a}/submissions",
            None,
            [401, 403, 403, 200, 200],
        ),
        (
            Method::GET,
            "/api/v1/teams",
            None,
            [401, 200, 200, 200, 200],
        ),
        (
            Method::GET,
            "/api/v1/invitations",
            None,
            [401, 200, 200, 200, 200],
        ),
        (Method::GET, "/api/v1/me", None, [401, 200, 200, 200, 200]),
        (
            Method::GET,
            "/api/v1/tokens",
            None,
            [401, 200, 200, 200, 200],
        ),
        (
            Method::POST,
            "/api/v1/organizations",
            Some(json!({"id": "new-town", "name_zh": "新", "name_en": "New"})),
            [401, 403, 403, 403, 201],
        ),
        (
            Method::POST,
            "/api/v1/organizations/konggang/members",
            Some(json!({"login": "carol"})),
            [401, 403, 403, 403, 204],
        ),
        (
            Method::GET,
            "/api/v1/users",
            None,
            [401, 403, 403, 403, 200],
        ),
        (
            Method::POST,
            "/api/v1/users",
            Some(json!({"login": "erin", "display_name": "Erin"})),
            [401, 403, 403, 403, 201],
        ),
        (
            Method::GET,
            "/api/v1/audit",
            None,
            [401, 403, 403, 403, 200],
        ),
        (
            Method::GET,
            "/api/v1/prices",
            None,
            [401, 403, 403, 403, 200],
        ),
        (
            Method::GET,
            "/api/v1/billing/totals",
            None,
            [401, 403, 403, 403, 200],
        ),
        (
            Method::POST,
            "/api/v1/vouchers",
            Some(json!({"organization_id": "konggang", "face_value_fen": 100,
                "subsidy_percent": 50, "valid_from": 0, "valid_until": 4_102_444_800_000_i64})),
            [401, 403, 403, 403, 201],
        ),
        (
            Method::PUT,
            "/api/v1/scenarios/kg-open/sponsorship",
            Some(json!({"daily_fen_per_team": 100})),
            [401, 403, 403, 403, 204],
        ),
    ]
}

async fn authorization_matrix(backend: Backend) {
    let mut failures = Vec::new();
    for (method, path, body, expected) in rows() {
        // A fresh world per route, so an allowed change cannot affect the next caller's answer.
        let app = TestApp::new(backend).await;
        let w = &app.world;
        let fill = |text: &str| {
            text.replace("{team_a}", w.team_a.as_str())
                .replace("{phase}", w.open_phase.as_str())
        };
        let path = fill(path);
        let body =
            body.map(|b| serde_json::from_str::<serde_json::Value>(&fill(&b.to_string())).unwrap());
        let callers = [
            None,
            w.bob.token(),
            w.fengdong.token(),
            w.judge.token(),
            w.admin.token(),
        ];
        let names = ["anonymous", "other team", "other town", "judge", "admin"];
        for ((caller, name), want) in callers.into_iter().zip(names).zip(expected) {
            let mut request = actix_web::test::TestRequest::default()
                .method(method.clone())
                .uri(&path);
            if let Some(token) = caller {
                request = request.insert_header(("Authorization", format!("Bearer {token}")));
            }
            request = request.set_json(body.clone().unwrap_or(json!({})));
            let reply = app.send(request).await;
            if reply.status.as_u16() != want {
                failures.push(format!(
                    "{method} {path} as {name}: {} (want {want}) {}",
                    reply.status, reply.body
                ));
            }
            if reply.status.is_client_error() {
                assert!(
                    !reply.code().is_empty(),
                    "{method} {path}: error without a code: {}",
                    reply.body
                );
            }
        }
    }
    assert!(
        failures.is_empty(),
        "authorization matrix:\n{}",
        failures.join("\n")
    );
}

on_both_backends!(authorization_matrix);
