//! The job queue: leases, no job held twice, expiry, retries and the quota.

use jiebang_evaluator::protocol::Outcome;
use jiebang_platform::db::ids::{JobId, SubmissionId};
use jiebang_platform::db::models::jobs::{self, Job};
use jiebang_platform::db::models::submissions::{self, Submission, SubmissionStage};
use jiebang_platform::db::now_millis;

use crate::common::{Backend, TestApp};
use crate::on_both_backends;

fn queue_submissions(app: &TestApp, count: usize) -> Vec<SubmissionId> {
    let w = &app.world;
    (0..count)
        .map(|n| {
            // Distinct times keep the queue's order (oldest first) well defined.
            std::thread::sleep(std::time::Duration::from_millis(2));
            let now = now_millis();
            let submission = Submission {
                id: SubmissionId::generate(),
                scenario_id: w.open_scenario.clone(),
                phase_id: w.open_phase.clone(),
                team_id: w.team_a.clone(),
                submitted_by: w.alice.id.clone(),
                image_digest: format!("sha256:{n:064x}"),
                image_size: 1,
                status: SubmissionStage::Stored,
                created_at: now,
                updated_at: now,
                counts_toward_quota: true,
                failure: None,
            };
            let id = submission.id.clone();
            app.state
                .db
                .write_blocking(move |conn| {
                    submissions::insert(conn, &submission)?;
                    jobs::enqueue(conn, &submission.id, 0)?;
                    Ok(())
                })
                .unwrap();
            id
        })
        .collect()
}

fn claim(app: &TestApp, worker: &str, lease_millis: i64) -> Option<Job> {
    let worker = worker.to_owned();
    app.state
        .db
        .write_blocking(move |conn| Ok(jobs::claim(conn, &worker, lease_millis)?))
        .unwrap()
}

fn complete(app: &TestApp, job: &JobId, worker: &str, outcome: Outcome) -> bool {
    let (job, worker) = (job.clone(), worker.to_owned());
    app.state
        .db
        .write_blocking(move |conn| {
            let quiet = (&jobs::QuietWait::default(), &[][..]);
            Ok(jobs::complete(conn, &job, &worker, &outcome, quiet)?)
        })
        .unwrap()
}

fn submission(app: &TestApp, id: &SubmissionId) -> Submission {
    let id = id.clone();
    app.read(move |conn| submissions::find(conn, &id)).unwrap()
}

async fn concurrent_workers_never_share_a_job(backend: Backend) {
    let app = TestApp::new(backend).await;
    queue_submissions(&app, 24);
    let db = app.state.db.clone();
    let claimers: Vec<_> = (0..4)
        .map(|n| {
            let db = db.clone();
            std::thread::spawn(move || {
                let worker = format!("worker-{n}");
                let mut held = Vec::new();
                while let Some(job) = db
                    .write_blocking(|conn| Ok(jobs::claim(conn, &worker, 60_000)?))
                    .unwrap()
                {
                    held.push(job.id);
                }
                held
            })
        })
        .collect();
    let mut all: Vec<JobId> = claimers
        .into_iter()
        .flat_map(|c| c.join().unwrap())
        .collect();
    assert_eq!(all.len(), 24, "every job was claimed");
    all.sort();
    all.dedup();
    assert_eq!(all.len(), 24, "no job was claimed twice");
}

async fn an_expired_lease_goes_to_another_worker_and_counts_once(backend: Backend) {
    let app = TestApp::new(backend).await;
    let ids = queue_submissions(&app, 1);
    let first = claim(&app, "worker-dead", -1).expect("a job");
    assert_eq!(first.attempts, 1);
    assert_eq!(
        submission(&app, &ids[0]).status,
        SubmissionStage::Queued,
        "claiming does not change the stage"
    );

    let second = claim(&app, "worker-alive", 60_000).expect("the expired job again");
    assert_eq!(second.id, first.id);
    assert_eq!(second.attempts, 2);
    let dead_heartbeat = {
        let job = first.id.clone();
        app.state
            .db
            .write_blocking(move |conn| Ok(jobs::heartbeat(conn, &job, "worker-dead", 60_000)?))
            .unwrap()
    };
    assert!(!dead_heartbeat, "the old worker lost its lease");
    assert!(
        !complete(&app, &first.id, "worker-dead", Outcome::Finished),
        "a late result is ignored"
    );
    assert!(complete(
        &app,
        &second.id,
        "worker-alive",
        Outcome::Finished
    ));
    assert!(
        !complete(&app, &second.id, "worker-alive", Outcome::Finished),
        "recorded exactly once"
    );
    let done = submission(&app, &ids[0]);
    assert_eq!(done.status, SubmissionStage::Done);
    let stages: Vec<SubmissionStage> = {
        let id = ids[0].clone();
        app.read(move |conn| submissions::events_of(conn, &id))
            .into_iter()
            .map(|e| e.stage)
            .collect()
    };
    assert_eq!(
        stages,
        [
            SubmissionStage::Stored,
            SubmissionStage::Queued,
            SubmissionStage::Queued,
            SubmissionStage::Done
        ]
    );
    assert!(claim(&app, "worker-alive", 60_000).is_none());
}

async fn infrastructure_failures_are_retried_and_never_count(backend: Backend) {
    let app = TestApp::new(backend).await;
    let ids = queue_submissions(&app, 2);
    for attempt in 1..=jobs::DEFAULT_MAX_ATTEMPTS {
        let job = claim(&app, "worker", 60_000).expect("the job comes back");
        assert_eq!(job.submission_id, ids[0]);
        assert_eq!(job.attempts, attempt);
        assert!(complete(
            &app,
            &job.id,
            "worker",
            Outcome::InfrastructureFailed("docker daemon restarted".into())
        ));
    }
    let failed = submission(&app, &ids[0]);
    assert_eq!(failed.status, SubmissionStage::Failed);
    assert!(!failed.counts_toward_quota);
    assert_eq!(failed.failure.as_deref(), Some("docker daemon restarted"));

    let job = claim(&app, "worker", 60_000).expect("the second submission");
    assert!(complete(
        &app,
        &job.id,
        "worker",
        Outcome::SubmissionFailed("out of memory (limit 512 MiB)".into())
    ));
    let own_fault = submission(&app, &ids[1]);
    assert_eq!(own_fault.status, SubmissionStage::Failed);
    assert!(own_fault.counts_toward_quota);

    let used = {
        let (scenario, team) = (app.world.open_scenario.clone(), app.world.team_a.clone());
        app.read(move |conn| submissions::used_today(conn, &scenario, &team, now_millis()))
    };
    assert_eq!(
        used, 1,
        "only the submission's own failure counts toward the quota"
    );
}

on_both_backends!(
    concurrent_workers_never_share_a_job,
    an_expired_lease_goes_to_another_worker_and_counts_once,
    infrastructure_failures_are_retried_and_never_count,
);
