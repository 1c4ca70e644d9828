//! Compute vouchers, the rules a statement follows: the price in force when the run
//! finished (never a later one), a CPU-only run charged without its repeated disturbed
//! timed runs, vouchers spent earliest expiry first, what a voucher covers (every
//! evaluation, one town's scenarios, one scenario) and who may issue which; a department's
//! sponsorship set from its console.

use actix_web::http::StatusCode;
use jiebang_platform::db::now_millis;
use serde_json::{Value, json};

use crate::common::{Actor, Backend, Reply, TestApp};
use crate::consoles::{evaluate_next, register_worker, report};
use crate::on_both_backends;
use crate::pages::{get, post_form, sign_in};
use crate::vouchers::{issue, organization_of_team_a, split_of, statement};

const DAY: i64 = 24 * 3600 * 1000;

async fn set_price(app: &TestApp, form: Value) {
    let set = app
        .post("/api/v1/prices", app.world.operator.token(), form)
        .await;
    assert_eq!(set.status, 201, "{:?}", set.body);
}

/// A report of a run that held no accelerator: 30 s of CPU in the sample run and 100 s in
/// the hidden one, whose timed run was disturbed once and repeated (40 s, of which the
/// container used 10.5 s of CPU).
fn cpu_only_report() -> Value {
    let mut cpu = report(0.9, 0.0);
    cpu["devices"] = json!([]);
    cpu["sample"]["resources"]["cpu_seconds"] = json!(30.0);
    cpu["hidden"]["resources"]["cpu_seconds"] = json!(100.0);
    cpu["hidden"]["quality"] = json!({"attempts": 2, "repeated_seconds": 40.0,
                                      "repeated_cpu_seconds": 10.5, "disturbances": []});
    cpu
}

/// The (resource, model, milliseconds used, price) of each statement line.
fn priced_at(statement: &Value) -> Vec<(&str, &str, i64, i64)> {
    statement["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["resource"].as_str().unwrap(),
                l["model"].as_str().unwrap(),
                l["usage_millis"].as_i64().unwrap(),
                l["fen_per_hour"].as_i64().unwrap(),
            )
        })
        .collect()
}

async fn issue_as(app: &TestApp, who: &Actor, form: Value) -> Reply {
    app.post("/api/v1/vouchers", who.token(), form).await
}

async fn each_run_is_charged_the_price_in_force_when_it_finished(backend: Backend) {
    let app = TestApp::new(backend).await;
    let now = now_millis();
    // An A100 price that ended yesterday, the one in force, and one from tomorrow.
    for (fen, from, until) in [
        (4000, now - 3 * DAY, Some(now - DAY)),
        (2000, now - DAY, None),
        (9900, now + DAY, None),
    ] {
        set_price(
            &app,
            json!({"kind": "device", "model": "A100", "fen_per_hour": fen,
                   "valid_from": from, "valid_until": until}),
        )
        .await;
    }
    let organization = organization_of_team_a(&app).await;
    issue(&app, &organization, 100_000, 50, None).await;
    let token = app.worker_token();
    let worker = register_worker(&app, &token).await;
    let first = app
        .team_a_submits(b"finished before the price change")
        .await;
    evaluate_next(&app, &token, &worker, report(0.9, 1800.0)).await;

    // From now on an A100 costs 30.00 CNY an hour: the next run pays it, the first keeps
    // the price of its day.
    set_price(
        &app,
        json!({"kind": "device", "model": "A100", "fen_per_hour": 3000,
               "valid_from": now_millis()}),
    )
    .await;
    app.team_a_submits(b"finished after the price change").await;
    evaluate_next(&app, &token, &worker, report(0.9, 1800.0)).await;

    // A run on CPUs only is priced per CPU-core-hour (36.00 CNY, 1 fen a second): 130 s
    // used less the 10.5 s of the repeated disturbed timed run, per started minute: 120 s
    // (with the repeat it would have been 180).
    set_price(
        &app,
        json!({"kind": "cpu_core", "fen_per_hour": 3600, "valid_from": now - DAY}),
    )
    .await;
    let cpu = app.team_a_submits(b"a CPU-only run, disturbed once").await;
    evaluate_next(&app, &token, &worker, cpu_only_report()).await;

    let shown = statement(&app, &organization).await;
    assert_eq!(
        priced_at(&shown),
        [
            ("device", "A100", 1_800_000, 2000),
            ("device", "A100", 1_800_000, 3000),
            ("cpu_core", "", 120_000, 3600),
        ],
        "{shown}"
    );
    assert_eq!(
        split_of(&shown),
        [(1000, 0, 500, 500), (1500, 0, 750, 750), (120, 0, 60, 60)],
        "{shown}"
    );
    assert_eq!(shown["balance_fen"], 100_000 - 500 - 750 - 60);

    // Each report carries its charge; the submission's page shows it with the repeats.
    let alice = app.world.alice.token();
    let reported = app
        .get(&format!("/api/v1/submissions/{first}/report"), alice)
        .await;
    let charge = &reported.body["charges"][0];
    assert_eq!(
        [
            &charge["fen_per_hour"],
            &charge["cost_fen"],
            &charge["subsidy_fen"],
            &charge["own_fen"]
        ],
        [2000, 1000, 500, 500],
        "{}",
        reported.body
    );
    let page = app
        .page(
            actix_web::test::TestRequest::get()
                .uri(&format!("/submissions/{cpu}?lang=en"))
                .insert_header(("Authorization", format!("Bearer {}", app.world.alice.token))),
        )
        .await;
    for shown in [
        "Compute charge",
        "CPU core · 120.000 s × ¥36.00/h = ¥1.20",
        "Voucher subsidy ¥0.60",
        "2 · of which disturbed and repeated: 40 s, not charged",
    ] {
        assert!(page.text.contains(shown), "{shown}: {}", page.text);
    }
}

