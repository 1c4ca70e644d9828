//! One keep-alive HTTP/1.1 connection, Nagle off, speaking just what the harness needs:
//! a pre-encoded request goes out in one write, the answer is parsed with `httparse`.
//! A general client (hyper) costs an extra task hop per request, which shows in the
//! latency floor; this keeps the harness's own cost to a write and a read.

use std::net::SocketAddr;

use bytes::{Buf, Bytes, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::EvaluatorError;

/// Answers larger than this are refused: a submission cannot make the harness hoard memory.
pub const MAX_ANSWER_BYTES: usize = 64 << 20;
const MAX_HEADERS: usize = 64;

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
}

enum Framing {
    Length(usize),
    Chunked,
    UntilClose,
}

impl Connection {
    pub async fn open(address: SocketAddr) -> Result<Self, EvaluatorError> {
        let stream = TcpStream::connect(address)
            .await
            .map_err(|source| EvaluatorError::Connect { address, source })?;
        stream.set_nodelay(true)?;
        Ok(Self {
            stream,
            buffer: BytesMut::with_capacity(16 * 1024),
            reusable: true,
        })
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
        let answer = self.read_answer().await;
        if answer.is_err() {
            self.reusable = false;
        }
        answer
    }

    async fn fill(&mut self) -> Result<usize, String> {
        if self.buffer.len() > MAX_ANSWER_BYTES {
            return Err(format!(
                "the answer is larger than {MAX_ANSWER_BYTES} bytes"
            ));
        }
        self.buffer.reserve(16 * 1024);
        self.stream
            .read_buf(&mut self.buffer)
            .await
            .map_err(|e| format!("reading the answer failed: {e}"))
    }

    async fn read_answer(&mut self) -> Result<(u16, Bytes), String> {
        let (status, header_length, framing, close) = loop {
            let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
            let mut response = httparse::Response::new(&mut headers);
            match response.parse(&self.buffer) {
                Ok(httparse::Status::Complete(length)) => {
                    let status = response.code.unwrap_or(0);
                    let (framing, close) = framing_of(response.headers)?;
                    break (status, length, framing, close);
                }
                Ok(httparse::Status::Partial) => {
                    if self.fill().await? == 0 {
                        return Err("the server closed the connection before answering".into());
                    }
                }
                Err(error) => return Err(format!("malformed answer: {error}")),
            }
        };
        self.buffer.advance(header_length);
        let body = match framing {
            Framing::Length(length) => {
                if length > MAX_ANSWER_BYTES {
                    return Err(format!(
                        "the answer is larger than {MAX_ANSWER_BYTES} bytes"
                    ));
                }
                while self.buffer.len() < length {
                    if self.fill().await? == 0 {
                        return Err("the server closed the connection mid-answer".into());
                    }
                }
                self.buffer.split_to(length).freeze()
            }
            Framing::Chunked => self.read_chunked().await?,
            Framing::UntilClose => {
                while self.fill().await? > 0 {}
                self.reusable = false;
                self.buffer.split().freeze()
            }
        };
        if close {
            self.reusable = false;
        }
        Ok((status, body))
    }

    async fn read_chunked(&mut self) -> Result<Bytes, String> {
        let mut body = BytesMut::new();
        loop {
            let line_end = loop {
                if let Some(end) = self.buffer.windows(2).position(|w| w == b"\r\n") {
                    break end;
                }
                if self.fill().await? == 0 {
                    return Err("the server closed the connection mid-chunk".into());
                }
            };
            let size_text = std::str::from_utf8(&self.buffer[..line_end])
                .map_err(|_| "malformed chunk size")?;
            let size_text = size_text.split(';').next().unwrap_or("").trim();
            let size = usize::from_str_radix(size_text, 16)
                .map_err(|_| format!("malformed chunk size `{size_text}`"))?;
            if body.len() + size > MAX_ANSWER_BYTES {
                return Err(format!(
                    "the answer is larger than {MAX_ANSWER_BYTES} bytes"
                ));
            }
            self.buffer.advance(line_end + 2);
            // The chunk and its closing CRLF (for the last chunk: the empty trailer line).
            while self.buffer.len() < size + 2 {
                if self.fill().await? == 0 {
                    return Err("the server closed the connection mid-chunk".into());
                }
            }
            body.extend_from_slice(&self.buffer[..size]);
            self.buffer.advance(size + 2);
            if size == 0 {
                return Ok(body.freeze());
            }
        }
    }
}

fn framing_of(headers: &[httparse::Header<'_>]) -> Result<(Framing, bool), String> {
    let mut framing = Framing::UntilClose;
    let mut close = false;
    for header in headers {
        let value = std::str::from_utf8(header.value).unwrap_or("").trim();
        if header.name.eq_ignore_ascii_case("content-length") {
            framing = Framing::Length(
                value
                    .parse()
                    .map_err(|_| format!("malformed Content-Length `{value}`"))?,
            );
        } else if header.name.eq_ignore_ascii_case("transfer-encoding")
            && value.eq_ignore_ascii_case("chunked")
        {
            framing = Framing::Chunked;
        } else if header.name.eq_ignore_ascii_case("connection")
            && value.eq_ignore_ascii_case("close")
        {
            close = true;
        }
    }
    Ok((framing, close))
}
