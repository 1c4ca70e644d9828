//! HTTP calls to the platform's worker API (`/internal/v1`) with a worker token.

use std::path::{Path, PathBuf};
use std::time::Duration;

use futures_util::StreamExt;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::EvaluatorError;
use crate::pipeline::Evaluation;
use crate::protocol::{
    ClaimRequest, ClaimedJob, HandBack, Heartbeat, Outcome, Registered, Registration, Stage,
    StageReport,
};
use crate::worker::cache::BlobCache;

/// The error body every platform error answer carries.
#[derive(serde::Deserialize)]
struct ErrorBody {
    error: ErrorDetail,
}

#[derive(serde::Deserialize)]
struct ErrorDetail {
    message: String,
}

pub struct PlatformClient {
    base: String,
    token: String,
    http: reqwest::Client,
}

impl PlatformClient {
    pub fn new(base: &str, token: &str) -> Self {
        Self {
            base: base.trim_end_matches('/').to_owned(),
            token: token.to_owned(),
            http: reqwest::Client::builder()
                .connect_timeout(Duration::from_secs(10))
                .build()
                .unwrap_or_default(),
        }
    }

    async fn post(
        &self,
        path: &str,
        body: &impl Serialize,
        timeout: Duration,
    ) -> Result<reqwest::Response, EvaluatorError> {
        Ok(self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .timeout(timeout)
            .json(body)
            .send()
            .await?)
    }

    async fn expect_success(
        response: reqwest::Response,
    ) -> Result<reqwest::Response, EvaluatorError> {
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        let message = response
            .json::<ErrorBody>()
            .await
            .map_or_else(|_| "no details".to_owned(), |body| body.error.message);
        Err(EvaluatorError::Platform { status, message })
    }

    async fn answer<T: DeserializeOwned>(response: reqwest::Response) -> Result<T, EvaluatorError> {
        let bytes = Self::expect_success(response).await?.bytes().await?;
        Ok(serde_json::from_slice(&bytes)?)
    }

    pub async fn register(&self, node: &Registration) -> Result<String, EvaluatorError> {
        let response = self
            .post("/internal/v1/workers", node, Duration::from_secs(30))
            .await?;
        let registered: Registered = Self::answer(response).await?;
        Ok(registered.worker_id)
    }

    /// Waits up to `wait` for a job; `None` when none came.
    pub async fn claim(
        &self,
        worker: &str,
        wait: Duration,
    ) -> Result<Option<ClaimedJob>, EvaluatorError> {
        let body = ClaimRequest {
            worker_id: worker.to_owned(),
            wait_seconds: wait.as_secs(),
        };
        let response = self
            .post(
                "/internal/v1/jobs/claim",
                &body,
                wait + Duration::from_secs(30),
            )
            .await?;
        if response.status() == reqwest::StatusCode::NO_CONTENT {
            return Ok(None);
        }
        Self::answer(response).await.map(Some)
    }

    /// Extends the lease; `false` when the platform says the job is no longer ours.
    pub async fn heartbeat(&self, worker: &str, job: &str) -> Result<bool, EvaluatorError> {
        let body = Heartbeat {
            worker_id: worker.to_owned(),
        };
        self.post_as_holder(&format!("/internal/v1/jobs/{job}/heartbeat"), &body, 30)
            .await
    }

    /// Gives back a job this worker holds but will not finish (it is stopping); `false`
    /// when the platform says the job was no longer ours.
    pub async fn hand_back(&self, worker: &str, job: &str) -> Result<bool, EvaluatorError> {
        let body = HandBack {
            worker_id: worker.to_owned(),
        };
        self.post_as_holder(&format!("/internal/v1/jobs/{job}/hand-back"), &body, 5)
            .await
    }

    /// A call about a job the worker holds: `false` for 409, the platform saying it no
    /// longer does.
    async fn post_as_holder(
        &self,
        path: &str,
        body: &impl Serialize,
        timeout_seconds: u64,
    ) -> Result<bool, EvaluatorError> {
        let response = self
            .post(path, body, Duration::from_secs(timeout_seconds))
            .await?;
        if response.status() == reqwest::StatusCode::CONFLICT {
            return Ok(false);
        }
        Self::expect_success(response).await.map(|_| true)
    }

    pub async fn stage(&self, worker: &str, job: &str, stage: Stage) -> Result<(), EvaluatorError> {
        let body = StageReport {
            worker_id: worker.to_owned(),
            stage,
        };
        let response = self
            .post(
                &format!("/internal/v1/jobs/{job}/stage"),
                &body,
                Duration::from_secs(30),
            )
            .await?;
        Self::expect_success(response).await.map(|_| ())
    }

    /// How the job ended, with the report and the logs of both runs when it got that far.
    pub async fn result(
        &self,
        worker: &str,
        job: &str,
        outcome: Outcome,
        evaluation: Option<Evaluation>,
    ) -> Result<(), EvaluatorError> {
        // Logs and reasons are fitted so the body always stays within the platform's limit.
        let body = super::result::result_body(worker, outcome, evaluation);
        let response = self
            .post(
                &format!("/internal/v1/jobs/{job}/result"),
                &body,
                Duration::from_secs(60),
            )
            .await?;
        Self::expect_success(response).await.map(|_| ())
    }

    /// The image archive with `digest`, from the cache or streamed from the platform and
    /// verified on the way in.
    pub async fn image(&self, digest: &str, cache: &BlobCache) -> Result<PathBuf, EvaluatorError> {
        self.blob(digest, cache).await
    }

    /// A scenario bundle, fetched and verified once, unpacked into a folder of its own.
    pub async fn bundle(&self, digest: &str, cache: &BlobCache) -> Result<PathBuf, EvaluatorError> {
        let archive = self.blob(digest, cache).await?;
        let folder = archive.with_extension("bundle");
        if !folder.join("scenario.toml").is_file() {
            let staging = archive.with_extension("unpacking");
            unpack(&archive, &staging)?;
            let _ = std::fs::remove_dir_all(&folder);
            std::fs::rename(&staging, &folder).map_err(EvaluatorError::file(&folder))?;
        }
        Ok(folder)
    }

    async fn blob(&self, digest: &str, cache: &BlobCache) -> Result<PathBuf, EvaluatorError> {
        if let Some(path) = cache.get(digest) {
            return Ok(path);
        }
        let mut incoming = cache.incoming(digest)?;
        let response = self
            .http
            .get(format!("{}/internal/v1/blobs/{digest}", self.base))
            .bearer_auth(&self.token)
            .send()
            .await?;
        let mut body = Self::expect_success(response).await?.bytes_stream();
        while let Some(chunk) = body.next().await {
            incoming.write(&chunk?)?;
        }
        tokio::task::spawn_blocking(move || incoming.finish()).await?
    }
}

/// Unpacks a bundle archive into `staging`, afresh.
fn unpack(archive: &Path, staging: &Path) -> Result<(), EvaluatorError> {
    let _ = std::fs::remove_dir_all(staging);
    std::fs::create_dir_all(staging).map_err(EvaluatorError::file(staging))?;
    let file = std::fs::File::open(archive).map_err(EvaluatorError::file(archive))?;
    // unpack_in refuses entries that would land outside the folder.
    let mut entries = tar::Archive::new(file);
    for entry in entries.entries().map_err(EvaluatorError::file(archive))? {
        entry
            .and_then(|mut entry| entry.unpack_in(staging))
            .map_err(EvaluatorError::file(archive))?;
    }
    Ok(())
}
