//! The consoles as pages: who may open each, the department's scenario forms and the
//! judge's review form, with refusals that show a reason and change nothing.

use actix_web::http::StatusCode;
use actix_web::test::TestRequest;

use crate::common::{Backend, TestApp, package_archive};
use crate::consoles::two_evaluated;
use crate::on_both_backends;
use crate::packages::{SCENARIO, package_tar, spec_of, with_api_scenario};
use crate::pages::{get, post_form, sign_in};

async fn consoles_for_their_roles_only(backend: Backend) {
    let app = TestApp::new(backend).await;
    let w = &app.world;
    let consoles = [
        ("/console/department", "部门控制台"),
        ("/console/judge", "评审控制台"),
        ("/console/operator", "运维控制台"),
    ];
    // Anonymous visitors are sent to sign in.
    for (path, _) in consoles {
        let page = app.page(get(path)).await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{path}: {}", page.text);
        assert!(page.location().unwrap().starts_with("/auth/login"));
    }
    let clerk = sign_in(&app, &w.konggang.token).await.0;
    let judge = sign_in(&app, &w.judge.token).await.0;
    let operator = sign_in(&app, &w.operator.token).await.0;
    let alice = sign_in(&app, &w.alice.token).await.0;
    let admin = sign_in(&app, &w.admin.token).await.0;
    for (i, (path, heading)) in consoles.iter().enumerate() {
        for (j, who) in [&clerk, &judge, &operator].iter().enumerate() {
            let page = app.page(get(path).cookie((*who).clone())).await;
            if i == j {
                assert_eq!(page.status, StatusCode::OK, "{path}: {}", page.text);
                assert!(page.text.contains(heading), "{path}");
                assert!(page.text.contains(&format!("href=\"{path}\"")), "nav link");
            } else {
                assert_eq!(page.status, StatusCode::FORBIDDEN, "{path} for {j}");
                assert!(
                    !page.text.contains(&format!("href=\"{path}\"")),
                    "no nav link"
                );
            }
        }
        let refused = app.page(get(path).cookie(alice.clone())).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN);
        let allowed = app.page(get(path).cookie(admin.clone())).await;
        assert_eq!(allowed.status, StatusCode::OK);
    }
    // The department sees its own drafts, with edit links.
    let department = app
        .page(get("/console/department").cookie(clerk.clone()))
        .await;
    assert!(department.text.contains("kg-draft"));
    assert!(department.text.contains("/console/scenarios/kg-open/edit"));
    // Another department may not edit it.
    let fengdong = sign_in(&app, &w.fengdong.token).await.0;
    let other = app
        .page(get("/console/scenarios/kg-open/edit").cookie(fengdong))
        .await;
    assert_eq!(other.status, StatusCode::FORBIDDEN);
}

