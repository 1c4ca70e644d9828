//! Issue 15: a refused console form names every problem at once beside its field, in the
//! page's language (rules that once had only English words included), and shows again
//! exactly what was typed; the printable judging record names its facts in words.

use actix_web::http::StatusCode;
use actix_web::test::TestRequest;
use serde_json::json;

use crate::common::{Backend, TestApp};
use crate::consoles::{close_phases, two_evaluated};
use crate::judging_pages::{open, post};
use crate::on_both_backends;
use crate::pages::sign_in;

/// Problems whose words were free English text before they had a rule (a phase that closes
/// before it opens, an unknown team) read in the page's language.
async fn refusals_of_former_free_text_rules_read_in_chinese(backend: Backend) {
    let app = TestApp::new(backend).await;
    let clerk = sign_in(&app, &app.world.konggang.token.clone()).await;
    let backwards = post(
        &app,
        &clerk,
        "/console/scenarios/kg-draft/phases",
        &[
            ("name", "初赛"),
            ("opens_at", "2027-01-02T08:00"),
            ("closes_at", "2027-01-01T08:00"),
        ],
    )
    .await;
    assert_eq!(backwards.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        backwards
            .text
            .contains("截止（北京时间）：须晚于开始时间。"),
        "{}",
        backwards.text
    );
    assert!(!backwards.text.contains("must be"), "{}", backwards.text);

    // A team's page: enrolling a team that does not exist.
    let alice = sign_in(&app, &app.world.alice.token.clone()).await;
    let unknown = post(
        &app,
        &alice,
        "/scenarios/kg-open/enrol",
        &[("team_id", "team-nope")],
    )
    .await;
    assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        unknown.text.contains("没有编号为 team-nope 的团队。"),
        "{}",
        unknown.text
    );

    let english = post(
        &app,
        &clerk,
        "/console/scenarios/kg-draft/phases?lang=en",
        &[
            ("name", "Round 1"),
            ("opens_at", "2027-01-02T08:00"),
            ("closes_at", "2027-01-01T08:00"),
        ],
    )
    .await;
    assert!(
        english
            .text
            .contains("Must be later than the opening time."),
        "{}",
        english.text
    );
}

/// The sponsorship form refused keeps the amount exactly as typed, its problem beside it.
async fn a_refused_sponsorship_keeps_what_was_typed(backend: Backend) {
    let app = TestApp::new(backend).await;
    let clerk = sign_in(&app, &app.world.konggang.token.clone()).await;
    for typed in ["12.345", "十二元", " 7,5 ", "-5"] {
        let refused = post(
            &app,
            &clerk,
            "/console/scenarios/kg-open/sponsorship",
            &[("daily_cny_per_team", typed)],
        )
        .await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{typed}");
        let kept = format!("name=\"daily_cny_per_team\" inputmode=\"decimal\" value=\"{typed}\"");
        assert!(
            refused.text.contains(&kept),
            "{typed:?} not kept: {}",
            refused.text
        );
        assert!(
            refused
                .text
                .contains("aria-describedby=\"daily_cny_per_team-error\"")
                && refused
                    .text
                    .contains("id=\"daily_cny_per_team-error\" role=\"alert\">须为人民币金额"),
            "the problem beside the field, in Chinese: {}",
            refused.text
        );
    }
    // Nothing was saved: the page shows no sponsorship in force.
    let page = open(&app, &clerk, "/console/scenarios/kg-open/edit").await;
    assert!(
        page.text
            .contains("name=\"daily_cny_per_team\" inputmode=\"decimal\" value=\"\""),
        "{}",
        page.text
    );
}

