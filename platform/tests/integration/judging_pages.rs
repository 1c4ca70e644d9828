//! Judging through the pages, as people do it: the department sets the rubric and the
//! panel, judges declare and score beside the report, a conflicted judge is shown the block,
//! the department decides, announces and answers; the public page shows the award (without
//! image digests) and takes an objection; the printable record has no navigation.

use actix_web::cookie::Cookie;
use actix_web::http::StatusCode;
use diesel::prelude::*;

use crate::common::{Backend, Page, TestApp};
use crate::consoles::{close_phases, two_evaluated};
use crate::judging::new_judge;
use crate::on_one_backend;
use crate::pages::{get, post_form, sign_in};
use crate::technical_reports::{attach, pdf};

/// Posts a form as the signed-in `who` (cookie and CSRF token).
pub(crate) async fn post(
    app: &TestApp,
    who: &(Cookie<'static>, String),
    path: &str,
    fields: &[(&str, &str)],
) -> Page {
    let mut all = fields.to_vec();
    all.push(("csrf_token", who.1.as_str()));
    app.page(post_form(path, &all).cookie(who.0.clone())).await
}

pub(crate) async fn open(app: &TestApp, who: &(Cookie<'static>, String), path: &str) -> Page {
    app.page(get(path).cookie(who.0.clone())).await
}

fn saved(page: &Page, section: &str) {
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.text);
    let location = page.location().unwrap();
    assert!(location.contains(&format!("saved={section}")), "{location}");
}

/// The rubric form: accuracy (measured) and a judged report criterion of `report` points.
pub(crate) fn rubric_fields(report: &str) -> Vec<(&'static str, String)> {
    vec![
        ("key_0", "accuracy".into()),
        ("label_0", "准确率".into()),
        ("kind_0", "measured".into()),
        ("measure_0", "score".into()),
        ("weight_0", "70".into()),
        ("key_1", "report".into()),
        ("label_1", "技术报告".into()),
        ("kind_1", "judged".into()),
        ("measure_1", String::new()),
        ("weight_1", report.into()),
        ("guidance_1", "1：没有报告；10：清晰、可复现、可部署".into()),
    ]
}

fn fields<'a>(owned: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    owned.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

async fn judging_and_the_award_through_the_pages(backend: Backend) {
    let app = TestApp::new(backend).await;
    let w = app.world.clone();
    let (a, _) = two_evaluated(&app).await;
    let (team_a, team_b) = (w.team_a.as_str(), w.team_b.as_str());
    // Team B also uploads Team A's image: flagged on the judges' and the department's pages.
    app.submit("kg-open", &w.bob, team_b, "image of team A")
        .await;
    assert_eq!(
        attach(&app, &a, w.alice.token(), pdf("A")).await.status,
        201
    );
    let clerk = sign_in(&app, &w.konggang.token).await;
    let decision = "/console/scenarios/kg-open/judging";

    // The rubric: weights that do not sum to 100 are refused with the typed values kept.
    let short = rubric_fields("20");
    let refused = post(
        &app,
        &clerk,
        "/console/scenarios/kg-open/rubric",
        &fields(&short),
    )
    .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        refused.text.contains("各项权重之和须为 100，现在是 90。"),
        "{}",
        refused.text
    );
    assert!(
        refused.text.contains("value=\"20\""),
        "the typed weight is kept"
    );
    assert!(
        refused.text.contains("指标 1</legend>") && !refused.text.contains("指标 0</legend>"),
        "criteria counted from 1"
    );
    let rubric = rubric_fields("30");
    let set = post(
        &app,
        &clerk,
        "/console/scenarios/kg-open/rubric",
        &fields(&rubric),
    )
    .await;
    saved(&set, "rubric");
    let api = app.get("/api/v1/scenarios/kg-open/rubric", None).await;
    assert_eq!(api.body["criteria"][1]["weight"], 30);

    // The panel, by sign-in name.
    let xjtu = new_judge(&app, "judge-xjtu");
    let nobody = post(
        &app,
        &clerk,
        "/console/scenarios/kg-open/panel",
        &[("login", "nobody")],
    )
    .await;
    assert_eq!(nobody.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        nobody.text.contains("没有登录名为 nobody 的用户。"),
        "{}",
        nobody.text
    );
    for login in ["judge", "@judge-xjtu"] {
        let added = post(
            &app,
            &clerk,
            "/console/scenarios/kg-open/panel",
            &[("login", login)],
        )
        .await;
        saved(&added, "panel");
    }

    // Judges: the panel on their console, declarations first.
    let judge = sign_in(&app, &w.judge.token).await;
    let console = open(&app, &judge, "/console/judge").await;
    assert!(
        console.text.contains("href=\"/console/judging/kg-open\""),
        "{}",
        console.text
    );
    let panel = open(&app, &judge, "/console/judging/kg-open").await;
    assert_eq!(panel.status, StatusCode::OK, "{}", panel.text);
    assert!(panel.text.contains("评分前请先申报"), "{}", panel.text);
    let declared = post(
        &app,
        &judge,
        "/console/judging/kg-open/declaration",
        &[("institutions", "")],
    )
    .await;
    assert_eq!(declared.status, StatusCode::SEE_OTHER, "{}", declared.text);
    let panel = open(&app, &judge, "/console/judging/kg-open").await;
    assert!(
        panel.text.contains("id=\"declared\"") && panel.text.contains("无利益关系单位"),
        "an empty declaration is shown as declared: {}",
        panel.text
    );
    let conflicted = sign_in(&app, &xjtu.token).await;
    let declared = post(
        &app,
        &conflicted,
        "/console/judging/kg-open/declaration",
        &[("institutions", "Xi'an Jiaotong University\n")],
    )
    .await;
    assert_eq!(declared.status, StatusCode::SEE_OTHER);
    close_phases(&app, "kg-open");
    let unscored = open(&app, &clerk, decision).await;
    assert!(
        unscored.text.contains("id=\"panel-unfinished\""),
        "the award form warns while sheets are missing"
    );

    // The scoring page: report card and PDF beside the form; others' scores only after.
    let score_a = format!("/console/judging/kg-open/finalists/{team_a}");
    let page = open(&app, &judge, &score_a).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    assert!(
        page.text.contains(&format!(
            "<iframe class=\"report-frame\" src=\"/api/v1/submissions/{a}/technical-report\""
        )),
        "{}",
        page.text
    );
    assert!(page.text.contains("name=\"score.report\""));
    assert!(page.text.contains("id=\"others-hidden\""));
    let sent = post(
        &app,
        &judge,
        &score_a,
        &[("score.report", "8"), ("comment", "清楚")],
    )
    .await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.text);
    let after = open(&app, &judge, &format!("{score_a}?saved=1")).await;
    assert!(after.text.contains("id=\"other-sheets\""), "{}", after.text);
    assert!(after.text.contains("<option value=\"8\" selected>"));

    // The conflicted judge is shown the block, with its reason, and it is recorded.
    let blocked = post(&app, &conflicted, &score_a, &[("score.report", "10")]).await;
    assert_eq!(blocked.status, StatusCode::FORBIDDEN, "{}", blocked.text);
    assert!(
        blocked.text.contains("Xi&#x27;an Jiaotong University"),
        "{}",
        blocked.text
    );
    assert!(!blocked.text.contains("id=\"score-form\""));
    let score_b = format!("/console/judging/kg-open/finalists/{team_b}");
    let out_of_range = post(&app, &conflicted, &score_b, &[("score.report", "11")]).await;
    assert_eq!(out_of_range.status, StatusCode::UNPROCESSABLE_ENTITY);
    // A missing score and a bad comment are named together, each beside its field.
    let both = post(
        &app,
        &conflicted,
        &score_b,
        &[("score.report", ""), ("comment", "坏\u{7}字符")],
    )
    .await;
    assert_eq!(
        both.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        both.text
    );
    for (field, words) in [
        ("score-report-error", "请为每个评审项目打分"),
        ("comment-error", "不能包含控制字符"),
    ] {
        let beside = both
            .text
            .split(&format!("id=\"{field}\">"))
            .nth(1)
            .unwrap_or_else(|| panic!("{field} missing: {}", both.text));
        assert!(beside.starts_with(words), "{field}: {beside:.80}");
    }
    assert!(both.text.contains("坏\u{7}字符"), "the comment is kept");
    for (who, score) in [(&conflicted, "6"), (&judge, "9")] {
        let sent = post(&app, who, &score_b, &[("score.report", score)]).await;
        assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.text);
    }

    // The department: progress matrix, totals with spread, the identical-image flag.
    let page = open(&app, &clerk, decision).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    assert!(
        page.text.contains("state-conflict"),
        "the block in the matrix"
    );
    assert!(
        page.text
            .contains("您申报了与「Xi&#x27;an Jiaotong University」的关联"),
        "the conflict in the page's language: {}",
        page.text
    );
    assert!(
        page.text.contains("id=\"rubric-locked\"") && !page.text.contains("id=\"rubric-form\""),
        "a locked rubric is shown, not offered for editing"
    );
    assert!(!page.text.contains("id=\"panel-unfinished\""));
    assert!(page.text.contains("极差"), "spread shown");
    assert!(page.text.contains("与其他队伍提交的镜像完全相同"));
    assert!(page.text.contains(&format!(
        "href=\"/api/v1/submissions/{a}/technical-report\""
    )));

    // The award: the split is checked against the bounty, typed values kept.
    let award = |a_amount: &'static str| {
        vec![
            (format!("winner_{team_b}"), "on"),
            (format!("amount_{team_b}"), "60000"),
            (format!("reason_{team_b}"), "总分第一"),
            (format!("winner_{team_a}"), "on"),
            (format!("amount_{team_a}"), a_amount),
            (format!("reason_{team_a}"), "准确率最高"),
            ("reasons".to_owned(), "两队均在延迟预算内。"),
            ("objection_days".to_owned(), "5"),
        ]
    };
    let over = award("50000.00");
    let over: Vec<(&str, &str)> = over.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    let refused = post(&app, &clerk, "/console/scenarios/kg-open/award", &over).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        refused.text.contains("超过了悬赏金额 100000.00 元"),
        "{}",
        refused.text
    );
    assert!(refused.text.contains("id=\"winners-error\""));
    assert!(refused.text.contains("value=\"50000.00\""));
    // Every wrong field at once, each beside its field, what was typed kept.
    let mut wrong = award("abc");
    wrong.retain(|(name, _)| name != "objection_days" && *name != format!("reason_{team_b}"));
    wrong.push(("objection_days".to_owned(), "x"));
    wrong.push((format!("reason_{team_b}"), " "));
    let wrong: Vec<(&str, &str)> = wrong.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    let refused = post(&app, &clerk, "/console/scenarios/kg-open/award", &wrong).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    for (field, words) in [
        (format!("amount_{team_a}-error"), "须为以元为单位的金额"),
        ("objection_days-error".to_owned(), "须为 0 或正整数"),
        (format!("reason_{team_b}-error"), "必填"),
    ] {
        let beside = refused
            .text
            .split(&format!("id=\"{field}\">"))
            .nth(1)
            .unwrap_or_else(|| panic!("{field} missing: {}", refused.text));
        assert!(beside.starts_with(words), "{field}: {beside:.80}");
    }
    assert!(refused.text.contains("value=\"abc\""), "typed values kept");
    let good = award("40000");
    let good: Vec<(&str, &str)> = good.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    saved(
        &post(&app, &clerk, "/console/scenarios/kg-open/award", &good).await,
        "award",
    );

    // Announcing needs the confirmation ticked.
    let unconfirmed = post(
        &app,
        &clerk,
        "/console/scenarios/kg-open/award/announce",
        &[],
    )
    .await;
    assert_eq!(unconfirmed.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        unconfirmed
            .text
            .contains("请勾选确认框：公示后，奖励决定不再更改。"),
        "{}",
        unconfirmed.text
    );
    let announced = post(
        &app,
        &clerk,
        "/console/scenarios/kg-open/award/announce",
        &[("confirm", "on")],
    )
    .await;
    saved(&announced, "announce");

    // The public page: award, totals, the period's end in Beijing time; no image digests.
    let public = app.page(get("/scenarios/kg-open/announcement")).await;
    assert_eq!(public.status, StatusCode::OK, "{}", public.text);
    for wanted in [
        "Team B",
        "¥60,000.00",
        "¥40,000.00",
        "公示中",
        "(UTC+8)",
        "登录后可提出异议",
    ] {
        assert!(public.text.contains(wanted), "{wanted}: {}", public.text);
    }
    assert!(
        !public.text.contains("sha256:"),
        "no image digests in public"
    );
    let json = app
        .get("/api/v1/scenarios/kg-open/announcement", None)
        .await;
    assert_eq!(json.body["finalists"][0]["place"], 1);
    let text = json.body.to_string();
    for private in ["image_digest", "sha256:", "submission_id", "judged"] {
        assert!(!text.contains(private), "{private} in {text}");
    }
    let scenario = app.page(get("/scenarios/kg-open")).await;
    assert!(
        scenario
            .text
            .contains("href=\"/scenarios/kg-open/announcement\"")
    );

    // An objection from a signed-in visitor, answered by the department.
    let carol = sign_in(&app, &w.carol.token).await;
    let empty = post(
        &app,
        &carol,
        "/scenarios/kg-open/objections",
        &[("text", " ")],
    )
    .await;
    assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);
    let filed = post(
        &app,
        &carol,
        "/scenarios/kg-open/objections",
        &[("text", "B 队的镜像与 A 队相同。")],
    )
    .await;
    assert_eq!(filed.status, StatusCode::SEE_OTHER, "{}", filed.text);
    let objection: String = app.read(|conn| {
        use jiebang_platform::db::schema::objections;
        objections::table.select(objections::id).first(conn)
    });
    let answer = format!("/console/scenarios/kg-open/objections/{objection}/answer");
    saved(
        &post(
            &app,
            &clerk,
            &answer,
            &[("text", "已核实：B 队另有自己的镜像参与排名。")],
        )
        .await,
        "answer",
    );
    let public = app.page(get("/scenarios/kg-open/announcement")).await;
    assert!(public.text.contains("已核实"), "{}", public.text);

    // The printable record: the CSV's facts, no navigation.
    let record = open(&app, &clerk, "/console/scenarios/kg-open/judging/record").await;
    assert_eq!(record.status, StatusCode::OK, "{}", record.text);
    assert!(!record.text.contains("class=\"top\""), "no navigation");
    for wanted in [
        "评分细则",
        "利益关系申报",
        "回避",
        "异议",
        "答复",
        "总分第一",
        "已核实",
        "judge-xjtu",
        // The detail column in the page's language, not the CSV's English.
        "实测 · 得分：准确率。",
        "无利益关系单位",
        "您申报了与「Xi&#x27;an Jiaotong University」的关联",
        "2 位专家均值 7.5000",
        "与 Team B 提交的镜像完全相同",
        "公示中",
        // The record's own facts by name, amounts in yuan.
        "<td>奖金（元）</td><td>60,000.00</td>",
        "<td>匿名评审</td>",
    ] {
        assert!(record.text.contains(wanted), "{wanted}: {}", record.text);
    }
    for english in [
        "measured",
        "conflict of interest",
        "judges (min",
        "same image as",
        "objection_period",
        "amount_fen",
        "Z<",
    ] {
        assert!(
            !record.text.contains(english),
            "{english} in {}",
            record.text
        );
    }
    assert_eq!(
        open(&app, &judge, "/console/scenarios/kg-open/judging/record")
            .await
            .status,
        StatusCode::FORBIDDEN
    );

    // After the period, with every objection answered, the result is final everywhere.
    crate::notifications::end_objection_periods(&app);
    let public = app.page(get("/scenarios/kg-open/announcement")).await;
    assert!(public.text.contains("结果已生效"));
    assert!(!public.text.contains("id=\"objection-form\""));
    let scenario = app.page(get("/scenarios/kg-open")).await;
    assert!(scenario.text.contains("最终结果"));
}

on_one_backend!(judging_and_the_award_through_the_pages);
