//! The boards kept as results arrive rank exactly as `scenarios::ranking` does from scratch:
//! random result sets (scores with ties, budgets, re-submissions by one team, two package
//! versions, failures) in both directions under both over-budget rules, a page at a time;
//! and the migration that fills the boards from earlier results agrees with both. A board
//! page reads the order index on both backends, never a whole table.

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use jiebang_platform::db::DbConnection;
use jiebang_platform::db::ids::{ScenarioId, SubmissionId, TeamId};
use jiebang_platform::db::models::Page;
use jiebang_platform::db::models::board_entries::{self, Board, BoardEntry, BoardKey};
use jiebang_platform::db::models::phases::{self, Phase};
use jiebang_platform::db::models::results::{self, EvaluationResult};
use jiebang_platform::db::models::scenarios::{self, ScenarioStatus};
use jiebang_platform::db::models::submissions::{self, Submission, SubmissionStage};
use jiebang_platform::db::models::teams::{self, TeamForm, TeamKind};
use jiebang_platform::db::schema::board_entries as board_entries_table;
use jiebang_platform::error::AppError;
use jiebang_scenarios::package::{Direction, OverBudget};
use jiebang_scenarios::ranking::{self, Entry};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

use crate::common::{Backend, TestApp, phase_row, scenario_row};
use crate::on_both_backends;

const TEAMS: usize = 5;
const VERSIONS: [i32; 2] = [1, 2];

/// One evaluated submission of the random set.
#[derive(Debug, Clone)]
struct Run {
    team: usize,
    package_version: i32,
    public_score: Option<f64>,
    private_score: Option<f64>,
    within_budget: Option<bool>,
    latency_ms: Option<f64>,
    submitted_at: i64,
    failed: bool,
}

/// Few distinct values, so that scores, latencies and times tie often.
fn score() -> impl Strategy<Value = Option<f64>> {
    prop_oneof![
        1 => Just(None),
        1 => Just(Some(f64::NAN)),
        1 => Just(Some(f64::INFINITY)),
        12 => prop::sample::select(vec![-2.5, 0.0, 0.25, 0.5, 0.75, 1.0]).prop_map(Some),
    ]
}

prop_compose! {
    fn run()(
        team in 0..TEAMS,
        package_version in prop::sample::select(VERSIONS.to_vec()),
        public_score in score(),
        private_score in score(),
        within_budget in prop::option::of(any::<bool>()),
        latency_ms in prop::option::of(prop::sample::select(vec![1.0, 2.0, 8.0])),
        submitted_at in prop::sample::select(vec![1_000_i64, 2_000, 3_000]),
        failed in prop::bool::weighted(0.1),
    ) -> Run {
        Run {
            team, package_version, public_score, private_score, within_budget, latency_ms,
            submitted_at, failed,
        }
    }
}

fn create_teams(
    conn: &mut DbConnection,
    app: &TestApp,
    count: usize,
) -> Result<Vec<TeamId>, AppError> {
    (0..count)
        .map(|n| {
            let team = teams::create(
                conn,
                TeamForm {
                    name: format!("Ranked team {n}"),
                    kind: TeamKind::Company,
                    institution: "Property".to_owned(),
                },
                &app.world.alice.id,
            )?;
            Ok(team.id)
        })
        .collect()
}

