//! Judging in a real headless Chromium, in Chinese: the department's rubric editor names
//! every problem at once; a judge scores a finalist beside its
//! report card and PDF (desktop and phone width); a signed-in visitor reads the public
//! announcement (公示) and files an objection; the department answers it.

use serde_json::json;

use crate::browser::{Size, require_chromium};
use crate::browser_flow::{expect_text, signed_in};
use crate::common::{Backend, TestApp};
use crate::consoles::{close_phases, two_evaluated};
use crate::on_one_backend;
use crate::technical_reports::{attach, pdf};

async fn put(app: &TestApp, path: &str, token: &str, body: serde_json::Value) {
    let reply = app.put(path, Some(token), Some(body)).await;
    assert!(reply.status.is_success(), "{path}: {:?}", reply.body);
}

async fn judging_in_a_browser(backend: Backend) {
    if !require_chromium() {
        return;
    }
    let app = TestApp::new(backend).await;
    let base = app.serve_http();
    let w = app.world.clone();
    let (a, _) = two_evaluated(&app).await;
    let (team_a, team_b) = (w.team_a.as_str(), w.team_b.as_str());
    assert_eq!(
        attach(&app, &a, w.alice.token(), pdf("Team A"))
            .await
            .status,
        201
    );
    put(
        &app,
        "/api/v1/scenarios/kg-open/rubric",
        &w.konggang.token,
        json!({"criteria": [
            {"key": "accuracy", "label": "准确率", "kind": "measured", "measure": "score", "weight": 60},
            {"key": "latency", "label": "延迟", "kind": "measured", "measure": "latency", "weight": 10},
            {"key": "report", "label": "技术报告", "kind": "judged", "weight": 20,
             "guidance": "1：没有报告；10：清晰、可复现、可部署"},
            {"key": "value", "label": "应用价值", "kind": "judged", "weight": 10,
             "guidance": "1：难以落地；10：可直接在新城部署"},
        ]}),
    )
    .await;
    put(
        &app,
        &format!("/api/v1/scenarios/kg-open/panel/{}", w.judge.id),
        &w.konggang.token,
        json!(null),
    )
    .await;
    put(
        &app,
        "/api/v1/scenarios/kg-open/declaration",
        &w.judge.token,
        json!({"institutions": []}),
    )
    .await;
    // While the rubric may change, on a phone, its editor names every row's problem at
    // once, each under its row and naming its field, and keeps what was typed.
    let editor = signed_in(
        "judging-rubric-errors",
        &base,
        &w.konggang,
        "/console/scenarios/kg-open/judging",
    )
    .await;
    editor.resize(Size::Phone).await;
    editor
        .script(
            "document.querySelector('input[name=weight_0]').value = '六十'; \
             document.querySelector('textarea[name=guidance_2]').value = ''; return true;",
        )
        .await;
    editor.click("#rubric-form button[type=submit]").await;
    editor
        .wait_for_script(
            "the rubric's problems",
            "return !!document.getElementById('weight_0-error') \
               && !!document.getElementById('guidance_2-error');",
            json!(true),
        )
        .await;
    expect_text(&editor, "#weight_0-error", "权重：须在 1 到 100 之间。").await;
    expect_text(&editor, "#guidance_2-error", "请写明评分说明").await;
    assert_eq!(
        editor
            .script("return document.querySelector('input[name=weight_0]').value;")
            .await,
        json!("六十"),
        "what was typed is kept"
    );
    editor.expect_no_sideways_scroll().await;
    editor
        .script("document.getElementById('weight_0-error').scrollIntoView(); return true;")
        .await;
    editor.screenshot("rubric-errors-phone").await;
    editor.close().await;
    close_phases(&app, "kg-open");

    // The judge scores Team A beside its report card and PDF.
    let scoring = format!("/console/judging/kg-open/finalists/{team_a}");
    let judge = signed_in("judging-judge", &base, &w.judge, &scoring).await;
    expect_text(&judge, "#report-card", "0.8900").await;
    expect_text(&judge, "#report-link", "PDF").await;
    judge.text("iframe.report-frame").await;
    expect_text(&judge, "#others-hidden", "提交您自己的评分后").await;
    // On a phone, a sheet sent with nothing chosen names both criteria at once, each
    // beside its own choice, in Chinese.
    judge.resize(Size::Phone).await;
    judge.click("#score-form button[type=submit]").await;
    judge
        .wait_for_script(
            "both problems beside their fields",
            "return !!document.getElementById('score-report-error') \
               && !!document.getElementById('score-value-error');",
            json!(true),
        )
        .await;
    expect_text(&judge, "#score-report-error", "请为每个评审项目打分").await;
    expect_text(&judge, "#score-value-error", "请为每个评审项目打分").await;
    judge.expect_no_sideways_scroll().await;
    judge.screenshot("score-errors-phone").await;
    judge.resize(Size::Desktop).await;
    judge.screenshot("score-desktop-before").await;
    judge.fill("select[name='score.report']", "8").await;
    judge.fill("select[name='score.value']", "7").await;
    judge
        .fill(
            "#score-form textarea[name=comment]",
            "报告清楚，部署步骤完整。",
        )
        .await;
    judge.click("#score-form button[type=submit]").await;
    judge
        .wait_for_url("the sheet saved", |url| url.query() == Some("saved=1"))
        .await;
    expect_text(&judge, "#saved", "评分已提交").await;
    judge.screenshot("score-desktop").await;
    judge.resize(Size::Phone).await;
    judge
        .open(&format!(
            "{base}/console/judging/kg-open/finalists/{team_b}"
        ))
        .await;
    expect_text(&judge, "#report-card", "0.7900").await;
    expect_text(&judge, "#report-card", "未提交技术报告").await;
    judge.screenshot("score-phone").await;
    judge.open(&format!("{base}/console/judging/kg-open")).await;
    expect_text(&judge, "#finalists", "已评分").await;
    judge.screenshot("panel-phone").await;
    judge.close().await;
    let sheets = app
        .get("/api/v1/scenarios/kg-open/judging", w.konggang.token())
        .await;
    assert_eq!(sheets.body["sheets"][0]["scores"]["report"], 8);
    assert_eq!(sheets.body["sheets"][0]["scores"]["value"], 7);

    // On a phone, the award form names every wrong field at once, beside each.
    let clerk = signed_in(
        "judging-award-errors",
        &base,
        &w.konggang,
        "/console/scenarios/kg-open/judging",
    )
    .await;
    clerk.resize(Size::Phone).await;
    clerk.click(&format!("input[name=winner_{team_a}]")).await;
    clerk
        .fill(&format!("input[name=amount_{team_a}]"), "八万")
        .await;
    clerk.fill("input[name=objection_days]", "天").await;
    clerk.click("#award-form button[type=submit]").await;
    clerk
        .wait_for_script(
            "the award's problems",
            &format!(
                "return !!document.getElementById('amount_{team_a}-error') \
                   && !!document.getElementById('reason_{team_a}-error') \
                   && !!document.getElementById('objection_days-error');"
            ),
            json!(true),
        )
        .await;
    expect_text(
        &clerk,
        &format!("#amount_{team_a}-error"),
        "须为以元为单位的金额",
    )
    .await;
    expect_text(&clerk, &format!("#reason_{team_a}-error"), "必填").await;
    expect_text(&clerk, "#objection_days-error", "须为 0 或正整数").await;
    let kept = clerk
        .run_script(
            &format!("return document.querySelector('input[name=amount_{team_a}]').value;"),
            vec![],
        )
        .await;
    assert_eq!(kept, json!("八万"), "what was typed is kept");
    clerk.expect_no_sideways_scroll().await;
    clerk.screenshot("award-errors-phone").await;
    clerk.close().await;

    // The department decides and announces; a visitor objects on the public page.
    put(
        &app,
        "/api/v1/scenarios/kg-open/award",
        &w.konggang.token,
        json!({"reasons": "总分第一，且在延迟预算内。", "winners": [
            {"team_id": team_a, "amount_fen": 8_000_000, "reason": "总分第一"},
        ]}),
    )
    .await;
    let announced = app
        .post(
            "/api/v1/scenarios/kg-open/award/announce",
            w.konggang.token(),
            json!({}),
        )
        .await;
    assert_eq!(announced.status, 200, "{:?}", announced.body);
    let carol = signed_in(
        "judging-visitor",
        &base,
        &w.carol,
        "/scenarios/kg-open/announcement",
    )
    .await;
    carol.resize(Size::Phone).await;
    expect_text(&carol, "#winners", "Team A").await;
    expect_text(&carol, "#winners", "¥80,000.00").await;
    expect_text(&carol, "#award-state", "公示中").await;
    carol
        .fill(
            "#objection-form textarea[name=text]",
            "请说明 B 队的延迟是否按同一标准测得。",
        )
        .await;
    carol.click("#objection-form button[type=submit]").await;
    carol
        .wait_for_url("the objection filed", |url| url.query() == Some("filed=1"))
        .await;
    expect_text(&carol, "#objections", "请说明 B 队的延迟").await;
    carol.screenshot("announcement-phone").await;
    carol.close().await;

    // The department answers it on its judging page.
    let clerk = signed_in(
        "judging-department",
        &base,
        &w.konggang,
        "/console/scenarios/kg-open/judging",
    )
    .await;
    expect_text(&clerk, "#totals", "Team A").await;
    clerk
        .fill(
            ".answer-form textarea[name=text]",
            "两队的延迟均由同一评测节点按同一负载测得。",
        )
        .await;
    clerk.click(".answer-form button[type=submit]").await;
    clerk
        .wait_for_url("the answer saved", |url| {
            url.query() == Some("saved=answer")
        })
        .await;
    expect_text(&clerk, "#answer", "同一评测节点").await;
    clerk.screenshot("decision-desktop").await;
    clerk
        .open(&format!("{base}/console/scenarios/kg-open/judging/record"))
        .await;
    expect_text(&clerk, "#record-answer", "同一评测节点").await;
    clerk.screenshot("record").await;
    clerk.close().await;
    let public = app
        .get("/api/v1/scenarios/kg-open/announcement", None)
        .await;
    assert!(
        public.body["objections"][0]["answer"]
            .as_str()
            .unwrap()
            .contains("同一评测节点")
    );
}

on_one_backend!(judging_in_a_browser);
