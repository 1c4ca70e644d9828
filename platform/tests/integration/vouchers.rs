//! Compute vouchers (算力券): each evaluation priced at the price in force, the subsidy
//! debited in the transaction that records the result, exact to the fen; the yearly cap;
//! retried, infra-failed and disturbed runs free; concurrent results never overdraw; a
//! submission nothing can pay for refused before upload; the migrated institutions.

use diesel::connection::SimpleConnection;
use jiebang_platform::db::Backend as DbBackend;
use jiebang_platform::db::now_millis;
use serde_json::{Value, json};

use crate::common::{Backend, TestApp};
use crate::consoles::{claim_and_report, evaluate_next, register_worker, report};
use crate::on_both_backends;
use crate::pages::{get, sign_in};

const DAY: i64 = 24 * 3600 * 1000;

/// 20.00 CNY a device-hour of an A100 (the test workers' accelerators), from yesterday.
async fn price_a100(app: &TestApp) {
    let set = app
        .post(
            "/api/v1/prices",
            app.world.operator.token(),
            json!({"kind": "device", "model": "A100", "fen_per_hour": 2000,
                   "valid_from": now_millis() - DAY}),
        )
        .await;
    assert_eq!(set.status, 201, "{:?}", set.body);
}

/// Team A's institution, as its members find it on the team.
pub(crate) async fn organization_of_team_a(app: &TestApp) -> String {
    let w = &app.world;
    let team = app
        .get(&format!("/api/v1/teams/{}", w.team_a), w.alice.token())
        .await;
    team.body["organization_id"].as_str().unwrap().to_owned()
}

/// Issues a voucher for every evaluation to `organization`: `face` fen at `percent`, valid
/// from yesterday for a month, with this yearly cap (the default when `None`).
pub(crate) async fn issue(
    app: &TestApp,
    organization: &str,
    face: i64,
    percent: i64,
    cap: Option<i64>,
) -> Value {
    let now = now_millis();
    let mut form = json!({"organization_id": organization, "face_value_fen": face,
                          "subsidy_percent": percent, "valid_from": now - DAY,
                          "valid_until": now + 30 * DAY});
    if let Some(cap) = cap {
        form["yearly_cap_fen"] = cap.into();
    }
    let issued = app
        .post("/api/v1/vouchers", app.world.operator.token(), form)
        .await;
    assert_eq!(issued.status, 201, "{:?}", issued.body);
    issued.body
}

pub(crate) async fn statement(app: &TestApp, organization: &str) -> Value {
    let shown = app
        .get(
            &format!("/api/v1/organizations/{organization}/statement"),
            app.world.alice.token(),
        )
        .await;
    assert_eq!(shown.status, 200, "{:?}", shown.body);
    shown.body
}

/// The (cost, sponsored, subsidy, own) of each statement line, in fen.
pub(crate) fn split_of(statement: &Value) -> Vec<(i64, i64, i64, i64)> {
    statement["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            let fen = |k: &str| l[k].as_i64().unwrap();
            (
                fen("cost_fen"),
                fen("sponsored_fen"),
                fen("subsidy_fen"),
                fen("own_fen"),
            )
        })
        .collect()
}

/// A priced world with a worker: the app, team A's organisation, the worker's token and id.
async fn priced(backend: Backend) -> (TestApp, String, String, String) {
    let app = TestApp::new(backend).await;
    price_a100(&app).await;
    let organization = organization_of_team_a(&app).await;
    let token = app.worker_token();
    let worker = register_worker(&app, &token).await;
    (app, organization, token, worker)
}

