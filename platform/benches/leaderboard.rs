//! A board at 100,000 submissions: 2,000 teams with 50 evaluated submissions each on one
//! scenario, each queued, claimed, completed and its result recorded with the model
//! functions the worker API calls (`results::insert` keeps the boards), then `jiebang serve` (release) on loopback under `wrk`: p50/p99 of the board
//! API and the board page with 1 and 32 clients, `/healthz` measured beside the 32-client
//! load (paced, as a load balancer's health check or a worker's heartbeat comes, and again
//! by a closed-loop client that asks as fast as it can), and the server's memory. On SQLite, and on PostgreSQL when
//! `JIEBANG_TEST_DATABASE_URL` names a cluster (`scripts/bench-boards` starts one).
//!
//! `cargo bench -p jiebang-platform --bench leaderboard` (needs `wrk`; `BENCH_SECONDS` sets
//! the seconds per row, 5 unless set; `BENCH_SUBMISSIONS` a smaller board for a quick try).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Instant;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use jiebang_evaluator::protocol::Outcome;
use jiebang_platform::db::ids::{OrganizationId, PhaseId, ScenarioId, SubmissionId, TeamId};
use jiebang_platform::db::models::Page;
use jiebang_platform::db::models::board_entries::{self, Board, BoardKey};
use jiebang_platform::db::models::jobs::{self, QuietWait};
use jiebang_platform::db::models::package_versions::NO_PACKAGE;
use jiebang_platform::db::models::phases::{self, Phase};
use jiebang_platform::db::models::results::{self, EvaluationResult};
use jiebang_platform::db::models::scenarios::{self, Scenario, ScenarioSource, ScenarioStatus};
use jiebang_platform::db::models::submissions::{self, Submission, SubmissionStage};
use jiebang_platform::db::models::teams::{self, TeamForm, TeamKind};
use jiebang_platform::db::models::users::{self, UserForm};
use jiebang_platform::db::{DatabaseUrl, Db, now_millis};
use jiebang_scenarios::package::{Direction, MetricName, Mode, OverBudget};
use rand::{Rng, SeedableRng};

/// Submissions per team; `BENCH_SUBMISSIONS` (100,000 unless set) ÷ this many teams.
const PER_TEAM: usize = 50;
/// Submissions recorded per transaction while filling.
const BATCH: usize = 1_000;
const SCENARIO: &str = "bench-board";
const WORKER: &str = "bench-worker";

