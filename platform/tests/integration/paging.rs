//! Every list that can grow comes a page at a time, as boards do: `page`, `per_page` (at
//! most 100) and `total`; pages say "showing 3–4 of 5" with links either side.

use actix_web::test::TestRequest;
use jiebang_platform::db::models::scenarios::{self, ScenarioStatus};
use jiebang_platform::db::models::{phases, users::Role};
use serde_json::{Value, json};

use crate::common::{Actor, Backend, TestApp, edit, package_archive, phase_row, scenario_row};
use crate::on_both_backends;
use crate::packages::{SCENARIO, with_api_scenario};

fn with_query(path: &str, query: &str) -> String {
    let joiner = if path.contains('?') { '&' } else { '?' };
    format!("{path}{joiner}{query}")
}

fn ids(list: &Value, id: &str) -> Vec<Value> {
    list.as_array()
        .unwrap_or_else(|| panic!("not a list: {list}"))
        .iter()
        .map(|row| row[id].clone())
        .collect()
}

/// `path` pages as boards do, with `expected` rows under `key` in all (each named by its
/// `id` field): the whole list fits one page of 100; page 2 of 2-row pages holds rows 3
/// and 4 of it; a page past the end is empty; `total` is `expected` throughout; `per_page`
/// over 100 and an unknown parameter are 400s that name them. Returns the rows' ids.
async fn pages_as_boards_do(
    app: &TestApp,
    path: &str,
    token: Option<&str>,
    (key, id): (&str, &str),
    expected: usize,
) -> Vec<Value> {
    let whole = app.get(&with_query(path, "per_page=100"), token).await;
    assert_eq!(whole.status, 200, "{path}: {:?}", whole.body);
    let all = ids(&whole.body[key], id);
    assert_eq!(all.len(), expected, "{path}: {}", whole.body);
    assert_eq!(whole.body["total"], json!(expected), "{path}");

    let second = app.get(&with_query(path, "page=2&per_page=2"), token).await;
    assert_eq!(second.status, 200, "{path}: {:?}", second.body);
    assert_eq!(
        ids(&second.body[key], id),
        all[2.min(expected)..4.min(expected)],
        "{path}: page 2 holds rows 3 and 4"
    );
    assert_eq!(
        (
            &second.body["page"],
            &second.body["per_page"],
            &second.body["total"]
        ),
        (&json!(2), &json!(2), &json!(expected)),
        "{path}"
    );
    let past = format!("page={}&per_page=2", expected / 2 + 2);
    let beyond = app.get(&with_query(path, &past), token).await;
    assert_eq!(beyond.status, 200, "{path}");
    assert_eq!(ids(&beyond.body[key], id), Vec::<Value>::new(), "{path}");
    assert_eq!(beyond.body["total"], json!(expected), "{path}");

    for (query, field) in [
        ("per_page=101", "per_page"),
        ("page=0", "page"),
        ("pages=2", "pages"),
    ] {
        let refused = app.get(&with_query(path, query), token).await;
        assert_eq!(refused.status, 400, "{path}?{query}: {:?}", refused.body);
        assert_eq!(refused.code(), "bad_query", "{path}?{query}");
        assert!(
            refused.message().contains(field),
            "{path}?{query}: {}",
            refused.message()
        );
    }
    all
}

/// Inserts published Konggang scenarios `ids`, each with a phase open now.
fn open_scenarios(app: &TestApp, ids: &[&str]) {
    let ids: Vec<String> = ids.iter().map(|id| (*id).to_owned()).collect();
    app.state
        .db
        .write_blocking(move |conn| {
            for id in &ids {
                scenarios::insert(
                    conn,
                    &scenario_row(id, "konggang", ScenarioStatus::Published),
                    None,
                )?;
                phases::insert_phase(conn, &phase_row(id, -1, 30), None)?;
            }
            Ok(())
        })
        .unwrap();
}

async fn created_id(app: &TestApp, path: &str, who: Option<&str>, body: Value) -> String {
    let created = app.post(path, who, body).await;
    assert_eq!(created.status, 201, "{path}: {:?}", created.body);
    created.body["id"].as_str().unwrap().to_owned()
}

/// Four more teams of Alice's; their ids.
async fn more_teams_of_alice(app: &TestApp) -> Vec<String> {
    let mut teams = Vec::new();
    for name in ["Team A2", "Team A3", "Team A4", "Team A5"] {
        let body = json!({"name": name, "kind": "university", "institution": "NWPU"});
        tick().await;
        teams.push(created_id(app, "/api/v1/teams", app.world.alice.token(), body).await);
    }
    teams
}