async fn a_voucher_pays_half_of_two_evaluations_to_the_fen(backend: Backend) {
    let (app, organization, token, worker) = priced(backend).await;
    let w = &app.world;
    issue(&app, &organization, 100_000, 50, None).await;
    // A voucher for a scenario that does not exist is refused, naming it.
    let unknown = app
        .post(
            "/api/v1/vouchers",
            w.operator.token(),
            json!({"organization_id": organization, "face_value_fen": 100, "subsidy_percent": 50,
                   "valid_from": 0, "valid_until": 1, "scope": "scenario", "scope_id": "nope"}),
        )
        .await;
    assert_eq!(
        (unknown.status.as_u16(), unknown.code()),
        (422, "invalid_field")
    );
    assert!(
        unknown.message().contains("no scenario `nope`"),
        "{}",
        unknown.message()
    );
    let first = app.team_a_submits(b"first image").await;
    app.team_a_submits(b"second image").await;
    // Half an hour, then an hour and a half, on one A100.
    evaluate_next(&app, &token, &worker, report(0.9, 1800.0)).await;
    evaluate_next(&app, &token, &worker, report(0.8, 5400.0)).await;

    let shown = statement(&app, &organization).await;
    assert_eq!(
        split_of(&shown),
        [(1000, 0, 500, 500), (3000, 0, 1500, 1500)],
        "{shown}"
    );
    assert_eq!(shown["balance_fen"], 98_000);
    assert_eq!(shown["totals"]["cost_fen"], 4000);
    assert_eq!(shown["totals"]["subsidy_fen"], 2000);
    assert_eq!(shown["totals"]["own_fen"], 2000);
    assert_eq!(shown["subsidy_this_year_fen"], 2000);
    let line = &shown["lines"][0];
    assert_eq!(line["submission_id"], first.as_str());
    assert_eq!(
        (line["model"].as_str(), line["usage_millis"].as_i64()),
        (Some("A100"), Some(1_800_000))
    );
    assert_eq!(line["fen_per_hour"], 2000);
    assert_eq!(line["team"], "Team A");

    let csv = String::from_utf8(
        app.bytes(
            actix_web::test::TestRequest::get()
                .uri(&format!(
                    "/api/v1/organizations/{organization}/statement.csv"
                ))
                .insert_header(("Authorization", format!("Bearer {}", w.alice.token))),
        )
        .await,
    )
    .unwrap();
    assert!(
        csv.contains(",Team A,kg-open,device,A100,1800.000,20.00,10.00,0.00,5.00,5.00,false\r\n"),
        "{csv}"
    );
    assert!(
        csv.ends_with("total,,,,,,,,,40.00,0.00,20.00,20.00,\r\n"),
        "{csv}"
    );

    // Another organisation's member sees nothing of it; the operator sees the totals.
    let refused = app
        .get(
            &format!("/api/v1/organizations/{organization}/statement"),
            w.bob.token(),
        )
        .await;
    assert_eq!(refused.status, 403);
    let totals = app.get("/api/v1/billing/totals", w.operator.token()).await;
    assert_eq!(
        totals.body["rows"][0]["organization_id"],
        organization.as_str()
    );
    assert_eq!(totals.body["rows"][0]["town_id"], "konggang");
    assert_eq!(totals.body["rows"][0]["evaluations"], 2);
    assert_eq!(totals.body["rows"][0]["subsidy_fen"], 2000);
    assert_eq!(totals.body["caps"][0]["subsidy_fen"], 2000);
    assert_eq!(totals.body["caps"][0]["yearly_cap_fen"], 300_000_000);
    assert_eq!(
        app.get("/api/v1/billing/totals", w.alice.token())
            .await
            .status,
        403
    );
    // The operator's console shows the same month's totals and the cap.
    let operator = sign_in(&app, &w.operator.token).await.0;
    let console = app.page(get("/console/operator").cookie(operator)).await;
    assert!(console.text.contains("算力券与计费"), "{}", console.text);
    assert!(
        console
            .text
            .contains("<td>2</td><td>40.00</td><td>0.00</td><td>20.00</td><td>20.00</td>"),
        "{}",
        console.text
    );
    assert!(console.text.contains("<td>20.00</td><td>3,000,000.00</td>"));

    // Every issue, debit, price change and refund is on the audit log.
    let refund = app
        .post(
            &format!("/api/v1/submissions/{first}/refund"),
            w.operator.token(),
            json!({}),
        )
        .await;
    assert_eq!(
        refund.body["returned_to_vouchers_fen"], 500,
        "{:?}",
        refund.body
    );
    let shown = statement(&app, &organization).await;
    assert_eq!(shown["balance_fen"], 98_500);
    assert_eq!(shown["totals"]["cost_fen"], 3000);
    assert_eq!(shown["lines"][0]["refunded"], true);
    for (action, times) in [
        ("price.set", 1),
        ("voucher.issue", 1),
        ("voucher.debit", 2),
        ("voucher.refund", 1),
    ] {
        assert_eq!(
            app.count(&format!("audit_log WHERE action = '{action}'")),
            times,
            "{action}"
        );
    }
}