fn submissions() -> usize {
    std::env::var("BENCH_SUBMISSIONS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(100_000)
}

fn seconds() -> u32 {
    std::env::var("BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5)
}

/// Fills the database: a department's published scenario with an open phase, `teams`
/// teams, and `submissions` submissions with their results, in the order they might have
/// finished.
fn fill(url: &DatabaseUrl, teams: usize, submissions: usize) -> (f64, PhaseId) {
    let db = Db::open(url, 2).unwrap();
    let started = Instant::now();
    let (user, team_ids, phase) = db
        .write_blocking(|conn| {
            let user = users::create(
                conn,
                UserForm {
                    login: "bench".to_owned(),
                    display_name: "Bench".to_owned(),
                    email: None,
                    roles: Vec::new(),
                    departments: Vec::new(),
                },
                None,
            )?;
            let now = now_millis();
            scenarios::insert(conn, &scenario(now), None)?;
            let phase = Phase {
                id: PhaseId::generate(),
                scenario_id: ScenarioId::from(SCENARIO),
                name: "phase one".to_owned(),
                opens_at: now - 86_400_000,
                closes_at: now + 30 * 86_400_000,
                created_at: now,
            };
            phases::insert_phase(conn, &phase, None)?;
            let mut team_ids = Vec::new();
            for n in 0..teams {
                let form = TeamForm {
                    name: format!("Team {n:04}"),
                    kind: TeamKind::University,
                    institution: "Bench University".to_owned(),
                };
                team_ids.push(teams::create(conn, form, &user.id)?.id);
            }
            Ok((user, team_ids, phase))
        })
        .unwrap();
    let mut random = rand::rngs::StdRng::seed_from_u64(13);
    let first = now_millis() - i64::try_from(submissions).unwrap() * 1000;
    for batch in 0..submissions.div_ceil(BATCH) {
        let runs: Vec<(TeamId, i64, f64, f64, f64, bool)> = (batch * BATCH
            ..submissions.min((batch + 1) * BATCH))
            .map(|index| {
                (
                    team_ids[index % teams].clone(),
                    first + i64::try_from(index).unwrap() * 1000,
                    // Three decimals, so many teams tie on the score.
                    f64::from(random.random_range(500..1000_u32)) / 1000.0,
                    f64::from(random.random_range(500..1000_u32)) / 1000.0,
                    f64::from(random.random_range(2_000..60_000_u32)) / 1000.0,
                    random.random_bool(0.9),
                )
            })
            .collect();
        let (user, phase) = (user.id.clone(), phase.id.clone());
        db.write_blocking(move |conn| {
            for (team, at, public, private, latency, within) in runs {
                let id = SubmissionId::generate();
                submissions::insert(
                    conn,
                    &Submission {
                        id: id.clone(),
                        scenario_id: ScenarioId::from(SCENARIO),
                        phase_id: phase.clone(),
                        team_id: team,
                        submitted_by: user.clone(),
                        image_digest: format!("sha256:{}", id.as_str()),
                        image_size: 1 << 20,
                        status: SubmissionStage::Stored,
                        created_at: at,
                        updated_at: at,
                        counts_toward_quota: true,
                        failure: None,
                    },
                )?;
                // What the worker API does for each: queue, claim, complete, record.
                jobs::enqueue(conn, &id, NO_PACKAGE)?;
                let job =
                    jobs::claim(conn, WORKER, 600_000)?.ok_or(diesel::result::Error::NotFound)?;
                jobs::complete(
                    conn,
                    &job.id,
                    WORKER,
                    &Outcome::Finished,
                    (&QuietWait::default(), &[]),
                )?;
                let row = result(job.submission_id, public, private, latency, within, at);
                results::insert(conn, &row)?;
            }
            Ok(())
        })
        .unwrap();
    }
    (started.elapsed().as_secs_f64(), phase.id)
}

/// The plans of a board page's queries on the filled database (PostgreSQL after `VACUUM
/// ANALYZE`, as autovacuum would have run it, and so that autovacuum does not run during the
/// measurement; SQLite as it is, no statistics), each line cut short.
fn print_plans(url: &DatabaseUrl, phase: PhaseId) {
    if let DatabaseUrl::Postgres(url) = url {
        // Not in a transaction, which VACUUM refuses.
        let mut conn = PgConnection::establish(url).unwrap();
        conn.batch_execute("VACUUM ANALYZE").unwrap();
    }
    let db = Db::open(url, 1).unwrap();
    let plans = db
        .write_blocking(move |conn| {
            let key = BoardKey {
                scenario_id: ScenarioId::from(SCENARIO),
                phase_id: phase,
                board: Board::Public,
                direction: Direction::Higher,
                package_version: NO_PACKAGE,
            };
            let page = Page {
                number: 1,
                size: 50,
            };
            Ok(board_entries::ranked_page_plans(
                conn,
                &key,
                OverBudget::RankBelow,
                page,
            )?)
        })
        .unwrap();
    for line in plans {
        let short: String = line.chars().take(150).collect();
        println!("    {short}");
    }
}

fn scenario(now: i64) -> Scenario {
    Scenario {
        id: ScenarioId::from(SCENARIO),
        organization_id: OrganizationId::from("konggang"),
        title_zh: "排行榜压力测试".to_owned(),
        title_en: "Board under load".to_owned(),
        domain: "logistics".to_owned(),
        summary_zh: "十万份提交".to_owned(),
        summary_en: "100,000 submissions".to_owned(),
        description: "A board at 100,000 submissions.".to_owned(),
        bounty_cny: 1_000_000,
        mode: Mode::Serve,
        metric: MetricName::Accuracy,
        latency_budget_ms: Some(50.0),
        daily_quota: 5,
        status: ScenarioStatus::Published,
        source: ScenarioSource::Api,
        spec: "{}".to_owned(),
        created_by: None,
        created_at: now,
        updated_at: now,
        published_at: Some(now),
        package_version: 0,
    }
}

fn result(
    id: SubmissionId,
    public: f64,
    private: f64,
    latency_ms: f64,
    within_budget: bool,
    at: i64,
) -> EvaluationResult {
    EvaluationResult {
        submission_id: id,
        package_version: NO_PACKAGE,
        metric: "accuracy".to_owned(),
        public_score: Some(public),
        public_low: Some(public - 0.02),
        public_high: Some(public + 0.02),
        private_score: Some(private),
        private_low: Some(private - 0.02),
        private_high: Some(private + 0.02),
        sample_score: Some(public),
        within_budget: Some(within_budget),
        latency_ms: Some(latency_ms),
        failure: None,
        report_digest: "sha256:bench-report".to_owned(),
        sample_logs_digest: None,
        hidden_logs_digest: None,
        worker_id: None,
        finished_at: at + 60_000,
        device_seconds: Some(30.0),
        devices: None,
        public_items: Some(500),
        public_items_in_set: Some(500),
        private_items: Some(500),
        private_items_in_set: Some(500),
        items_digest: None,
        budget_uncertain: None,
    }
}

/// `VmRSS` or `VmHWM` of a process, in MiB.
fn memory_mib(pid: u32, field: &str) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            status.lines().find_map(|line| {
                line.strip_prefix(field)
                    .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
            })
        })
        .unwrap_or(0.0)
        / 1024.0
}

