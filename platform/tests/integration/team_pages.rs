//! Issue 15's browser pages over HTTP, on both backends: creating, joining and leaving a team
//! in the pages, the scenario page's enrolled state, quota and submit panel, the browser
//! upload's route (same checks as the API, CSRF in a header, errors in the visitor's
//! language), phase deletion that needs its confirmation, and a crawl of every page in
//! Chinese for raw codes and raw JSON.

use actix_web::http::StatusCode;
use actix_web::test::TestRequest;
use serde_json::json;

use crate::common::{Backend, Page, TestApp};
use crate::consoles::{claim_and_report, evaluate_next, register_worker, report};
use crate::on_both_backends;
use crate::pages::{get, post_form, sign_in};

/// The browser upload as the page's script sends it.
fn upload(scenario: &str, team: &str, csrf: Option<&str>, body: &[u8]) -> TestRequest {
    let mut request = TestRequest::post()
        .uri(&format!("/scenarios/{scenario}/submissions?team_id={team}"))
        .insert_header(("Accept", "application/json"))
        .insert_header(("Content-Type", "application/x-tar"))
        .set_payload(body.to_vec());
    if let Some(csrf) = csrf {
        request = request.insert_header(("X-CSRF-Token", csrf));
    }
    request
}

fn json_of(page: &Page) -> serde_json::Value {
    serde_json::from_str(&page.text).unwrap_or_else(|e| panic!("{e}: {}", page.text))
}

async fn a_team_is_created_joined_and_left_in_the_pages(backend: Backend) {
    let app = TestApp::new(backend).await;
    let w = &app.world;
    let (carol, csrf) = sign_in(&app, &w.carol.token.clone()).await;

    let mine = app.page(get("/teams").cookie(carol.clone())).await;
    assert_eq!(mine.status, StatusCode::OK);
    assert!(mine.text.contains("我的团队"), "in the navigation");
    assert!(mine.text.contains("id=\"team-form\""));

    // Every problem at once, beside its field, the typed value kept.
    let refused = app
        .page(
            post_form(
                "/teams",
                &[
                    ("csrf_token", &csrf),
                    ("name", "  "),
                    ("kind", "guild"),
                    ("institution", ""),
                ],
            )
            .cookie(carol.clone()),
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    for field in [
        "team-name-error",
        "team-kind-error",
        "team-institution-error",
    ] {
        assert!(refused.text.contains(field), "{field}: {}", refused.text);
    }
    // A taken name is refused beside the name, in Chinese, with what was typed kept.
    let taken = app
        .page(
            post_form(
                "/teams",
                &[
                    ("csrf_token", &csrf),
                    ("name", "Team A"),
                    ("kind", "company"),
                    ("institution", "渭央实验室 <b>"),
                ],
            )
            .cookie(carol.clone()),
        )
        .await;
    assert_eq!(taken.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        taken.text.contains("已有名为“Team A”的团队"),
        "{}",
        taken.text
    );
    assert!(taken.text.contains("value=\"渭央实验室 &lt;b&gt;\""));

    let created = app
        .page(
            post_form(
                "/teams",
                &[
                    ("csrf_token", &csrf),
                    ("name", "长安智算"),
                    ("kind", "university"),
                    ("institution", "西安交通大学"),
                ],
            )
            .cookie(carol.clone()),
        )
        .await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.text);
    let team_page = created.location().unwrap().to_owned();
    assert!(team_page.ends_with("?created=1"), "{team_page}");
    let shown = app.page(get(&team_page).cookie(carol.clone())).await;
    assert!(shown.text.contains("长安智算") && shown.text.contains("负责人"));
    assert!(shown.text.contains("id=\"leave-form\""));

    // Alice invites carol to Team A: the invitation says who sent it; accepting opens the team.
    let invited = app
        .post(
            &format!("/api/v1/teams/{}/invitations", w.team_a),
            w.alice.token(),
            json!({"login": "carol"}),
        )
        .await;
    assert_eq!(invited.status, 201, "{:?}", invited.body);
    let invitations = app.page(get("/invitations").cookie(carol.clone())).await;
    assert!(invitations.text.contains("邀请人"), "{}", invitations.text);
    assert!(invitations.text.contains("@alice"), "{}", invitations.text);
    let id = invited.body["id"].as_str().unwrap();
    let accepted = app
        .page(
            post_form(
                &format!("/invitations/{id}/accept"),
                &[("csrf_token", &csrf)],
            )
            .cookie(carol.clone()),
        )
        .await;
    assert_eq!(
        accepted.location(),
        Some(format!("/teams/{}", w.team_a).as_str())
    );

    // Leaving needs the box ticked; then carol is off Team A.
    let leave = format!("/teams/{}/leave", w.team_a);
    let unticked = app
        .page(post_form(&leave, &[("csrf_token", &csrf)]).cookie(carol.clone()))
        .await;
    assert_eq!(
        unticked.location(),
        Some(format!("/teams/{}?confirm_leave=1", w.team_a).as_str())
    );
    let still = app
        .get(&format!("/api/v1/teams/{}", w.team_a), w.carol.token())
        .await;
    assert_eq!(still.status, 200, "still a member");
    let left = app
        .page(post_form(&leave, &[("csrf_token", &csrf), ("confirm", "yes")]).cookie(carol.clone()))
        .await;
    assert_eq!(left.location(), Some("/teams?left=1"));
    let gone = app
        .get(&format!("/api/v1/teams/{}", w.team_a), w.carol.token())
        .await;
    assert_eq!(gone.status, 403, "{:?}", gone.body);

    // The only owner of a team with members cannot leave: the reason in Chinese.
    let (alice, alice_csrf) = sign_in(&app, &w.alice.token.clone()).await;
    app.post(
        &format!("/api/v1/teams/{}/invitations", w.team_a),
        w.alice.token(),
        json!({"login": "carol"}),
    )
    .await;
    let pending = app.get("/api/v1/invitations", w.carol.token()).await;
    let again = pending.body["items"][0]["id"].as_str().unwrap().to_owned();
    let joined = app
        .post(
            &format!("/api/v1/invitations/{again}/accept"),
            w.carol.token(),
            json!({}),
        )
        .await;
    assert!(joined.status.is_success(), "{:?}", joined.body);
    let refused = app
        .page(post_form(&leave, &[("csrf_token", &alice_csrf), ("confirm", "yes")]).cookie(alice))
        .await;
    assert_eq!(refused.status, StatusCode::CONFLICT);
    assert!(refused.text.contains("唯一的负责人"), "{}", refused.text);
}

