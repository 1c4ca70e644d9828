//! Judging on both backends: rubric → panel → declarations → a conflicted judge blocked →
//! scores → aggregation with exact totals (a trimmed mean from five judges); blind review
//! hides names until the panel is done.

use actix_web::test::TestRequest;
use diesel::prelude::*;
use jiebang_platform::db::models::users::Role;
use jiebang_platform::db::schema::team_members;
use serde_json::{Value, json};

use crate::common::{Actor, Backend, Reply, TestApp, person};
use crate::consoles::{close_phases, two_evaluated};
use crate::on_both_backends;

/// A new user with the judge role.
pub(crate) fn new_judge(app: &TestApp, login: &str) -> Actor {
    let login = login.to_owned();
    app.state
        .db
        .write_blocking(move |conn| person(conn, &login, vec![Role::Judge], vec![]))
        .unwrap()
}

fn rubric(blind: bool) -> Value {
    json!({"blind": blind, "criteria": [
        {"key": "accuracy", "label": "Accuracy", "kind": "measured", "measure": "score", "weight": 50},
        {"key": "latency", "label": "Latency", "kind": "measured", "measure": "latency", "weight": 20},
        {"key": "compute", "label": "Compute cost", "kind": "measured", "measure": "device_seconds", "weight": 10},
        {"key": "report", "label": "Technical report", "kind": "judged", "weight": 20,
         "guidance": "1: no report; 10: clear, reproducible, deployable"},
    ]})
}

/// Sets the rubric of `kg-open` as its department (blind review or not).
async fn set_rubric(app: &TestApp, blind: bool) {
    let set = app
        .put(
            "/api/v1/scenarios/kg-open/rubric",
            app.world.konggang.token(),
            Some(rubric(blind)),
        )
        .await;
    assert_eq!(set.status, 200, "{:?}", set.body);
}

async fn score(app: &TestApp, judge: &Actor, team: &str, report: i64) -> Reply {
    app.put(
        &format!("/api/v1/scenarios/kg-open/finalists/{team}/scores"),
        judge.token(),
        Some(json!({"scores": {"report": report}, "comment": "read the report"})),
    )
    .await
}

async fn declare(app: &TestApp, judge: &Actor, institutions: Value) -> Reply {
    app.put(
        "/api/v1/scenarios/kg-open/declaration",
        judge.token(),
        Some(json!({ "institutions": institutions })),
    )
    .await
}

fn actions(app: &TestApp) -> Vec<String> {
    use jiebang_platform::db::schema::audit_log;
    app.read(|conn| {
        audit_log::table
            .order(audit_log::id.asc())
            .select(audit_log::action)
            .load::<String>(conn)
    })
}