/// `jiebang serve`, stopped when dropped (a failed bench leaves no server behind).
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn serve(data: &Path, database_url: Option<&str>) -> (Server, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_jiebang"));
    command
        .args(["serve", "--bind", "127.0.0.1:0"])
        .env("JIEBANG_DATA", data)
        .env("JIEBANG_CATALOG", data.join("no-catalog"))
        .env("JIEBANG_EMBEDDED_WORKER", "false")
        .env("JIEBANG_ANONYMOUS_REQUESTS_PER_MINUTE", "0")
        .env("JIEBANG_LOG", "warn")
        .stdout(Stdio::piped());
    if let Some(url) = database_url {
        command.env("DATABASE_URL", url);
    }
    let mut server = command.spawn().unwrap();
    let mut lines = BufReader::new(server.stdout.take().unwrap()).lines();
    let base = loop {
        let line = lines.next().unwrap().unwrap();
        if let Some(address) = line.strip_prefix("Jiebang is listening on ") {
            break address.trim().to_owned();
        }
    };
    std::thread::spawn(move || for _ in lines {});
    (Server(server), base)
}

/// What `wrk --latency` reports: requests per second, p50 and p99 in milliseconds, and the
/// answers that were not 2xx or 3xx.
#[derive(Debug, Clone, Copy, Default)]
struct Load {
    rate: f64,
    p50_ms: f64,
    p99_ms: f64,
    errors: u64,
}

fn milliseconds(text: &str) -> f64 {
    let split = text
        .find(|c: char| c.is_ascii_alphabetic())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: f64 = number.parse().unwrap_or(f64::NAN);
    match unit {
        "us" => number / 1000.0,
        "ms" => number,
        "s" => number * 1000.0,
        "m" => number * 60_000.0,
        _ => f64::NAN,
    }
}

fn wrk(url: &str, clients: u32) -> Command {
    let mut command = Command::new("wrk");
    command
        .arg(format!("-t{}", clients.min(2)))
        .arg(format!("-c{clients}"))
        .arg(format!("-d{}s", seconds()))
        .args(["--latency", "--timeout", "10s"])
        .arg(url)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    command
}

/// How `/healthz` is asked beside a load.
#[derive(Debug, Clone, Copy)]
enum Probe {
    /// One request, then a pause of [`PROBE_PAUSE_MS`] after each answer: some 900 a
    /// second, enough for a p99 of thousands of answers per row and a thousand times what a
    /// load balancer sends, yet a hundredth of what a closed loop asks, so it measures the
    /// server rather than competing with it.
    Paced,
    /// One client asking again the moment each answer arrives: a 33rd client whose own
    /// CPU, on two cores, is taken from the server and the database.
    ClosedLoop,
}

const PROBE_PAUSE_MS: u32 = 1;

fn probe(base: &str, kind: Probe) -> Command {
    let mut command = wrk(&format!("{base}/healthz"), 1);
    if let Probe::Paced = kind {
        // wrk waits `delay()` milliseconds before sending each next request.
        let script = Path::new(env!("CARGO_TARGET_TMPDIR")).join("paced-probe.lua");
        std::fs::write(
            &script,
            format!("function delay()\n  return {PROBE_PAUSE_MS}\nend\n"),
        )
        .unwrap();
        command.arg("-s").arg(script);
    }
    command
}

fn parse(output: &str) -> Load {
    let mut load = Load::default();
    for line in output.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["50%", value] => load.p50_ms = milliseconds(value),
            ["99%", value] => load.p99_ms = milliseconds(value),
            ["Requests/sec:", value] => load.rate = value.parse().unwrap_or(0.0),
            ["Non-2xx", "or", "3xx", "responses:", count] => {
                load.errors = count.parse().unwrap_or(0)
            }
            _ => {}
        }
    }
    load
}

fn run(child: Child) -> Load {
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "wrk failed");
    parse(&String::from_utf8_lossy(&output.stdout))
}

/// One row of the table: the target under `clients`, and `/healthz` asked by `kind` in
/// the same seconds when the load has 32.
fn measure(base: &str, path: &str, clients: u32, kind: Probe) -> (Load, Option<Load>) {
    let load = wrk(&format!("{base}{path}"), clients).spawn().unwrap();
    let health = (clients > 1).then(|| probe(base, kind).spawn().unwrap());
    (run(load), health.map(run))
}

