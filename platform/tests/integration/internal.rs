//! The worker API: worker tokens only, claim under a lease, image download, stages, result.

use actix_web::test::TestRequest;
use jiebang_platform::db::models::tokens::{self, TokenKind};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::common::{Backend, TestApp, copy_test_package, edit};
use crate::on_both_backends;

async fn a_worker_runs_a_job_through(backend: Backend) {
    let app = TestApp::new(backend).await;
    let token = app.worker_token();
    let worker = Some(token.as_str());

    let user_on_internal = app
        .post(
            "/internal/v1/workers",
            app.world.operator.token(),
            json!({}),
        )
        .await;
    assert_eq!(
        user_on_internal.status, 401,
        "user tokens do not open the worker API"
    );
    assert_eq!(
        app.get("/api/v1/me", worker).await.status,
        401,
        "worker tokens do not open the user API"
    );

    let registered = app
        .post(
            "/internal/v1/workers",
            worker,
            json!({"name": "gpu-node-1", "cpus": 2, "memory_mb": 24576,
            "accelerators": [{"id": "0", "model": "NVIDIA A100"}]}),
        )
        .await;
    assert_eq!(registered.status, 201, "{:?}", registered.body);
    let worker_id = registered.body["worker_id"].as_str().unwrap().to_owned();
    let bad = app
        .post(
            "/internal/v1/workers",
            worker,
            json!({"name": "x", "cpus": 0, "memory_mb": 1}),
        )
        .await;
    assert_eq!(bad.status, 422);

    let idle = app
        .post(
            "/internal/v1/jobs/claim",
            worker,
            json!({"worker_id": worker_id}),
        )
        .await;
    assert_eq!(idle.status, 204);

    let archive: &'static [u8] = b"an image archive of a team";
    let submission = app.team_a_submits(archive).await;
    let claimed = app
        .post(
            "/internal/v1/jobs/claim",
            worker,
            json!({"worker_id": worker_id, "wait_seconds": 5}),
        )
        .await;
    assert_eq!(claimed.status, 200, "{:?}", claimed.body);
    assert_eq!(claimed.body["submission_id"], submission.as_str());
    let job = claimed.body["job_id"].as_str().unwrap().to_owned();
    let digest = claimed.body["image_digest"].as_str().unwrap().to_owned();

    let raw = app
        .bytes(
            TestRequest::get()
                .uri(&format!("/internal/v1/images/{digest}"))
                .insert_header(("Authorization", format!("Bearer {token}"))),
        )
        .await;
    assert_eq!(raw, archive);
    assert_eq!(
        format!("sha256:{}", hex::encode(Sha256::digest(&raw))),
        digest
    );
    let missing = app
        .get(
            &format!("/internal/v1/images/sha256:{}", "0".repeat(64)),
            worker,
        )
        .await;
    assert_eq!(missing.status, 404);

    for stage in ["sample_run", "hidden_run", "scoring"] {
        let reply = app
            .post(
                &format!("/internal/v1/jobs/{job}/stage"),
                worker,
                json!({"worker_id": worker_id, "stage": stage}),
            )
            .await;
        assert_eq!(reply.status, 204, "{stage}: {:?}", reply.body);
    }
    let beat = app
        .post(
            &format!("/internal/v1/jobs/{job}/heartbeat"),
            worker,
            json!({"worker_id": worker_id}),
        )
        .await;
    assert_eq!(beat.status, 204);
    let done = app
        .post(
            &format!("/internal/v1/jobs/{job}/result"),
            worker,
            json!({"worker_id": worker_id, "outcome": "finished"}),
        )
        .await;
    assert_eq!(done.status, 204);
    let late = app
        .post(
            &format!("/internal/v1/jobs/{job}/result"),
            worker,
            json!({"worker_id": worker_id, "outcome": "finished"}),
        )
        .await;
    assert_eq!((late.status.as_u16(), late.code()), (409, "lease_lost"));

    let shown = app
        .get(
            &format!("/api/v1/submissions/{submission}"),
            app.world.alice.token(),
        )
        .await;
    let stages: Vec<&str> = shown.body["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["stage"].as_str().unwrap())
        .collect();
    assert_eq!(
        stages,
        [
            "stored",
            "queued",
            "sample_run",
            "hidden_run",
            "scoring",
            "done"
        ]
    );
    assert_eq!(shown.body["status"], "done");
}

async fn workers_cannot_act_for_each_other(backend: Backend) {
    let app = TestApp::new(backend).await;
    let first = app.worker_token();
    let registered = app
        .post(
            "/internal/v1/workers",
            Some(&first),
            json!({"name": "node-a", "cpus": 2, "memory_mb": 1024}),
        )
        .await;
    let worker_id = registered.body["worker_id"].as_str().unwrap().to_owned();
    let other_owner = app.world.admin.id.clone();
    let second = app
        .state
        .db
        .write_blocking(move |conn| {
            tokens::issue(conn, &other_owner, "node-b", TokenKind::Worker, None)
        })
        .unwrap()
        .token;
    let hijack = app
        .post(
            "/internal/v1/jobs/claim",
            Some(&second),
            json!({"worker_id": worker_id}),
        )
        .await;
    assert_eq!(hijack.status, 404);

    app.team_a_submits(b"image for the failure test").await;
    let claimed = app
        .post(
            "/internal/v1/jobs/claim",
            Some(&first),
            json!({"worker_id": worker_id}),
        )
        .await;
    let job = claimed.body["job_id"].as_str().unwrap().to_owned();
    let infra = app
        .post(&format!("/internal/v1/jobs/{job}/result"), Some(&first),
            json!({"worker_id": worker_id, "outcome": "infrastructure_failed", "reason": "docker: no space left on device"}))
        .await;
    assert_eq!(infra.status, 204);
    let again = app
        .post(
            "/internal/v1/jobs/claim",
            Some(&first),
            json!({"worker_id": worker_id}),
        )
        .await;
    assert_eq!(
        again.status, 200,
        "an infrastructure failure re-queues the job"
    );
    assert_eq!(again.body["attempt"], 2);
    let unknown_stage = app
        .post(
            &format!("/internal/v1/jobs/{job}/stage"),
            Some(&first),
            json!({"worker_id": worker_id, "stage": "done"}),
        )
        .await;
    assert_eq!(
        unknown_stage.status, 422,
        "workers cannot declare a submission done through stages"
    );
}

/// The evaluator's own client against the real platform over HTTP: the path a GPU node takes.
async fn the_evaluator_client_speaks_the_worker_api(backend: Backend) {
    use jiebang_evaluator::protocol::{Outcome, Registration, Stage};
    use jiebang_evaluator::worker::{BlobCache, PlatformClient};

    let app = TestApp::new(backend).await;
    let token = app.worker_token();
    let submission = app
        .team_a_submits(b"archive for the evaluator client")
        .await;
    let base = app.serve_http();
    let client = PlatformClient::new(&base, &token);
    let worker = client
        .register(&Registration {
            name: "node-7".into(),
            cpus: 2,
            memory_mb: 4096,
            accelerators: vec![],
        })
        .await
        .unwrap();
    let job = client
        .claim(&worker, std::time::Duration::from_secs(2))
        .await
        .unwrap()
        .expect("the queued job");
    assert_eq!(job.submission_id, submission);

    let cache_dir = tempfile::tempdir().unwrap();
    let cache = BlobCache::new(cache_dir.path());
    let path = client.image(&job.image_digest, &cache).await.unwrap();
    assert_eq!(
        std::fs::read(&path).unwrap(),
        b"archive for the evaluator client"
    );
    assert_eq!(
        client.image(&job.image_digest, &cache).await.unwrap(),
        path,
        "cached by digest"
    );
    let forged = client
        .image(&format!("sha256:{}", "ab".repeat(32)), &cache)
        .await;
    assert!(forged.is_err(), "an unknown digest is not served");

    assert!(client.heartbeat(&worker, &job.job_id).await.unwrap());
    client
        .stage(&worker, &job.job_id, Stage::SampleRun)
        .await
        .unwrap();
    client
        .result(
            &worker,
            &job.job_id,
            Outcome::SubmissionFailed("exit code 137: out of memory".into()),
            None,
        )
        .await
        .unwrap();
    assert!(
        !client.heartbeat(&worker, &job.job_id).await.unwrap(),
        "the lease ends with the result"
    );
    assert!(
        client
            .claim(&worker, std::time::Duration::ZERO)
            .await
            .unwrap()
            .is_none()
    );

    let shown = app
        .get(
            &format!("/api/v1/submissions/{submission}"),
            app.world.alice.token(),
        )
        .await;
    assert_eq!(shown.body["status"], "failed");
    assert_eq!(shown.body["failure"], "exit code 137: out of memory");
}

/// Queues one job of a scenario asking for `accelerators` (its `[resources]` lines), then
/// registers `nodes`: every node but the last is refused the job, the last claims it.
async fn only_the_last_node_claims(backend: Backend, accelerators: &str, nodes: &[Value]) {
    let app = TestApp::new(backend).await;
    let dir = tempfile::tempdir().unwrap();
    let package = copy_test_package(dir.path(), "accelerated");
    edit(&package.join("scenario.toml"), |t| {
        t.replace(
            "[split]",
            &format!("[resources]\ncpus = 1\nmemory_mb = 2048\n{accelerators}\n\n[split]"),
        )
    });
    app.load_catalog(dir.path());
    let w = &app.world;
    let submission = app
        .submit("test-parcel-delay", &w.alice, w.team_a.as_str(), b"image")
        .await;
    let token = app.worker_token();
    let mut ids = Vec::new();
    for node in nodes {
        let registered = app
            .post("/internal/v1/workers", Some(&token), node.clone())
            .await;
        assert_eq!(registered.status, 201, "{}", registered.body);
        ids.push(registered.body["worker_id"].as_str().unwrap().to_owned());
    }
    let (fit, unfit) = ids.split_last().unwrap();
    for unfit in unfit {
        let body = json!({"worker_id": unfit});
        let claim = app
            .post("/internal/v1/jobs/claim", Some(&token), body)
            .await;
        assert_eq!(claim.status, 204, "{unfit} lacks what the job asks for");
    }
    let body = json!({"worker_id": fit});
    let claim = app
        .post("/internal/v1/jobs/claim", Some(&token), body)
        .await;
    assert_eq!(claim.status, 200);
    assert_eq!(claim.body["submission_id"], submission.as_str());
    assert!(
        claim.body["bundle_digest"]
            .as_str()
            .unwrap()
            .starts_with("sha256:")
    );
}

/// A job goes only to a node that has what its scenario asks for.
async fn claims_fit_the_node(backend: Backend) {
    let nodes = [
        json!({"name": "cpu", "cpus": 2, "memory_mb": 24576}),
        json!({"name": "t4", "cpus": 2, "memory_mb": 24576, "accelerators": [{"id": "0", "model": "T4"}]}),
        json!({"name": "a100", "cpus": 8, "memory_mb": 65536, "accelerators": [{"id": "0", "model": "A100"}]}),
    ];
    only_the_last_node_claims(backend, "gpus = 1\ngpu_model = \"A100\"", &nodes).await;
}

/// Vendor-typed inventories (as discovered: vendor and device node): a job asking for
/// three MLU270 goes neither to a node with two of them nor to one with four Ascend chips,
/// only to the node that has three.
async fn mlu_claims_count_the_nodes_devices(backend: Backend) {
    let node = |name: &str, vendor: &str, prefix: &str, model: &str, count: usize| {
        let devices: Vec<Value> = (0..count)
            .map(|n| json!({"id": n.to_string(), "model": model, "vendor": vendor, "node": format!("/dev/{prefix}{n}")}))
            .collect();
        json!({"name": name, "cpus": 4, "memory_mb": 32768, "accelerators": devices})
    };
    let nodes = [
        node("two-mlu", "cambricon", "cambricon_dev", "MLU270", 2),
        node("four-npu", "ascend", "davinci", "910B3", 4),
        node("three-mlu", "cambricon", "cambricon_dev", "MLU270", 3),
    ];
    only_the_last_node_claims(backend, "gpus = 3\ngpu_model = \"MLU270\"", &nodes).await;
}

on_both_backends!(
    a_worker_runs_a_job_through,
    workers_cannot_act_for_each_other,
    the_evaluator_client_speaks_the_worker_api,
    claims_fit_the_node,
    mlu_claims_count_the_nodes_devices,
);
