//! HTTP calls to the platform's worker API (`/internal/v1`) with a worker token.

use std::path::PathBuf;
use std::time::Duration;

use futures_util::StreamExt;
use serde::{Deserialize, Serialize};

use crate::EvaluatorError;
use crate::worker::cache::BlobCache;

/// What a node offers, reported when it registers.
#[derive(Debug, Clone, Serialize)]
pub struct NodeInfo {
    pub name: String,
    pub cpus: u32,
    pub memory_mb: u64,
    pub accelerators: Vec<Accelerator>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Accelerator {
    pub id: String,
    pub model: String,
}

/// A job this worker holds under a lease.
#[derive(Debug, Clone, Deserialize)]
pub struct ClaimedJob {
    pub job_id: String,
    pub attempt: i32,
    pub lease_seconds: u64,
    pub submission_id: String,
    pub scenario_id: String,
    pub image_digest: String,
    pub image_size: i64,
    #[serde(default)]
    pub bundle_digest: Option<String>,
}

/// The stages a worker reports while it runs a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    SampleRun,
    HiddenRun,
    Scoring,
}

impl Stage {
    fn as_str(self) -> &'static str {
        match self {
            Self::SampleRun => "sample_run",
            Self::HiddenRun => "hidden_run",
            Self::Scoring => "scoring",
        }
    }
}

/// How a job ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Finished,
    /// The submission's own fault: which limit or error ended it.
    SubmissionFailed(String),
    /// The node's or the platform's fault; the platform retries the job.
    InfrastructureFailed(String),
}

pub struct PlatformClient {
    base: String,
    token: String,
    http: reqwest::Client,
}

#[derive(Deserialize)]
struct Registered {
    worker_id: String,
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
        body: serde_json::Value,
        timeout: Duration,
    ) -> Result<reqwest::Response, EvaluatorError> {
        self.http
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .timeout(timeout)
            .json(&body)
            .send()
            .await
            .map_err(|e| EvaluatorError::Platform(format!("POST {path}: {e}")))
    }

    async fn expect_success(
        response: reqwest::Response,
    ) -> Result<reqwest::Response, EvaluatorError> {
        if response.status().is_success() {
            return Ok(response);
        }
        let status = response.status();
        let body: serde_json::Value = response.json().await.unwrap_or_default();
        Err(EvaluatorError::Platform(format!(
            "{status}: {}",
            body["error"]["message"].as_str().unwrap_or("no details")
        )))
    }

    pub async fn register(&self, node: &NodeInfo) -> Result<String, EvaluatorError> {
        let body = serde_json::to_value(node).map_err(|e| EvaluatorError::Encode(e.to_string()))?;
        let response = Self::expect_success(
            self.post("/internal/v1/workers", body, Duration::from_secs(30))
                .await?,
        )
        .await?;
        let registered: Registered = response
            .json()
            .await
            .map_err(|e| EvaluatorError::Platform(format!("registration answer: {e}")))?;
        Ok(registered.worker_id)
    }

    /// Waits up to `wait` for a job; `None` when none came.
    pub async fn claim(
        &self,
        worker: &str,
        wait: Duration,
    ) -> Result<Option<ClaimedJob>, EvaluatorError> {
        let body = serde_json::json!({"worker_id": worker, "wait_seconds": wait.as_secs()});
        let response = self
            .post(
                "/internal/v1/jobs/claim",
                body,
                wait + Duration::from_secs(30),
            )
            .await?;
        if response.status() == reqwest::StatusCode::NO_CONTENT {
            return Ok(None);
        }
        let response = Self::expect_success(response).await?;
        response
            .json()
            .await
            .map(Some)
            .map_err(|e| EvaluatorError::Platform(format!("claim answer: {e}")))
    }

    /// Extends the lease; `false` when the platform says the job is no longer ours.
    pub async fn heartbeat(&self, worker: &str, job: &str) -> Result<bool, EvaluatorError> {
        let response = self
            .post(
                &format!("/internal/v1/jobs/{job}/heartbeat"),
                serde_json::json!({"worker_id": worker}),
                Duration::from_secs(30),
            )
            .await?;
        if response.status() == reqwest::StatusCode::CONFLICT {
            return Ok(false);
        }
        Self::expect_success(response).await.map(|_| true)
    }

    pub async fn stage(&self, worker: &str, job: &str, stage: Stage) -> Result<(), EvaluatorError> {
        let body = serde_json::json!({"worker_id": worker, "stage": stage.as_str()});
        Self::expect_success(
            self.post(
                &format!("/internal/v1/jobs/{job}/stage"),
                body,
                Duration::from_secs(30),
            )
            .await?,
        )
        .await
        .map(|_| ())
    }

    pub async fn result(
        &self,
        worker: &str,
        job: &str,
        outcome: &Outcome,
    ) -> Result<(), EvaluatorError> {
        self.result_with_report(worker, job, outcome, None).await
    }

    /// The outcome with the report and the logs of both runs.
    pub async fn result_with_report(
        &self,
        worker: &str,
        job: &str,
        outcome: &Outcome,
        evaluation: Option<&crate::pipeline::Evaluation>,
    ) -> Result<(), EvaluatorError> {
        let (kind, reason) = match outcome {
            Outcome::Finished => ("finished", None),
            Outcome::SubmissionFailed(reason) => ("submission_failed", Some(reason)),
            Outcome::InfrastructureFailed(reason) => ("infrastructure_failed", Some(reason)),
        };
        let mut body = serde_json::json!({"worker_id": worker, "outcome": kind, "reason": reason});
        if let Some(evaluation) = evaluation {
            body["report"] = serde_json::to_value(&evaluation.report)
                .map_err(|e| EvaluatorError::Encode(e.to_string()))?;
            body["sample_logs"] = String::from_utf8_lossy(&evaluation.sample_logs)
                .into_owned()
                .into();
            body["hidden_logs"] = String::from_utf8_lossy(&evaluation.hidden_logs)
                .into_owned()
                .into();
        }
        Self::expect_success(
            self.post(
                &format!("/internal/v1/jobs/{job}/result"),
                body,
                Duration::from_secs(60),
            )
            .await?,
        )
        .await
        .map(|_| ())
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
            let _ = std::fs::remove_dir_all(&staging);
            std::fs::create_dir_all(&staging)?;
            let file = std::fs::File::open(&archive)?;
            // unpack_in refuses entries that would land outside the folder.
            let mut entries = tar::Archive::new(file);
            for entry in entries.entries()? {
                entry?.unpack_in(&staging)?;
            }
            let _ = std::fs::remove_dir_all(&folder);
            std::fs::rename(&staging, &folder)?;
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
            .await
            .map_err(|e| EvaluatorError::Platform(format!("downloading {digest}: {e}")))?;
        let mut body = Self::expect_success(response).await?.bytes_stream();
        while let Some(chunk) = body.next().await {
            let chunk = chunk
                .map_err(|e| EvaluatorError::Platform(format!("downloading {digest}: {e}")))?;
            incoming.write(&chunk)?;
        }
        tokio::task::spawn_blocking(move || incoming.finish())
            .await
            .map_err(|e| EvaluatorError::Platform(format!("download task: {e}")))?
    }
}