async fn the_yearly_cap_stops_the_subsidy_at_the_cap(backend: Backend) {
    let (app, organization, token, worker) = priced(backend).await;
    // A 7.00 CNY cap on a voucher of 1000.00 CNY.
    issue(&app, &organization, 100_000, 50, Some(700)).await;
    for image in [b"one".as_slice(), b"two", b"three"] {
        app.team_a_submits(image).await;
    }
    for _ in 0..3 {
        evaluate_next(&app, &token, &worker, report(0.9, 1800.0)).await;
    }
    let shown = statement(&app, &organization).await;
    assert_eq!(
        split_of(&shown),
        [(1000, 0, 500, 500), (1000, 0, 200, 800), (1000, 0, 0, 1000)],
        "{shown}"
    );
    assert_eq!(shown["subsidy_this_year_fen"], 700);
    assert_eq!(shown["vouchers"][0]["balance_fen"], 99_300);
}

async fn retried_infra_failed_and_disturbed_runs_cost_nothing(backend: Backend) {
    let app =
        TestApp::with_config(backend, |config| config.measurement.quiet_wait_seconds = 0).await;
    price_a100(&app).await;
    let organization = organization_of_team_a(&app).await;
    let token = app.worker_token();
    let worker = register_worker(&app, &token).await;
    issue(&app, &organization, 100_000, 50, None).await;
    app.team_a_submits(b"an image tried three times").await;

    claim_and_report(&app, &token, &worker, |_| {
        json!({"outcome": "infrastructure_failed", "reason": "docker: no space left on device",
               "report": report(0.9, 1800.0)})
    })
    .await;
    claim_and_report(&app, &token, &worker, |_| {
        json!({"outcome": "disturbed", "reason": "the timed run was disturbed",
               "report": report(0.9, 1800.0)})
    })
    .await;
    assert_eq!(app.count("charges"), 0, "neither run is charged");
    assert_eq!(statement(&app, &organization).await["balance_fen"], 100_000);

    let job = evaluate_next(&app, &token, &worker, report(0.9, 1800.0)).await;
    // The same result sent again is refused, and charges nothing twice.
    let again = app
        .post(
            &format!(
                "/internal/v1/jobs/{}/result",
                job["job_id"].as_str().unwrap()
            ),
            Some(&token),
            json!({"worker_id": worker, "outcome": "finished", "report": report(0.9, 1800.0)}),
        )
        .await;
    assert_eq!(again.status, 409);
    let shown = statement(&app, &organization).await;
    assert_eq!(split_of(&shown), [(1000, 0, 500, 500)], "{shown}");
    assert_eq!(shown["balance_fen"], 99_500);
}

