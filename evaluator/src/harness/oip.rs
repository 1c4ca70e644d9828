//! The Open Inference Protocol (KServe / Triton v2) as the harness speaks it: the JSON
//! messages it sends and reads, and the readiness and model-metadata checks before a run.

use std::future::Future;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use jiebang_scenarios::package::Task;
use serde::{Deserialize, Serialize};

use crate::EvaluatorError;
use crate::harness::connection::{Connection, DEFAULT_MAX_ANSWER_BYTES, encode_get};
use crate::harness::metadata::{self, MetadataFit, ModelMetadata};

/// One named tensor: its shape, datatype and flattened data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tensor {
    pub name: String,
    pub shape: Vec<i64>,
    pub datatype: String,
    pub data: serde_json::Value,
}

#[derive(Debug, Clone, Serialize)]
pub struct InferRequest<'a> {
    pub id: &'a str,
    pub inputs: &'a [Tensor],
}

/// Encodes a request body once, before any timing starts.
pub fn encode_request(id: &str, inputs: &[Tensor]) -> Result<Bytes, EvaluatorError> {
    serde_json::to_vec(&InferRequest { id, inputs })
        .map(Bytes::from)
        .map_err(EvaluatorError::Json)
}

/// The path of a model's inference endpoint.
pub fn infer_path(model: &str) -> String {
    format!("/v2/models/{model}/infer")
}

/// Polls `GET /v2/health/ready` until it answers 200 (`true`), or `running` says the server
/// has stopped, or `limit` passes (`false`). A loading server answers 503 meanwhile. Every
/// attempt, connecting included, ends by the limit: a server that listens but never
/// accepts or never answers cannot hold readiness past it.
pub async fn wait_ready<F, R>(address: SocketAddr, limit: Duration, running: F) -> bool
where
    F: Fn() -> R,
    R: Future<Output = bool>,
{
    const ATTEMPT: Duration = Duration::from_secs(2);
    let deadline = Instant::now() + limit;
    let request = encode_get(&address.to_string(), "/v2/health/ready");
    while Instant::now() < deadline {
        let attempt = async {
            let mut connection = Connection::open(address, ATTEMPT, DEFAULT_MAX_ANSWER_BYTES)
                .await
                .ok()?;
            connection.send(&request).await.ok()
        };
        let remaining = deadline.saturating_duration_since(Instant::now());
        if let Ok(Some((200, _))) = tokio::time::timeout(ATTEMPT.min(remaining), attempt).await {
            return true;
        }
        let remaining = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(remaining, running()).await {
            Ok(true) => {}
            Ok(false) => return false,
            Err(_) => break,
        }
        let remaining = deadline.saturating_duration_since(Instant::now());
        tokio::time::sleep(Duration::from_millis(100).min(remaining)).await;
    }
    false
}

/// Reads the model's metadata and matches it to the scenario's tensors (see
/// [`metadata::fit`]), so a mismatch is reported as one rather than as a run of wrong
/// answers; the error says what differs. The exchange takes at most `limit` (at most 5 s).
pub async fn check_metadata(
    address: SocketAddr,
    task: &Task,
    limit: Duration,
) -> Result<MetadataFit, String> {
    let path = format!("/v2/models/{}", task.model);
    let request = encode_get(&address.to_string(), &path);
    let limit = limit.min(Duration::from_secs(5));
    let exchange = async {
        let mut connection = Connection::open(address, limit, DEFAULT_MAX_ANSWER_BYTES)
            .await
            .map_err(|error| error.to_string())?;
        connection.send(&request).await
    };
    let answer = tokio::time::timeout(limit, exchange).await;
    let body = match answer {
        Ok(Ok((200, body))) => body,
        Ok(Ok((status, _))) => {
            return Err(format!(
                "GET {path} answered {status}; the server must describe its model"
            ));
        }
        Ok(Err(error)) => return Err(format!("GET {path}: {error}")),
        Err(_) => {
            return Err(format!(
                "GET {path} did not answer within {} ms",
                limit.as_millis()
            ));
        }
    };
    let metadata: ModelMetadata = serde_json::from_slice(&body)
        .map_err(|e| format!("GET {path} is not model metadata: {e}"))?;
    metadata::fit(task, &metadata)
}
