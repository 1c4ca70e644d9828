//! The story of issue 6 in a real headless Chromium: a department clerk posts a scenario in
//! the console and it appears on the opportunity list; a team member signs in, enrols with
//! the scenario page's button and finds the team's evaluated submission on the leaderboard;
//! a judge writes a review; an anonymous visitor is refused the private board.

use crate::browser::{Browser, Size, require_chromium};
use crate::common::{Actor, Backend, TestApp};
use crate::consoles::{evaluate_next, register_worker, report};
use crate::on_one_backend;
use crate::packages::package_tar;

/// Signs `who` in through the token form and lands on `then`.
pub(crate) async fn signed_in(name: &str, base: &str, who: &Actor, then: &str) -> Browser {
    let browser = Browser::start(name, Size::Desktop).await;
    browser
        .open(&format!("{base}/auth/login?return_to={then}"))
        .await;
    browser.fill("#token", &who.token).await;
    browser
        .click("form[action='/auth/login'] button[type=submit]")
        .await;
    browser
        .wait_for_url("signed in", |url| url.path() == then)
        .await;
    browser
}

pub(crate) async fn expect_text(browser: &Browser, css: &str, wanted: &str) {
    let text = browser.text(css).await;
    if !text.contains(wanted) {
        browser
            .fail(&format!("expected `{wanted}` in {css}, found: {text}"))
            .await;
    }
}

/// How many public files a scenario serves (to its department while it is a draft).
async fn files_of(app: &TestApp, scenario: &str) -> usize {
    let files = app
        .get(
            &format!("/api/v1/scenarios/{scenario}/files"),
            app.world.konggang.token(),
        )
        .await;
    files.body["files"].as_array().map_or(0, Vec::len)
}