async fn vouchers_pay_earliest_expiry_first_within_their_scope(backend: Backend) {
    let app = TestApp::new(backend).await;
    let w = &app.world;
    let now = now_millis();
    set_price(
        &app,
        json!({"kind": "device", "model": "A100", "fen_per_hour": 2000,
               "valid_from": now - DAY}),
    )
    .await;
    let organization = organization_of_team_a(&app).await;
    let voucher = |scope: &str, scope_id: Option<&str>, until: i64| {
        let mut form = json!({"organization_id": organization, "face_value_fen": 10_000,
                              "subsidy_percent": 50, "valid_from": now - DAY,
                              "valid_until": until, "scope": scope});
        if let Some(id) = scope_id {
            form["scope_id"] = id.into();
        }
        form
    };

    // Who may issue which: Konggang's department for its own scenario or town, not for
    // every evaluation; Fengdong's not for Konggang's scenario.
    let everything = issue_as(&app, &w.konggang, voucher("all", None, now + 90 * DAY)).await;
    assert_eq!(everything.status, 403, "{:?}", everything.body);
    let foreign = issue_as(
        &app,
        &w.fengdong,
        voucher("scenario", Some("kg-open"), now + DAY),
    )
    .await;
    assert_eq!(foreign.status, 403, "{:?}", foreign.body);
    let team = issue_as(
        &app,
        &w.alice,
        voucher("scenario", Some("kg-open"), now + DAY),
    )
    .await;
    assert_eq!(team.status, 403, "{:?}", team.body);

    // Issued in this order: for every evaluation (expires last), for Fengdong's scenarios
    // (never pays for Konggang's), by Konggang for kg-open (expires first), by Konggang for
    // its town (expires second).
    let all = issue_as(&app, &w.operator, voucher("all", None, now + 90 * DAY)).await;
    let fengdong = issue_as(
        &app,
        &w.operator,
        voucher("town", Some("fengdong"), now + 2 * DAY),
    )
    .await;
    let scenario = issue_as(
        &app,
        &w.konggang,
        voucher("scenario", Some("kg-open"), now + 5 * DAY),
    )
    .await;
    let town = issue_as(
        &app,
        &w.konggang,
        voucher("town", Some("konggang"), now + 10 * DAY),
    )
    .await;
    for reply in [&all, &fengdong, &scenario, &town] {
        assert_eq!(reply.status, 201, "{:?}", reply.body);
    }
    let id = |reply: &Reply| reply.body["id"].as_str().unwrap().to_owned();
    let balances = |shown: &Value| -> Vec<(String, i64)> {
        shown["vouchers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| {
                (
                    v["id"].as_str().unwrap().to_owned(),
                    v["balance_fen"].as_i64().unwrap(),
                )
            })
            .collect()
    };

    let token = app.worker_token();
    let worker = register_worker(&app, &token).await;
    // 5 hours on an A100: 100.00 CNY, of which the kg-open voucher (earliest expiry among
    // those covering it) pays 50 %, up to its 100.00 CNY.
    app.team_a_submits(b"paid by the scenario's voucher").await;
    evaluate_next(&app, &token, &worker, report(0.9, 18_000.0)).await;
    // 25 hours: 500.00 CNY. The kg-open voucher has 50.00 left, which stands for 100.00 of
    // cost; the town's voucher pays its 100.00 (all it holds, half of 200.00); the voucher
    // for everything pays half of the 200.00 left. Fengdong's pays nothing.
    app.team_a_submits(b"paid by three vouchers in expiry order")
        .await;
    evaluate_next(&app, &token, &worker, report(0.9, 90_000.0)).await;

    let shown = statement(&app, &organization).await;
    assert_eq!(
        split_of(&shown),
        [(10_000, 0, 5000, 5000), (50_000, 0, 25_000, 25_000)],
        "{shown}"
    );
    assert_eq!(
        balances(&shown),
        [
            (id(&fengdong), 10_000),
            (id(&scenario), 0),
            (id(&town), 0),
            (id(&all), 0),
        ],
        "listed and spent earliest expiry first: {shown}"
    );
    // Each voucher's debits are on the audit log, the department as the issuer of its own.
    assert_eq!(app.count("audit_log WHERE action = 'voucher.debit'"), 4);
    assert_eq!(app.count("audit_log WHERE action = 'voucher.issue'"), 4);
}

