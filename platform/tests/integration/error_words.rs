//! Issue 15: refusals other than a form's field problems (conflicts, not allowed, not found,
//! quota, fixed rules, a missing package) reach the Chinese pages in Chinese, with the
//! values they are about (team, scenario, times in Beijing time) filled in.

use actix_web::http::StatusCode;
use actix_web::test::TestRequest;

use crate::common::{Backend, TestApp};
use crate::consoles::{evaluate_next, register_worker, report};
use crate::consoles_pages::{form_fields_of, multipart};
use crate::on_both_backends;
use crate::packages::{SCENARIO, package_tar, with_api_scenario};
use crate::pages::{get, post_form, sign_in};

/// English words of the API's messages that must not reach a Chinese page.
const ENGLISH: [&str; 6] = [
    "already enrolled",
    "not found",
    "is revealed",
    "has no package",
    "is fixed",
    "used all",
];

fn chinese(text: &str, wanted: &[&str]) {
    for words in wanted {
        assert!(text.contains(words), "{words:?} missing from: {text}");
    }
    for english in ENGLISH {
        assert!(
            !text.contains(english),
            "{english:?} on a Chinese page: {text}"
        );
    }
}

async fn refusals_read_in_chinese_with_their_values(backend: Backend) {
    let app = TestApp::new(backend).await;
    let w = &app.world;
    let team = w.team_a.as_str();
    let (alice, csrf) = sign_in(&app, &w.alice.token.clone()).await;

    // A conflict: enrolling twice names the team and the scenario.
    let enrol = || {
        post_form(
            "/scenarios/kg-open/enrol",
            &[("team_id", team), ("csrf_token", &csrf)],
        )
        .cookie(alice.clone())
    };
    assert_eq!(app.page(enrol()).await.status, StatusCode::SEE_OTHER);
    let twice = app.page(enrol()).await;
    assert_eq!(twice.status, StatusCode::CONFLICT);
    chinese(
        &twice.text,
        &[&format!("团队 {team} 已经报名了场景 kg-open。")],
    );

    // Not allowed, with the time it opens in Beijing time.
    let private = app
        .page(get("/scenarios/kg-open/leaderboard?board=private").cookie(alice.clone()))
        .await;
    assert_eq!(private.status, StatusCode::FORBIDDEN);
    chinese(&private.text, &["私有榜在阶段结束（", "(UTC+8)）后公开。"]);

    // Not found names the kind of thing and its id.
    let missing = app.page(get("/scenarios/no-such")).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    chinese(&missing.text, &["找不到场景 no-such。"]);

    // The quota, for the upload's script: the team, the day's allowance and the reset time.
    for n in 0..5 {
        app.team_a_submits(format!("image {n}")).await;
    }
    let over = app
        .page(
            TestRequest::post()
                .uri(&format!("/scenarios/kg-open/submissions?team_id={team}"))
                .insert_header(("Accept", "application/json"))
                .insert_header(("Content-Type", "application/x-tar"))
                .insert_header(("X-CSRF-Token", csrf.as_str()))
                .set_payload(b"one image too many".to_vec())
                .cookie(alice.clone()),
        )
        .await;
    assert_eq!(over.status, StatusCode::CONFLICT, "{}", over.text);
    let body: serde_json::Value = serde_json::from_str(&over.text).unwrap();
    assert_eq!(body["error"]["code"], "quota_spent");
    assert_eq!(body["error"]["params"]["daily_quota"], "5");
    let message = body["error"]["message"].as_str().unwrap();
    chinese(
        message,
        &[
            &format!("团队 {team} 今天的 5 次提交已用完"),
            "(UTC+8) 重置",
        ],
    );

    // The department: publishing without a package, and changing a published rule.
    let (clerk, clerk_csrf) = sign_in(&app, &w.konggang.token.clone()).await;
    let publish = app
        .page(
            post_form(
                "/console/scenarios/kg-draft/publish",
                &[("csrf_token", &clerk_csrf)],
            )
            .cookie(clerk.clone()),
        )
        .await;
    assert_eq!(publish.status, StatusCode::UNPROCESSABLE_ENTITY);
    chinese(&publish.text, &["场景 kg-draft 还没有场景包"]);

    let form = app
        .page(get("/console/scenarios/kg-open/edit").cookie(clerk.clone()))
        .await;
    let mut fields = form_fields_of(&form.text, "kg-open");
    for (name, value) in &mut fields {
        if name == "daily_quota" {
            *value = "9".into();
        }
    }
    let sent: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let fixed = app
        .page(post_form("/console/scenarios/kg-open/edit", &sent).cookie(clerk.clone()))
        .await;
    assert_eq!(
        fixed.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        fixed.text
    );
    chinese(
        &fixed.text,
        &["已发布场景 kg-open 的“每日提交次数”已经固定"],
    );
    assert!(
        fixed.text.contains("value=\"9\""),
        "the typed value is kept"
    );

    // In English the same refusal reads in English, from the same parameters.
    let english = app.page(get("/scenarios/no-such?lang=en")).await;
    assert!(
        english.text.contains("There is no scenario no-such."),
        "{}",
        english.text
    );
}

