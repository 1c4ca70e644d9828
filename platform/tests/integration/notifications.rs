//! Notifications on both backends: each event tells exactly the people it concerns, in
//! the transaction that records it; a person sees and marks only their own.

use actix_web::http::StatusCode;
use actix_web::test::TestRequest;
use serde_json::{Value, json};

use crate::common::{Actor, Backend, Reply, TestApp};
use crate::consoles::{claim_and_report, close_phases, register_worker, two_evaluated};
use crate::on_both_backends;
use crate::pages::{get, post_form, sign_in};

async fn put(app: &TestApp, path: &str, who: &Actor, body: Value) -> Reply {
    let reply = app
        .send(
            TestRequest::put()
                .uri(path)
                .insert_header(("Authorization", format!("Bearer {}", who.token)))
                .set_json(body),
        )
        .await;
    assert!(reply.status.is_success(), "{path}: {:?}", reply.body);
    reply
}

async fn post(app: &TestApp, path: &str, who: &Actor, body: Value) -> Reply {
    let reply = app.post(path, who.token(), body).await;
    assert!(reply.status.is_success(), "{path}: {:?}", reply.body);
    reply
}

/// Every announced award's objection period ends now.
pub(crate) fn end_objection_periods(app: &TestApp) {
    app.state
        .db
        .write_blocking(|conn| {
            use diesel::prelude::*;
            use jiebang_platform::db::schema::awards;
            diesel::update(awards::table)
                .set(awards::objections_close_at.eq(jiebang_platform::db::now_millis() - 1))
                .execute(conn)?;
            Ok(())
        })
        .unwrap();
}

/// `owner` invites `login` to `team` through the API.
pub(crate) async fn invite(app: &TestApp, owner: &Actor, team: &str, login: &str) {
    let path = format!("/api/v1/teams/{team}/invitations");
    post(app, &path, owner, json!({ "login": login })).await;
}

/// The caller's notifications, newest first.
async fn inbox(app: &TestApp, who: &Actor) -> Value {
    let reply = app.get("/api/v1/notifications", who.token()).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    reply.body
}

/// The kinds of the caller's notifications, oldest first.
async fn kinds(app: &TestApp, who: &Actor) -> Vec<String> {
    let body = inbox(app, who).await;
    let mut kinds: Vec<String> = body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["kind"].as_str().unwrap().to_owned())
        .collect();
    kinds.reverse();
    kinds
}

/// A worker takes the next job and reports that the submission failed by its own doing.
async fn fail_next(app: &TestApp) {
    let token = app.worker_token();
    let worker = register_worker(app, &token).await;
    claim_and_report(
        app,
        &token,
        &worker,
        |_| json!({"outcome": "submission_failed", "reason": "exit code 1"}),
    )
    .await;
}

