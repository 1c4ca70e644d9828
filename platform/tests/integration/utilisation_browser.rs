//! The operator's utilisation charts in a real headless Chromium at phone width, in
//! Chinese: from the console to the charts, the 50 % line drawn, nothing wider than the
//! phone, and the week's view one tap away.

use jiebang_platform::db::models::usage_samples::{self, UsageSample};
use jiebang_platform::db::now_millis;
use serde_json::json;

use crate::browser::{Size, require_chromium};
use crate::browser_flow::signed_in;
use crate::common::{Backend, TestApp};
use crate::on_one_backend;

async fn utilisation_charts_on_a_phone(backend: Backend) {
    if !require_chromium() {
        return;
    }
    let app = TestApp::new(backend).await;
    let token = app.worker_token();
    let worker = app
        .register_worker(
            &token,
            json!({"name": "mlu-node-with-a-long-name-01", "cpus": 2, "memory_mb": 8192,
                "accelerators": [{"id": "0", "model": "MLU370"}]}),
        )
        .await;
    let hour = now_millis().div_euclid(3_600_000) * 3_600_000;
    let rows: Vec<UsageSample> = (0..40)
        .map(|m| UsageSample {
            worker_id: worker.clone(),
            node: "mlu-node-with-a-long-name-01".into(),
            device_id: "0".into(),
            model: "MLU370".into(),
            scenario_id: "fengxi-handwritten-digits".into(),
            town: "fengxi".into(),
            job_id: "job-1".into(),
            period_start: hour - 3_600_000 + m * 60_000,
            period_seconds: 60,
            leased_seconds: 60.0,
            busy_percent: Some(75.0),
            busy_samples: 12,
            memory_peak_bytes: Some(1 << 30),
        })
        .collect();
    app.read(move |conn| usage_samples::record_job(conn, "job-1", &rows));

    let base = app.serve_http();
    let browser = signed_in(
        &format!("utilisation-{backend:?}"),
        &base,
        &app.world.operator,
        "/console/operator",
    )
    .await;
    browser.resize(Size::Phone).await;
    browser.click("#utilisation-link").await;
    browser
        .wait_for_url("the utilisation page", |url| {
            url.path() == "/console/operator/utilisation"
        })
        .await;
    browser
        .expect_texts(&[
            "各节点繁忙度",
            "各设备型号繁忙度",
            "设备工具报告的繁忙度",
            "fengxi",
            "每小时评测数",
        ])
        .await;
    // The charts are drawn at the phone's width: each has its line and the 50 % line.
    let drawn = browser
        .script(
            "const svg = document.getElementById('busy-by-node'); \
             const box = svg.getBoundingClientRect(); \
             return [svg.querySelectorAll('polyline.series').length, \
                     svg.querySelectorAll('line.reference').length, \
                     box.width > 300 && box.width <= window.innerWidth];",
        )
        .await;
    if drawn != json!([1, 1, true]) {
        browser
            .fail(&format!(
                "the node chart is not drawn as it should be: {drawn}"
            ))
            .await;
    }
    browser.expect_no_sideways_scroll().await;
    browser.screenshot("utilisation-phone").await;
    browser.click("#ranges a[href$='range=week']").await;
    browser
        .wait_for_url("the week's view", |url| url.query() == Some("range=week"))
        .await;
    let buckets = browser
        .script(
            "return document.querySelector('#busy-by-model polyline.series') \
             .getAttribute('points').split(' ').length",
        )
        .await;
    if buckets != json!(28) {
        browser
            .fail(&format!("a week is 28 six-hour buckets, drawn {buckets}"))
            .await;
    }
    browser.close().await;
}

on_one_backend!(utilisation_charts_on_a_phone);
