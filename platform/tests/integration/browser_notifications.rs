//! Notifications in a real headless Chromium at phone width, in Chinese: the bell counts
//! the unread, the list says each with its link, "mark all as read" empties the bell.

use crate::browser::{Size, require_chromium};
use crate::browser_flow::{expect_text, signed_in};
use crate::common::{Backend, TestApp};
use crate::consoles::two_evaluated;
use crate::notifications::invite;
use crate::on_one_backend;

/// In a real headless Chromium at phone width, in Chinese: the bell, the list, mark all read.
async fn notifications_in_a_browser(backend: Backend) {
    if !require_chromium() {
        return;
    }
    let app = TestApp::new(backend).await;
    let base = app.serve_http();
    let w = app.world.clone();
    two_evaluated(&app).await;
    invite(&app, &w.bob, w.team_b.as_str(), "alice").await;
    let alice = signed_in("notifications", &base, &w.alice, "/notifications").await;
    alice.resize(Size::Phone).await;
    alice.open(&format!("{base}/notifications")).await;
    expect_text(&alice, "#bell", "2").await;
    expect_text(&alice, ".notifications", "邀请您加入团队“Team B”").await;
    alice.screenshot("phone-zh").await;
    alice.click("#read-all button[type=submit]").await;
    alice
        .wait_for_script(
            "the bell stops counting",
            "const bell = document.getElementById('bell'); return !!bell && !bell.textContent.includes('2');",
            serde_json::json!(true),
        )
        .await;
    expect_text(&alice, ".notifications", "已完成评测").await;
    alice.screenshot("phone-zh-read").await;
    alice.close().await;
}

on_one_backend!(notifications_in_a_browser);