async fn each_event_tells_the_right_people(backend: Backend) {
    let app = TestApp::new(backend).await;
    let w = app.world.clone();
    for who in [&w.alice, &w.bob, &w.carol, &w.judge, &w.konggang] {
        assert_eq!(inbox(&app, who).await["unread"], 0);
    }
    assert_eq!(app.get("/api/v1/notifications", None).await.status, 401);

    // Evaluations: every member of the submitting team, and nobody else.
    let (a, b) = two_evaluated(&app).await;
    let alice = inbox(&app, &w.alice).await;
    assert_eq!(alice["total"], 1, "{alice}");
    assert_eq!(alice["unread"], 1);
    let first = &alice["items"][0];
    assert_eq!(first["kind"], "evaluation_finished");
    assert_eq!(first["params"]["submission_id"], a.as_str());
    assert_eq!(first["params"]["scenario_id"], "kg-open");
    assert_eq!(first["link"], format!("/submissions/{a}"));
    assert_eq!(first["read"], false);
    let bob = inbox(&app, &w.bob).await;
    assert_eq!(bob["items"][0]["params"]["submission_id"], b.as_str());
    assert_eq!(bob["total"], 1);
    app.team_a_submits("a broken image").await;
    fail_next(&app).await;
    assert_eq!(
        kinds(&app, &w.alice).await,
        ["evaluation_finished", "evaluation_failed"]
    );
    assert_eq!(kinds(&app, &w.bob).await, ["evaluation_finished"]);

    // An invitation: the invitee only.
    invite(&app, &w.alice, w.team_a.as_str(), "carol").await;
    let carol = inbox(&app, &w.carol).await;
    assert_eq!(carol["items"][0]["kind"], "invitation");
    assert_eq!(carol["items"][0]["params"]["team"], "Team A");
    assert_eq!(carol["items"][0]["params"]["inviter"], "alice");
    assert_eq!(carol["items"][0]["link"], "/invitations");
    assert_eq!(kinds(&app, &w.alice).await.len(), 2);

    // A judging panel: the judge put on it, once however often assigned.
    let panel = format!("/api/v1/scenarios/kg-open/panel/{}", w.judge.id);
    put(&app, &panel, &w.konggang, json!({})).await;
    put(&app, &panel, &w.konggang, json!({})).await;
    assert_eq!(kinds(&app, &w.judge).await, ["panel_assigned"]);
    assert_eq!(
        inbox(&app, &w.judge).await["items"][0]["link"],
        "/console/judging/kg-open"
    );

    // The announcement: every member of each finalist team.
    close_phases(&app, "kg-open");
    put(
        &app,
        "/api/v1/scenarios/kg-open/award",
        &w.konggang,
        json!({"winners": [{"team_id": w.team_a, "amount_fen": 100, "reason": "first"}]}),
    )
    .await;
    post(
        &app,
        "/api/v1/scenarios/kg-open/award/announce",
        &w.konggang,
        json!({}),
    )
    .await;
    for who in [&w.alice, &w.bob] {
        let body = inbox(&app, who).await;
        assert_eq!(body["items"][0]["kind"], "announcement_published");
        assert_eq!(body["items"][0]["params"]["scenario_zh"], "kg-open 标题");
        assert_eq!(body["items"][0]["link"], "/scenarios/kg-open/announcement");
    }
    assert_eq!(kinds(&app, &w.carol).await, ["invitation"]);

    // An objection: the scenario's department (not another's); its answer: the objector.
    let filed = post(
        &app,
        "/api/v1/scenarios/kg-open/objections",
        &w.carol,
        json!({"text": "Recount, please."}),
    )
    .await;
    assert_eq!(kinds(&app, &w.konggang).await, ["objection_filed"]);
    assert!(kinds(&app, &w.fengdong).await.is_empty());
    let objection = filed.body["id"].as_str().unwrap().to_owned();
    post(
        &app,
        &format!("/api/v1/scenarios/kg-open/objections/{objection}/answer"),
        &w.konggang,
        json!({"text": "Recounted."}),
    )
    .await;
    assert_eq!(
        kinds(&app, &w.carol).await,
        ["invitation", "objection_answered"]
    );
    assert_eq!(kinds(&app, &w.konggang).await, ["objection_filed"]);
    // Final: once the period is over and every objection answered; told once, whether the
    // minute sweep or the last answer notices first (both run `notify_final`).
    let sweep = |app: &TestApp| {
        app.state
            .db
            .write_blocking(jiebang_platform::services::awards::notify_final)
            .unwrap()
    };
    assert_eq!(sweep(&app), 0, "the period still runs");
    let open = post(
        &app,
        "/api/v1/scenarios/kg-open/objections",
        &w.carol,
        json!({"text": "And the latency?"}),
    )
    .await;
    end_objection_periods(&app);
    assert_eq!(sweep(&app), 0, "an objection still waits for its answer");
    assert_eq!(
        kinds(&app, &w.alice).await.last().unwrap(),
        "announcement_published"
    );
    // Another scenario's award is final too, but nobody has been told yet: the sweep's.
    app.state
        .db
        .write_blocking(|conn| {
            use jiebang_platform::db::models::awards::{self, Award};
            let id = jiebang_platform::db::ids::ScenarioId::from("kg-closed");
            let now = jiebang_platform::db::now_millis();
            let award = Award {
                scenario_id: id.clone(),
                reasons: String::new(),
                objection_days: 5,
                decided_by: None,
                decided_at: now - 3,
                announced_at: None,
                objections_close_at: None,
            };
            awards::replace(conn, &award, &[])?;
            awards::announce(conn, &id, now - 2, now - 1)?;
            Ok(())
        })
        .unwrap();
    // The last answer makes the result final: told at once, in the answer's transaction —
    // its own scenario's finalists only.
    let last = open.body["id"].as_str().unwrap();
    post(
        &app,
        &format!("/api/v1/scenarios/kg-open/objections/{last}/answer"),
        &w.konggang,
        json!({"text": "Within budget."}),
    )
    .await;
    assert_eq!(
        sweep(&app),
        1,
        "kg-open told by its answer, kg-closed left to the sweep"
    );
    assert_eq!(sweep(&app), 0, "told once");
    for who in [&w.alice, &w.bob] {
        let body = inbox(&app, who).await;
        assert_eq!(body["items"][0]["kind"], "result_final");
        assert_eq!(
            body["items"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|n| n["kind"] == "result_final")
                .count(),
            1
        );
    }
    assert_eq!(
        kinds(&app, &w.carol).await,
        ["invitation", "objection_answered", "objection_answered"]
    );
    for who in [&w.admin, &w.operator, &w.fengdong] {
        assert_eq!(inbox(&app, who).await["total"], 0);
    }
}

