//! A minimal Open Inference Protocol server on loopback: the harness's floor, and a
//! programmable stand-in for submissions in tests.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;

/// What the server answers to one request.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub body: Bytes,
    /// Held back this long before answering.
    pub delay: Duration,
}

impl Reply {
    pub fn ok(body: impl Into<Bytes>) -> Self {
        Self {
            status: 200,
            body: body.into(),
            delay: Duration::ZERO,
        }
    }
}

/// Decides the reply from the method, the path and the request body.
pub type Handler = Arc<dyn Fn(&hyper::Method, &str, &[u8]) -> Reply + Send + Sync>;

/// A running server; it stops when dropped.
pub struct TestServer {
    pub address: SocketAddr,
    accept_loop: tokio::task::JoinHandle<()>,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.accept_loop.abort();
    }
}

/// The answer of the null server to any inference request.
pub const NULL_ANSWER: &str =
    r#"{"outputs":[{"name":"output","shape":[1],"datatype":"FP32","data":[0.0]}]}"#;

/// Ready at once; answers every inference with [`NULL_ANSWER`].
pub async fn null() -> std::io::Result<TestServer> {
    start(Arc::new(|method, path, _body| {
        if method == hyper::Method::POST && path.ends_with("/infer") {
            Reply::ok(NULL_ANSWER)
        } else if path == "/v2/health/ready" || path.starts_with("/v2/models/") {
            Reply::ok("{}")
        } else {
            Reply {
                status: 404,
                body: Bytes::from_static(br#"{"error":"not found"}"#),
                delay: Duration::ZERO,
            }
        }
    }))
    .await
}

pub async fn start(handler: Handler) -> std::io::Result<TestServer> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    let accept_loop = tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let _ = stream.set_nodelay(true);
            let handler = Arc::clone(&handler);
            tokio::spawn(async move {
                let service = service_fn(move |request: Request<hyper::body::Incoming>| {
                    let handler = Arc::clone(&handler);
                    async move {
                        let (parts, body) = request.into_parts();
                        let body = body
                            .collect()
                            .await
                            .map(|b| b.to_bytes())
                            .unwrap_or_default();
                        let reply = handler(&parts.method, parts.uri.path(), &body);
                        if !reply.delay.is_zero() {
                            tokio::time::sleep(reply.delay).await;
                        }
                        let mut response = Response::new(Full::new(reply.body));
                        *response.status_mut() = hyper::StatusCode::from_u16(reply.status)
                            .unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
                        response.headers_mut().insert(
                            hyper::header::CONTENT_TYPE,
                            hyper::header::HeaderValue::from_static("application/json"),
                        );
                        Ok::<_, Infallible>(response)
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    Ok(TestServer {
        address,
        accept_loop,
    })
}