/// Names in the other language carry their own `lang`: the English team name on the
/// Chinese pages, for screen readers and fonts.
async fn names_in_the_other_language_carry_their_lang(backend: Backend) {
    let app = TestApp::new(backend).await;
    let (alice, _) = sign_in(&app, &app.world.alice.token.clone()).await;
    let mine = app.page(get("/teams").cookie(alice.clone())).await;
    assert!(
        mine.text.contains("lang=\"en\">Team A</a>"),
        "{}",
        mine.text
    );
    app.team_a_submits("an image").await;
    let scenario = app.page(get("/scenarios/kg-open").cookie(alice)).await;
    assert!(
        scenario.text.contains("<h1>kg-open 标题</h1>"),
        "a Chinese title needs no lang: {}",
        scenario.text
    );
    let english = app.page(get("/scenarios/kg-open?lang=en")).await;
    assert!(
        english.text.contains("<h1>kg-open title</h1>"),
        "{}",
        english.text
    );
}

/// The evaluator's notes in the visitor's language: a coded note from the catalogs with its
/// values, a note stored before notes had codes as its English text, marked `lang="en"`.
async fn report_notes_read_in_the_visitors_language(backend: Backend) {
    let app = TestApp::new(backend).await;
    let submission = app.team_a_submits("an image").await;
    let token = app.worker_token();
    let worker = register_worker(&app, &token).await;
    let mut body = report(0.9, 1.0);
    body["notes"] = serde_json::json!([
        {"code": "matched_by_position", "params": {"side": "inputs",
          "model_tensor": "input__0", "scenario_tensor": "features"},
         "text": "the model's inputs tensor `input__0` was taken for the scenario's `features`"},
        "hidden run: 1 of 12 predictions were not numbers",
    ]);
    evaluate_next(&app, &token, &worker, body).await;
    let (alice, _) = sign_in(&app, &app.world.alice.token.clone()).await;
    let page = app
        .page(get(&format!("/submissions/{submission}")).cookie(alice.clone()))
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    for words in [
        "模型的输入张量 &#x60;input__0&#x60; 被当作场景的 &#x60;features&#x60;",
        "<li lang=\"en\">hidden run: 1 of 12 predictions were not numbers</li>",
    ] {
        assert!(page.text.contains(words), "{words}: {}", page.text);
    }
    let english = app
        .page(get(&format!("/submissions/{submission}?lang=en")).cookie(alice))
        .await;
    assert!(
        english
            .text
            .contains("The model&#x27;s inputs tensor &#x60;input__0&#x60; was taken"),
        "{}",
        english.text
    );
}

/// Sends a package form that must be refused; the part of the edit page that lists the
/// package's problems.
async fn package_problems(app: &TestApp, request: TestRequest) -> String {
    let page = app.page(request).await;
    assert_eq!(
        page.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        page.text
    );
    page.text
        .split("id=\"package-problems\"")
        .nth(1)
        .and_then(|rest| rest.split("</div>").next())
        .unwrap_or_else(|| panic!("no package problems on: {}", page.text))
        .to_owned()
}

/// A department uploads a broken package on the Chinese edit page: the heading and every
/// problem read in Chinese after its file and field, with their values (the metric by its
/// Chinese name); the English page says the same in English.
async fn package_problems_read_in_chinese(backend: Backend) {
    let app = with_api_scenario(backend, |_| {}).await;
    let (clerk, csrf) = sign_in(&app, &app.world.konggang.token).await;
    let broken = package_tar(|dir| {
        let manifest = dir.join("scenario.toml");
        let text = std::fs::read_to_string(&manifest).unwrap();
        let text = text.replace("budget_ms = 20", "budget_ms = 0.01").replace(
            "name = \"accuracy\"",
            "name = \"accuracy\"\ndirection = \"lower\"",
        );
        std::fs::write(&manifest, text).unwrap();
        // The first hidden item (h-100) loses its label.
        let labels = dir.join("hidden/labels.jsonl");
        let text = std::fs::read_to_string(&labels).unwrap();
        let rest: String = text.lines().skip(1).map(|l| format!("{l}\n")).collect();
        std::fs::write(&labels, rest).unwrap();
    });
    let upload = |lang: &str| {
        let (content_type, body) = multipart(&[("csrf_token", &csrf)], &broken);
        TestRequest::post()
            .uri(&format!("/console/scenarios/{SCENARIO}/package{lang}"))
            .insert_header(("Content-Type", content_type))
            .set_payload(body)
            .cookie(clerk.clone())
    };
    let problems = package_problems(&app, upload("")).await;
    for words in [
        "场景包有 3 个问题，请逐条修改后重新上传。",
        "<code>scenario.toml [latency.budget_ms]</code>：<span>低于 1 毫秒的预算测到的是网络而不是模型。</span>",
        "<code>scenario.toml [metric.direction]</code>：<span>指标“准确率”越高越好，因此方向应为 &#x60;higher&#x60;。</span>",
        "<code>hidden/labels.jsonl [h-100]</code>：<span>此输入没有标注。</span>",
    ] {
        assert!(
            problems.contains(words),
            "{words:?} missing from: {problems}"
        );
    }
    for english in [
        "budget measures",
        "is better when",
        "has no label",
        "problem(s)",
    ] {
        assert!(
            !problems.contains(english),
            "{english:?} on a Chinese page: {problems}"
        );
    }
    assert!(
        !problems.contains("lang=\"en\""),
        "every problem has Chinese words: {problems}"
    );

    let problems = package_problems(&app, upload("?lang=en")).await;
    assert!(
        problems.contains(
            "<code>hidden/labels.jsonl [h-100]</code>: <span>The input has no label.</span>"
        ),
        "{problems}"
    );
}

on_both_backends!(
    package_problems_read_in_chinese,
    report_notes_read_in_the_visitors_language,
    refusals_read_in_chinese_with_their_values,
    names_in_the_other_language_carry_their_lang,
);
