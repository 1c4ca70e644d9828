//! Request-body and query extractors whose errors name the offending field.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};
use futures_util::StreamExt;
use serde::de::DeserializeOwned;

use crate::error::AppError;

/// The length an upload declared (`Content-Length`), if it declared a readable one; a
/// chunked body declares none.
pub fn declared_length(request: &HttpRequest) -> Option<u64> {
    request
        .headers()
        .get(actix_web::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
}

/// Largest JSON body any API route accepts; uploads have their own streaming routes.
pub const MAX_JSON_BODY: usize = 64 * 1024;

/// A JSON body: malformed JSON is a 400, a wrong type or unknown field a 422 naming the
/// field, a body over `LIMIT` bytes (by default [`MAX_JSON_BODY`]) a 413.
pub struct Json<T, const LIMIT: usize = MAX_JSON_BODY>(pub T);

impl<T: DeserializeOwned + 'static, const LIMIT: usize> FromRequest for Json<T, LIMIT> {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, AppError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let content_type_ok = req
            .headers()
            .get(actix_web::http::header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .is_some_and(|value| value.trim_start().starts_with("application/json"));
        let declared_length = req
            .headers()
            .get(actix_web::http::header::CONTENT_LENGTH)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.parse::<usize>().ok());
        let mut payload = payload.take();
        Box::pin(async move {
            if !content_type_ok {
                return Err(AppError::bad_request(
                    "unsupported_content_type",
                    "the body must be JSON with `Content-Type: application/json`".to_owned(),
                ));
            }
            if declared_length.is_some_and(|length| length > LIMIT) {
                return Err(too_large(LIMIT));
            }
            let mut body = web::BytesMut::new();
            while let Some(chunk) = payload.next().await {
                let chunk = chunk.map_err(|e| {
                    AppError::bad_request(
                        "bad_body",
                        format!("could not read the request body: {e}"),
                    )
                })?;
                if body.len() + chunk.len() > LIMIT {
                    return Err(too_large(LIMIT));
                }
                body.extend_from_slice(&chunk);
            }
            parse_json(&body).map(Json)
        })
    }
}

fn too_large(limit: usize) -> AppError {
    AppError::PayloadTooLarge(format!(
        "the request body is larger than the limit of {limit} bytes"
    ))
}

/// Deserialises JSON, turning serde's error into one that names the field path.
pub fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, AppError> {
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        match inner.classify() {
            serde_json::error::Category::Data => {
                // serde's words stay in the English message for API clients; a page reads
                // the rule.
                crate::validate::FieldProblem::new(
                    if path == "." { "(body)" } else { &path },
                    "malformed_value",
                    inner,
                )
                .into()
            }
            _ => AppError::bad_request(
                "malformed_json",
                format!("the body is not valid JSON: {inner}"),
            ),
        }
    })?;
    deserializer.end().map_err(|e| {
        AppError::bad_request("malformed_json", format!("the body is not valid JSON: {e}"))
    })?;
    Ok(value)
}

/// A query string whose bad parameters are a 400 naming the parameter.
pub struct Query<T>(pub T);

impl<T: DeserializeOwned> FromRequest for Query<T> {
    type Error = AppError;
    type Future = std::future::Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        let deserializer = serde_urlencoded::Deserializer::new(form_urlencoded::parse(
            req.query_string().as_bytes(),
        ));
        std::future::ready(
            serde_path_to_error::deserialize(deserializer)
                .map(Query)
                .map_err(|e| {
                    let path = e.path().to_string();
                    let message = if path == "." {
                        format!("query: {}", e.inner())
                    } else {
                        format!("query parameter `{path}`: {}", e.inner())
                    };
                    AppError::bad_request("bad_query", message)
                }),
        )
    }
}
