//! The test harness: a fresh database per test on either backend, the usual world of
//! towns, departments, teams, judge and scenarios, and a small HTTP client for the app.

use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;

use actix_web::body::{BoxBody, to_bytes};
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::{Method, StatusCode};
use actix_web::test::{self, TestRequest};
use diesel::prelude::*;
use jiebang_platform::config::Config;
use jiebang_platform::db::ids::{OrganizationId, PhaseId, ScenarioId, TeamId, UserId};
use jiebang_platform::db::models::phases::{self, Phase};
use jiebang_platform::db::models::scenarios::{self, Scenario, ScenarioSource, ScenarioStatus};
use jiebang_platform::db::models::teams::{self, TeamForm, TeamKind};
use jiebang_platform::db::models::tokens::{self, TokenKind};
use jiebang_platform::db::models::users::{self, Role, UserForm};
use jiebang_platform::db::{DatabaseUrl, Db, DbConnection, now_millis};
use jiebang_platform::error::AppError;
use jiebang_platform::routes;
use jiebang_platform::state::AppState;
use jiebang_scenarios::package::{MetricName, Mode};

mod database;
mod steps;
pub use database::{TestDatabase, empty_database, fresh_database};
pub use steps::{copy_test_package, edit, package_archive, test_package_source};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Generates, in module `$module`, one test on `Backend::$backend` for each of the
/// `async fn name(backend: Backend)` named.
#[macro_export]
macro_rules! on_backend {
    ($module:ident, $backend:ident, $($name:ident),* $(,)?) => {
        mod $module {
            $(
                #[actix_web::test]
                async fn $name() {
                    super::$name($crate::common::Backend::$backend).await
                }
            )*
        }
    };
}

/// Generates one test per backend from an `async fn name(backend: Backend)`.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        $crate::on_backend!(sqlite, Sqlite, $($name),*);
        $crate::on_backend!(postgres, Postgres, $($name),*);
    };
}

/// Generates one test on SQLite only, for end-to-end tests whose subject is not the data
/// layer (Docker evaluations, the browser): a second backend would double their minutes
/// and catch nothing the data tests do not.
#[macro_export]
macro_rules! on_one_backend {
    ($($name:ident),* $(,)?) => {
        $crate::on_backend!(sqlite, Sqlite, $($name),*);
    };
}

/// A signed-in person of the test world.
#[derive(Debug, Clone)]
pub struct Actor {
    pub id: UserId,
    pub token: String,
}

impl Actor {
    pub fn token(&self) -> Option<&str> {
        Some(&self.token)
    }
}

/// The usual world: six towns (from the migration), a department member for Konggang and
/// one for Fengdong, two teams with an owner each, a user without a team, a judge, an
/// operator, an admin, and three Konggang scenarios: open, closed and draft.
#[derive(Clone)]
pub struct World {
    pub admin: Actor,
    pub konggang: Actor,
    pub fengdong: Actor,
    pub alice: Actor,
    pub bob: Actor,
    pub carol: Actor,
    pub judge: Actor,
    pub operator: Actor,
    pub team_a: TeamId,
    pub team_b: TeamId,
    pub open_scenario: ScenarioId,
    pub open_phase: PhaseId,
}

pub fn person(
    conn: &mut DbConnection,
    login: &str,
    roles: Vec<Role>,
    departments: Vec<&str>,
) -> Result<Actor, AppError> {
    let user = users::create(
        conn,
        UserForm {
            login: login.to_owned(),
            display_name: login.to_uppercase(),
            email: Some(format!("{login}@example.org")),
            roles,
            departments: departments.into_iter().map(OrganizationId::from).collect(),
        },
        None,
    )?;
    let token = tokens::issue(conn, &user.id, "test", TokenKind::User, None)?;
    Ok(Actor {
        id: user.id,
        token: token.token,
    })
}

const DAY: i64 = 24 * 3600 * 1000;