async fn concurrent_results_never_overdraw_a_voucher(backend: Backend) {
    let (app, organization, token, first_worker) = priced(backend).await;
    let second_worker = register_worker(&app, &token).await;
    // 8.00 CNY left: each of two evaluations wants 5.00.
    issue(&app, &organization, 800, 50, None).await;
    app.team_a_submits(b"one of two at once").await;
    app.team_a_submits(b"two of two at once").await;
    let mut jobs = Vec::new();
    for worker in [&first_worker, &second_worker] {
        let claimed = app
            .post(
                "/internal/v1/jobs/claim",
                Some(&token),
                json!({"worker_id": worker, "wait_seconds": 2}),
            )
            .await;
        assert_eq!(claimed.status, 200, "{:?}", claimed.body);
        jobs.push(claimed.body["job_id"].as_str().unwrap().to_owned());
    }
    let paths: Vec<String> = jobs
        .iter()
        .map(|job| format!("/internal/v1/jobs/{job}/result"))
        .collect();
    let body = |worker: &str| json!({"worker_id": worker, "outcome": "finished", "report": report(0.9, 1800.0)});
    let (one, two) = futures_util::future::join(
        app.post(&paths[0], Some(&token), body(&first_worker)),
        app.post(&paths[1], Some(&token), body(&second_worker)),
    )
    .await;
    assert_eq!(
        (one.status.as_u16(), two.status.as_u16()),
        (204, 204),
        "{:?} {:?}",
        one.body,
        two.body
    );

    let shown = statement(&app, &organization).await;
    let mut subsidies: Vec<i64> = split_of(&shown).iter().map(|s| s.2).collect();
    subsidies.sort_unstable();
    assert_eq!(subsidies, [300, 500], "{shown}");
    assert_eq!(shown["balance_fen"], 0);
    assert_eq!(shown["totals"]["own_fen"], 1200);
}

async fn a_submission_nothing_can_pay_for_is_refused_before_upload(backend: Backend) {
    let (app, organization, token, worker) = priced(backend).await;
    let w = &app.world;
    let enrolled = app.enrol("kg-open", &w.alice, w.team_a.as_str()).await;
    assert_eq!(enrolled.status, 201);
    let refused = app
        .raw(
            actix_web::http::Method::POST,
            &format!("/api/v1/scenarios/kg-open/submissions?team_id={}", w.team_a),
            w.alice.token(),
            Some("application/x-tar"),
            "an image nobody pays for",
        )
        .await;
    assert_eq!(
        (refused.status.as_u16(), refused.code()),
        (402, "nothing_can_pay"),
        "{:?}",
        refused.body
    );
    assert_eq!(
        refused.body["error"]["balance"],
        json!({"voucher_fen": 0, "allowance_fen": 0, "credit_fen": 0})
    );
    assert!(
        refused.message().contains("compute voucher"),
        "{}",
        refused.message()
    );
    assert_eq!(
        (app.stored_files(), app.count("submissions")),
        (0, 0),
        "nothing was uploaded"
    );

    // Monthly credit lets the organisation pay its own way.
    let credit = app
        .put(
            &format!("/api/v1/organizations/{organization}/credit"),
            w.operator.token(),
            Some(json!({"monthly_credit_fen": 1000})),
        )
        .await;
    assert_eq!(credit.status, 204, "{:?}", credit.body);
    app.team_a_submits(b"an image on credit").await;
    evaluate_next(&app, &token, &worker, report(0.9, 1800.0)).await;
    assert_eq!(
        split_of(&statement(&app, &organization).await),
        [(1000, 0, 0, 1000)]
    );
    // The month's credit is spent now.
    let spent = app
        .raw(
            actix_web::http::Method::POST,
            &format!("/api/v1/scenarios/kg-open/submissions?team_id={}", w.team_a),
            w.alice.token(),
            Some("application/x-tar"),
            "one more on credit",
        )
        .await;
    assert_eq!(spent.status, 402);

    // Konggang sponsors its scenario: 10.00 CNY a team a day, enough for one run.
    let sponsor = app
        .put(
            "/api/v1/scenarios/kg-open/sponsorship",
            w.konggang.token(),
            Some(json!({"daily_fen_per_team": 1000})),
        )
        .await;
    assert_eq!(sponsor.status, 204, "{:?}", sponsor.body);
    app.team_a_submits(b"a sponsored image").await;
    evaluate_next(&app, &token, &worker, report(0.9, 1800.0)).await;
    assert_eq!(
        split_of(&statement(&app, &organization).await),
        [(1000, 0, 0, 1000), (1000, 1000, 0, 0)]
    );
    let spent = app
        .raw(
            actix_web::http::Method::POST,
            &format!("/api/v1/scenarios/kg-open/submissions?team_id={}", w.team_a),
            w.alice.token(),
            Some("application/x-tar"),
            "the day's allowance is spent",
        )
        .await;
    assert_eq!(spent.status, 402);
    // Another town's clerk may not sponsor Konggang's scenario.
    let foreign = app
        .put(
            "/api/v1/scenarios/kg-open/sponsorship",
            w.fengdong.token(),
            Some(json!({"daily_fen_per_team": 1000})),
        )
        .await;
    assert_eq!(foreign.status, 403);
}