/// A new user with `roles` and a token of theirs.
async fn person(app: &TestApp, login: &str, roles: &[Role]) -> Actor {
    let admin = app.world.admin.token();
    let body = json!({"login": login, "display_name": login, "roles": roles});
    let id = created_id(app, "/api/v1/users", admin, body).await;
    let issued = app
        .post(
            &format!("/api/v1/users/{id}/tokens"),
            admin,
            json!({"name": "t"}),
        )
        .await;
    Actor {
        id: id.as_str().into(),
        token: issued.body["token"].as_str().unwrap().to_owned(),
    }
}

async fn public_and_admin_lists(backend: Backend) {
    let app = TestApp::new(backend).await;
    let w = &app.world;
    pages_as_boards_do(&app, "/api/v1/organizations", None, ("items", "id"), 6).await;
    open_scenarios(&app, &["kg-b", "kg-c", "kg-d"]);
    // Drafts are not listed to visitors: kg-open, kg-closed and the three above.
    pages_as_boards_do(&app, "/api/v1/scenarios", None, ("items", "id"), 5).await;
    let admin = w.admin.token();
    pages_as_boards_do(&app, "/api/v1/users", admin, ("items", "id"), 8).await;

    let mut issued = Vec::new();
    for name in ["laptop", "ci", "notebook", "cluster"] {
        tick().await;
        let token = app
            .post("/api/v1/tokens", w.alice.token(), json!({"name": name}))
            .await;
        issued.push(token.body["id"].clone());
    }
    let tokens = pages_as_boards_do(&app, "/api/v1/tokens", w.alice.token(), ("items", "id"), 5);
    assert_eq!(tokens.await[1..], issued, "oldest first");

    let entries = usize::try_from(app.count("audit_log")).unwrap();
    assert!(entries >= 5);
    pages_as_boards_do(&app, "/api/v1/audit", admin, ("items", "id"), entries).await;
}

async fn a_teams_lists(backend: Backend) {
    let app = TestApp::new(backend).await;
    let w = &app.world;
    let alice = w.alice.token();
    let more = more_teams_of_alice(&app).await;
    let teams = pages_as_boards_do(&app, "/api/v1/teams", alice, ("items", "id"), 5).await;
    assert_eq!(teams[0], json!(w.team_a.as_str()), "oldest first");
    assert_eq!(
        teams[1..],
        more.iter().map(|t| json!(t)).collect::<Vec<_>>()
    );

    let team = format!("/api/v1/teams/{}", w.team_a);
    for login in ["bob", "carol", "judge", "operator", "kg-clerk"] {
        let invited = app
            .post(
                &format!("{team}/invitations"),
                alice,
                json!({"login": login}),
            )
            .await;
        assert_eq!(invited.status, 201, "{login}: {:?}", invited.body);
    }
    let path = format!("{team}/invitations");
    pages_as_boards_do(&app, &path, alice, ("items", "id"), 5).await;
    for other in &more {
        let path = format!("/api/v1/teams/{other}/invitations");
        let invited = app.post(&path, alice, json!({"login": "carol"})).await;
        assert_eq!(invited.status, 201, "{:?}", invited.body);
    }
    let carol = w.carol.token();
    pages_as_boards_do(&app, "/api/v1/invitations", carol, ("items", "id"), 5).await;

    open_scenarios(&app, &["kg-b", "kg-c", "kg-d", "kg-e"]);
    for scenario in ["kg-open", "kg-b", "kg-c", "kg-d", "kg-e"] {
        let enrolled = app.enrol(scenario, &w.alice, w.team_a.as_str()).await;
        assert_eq!(enrolled.status, 201, "{scenario}: {:?}", enrolled.body);
    }
    let path = format!("{team}/enrolments");
    pages_as_boards_do(&app, &path, alice, ("items", "id"), 5).await;

    for image in ["one", "two", "three", "four", "five"] {
        app.team_a_submits(image).await;
    }
    let path = format!("{team}/submissions");
    pages_as_boards_do(&app, &path, alice, ("items", "id"), 5).await;
}

