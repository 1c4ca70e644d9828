//! Issue 15's team path in a real headless Chromium: a team created on a phone in Chinese
//! (every form error at once, the page no wider than the phone), and on a desktop in
//! English a real `docker save` archive uploaded from the scenario page with its progress
//! bar, then the readable report with the sample-run log, a failure with its log, and no
//! raw JSON on either page; both pages again at phone width in Chinese.

use std::time::Duration;

use jiebang_sandboxes::testing::require_docker;
use serde_json::json;

use crate::browser::{Browser, Size, require_chromium};
use crate::common::{Actor, Backend, TestApp};
use crate::consoles::{claim_and_report, evaluate_next, register_worker, report};
use crate::on_one_backend;

/// Signs `who` in through the token form in a window of `size`; lands on `then`.
async fn signed_in(name: &str, size: Size, base: &str, who: &Actor, then: &str) -> Browser {
    let browser = Browser::start(name, size).await;
    browser
        .open(&format!("{base}/auth/login?return_to={then}"))
        .await;
    browser.fill("#token", &who.token).await;
    browser
        .click("form[action='/auth/login'] button[type=submit]")
        .await;
    browser
        .wait_for_url("signed in", |url| {
            url.path() == then.split('?').next().unwrap_or(then)
        })
        .await;
    browser
}

async fn expect_text(browser: &Browser, css: &str, wanted: &str) {
    let text = browser.text(css).await;
    if !text.contains(wanted) {
        browser
            .fail(&format!("expected `{wanted}` in {css}, found: {text}"))
            .await;
    }
}

/// The page fits the window: nothing wider than the viewport (tables scroll in their box).
async fn fits(browser: &Browser, what: &str) {
    let widths = browser
        .run_script(
            "return [document.documentElement.scrollWidth, window.innerWidth];",
            vec![],
        )
        .await;
    let (page, window) = (widths[0].as_i64().unwrap(), widths[1].as_i64().unwrap());
    if page > window {
        browser
            .fail(&format!("{what} is {page} px wide in a {window} px window"))
            .await;
    }
}

/// No raw JSON in what a person reads on the page.
async fn no_raw_json(browser: &Browser, what: &str) {
    let text = browser.text("main").await;
    for raw in ["{\"", "\":"] {
        if text.contains(raw) {
            browser
                .fail(&format!("{what} shows raw JSON (`{raw}`): {text}"))
                .await;
        }
    }
}

async fn a_team_is_created_on_a_phone(backend: Backend) {
    if !require_chromium() {
        return;
    }
    let app = TestApp::new(backend).await;
    let base = app.serve_http();
    let carol = signed_in(
        &format!("team-create-{backend:?}"),
        Size::Phone,
        &base,
        &app.world.carol,
        "/teams",
    )
    .await;
    expect_text(&carol, "header", "我的团队").await;
    // Sent empty: the browser's own checks are off (novalidate), so the server's show.
    carol.click("#team-form button[type=submit]").await;
    carol
        .wait_for_script(
            "three field errors at once",
            "return document.querySelectorAll('.field-error').length;",
            json!(3),
        )
        .await;
    carol.screenshot("errors-phone-zh").await;
    fits(&carol, "the refused form").await;
    carol.fill("#team-name", "长安智算").await;
    carol
        .run_script(
            "document.getElementById('team-kind').value = 'university';",
            vec![],
        )
        .await;
    carol.fill("#team-institution", "西安交通大学").await;
    carol.click("#team-form button[type=submit]").await;
    carol
        .wait_for_url("the new team's page", |url| {
            url.path().starts_with("/teams/") && url.query() == Some("created=1")
        })
        .await;
    expect_text(&carol, "main", "长安智算").await;
    expect_text(&carol, "main", "负责人").await;
    carol.screenshot("team-created-phone-zh").await;
    fits(&carol, "the team page").await;
    carol.close().await;
}