async fn create_edit_and_publish_a_scenario(backend: Backend) {
    let app = TestApp::new(backend).await;
    let (clerk, csrf) = sign_in(&app, &app.world.konggang.token).await;
    let before = app.count("scenarios");
    let phases_before = app.count("phases");
    let fields = |title_en: &str, bounty: &str| {
        vec![
            ("organization_id", "konggang".to_owned()),
            ("id", "kg-new".to_owned()),
            ("title_zh", "新场景".to_owned()),
            ("title_en", title_en.to_owned()),
            ("domain", "traffic".to_owned()),
            ("bounty_cny", bounty.to_owned()),
            ("mode", "batch".to_owned()),
            ("metric", "accuracy".to_owned()),
            ("daily_quota", "5".to_owned()),
        ]
    };
    let send = |fields: Vec<(&str, String)>, csrf: Option<&str>| {
        let mut all: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        if let Some(csrf) = csrf {
            all.push(("csrf_token", csrf));
        }
        post_form("/console/scenarios/new", &all).cookie(clerk.clone())
    };

    // Missing CSRF token: refused, nothing stored.
    let forged = app.page(send(fields("New", "100"), None)).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert_eq!(app.count("scenarios"), before);

    // Invalid values: the form again with a clear message, nothing stored.
    let bad = app.page(send(fields("New", "lots"), Some(&csrf))).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.text.contains("bounty_cny"), "{}", bad.text);
    assert!(
        bad.text.contains("value=\"lots\""),
        "the sent value is kept"
    );
    assert_eq!(app.count("scenarios"), before);
    let empty = app.page(send(fields("", "100"), Some(&csrf))).await;
    assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        empty.text.contains("id=\"title_en-error\""),
        "{}",
        empty.text
    );
    assert_eq!(app.count("scenarios"), before);
    // Four fields wrong at once: four messages, each beside its field, in Chinese, and
    // every value as it was typed.
    let mut four = fields("", "lots");
    four.retain(|(name, _)| !matches!(*name, "id" | "daily_quota"));
    four.push(("id", "Bad Id".to_owned()));
    four.push(("daily_quota", "0".to_owned()));
    let all = app.page(send(four, Some(&csrf))).await;
    assert_eq!(all.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        all.text.matches("class=\"field-error\"").count(),
        4,
        "{}",
        all.text
    );
    for (field, message) in [
        ("title_en", "必填。"),
        ("bounty_cny", "须为 0 或正整数。"),
        ("daily_quota", "须在 1 到 1000 之间。"),
        ("id", "须为 2–64 个小写字母"),
    ] {
        let beside = format!("<p class=\"field-error\" id=\"{field}-error\">{message}");
        assert!(all.text.contains(&beside), "{beside}: {}", all.text);
    }
    assert!(all.text.contains("value=\"Bad Id\""), "{}", all.text);
    assert_eq!(app.count("scenarios"), before);

    // Valid: created, and on to its edit page.
    let created = app.page(send(fields("New", "100"), Some(&csrf))).await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.text);
    assert_eq!(created.location(), Some("/console/scenarios/kg-new/edit"));
    assert_eq!(app.count("scenarios"), before + 1);

    // A phase with an unreadable time is refused next to the phase form.
    let phase = |opens: &str| {
        post_form(
            "/console/scenarios/kg-new/phases",
            &[
                ("csrf_token", &csrf),
                ("name", "Round 1"),
                ("opens_at", opens),
                ("closes_at", "2099-01-01T00:00"),
            ],
        )
        .cookie(clerk.clone())
    };
    let bad_phase = app.page(phase("soon")).await;
    assert_eq!(bad_phase.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        bad_phase.text.contains("须为日期和时间"),
        "{}",
        bad_phase.text
    );
    assert_eq!(app.count("phases"), phases_before, "nothing stored");
    let added = app.page(phase("2020-01-01T00:00")).await;
    assert_eq!(added.status, StatusCode::SEE_OTHER, "{}", added.text);

    // Without a package it is not published, and the page says what is missing.
    let publish = || {
        post_form(
            "/console/scenarios/kg-new/publish",
            &[("csrf_token", &csrf)],
        )
        .cookie(clerk.clone())
    };
    let refused = app.page(publish()).await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.text
    );
    assert!(
        refused.text.contains("场景 kg-new 还没有场景包"),
        "{}",
        refused.text
    );
    let package = app
        .put_package(
            "kg-new",
            &app.world.konggang,
            package_archive("kg-new", |_| {}),
        )
        .await;
    assert_eq!(package.status, 200, "{:?}", package.body);

    let published = app
        .page(
            post_form(
                "/console/scenarios/kg-new/publish",
                &[("csrf_token", &csrf)],
            )
            .cookie(clerk.clone()),
        )
        .await;
    assert_eq!(
        published.status,
        StatusCode::SEE_OTHER,
        "{}",
        published.text
    );
    let home = app.page(get("/?lang=en")).await;
    assert!(home.text.contains("New"), "on the public list");
    assert!(home.text.contains("/scenarios/kg-new"));
}