pub fn scenario_row(id: &str, organization: &str, status: ScenarioStatus) -> Scenario {
    let now = now_millis();
    Scenario {
        id: ScenarioId::from(id),
        organization_id: OrganizationId::from(organization),
        title_zh: format!("{id} 标题"),
        title_en: format!("{id} title"),
        domain: "logistics".to_owned(),
        summary_zh: "摘要".to_owned(),
        summary_en: "summary".to_owned(),
        description: "description".to_owned(),
        bounty_cny: 100_000,
        mode: Mode::Serve,
        metric: MetricName::Accuracy,
        latency_budget_ms: Some(50.0),
        daily_quota: 5,
        status,
        source: ScenarioSource::Api,
        spec: "{}".to_owned(),
        created_by: None,
        created_at: now,
        updated_at: now,
        published_at: (status == ScenarioStatus::Published).then_some(now),
        package_version: 0,
    }
}

pub fn phase_row(scenario: &str, opens_in_days: i64, closes_in_days: i64) -> Phase {
    let now = now_millis();
    Phase {
        id: PhaseId::generate(),
        scenario_id: ScenarioId::from(scenario),
        name: "phase one".to_owned(),
        opens_at: now + opens_in_days * DAY,
        closes_at: now + closes_in_days * DAY,
        created_at: now,
    }
}

fn build_world(conn: &mut DbConnection) -> Result<World, AppError> {
    let admin = person(conn, "admin", vec![Role::Admin], vec![])?;
    let konggang = person(conn, "kg-clerk", vec![], vec!["konggang"])?;
    let fengdong = person(conn, "fd-clerk", vec![], vec!["fengdong"])?;
    let alice = person(conn, "alice", vec![], vec![])?;
    let bob = person(conn, "bob", vec![], vec![])?;
    let carol = person(conn, "carol", vec![], vec![])?;
    let judge = person(conn, "judge", vec![Role::Judge], vec![])?;
    let operator = person(conn, "operator", vec![Role::Operator], vec![])?;
    let team_a = teams::create(
        conn,
        TeamForm {
            name: "Team A".to_owned(),
            kind: TeamKind::University,
            institution: "Xi'an Jiaotong University".to_owned(),
        },
        &alice.id,
    )?;
    let team_b = teams::create(
        conn,
        TeamForm {
            name: "Team B".to_owned(),
            kind: TeamKind::Company,
            institution: "Qinling Robotics".to_owned(),
        },
        &bob.id,
    )?;
    scenarios::insert(
        conn,
        &scenario_row("kg-open", "konggang", ScenarioStatus::Published),
        None,
    )?;
    let open_phase = phase_row("kg-open", -1, 30);
    phases::insert_phase(conn, &open_phase, None)?;
    scenarios::insert(
        conn,
        &scenario_row("kg-closed", "konggang", ScenarioStatus::Published),
        None,
    )?;
    phases::insert_phase(conn, &phase_row("kg-closed", -30, -1), None)?;
    scenarios::insert(
        conn,
        &scenario_row("kg-draft", "konggang", ScenarioStatus::Draft),
        None,
    )?;
    Ok(World {
        admin,
        konggang,
        fengdong,
        alice,
        bob,
        carol,
        judge,
        operator,
        team_a: team_a.id,
        team_b: team_b.id,
        open_scenario: ScenarioId::from("kg-open"),
        open_phase: open_phase.id,
    })
}

type Call = Box<
    dyn Fn(
        actix_http::Request,
    )
        -> Pin<Box<dyn Future<Output = Result<ServiceResponse<BoxBody>, actix_web::Error>>>>,
>;

/// The app in-process, its state and the world inside it.
pub struct TestApp {
    call: Call,
    pub state: AppState,
    pub world: World,
    _database: TestDatabase,
}

/// A response: status and JSON body (`Null` when empty).
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub body: serde_json::Value,
}

