//! Issue 15's department upload in a real headless Chromium, on a phone in Chinese: a
//! package sent from the edit page with its progress bar, then a second version, whose
//! page says what it changed; a broken package's problems in Chinese; and a refusal read
//! in Chinese with its values.

use crate::browser::{Browser, Size, require_chromium};
use crate::browser_flow::{expect_text, signed_in};
use crate::common::{Backend, TestApp, edit, package_archive};
use crate::on_one_backend;

/// Watches the package form's status line; what it said survives the next page.
async fn watch_progress(browser: &Browser) {
    browser
        .run_script(
            "var s = document.getElementById('package-status');\
             sessionStorage.setItem('seen', '[]');\
             new MutationObserver(function () {\
               var seen = JSON.parse(sessionStorage.getItem('seen'));\
               seen.push(s.textContent + ' | ' + document.getElementById('package-progress').value);\
               sessionStorage.setItem('seen', JSON.stringify(seen));\
             }).observe(s, {childList: true, characterData: true, subtree: true});",
            vec![],
        )
        .await;
}

/// The package of `kg-open` with its budget set to `budget_ms` (the fixture's 20 if
/// `None`), written to `dir/name`.
fn archive_with_budget(
    dir: &std::path::Path,
    name: &str,
    budget_ms: Option<&str>,
) -> std::path::PathBuf {
    let path = dir.join(name);
    let archive = package_archive("kg-open", |dir| {
        if let Some(budget) = budget_ms {
            edit(&dir.join("scenario.toml"), |text| {
                text.replace("budget_ms = 20", &format!("budget_ms = {budget}"))
            });
        }
    });
    std::fs::write(&path, archive).unwrap();
    path
}

/// Chooses `archive` in the edit page's package form and sends it.
async fn send(browser: &Browser, archive: &std::path::Path) {
    browser
        .fill(
            "#package-form input[name=package]",
            &archive.to_string_lossy(),
        )
        .await;
    browser.click("#package-form button[type=submit]").await;
}

async fn upload(browser: &Browser, archive: &std::path::Path) -> Vec<String> {
    watch_progress(browser).await;
    send(browser, archive).await;
    browser
        .wait_for_url("the package saved", |url| url.query() == Some("saved=1"))
        .await;
    let seen = browser
        .run_script("return JSON.parse(sessionStorage.getItem('seen'));", vec![])
        .await;
    serde_json::from_value(seen).unwrap()
}

async fn a_package_version_is_uploaded_with_progress_and_its_changes_shown(backend: Backend) {
    if !require_chromium() {
        return;
    }
    let app = TestApp::new(backend).await;
    let base = app.serve_http();
    let w = app.world.clone();
    let archives = tempfile::tempdir().unwrap();
    let first = archive_with_budget(archives.path(), "v1.tar", None);
    let second = archive_with_budget(archives.path(), "v2.tar", Some("15"));

    let clerk = signed_in(
        "package-versions",
        &base,
        &w.konggang,
        "/console/scenarios/kg-open/edit",
    )
    .await;
    clerk.resize(Size::Phone).await;
    let seen = upload(&clerk, &first).await;
    assert!(
        seen.iter()
            .any(|s| s.starts_with("已上传，正在检查场景包") && s.ends_with("| 100")),
        "the bar reached the end, then the check was announced: {seen:?}"
    );
    expect_text(&clerk, "#package-version", "v1").await;
    // From the page without `?saved=1`, so the wait below is for the second upload's answer.
    clerk
        .open(&format!("{base}/console/scenarios/kg-open/edit"))
        .await;
    let seen = upload(&clerk, &second).await;
    assert!(seen.iter().any(|s| s.ends_with("| 100")), "{seen:?}");
    expect_text(&clerk, "#package-version", "v2").await;
    expect_text(&clerk, "#package-changes", "v2 相对 v1 的变化").await;
    expect_text(&clerk, "#package-changes", "时延预算：20 ms → 15 ms").await;
    expect_text(&clerk, "#package-changes", "有 0 条标注不同").await;
    clerk.expect_no_sideways_scroll().await;
    clerk.screenshot("package-changes-phone").await;

    // A refused package: its problems in Chinese beside the form, the phone's width kept.
    let broken = archive_with_budget(archives.path(), "broken.tar", Some("0.01"));
    clerk
        .open(&format!("{base}/console/scenarios/kg-open/edit"))
        .await;
    send(&clerk, &broken).await;
    expect_text(
        &clerk,
        "#package-problems",
        "低于 1 毫秒的预算测到的是网络而不是模型",
    )
    .await;
    expect_text(&clerk, "#package-version", "v2").await;
    clerk.expect_no_sideways_scroll().await;
    clerk.screenshot("package-problems-phone").await;
    clerk.close().await;

    // A refusal in Chinese, its time in Beijing time.
    let carol = Browser::start("refusal-zh", Size::Phone).await;
    carol
        .open(&format!(
            "{base}/scenarios/kg-open/leaderboard?board=private"
        ))
        .await;
    expect_text(&carol, "main", "私有榜在阶段结束").await;
    expect_text(&carol, "main", "(UTC+8)").await;
    carol.screenshot("refusal-phone").await;
    carol.close().await;
}

on_one_backend!(a_package_version_is_uploaded_with_progress_and_its_changes_shown);