/// Records the runs as the worker API does (a submission, then its result through
/// `results::insert`) on a scenario of their own; returns its phase and each run's
/// submission id.
fn record(
    conn: &mut DbConnection,
    app: &TestApp,
    teams: &[TeamId],
    case: usize,
    runs: &[Run],
) -> Result<(Phase, Vec<SubmissionId>), AppError> {
    let scenario = format!("ranked-{case}");
    scenarios::insert(
        conn,
        &scenario_row(&scenario, "konggang", ScenarioStatus::Published),
        None,
    )?;
    let phase = phase_row(&scenario, -1, 30);
    phases::insert_phase(conn, &phase, None)?;
    let mut ids = Vec::new();
    for (n, run) in runs.iter().enumerate() {
        let id = SubmissionId::generate();
        submissions::insert(
            conn,
            &Submission {
                id: id.clone(),
                scenario_id: ScenarioId::from(scenario.as_str()),
                phase_id: phase.id.clone(),
                team_id: teams[run.team].clone(),
                submitted_by: app.world.alice.id.clone(),
                image_digest: format!("sha256:{case:08}{n:08}"),
                image_size: 1,
                status: SubmissionStage::Stored,
                created_at: run.submitted_at,
                updated_at: run.submitted_at,
                counts_toward_quota: true,
                failure: None,
            },
        )?;
        results::insert(conn, &result_of(&id, run))?;
        ids.push(id);
    }
    Ok((phase, ids))
}

fn result_of(id: &SubmissionId, run: &Run) -> EvaluationResult {
    EvaluationResult {
        submission_id: id.clone(),
        package_version: run.package_version,
        metric: "accuracy".to_owned(),
        public_score: run.public_score,
        public_low: run.public_score.map(|s| s - 0.1),
        public_high: run.public_score.map(|s| s + 0.1),
        private_score: run.private_score,
        private_low: None,
        private_high: None,
        sample_score: None,
        within_budget: run.within_budget,
        latency_ms: run.latency_ms,
        failure: run.failed.then(|| "exited with 1".to_owned()),
        report_digest: "sha256:report".to_owned(),
        sample_logs_digest: None,
        hidden_logs_digest: None,
        worker_id: None,
        finished_at: 0,
        device_seconds: None,
        devices: None,
        public_items: None,
        public_items_in_set: None,
        private_items: None,
        private_items_in_set: None,
        items_digest: None,
        budget_uncertain: None,
    }
}

/// What a board row says, to compare the two rankings by.
type Row = (usize, String, String, f64, bool, f64, i64);

/// The board from scratch: the runs of one version read as the boards read results.
fn expected(
    runs: &[Run],
    ids: &[SubmissionId],
    teams: &[TeamId],
    key: &BoardKey,
    over_budget: OverBudget,
) -> Vec<Row> {
    let entries: Vec<Entry> = runs
        .iter()
        .zip(ids)
        .filter(|(run, _)| run.package_version == key.package_version && !run.failed)
        .filter_map(|(run, id)| {
            let score = match key.board {
                Board::Public => run.public_score,
                Board::Private => run.private_score,
            }?;
            Some(Entry {
                team: teams[run.team].0.clone(),
                submission: id.0.clone(),
                score,
                within_budget: run.within_budget.unwrap_or(true),
                latency_ms: run.latency_ms.unwrap_or(0.0),
                submitted_at: run.submitted_at,
            })
        })
        .collect();
    ranking::rank(&entries, key.direction, over_budget)
        .into_iter()
        .map(|r| {
            (
                r.rank,
                r.entry.team,
                r.entry.submission,
                r.entry.score,
                r.entry.within_budget,
                r.entry.latency_ms,
                r.entry.submitted_at,
            )
        })
        .collect()
}