/// A `docker save` archive: a real image when the Docker engine is here, else (outside CI)
/// a few megabytes of tar-like bytes, which the upload stores just the same.
fn an_archive(dir: &std::path::Path, docker: bool) -> std::path::PathBuf {
    let path = dir.join("model.tar");
    if docker {
        let bytes = crate::evaluation::archive_of("browser-upload", &["model", "right"], dir);
        std::fs::write(&path, bytes).unwrap();
    } else {
        let bytes: Vec<u8> = (0..4 * 1024 * 1024u32).map(|i| (i % 251) as u8).collect();
        std::fs::write(&path, bytes).unwrap();
    }
    path
}

async fn an_archive_is_uploaded_and_its_report_read(backend: Backend) {
    if !require_chromium() {
        return;
    }
    let docker = require_docker().await.is_some();
    let app = TestApp::new(backend).await;
    let base = app.serve_http();
    let w = &app.world;
    let enrolled = app.enrol("kg-open", &w.alice, w.team_a.as_str()).await;
    assert_eq!(enrolled.status, 201, "{:?}", enrolled.body);
    let dir = tempfile::tempdir().unwrap();
    let archive = an_archive(dir.path(), docker);
    let size = std::fs::metadata(&archive).unwrap().len();

    let alice = signed_in(
        &format!("team-upload-{backend:?}"),
        Size::Desktop,
        &base,
        &w.alice,
        "/scenarios/kg-open?lang=en",
    )
    .await;
    expect_text(&alice, "#enrol", "Enrolled").await;
    expect_text(&alice, "#enrol", "5 of 5 submissions left today").await;
    expect_text(&alice, "#submit-command", "jiebang submit").await;
    expect_text(&alice, "#submit-command", "--scenario kg-open").await;
    // What the status line says survives the move to the submission's page.
    alice
        .run_script(
            "var s = document.getElementById('upload-status');\
             sessionStorage.setItem('seen', '[]');\
             new MutationObserver(function () {\
               var seen = JSON.parse(sessionStorage.getItem('seen'));\
               seen.push(s.textContent + ' | ' + document.getElementById('upload-progress').value);\
               sessionStorage.setItem('seen', JSON.stringify(seen));\
             }).observe(s, {childList: true, characterData: true, subtree: true});",
            vec![],
        )
        .await;
    alice
        .fill("#upload-form input[type=file]", &archive.to_string_lossy())
        .await;
    alice.click("#upload-form button[type=submit]").await;
    let url = alice
        .wait_for_url("the new submission's page", |url| {
            url.path().starts_with("/submissions/")
        })
        .await;
    let seen = alice
        .run_script("return JSON.parse(sessionStorage.getItem('seen'));", vec![])
        .await;
    let seen: Vec<String> = serde_json::from_value(seen).unwrap();
    assert!(
        seen.iter().any(|s| s.starts_with("Uploading:")),
        "the progress was shown: {seen:?}"
    );
    assert!(
        seen.iter().any(|s| s.ends_with("| 100")),
        "the bar reached the end: {seen:?}"
    );
    let id = url.path().trim_start_matches("/submissions/").to_owned();
    let stored = app
        .get(&format!("/api/v1/submissions/{id}"), w.alice.token())
        .await;
    assert_eq!(stored.body["image_size"], json!(size), "{:?}", stored.body);

    // The evaluation finishes: the report card, the verdict in words, the sample log.
    let token = app.worker_token();
    let worker = register_worker(&app, &token).await;
    evaluate_next(&app, &token, &worker, report(0.87, 10.0)).await;
    alice
        .open(&format!("{base}/submissions/{id}?lang=en"))
        .await;
    expect_text(&alice, "#headline", "0.8700 ± 0.0500").await;
    expect_text(&alice, "#headline", "Within the latency budget").await;
    expect_text(&alice, "#headline", "rank 1 of 1 on the public board").await;
    expect_text(&alice, "main", "sample run of").await;
    expect_text(&alice, "main", "Public sample run").await;
    no_raw_json(&alice, "the report").await;
    alice.resize(Size::Phone).await;
    alice
        .open(&format!("{base}/submissions/{id}?lang=zh"))
        .await;
    expect_text(&alice, "#headline", "公开榜得分").await;
    alice.screenshot("report-phone-zh").await;
    fits(&alice, "the report").await;

    // A failing submission: its reason, whether it counted, and the log that explains it.
    let failed = app.team_a_submits("a failing image").await;
    claim_and_report(&app, &token, &worker, |_| {
        let mut body = report(0.0, 1.0);
        body["hidden"] = serde_json::Value::Null;
        body["failure"] = "sample run: exited with code 1".into();
        json!({"outcome": "submission_failed", "reason": "sample run: exited with code 1",
               "report": body, "sample_logs": "ModuleNotFoundError: No module named 'sklearn'\n"})
    })
    .await;
    alice.open(&format!("{base}/submissions/{failed}")).await;
    expect_text(&alice, "#failure", "评测未完成").await;
    expect_text(&alice, "#failure", "计入了今天的提交次数").await;
    expect_text(&alice, "main", "ModuleNotFoundError").await;
    no_raw_json(&alice, "the failure").await;
    alice.screenshot("failure-phone-zh").await;
    fits(&alice, "the failure").await;
    alice.open(&format!("{base}/scenarios/kg-open")).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    alice.screenshot("scenario-phone-zh").await;
    alice
        .run_script(
            "document.getElementById('how-to-submit').scrollIntoView();",
            vec![],
        )
        .await;
    alice.screenshot("how-to-submit-phone-zh").await;
    fits(&alice, "the scenario page").await;
    alice.close().await;
}

