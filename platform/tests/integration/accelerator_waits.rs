//! A job whose scenario asks for accelerators no node can give waits in the queue, and
//! the team's submission page and the operator's console say why: no node has that many
//! devices of the model, or every node that has them is busy.

use actix_web::cookie::Cookie;
use serde_json::json;

use crate::common::{Backend, TestApp, copy_test_package, edit};
use crate::on_both_backends;
use crate::pages::{get, sign_in};

async fn a_job_waiting_for_an_accelerator_says_why(backend: Backend) {
    let app = TestApp::new(backend).await;
    let dir = tempfile::tempdir().unwrap();
    let package = copy_test_package(dir.path(), "mlu");
    edit(&package.join("scenario.toml"), |t| {
        t.replace(
            "[split]",
            "[resources]\naccelerators = 1\naccelerator_model = \"MLU370\"\n\n[split]",
        )
    });
    app.load_catalog(dir.path());
    let w = &app.world;
    let first = app
        .submit("test-parcel-delay", &w.alice, w.team_a.as_str(), b"mlu one")
        .await;

    // No node at all: the operator must add one.
    let overview = app.get("/api/v1/admin/overview", w.operator.token()).await;
    let waits = &overview.body["queue"]["accelerator_waits"];
    assert_eq!(waits.as_array().unwrap().len(), 1, "{waits}");
    assert_eq!(waits[0]["submission_id"], first.as_str());
    assert_eq!(waits[0]["count"], 1);
    assert_eq!(waits[0]["model"], "MLU370");
    assert_eq!(waits[0]["shortage"], "no_node");
    let alice = sign_in(&app, &w.alice.token).await.0;
    let page = app
        .page(
            get(&format!("/submissions/{first}"))
                .cookie(alice.clone())
                .cookie(Cookie::new("lang", "en")),
        )
        .await;
    assert!(
        page.text.contains("id=\"waiting-accelerator\""),
        "{}",
        page.text
    );
    assert!(
        page.text.contains("no live node has 1 MLU370 device(s)"),
        "{}",
        page.text
    );

    // A CPU node and an Ascend node do not change that; an MLU node takes the job.
    let token = app.worker_token();
    let register = |body: serde_json::Value| app.register_worker(&token, body);
    register(json!({"name": "cpu", "cpus": 2, "memory_mb": 8192})).await;
    register(json!({"name": "ascend", "cpus": 2, "memory_mb": 8192,
        "accelerators": [{"id": "0", "model": "910B"}]}))
    .await;
    let overview = app.get("/api/v1/admin/overview", w.operator.token()).await;
    assert_eq!(
        overview.body["queue"]["accelerator_waits"][0]["shortage"],
        "no_node"
    );
    let mlu = register(json!({"name": "mlu-1", "cpus": 2, "memory_mb": 8192,
        "accelerators": [{"id": "0", "model": "MLU370"}]}))
    .await;
    let claim = app
        .post(
            "/internal/v1/jobs/claim",
            Some(&token),
            json!({"worker_id": mlu}),
        )
        .await;
    assert_eq!(claim.status, 200);
    assert_eq!(claim.body["submission_id"], first.as_str());

    // The next one waits its turn: the only MLU370 node is busy.
    let second = app
        .submit("test-parcel-delay", &w.bob, w.team_b.as_str(), b"mlu two")
        .await;
    let overview = app.get("/api/v1/admin/overview", w.operator.token()).await;
    let waits = overview.body["queue"]["accelerator_waits"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(
        waits.len(),
        1,
        "the running job waits for nothing: {waits:?}"
    );
    assert_eq!(waits[0]["submission_id"], second.as_str());
    assert_eq!(waits[0]["shortage"], "none_free");
    let operator = sign_in(&app, &w.operator.token).await.0;
    let en = app
        .page(
            get("/console/operator")
                .cookie(operator.clone())
                .cookie(Cookie::new("lang", "en")),
        )
        .await;
    assert!(en.text.contains("id=\"accelerator-waits\""), "{}", en.text);
    assert!(
        en.text
            .contains("no node has a free MLU370 device (1 needed)"),
        "{}",
        en.text
    );
    let zh = app.page(get("/console/operator").cookie(operator)).await;
    assert!(zh.text.contains("等待加速卡"), "{}", zh.text);
    assert!(
        zh.text
            .contains("没有节点有空闲的 MLU370 设备（需要 1 块）"),
        "{}",
        zh.text
    );
    // The first submission runs: its page no longer says it waits.
    let page = app
        .page(get(&format!("/submissions/{first}")).cookie(alice))
        .await;
    assert!(!page.text.contains("waiting-accelerator"), "{}", page.text);
}

on_both_backends!(a_job_waiting_for_an_accelerator_says_why);