fn bench(backend: &str, data: &Path, database_url: Option<&str>, fill_url: &DatabaseUrl) {
    let submissions = submissions();
    let teams = submissions.div_ceil(PER_TEAM);
    let (fill_seconds, phase) = fill(fill_url, teams, submissions);
    println!(
        "{backend}: filled {submissions} submissions of {teams} teams (queued, claimed, \
         completed, recorded) in {fill_seconds:.0} s ({:.0} per second)",
        submissions as f64 / fill_seconds
    );
    println!("{backend}: the plans of a board page's queries (count, page, names, results):");
    print_plans(fill_url, phase);
    let (server, base) = serve(data, database_url);
    let pid = server.0.id();
    let board = format!("/api/v1/scenarios/{SCENARIO}/leaderboard");
    let targets = [
        ("board API, page 1 (50 rows)", board.clone()),
        (
            "board API, last page",
            format!("{board}?page={}", teams.div_ceil(50)),
        ),
        (
            "board page (HTML), page 1",
            format!("/scenarios/{SCENARIO}/leaderboard"),
        ),
        ("scenario page (HTML)", format!("/scenarios/{SCENARIO}")),
        ("home page (HTML)", "/".to_owned()),
        ("/healthz", "/healthz".to_owned()),
    ];
    // Warm-up: every target once, so the first row does not pay for cold caches.
    for (_, path) in &targets {
        let status = Command::new("curl")
            .args(["-s", "-o", "/dev/null", "-w", "%{http_code}"])
            .arg(format!("{base}{path}"))
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default();
        assert!(
            status.is_empty() || status == "200",
            "{path} answered {status}"
        );
    }
    let rss_before = memory_mib(pid, "VmRSS:");
    println!(
        "\n{backend}, {} s per row | clients | req/s | p50 ms | p99 ms | non-2xx | \
         /healthz p99 ms, paced (same run) | /healthz p99 ms, closed loop (a second run)",
        seconds()
    );
    let p99 = |health: Option<Load>| health.map_or(String::new(), |h| format!("{:.2}", h.p99_ms));
    for (name, path) in &targets {
        for clients in [1, 32] {
            let (load, paced) = measure(&base, path, clients, Probe::Paced);
            // The same load again under the closed-loop probe; only the probe's figure is
            // kept, as the load's own figures are the paced run's.
            let closed = if clients > 1 {
                measure(&base, path, clients, Probe::ClosedLoop).1
            } else {
                None
            };
            println!(
                "| {name} | {clients} | {:.0} | {:.2} | {:.2} | {} | {} | {} |",
                load.rate,
                load.p50_ms,
                load.p99_ms,
                load.errors,
                p99(paced),
                p99(closed),
            );
        }
    }
    let (rss_after, peak) = (memory_mib(pid, "VmRSS:"), memory_mib(pid, "VmHWM:"));
    println!(
        "{backend}: server memory before the load {rss_before:.0} MiB, after {rss_after:.0} MiB, \
         peak {peak:.0} MiB: growth {:.0} MiB (peak − before)\n",
        peak - rss_before
    );
    drop(server);
}

/// A database of its own on the cluster `admin` names, dropped afterwards.
struct PostgresDatabase {
    admin: String,
    name: String,
    url: String,
}

impl PostgresDatabase {
    fn create(admin: &str) -> Self {
        let name = format!("jb_bench_{}", std::process::id());
        let mut conn = PgConnection::establish(admin).unwrap();
        diesel::sql_query(format!("CREATE DATABASE {name}"))
            .execute(&mut conn)
            .unwrap();
        let mut url = url::Url::parse(admin).unwrap();
        url.set_path(&name);
        Self {
            admin: admin.to_owned(),
            name,
            url: url.to_string(),
        }
    }
}

impl Drop for PostgresDatabase {
    fn drop(&mut self) {
        if let Ok(mut conn) = PgConnection::establish(&self.admin) {
            let _ = diesel::sql_query(format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ))
            .execute(&mut conn);
        }
    }
}

fn main() {
    assert!(
        Command::new("wrk").arg("--version").output().is_ok(),
        "wrk is needed: apt-get install wrk (scripts/bench-boards installs it)"
    );
    // Under target/, which git ignores, rather than beside the sources.
    let work = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();

    let data = work.path().join("sqlite");
    std::fs::create_dir_all(&data).unwrap();
    bench(
        "SQLite",
        &data,
        None,
        &DatabaseUrl::Sqlite(data.join("jiebang.db")),
    );

    match std::env::var("JIEBANG_TEST_DATABASE_URL") {
        Ok(admin) => {
            let database = PostgresDatabase::create(&admin);
            let data = work.path().join("postgres");
            std::fs::create_dir_all(&data).unwrap();
            bench(
                "PostgreSQL",
                &data,
                Some(&database.url),
                &DatabaseUrl::Postgres(database.url.clone()),
            );
        }
        Err(_) => println!("PostgreSQL: skipped (JIEBANG_TEST_DATABASE_URL is not set)"),
    }
}