async fn a_scenarios_lists(backend: Backend) {
    let app = TestApp::new(backend).await;
    let w = &app.world;
    let more = more_teams_of_alice(&app).await;
    app.enrol("kg-open", &w.bob, w.team_b.as_str()).await;
    for team in std::iter::once(w.team_a.to_string()).chain(more.into_iter().take(3)) {
        assert_eq!(app.enrol("kg-open", &w.alice, &team).await.status, 201);
    }
    let clerk = w.konggang.token();
    let path = "/api/v1/scenarios/kg-open/enrolments";
    pages_as_boards_do(&app, path, clerk, ("items", "id"), 5).await;

    let first = app.team_a_submits("first").await;
    let second = app.team_a_submits("second").await;
    let judges = [
        w.judge.clone(),
        person(&app, "judge-2", &[Role::Judge]).await,
        person(&app, "judge-3", &[Role::Judge]).await,
    ];
    for judge in &judges {
        for submission in [&first, &second] {
            let review = json!({"score": 4, "recommendation": "shortlist", "text": "solid"});
            let path = format!("/api/v1/submissions/{submission}/review");
            let put = app
                .send(
                    TestRequest::put()
                        .uri(&path)
                        .insert_header(("Authorization", format!("Bearer {}", judge.token)))
                        .set_json(review),
                )
                .await;
            assert_eq!(put.status, 201, "{:?}", put.body);
        }
    }
    let judge = w.judge.token();
    let path = format!("/api/v1/submissions/{first}/reviews");
    pages_as_boards_do(&app, &path, judge, ("items", "id"), 3).await;
    let path = "/api/v1/scenarios/kg-open/reviews";
    pages_as_boards_do(&app, path, judge, ("items", "id"), 6).await;
    let scenario_reviews = app.get(&with_query(path, "per_page=1"), judge).await;
    assert_eq!(scenario_reviews.body["scenario_id"], "kg-open");
}

async fn a_packages_versions(backend: Backend) {
    let app = with_api_scenario(backend, |_| {}).await;
    for budget in ["25", "30", "35"] {
        let archive = package_archive(SCENARIO, |dir| {
            edit(&dir.join("scenario.toml"), |text| {
                text.replace("budget_ms = 20", &format!("budget_ms = {budget}"))
            });
        });
        let uploaded = app
            .put_package(SCENARIO, &app.world.konggang, archive)
            .await;
        assert_eq!(uploaded.status, 200, "{:?}", uploaded.body);
    }
    let path = format!("/api/v1/scenarios/{SCENARIO}/package/versions");
    let clerk = app.world.konggang.token();
    let versions = pages_as_boards_do(&app, &path, clerk, ("versions", "version"), 3).await;
    assert_eq!(versions, [json!(3), json!(2), json!(1)], "newest first");
}

async fn the_operators_lists(backend: Backend) {
    let app = TestApp::new(backend).await;
    let w = &app.world;
    let token = app.worker_token();
    let worker = Some(token.as_str());
    let mut workers = Vec::new();
    for name in ["gpu-1", "gpu-2", "gpu-3", "gpu-4", "gpu-5"] {
        tick().await;
        let body = json!({"name": name, "cpus": 4, "memory_mb": 8192});
        let registered = app.post("/internal/v1/workers", worker, body).await;
        workers.push(registered.body["worker_id"].clone());
    }
    let operator = w.operator.token();
    let path = "/api/v1/admin/overview";
    let listed = pages_as_boards_do(&app, path, operator, ("workers", "id"), 5).await;
    assert_eq!(listed, workers, "in the order they registered");

    let mut submissions = Vec::new();
    for image in ["one", "two", "three"] {
        tick().await;
        submissions.push(json!(app.team_a_submits(image).await));
    }
    for image in ["four", "five"] {
        tick().await;
        let id = app
            .submit("kg-open", &w.bob, w.team_b.as_str(), image)
            .await;
        submissions.push(json!(id));
    }
    let claimed = app
        .post(
            "/internal/v1/jobs/claim",
            worker,
            json!({"worker_id": workers[0]}),
        )
        .await;
    assert_eq!(claimed.status, 200);
    let path = "/api/v1/admin/jobs";
    pages_as_boards_do(&app, path, operator, ("items", "job_id"), 5).await;
    let queue = app.get(&with_query(path, "per_page=100"), operator).await;
    assert_eq!(ids(&queue.body["items"], "submission_id"), submissions);
    assert_eq!(queue.body["items"][0]["status"], "running");
    assert_eq!(queue.body["items"][0]["worker_id"], workers[0]);
    let waiting = "/api/v1/admin/jobs?status=queued";
    let queued = pages_as_boards_do(&app, waiting, operator, ("items", "job_id"), 4).await;
    assert!(!queued.contains(&claimed.body["job_id"]));
    let running = app.get("/api/v1/admin/jobs?status=running", operator).await;
    assert_eq!(running.body["total"], 1);
    let refused = app
        .get("/api/v1/admin/jobs?status=sleeping", operator)
        .await;
    assert_eq!(refused.status, 400, "{:?}", refused.body);
    assert_eq!(app.get(path, w.alice.token()).await.status, 403);
}

