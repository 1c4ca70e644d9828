//! The opportunity list and departments posting, editing and publishing scenarios.

use serde_json::json;

use crate::common::{Actor, Backend, TestApp, package_archive};
use crate::on_both_backends;

fn ids(reply: &crate::common::Reply) -> Vec<String> {
    let mut ids: Vec<String> = reply.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|item| item["id"].as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    ids
}

async fn public_list_filters_and_pages(backend: Backend) {
    let app = TestApp::new(backend).await;
    let all = app.get("/api/v1/scenarios", None).await;
    assert_eq!(all.status, 200);
    assert_eq!(ids(&all), ["kg-closed", "kg-open"], "drafts are not public");
    assert_eq!(all.body["total"], 2);
    assert_eq!(all.body["items"][0]["town"]["name_zh"], "空港新城");

    let open = app.get("/api/v1/scenarios?status=open", None).await;
    assert_eq!(ids(&open), ["kg-open"]);
    let closed = app.get("/api/v1/scenarios?status=closed", None).await;
    assert_eq!(ids(&closed), ["kg-closed"]);
    let elsewhere = app.get("/api/v1/scenarios?town=fengdong", None).await;
    assert_eq!(elsewhere.body["total"], 0);
    let by_domain = app
        .get("/api/v1/scenarios?town=konggang&domain=logistics", None)
        .await;
    assert_eq!(by_domain.body["total"], 2);
    let other_domain = app.get("/api/v1/scenarios?domain=finance", None).await;
    assert_eq!(other_domain.body["total"], 0);

    let first = app.get("/api/v1/scenarios?per_page=1&page=1", None).await;
    let second = app.get("/api/v1/scenarios?per_page=1&page=2", None).await;
    assert_eq!(first.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(second.body["items"].as_array().unwrap().len(), 1);
    assert_ne!(first.body["items"][0]["id"], second.body["items"][0]["id"]);
    assert_eq!(first.body["total"], 2);

    let drafts_for_public = app.get("/api/v1/scenarios?status=draft", None).await;
    assert_eq!(drafts_for_public.body["total"], 0);
    let konggang = app.world.konggang.clone();
    let drafts_for_department = app
        .get("/api/v1/scenarios?status=draft", konggang.token())
        .await;
    assert_eq!(ids(&drafts_for_department), ["kg-draft"]);
    let admin = app.world.admin.clone();
    assert_eq!(
        app.get("/api/v1/scenarios", admin.token()).await.body["total"],
        3
    );
}

async fn scenario_detail_hides_drafts_from_outsiders(backend: Backend) {
    let app = TestApp::new(backend).await;
    let w = &app.world;
    let detail = app.get("/api/v1/scenarios/kg-open", None).await;
    assert_eq!(detail.status, 200);
    assert_eq!(detail.body["status"], "open");
    assert_eq!(detail.body["description"], "description");
    assert_eq!(detail.body["phases"][0]["open"], true);
    assert_eq!(
        app.get("/api/v1/scenarios/kg-closed", None).await.body["status"],
        "closed"
    );

    assert_eq!(
        app.get("/api/v1/scenarios/kg-draft", None).await.status,
        404
    );
    assert_eq!(
        app.get("/api/v1/scenarios/kg-draft", w.fengdong.token())
            .await
            .status,
        404
    );
    assert_eq!(
        app.get("/api/v1/scenarios/kg-draft", w.alice.token())
            .await
            .status,
        404
    );
    assert_eq!(
        app.get("/api/v1/scenarios/kg-draft", w.konggang.token())
            .await
            .status,
        200
    );
    assert_eq!(
        app.get("/api/v1/scenarios/kg-draft", w.admin.token())
            .await
            .status,
        200
    );
    let missing = app.get("/api/v1/scenarios/no-such", None).await;
    assert_eq!(
        (missing.status.as_u16(), missing.code()),
        (404, "not_found")
    );
}

async fn department_posts_edits_and_publishes(backend: Backend) {
    let app = TestApp::new(backend).await;
    let clerk = app.world.konggang.clone();
    let created = app
        .post(
            "/api/v1/scenarios",
            clerk.token(),
            json!({
                "id": "kg-parcel-eta",
                "organization_id": "konggang",
                "title_zh": "航空货运包裹时效预测",
                "title_en": "Air-cargo parcel ETA",
                "domain": "logistics",
                "summary_zh": "预测包裹到达时间",
                "summary_en": "Predict parcel arrival",
                "bounty_cny": 500000,
                "mode": "serve",
                "metric": "mae",
                "latency_budget_ms": 20,
                "daily_quota": 3
            }),
        )
        .await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    assert_eq!(created.body["status"], "draft");
    assert_eq!(created.body["daily_quota"], 3);

    let edited = app
        .patch(
            "/api/v1/scenarios/kg-parcel-eta",
            clerk.token(),
            json!({"title_en": "Parcel ETA", "bounty_cny": 600000}),
        )
        .await;
    assert_eq!(edited.status, 200, "{:?}", edited.body);
    assert_eq!(edited.body["title_en"], "Parcel ETA");
    assert_eq!(edited.body["title_zh"], "航空货运包裹时效预测");
    assert_eq!(edited.body["bounty_cny"], 600000);

    let publish = || {
        app.post(
            "/api/v1/scenarios/kg-parcel-eta/publish",
            clerk.token(),
            json!({}),
        )
    };
    let no_package = publish().await;
    assert_eq!(
        (no_package.status.as_u16(), no_package.code()),
        (409, "no_package")
    );
    let package = app
        .put_package(
            "kg-parcel-eta",
            &clerk,
            package_archive("kg-parcel-eta", |_| {}),
        )
        .await;
    assert_eq!(package.status, 200, "{:?}", package.body);
    let no_phases = publish().await;
    assert_eq!(
        (no_phases.status.as_u16(), no_phases.code()),
        (409, "no_phases")
    );

    let phase = app
        .post(
            "/api/v1/scenarios/kg-parcel-eta/phases",
            clerk.token(),
            json!({"name": "初赛", "opens_at": "2020-01-01T00:00:00Z", "closes_at": "2099-01-01T00:00:00Z"}),
        )
        .await;
    assert_eq!(phase.status, 201, "{:?}", phase.body);
    assert_eq!(phase.body["open"], true);

    let published = app
        .post(
            "/api/v1/scenarios/kg-parcel-eta/publish",
            clerk.token(),
            json!({}),
        )
        .await;
    assert_eq!(published.status, 200, "{:?}", published.body);
    assert_eq!(published.body["status"], "open");
    let again = app
        .post(
            "/api/v1/scenarios/kg-parcel-eta/publish",
            clerk.token(),
            json!({}),
        )
        .await;
    assert_eq!(
        (again.status.as_u16(), again.code()),
        (409, "already_published")
    );

    let public = app.get("/api/v1/scenarios/kg-parcel-eta", None).await;
    assert_eq!(public.status, 200);

    let actions: Vec<String> = app.read(|conn| {
        use diesel::prelude::*;
        use jiebang_platform::db::schema::audit_log;
        audit_log::table
            .filter(audit_log::subject_id.eq("kg-parcel-eta"))
            .order(audit_log::id.asc())
            .select(audit_log::action)
            .load(conn)
    });
    assert_eq!(
        actions,
        [
            "scenario.create",
            "scenario.update",
            "scenario.package_upload",
            "phase.create",
            "scenario.publish"
        ]
    );
}

async fn phases_are_checked(backend: Backend) {
    let app = TestApp::new(backend).await;
    let clerk = app.world.konggang.clone();
    let base = "/api/v1/scenarios/kg-draft/phases";
    let backwards = app
        .post(base, clerk.token(), json!({"name": "p", "opens_at": "2030-02-01T00:00:00Z", "closes_at": "2030-01-01T00:00:00Z"}))
        .await;
    assert_eq!(backwards.status, 422);
    assert!(
        backwards.message().contains("closes_at"),
        "{}",
        backwards.message()
    );

    let first = app
        .post(base, clerk.token(), json!({"name": "初赛", "opens_at": "2030-01-01T00:00:00Z", "closes_at": "2030-02-01T00:00:00Z"}))
        .await;
    assert_eq!(first.status, 201);
    let overlapping = app
        .post(base, clerk.token(), json!({"name": "复赛", "opens_at": "2030-01-15T00:00:00Z", "closes_at": "2030-03-01T00:00:00Z"}))
        .await;
    assert_eq!(
        (overlapping.status.as_u16(), overlapping.code()),
        (409, "phase_overlap")
    );
    let second = app
        .post(base, clerk.token(), json!({"name": "复赛", "opens_at": "2030-02-01T00:00:00Z", "closes_at": "2030-03-01T00:00:00Z"}))
        .await;
    assert_eq!(second.status, 201, "{:?}", second.body);

    let first_id = first.body["id"].as_str().unwrap();
    let moved = app
        .patch(
            &format!("{base}/{first_id}"),
            clerk.token(),
            json!({"closes_at": "2030-01-20T00:00:00Z"}),
        )
        .await;
    assert_eq!(moved.status, 200, "{:?}", moved.body);
    assert_eq!(moved.body["closes_at"], "2030-01-20T00:00:00.000Z");
    let deleted = app
        .delete(&format!("{base}/{first_id}"), clerk.token())
        .await;
    assert_eq!(deleted.status, 204);
    let detail = app.get("/api/v1/scenarios/kg-draft", clerk.token()).await;
    assert_eq!(detail.body["phases"].as_array().unwrap().len(), 1);
    let gone = app
        .delete(&format!("{base}/{first_id}"), clerk.token())
        .await;
    assert_eq!(gone.status, 404);
}

/// A PATCH of `field` of a published scenario is refused with 409 `rules_fixed`, naming the
/// field and the way to change it: a new package version.
pub(crate) async fn refuses_rule_change(
    app: &TestApp,
    scenario: &str,
    clerk: &Actor,
    field: &str,
    value: serde_json::Value,
) {
    let refused = app
        .patch(
            &format!("/api/v1/scenarios/{scenario}"),
            clerk.token(),
            json!({ field: value }),
        )
        .await;
    assert_eq!(
        (refused.status.as_u16(), refused.code()),
        (409, "rules_fixed"),
        "{field}: {:?}",
        refused.body
    );
    assert!(refused.message().contains(field), "{}", refused.message());
    assert!(
        refused.message().contains("upload a new package version"),
        "{}",
        refused.message()
    );
}

async fn a_published_scenario_keeps_its_rules(backend: Backend) {
    let app = TestApp::new(backend).await;
    let clerk = &app.world.konggang;
    for (field, value) in [
        ("metric", json!("mae")),
        ("mode", json!("batch")),
        ("latency_budget_ms", json!(99)),
        ("daily_quota", json!(50)),
        ("load", json!({"pattern": "offline", "concurrency": 4})),
    ] {
        refuses_rule_change(&app, "kg-open", clerk, field, value).await;
    }
    // The same values again, and the texts, may still be saved.
    let same = app
        .patch(
            "/api/v1/scenarios/kg-open",
            clerk.token(),
            json!({"metric": "accuracy", "daily_quota": 5, "latency_budget_ms": 50, "title_en": "Renamed"}),
        )
        .await;
    assert_eq!(same.status, 200, "{:?}", same.body);
    // A draft's rules are still the department's to change.
    let draft = app
        .patch(
            "/api/v1/scenarios/kg-draft",
            clerk.token(),
            json!({"metric": "mae", "mode": "batch"}),
        )
        .await;
    assert_eq!(draft.status, 200, "{:?}", draft.body);
}

async fn organizations_are_listed_and_administered(backend: Backend) {
    let app = TestApp::new(backend).await;
    let list = app.get("/api/v1/organizations", None).await;
    assert_eq!(list.status, 200);
    let names: Vec<&str> = list.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["name_zh"].as_str().unwrap())
        .collect();
    for town in [
        "空港新城",
        "沣东新城",
        "秦汉新城",
        "沣西新城",
        "泾河新城",
        "能源金贸区",
    ] {
        assert!(names.contains(&town), "{town} missing from {names:?}");
    }
    let admin = app.world.admin.clone();
    let created = app
        .post(
            "/api/v1/organizations",
            admin.token(),
            json!({"id": "xixian-hq", "name_zh": "西咸新区管委会", "name_en": "Xixian HQ"}),
        )
        .await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    let duplicate = app
        .post(
            "/api/v1/organizations",
            admin.token(),
            json!({"id": "xixian-hq", "name_zh": "x", "name_en": "x"}),
        )
        .await;
    assert_eq!(
        (duplicate.status.as_u16(), duplicate.code()),
        (409, "organization_exists")
    );
    let member = app
        .post(
            "/api/v1/organizations/xixian-hq/members",
            admin.token(),
            json!({"login": "carol"}),
        )
        .await;
    assert_eq!(member.status, 204);
    let carol = app.world.carol.clone();
    let me = app.get("/api/v1/me", carol.token()).await;
    assert_eq!(me.body["user"]["departments"], json!(["xixian-hq"]));
}

on_both_backends!(
    public_list_filters_and_pages,
    scenario_detail_hides_drafts_from_outsiders,
    department_posts_edits_and_publishes,
    phases_are_checked,
    a_published_scenario_keeps_its_rules,
    organizations_are_listed_and_administered,
);
