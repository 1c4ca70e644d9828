//! One keep-alive HTTP/1.1 connection with Nagle off, through hyper.

use std::net::SocketAddr;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;

use crate::EvaluatorError;

pub struct Connection {
    sender: SendRequest<Full<Bytes>>,
}

/// A POST of a pre-encoded JSON body; building it is cheap (the body is shared, not copied).
pub fn json_post(host: &str, path: &str, body: &Bytes) -> Request<Full<Bytes>> {
    let mut request = Request::new(Full::new(body.clone()));
    *request.method_mut() = hyper::Method::POST;
    *request.uri_mut() =
        hyper::Uri::try_from(path).unwrap_or_else(|_| hyper::Uri::from_static("/"));
    let headers = request.headers_mut();
    if let Ok(value) = hyper::header::HeaderValue::from_str(host) {
        headers.insert(hyper::header::HOST, value);
    }
    headers.insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    request
}

/// A GET, for readiness and metadata.
pub fn get(host: &str, path: &str) -> Request<Full<Bytes>> {
    let mut request = json_post(host, path, &Bytes::new());
    *request.method_mut() = hyper::Method::GET;
    request.headers_mut().remove(hyper::header::CONTENT_TYPE);
    request
}

impl Connection {
    pub async fn open(address: SocketAddr) -> Result<Self, EvaluatorError> {
        let stream = tokio::net::TcpStream::connect(address)
            .await
            .map_err(|source| EvaluatorError::Connect { address, source })?;
        stream.set_nodelay(true)?;
        let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| EvaluatorError::Connect {
                address,
                source: std::io::Error::other(e),
            })?;
        tokio::spawn(async move {
            // Ends when the peer closes or the sender is dropped; either is normal.
            let _ = connection.await;
        });
        Ok(Self { sender })
    }

    /// Sends one request and reads the whole answer: the status and the body.
    pub async fn send(&mut self, request: Request<Full<Bytes>>) -> Result<(u16, Bytes), String> {
        self.sender
            .ready()
            .await
            .map_err(|e| format!("connection lost: {e}"))?;
        let response = self
            .sender
            .send_request(request)
            .await
            .map_err(|e| format!("request failed: {e}"))?;
        let status = response.status().as_u16();
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| format!("reading the answer failed: {e}"))?
            .to_bytes();
        Ok((status, body))
    }

    pub fn is_open(&self) -> bool {
        !self.sender.is_closed()
    }
}