/// axe-core's script, which `scripts/test` fetches (`axe_fetch` in scripts/lib.sh).
fn axe_script() -> Option<String> {
    let path = std::env::var_os("JIEBANG_AXE_JS")?;
    std::fs::read_to_string(path).ok()
}

/// axe-core's critical violations on the open page: "rule: element, element".
async fn critical_violations(browser: &Browser, axe: &str) -> Vec<String> {
    browser.run_script(axe, vec![]).await;
    let found = browser
        .run_async_script(
            "var done = arguments[arguments.length - 1];\
             axe.run(document, {resultTypes: ['violations']}).then(function (r) {\
               done(r.violations.filter(function (v) { return v.impact === 'critical'; })\
                 .map(function (v) { return v.id + ': ' + v.nodes.map(function (n) {\
                   return n.target.join(' '); }).join(', '); }));\
             });",
            vec![],
        )
        .await;
    serde_json::from_value(found).unwrap_or_default()
}

async fn no_page_has_a_critical_accessibility_violation(backend: Backend) {
    if !require_chromium() {
        return;
    }
    let Some(axe) = axe_script() else {
        jiebang_sandboxes::testing::skip_or_fail(
            "needs axe-core: JIEBANG_AXE_JS names axe.min.js (`scripts/test` fetches it)",
        );
        return;
    };
    let app = TestApp::new(backend).await;
    let base = app.serve_http();
    let w = &app.world;
    let submission = app.team_a_submits("image of team A").await;
    let token = app.worker_token();
    let worker = register_worker(&app, &token).await;
    evaluate_next(&app, &token, &worker, report(0.9, 10.0)).await;
    let visitor = Browser::start(&format!("axe-visitor-{backend:?}"), Size::Phone).await;
    let mut problems = Vec::new();
    for path in [
        "/",
        "/scenarios/kg-open",
        "/scenarios/kg-open/leaderboard",
        "/auth/login",
    ] {
        visitor.open(&format!("{base}{path}")).await;
        for v in critical_violations(&visitor, &axe).await {
            problems.push(format!("{path}: {v}"));
        }
    }
    visitor.close().await;
    let team = format!("/teams/{}", w.team_a);
    let alice = signed_in(
        &format!("axe-team-{backend:?}"),
        Size::Phone,
        &base,
        &w.alice,
        "/teams",
    )
    .await;
    for path in [
        "/teams",
        team.as_str(),
        "/invitations",
        "/scenarios/kg-open",
        &format!("/submissions/{submission}"),
    ] {
        alice.open(&format!("{base}{path}")).await;
        for v in critical_violations(&alice, &axe).await {
            problems.push(format!("{path}: {v}"));
        }
    }
    alice.close().await;
    let clerk = signed_in(
        &format!("axe-clerk-{backend:?}"),
        Size::Desktop,
        &base,
        &w.konggang,
        "/console/department",
    )
    .await;
    for path in [
        "/console/department",
        "/console/scenarios/kg-open/edit",
        "/console/scenarios/new",
    ] {
        clerk.open(&format!("{base}{path}")).await;
        for v in critical_violations(&clerk, &axe).await {
            problems.push(format!("{path}: {v}"));
        }
    }
    clerk.close().await;
    assert!(
        problems.is_empty(),
        "critical accessibility violations: {problems:#?}"
    );
}