/// Rows made one after another get times of their own, so "oldest first" has one answer.
async fn tick() {
    actix_web::rt::time::sleep(std::time::Duration::from_millis(3)).await;
}

/// A page as `token`'s user sees it.
async fn page_text(app: &TestApp, path: &str, token: Option<&str>) -> (u16, String) {
    let mut request = TestRequest::get().uri(path);
    if let Some(token) = token {
        request = request.insert_header(("Authorization", format!("Bearer {token}")));
    }
    let page = app.page(request).await;
    // Attributes as a browser reads them (handlebars writes `=` and `&` as entities).
    let text = page.text.replace("&#x3D;", "=").replace("&amp;", "&");
    (page.status.as_u16(), text)
}

/// The page at `path` (asking for 2-row pages, page 2) says which rows of `total` it shows,
/// in Chinese and English, and links to pages 1 and 3 (or to no next page on the last).
async fn page_says_showing(app: &TestApp, path: &str, token: Option<&str>, total: usize) {
    let second = with_query(path, "per_page=2&page=2");
    let (status, zh) = page_text(app, &second, token).await;
    assert_eq!(status, 200, "{second}: {zh}");
    let last = total.min(4);
    assert!(
        zh.contains(&format!("显示第 3–{last} 条，共 {total} 条")),
        "{second}: {zh}"
    );
    let (_, en) = page_text(app, &with_query(&second, "lang=en"), token).await;
    assert!(
        en.contains(&format!("Showing 3–{last} of {total}")),
        "{second}: {en}"
    );
    let link = |number: u32| {
        let target = with_query(path, &format!("per_page=2&page={number}"));
        format!("href=\"{target}\"")
    };
    assert!(zh.contains(&link(1)), "{second} links to page 1: {zh}");
    assert_eq!(zh.contains(&link(3)), total > 4, "{second}: {zh}");
    let (status, _) = page_text(app, &with_query(path, "per_page=101"), token).await;
    assert_eq!(status, 400, "{path}?per_page=101");
}

async fn pages_show_which_rows_and_link_either_side(backend: Backend) {
    let app = TestApp::new(backend).await;
    let w = &app.world;
    open_scenarios(&app, &["kg-b", "kg-c", "kg-d"]);
    page_says_showing(&app, "/", None, 5).await;
    page_says_showing(&app, "/?town=konggang", None, 5).await;
    // The department's console: its six scenarios (drafts too); the judge's: five.
    page_says_showing(&app, "/console/department", w.konggang.token(), 6).await;
    page_says_showing(&app, "/console/judge", w.judge.token(), 5).await;
    let (_, fengdong) = page_text(&app, "/console/department", w.fengdong.token()).await;
    assert!(!fengdong.contains("kg-open"), "{fengdong}");

    for image in ["one", "two", "three", "four", "five"] {
        app.team_a_submits(image).await;
    }
    let team = format!("/teams/{}", w.team_a);
    page_says_showing(&app, &team, w.alice.token(), 5).await;

    let more = more_teams_of_alice(&app).await;
    for other in more.iter().take(3) {
        let path = format!("/api/v1/teams/{other}/invitations");
        let invited = app
            .post(&path, w.alice.token(), json!({"login": "carol"}))
            .await;
        assert_eq!(invited.status, 201);
    }
    page_says_showing(&app, "/invitations", w.carol.token(), 3).await;

    let token = app.worker_token();
    for name in ["gpu-1", "gpu-2", "gpu-3"] {
        let body = json!({"name": name, "cpus": 4, "memory_mb": 8192});
        app.post("/internal/v1/workers", Some(&token), body).await;
    }
    page_says_showing(&app, "/console/operator", w.operator.token(), 3).await;
    let queue = "/console/operator?per_page=2&queue_page=2&lang=en";
    let (_, operator) = page_text(&app, queue, w.operator.token()).await;
    assert!(operator.contains("Showing 3–4 of 5"), "{operator}");
    assert!(operator.contains("queue_page=3"), "{operator}");
}

on_both_backends!(
    public_and_admin_lists,
    a_teams_lists,
    a_scenarios_lists,
    a_packages_versions,
    the_operators_lists,
    pages_show_which_rows_and_link_either_side
);