async fn the_scenario_page_shows_enrolment_quota_and_how_to_submit(backend: Backend) {
    let app = TestApp::new(backend).await;
    let w = &app.world;
    let (alice, _) = sign_in(&app, &w.alice.token.clone()).await;
    let before = app
        .page(get("/scenarios/kg-open").cookie(alice.clone()))
        .await;
    assert!(before.text.contains("未报名"), "{}", before.text);
    assert!(!before.text.contains("id=\"how-to-submit\""));

    app.team_a_submits("first image").await;
    let after = app
        .page(get("/scenarios/kg-open").cookie(alice.clone()))
        .await;
    assert!(after.text.contains("已报名"));
    assert!(after.text.contains("今日剩余 4 / 5 次"), "{}", after.text);
    assert!(after.text.contains("id=\"how-to-submit\""));
    assert!(
        after.text.contains(
            "jiebang submit --platform http://127.0.0.1:8080 --scenario kg-open IMAGE:TAG"
        ),
        "{}",
        after.text
    );
    assert!(after.text.contains("id=\"upload-form\""));
    let en = app
        .page(get("/scenarios/kg-open?lang=en").cookie(alice))
        .await;
    assert!(
        en.text.contains("4 of 5 submissions left today"),
        "{}",
        en.text
    );
}

