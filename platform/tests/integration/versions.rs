//! Package versions: a published scenario's rules change only through a new package
//! version, which re-scores the open phase's submissions at low priority and without
//! charging quota; boards rank only the current version's results.

use jiebang_platform::db::ids::{ScenarioId, SubmissionId, TeamId};
use jiebang_platform::db::models::submissions;
use serde_json::{Value, json};

use crate::common::{Backend, TestApp, edit, package_archive};
use crate::consoles::{claim_and_report, register_worker, report};
use crate::on_both_backends;
use crate::packages::{SCENARIO, with_api_scenario};
use crate::pages::{get, sign_in};
use crate::scenarios::refuses_rule_change;

/// A phase open from 2020 to 2099, so submissions are taken now.
async fn add_open_phase(app: &TestApp) {
    let phase = app
        .post(
            &format!("/api/v1/scenarios/{SCENARIO}/phases"),
            app.world.konggang.token(),
            json!({"name": "初赛", "opens_at": "2020-01-01T00:00:00Z", "closes_at": "2099-01-01T00:00:00Z"}),
        )
        .await;
    assert_eq!(phase.status, 201, "{:?}", phase.body);
}

async fn publish(app: &TestApp) -> crate::common::Reply {
    app.post(
        &format!("/api/v1/scenarios/{SCENARIO}/publish"),
        app.world.konggang.token(),
        json!({}),
    )
    .await
}

/// Claims the next job, checks it runs on `bundle`, and reports what `outcome_for` says
/// for its submission. Returns the claimed job.
async fn run_next(
    app: &TestApp,
    token: &str,
    worker: &str,
    bundle: &str,
    outcome_for: impl FnOnce(&str) -> Value,
) -> Value {
    let claimed = claim_and_report(app, token, worker, outcome_for).await;
    assert_eq!(
        claimed["bundle_digest"], bundle,
        "the job runs on its version's bundle"
    );
    claimed
}

/// Version 2 of the package: the same, with a tighter latency budget.
fn tighter_budget() -> Vec<u8> {
    package_archive(SCENARIO, |dir| {
        edit(&dir.join("scenario.toml"), |text| {
            text.replace("budget_ms = 20", "budget_ms = 15")
        });
    })
}

fn finished(score: f64) -> Value {
    json!({"outcome": "finished", "report": report(score, 1.0)})
}

fn used_today(app: &TestApp, team: &TeamId) -> i64 {
    let team = team.clone();
    app.read(move |conn| {
        submissions::used_today(
            conn,
            &ScenarioId::from(SCENARIO),
            &team,
            jiebang_platform::db::now_millis(),
        )
    })
}

/// (team name, score, package version) of each row of the public board, in rank order.
fn ranking(board: &Value) -> Vec<(String, f64, i64)> {
    board["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| {
            (
                row["team_name"].as_str().unwrap().to_owned(),
                row["score"].as_f64().unwrap(),
                row["package_version"].as_i64().unwrap(),
            )
        })
        .collect()
}