impl Reply {
    /// The error code of a `{"error": {"code", "message"}}` body.
    pub fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }

    pub fn message(&self) -> &str {
        self.body["error"]["message"].as_str().unwrap_or("")
    }
}

impl TestApp {
    pub async fn new(backend: Backend) -> Self {
        Self::with_config(backend, |_| {}).await
    }

    /// An app whose configuration the test adjusts first (limits, for example).
    pub async fn with_config(backend: Backend, adjust: impl FnOnce(&mut Config)) -> Self {
        let database = fresh_database(backend);
        let url = DatabaseUrl::parse(&database.url).expect("test database URL");
        let db = Db::open(&url, 4).expect("open the test database");
        let world = db
            .write_blocking(build_world)
            .expect("build the test world");
        Self::on_database(database, db, world, adjust).await
    }

    /// An app on a database the test prepared itself (a restored backup, say), whose world
    /// the test built before.
    pub async fn reopened(database: TestDatabase, world: World) -> Self {
        let url = DatabaseUrl::parse(&database.url).expect("test database URL");
        let db = Db::open(&url, 4).expect("open the test database");
        Self::on_database(database, db, world, |_| {}).await
    }

    async fn on_database(
        database: TestDatabase,
        db: Db,
        world: World,
        adjust: impl FnOnce(&mut Config),
    ) -> Self {
        let mut config = Config {
            data_dir: database.dir.path().to_path_buf(),
            database_url: Some(database.url.clone()),
            ..Config::default()
        };
        adjust(&mut config);
        let state = AppState::new(db, config).expect("application state");
        let service = Rc::new(test::init_service(routes::build(state.clone())).await);
        let call: Call = Box::new(move |request| {
            let service = Rc::clone(&service);
            Box::pin(async move {
                service
                    .call(request)
                    .await
                    .map(ServiceResponse::map_into_boxed_body)
            })
        });
        Self {
            call,
            state,
            world,
            _database: database,
        }
    }

    pub async fn send(&self, request: TestRequest) -> Reply {
        let response = (self.call)(request.to_request())
            .await
            .expect("the app answers every request");
        let status = response.status();
        let bytes = to_bytes(response.into_body()).await.expect("read the body");
        let body = if bytes.is_empty() {
            serde_json::Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or_else(|_| {
                panic!("not JSON ({status}): {}", String::from_utf8_lossy(&bytes))
            })
        };
        Reply { status, body }
    }

    /// The raw body of a response, for downloads.
    pub async fn bytes(&self, request: TestRequest) -> Vec<u8> {
        let response = (self.call)(request.to_request())
            .await
            .expect("the app answers every request");
        assert!(response.status().is_success(), "{}", response.status());
        to_bytes(response.into_body())
            .await
            .expect("read the body")
            .to_vec()
    }

