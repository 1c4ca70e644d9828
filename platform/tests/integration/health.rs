//! Liveness and readiness: `/healthz` from memory, `/readyz` from the database.

use crate::common::{Backend, TestApp};
use crate::on_both_backends;

async fn liveness_and_readiness(backend: Backend) {
    let app = TestApp::new(backend).await;
    let alive = app.get("/healthz", None).await;
    assert_eq!(alive.status, 200);
    assert_eq!(alive.body["status"], "ok");
    let ready = app.get("/readyz", None).await;
    assert_eq!(ready.status, 200, "{:?}", ready.body);
    assert_eq!(ready.body["status"], "ready");
}

on_both_backends!(liveness_and_readiness);
