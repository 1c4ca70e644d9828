//! An organisation's compute account in a real headless Chromium at phone width, in
//! Chinese: from the team page to the balance, the vouchers and the month's statement, and
//! the charge on the submission's own page.

use serde_json::json;

use crate::browser::{Size, require_chromium};
use crate::browser_flow::signed_in;
use crate::common::{Backend, TestApp};
use crate::consoles::{evaluate_next, register_worker, report};
use crate::on_one_backend;

async fn an_organisation_account_on_a_phone(backend: Backend) {
    if !require_chromium() {
        return;
    }
    let app = TestApp::new(backend).await;
    let w = &app.world;
    let now = jiebang_platform::db::now_millis();
    let day = 24 * 3600 * 1000;
    let price = app
        .post(
            "/api/v1/prices",
            w.operator.token(),
            json!({"kind": "device", "model": "A100", "fen_per_hour": 2000, "valid_from": now - day}),
        )
        .await;
    assert_eq!(price.status, 201, "{:?}", price.body);
    let team = app
        .get(&format!("/api/v1/teams/{}", w.team_a), w.alice.token())
        .await;
    let organization = team.body["organization_id"].as_str().unwrap().to_owned();
    let voucher = app
        .post(
            "/api/v1/vouchers",
            w.operator.token(),
            json!({"organization_id": organization, "face_value_fen": 100_000,
                   "subsidy_percent": 50, "valid_from": now - day, "valid_until": now + 30 * day}),
        )
        .await;
    assert_eq!(voucher.status, 201, "{:?}", voucher.body);
    let token = app.worker_token();
    let worker = register_worker(&app, &token).await;
    let submission = app.team_a_submits(b"an image on a voucher").await;
    evaluate_next(&app, &token, &worker, report(0.9, 1800.0)).await;

    let base = app.serve_http();
    let team_page = format!("/teams/{}", w.team_a);
    let browser = signed_in(&format!("account-{backend:?}"), &base, &w.alice, &team_page).await;
    browser.resize(Size::Phone).await;
    browser.click("#account-link").await;
    browser
        .wait_for_url("the organisation's account", |url| {
            url.path() == format!("/organizations/{organization}")
        })
        .await;
    let balance = browser.text("#balance").await;
    if balance != "¥995.00" {
        browser
            .fail(&format!("the balance reads `{balance}`"))
            .await;
    }
    browser
        .expect_texts(&[
            "可用算力券余额",
            "补贴 50%",
            "月度账单",
            "kg-open · Team A",
            "A100 · 1800.000 秒 × ¥20.00/小时 = ¥10.00",
            "算力券补贴 ¥5.00 · 自付 ¥5.00",
        ])
        .await;
    // Nothing on the page is wider than the phone.
    browser.expect_no_sideways_scroll().await;
    let shot = browser.screenshot("organization-phone").await;
    eprintln!("screenshot: {}", shot.display());
    browser
        .script("document.getElementById('statement-totals').scrollIntoView()")
        .await;
    browser.screenshot("organization-phone-statement").await;

    // The submission's own page says what its evaluation cost and who paid.
    browser
        .open(&format!("{base}/submissions/{submission}"))
        .await;
    browser
        .expect_texts(&[
            "算力费用",
            "A100 · 1800.000 秒 × ¥20.00/小时 = ¥10.00",
            "算力券补贴 ¥5.00 · 自付 ¥5.00",
        ])
        .await;
    browser.expect_no_sideways_scroll().await;
    browser
        .script("document.getElementById('charges').scrollIntoView()")
        .await;
    browser.screenshot("submission-charge-phone").await;
    browser.close().await;
}

on_one_backend!(an_organisation_account_on_a_phone);