/// The maintained board, read `per_page` rows at a time; with the total each page gave.
fn maintained(
    conn: &mut DbConnection,
    key: &BoardKey,
    over_budget: OverBudget,
    per_page: u32,
) -> QueryResult<(Vec<Row>, Vec<i64>)> {
    let (mut rows, mut totals) = (Vec::new(), Vec::new());
    for number in 1.. {
        let page = Page {
            number,
            size: per_page,
        };
        let (lines, total) = board_entries::ranked_page(conn, key, over_budget, page)?;
        totals.push(total);
        if lines.is_empty() {
            break;
        }
        // The page read with the row above it (as the board's ties need it) is the row
        // ranked just before the page, then the page itself.
        let with_above = board_entries::ranked_rows(
            conn,
            key,
            over_budget,
            board_entries::Rows::page_and_the_row_above(page),
        )?;
        let shown = |lines: &[board_entries::RankedLine]| -> Vec<(usize, String)> {
            lines
                .iter()
                .map(|l| (l.rank, l.entry.submission_id.0.clone()))
                .collect()
        };
        let page_part = &with_above[usize::from(number > 1)..];
        assert_eq!(shown(page_part), shown(&lines), "page {number}");
        if number > 1 {
            assert_eq!(
                with_above[0].rank,
                lines[0].rank - 1,
                "the row above page {number}"
            );
            assert_eq!(
                Some(&with_above[0].entry.submission_id.0),
                rows.last().map(|row: &Row| &row.2),
                "the row above page {number} is the last of the page before"
            );
        }
        // A submission's own rank (the report card's) agrees with the page it is on.
        for line in &lines {
            let own = board_entries::rank_of(conn, key, over_budget, &line.entry.submission_id)?;
            assert_eq!(own, Some((line.rank as i64, total)), "{:?}", line.entry);
        }
        rows.extend(lines.into_iter().map(|line| {
            (
                line.rank,
                line.entry.team_id.0,
                line.entry.submission_id.0,
                line.entry.score,
                !line.entry.over_budget,
                line.entry.latency_ms,
                line.entry.submitted_at,
            )
        }));
    }
    Ok((rows, totals))
}

fn all_entries(conn: &mut DbConnection) -> QueryResult<Vec<BoardEntry>> {
    board_entries_table::table
        .order((
            board_entries_table::scenario_id,
            board_entries_table::phase_id,
            board_entries_table::board,
            board_entries_table::direction,
            board_entries_table::package_version,
            board_entries_table::team_id,
        ))
        .select(BoardEntry::as_select())
        .load(conn)
}

/// The board migration's own files, whatever date it carries.
fn board_migration(backend: Backend, file: &str) -> String {
    let tree = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../migrations")
        .join(match backend {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        });
    let folder = std::fs::read_dir(&tree)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .find(|path| path.to_string_lossy().ends_with("_board_entries"))
        .expect("the board migration");
    std::fs::read_to_string(folder.join(file)).unwrap()
}

async fn maintained_boards_rank_as_ranking_does(backend: Backend) {
    let app = TestApp::new(backend).await;
    let db = app.state.db.clone();
    let teams = db
        .write_blocking(|conn| create_teams(conn, &app, TEAMS))
        .unwrap();
    let mut runner = TestRunner::new(Config {
        cases: 40,
        failure_persistence: None,
        ..Config::default()
    });
    let cases = std::cell::Cell::new(0);
    runner
        .run(&prop::collection::vec(run(), 0..30), |runs| {
            let case = cases.get() + 1;
            cases.set(case);
            let (phase, ids) = db
                .write_blocking(|conn| record(conn, &app, &teams, case, &runs))
                .unwrap();
            let mut conn_rows = Vec::new();
            for board in [Board::Public, Board::Private] {
                for &direction in Direction::ALL {
                    for package_version in VERSIONS {
                        for over_budget in [OverBudget::RankBelow, OverBudget::Disqualify] {
                            let key = BoardKey {
                                scenario_id: phase.scenario_id.clone(),
                                phase_id: phase.id.clone(),
                                board,
                                direction,
                                package_version,
                            };
                            let want = expected(&runs, &ids, &teams, &key, over_budget);
                            for per_page in [3, 100] {
                                let (got, totals) = db
                                    .read_blocking(|conn| {
                                        Ok(maintained(conn, &key, over_budget, per_page)?)
                                    })
                                    .unwrap();
                                conn_rows.push((key.clone(), over_budget, got, want.clone()));
                                let total = i64::try_from(want.len()).unwrap();
                                prop_assert!(
                                    totals.iter().all(|t| *t == total),
                                    "{key:?} {over_budget:?}: totals {totals:?}, want {total}"
                                );
                            }
                        }
                    }
                }
            }
            for (key, over_budget, got, want) in conn_rows {
                prop_assert_eq!(got, want, "{:?} {:?}", key, over_budget);
            }
            Ok(())
        })
        .unwrap();

    // The migration fills the boards from the results alone: dropping them and running it
    // again over every case's results gives the same entries.
    let before = db.read_blocking(|conn| Ok(all_entries(conn)?)).unwrap();
    assert!(
        before.len() > 100,
        "the cases made boards: {}",
        before.len()
    );
    let after = db
        .write_blocking(move |conn| {
            conn.batch_execute(&board_migration(backend, "down.sql"))?;
            conn.batch_execute(&board_migration(backend, "up.sql"))?;
            Ok(all_entries(conn)?)
        })
        .unwrap();
    assert_eq!(before, after);
}