/// The migration turns free-text institutions into organisation records: one per name,
/// every team pointing at its own. Replayed here on the test world's teams, two of which
/// name the same institution.
async fn free_text_institutions_become_organisations(backend: Backend) {
    let app = TestApp::new(backend).await;
    let dir = match app.state.db.backend() {
        DbBackend::Sqlite => "sqlite",
        DbBackend::Postgres => "postgres",
    };
    let migration = format!(
        "{}/../migrations/{dir}/2026-12-13-000001_vouchers",
        env!("CARGO_MANIFEST_DIR")
    );
    let down = std::fs::read_to_string(format!("{migration}/down.sql")).unwrap();
    let up = std::fs::read_to_string(format!("{migration}/up.sql")).unwrap();
    let (team_a, alice) = (app.world.team_a.clone(), app.world.alice.id.clone());
    app.state
        .db
        .write_blocking(move |conn| {
            conn.batch_execute(&down)?;
            conn.batch_execute(&format!(
                "INSERT INTO teams (id, name, kind, institution, created_by, created_at) \
                 VALUES ('team_c', 'Team C', 'university', 'Xi''an Jiaotong University', '{alice}', 1)"
            ))?;
            conn.batch_execute(&up)?;
            Ok(())
        })
        .unwrap();
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Text)]
        id: String,
        #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
        organization_id: Option<String>,
    }
    let rows: Vec<Row> = app.read(|conn| {
        use diesel::RunQueryDsl;
        diesel::sql_query("SELECT id, organization_id FROM teams ORDER BY id").load(conn)
    });
    let of = |id: &str| {
        rows.iter()
            .find(|r| r.id == id)
            .unwrap()
            .organization_id
            .clone()
            .unwrap()
    };
    assert_eq!(
        of("team_c"),
        of(team_a.as_str()),
        "one institution, one record"
    );
    assert_ne!(of("team_c"), of(app.world.team_b.as_str()));
    assert_eq!(app.count("organizations WHERE kind = 'institution'"), 2);
    assert_eq!(app.count("organizations WHERE kind = 'department'"), 6);
    // The name is unique among institutions: a second record of it is refused.
    let duplicate = app.state.db.write_blocking(|conn| {
        conn.batch_execute(
            "INSERT INTO organizations (id, name_zh, name_en, created_at, kind) \
             VALUES ('org_dup', 'Qinling Robotics', 'Qinling Robotics', 1, 'institution')",
        )?;
        Ok(())
    });
    assert!(duplicate.is_err());
}

on_both_backends!(
    a_voucher_pays_half_of_two_evaluations_to_the_fen,
    the_yearly_cap_stops_the_subsidy_at_the_cap,
    retried_infra_failed_and_disturbed_runs_cost_nothing,
    concurrent_results_never_overdraw_a_voucher,
    a_submission_nothing_can_pay_for_is_refused_before_upload,
    free_text_institutions_become_organisations,
);
