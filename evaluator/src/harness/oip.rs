//! The Open Inference Protocol (KServe / Triton v2) JSON messages the harness sends and reads.

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use crate::EvaluatorError;

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

#[derive(Debug, Clone, Deserialize)]
pub struct InferResponse {
    #[serde(default)]
    pub outputs: Vec<Tensor>,
}

/// Encodes a request body once, before any timing starts.
pub fn encode_request(id: &str, inputs: &[Tensor]) -> Result<Bytes, EvaluatorError> {
    serde_json::to_vec(&InferRequest { id, inputs })
        .map(Bytes::from)
        .map_err(|e| EvaluatorError::Encode(e.to_string()))
}

/// The outputs of a response body, or why it is not one.
pub fn decode_response(body: &[u8]) -> Result<Vec<Tensor>, String> {
    serde_json::from_slice::<InferResponse>(body)
        .map(|response| response.outputs)
        .map_err(|e| format!("not an inference response: {e}"))
}

/// The path of a model's inference endpoint.
pub fn infer_path(model: &str) -> String {
    format!("/v2/models/{model}/infer")
}