async fn review_form(backend: Backend) {
    let app = TestApp::new(backend).await;
    let (a, b) = two_evaluated(&app).await;
    let (judge, csrf) = sign_in(&app, &app.world.judge.token).await;
    let path = format!("/console/submissions/{a}/review");
    let form = app.page(get(&path).cookie(judge.clone())).await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.text);

    let bad = app
        .page(
            post_form(
                &path,
                &[
                    ("csrf_token", &csrf),
                    ("score", "9"),
                    ("recommendation", "award"),
                ],
            )
            .cookie(judge.clone()),
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.text.contains("score"), "{}", bad.text);
    assert_eq!(app.count("reviews"), 0);

    let saved = app
        .page(
            post_form(
                &path,
                &[
                    ("csrf_token", &csrf),
                    ("score", "4"),
                    ("recommendation", "shortlist"),
                    ("text", "Fast and accurate."),
                ],
            )
            .cookie(judge.clone()),
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.text);
    assert_eq!(app.count("reviews"), 1);
    let shown = app
        .page(get(saved.location().unwrap()).cookie(judge.clone()))
        .await;
    assert!(shown.text.contains("Fast and accurate."));
    assert!(shown.text.contains("value=\"4\" selected"));

    // Others may not review.
    let (alice, alice_csrf) = sign_in(&app, &app.world.alice.token).await;
    let refused = app
        .page(
            post_form(
                &path,
                &[
                    ("csrf_token", &alice_csrf),
                    ("score", "5"),
                    ("recommendation", "award"),
                ],
            )
            .cookie(alice),
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(app.count("reviews"), 1);

    // The comparison page side by side.
    let compare = app
        .page(
            get(&format!(
                "/console/scenarios/kg-open/compare?submissions={a}&submissions={b}"
            ))
            .cookie(judge),
        )
        .await;
    assert_eq!(compare.status, StatusCode::OK, "{}", compare.text);
    assert!(compare.text.contains("0.9000"), "{}", compare.text);
    assert!(compare.text.contains("0.8000"));
}

/// A multipart body: the fields in order, the last one the package file.
pub(crate) fn multipart(fields: &[(&str, &str)], package: &[u8]) -> (String, Vec<u8>) {
    let boundary = "jiebang-test-boundary";
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    body.extend_from_slice(
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"package\"; filename=\"p.tar\"\r\nContent-Type: application/x-tar\r\n\r\n").as_bytes(),
    );
    body.extend_from_slice(package);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

async fn package_upload_form(backend: Backend) {
    let app = with_api_scenario(backend, |_| {}).await;
    let (clerk, csrf) = sign_in(&app, &app.world.konggang.token).await;
    let path = format!("/console/scenarios/{SCENARIO}/package");
    let send = |fields: &[(&str, &str)], package: &[u8]| {
        let (content_type, body) = multipart(fields, package);
        TestRequest::post()
            .uri(&path)
            .insert_header(("Content-Type", content_type))
            .set_payload(body)
            .cookie(clerk.clone())
    };
    let good = package_tar(|_| {});

    // No CSRF token, or a wrong one: refused before the file is read; nothing changed.
    for fields in [vec![], vec![("csrf_token", "forged")]] {
        let forged = app.page(send(&fields, &good)).await;
        assert_eq!(forged.status, StatusCode::FORBIDDEN, "{}", forged.text);
        assert_eq!(spec_of(&app), "{}");
    }
    // A package with problems: every problem on the page, nothing changed.
    let broken = package_tar(|dir| std::fs::remove_file(dir.join("hidden/labels.jsonl")).unwrap());
    let refused = app.page(send(&[("csrf_token", &csrf)], &broken)).await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.text
    );
    assert!(
        refused.text.contains("hidden/labels.jsonl"),
        "{}",
        refused.text
    );
    assert_eq!(spec_of(&app), "{}");
    // The right one is installed.
    let taken = app.page(send(&[("csrf_token", &csrf)], &good)).await;
    assert_eq!(taken.status, StatusCode::SEE_OTHER, "{}", taken.text);
    assert!(spec_of(&app).contains("bundle_digest"));
}

