//! Conditional GETs: every whole answer to a GET carries an `ETag` (a digest of its body),
//! and a request whose `If-None-Match` names it gets `304 Not Modified` without the body,
//! so a board or a page polled again costs the network nothing when nothing changed.

use actix_web::HttpResponse;
use actix_web::body::{BodySize, BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{Method, StatusCode, header};
use actix_web::middleware::Next;
use sha2::{Digest, Sha256};

use crate::error::AppError;

/// Bodies larger than this (downloads, streamed files) are passed through untouched.
const MAX_TAGGED_BODY: u64 = 4 << 20;

/// The strong validator of a body: the first 128 bits of its SHA-256, quoted.
pub fn etag_of(body: &[u8]) -> String {
    format!("\"{}\"", &hex::encode(Sha256::digest(body))[..32])
}

/// Whether an `If-None-Match` value names `etag` (a list, or `*`).
fn matches(if_none_match: &str, etag: &str) -> bool {
    if_none_match
        .split(',')
        .map(|tag| tag.trim().trim_start_matches("W/"))
        .any(|tag| tag == "*" || tag == etag)
}

/// Middleware: tags whole 200 answers to GET and HEAD and answers 304 to a matching
/// `If-None-Match`. An answer tagged where it was made (a page, hashed on the CPU pool
/// with its rendering) keeps its tag.
pub async fn conditional_get(
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let get = matches!(*request.method(), Method::GET | Method::HEAD);
    let if_none_match = request
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let response = next.call(request).await?.map_into_boxed_body();
    if !get || response.status() != StatusCode::OK {
        return Ok(response);
    }
    let tagged = response
        .headers()
        .get(header::ETAG)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let (response, etag) = match tagged {
        Some(etag) => (response, etag),
        None => match tag(response).await? {
            Tagging::Tagged(response, etag) => (response, etag),
            Tagging::Untouched(response) => return Ok(response),
        },
    };
    if if_none_match.is_some_and(|value| matches(&value, &etag)) {
        let (request, response) = response.into_parts();
        return Ok(ServiceResponse::new(
            request,
            not_modified(response.headers(), etag),
        ));
    }
    Ok(response)
}

/// An answer with the `ETag` of its body, or one too large to read whole.
enum Tagging {
    Tagged(ServiceResponse<BoxBody>, String),
    Untouched(ServiceResponse<BoxBody>),
}

/// Reads a small answer's body to tag it.
async fn tag(response: ServiceResponse<BoxBody>) -> Result<Tagging, AppError> {
    let small =
        matches!(response.response().body().size(), BodySize::Sized(n) if n <= MAX_TAGGED_BODY);
    if !small {
        return Ok(Tagging::Untouched(response));
    }
    let (request, response) = response.into_parts();
    let (head, body) = response.into_parts();
    let bytes = actix_web::body::to_bytes(body)
        .await
        .map_err(|e| AppError::Internal(format!("reading an answer's body: {e}")))?;
    let etag = etag_of(&bytes);
    let mut response = head.set_body(BoxBody::new(bytes));
    if let Ok(value) = header::HeaderValue::from_str(&etag) {
        response.headers_mut().insert(header::ETAG, value);
    }
    Ok(Tagging::Tagged(
        ServiceResponse::new(request, response),
        etag,
    ))
}

/// `304 Not Modified` for `etag`, with the caching headers the whole answer had.
fn not_modified(headers: &header::HeaderMap, etag: String) -> HttpResponse {
    let mut not_modified = HttpResponse::NotModified();
    for name in [header::CACHE_CONTROL, header::VARY] {
        if let Some(value) = headers.get(&name) {
            not_modified.insert_header((name, value.clone()));
        }
    }
    not_modified.insert_header((header::ETAG, etag));
    not_modified.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_none_match_lists_and_wildcards() {
        let tag = etag_of(b"board");
        assert!(matches(&tag, &tag));
        assert!(matches(&format!("\"x\", W/{tag}"), &tag));
        assert!(matches("*", &tag));
        assert!(!matches("\"other\"", &tag));
        assert_ne!(etag_of(b"board"), etag_of(b"board2"));
    }
}
