//! Uploads: a submission is stored whole and queued, or refused with nothing stored.

use std::io::Write;

use actix_web::http::Method;
use diesel::prelude::*;
use sha2::{Digest, Sha256};

use crate::common::{Backend, TestApp};
use crate::on_both_backends;

fn upload_path(app: &TestApp, scenario: &str) -> String {
    format!(
        "/api/v1/scenarios/{scenario}/submissions?team_id={}",
        app.world.team_a
    )
}

pub(crate) async fn enrol_team_a(app: &TestApp) {
    let w = &app.world;
    let enrolled = app.enrol("kg-open", &w.alice, w.team_a.as_str()).await;
    assert_eq!(enrolled.status, 201);
}

pub(crate) async fn upload(
    app: &TestApp,
    token: Option<&str>,
    scenario: &str,
    body: &'static [u8],
) -> crate::common::Reply {
    app.raw(
        Method::POST,
        &upload_path(app, scenario),
        token,
        Some("application/x-tar"),
        body,
    )
    .await
}

async fn stored_whole_and_queued(backend: Backend) {
    let app = TestApp::new(backend).await;
    enrol_team_a(&app).await;
    let w = &app.world;
    let archive: &'static [u8] = b"not really a tar, but the platform only stores it";
    let reply = upload(&app, w.alice.token(), "kg-open", archive).await;
    assert_eq!(reply.status, 201, "{:?}", reply.body);
    let submission = &reply.body["submission"];
    let expected = format!("sha256:{}", hex::encode(Sha256::digest(archive)));
    assert_eq!(submission["image_digest"], expected.as_str());
    assert_eq!(submission["image_size"], archive.len());
    assert_eq!(submission["status"], "queued");
    let stages: Vec<&str> = submission["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["stage"].as_str().unwrap())
        .collect();
    assert_eq!(stages, ["stored", "queued"]);
    assert_eq!(reply.body["quota"]["remaining"], 4);
    assert_eq!(app.stored_files(), 1);
    let path = app.state.blobs.path_of(&expected).unwrap();
    assert_eq!(std::fs::read(path).unwrap(), archive);

    let id = submission["id"].as_str().unwrap();
    assert_eq!(
        app.get(&format!("/api/v1/submissions/{id}"), w.alice.token())
            .await
            .status,
        200
    );
    assert_eq!(
        app.get(&format!("/api/v1/submissions/{id}"), w.judge.token())
            .await
            .status,
        200
    );
    assert_eq!(
        app.get(&format!("/api/v1/submissions/{id}"), w.bob.token())
            .await
            .status,
        404
    );
    assert_eq!(app.count("jobs"), 1);

    let quota = app
        .get(
            &format!("/api/v1/scenarios/kg-open/quota?team_id={}", w.team_a),
            w.alice.token(),
        )
        .await;
    assert_eq!(quota.body["used_today"], 1);
    assert_eq!(quota.body["remaining"], 4);
    assert_eq!(
        app.get(
            &format!("/api/v1/scenarios/kg-open/quota?team_id={}", w.team_a),
            w.bob.token()
        )
        .await
        .status,
        403
    );

    let again = upload(&app, w.alice.token(), "kg-open", archive).await;
    assert_eq!(
        (again.status.as_u16(), again.code()),
        (409, "duplicate_image")
    );
    assert!(again.message().contains(id), "{}", again.message());
    assert_eq!(app.count("submissions"), 1);
    assert_eq!(
        app.stored_files(),
        1,
        "the earlier submission keeps its file"
    );
}

async fn refusals_store_nothing(backend: Backend) {
    let app = TestApp::with_config(backend, |config| config.max_upload_bytes = 64).await;
    let w = &app.world;
    let not_enrolled = upload(&app, w.alice.token(), "kg-open", b"image").await;
    assert_eq!(
        (not_enrolled.status.as_u16(), not_enrolled.code()),
        (409, "not_enrolled")
    );

    enrol_team_a(&app).await;
    let other_team = upload(&app, w.bob.token(), "kg-open", b"image").await;
    assert_eq!(other_team.status, 403);
    let anonymous = upload(&app, None, "kg-open", b"image").await;
    assert_eq!(anonymous.status, 401);
    let empty = upload(&app, w.alice.token(), "kg-open", b"").await;
    assert_eq!(empty.status, 422);
    assert!(empty.message().contains("empty"), "{}", empty.message());
    let oversized = upload(&app, w.alice.token(), "kg-open", &[7u8; 100]).await;
    assert_eq!(
        (oversized.status.as_u16(), oversized.code()),
        (413, "payload_too_large")
    );

    // An enrolment from when the phase was open, then the phase closed.
    let closed_phase: String = app.read(|conn| {
        use jiebang_platform::db::schema::phases;
        phases::table
            .filter(phases::scenario_id.eq("kg-closed"))
            .select(phases::id)
            .first(conn)
    });
    app.state
        .db
        .write_blocking({
            let (team, user) = (w.team_a.clone(), w.alice.id.clone());
            move |conn| {
                use jiebang_platform::db::schema::enrolments;
                diesel::insert_into(enrolments::table)
                    .values((
                        enrolments::id.eq("enr_closed"),
                        enrolments::scenario_id.eq("kg-closed"),
                        enrolments::team_id.eq(team),
                        enrolments::phase_id.eq(closed_phase),
                        enrolments::enrolled_by.eq(user),
                        enrolments::created_at.eq(0_i64),
                    ))
                    .execute(conn)?;
                Ok(())
            }
        })
        .unwrap();
    let closed = upload(&app, w.alice.token(), "kg-closed", b"image").await;
    assert_eq!(
        (closed.status.as_u16(), closed.code()),
        (409, "phase_closed")
    );

    // A published scenario's quota is fixed by its rules; this one is made small by hand.
    app.state
        .db
        .write_blocking(|conn| {
            use jiebang_platform::db::schema::scenarios;
            diesel::update(scenarios::table.find("kg-open"))
                .set(scenarios::daily_quota.eq(1))
                .execute(conn)?;
            Ok(())
        })
        .unwrap();
    assert_eq!(
        upload(&app, w.alice.token(), "kg-open", b"first image")
            .await
            .status,
        201
    );
    let spent = upload(&app, w.alice.token(), "kg-open", b"second image").await;
    assert_eq!((spent.status.as_u16(), spent.code()), (409, "quota_spent"));
    assert!(spent.message().contains("resets at"), "{}", spent.message());

    assert_eq!(app.count("submissions"), 1);
    assert_eq!(app.count("jobs"), 1);
    assert_eq!(app.stored_files(), 1);
}

async fn a_cut_connection_leaves_nothing(backend: Backend) {
    let app = TestApp::new(backend).await;
    enrol_team_a(&app).await;
    let base = app.serve_http();
    let address = base.trim_start_matches("http://").to_owned();
    let request = format!(
        "POST {} HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {}\r\nContent-Type: application/x-tar\r\nContent-Length: 1000000\r\n\r\n",
        upload_path(&app, "kg-open"),
        app.world.alice.token
    );
    // The client sends a tenth of what it announced and hangs up.
    let sent = std::thread::spawn(move || {
        let mut stream = std::net::TcpStream::connect(&address).unwrap();
        stream.write_all(request.as_bytes()).unwrap();
        stream.write_all(&[1u8; 100_000]).unwrap();
        stream.flush().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(200));
        drop(stream);
    });
    sent.join().unwrap();
    // Give the server a moment to notice the cut and clean up.
    for _ in 0..200 {
        actix_web::rt::time::sleep(std::time::Duration::from_millis(50)).await;
        let incoming = app.state.config.data_dir.join("blobs/incoming");
        if std::fs::read_dir(incoming).map_or(true, |mut d| d.next().is_none()) {
            break;
        }
    }
    assert_eq!(app.count("submissions"), 0);
    assert_eq!(
        app.stored_files(),
        0,
        "no file, finished or partial, is left"
    );
}

on_both_backends!(
    stored_whole_and_queued,
    refusals_store_nothing,
    a_cut_connection_leaves_nothing
);