/// The department sponsors its scenario from the console: the allowance pays first, a
/// mistyped amount is refused beside its field and kept, another town's clerk may not.
async fn a_department_sponsors_its_scenario_from_the_console(backend: Backend) {
    let app = TestApp::new(backend).await;
    let w = &app.world;
    set_price(
        &app,
        json!({"kind": "device", "model": "A100", "fen_per_hour": 2000,
               "valid_from": now_millis() - DAY}),
    )
    .await;
    let organization = organization_of_team_a(&app).await;
    let (clerk, csrf) = sign_in(&app, &w.konggang.token).await;
    let edit = app
        .page(get("/console/scenarios/kg-open/edit").cookie(clerk.clone()))
        .await;
    assert!(edit.text.contains("算力赞助"), "{}", edit.text);
    let sponsor = |amount: &str| {
        post_form(
            "/console/scenarios/kg-open/sponsorship",
            &[("csrf_token", &csrf), ("daily_cny_per_team", amount)],
        )
    };
    let mistyped = app.page(sponsor("ten").cookie(clerk.clone())).await;
    assert_eq!(mistyped.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        mistyped.text.contains(
            "id=\"daily_cny_per_team-error\" role=\"alert\">须为人民币金额，最多两位小数，如 12.50。"
        ) && mistyped.text.contains("value=\"ten\""),
        "beside the field, what was typed kept: {}",
        mistyped.text
    );
    assert_eq!(app.count("sponsorships"), 0, "nothing stored");
    let saved = app.page(sponsor("10.00").cookie(clerk.clone())).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.text);
    let edit = app
        .page(get("/console/scenarios/kg-open/edit").cookie(clerk))
        .await;
    assert!(
        edit.text
            .contains("name=\"daily_cny_per_team\" inputmode=\"decimal\" value=\"10.00\""),
        "{}",
        edit.text
    );
    let (foreign, foreign_csrf) = sign_in(&app, &w.fengdong.token).await;
    let refused = app
        .page(
            post_form(
                "/console/scenarios/kg-open/sponsorship",
                &[("csrf_token", &foreign_csrf), ("daily_cny_per_team", "99")],
            )
            .cookie(foreign),
        )
        .await;
    assert!(refused.status.is_client_error(), "{}", refused.status);

    // Half an hour on an A100 is 10.00 CNY: the day's allowance pays all of it.
    let token = app.worker_token();
    let worker = register_worker(&app, &token).await;
    app.team_a_submits(b"a sponsored evaluation").await;
    evaluate_next(&app, &token, &worker, report(0.9, 1800.0)).await;
    let shown = statement(&app, &organization).await;
    assert_eq!(split_of(&shown), [(1000, 1000, 0, 0)], "{shown}");
    assert_eq!(app.count("audit_log WHERE action = 'scenario.sponsor'"), 1);
}

on_both_backends!(
    each_run_is_charged_the_price_in_force_when_it_finished,
    vouchers_pay_earliest_expiry_first_within_their_scope,
    a_department_sponsors_its_scenario_from_the_console,
);