async fn read_marks_only_ones_own(backend: Backend) {
    let app = TestApp::new(backend).await;
    let w = app.world.clone();
    two_evaluated(&app).await;
    app.team_a_submits("a broken image").await;
    fail_next(&app).await;
    let alice = inbox(&app, &w.alice).await;
    assert_eq!(alice["unread"], 2);
    let newest = alice["items"][0]["id"].as_i64().unwrap();
    let oldest = alice["items"][1]["id"].as_i64().unwrap();

    // Bob cannot mark Alice's read, nor see them.
    let bob = post(
        &app,
        "/api/v1/notifications/read",
        &w.bob,
        json!({"ids": [newest, oldest]}),
    )
    .await;
    assert_eq!(bob.body["unread"], 1, "Bob's own stays unread");
    assert_eq!(inbox(&app, &w.alice).await["unread"], 2);
    let bobs = inbox(&app, &w.bob).await;
    assert!(
        bobs["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|n| n["id"] != newest && n["id"] != oldest)
    );

    let marked = post(
        &app,
        "/api/v1/notifications/read",
        &w.alice,
        json!({"ids": [newest]}),
    )
    .await;
    assert_eq!(marked.body["unread"], 1);
    let alice = inbox(&app, &w.alice).await;
    assert_eq!(alice["items"][0]["read"], true);
    assert_eq!(alice["items"][1]["read"], false);
    let all = post(&app, "/api/v1/notifications/read", &w.alice, json!({})).await;
    assert_eq!(all.body["unread"], 0);
    assert_eq!(inbox(&app, &w.bob).await["unread"], 1);

    let paged = app
        .get("/api/v1/notifications?per_page=1&page=2", w.alice.token())
        .await;
    assert_eq!(paged.body["items"][0]["id"], oldest);
    assert_eq!(paged.body["total"], 2);
    let bad = app
        .post(
            "/api/v1/notifications/read",
            w.alice.token(),
            json!({"ids": "all"}),
        )
        .await;
    assert_eq!((bad.status.as_u16(), bad.code()), (422, "invalid_field"));
}

/// The bell counts the unread; `/notifications` says each in the visitor's language with
/// its link; "mark all as read" empties the bell.
async fn the_page_and_the_bell(backend: Backend) {
    let app = TestApp::new(backend).await;
    let w = app.world.clone();
    let (alice, csrf) = sign_in(&app, &w.alice.token.clone()).await;
    let home = app.page(get("/").cookie(alice.clone())).await;
    assert!(home.text.contains("id=\"bell\""), "{}", home.text);
    assert!(!home.text.contains("class=\"badge\""));
    let (a, _) = two_evaluated(&app).await;
    invite(&app, &w.bob, w.team_b.as_str(), "alice").await;
    let home = app.page(get("/").cookie(alice.clone())).await;
    assert!(
        home.text.contains("<span class=\"badge\">2</span>"),
        "{}",
        home.text
    );
    let zh = app.page(get("/notifications").cookie(alice.clone())).await;
    assert_eq!(zh.status, StatusCode::OK, "{}", zh.text);
    assert!(
        zh.text.contains("bob 邀请您加入团队“Team B”"),
        "{}",
        zh.text
    );
    assert!(
        zh.text.contains("您团队在“kg-open 标题”的提交已完成评测"),
        "{}",
        zh.text
    );
    assert!(zh.text.contains(&format!("href=\"/submissions/{a}\"")));
    assert!(!zh.text.contains("notifications.kind"), "no raw keys");
    let en = app
        .page(get("/notifications?lang=en").cookie(alice.clone()))
        .await;
    assert!(
        en.text
            .contains("submission to “kg-open title” has been evaluated"),
        "{}",
        en.text
    );
    // Bob's page shows Bob's only.
    let (bob, _) = sign_in(&app, &w.bob.token.clone()).await;
    let bobs = app.page(get("/notifications").cookie(bob)).await;
    assert!(!bobs.text.contains("邀请您加入"), "{}", bobs.text);

    let read = app
        .page(post_form("/notifications/read", &[("csrf_token", &csrf)]).cookie(alice.clone()))
        .await;
    assert_eq!(read.location(), Some("/notifications"));
    assert_eq!(inbox(&app, &w.alice).await["unread"], 0);
    assert_eq!(inbox(&app, &w.bob).await["unread"], 1);
    let home = app.page(get("/").cookie(alice.clone())).await;
    assert!(!home.text.contains("class=\"badge\""));
    let forged = app
        .page(post_form("/notifications/read", &[("csrf_token", "forged")]).cookie(alice))
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN, "{}", forged.text);
}

on_both_backends!(
    each_event_tells_the_right_people,
    read_marks_only_ones_own,
    the_page_and_the_bell
);