/// The rubric editor names every problem of every row at once, beside its field, and keeps
/// the rows as typed.
async fn the_rubric_form_names_every_problem_at_once(backend: Backend) {
    let app = TestApp::new(backend).await;
    let clerk = sign_in(&app, &app.world.konggang.token.clone()).await;
    let refused = post(
        &app,
        &clerk,
        "/console/scenarios/kg-open/rubric",
        &[
            ("key_0", "accuracy"),
            ("label_0", "准确率"),
            ("kind_0", "measured"),
            ("measure_0", "score"),
            ("weight_0", "七十"),
            ("key_1", "Bad Key"),
            ("label_1", "技术报告"),
            ("kind_1", "judged"),
            ("measure_1", ""),
            ("weight_1", "30"),
            ("guidance_1", ""),
            ("key_2", "speed"),
            ("label_2", "速度"),
            ("kind_2", "measured"),
            ("measure_2", "score"),
            ("weight_2", "10"),
        ],
    )
    .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    let text = &refused.text;
    for (field, words) in [
        ("weight_0", "权重：须在 1 到 100 之间。"),
        ("key_1", "键名：须为 2–64 个小写字母"),
        ("guidance_1", "请写明评分说明"),
        ("measure_2", "实测项：已有另一个项目测量得分。"),
    ] {
        assert!(
            text.contains(&format!("aria-describedby=\"{field}-error\""))
                && text.contains(&format!("id=\"{field}-error\">{words}")),
            "{field}: {words} missing: {text}"
        );
    }
    for typed in ["value=\"七十\"", "value=\"Bad Key\"", "value=\"速度\""] {
        assert!(text.contains(typed), "{typed} not kept");
    }
    assert!(!text.contains("must be"), "{text}");

    // The API answers the same rules with each problem's rule and parameters.
    let reply = app
        .put(
            "/api/v1/scenarios/kg-open/rubric",
            app.world.konggang.token(),
            Some(json!({"blind": false, "criteria": [
                {"key": "accuracy", "label": "Accuracy", "kind": "measured", "measure": "score", "weight": 70},
                {"key": "accuracy", "label": "Report", "kind": "judged", "weight": 0, "guidance": "1: none"},
            ]})),
        )
        .await;
    assert_eq!(reply.status, 422, "{:?}", reply.body);
    let fields = &reply.body["error"]["fields"];
    assert_eq!(fields[0]["field"], "criteria[1].key");
    assert_eq!(fields[0]["rule"], "used_twice");
    assert_eq!(fields[0]["params"]["value"], "accuracy");
    assert_eq!(fields[1]["rule"], "out_of_range");
    assert_eq!(fields[1]["params"], json!({"min": "1", "max": "100"}));
}

/// The printable record's criterion column names the record's own facts in words, with
/// amounts in yuan, and criteria by their labels: no `amount_fen` or `blind` on the page.
async fn the_printable_record_has_no_key_names(backend: Backend) {
    let app = TestApp::new(backend).await;
    let w = app.world.clone();
    two_evaluated(&app).await;
    let rubric = app
        .put(
            "/api/v1/scenarios/kg-open/rubric",
            w.konggang.token(),
            Some(json!({"blind": false, "criteria": [
                {"key": "accuracy", "label": "准确率", "kind": "measured", "measure": "score", "weight": 100},
            ]})),
        )
        .await;
    assert_eq!(rubric.status, 200, "{:?}", rubric.body);
    close_phases(&app, "kg-open");
    let award = app
        .put(
            "/api/v1/scenarios/kg-open/award",
            w.konggang.token(),
            Some(json!({"reasons": "最高分", "winners": [
                {"team_id": w.team_a.as_str(), "amount_fen": 6_000_000, "reason": "第一"},
            ]})),
        )
        .await;
    assert_eq!(award.status, 200, "{:?}", award.body);
    let announced = app
        .post(
            "/api/v1/scenarios/kg-open/award/announce",
            w.konggang.token(),
            json!({}),
        )
        .await;
    assert!(announced.status.is_success(), "{:?}", announced.body);
    let clerk = sign_in(&app, &w.konggang.token.clone()).await;
    for (path, wanted) in [
        (
            "/console/scenarios/kg-open/judging/record",
            [
                "<td>匿名评审</td><td>否</td>",
                "<td>奖金（元）</td><td>60,000.00</td>",
                "<td>悬赏金额（元）</td><td>100,000.00</td>",
                "<td>异议截止时间</td>",
                "<td>状态</td>",
                "<td>准确率</td>",
            ],
        ),
        (
            "/console/scenarios/kg-open/judging/record?lang=en",
            [
                "<td>Blind judging</td><td>no</td>",
                "<td>Prize (CNY)</td><td>60,000.00</td>",
                "<td>Bounty (CNY)</td><td>100,000.00</td>",
                "<td>Objections close</td>",
                "<td>State</td>",
                "<td>准确率</td>",
            ],
        ),
    ] {
        let record = open(&app, &clerk, path).await;
        assert_eq!(record.status, StatusCode::OK, "{}", record.text);
        for words in wanted {
            assert!(record.text.contains(words), "{words}: {}", record.text);
        }
        for raw in [
            "blind",
            "amount_fen",
            "bounty_fen",
            "objections_close_at",
            "<td>state</td>",
            "<td>accuracy</td>",
        ] {
            assert!(!record.text.contains(raw), "{raw} in {}", record.text);
        }
    }
    // The CSV keeps the fact names: it is read by programs.
    let csv = app
        .page(
            TestRequest::get()
                .uri("/api/v1/scenarios/kg-open/judging/record.csv")
                .insert_header(("Authorization", format!("Bearer {}", w.konggang.token))),
        )
        .await;
    assert!(csv.text.contains(",amount_fen,6000000,"), "{}", csv.text);
}

on_both_backends!(
    refusals_of_former_free_text_rules_read_in_chinese,
    a_refused_sponsorship_keeps_what_was_typed,
    the_rubric_form_names_every_problem_at_once,
    the_printable_record_has_no_key_names,
);
