//! Restart: what `jiebang serve` stored before a restart is there after it.

use crate::binary::{admin_token, enrolled_team, start_server as start, upload, user_with_token};
use crate::common::{Backend, copy_test_package, fresh_database};
use crate::on_both_backends;

async fn data_survives_a_restart(backend: Backend) {
    let database = fresh_database(backend);
    let client = reqwest::Client::new();

    let first = start(
        database.dir.path(),
        &database.url,
        &database.dir.path().join("catalog"),
        false,
    );
    let token = admin_token(&first.printed).expect("first start prints an admin token");
    let created = client
        .post(format!("{}/api/v1/teams", first.base))
        .bearer_auth(&token)
        .json(&serde_json::json!({"name": "Restart Team", "kind": "university", "institution": "NWPU"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let team: serde_json::Value = created.json().await.unwrap();
    drop(first);

    let second = start(
        database.dir.path(),
        &database.url,
        &database.dir.path().join("catalog"),
        false,
    );
    assert_eq!(
        admin_token(&second.printed),
        None,
        "the admin token is printed only on first start"
    );
    let fetched = client
        .get(format!(
            "{}/api/v1/teams/{}",
            second.base,
            team["id"].as_str().unwrap()
        ))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(fetched.status(), 200);
    let body: serde_json::Value = fetched.json().await.unwrap();
    assert_eq!(body["name"], "Restart Team");
    assert_eq!(body["members"][0]["login"], "admin");
}

/// Jobs queued and running survive a restart: the running one keeps its lease and its
/// worker can finish it; the queued one is claimed after the restart.
async fn queued_and_running_jobs_survive_a_restart(backend: Backend) {
    let database = fresh_database(backend);
    let data = database.dir.path();
    std::fs::create_dir_all(data.join("catalog")).unwrap();
    copy_test_package(&data.join("catalog"), "parcel");
    let client = reqwest::Client::new();

    let first = start(data, &database.url, &data.join("catalog"), false);
    let lead = user_with_token(data, &database.url, "lead", None, false);
    let worker_token = user_with_token(data, &database.url, "pool", Some("operator"), true);
    let post = |base: &str, path: &str, token: &str, body: serde_json::Value| {
        client
            .post(format!("{base}{path}"))
            .bearer_auth(token)
            .json(&body)
            .send()
    };
    let team = enrolled_team(&first.base, &lead).await;
    let mut ids = Vec::new();
    for body in ["first image", "second image"] {
        ids.push(upload(&first.base, &lead, &team, body).await);
    }
    let worker: serde_json::Value = post(
        &first.base,
        "/internal/v1/workers",
        &worker_token,
        serde_json::json!({"name": "n", "cpus": 2, "memory_mb": 4096}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let worker = worker["worker_id"].as_str().unwrap().to_owned();
    let running: serde_json::Value = post(
        &first.base,
        "/internal/v1/jobs/claim",
        &worker_token,
        serde_json::json!({"worker_id": worker}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(running["submission_id"], ids[0].as_str());
    drop(first);

    let second = start(data, &database.url, &data.join("catalog"), false);
    let beat = post(
        &second.base,
        &format!(
            "/internal/v1/jobs/{}/heartbeat",
            running["job_id"].as_str().unwrap()
        ),
        &worker_token,
        serde_json::json!({"worker_id": worker}),
    )
    .await
    .unwrap();
    assert_eq!(
        beat.status(),
        204,
        "the running job kept its lease across the restart"
    );
    let image = client
        .get(format!(
            "{}/internal/v1/blobs/{}",
            second.base,
            running["image_digest"].as_str().unwrap()
        ))
        .bearer_auth(&worker_token)
        .send()
        .await
        .unwrap();
    assert_eq!(image.bytes().await.unwrap().as_ref(), b"first image");
    let queued: serde_json::Value = post(
        &second.base,
        "/internal/v1/jobs/claim",
        &worker_token,
        serde_json::json!({"worker_id": worker}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(
        queued["submission_id"],
        ids[1].as_str(),
        "the queued job is still there"
    );
    let finished = post(&second.base, &format!("/internal/v1/jobs/{}/result", running["job_id"].as_str().unwrap()), &worker_token, serde_json::json!({"worker_id": worker, "outcome": "submission_failed", "reason": "exit code 1"}))
        .await
        .unwrap();
    assert_eq!(finished.status(), 204);
    let shown: serde_json::Value = client
        .get(format!("{}/api/v1/submissions/{}", second.base, ids[0]))
        .bearer_auth(&lead)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(shown["status"], "failed");
    assert_eq!(shown["failure"], "exit code 1");
}

on_both_backends!(
    data_survives_a_restart,
    queued_and_running_jobs_survive_a_restart
);