/// The value of a form field as a browser would send it back (entities decoded).
fn unescape(html: &str) -> String {
    html.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&#x60;", "`")
        .replace("&#x3D;", "=")
        .replace("&amp;", "&")
}

/// The edit form's fields as the page shows them: inputs, the selected options, the textarea.
pub(crate) fn edit_form_fields(page: &str) -> Vec<(String, String)> {
    form_fields_of(page, "kg-draft")
}

/// The edit form of `scenario` as a browser would send it back.
pub(crate) fn form_fields_of(page: &str, scenario: &str) -> Vec<(String, String)> {
    let form = page
        .split(&format!("action=\"/console/scenarios/{scenario}/edit\""))
        .nth(1)
        .and_then(|rest| rest.split("</form>").next())
        .expect("the edit form");
    let mut fields = Vec::new();
    for piece in form.split("<input ").skip(1) {
        let attribute = |name: &str| {
            piece
                .split(&format!("{name}=\""))
                .nth(1)
                .and_then(|v| v.split('"').next())
                .map(unescape)
        };
        if let (Some(name), Some(value)) = (attribute("name"), attribute("value")) {
            fields.push((name, value));
        }
    }
    for select in form.split("<select name=\"").skip(1) {
        let name = select.split('"').next().unwrap().to_owned();
        let chosen = select
            .split("<option value=\"")
            .skip(1)
            .find(|option| option.split('>').next().unwrap().contains("selected"))
            .and_then(|option| option.split('"').next())
            .unwrap()
            .to_owned();
        fields.push((name, chosen));
    }
    let description = form
        .split("<textarea name=\"description\" rows=\"6\">")
        .nth(1)
        .and_then(|rest| rest.split("</textarea>").next())
        .expect("the description");
    fields.push(("description".into(), unescape(description)));
    fields
}

async fn saving_the_form_five_times_keeps_the_description_byte_for_byte(backend: Backend) {
    let app = TestApp::new(backend).await;
    let description =
        "# 场景\n\n- 第一条\n  - 缩进的一条\n\n```\n  code <b> & \"quoted\"\n```\n\nEnd.";
    let set = app
        .patch(
            "/api/v1/scenarios/kg-draft",
            app.world.konggang.token(),
            serde_json::json!({"description": description, "latency_budget_ms": 20}),
        )
        .await;
    assert_eq!(set.status, 200, "{:?}", set.body);
    let (clerk, _) = sign_in(&app, &app.world.konggang.token).await;
    for round in 1..=5 {
        let page = app
            .page(get("/console/scenarios/kg-draft/edit").cookie(clerk.clone()))
            .await;
        let csrf = page.csrf_token().expect("a CSRF field");
        let mut fields = edit_form_fields(&page.text);
        fields.retain(|(name, _)| name != "csrf_token");
        let mut sent: Vec<(&str, &str)> = fields
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        sent.push(("csrf_token", &csrf));
        let saved = app
            .page(post_form("/console/scenarios/kg-draft/edit", &sent).cookie(clerk.clone()))
            .await;
        assert!(
            saved.status.is_redirection() || saved.status == StatusCode::OK,
            "round {round}: {} {}",
            saved.status,
            saved.text
        );
        let stored = app
            .get("/api/v1/scenarios/kg-draft", app.world.konggang.token())
            .await;
        assert_eq!(
            stored.body["description"].as_str().unwrap(),
            description,
            "round {round} changed the description"
        );
    }
}

on_both_backends!(
    saving_the_form_five_times_keeps_the_description_byte_for_byte,
    consoles_for_their_roles_only,
    create_edit_and_publish_a_scenario,
    review_form,
    package_upload_form
);
