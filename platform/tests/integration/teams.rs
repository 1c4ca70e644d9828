//! Teams: create, invite, accept, leave; enrolment (揭榜); a team's own submissions.

use diesel::prelude::*;
use jiebang_platform::db::ids::{SubmissionId, TeamId};
use jiebang_platform::db::models::submissions::{self, Submission, SubmissionStage};
use jiebang_platform::db::now_millis;
use serde_json::json;

use crate::common::{Backend, TestApp};
use crate::on_both_backends;

async fn team_life_cycle(backend: Backend) {
    let app = TestApp::new(backend).await;
    let w = &app.world;
    let created = app
        .post(
            "/api/v1/teams",
            w.carol.token(),
            json!({"name": "长安智算", "kind": "company", "institution": "Chang'an AI Ltd"}),
        )
        .await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    let team = created.body["id"].as_str().unwrap().to_owned();
    assert_eq!(created.body["members"][0]["login"], "carol");
    assert_eq!(created.body["members"][0]["role"], "owner");
    let taken = app
        .post(
            "/api/v1/teams",
            w.bob.token(),
            json!({"name": "长安智算", "kind": "university", "institution": "x"}),
        )
        .await;
    assert_eq!(
        (taken.status.as_u16(), taken.code()),
        (409, "team_name_taken")
    );

    let invited = app
        .post(
            &format!("/api/v1/teams/{team}/invitations"),
            w.carol.token(),
            json!({"login": "alice"}),
        )
        .await;
    assert_eq!(invited.status, 201, "{:?}", invited.body);
    let invitation = invited.body["id"].as_str().unwrap().to_owned();
    let twice = app
        .post(
            &format!("/api/v1/teams/{team}/invitations"),
            w.carol.token(),
            json!({"login": "alice"}),
        )
        .await;
    assert_eq!(
        (twice.status.as_u16(), twice.code()),
        (409, "already_invited")
    );
    let nobody = app
        .post(
            &format!("/api/v1/teams/{team}/invitations"),
            w.carol.token(),
            json!({"login": "nobody"}),
        )
        .await;
    assert_eq!(nobody.status, 422);
    assert!(nobody.message().contains("nobody"));

    let pending = app.get("/api/v1/invitations", w.alice.token()).await;
    assert_eq!(pending.body["items"][0]["id"], invitation.as_str());
    let stolen = app
        .post(
            &format!("/api/v1/invitations/{invitation}/accept"),
            w.bob.token(),
            json!({}),
        )
        .await;
    assert_eq!(stolen.status, 404);
    let accepted = app
        .post(
            &format!("/api/v1/invitations/{invitation}/accept"),
            w.alice.token(),
            json!({}),
        )
        .await;
    assert_eq!(accepted.status, 204);
    let replay = app
        .post(
            &format!("/api/v1/invitations/{invitation}/accept"),
            w.alice.token(),
            json!({}),
        )
        .await;
    assert_eq!(
        (replay.status.as_u16(), replay.code()),
        (409, "invitation_closed")
    );

    let detail = app
        .get(&format!("/api/v1/teams/{team}"), w.alice.token())
        .await;
    let logins: Vec<&str> = detail.body["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["login"].as_str().unwrap())
        .collect();
    assert_eq!(logins, ["carol", "alice"]);
    let not_owner = app
        .post(
            &format!("/api/v1/teams/{team}/invitations"),
            w.alice.token(),
            json!({"login": "bob"}),
        )
        .await;
    assert_eq!(not_owner.status, 403);

    let owner_leaves = app
        .post(
            &format!("/api/v1/teams/{team}/leave"),
            w.carol.token(),
            json!({}),
        )
        .await;
    assert_eq!(
        (owner_leaves.status.as_u16(), owner_leaves.code()),
        (409, "last_owner")
    );
    let alice_leaves = app
        .post(
            &format!("/api/v1/teams/{team}/leave"),
            w.alice.token(),
            json!({}),
        )
        .await;
    assert_eq!(alice_leaves.status, 204);
    assert_eq!(
        app.get(&format!("/api/v1/teams/{team}"), w.alice.token())
            .await
            .status,
        403
    );

    let declined_invite = app
        .post(
            &format!("/api/v1/teams/{team}/invitations"),
            w.carol.token(),
            json!({"login": "bob"}),
        )
        .await;
    let declined_id = declined_invite.body["id"].as_str().unwrap();
    let declined = app
        .post(
            &format!("/api/v1/invitations/{declined_id}/decline"),
            w.bob.token(),
            json!({}),
        )
        .await;
    assert_eq!(declined.status, 204);
    let team_invitations = app
        .get(
            &format!("/api/v1/teams/{team}/invitations"),
            w.carol.token(),
        )
        .await;
    let statuses: Vec<&str> = team_invitations.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["accepted", "declined"]);

    let mine = app.get("/api/v1/teams", w.carol.token()).await;
    assert_eq!(mine.body["items"][0]["name"], "长安智算");
    let me = app.get("/api/v1/me", w.carol.token()).await;
    assert_eq!(me.body["teams"][0]["name"], "长安智算");
}