/// The pages this stage added, as their users see them on a phone in Chinese: the token
/// page with a token just made, the admin console and its audit log, and the department's
/// form refused with every problem beside its field.
async fn new_pages_fit_a_phone(backend: Backend) {
    if !require_chromium() {
        return;
    }
    let app = TestApp::new(backend).await;
    let base = app.serve_http();
    let w = &app.world;
    let alice = signed_in("tokens-phone", Size::Phone, &base, &w.alice, "/tokens").await;
    alice.fill("#token-name", "实验室服务器").await;
    alice.click("#token-form button[type=submit]").await;
    alice
        .wait_for_script(
            "the new token shown",
            "return !!document.getElementById('secret');",
            json!(true),
        )
        .await;
    expect_text(&alice, "#issued", "只显示这一次").await;
    alice.screenshot("tokens-phone-zh").await;
    fits(&alice, "the token page").await;
    alice.close().await;

    let admin = signed_in(
        "admin-phone",
        Size::Phone,
        &base,
        &w.admin,
        "/console/admin",
    )
    .await;
    expect_text(&admin, "main", "新建用户").await;
    admin.screenshot("admin-phone-zh").await;
    fits(&admin, "the admin console").await;
    admin.open(&format!("{base}/console/admin/audit")).await;
    expect_text(&admin, "main", "审计日志").await;
    admin.screenshot("audit-phone-zh").await;
    fits(&admin, "the audit log").await;
    admin.close().await;

    let clerk = signed_in(
        "department-form-phone",
        Size::Phone,
        &base,
        &w.konggang,
        "/console/scenarios/new",
    )
    .await;
    clerk.fill("input[name=id]", "Bad Id").await;
    clerk.click("#scenario-form button[type=submit]").await;
    clerk
        .wait_for_script(
            "the refused form's problems",
            "return document.querySelectorAll('.field-error').length >= 3;",
            json!(true),
        )
        .await;
    expect_text(&clerk, "#id-error", "小写字母").await;
    clerk.screenshot("department-form-errors-phone-zh").await;
    fits(&clerk, "the refused department form").await;
    // The edit page with the package upload and the sponsorship form.
    clerk
        .open(&format!("{base}/console/scenarios/kg-open/edit"))
        .await;
    expect_text(&clerk, "#sponsorship", "每个团队每日免费额度").await;
    clerk.screenshot("department-edit-phone-zh").await;
    fits(&clerk, "the scenario's edit page").await;
    clerk.fill("input[name=daily_cny_per_team]", "abc").await;
    clerk.click("#sponsorship-form button[type=submit]").await;
    clerk
        .wait_for_script(
            "the refused sponsorship",
            "return !!document.querySelector('#sponsorship [role=alert]');",
            json!(true),
        )
        .await;
    expect_text(&clerk, "#sponsorship [role=alert]", "须为人民币金额").await;
    assert_eq!(
        clerk
            .script("return document.querySelector('input[name=daily_cny_per_team]').value;")
            .await,
        json!("abc"),
        "the refused amount is shown as typed"
    );
    clerk
        .script("document.getElementById('sponsorship').scrollIntoView(); return true;")
        .await;
    clerk
        .screenshot("department-sponsorship-refused-phone-zh")
        .await;
    fits(&clerk, "the refused sponsorship").await;
    // A refusal in the reader's language, with what was not found.
    clerk
        .open(&format!("{base}/scenarios/no-such-scenario"))
        .await;
    expect_text(&clerk, "main", "no-such-scenario").await;
    clerk.screenshot("not-found-phone-zh").await;
    fits(&clerk, "the not-found page").await;
    clerk.close().await;
}

on_one_backend!(
    new_pages_fit_a_phone,
    a_team_is_created_on_a_phone,
    an_archive_is_uploaded_and_its_report_read,
    no_page_has_a_critical_accessibility_violation,
);