/// A few thousand results on three scenarios; the plans of a board page's queries.
async fn board_pages_read_the_order_index(backend: Backend) {
    let app = TestApp::new(backend).await;
    let db = app.state.db.clone();
    let teams = db
        .write_blocking(|conn| create_teams(conn, &app, 150))
        .unwrap();
    let mut phases = Vec::new();
    for case in 0..3 {
        let runs: Vec<Run> = (0..600)
            .map(|n| Run {
                team: n % teams.len(),
                package_version: 1,
                public_score: Some(f64::from(u32::try_from(n % 97).unwrap()) / 97.0),
                private_score: Some(f64::from(u32::try_from(n % 89).unwrap()) / 89.0),
                within_budget: Some(n % 7 != 0),
                latency_ms: Some(f64::from(u32::try_from(n % 13).unwrap())),
                submitted_at: i64::try_from(n).unwrap(),
                failed: n % 11 == 0,
            })
            .collect();
        let (phase, _) = db
            .write_blocking(|conn| record(conn, &app, &teams, case, &runs))
            .unwrap();
        phases.push(phase);
    }
    let phase = &phases[1];
    let key = BoardKey {
        scenario_id: phase.scenario_id.clone(),
        phase_id: phase.id.clone(),
        board: Board::Public,
        direction: Direction::Higher,
        package_version: 1,
    };
    let plans = db
        .write_blocking(move |conn| {
            if backend == Backend::Postgres {
                // Tables this small are cheaper to read whole, and PostgreSQL rightly does;
                // with whole reads and sorts priced out, a plan without them shows an index
                // serves each query and its order (docs/benchmarks.md has the plans at
                // 100,000 submissions).
                conn.batch_execute(
                    "ANALYZE; SET LOCAL enable_seqscan = off; SET LOCAL enable_sort = off",
                )?;
            }
            let mut plans = Vec::new();
            for over_budget in [OverBudget::RankBelow, OverBudget::Disqualify] {
                for number in [1, 3] {
                    let page = Page { number, size: 50 };
                    plans.push(board_entries::ranked_page_plans(
                        conn,
                        &key,
                        over_budget,
                        page,
                    )?);
                }
            }
            Ok(plans)
        })
        .unwrap();
    for plan in plans {
        let text = plan.join("\n");
        println!("{backend:?}:\n{text}\n");
        match backend {
            Backend::Postgres => {
                for table in ["board_entries", "results", "teams", "submissions"] {
                    assert!(
                        !text.contains(&format!("Seq Scan on {table}")),
                        "a whole {table} read:\n{text}"
                    );
                }
                assert!(!text.contains("Sort Key"), "a sort, not the index:\n{text}");
                assert!(text.contains("board_entries_order"), "{text}");
            }
            Backend::Sqlite => {
                for line in &plan {
                    assert!(
                        !line.starts_with("SCAN"),
                        "a whole table read: {line}\n{text}"
                    );
                }
                assert!(
                    !text.contains("TEMP B-TREE"),
                    "a sort, not the index:\n{text}"
                );
                assert!(text.contains("board_entries_order"), "{text}");
            }
        }
    }
}

on_both_backends!(
    maintained_boards_rank_as_ranking_does,
    board_pages_read_the_order_index
);