async fn enrolment_once_while_open(backend: Backend) {
    let app = TestApp::new(backend).await;
    let w = &app.world;
    let team_a = w.team_a.to_string();
    let enrolled = app
        .post(
            "/api/v1/scenarios/kg-open/enrolments",
            w.alice.token(),
            json!({"team_id": team_a}),
        )
        .await;
    assert_eq!(enrolled.status, 201, "{:?}", enrolled.body);
    assert_eq!(enrolled.body["phase_id"], w.open_phase.as_str());
    let again = app
        .post(
            "/api/v1/scenarios/kg-open/enrolments",
            w.alice.token(),
            json!({"team_id": team_a}),
        )
        .await;
    assert_eq!(
        (again.status.as_u16(), again.code()),
        (409, "already_enrolled")
    );
    let closed = app
        .post(
            "/api/v1/scenarios/kg-closed/enrolments",
            w.alice.token(),
            json!({"team_id": team_a}),
        )
        .await;
    assert_eq!(
        (closed.status.as_u16(), closed.code()),
        (409, "phase_closed")
    );
    let draft = app
        .post(
            "/api/v1/scenarios/kg-draft/enrolments",
            w.alice.token(),
            json!({"team_id": team_a}),
        )
        .await;
    assert_eq!(draft.status, 404, "drafts do not exist for teams");

    let by_department = app
        .get("/api/v1/scenarios/kg-open/enrolments", w.konggang.token())
        .await;
    assert_eq!(by_department.status, 200);
    assert_eq!(by_department.body["items"][0]["team_name"], "Team A");
    assert_eq!(
        app.get("/api/v1/scenarios/kg-open/enrolments", w.judge.token())
            .await
            .status,
        200
    );
    assert_eq!(
        app.get("/api/v1/scenarios/kg-open/enrolments", w.fengdong.token())
            .await
            .status,
        403
    );
    assert_eq!(
        app.get("/api/v1/scenarios/kg-open/enrolments", w.alice.token())
            .await
            .status,
        403
    );

    let own = app
        .get(
            &format!("/api/v1/teams/{team_a}/enrolments"),
            w.alice.token(),
        )
        .await;
    assert_eq!(own.body["items"][0]["scenario_id"], "kg-open");
    assert_eq!(
        app.get(&format!("/api/v1/teams/{team_a}/enrolments"), w.bob.token())
            .await
            .status,
        403
    );
}

fn submission(
    app: &TestApp,
    team: &TeamId,
    submitted_by: &crate::common::Actor,
    digest: &str,
) -> Submission {
    let now = now_millis();
    let row = Submission {
        id: SubmissionId::generate(),
        scenario_id: app.world.open_scenario.clone(),
        phase_id: app.world.open_phase.clone(),
        team_id: team.clone(),
        submitted_by: submitted_by.id.clone(),
        image_digest: format!("sha256:{digest}"),
        image_size: 1024,
        status: SubmissionStage::Queued,
        created_at: now,
        updated_at: now,
        counts_toward_quota: true,
        failure: None,
    };
    let inserted = row.clone();
    app.state
        .db
        .write_blocking(move |conn| Ok(submissions::insert(conn, &inserted)?))
        .unwrap();
    row
}

