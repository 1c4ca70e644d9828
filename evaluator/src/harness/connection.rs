//! One keep-alive HTTP/1.1 connection, Nagle off, speaking just what the harness needs:
//! a pre-encoded request goes out in one write, the answer is parsed with `httparse`.
//! A general client (hyper) costs an extra task hop per request, which shows in the
//! latency floor; this keeps the harness's own cost to a write and a read.
//!
//! Reading the answer itself, with its caps, is `http_answer`'s.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use crate::EvaluatorError;
pub use crate::harness::http_answer::{
    Answer, AnswerBytes, DEFAULT_RUN_ANSWER_BYTES, MAX_HEAD_BYTES, read_answer,
};
use crate::harness::http_answer::{Charge, READ_STEP, read_charged};

/// The answer cap when the scenario says nothing larger: an inference answer is a few
/// tensors, and a server that sends more is refusing the contract, not answering.
pub const DEFAULT_MAX_ANSWER_BYTES: usize = 1 << 20;
/// A connection keeps a read buffer no larger than this between answers, so an idle
/// connection does not hold the memory of the largest answer it ever read.
const KEPT_BUFFER: usize = 64 << 10;

/// A whole request, headers and body, encoded once before any timing starts.
pub fn encode_post(host: &str, path: &str, body: &[u8]) -> Bytes {
    let mut request = BytesMut::with_capacity(body.len() + 160);
    request.extend_from_slice(
        format!(
            "POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            body.len()
        )
        .as_bytes(),
    );
    request.extend_from_slice(body);
    request.freeze()
}

pub fn encode_get(host: &str, path: &str) -> Bytes {
    Bytes::from(format!("GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n"))
}

pub struct Connection {
    stream: TcpStream,
    buffer: BytesMut,
    reusable: bool,
    max_answer_bytes: usize,
    pool: Option<Arc<AnswerBytes>>,
}

impl Connection {
    /// Connects within `limit`: a server that listens but never accepts cannot hold the
    /// harness longer than that.
    pub async fn open(
        address: SocketAddr,
        limit: Duration,
        max_answer_bytes: usize,
    ) -> Result<Self, EvaluatorError> {
        let stream = match tokio::time::timeout(limit, TcpStream::connect(address)).await {
            Ok(connected) => {
                connected.map_err(|source| EvaluatorError::Connect { address, source })?
            }
            Err(_) => {
                return Err(EvaluatorError::Connect {
                    address,
                    source: std::io::Error::new(
                        std::io::ErrorKind::TimedOut,
                        format!("not accepted within {} ms", limit.as_millis()),
                    ),
                });
            }
        };
        stream.set_nodelay(true)?;
        Ok(Self {
            stream,
            buffer: BytesMut::with_capacity(READ_STEP),
            reusable: true,
            max_answer_bytes,
            pool: None,
        })
    }

    /// Counts this connection's answers against a run's pool.
    pub fn sharing(mut self, pool: Arc<AnswerBytes>) -> Self {
        self.pool = Some(pool);
        self
    }

    pub fn is_open(&self) -> bool {
        self.reusable
    }

    /// Sends one pre-encoded request and reads the whole answer: status and body.
    pub async fn send(&mut self, request: &[u8]) -> Result<(u16, Bytes), String> {
        if let Err(error) = self.stream.write_all(request).await {
            self.reusable = false;
            return Err(format!("sending failed: {error}"));
        }
        let mut charge = Charge::new(self.pool.as_deref());
        let answer = read_charged(
            &mut self.stream,
            &mut self.buffer,
            self.max_answer_bytes,
            &mut charge,
        )
        .await;
        drop(charge);
        if self.buffer.capacity() > KEPT_BUFFER {
            // The body handed out shares the old allocation; a fresh buffer lets it go
            // as soon as the caller drops the body.
            let rest = BytesMut::from(&self.buffer[..]);
            self.buffer = rest;
        }
        match answer {
            Ok(answer) => {
                if answer.close {
                    self.reusable = false;
                }
                Ok((answer.status, answer.body))
            }
            Err(error) => {
                self.reusable = false;
                Err(error)
            }
        }
    }
}