async fn the_platform_in_a_browser(backend: Backend) {
    if !require_chromium() {
        return;
    }
    let app = TestApp::new(backend).await;
    let base = app.serve_http();
    let w = &app.world;

    // A Konggang clerk posts a scenario, opens a phase and publishes it.
    let clerk = signed_in(
        &format!("flow-clerk-{backend:?}"),
        &base,
        &w.konggang,
        "/console/scenarios/new",
    )
    .await;
    clerk.fill("input[name=id]", "kg-cargo-eta").await;
    clerk
        .fill("input[name=title_zh]", "航空货运到港时间预测")
        .await;
    clerk
        .fill("input[name=title_en]", "Air cargo arrival time")
        .await;
    clerk.fill("input[name=domain]", "logistics").await;
    clerk.fill("input[name=bounty_cny]", "300000").await;
    clerk.fill("input[name=latency_budget_ms]", "20").await;
    clerk.fill("input[name=daily_quota]", "5").await;
    clerk.click("#scenario-form button[type=submit]").await;
    clerk
        .wait_for_url("the scenario's edit page", |url| {
            url.path() == "/console/scenarios/kg-cargo-eta/edit"
        })
        .await;
    let now = chrono::Utc::now();
    clerk.fill("#phase-form input[name=name]", "初赛").await;
    clerk
        .fill(
            "#phase-form input[name=opens_at]",
            &(now - chrono::Duration::hours(1)).to_rfc3339(),
        )
        .await;
    clerk
        .fill(
            "#phase-form input[name=closes_at]",
            &(now + chrono::Duration::days(30)).to_rfc3339(),
        )
        .await;
    clerk.click("#phase-form button[type=submit]").await;
    clerk
        .wait_for_url("the phase saved", |url| url.query() == Some("saved=1"))
        .await;

    // The package: one whose id is another scenario's is refused with the problem listed,
    // then the right one is taken and its public files become downloadable.
    let archives = tempfile::tempdir().unwrap();
    let wrong = archives.path().join("wrong.tar");
    std::fs::write(&wrong, package_tar(|_| {})).unwrap();
    clerk
        .fill(
            "#package-form input[name=package]",
            &wrong.to_string_lossy(),
        )
        .await;
    clerk.click("#package-form button[type=submit]").await;
    clerk
        .wait_for_url("the refusal", |url| url.path().ends_with("/package"))
        .await;
    expect_text(&clerk, "#package", "scenario.toml").await;
    assert_eq!(files_of(&app, "kg-cargo-eta").await, 0, "nothing installed");
    let right = archives.path().join("right.tar");
    std::fs::write(
        &right,
        package_tar(|dir| {
            let manifest = dir.join("scenario.toml");
            let text = std::fs::read_to_string(&manifest)
                .unwrap()
                .replace("id = \"test-parcel-delay\"", "id = \"kg-cargo-eta\"");
            std::fs::write(manifest, text).unwrap();
        }),
    )
    .unwrap();
    clerk
        .fill(
            "#package-form input[name=package]",
            &right.to_string_lossy(),
        )
        .await;
    clerk.click("#package-form button[type=submit]").await;
    clerk
        .wait_for_url("the edit page again", |url| url.query() == Some("saved=1"))
        .await;
    for _ in 0..50 {
        if files_of(&app, "kg-cargo-eta").await > 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    if files_of(&app, "kg-cargo-eta").await == 0 {
        let page = clerk.text("main").await;
        clerk
            .fail(&format!(
                "the package's public files are not served; the page: {page}"
            ))
            .await;
    }
    // From a fresh edit page, so the redirect after publishing is a change of address.
    clerk
        .open(&format!("{base}/console/scenarios/kg-cargo-eta/edit"))
        .await;
    clerk.click("#publish-button").await;
    clerk
        .wait_for_url("published", |url| url.query() == Some("saved=1"))
        .await;
    clerk.open(&format!("{base}/?lang=en")).await;
    expect_text(&clerk, "main", "Air cargo arrival time").await;
    clerk.close().await;

    // A team member enrols with the button on the scenario page ...
    let alice = signed_in(
        &format!("flow-team-{backend:?}"),
        &base,
        &w.alice,
        "/scenarios/kg-cargo-eta",
    )
    .await;
    alice
        .click("form[action='/scenarios/kg-cargo-eta/enrol'] button[type=submit]")
        .await;
    alice
        .wait_for_url("back on the scenario page", |url| {
            url.query() == Some("enrolled=1")
        })
        .await;
    // The form posts and the page comes back; wait for the enrolment to be there.
    let mut enrolled = false;
    for _ in 0..50 {
        let enrolments = app
            .get(
                &format!("/api/v1/teams/{}/enrolments", w.team_a),
                w.alice.token(),
            )
            .await;
        if enrolments.body.to_string().contains("kg-cargo-eta") {
            enrolled = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    if !enrolled {
        let page = alice.text("main").await;
        alice
            .fail(&format!(
                "the enrol button did not enrol the team; the page: {page}"
            ))
            .await;
    }
    // ... submits from the command line (as `jiebang submit` does) to the seeded scenario with
    // a package, a worker reports the evaluation, and the board shows the team.
    let submission = app.team_a_submits("an image archive").await;
    let token = app.worker_token();
    let worker = register_worker(&app, &token).await;
    evaluate_next(&app, &token, &worker, report(0.87, 10.0)).await;
    alice
        .open(&format!("{base}/scenarios/kg-open/leaderboard"))
        .await;
    expect_text(&alice, "main", "Team A").await;
    expect_text(&alice, "main", "0.87").await;
    alice
        .open(&format!("{base}/submissions/{submission}"))
        .await;
    expect_text(&alice, "main", "0.87").await;
    // The team's page lists the enrolment the button made.
    alice.open(&format!("{base}/teams/{}", w.team_a)).await;
    expect_text(&alice, "main", "Team A").await;
    expect_text(&alice, "main", "kg-cargo-eta").await;
    alice.close().await;

    // A judge reviews the submission.
    let review_page = format!("/console/submissions/{submission}/review");
    let judge = signed_in(
        &format!("flow-judge-{backend:?}"),
        &base,
        &w.judge,
        &review_page,
    )
    .await;
    judge
        .fill(
            "#review-form textarea[name=text]",
            "Clear gain over the baseline; latency well within budget.",
        )
        .await;
    judge.click("#review-form button[type=submit]").await;
    judge
        .wait_for_url("the review saved", |url| url.query() == Some("saved=1"))
        .await;
    judge.open(&format!("{base}{review_page}")).await;
    expect_text(&judge, "main", "Clear gain over the baseline").await;
    judge.close().await;
    let reviews = app
        .get(
            &format!("/api/v1/submissions/{submission}/reviews"),
            w.judge.token(),
        )
        .await;
    assert_eq!(reviews.status, 200, "{:?}", reviews.body);
    assert!(
        reviews
            .body
            .to_string()
            .contains("Clear gain over the baseline")
    );

    // Anyone may see the public board; the private one of an open phase is refused.
    let visitor = Browser::start(&format!("flow-visitor-{backend:?}"), Size::Phone).await;
    visitor
        .open(&format!("{base}/scenarios/kg-open/leaderboard?lang=en"))
        .await;
    expect_text(&visitor, "main", "Team A").await;
    // In Chinese on the phone: the board with its teams' entries, read in the board's trip.
    visitor
        .open(&format!("{base}/scenarios/kg-open/leaderboard?lang=zh"))
        .await;
    expect_text(&visitor, "main", "提交次数").await;
    expect_text(&visitor, "td.entries", "1").await;
    visitor.expect_no_sideways_scroll().await;
    visitor.screenshot("board-phone-zh").await;
    visitor
        .open(&format!(
            "{base}/scenarios/kg-open/leaderboard?board=private"
        ))
        .await;
    let refused = visitor.text("main").await;
    assert!(
        !refused.contains("Team A"),
        "the private board stays hidden: {refused}"
    );
    visitor.screenshot("private-board-refused").await;
    visitor.close().await;
    let private = app
        .get("/api/v1/scenarios/kg-open/leaderboard?board=private", None)
        .await;
    assert_eq!(private.status, 403);
}

on_one_backend!(the_platform_in_a_browser);