async fn team_sees_only_its_own_submissions(backend: Backend) {
    let app = TestApp::new(backend).await;
    let w = &app.world;
    let a1 = submission(&app, &w.team_a, &w.alice, "aaa1");
    let a2 = submission(&app, &w.team_a, &w.alice, "aaa2");
    let b1 = submission(&app, &w.team_b, &w.bob, "bbb1");
    let team_a = w.team_a.to_string();
    let own = app
        .get(
            &format!("/api/v1/teams/{team_a}/submissions"),
            w.alice.token(),
        )
        .await;
    assert_eq!(own.status, 200);
    assert_eq!(own.body["total"], 2);
    let listed: Vec<&str> = own.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert!(listed.contains(&a1.id.as_str()) && listed.contains(&a2.id.as_str()));
    assert!(!listed.contains(&b1.id.as_str()));

    let paged = app
        .get(
            &format!("/api/v1/teams/{team_a}/submissions?per_page=1"),
            w.alice.token(),
        )
        .await;
    assert_eq!(paged.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(
        app.get(
            &format!("/api/v1/teams/{team_a}/submissions"),
            w.bob.token()
        )
        .await
        .status,
        403
    );
    assert_eq!(
        app.get(
            &format!("/api/v1/teams/{team_a}/submissions"),
            w.konggang.token()
        )
        .await
        .status,
        403
    );
    assert_eq!(
        app.get(
            &format!("/api/v1/teams/{team_a}/submissions"),
            w.judge.token()
        )
        .await
        .status,
        200
    );
    assert_eq!(
        app.get(
            &format!("/api/v1/teams/{team_a}/submissions"),
            w.operator.token()
        )
        .await
        .status,
        403
    );
    assert_eq!(
        app.get(&format!("/api/v1/teams/{team_a}/submissions"), None)
            .await
            .status,
        401
    );
    let total: i64 = app.read(|conn| {
        use jiebang_platform::db::schema::submissions;
        submissions::table.count().get_result(conn)
    });
    assert_eq!(total, 3);
}

async fn tokens_are_shown_once_and_revocable(backend: Backend) {
    let app = TestApp::new(backend).await;
    let w = &app.world;
    let issued = app
        .post("/api/v1/tokens", w.alice.token(), json!({"name": "laptop"}))
        .await;
    assert_eq!(issued.status, 201);
    let secret = issued.body["token"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("jb_"));
    let stored: Vec<String> = app.read(|conn| {
        use jiebang_platform::db::schema::api_tokens;
        api_tokens::table.select(api_tokens::token_hash).load(conn)
    });
    assert!(
        stored.iter().all(|hash| !hash.contains(&secret[3..])),
        "secrets are stored hashed"
    );
    assert_eq!(
        app.get("/api/v1/me", Some(&secret)).await.body["user"]["login"],
        "alice"
    );
    let listed = app.get("/api/v1/tokens", w.alice.token()).await;
    assert!(
        listed.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t.get("token").is_none())
    );
    let id = issued.body["id"].as_str().unwrap();
    assert_eq!(
        app.delete(&format!("/api/v1/tokens/{id}"), w.bob.token())
            .await
            .status,
        404
    );
    assert_eq!(
        app.delete(&format!("/api/v1/tokens/{id}"), w.alice.token())
            .await
            .status,
        204
    );
    let revoked = app.get("/api/v1/me", Some(&secret)).await;
    assert_eq!(revoked.status, 401);

    let made = app
        .post("/api/v1/users", w.admin.token(), json!({"login": "dora", "display_name": "Dora", "roles": ["judge"], "departments": ["qinhan"]}))
        .await;
    assert_eq!(made.status, 201, "{:?}", made.body);
    let dora = made.body["id"].as_str().unwrap();
    let for_dora = app
        .post(
            &format!("/api/v1/users/{dora}/tokens"),
            w.admin.token(),
            json!({"name": "first"}),
        )
        .await;
    let dora_token = for_dora.body["token"].as_str().unwrap();
    let me = app.get("/api/v1/me", Some(dora_token)).await;
    assert_eq!(me.body["user"]["roles"], json!(["judge"]));
    assert_eq!(me.body["user"]["departments"], json!(["qinhan"]));
    let users = app.get("/api/v1/users", w.admin.token()).await;
    assert_eq!(users.body["items"].as_array().unwrap().len(), 9);
    let audit = app.get("/api/v1/audit?per_page=5", w.admin.token()).await;
    assert_eq!(audit.status, 200);
    assert_eq!(audit.body["items"].as_array().unwrap().len(), 5);
    assert_eq!(audit.body["items"][0]["action"], "token.issue");
}

on_both_backends!(
    team_life_cycle,
    enrolment_once_while_open,
    team_sees_only_its_own_submissions,
    tokens_are_shown_once_and_revocable,
);