async fn the_browser_upload_applies_the_api_checks(backend: Backend) {
    let app = TestApp::new(backend).await;
    let w = &app.world;
    let team = w.team_a.as_str();
    let (alice, csrf) = sign_in(&app, &w.alice.token.clone()).await;

    // Not enrolled: refused as the API refuses, in Chinese, as JSON for the script.
    let refused = app
        .page(upload("kg-open", team, Some(&csrf), b"archive").cookie(alice.clone()))
        .await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{}", refused.text);
    let body = json_of(&refused);
    assert_eq!(body["error"]["code"], "not_enrolled");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("尚未报名")
    );

    let enrolled = app.enrol("kg-open", &w.alice, team).await;
    assert_eq!(enrolled.status, 201, "{:?}", enrolled.body);
    // Without the CSRF header a cross-site page cannot post an archive in alice's name.
    let forged = app
        .page(upload("kg-open", team, None, b"archive").cookie(alice.clone()))
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert_eq!(json_of(&forged)["error"]["code"], "forbidden");
    assert_eq!(app.count("submissions"), 0);

    let stored = app
        .page(upload("kg-open", team, Some(&csrf), b"a docker save archive").cookie(alice.clone()))
        .await;
    assert_eq!(stored.status, StatusCode::CREATED, "{}", stored.text);
    let url = json_of(&stored)["submission_url"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(url.starts_with("/submissions/"), "{url}");
    assert_eq!(json_of(&stored)["remaining"], 4);
    // The same image again: the API's duplicate check, message in the visitor's language.
    let again = app
        .page(
            upload("kg-open", team, Some(&csrf), b"a docker save archive")
                .cookie(alice.clone())
                .cookie(actix_web::cookie::Cookie::new("lang", "en")),
        )
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    let said = json_of(&again)["error"]["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        said.starts_with("This image was already submitted to this phase (submission sub_"),
        "{said}"
    );
    let empty = app
        .page(upload("kg-open", team, Some(&csrf), b"").cookie(alice))
        .await;
    assert_eq!(
        empty.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        empty.text
    );
    assert_eq!(app.count("submissions"), 1);
}

async fn deleting_a_phase_needs_its_confirmation(backend: Backend) {
    let app = TestApp::new(backend).await;
    let w = &app.world;
    let (clerk, csrf) = sign_in(&app, &w.konggang.token.clone()).await;
    // A second phase (a published scenario keeps at least one), to delete.
    let now = chrono::Utc::now();
    let added = app
        .post(
            "/api/v1/scenarios/kg-open/phases",
            w.konggang.token(),
            json!({"name": "决赛", "opens_at": (now + chrono::Duration::days(40)).to_rfc3339(),
                   "closes_at": (now + chrono::Duration::days(50)).to_rfc3339()}),
        )
        .await;
    assert_eq!(added.status, 201, "{:?}", added.body);
    let phase = added.body["id"].as_str().unwrap().to_owned();
    let path = format!("/console/scenarios/kg-open/phases/{phase}/delete");
    let unconfirmed = app
        .page(post_form(&path, &[("csrf_token", &csrf)]).cookie(clerk.clone()))
        .await;
    assert_eq!(unconfirmed.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        unconfirmed.text.contains("请勾选确认框"),
        "{}",
        unconfirmed.text
    );
    let shown = app.get("/api/v1/scenarios/kg-open", None).await;
    assert_eq!(
        shown.body["phases"].as_array().unwrap().len(),
        2,
        "not deleted"
    );
    let edit = app
        .page(get("/console/scenarios/kg-open/edit").cookie(clerk.clone()))
        .await;
    assert!(
        edit.text
            .contains("name=\"confirm\" value=\"yes\" required")
    );
    let confirmed = app
        .page(post_form(&path, &[("csrf_token", &csrf), ("confirm", "yes")]).cookie(clerk))
        .await;
    assert_eq!(
        confirmed.status,
        StatusCode::SEE_OTHER,
        "{}",
        confirmed.text
    );
    let shown = app.get("/api/v1/scenarios/kg-open", None).await;
    assert_eq!(shown.body["phases"].as_array().unwrap().len(), 1);
}

/// Codes that must never reach a Chinese page as words a reader sees: stage, role, team
/// kind, mode, metric, load pattern, figure and environment names, run and split names.
const RAW_CODES: &[&str] = &[
    "sample_run",
    "hidden_run",
    "waiting_for_quiet_node",
    "single-stream",
    "serve",
    "batch",
    "p50_ms",
    "p99_ms",
    "mean_ms",
    "achieved_qps",
    "cpu_model",
    "harness_version",
    "split_seed",
    "within_budget",
    "over_budget",
    "accuracy",
    "macro_f1",
    "roc_auc",
    "owner",
    "member",
    "university",
    "company",
    // (`public` and `hidden` are also the package's folder names, which the help names.)
    "sample",
    "private",
    "metric",
    "stored",
    "queued",
    "done",
    "failed",
];

/// `html` without the parts from each `open` to the next `close`.
fn without(html: &str, open: &str, close: &str) -> String {
    let mut text = String::new();
    let mut rest = html;
    while let Some(start) = rest.find(open) {
        text.push_str(&rest[..start]);
        rest = rest[start..]
            .split_once(close)
            .map_or("", |(_, after)| after);
    }
    text.push_str(rest);
    text
}

/// The words of `html` as a reader sees them: no tags or attributes, no `<pre>` (logs
/// and commands are shown as they are), no text marked as English (the evaluator's own
/// failure reason).
fn visible_words(html: &str) -> Vec<String> {
    let text = without(&without(html, "<pre", "</pre>"), "lang=\"en\">", "<");
    let mut out = String::new();
    let mut in_tag = false;
    for c in text.chars() {
        match c {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                out.push(' ');
            }
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.split(|c: char| !(c.is_alphanumeric() || c == '_' || c == '-'))
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect()
}

fn assert_readable(path: &str, page: &Page) {
    assert_eq!(page.status, StatusCode::OK, "{path}: {}", page.text);
    let words = visible_words(&page.text);
    for code in RAW_CODES {
        assert!(
            !words.iter().any(|w| w == code),
            "{path} shows the raw code `{code}`: {words:?}"
        );
    }
    let mut text = String::new();
    let mut in_tag = false;
    for c in page.text.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            _ if !in_tag => text.push(c),
            _ => {}
        }
    }
    for json in ["{\"", "\":", "&quot;:"] {
        assert!(!text.contains(json), "{path} shows raw JSON (`{json}`)");
    }
}