async fn a_new_version_rescores_and_the_board_reranks(backend: Backend) {
    let app = with_api_scenario(backend, |_| {}).await;
    let w = &app.world;
    let board_url = format!("/api/v1/scenarios/{SCENARIO}/leaderboard");

    let first = app
        .put_package(SCENARIO, &w.konggang, package_archive(SCENARIO, |_| {}))
        .await;
    assert_eq!(first.status, 200, "{:?}", first.body);
    assert_eq!(
        (&first.body["package_version"], &first.body["new_version"]),
        (&json!(1), &json!(true))
    );
    let v1_bundle = first.body["bundle_digest"].as_str().unwrap().to_owned();
    add_open_phase(&app).await;
    let published = publish(&app).await;
    assert_eq!(published.status, 200, "{:?}", published.body);
    assert_eq!(published.body["package_version"], 1);

    // Team A, then team B, submit; both are scored on v1, A ahead.
    let a1 = app
        .submit(SCENARIO, &w.alice, w.team_a.as_str(), "team A, first image")
        .await;
    let b1 = app
        .submit(SCENARIO, &w.bob, w.team_b.as_str(), "team B, first image")
        .await;
    let token = app.worker_token();
    let worker = register_worker(&app, &token).await;
    for _ in 0..2 {
        run_next(&app, &token, &worker, &v1_bundle, |submission| {
            finished(if submission == a1 { 0.9 } else { 0.8 })
        })
        .await;
    }
    let on_v1 = app.get(&board_url, None).await;
    assert_eq!(on_v1.body["package_version"], 1, "{:?}", on_v1.body);
    assert_eq!(
        ranking(&on_v1.body),
        [("Team A".to_owned(), 0.9, 1), ("Team B".to_owned(), 0.8, 1)]
    );

    // The metric is the package's now: a PATCH of it, or of the load pattern, is refused.
    for (field, value) in [
        ("metric", json!("mae")),
        ("load", json!({"pattern": "server", "rate_qps": 50})),
    ] {
        refuses_rule_change(&app, SCENARIO, &w.konggang, field, value).await;
    }
    let quota_before = (used_today(&app, &w.team_a), used_today(&app, &w.team_b));
    assert_eq!(quota_before, (1, 1));

    // Version 2 tightens the budget: both submissions are queued to be re-scored on it.
    let second = app
        .put_package(SCENARIO, &w.konggang, tighter_budget())
        .await;
    assert_eq!(second.status, 200, "{:?}", second.body);
    assert_eq!(second.body["package_version"], 2);
    assert_eq!(second.body["rescores_queued"], 2);
    let v2_bundle = second.body["bundle_digest"].as_str().unwrap().to_owned();
    assert_ne!(v2_bundle, v1_bundle);
    // What the new version changed, in the answer and on the department's page.
    assert_eq!(
        second.body["changes"]["fields"],
        json!([{"field": "latency_budget_ms", "before": "20 ms", "after": "15 ms"}])
    );
    assert_eq!(second.body["changes"]["labels_changed"], 0);
    let (clerk, _) = sign_in(&app, &w.konggang.token.clone()).await;
    let edit_page = app
        .page(get(&format!("/console/scenarios/{SCENARIO}/edit")).cookie(clerk))
        .await;
    for words in [
        "id=\"package-changes\"",
        "v2 相对 v1 的变化",
        "时延预算：20 ms → 15 ms",
        "隐藏测试集中有 0 条标注不同",
        "id=\"package-progress\"",
    ] {
        assert!(
            edit_page.text.contains(words),
            "{words}: {}",
            edit_page.text
        );
    }
    let detail = app
        .get(&format!("/api/v1/scenarios/{SCENARIO}"), None)
        .await;
    assert_eq!(
        (
            &detail.body["package_version"],
            &detail.body["latency_budget_ms"]
        ),
        (&json!(2), &json!(15.0))
    );
    // Until their re-scores arrive the board ranks nobody: v1 results do not count on v2.
    let waiting = app.get(&board_url, None).await;
    assert_eq!(
        (
            &waiting.body["package_version"],
            &waiting.body["total"],
            &waiting.body["pending"]
        ),
        (&json!(2), &json!(0), &json!(2))
    );

    // A new submission goes ahead of the re-scores, which wait at low priority.
    let a2 = app
        .submit(
            SCENARIO,
            &w.alice,
            w.team_a.as_str(),
            "team A, second image",
        )
        .await;
    let claimed = run_next(&app, &token, &worker, &v2_bundle, |_| finished(0.6)).await;
    assert_eq!(claimed["submission_id"], a2.as_str());
    // Team A's first image fails on v2; team B's does better than before.
    let mut rescored = Vec::new();
    for _ in 0..2 {
        let claimed = run_next(&app, &token, &worker, &v2_bundle, |submission| {
            if submission == a1 {
                json!({"outcome": "submission_failed", "reason": "exit code 1 on v2"})
            } else {
                finished(0.95)
            }
        })
        .await;
        rescored.push(claimed["submission_id"].as_str().unwrap().to_owned());
    }
    rescored.sort();
    let mut expected = vec![a1.clone(), b1.clone()];
    expected.sort();
    assert_eq!(rescored, expected);

    // The board re-ranks on v2 results: B first, A with its second image.
    let on_v2 = app.get(&board_url, None).await;
    assert_eq!(
        (&on_v2.body["package_version"], &on_v2.body["pending"]),
        (&json!(2), &json!(0))
    );
    assert_eq!(
        ranking(&on_v2.body),
        [
            ("Team B".to_owned(), 0.95, 2),
            ("Team A".to_owned(), 0.6, 2)
        ]
    );
    assert_eq!(on_v2.body["rows"][1]["submission_id"], a2.as_str());

    // Re-scores were never charged: the quota counts the three uploads only, and the
    // failed re-score left the first submission's own record as it was.
    assert_eq!(
        (used_today(&app, &w.team_a), used_today(&app, &w.team_b)),
        (2, 1)
    );
    let a1_record = app.read(|conn| submissions::find(conn, &SubmissionId::from(a1.as_str())));
    let a1_record = a1_record.unwrap();
    assert!(a1_record.counts_toward_quota);
    assert_eq!(
        (a1_record.status.as_str(), a1_record.failure.as_deref()),
        ("done", None)
    );

    // A submission shows its evaluation on each version, newest first.
    let shown = app
        .get(&format!("/api/v1/submissions/{a1}"), w.alice.token())
        .await;
    assert_eq!(shown.status, 200, "{:?}", shown.body);
    let evaluations = shown.body["evaluations"].as_array().unwrap();
    let summary: Vec<(i64, &str, bool, bool)> = evaluations
        .iter()
        .map(|e| {
            (
                e["package_version"].as_i64().unwrap(),
                e["status"].as_str().unwrap(),
                e["current"].as_bool().unwrap(),
                e["rescore"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [(2, "failed", true, true), (1, "done", false, false)]
    );
    assert!(
        evaluations[0]["failure"]
            .as_str()
            .unwrap()
            .contains("exit code 1 on v2")
    );
    assert_eq!(evaluations[1]["public_score"], 0.9);
    let (alice, _) = sign_in(&app, &w.alice.token).await;
    let page = app
        .page(get(&format!("/submissions/{a1}?lang=en")).cookie(alice))
        .await;
    assert_eq!(page.status, 200, "{}", page.text);
    for shown in [
        "Results per package version",
        "data-version=\"2\"",
        "re-score, not charged to quota",
        "exit code 1 on v2",
        "data-version=\"1\"",
        "The report below is from package version v1.",
    ] {
        assert!(page.text.contains(shown), "{shown}: {}", page.text);
    }

    // The versions are listed, and the public leaderboard page says which one it ranks.
    let versions = app
        .get(
            &format!("/api/v1/scenarios/{SCENARIO}/package/versions"),
            None,
        )
        .await;
    assert_eq!(versions.status, 200, "{:?}", versions.body);
    assert_eq!(versions.body["current"], 2);
    let numbers: Vec<i64> = versions.body["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["version"].as_i64().unwrap())
        .collect();
    assert_eq!(numbers, [2, 1]);
    let page = app
        .page(get(&format!("/scenarios/{SCENARIO}/leaderboard?lang=en")))
        .await;
    assert!(
        page.text.contains("Ranked on package version v2"),
        "{}",
        page.text
    );

    // The same archive again is no new version and re-scores nothing.
    let again = app
        .put_package(SCENARIO, &w.konggang, tighter_budget())
        .await;
    assert_eq!(
        (
            &again.body["package_version"],
            &again.body["new_version"],
            &again.body["rescores_queued"]
        ),
        (&json!(2), &json!(false), &json!(0))
    );
}

async fn publishing_needs_a_package(backend: Backend) {
    let app = with_api_scenario(backend, |_| {}).await;
    add_open_phase(&app).await;
    let refused = publish(&app).await;
    assert_eq!(
        (refused.status.as_u16(), refused.code()),
        (409, "no_package"),
        "{:?}",
        refused.body
    );
    for missing in ["package", "scenario.toml", "hidden test set"] {
        assert!(
            refused.message().contains(missing),
            "{missing}: {}",
            refused.message()
        );
    }
    let draft = app
        .get(
            &format!("/api/v1/scenarios/{SCENARIO}"),
            app.world.konggang.token(),
        )
        .await;
    assert_eq!(draft.body["status"], "draft", "nothing changed");

    let uploaded = app
        .put_package(
            SCENARIO,
            &app.world.konggang,
            package_archive(SCENARIO, |_| {}),
        )
        .await;
    assert_eq!(uploaded.status, 200, "{:?}", uploaded.body);
    let published = publish(&app).await;
    assert_eq!(published.status, 200, "{:?}", published.body);
    assert_eq!(published.body["status"], "open");
}

on_both_backends!(
    a_new_version_rescores_and_the_board_reranks,
    publishing_needs_a_package,
);