async fn rubric_panel_conflicts_scores_and_totals(backend: Backend) {
    let app = TestApp::new(backend).await;
    let w = app.world.clone();
    two_evaluated(&app).await;
    let (team_a, team_b) = (w.team_a.as_str(), w.team_b.as_str());
    let rubric_path = "/api/v1/scenarios/kg-open/rubric";

    // The rubric: the department only, weights summing to 100, each kind with what it needs.
    assert_eq!(app.get(rubric_path, None).await.status, 404);
    for (who, status) in [
        (None, 401),
        (w.alice.token(), 403),
        (w.fengdong.token(), 403),
    ] {
        let reply = app.put(rubric_path, who, Some(rubric(false))).await;
        assert_eq!(reply.status, status, "{who:?}: {:?}", reply.body);
    }
    let mut short = rubric(false);
    short["criteria"][0]["weight"] = json!(40);
    let mut unmeasured = rubric(false);
    unmeasured["criteria"][1]["measure"] = Value::Null;
    let mut no_guidance = rubric(false);
    no_guidance["criteria"][3]["guidance"] = json!("");
    let mut twice = rubric(false);
    twice["criteria"][2]["key"] = json!("latency");
    for (body, words) in [
        (short, "sum to 100, not 90"),
        (unmeasured, "criteria[1].measure"),
        (no_guidance, "criteria[3].guidance"),
        (twice, "used twice"),
    ] {
        let reply = app.put(rubric_path, w.konggang.token(), Some(body)).await;
        assert_eq!(reply.status, 422, "{:?}", reply.body);
        assert!(reply.message().contains(words), "{}", reply.message());
    }
    let set = app
        .put(rubric_path, w.konggang.token(), Some(rubric(false)))
        .await;
    assert_eq!(set.status, 200, "{:?}", set.body);
    let shown = app.get(rubric_path, None).await;
    assert_eq!(shown.status, 200);
    assert_eq!(shown.body["criteria"][3]["key"], "report");
    assert_eq!(shown.body["criteria"][3]["kind"], "judged");
    assert_eq!(shown.body["criteria"][2]["measure"], "device_seconds");

    // The panel: the department puts judges on it; only judges can be.
    let judge = w.judge.clone();
    let second = new_judge(&app, "judge-two");
    let xjtu = new_judge(&app, "judge-xjtu");
    let member = new_judge(&app, "judge-member");
    let outsider = new_judge(&app, "judge-outsider");
    let panel = |who: &Actor| format!("/api/v1/scenarios/kg-open/panel/{}", who.id);
    assert_eq!(
        app.put(&panel(&judge), w.fengdong.token(), None)
            .await
            .status,
        403
    );
    let not_judge = app.put(&panel(&w.alice), w.konggang.token(), None).await;
    assert_eq!(not_judge.status, 422, "{:?}", not_judge.body);
    assert!(not_judge.message().contains("not a judge"));
    for who in [&judge, &second, &xjtu, &member] {
        let reply = app.put(&panel(who), w.konggang.token(), None).await;
        assert_eq!(reply.status, 201, "{:?}", reply.body);
    }
    assert_eq!(
        app.put(&panel(&judge), w.konggang.token(), None)
            .await
            .status,
        200
    );
    let finalists = "/api/v1/scenarios/kg-open/finalists";
    assert_eq!(app.get(finalists, outsider.token()).await.status, 403);
    assert_eq!(
        declare(&app, &outsider, json!([])).await.status,
        403,
        "only the panel declares"
    );

    // Declarations come before scores, and scores after the final phase closes.
    let undeclared = score(&app, &judge, team_a, 8).await;
    assert_eq!(undeclared.status, 409);
    assert_eq!(undeclared.code(), "declaration_missing");
    assert_eq!(declare(&app, &judge, json!([])).await.status, 200);
    assert_eq!(
        declare(&app, &second, json!(["Chang'an University"]))
            .await
            .status,
        200
    );
    let declared = declare(&app, &xjtu, json!(["  xi'an jiaotong   UNIVERSITY "])).await;
    assert_eq!(
        declared.body["institutions"][0],
        "xi'an jiaotong   UNIVERSITY"
    );
    assert_eq!(declare(&app, &member, json!([])).await.status, 200);
    let early = score(&app, &judge, team_a, 8).await;
    assert_eq!((early.status.as_u16(), early.code()), (409, "phase_open"));
    close_phases(&app, "kg-open");
    let locked = app
        .put(rubric_path, w.konggang.token(), Some(rubric(true)))
        .await;
    assert_eq!(
        (locked.status.as_u16(), locked.code()),
        (409, "rubric_locked")
    );

    // Conflicts of interest: the same institution, or membership of the team → 403 naming it.
    let blocked = score(&app, &xjtu, team_a, 9).await;
    assert_eq!(blocked.status, 403, "{:?}", blocked.body);
    assert!(
        blocked.message().contains("Team A") && blocked.message().contains("xi'an jiaotong"),
        "{}",
        blocked.message()
    );
    let member_id = member.id.clone();
    let team_b_id = w.team_b.clone();
    app.state
        .db
        .write_blocking(move |conn| {
            diesel::insert_into(team_members::table)
                .values((
                    team_members::team_id.eq(team_b_id),
                    team_members::user_id.eq(member_id),
                    team_members::role.eq("member"),
                    team_members::joined_at.eq(0_i64),
                ))
                .execute(conn)?;
            Ok(())
        })
        .unwrap();
    let own_team = score(&app, &member, team_b, 10).await;
    assert_eq!(own_team.status, 403);
    assert!(own_team.message().contains("member of team `Team B`"));
    assert_eq!(
        actions(&app)
            .iter()
            .filter(|a| *a == "judging.conflict_blocked")
            .count(),
        2
    );
    let removed = app.delete(&panel(&member), w.konggang.token()).await;
    assert_eq!(removed.status, 204, "{:?}", removed.body);

    // Bad sheets name the field.
    for (body, field) in [
        (json!({"scores": {}}), "scores.report"),
        (json!({"scores": {"report": 11}}), "scores.report"),
        (json!({"scores": {"report": 0}}), "scores.report"),
        (
            json!({"scores": {"report": 5, "accuracy": 5}}),
            "scores.accuracy",
        ),
    ] {
        let reply = app
            .put(
                &format!("/api/v1/scenarios/kg-open/finalists/{team_a}/scores"),
                judge.token(),
                Some(body.clone()),
            )
            .await;
        assert_eq!(reply.status, 422, "{body}: {:?}", reply.body);
        assert!(reply.message().contains(field), "{}", reply.message());
    }
    let nobody = score(&app, &judge, "team_nope", 5).await;
    assert_eq!(nobody.status, 404);

    // Scores; a judge sees others' sheets for a finalist only after sending their own.
    let first = score(&app, &judge, team_a, 8).await;
    assert_eq!(first.status, 201, "{:?}", first.body);
    assert_eq!(score(&app, &judge, team_a, 8).await.status, 200);
    assert_eq!(score(&app, &second, team_a, 6).await.status, 201);
    let view = app.get(finalists, judge.token()).await;
    assert_eq!(view.status, 200, "{:?}", view.body);
    let a_row = view.body["finalists"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["team_id"] == team_a)
        .unwrap()
        .clone();
    assert_eq!(a_row["team_name"], "Team A");
    assert_eq!(a_row["others"][0]["judge_login"], "judge-two");
    assert_eq!(a_row["others"][0]["scores"]["report"], 6);
    let b_row = |body: &Value| {
        body["finalists"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["team_id"] == team_b)
            .unwrap()
            .clone()
    };
    assert_eq!(b_row(&view.body)["others"], Value::Null, "not scored B yet");
    assert_eq!(score(&app, &second, team_b, 7).await.status, 201);
    let before = app.get(finalists, judge.token()).await;
    assert_eq!(b_row(&before.body)["others"], Value::Null);
    assert_eq!(b_row(&before.body)["my_sheet"], Value::Null);
    assert_eq!(score(&app, &judge, team_b, 9).await.status, 201);
    let xjtu_view = app.get(finalists, xjtu.token()).await;
    assert!(
        b_row(&xjtu_view.body)["conflict"].is_null(),
        "{:?}",
        xjtu_view.body
    );
    assert_eq!(score(&app, &xjtu, team_b, 10).await.status, 201);

    // The department's view: progress and exact totals. A: accuracy 0.89 is the best (50),
    // latency equal (20), 120 device-seconds against B's 60 (10 × 0.5 = 5), report (8 + 6)
    // / 2 = 7 → 14; total 89. B: 50 × 0.79 / 0.89 = 44.38, 20, 10, report (9 + 7 + 10) / 3
    // → 20 × 0.8667 = 17.33; total 91.72.
    let judging = "/api/v1/scenarios/kg-open/judging";
    for (who, status) in [
        (None, 401),
        (w.alice.token(), 403),
        (w.fengdong.token(), 403),
        (judge.token(), 403),
        (w.admin.token(), 200),
    ] {
        let reply = app.get(judging, who).await;
        assert_eq!(reply.status, status, "{who:?}: {:?}", reply.body);
    }
    let overview = app.get(judging, w.konggang.token()).await;
    assert_eq!(overview.status, 200, "{:?}", overview.body);
    let body = &overview.body;
    assert_eq!(body["panel_finished"], true);
    assert_eq!(body["panel"].as_array().unwrap().len(), 3);
    let states: Vec<(String, String, String)> = body["progress"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["judge_login"].as_str().unwrap().to_owned(),
                p["team_name"].as_str().unwrap().to_owned(),
                p["state"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert!(states.contains(&("judge-xjtu".into(), "Team A".into(), "conflict".into())));
    assert!(states.contains(&("judge-xjtu".into(), "Team B".into(), "scored".into())));
    assert_eq!(states.iter().filter(|s| s.2 == "scored").count(), 5);
    let finalists = body["finalists"].as_array().unwrap();
    assert_eq!(finalists[0]["team_name"], "Team B", "best total first");
    assert_eq!(finalists[0]["total"], 91.72);
    assert_eq!(finalists[1]["total"], 89.0);
    let points = |f: &Value| -> Vec<f64> {
        f["criteria"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["points"].as_f64().unwrap())
            .collect()
    };
    assert_eq!(points(&finalists[0]), [44.38, 20.0, 10.0, 17.33]);
    assert_eq!(points(&finalists[1]), [50.0, 20.0, 5.0, 14.0]);
    let report_b = &finalists[0]["criteria"][3]["judged"];
    assert_eq!(report_b["judges"], 3);
    assert_eq!(report_b["trimmed"], false);
    assert_eq!(
        (report_b["min"].as_i64(), report_b["max"].as_i64()),
        (Some(7), Some(10))
    );
    assert_eq!(report_b["spread"], 3);
    assert_eq!(finalists[1]["criteria"][2]["measured"], 120.0);
    assert_eq!(body["sheets"].as_array().unwrap().len(), 5);

    let log = actions(&app);
    for action in [
        "judging.rubric_set",
        "judging.panel_assign",
        "judging.panel_remove",
        "judging.declare",
        "judging.conflict_blocked",
        "judging.score",
        "judging.rescore",
    ] {
        assert!(log.iter().any(|a| a == action), "{action} in {log:?}");
    }
}

async fn blind_review_hides_names_until_the_panel_finishes(backend: Backend) {
    let app = TestApp::new(backend).await;
    let w = app.world.clone();
    two_evaluated(&app).await;
    set_rubric(&app, true).await;
    let assigned = app
        .put(
            &format!("/api/v1/scenarios/kg-open/panel/{}", w.judge.id),
            w.admin.token(),
            None,
        )
        .await;
    assert_eq!(
        assigned.status, 201,
        "admins assign too: {:?}",
        assigned.body
    );
    assert_eq!(declare(&app, &w.judge, json!([])).await.status, 200);
    // A second judge, with ties to Team A's institution.
    let xjtu = new_judge(&app, "judge-xjtu");
    let panel = format!("/api/v1/scenarios/kg-open/panel/{}", xjtu.id);
    assert_eq!(app.put(&panel, w.konggang.token(), None).await.status, 201);
    let declared = declare(&app, &xjtu, json!(["Xi'an Jiaotong University"])).await;
    assert_eq!(declared.status, 200);
    close_phases(&app, "kg-open");

    let finalists = "/api/v1/scenarios/kg-open/finalists";
    let hidden = app.get(finalists, w.judge.token()).await;
    assert_eq!(hidden.body["names_hidden"], true);
    let text = hidden.body.to_string();
    for name in ["Team A", "Team B", "Xi'an Jiaotong", "Qinling Robotics"] {
        assert!(!text.contains(name), "{name} in {text}");
    }
    assert_eq!(hidden.body["finalists"].as_array().unwrap().len(), 2);

    // The conflicted judge is blocked and told why, without the team's name.
    let blocked = score(&app, &xjtu, w.team_a.as_str(), 9).await;
    assert_eq!(blocked.status, 403, "{:?}", blocked.body);
    assert!(
        blocked.message().contains("this finalist's institution"),
        "{}",
        blocked.message()
    );
    let xjtu_view = app.get(finalists, xjtu.token()).await;
    let text = format!("{} {}", blocked.body, xjtu_view.body);
    for name in ["Team A", "Team B", "Qinling Robotics"] {
        assert!(!text.contains(name), "{name} in {text}");
    }
    assert_eq!(score(&app, &xjtu, w.team_b.as_str(), 6).await.status, 201);
    // The department's log names the team.
    let logged: Vec<String> = app.read(|conn| {
        use jiebang_platform::db::schema::audit_log;
        audit_log::table
            .filter(audit_log::action.eq("judging.conflict_blocked"))
            .select(audit_log::detail)
            .load::<String>(conn)
    });
    assert!(logged[0].contains("team `Team A`"), "{logged:?}");
    let department = app
        .get("/api/v1/scenarios/kg-open/judging", w.konggang.token())
        .await;
    assert!(department.body.to_string().contains("Team A"));

    score(&app, &w.judge, w.team_a.as_str(), 7).await;
    let halfway = app.get(finalists, w.judge.token()).await;
    assert_eq!(halfway.body["names_hidden"], true);
    assert_eq!(
        score(&app, &w.judge, w.team_b.as_str(), 5).await.status,
        201
    );
    let done = app.get(finalists, w.judge.token()).await;
    assert_eq!(done.body["names_hidden"], false);
    assert!(done.body.to_string().contains("Team A"));
}

async fn post(app: &TestApp, path: &str, who: &Actor, body: Value) -> Reply {
    app.post(path, who.token(), body).await
}

fn award(team_a: &str, team_b: &str, a_fen: i64) -> Value {
    json!({"reasons": "Best weighted totals; both within budget.", "winners": [
        {"team_id": team_b, "amount_fen": 6_000_000, "reason": "Best total"},
        {"team_id": team_a, "amount_fen": a_fen, "reason": "Close second, most accurate"},
    ]})
}

async fn award_announcement_objections_and_final(backend: Backend) {
    let app = TestApp::new(backend).await;
    let w = app.world.clone();
    two_evaluated(&app).await;
    // Team B also uploads Team A's image, byte for byte: flagged for the decision.
    app.submit("kg-open", &w.bob, w.team_b.as_str(), "image of team A")
        .await;
    let (team_a, team_b) = (w.team_a.as_str(), w.team_b.as_str());
    set_rubric(&app, false).await;
    let award_path = "/api/v1/scenarios/kg-open/award";
    let early = app
        .put(
            award_path,
            w.konggang.token(),
            Some(award(team_a, team_b, 1)),
        )
        .await;
    assert_eq!((early.status.as_u16(), early.code()), (409, "phase_open"));
    close_phases(&app, "kg-open");

    // The split is checked: finalists only, once each, no more than the bounty (100 000 CNY).
    let mut twice = award(team_a, team_b, 1);
    twice["winners"][1]["team_id"] = json!(team_b);
    let mut stranger = award(team_a, team_b, 1);
    stranger["winners"][0]["team_id"] = json!("team_nope");
    let mut no_reason = award(team_a, team_b, 1);
    no_reason["winners"][0]["reason"] = json!(" ");
    let mut long_period = award(team_a, team_b, 1);
    long_period["objection_days"] = json!(31);
    for (body, words) in [
        (
            award(team_a, team_b, 4_000_001),
            "sum to 100000.01 CNY, more than the bounty of 100000.00 CNY",
        ),
        (twice, "named twice"),
        (stranger, "not a finalist"),
        (no_reason, "winners[0].reason"),
        (long_period, "objection_days"),
    ] {
        let reply = app.put(award_path, w.konggang.token(), Some(body)).await;
        assert_eq!(reply.status, 422, "{:?}", reply.body);
        assert!(reply.message().contains(words), "{}", reply.message());
    }
    for who in [w.alice.token(), w.fengdong.token(), w.judge.token()] {
        let reply = app
            .put(award_path, who, Some(award(team_a, team_b, 1)))
            .await;
        assert_eq!(reply.status, 403, "{:?}", reply.body);
    }
    let decided = app
        .put(
            award_path,
            w.konggang.token(),
            Some(award(team_a, team_b, 4_000_000)),
        )
        .await;
    assert_eq!(decided.status, 200, "{:?}", decided.body);
    assert_eq!(decided.body["state"], "decided");
    assert_eq!(decided.body["awarded_fen"], 10_000_000);
    assert_eq!(decided.body["objection_days"], 5, "five days unless told");
    let a_final = decided.body["finalists"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["team_id"] == team_a)
        .unwrap()
        .clone();
    assert_eq!(a_final["identical_image_teams"], json!(["Team B"]));

    // Nothing is public before the announcement.
    let announcement = "/api/v1/scenarios/kg-open/announcement";
    assert_eq!(app.get(announcement, None).await.status, 404);
    let objections = "/api/v1/scenarios/kg-open/objections";
    let too_soon = post(&app, objections, &w.carol, json!({"text": "why?"})).await;
    assert_eq!(too_soon.status, 404);

    let announce = "/api/v1/scenarios/kg-open/award/announce";
    assert_eq!(
        post(&app, announce, &w.fengdong, json!({})).await.status,
        403
    );
    let announced = post(&app, announce, &w.konggang, json!({})).await;
    assert_eq!(announced.status, 200, "{:?}", announced.body);
    assert_eq!(announced.body["state"], "objection_period");
    let again = post(&app, announce, &w.konggang, json!({})).await;
    assert_eq!(
        (again.status.as_u16(), again.code()),
        (409, "award_announced")
    );
    let changed = app
        .put(
            award_path,
            w.konggang.token(),
            Some(award(team_a, team_b, 0)),
        )
        .await;
    assert_eq!(
        (changed.status.as_u16(), changed.code()),
        (409, "award_announced")
    );

    let public = app.get(announcement, None).await;
    assert_eq!(public.status, 200, "{:?}", public.body);
    assert_eq!(public.body["winners"][0]["team_name"], "Team B");
    assert_eq!(public.body["winners"][0]["amount_cny"], "60000.00");
    assert_eq!(
        public.body["winners"][1]["reason"],
        "Close second, most accurate"
    );
    assert_eq!(public.body["finalists"].as_array().unwrap().len(), 2);
    assert_eq!(public.body["finalists"][0]["place"], 1);
    assert_eq!(
        public.body["finalists"][0]["criteria"][3]["label"],
        "Technical report"
    );
    let text = public.body.to_string();
    for private in [
        "image_digest",
        "sha256:",
        "submission_id",
        "identical_image",
        "judged",
    ] {
        assert!(
            !text.contains(private),
            "{private} in the public announcement: {text}"
        );
    }

    // Objections while the period runs, each answered once by the department.
    let anonymous = app.post(objections, None, json!({"text": "x"})).await;
    assert_eq!(anonymous.status, 401);
    let empty = post(&app, objections, &w.carol, json!({"text": ""})).await;
    assert_eq!(empty.status, 422);
    let filed = post(
        &app,
        objections,
        &w.carol,
        json!({"text": "Team B's image equals Team A's."}),
    )
    .await;
    assert_eq!(filed.status, 201, "{:?}", filed.body);
    let first = filed.body["id"].as_str().unwrap().to_owned();
    let second = post(
        &app,
        objections,
        &w.alice,
        json!({"text": "Recount, please."}),
    )
    .await;
    assert_eq!(second.status, 201);
    let second = second.body["id"].as_str().unwrap().to_owned();
    let answer = |id: &str| format!("/api/v1/scenarios/kg-open/objections/{id}/answer");
    let reply = json!({"text": "Checked: Team B also submitted its own image, which is ranked."});
    assert_eq!(
        post(&app, &answer(&first), &w.fengdong, reply.clone())
            .await
            .status,
        403
    );
    let answered = post(&app, &answer(&first), &w.konggang, reply.clone()).await;
    assert_eq!(answered.status, 200, "{:?}", answered.body);
    let twice = post(&app, &answer(&first), &w.konggang, reply.clone()).await;
    assert_eq!(
        (twice.status.as_u16(), twice.code()),
        (409, "already_answered")
    );
    let shown = app.get(announcement, w.bob.token()).await;
    assert_eq!(shown.body["objections"][0]["answer"], reply["text"]);
    assert_eq!(shown.body["objections"][0]["filed_by"], Value::Null);
    let department = app.get(award_path, w.konggang.token()).await;
    assert_eq!(department.body["objections"][0]["filed_by"], "carol");

    // The period ends: no more objections; final once every objection has its answer.
    app.state
        .db
        .write_blocking(|conn| {
            use jiebang_platform::db::schema::awards;
            let closes_at = jiebang_platform::db::now_millis() - 1;
            diesel::update(awards::table)
                .set(awards::objections_close_at.eq(closes_at))
                .execute(conn)?;
            Ok(())
        })
        .unwrap();
    let late = post(&app, objections, &w.carol, json!({"text": "late"})).await;
    assert_eq!(
        (late.status.as_u16(), late.code()),
        (409, "objection_period_over")
    );
    assert_eq!(
        app.get(announcement, None).await.body["state"],
        "awaiting_answers"
    );
    assert_eq!(
        post(&app, &answer(&second), &w.konggang, reply)
            .await
            .status,
        200
    );
    assert_eq!(app.get(announcement, None).await.body["state"], "final");

    // The record as CSV: the department's, one row per fact, text defused for spreadsheets.
    let export = "/api/v1/scenarios/kg-open/judging/record.csv";
    assert_eq!(app.get(export, w.alice.token()).await.status, 403);
    let page = app
        .page(
            TestRequest::get()
                .uri(export)
                .insert_header(("Authorization", format!("Bearer {}", w.konggang.token))),
        )
        .await;
    assert_eq!(page.status, 200);
    assert_eq!(
        page.headers.get("content-type").unwrap(),
        "text/csv; charset=utf-8"
    );
    assert!(
        page.headers
            .get("content-disposition")
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with("attachment")
    );
    let lines: Vec<&str> = page.text.split("\r\n").collect();
    assert_eq!(
        lines[0],
        "section,subject,judge,team,criterion,value,detail,at"
    );
    for expected in [
        "rubric,kg-open,,,accuracy,50,measured score: Accuracy.,",
        "winner,kg-open,,Team B,amount_fen,6000000,Best total,",
        "aggregate,kg-open,,Team A,accuracy,50,measured 0.89; share 1,",
    ] {
        assert!(lines.contains(&expected), "{expected} in {}", page.text);
    }
    assert!(
        page.text
            .contains("total,kg-open,,Team A,,75,same image as Team B,")
    );
    assert!(
        page.text
            .contains("award,kg-open,,,state,final,Best weighted totals; both within budget.,")
    );
    assert!(page.text.contains(&format!(
        "objection,{first},carol,,,,Team B's image equals Team A's.,"
    )));
    assert!(page.text.contains(&format!(
        "answer,{second},,,,,\"Checked: Team B also submitted"
    )));

    let log = actions(&app);
    for action in [
        "award.decide",
        "award.announce",
        "objection.file",
        "objection.answer",
    ] {
        assert!(log.iter().any(|a| a == action), "{action} in {log:?}");
    }
}

/// From five judges on, a judged criterion drops its highest and lowest score before the
/// mean; below five it is the plain mean; both show the spread.
async fn five_judges_make_a_trimmed_mean(backend: Backend) {
    let app = TestApp::new(backend).await;
    let w = app.world.clone();
    two_evaluated(&app).await;
    set_rubric(&app, false).await;
    let mut judges = Vec::new();
    for n in 1..=5 {
        let judge = new_judge(&app, &format!("judge-{n}"));
        let path = format!("/api/v1/scenarios/kg-open/panel/{}", judge.id);
        assert_eq!(app.put(&path, w.konggang.token(), None).await.status, 201);
        assert_eq!(declare(&app, &judge, json!([])).await.status, 200);
        judges.push(judge);
    }
    close_phases(&app, "kg-open");
    // Team A: five sheets, 10 6 7 8 1 → 1 and 10 dropped, (6 + 7 + 8) / 3 = 7 → 14 points.
    for (judge, report) in judges.iter().zip([10, 6, 7, 8, 1]) {
        assert_eq!(
            score(&app, judge, w.team_a.as_str(), report).await.status,
            201
        );
    }
    // Team B: four sheets, 8 6 7 3 → the mean, 6 → 12 points.
    for (judge, report) in judges.iter().zip([8, 6, 7, 3]) {
        assert_eq!(
            score(&app, judge, w.team_b.as_str(), report).await.status,
            201
        );
    }
    let overview = app
        .get("/api/v1/scenarios/kg-open/judging", w.konggang.token())
        .await;
    assert_eq!(overview.status, 200, "{:?}", overview.body);
    let finalists = overview.body["finalists"].as_array().unwrap();
    let of = |team: &str| finalists.iter().find(|f| f["team_id"] == team).unwrap();
    let a = of(w.team_a.as_str());
    let report_a = &a["criteria"][3];
    assert_eq!(report_a["judged"]["judges"], 5);
    assert_eq!(report_a["judged"]["trimmed"], true);
    assert_eq!(report_a["judged"]["value"], 7.0);
    assert_eq!(report_a["judged"]["spread"], 9);
    assert_eq!(report_a["points"], 14.0);
    // A: 50 + 20 + 5 (twice B's device-seconds) + 14.
    assert_eq!(a["total"], 89.0);
    let b = of(w.team_b.as_str());
    let report_b = &b["criteria"][3];
    assert_eq!(report_b["judged"]["judges"], 4);
    assert_eq!(report_b["judged"]["trimmed"], false);
    assert_eq!(report_b["judged"]["value"], 6.0);
    assert_eq!(report_b["judged"]["spread"], 5);
    assert_eq!(report_b["points"], 12.0);
    // B: 50 × 0.79 / 0.89 = 44.38, + 20 + 10 + 12.
    assert_eq!(b["total"], 86.38);
    assert_eq!(
        overview.body["panel_finished"], false,
        "judge-5 owes B a sheet"
    );
}

on_both_backends!(
    rubric_panel_conflicts_scores_and_totals,
    blind_review_hides_names_until_the_panel_finishes,
    five_judges_make_a_trimmed_mean,
    award_announcement_objections_and_final
);