/// A refusal's page: in Chinese, with no English sentence (four English words in a row,
/// outside what is marked `lang="en"`), so an error code without words in the catalogs is
/// caught.
fn assert_refusal_in_chinese(path: &str, page: &Page, status: StatusCode) {
    assert_eq!(page.status, status, "{path}: {}", page.text);
    let words = visible_words(&page.text);
    let english = words.windows(4).find(|run| {
        run.iter()
            .all(|w| w.chars().all(|c| c.is_ascii_alphabetic()))
    });
    assert!(
        english.is_none(),
        "{path} says {english:?} in English: {}",
        page.text
    );
}

async fn every_page_in_chinese_names_its_codes(backend: Backend) {
    let app = TestApp::new(backend).await;
    let w = &app.world;
    let a = app.team_a_submits("image of team A").await;
    let failed = app.team_a_submits("a failing image").await;
    let token = app.worker_token();
    let worker = register_worker(&app, &token).await;
    evaluate_next(&app, &token, &worker, report(0.9, 10.0)).await;
    claim_and_report(&app, &token, &worker, |_| {
        let mut body = report(0.0, 1.0);
        body["hidden"] = serde_json::Value::Null;
        body["failure"] = "sample run: exited with code 1".into();
        json!({"outcome": "submission_failed", "reason": "sample run: exited with code 1",
               "report": body, "sample_logs": "ModuleNotFoundError: No module named 'sklearn'\n"})
    })
    .await;

    let (alice, _) = sign_in(&app, &w.alice.token.clone()).await;
    let team = format!("/teams/{}", w.team_a);
    for path in [
        "/",
        "/scenarios/kg-open",
        "/scenarios/kg-open/leaderboard",
        "/teams",
        team.as_str(),
        "/invitations",
        "/tokens",
        &format!("/submissions/{a}"),
        &format!("/submissions/{failed}"),
    ] {
        let page = app.page(get(path).cookie(alice.clone())).await;
        assert_readable(path, &page);
    }
    // The report reads as a report: headline, verdict in words, the sample log inline.
    let report_page = app
        .page(get(&format!("/submissions/{a}")).cookie(alice.clone()))
        .await;
    for wanted in [
        "公开榜得分",
        "0.9000 ± 0.0500",
        "公开榜第 1 名，共 1 支团队",
        "时延预算内",
        "sample run of",
        "公开样例运行",
    ] {
        assert!(
            report_page.text.contains(wanted),
            "{wanted}: {}",
            report_page.text
        );
    }
    assert!(
        !report_page.text.contains("hidden run of"),
        "the hidden log is for judges"
    );
    // A failure: its reason, whether it counted, the sample log that explains it, and no
    // section for the hidden run that never happened.
    let failure = app
        .page(get(&format!("/submissions/{failed}")).cookie(alice))
        .await;
    for wanted in [
        "评测未完成",
        "计入了今天的提交次数",
        "ModuleNotFoundError",
        "lang=\"en\"",
    ] {
        assert!(failure.text.contains(wanted), "{wanted}: {}", failure.text);
    }
    assert!(!failure.text.contains("隐藏集运行"), "{}", failure.text);
    assert!(!failure.text.contains("公开榜第"), "{}", failure.text);

    let (judge, _) = sign_in(&app, &w.judge.token.clone()).await;
    let judged = app
        .page(get(&format!("/submissions/{a}")).cookie(judge.clone()))
        .await;
    assert!(
        judged.text.contains("hidden run of"),
        "judges read the hidden log"
    );
    for path in [
        "/console/judge",
        "/scenarios/kg-open/leaderboard?board=private",
    ] {
        let page = app.page(get(path).cookie(judge.clone())).await;
        assert_readable(path, &page);
    }
    let (clerk, _) = sign_in(&app, &w.konggang.token.clone()).await;
    for path in ["/console/department", "/console/scenarios/kg-open/edit"] {
        let page = app.page(get(path).cookie(clerk.clone())).await;
        assert_readable(path, &page);
    }
    // Refusals read in Chinese too: not allowed, not found.
    let unknown = format!("/submissions/{a}/no-such");
    for (path, status) in [
        ("/console/judge", StatusCode::FORBIDDEN),
        ("/console/admin", StatusCode::FORBIDDEN),
        ("/scenarios/no-such", StatusCode::NOT_FOUND),
        (
            "/scenarios/kg-open/leaderboard?board=private",
            StatusCode::FORBIDDEN,
        ),
        (unknown.as_str(), StatusCode::NOT_FOUND),
    ] {
        let page = app.page(get(path).cookie(clerk.clone())).await;
        assert_refusal_in_chinese(path, &page, status);
    }
    let (admin, _) = sign_in(&app, &w.admin.token.clone()).await;
    let console = app.page(get("/console/admin").cookie(admin.clone())).await;
    assert_readable("/console/admin", &console);
    // The audit log quotes each entry's recorded values verbatim (ids, codes such as a
    // team's `university`: what was stored is the record), so only its words around them
    // are checked; raw JSON is never shown.
    let audit = app.page(get("/console/admin/audit").cookie(admin)).await;
    assert_eq!(audit.status, StatusCode::OK);
    assert!(!audit.text.contains("{&quot;"), "{}", audit.text);
    assert!(audit.text.contains("评测节点注册"), "{}", audit.text);
    // The final board's tab is disabled for a visitor while the phase is open.
    let board = app.page(get("/scenarios/kg-open/leaderboard")).await;
    assert!(
        board.text.contains("class=\"tab-locked\""),
        "{}",
        board.text
    );
    assert!(
        !board
            .text
            .contains("href=\"/scenarios/kg-open/leaderboard?board=private\"")
    );
    assert!(
        board.text.contains("超出预算的成绩排在所有预算内成绩之后"),
        "{}",
        board.text
    );
    assert!(board.text.contains("提交次数"));
}

on_both_backends!(
    a_team_is_created_joined_and_left_in_the_pages,
    the_scenario_page_shows_enrolment_quota_and_how_to_submit,
    the_browser_upload_applies_the_api_checks,
    deleting_a_phase_needs_its_confirmation,
    every_page_in_chinese_names_its_codes,
);