    fn request(method: Method, path: &str, token: Option<&str>) -> TestRequest {
        let mut request = TestRequest::default().method(method).uri(path);
        if let Some(token) = token {
            request = request.insert_header(("Authorization", format!("Bearer {token}")));
        }
        request
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Reply {
        self.send(Self::request(Method::GET, path, token)).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: serde_json::Value) -> Reply {
        self.send(Self::request(Method::POST, path, token).set_json(body))
            .await
    }

    pub async fn patch(&self, path: &str, token: Option<&str>, body: serde_json::Value) -> Reply {
        self.send(Self::request(Method::PATCH, path, token).set_json(body))
            .await
    }

    /// A PUT, with a JSON body or none (putting a judge on a panel has none).
    pub async fn put(
        &self,
        path: &str,
        token: Option<&str>,
        body: Option<serde_json::Value>,
    ) -> Reply {
        let mut request = Self::request(Method::PUT, path, token);
        if let Some(body) = body {
            request = request.set_json(body);
        }
        self.send(request).await
    }

    pub async fn delete(&self, path: &str, token: Option<&str>) -> Reply {
        self.send(Self::request(Method::DELETE, path, token)).await
    }

    /// A request with a raw body and content type, for malformed input.
    pub async fn raw(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        content_type: Option<&str>,
        body: impl Into<actix_web::web::Bytes>,
    ) -> Reply {
        let mut request = Self::request(method, path, token).set_payload(body.into());
        if let Some(content_type) = content_type {
            request = request.insert_header(("Content-Type", content_type));
        }
        self.send(request).await
    }

    /// Serves the same app over real HTTP on a free loopback port, for tests that need a
    /// real connection (one cut mid-upload, for example). Returns the base URL.
    pub fn serve_http(&self) -> String {
        let state = self.state.clone();
        let server = actix_web::HttpServer::new(move || routes::build(state.clone()))
            .workers(1)
            .bind("127.0.0.1:0")
            .expect("bind a loopback port");
        let address = server.addrs()[0];
        actix_web::rt::spawn(server.run());
        format!("http://{address}")
    }

    /// Files in the content-addressed store (finished uploads only).
    pub fn stored_files(&self) -> usize {
        fn walk(dir: &std::path::Path) -> usize {
            std::fs::read_dir(dir).map_or(0, |entries| {
                entries
                    .flatten()
                    .map(|e| {
                        if e.path().is_dir() {
                            walk(&e.path())
                        } else {
                            1
                        }
                    })
                    .sum()
            })
        }
        walk(&self.state.config.data_dir.join("blobs"))
    }

    /// A fresh worker token for the operator, as `jiebang admin create-token --worker` issues.
    pub fn worker_token(&self) -> String {
        let operator = self.world.operator.id.clone();
        self.state
            .db
            .write_blocking(move |conn| {
                tokens::issue(conn, &operator, "worker", TokenKind::Worker, None)
            })
            .expect("issue a worker token")
            .token
    }

    /// Reads the database directly, to check what a request did or did not change.
    pub fn read<T>(&self, work: impl FnOnce(&mut DbConnection) -> QueryResult<T>) -> T {
        self.state
            .db
            .read_blocking(|conn| Ok(work(conn)?))
            .expect("database read")
    }

    pub fn count(&self, table: &str) -> i64 {
        #[derive(QueryableByName)]
        struct Count {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        self.read(|conn| {
            diesel::sql_query(format!("SELECT COUNT(*) AS n FROM {table}"))
                .get_result::<Count>(conn)
                .map(|c| c.n)
        })
    }
}

/// A response as a browser sees it: status, headers and the body as text.
#[derive(Debug)]
pub struct Page {
    pub status: StatusCode,
    pub headers: actix_web::http::header::HeaderMap,
    pub text: String,
}

impl Page {
    /// The `Set-Cookie` named `name`, parsed.
    pub fn cookie(&self, name: &str) -> Option<actix_web::cookie::Cookie<'static>> {
        self.headers
            .get_all(actix_web::http::header::SET_COOKIE)
            .filter_map(|v| v.to_str().ok())
            .filter_map(|v| actix_web::cookie::Cookie::parse(v.to_owned()).ok())
            .find(|c| c.name() == name)
    }

    pub fn location(&self) -> Option<&str> {
        self.headers
            .get(actix_web::http::header::LOCATION)
            .and_then(|v| v.to_str().ok())
    }

    /// The value of the first hidden `csrf_token` field.
    pub fn csrf_token(&self) -> Option<String> {
        let after = self.text.split("name=\"csrf_token\" value=\"").nth(1)?;
        Some(after.split('"').next()?.to_owned())
    }
}

impl TestApp {
    /// Any request, answered as text (for the HTML pages).
    pub async fn page(&self, request: TestRequest) -> Page {
        let response = (self.call)(request.to_request())
            .await
            .expect("the app answers every request");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = to_bytes(response.into_body()).await.expect("read the body");
        Page {
            status,
            headers,
            text: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }
}
