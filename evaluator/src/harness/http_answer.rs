//! Reading one HTTP/1.1 answer: every size a server announces is checked before it is
//! trusted, the header section and the body are capped, and the bytes read are drawn from
//! the run's pool, so no answer and no number of answers can hoard the worker's memory.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::{Buf, Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt};

/// The default for the bytes of answers a whole run may be reading at once.
pub const DEFAULT_RUN_ANSWER_BYTES: usize = 256 << 20;
/// The header section of an answer may not be longer than this.
pub const MAX_HEAD_BYTES: usize = 64 << 10;
const MAX_HEADERS: usize = 64;
pub(crate) const READ_STEP: usize = 8 << 10;

/// One answer as read: its status, its body, and whether the server closes afterwards.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub body: Bytes,
    pub close: bool,
}

/// The bytes of answers being read across a whole run, against one cap: however many
/// queries are out at once, the run holds no more than this of their answers.
#[derive(Debug)]
pub struct AnswerBytes {
    held: AtomicUsize,
    cap: usize,
}

impl AnswerBytes {
    pub fn new(cap: usize) -> Arc<Self> {
        Arc::new(Self {
            held: AtomicUsize::new(0),
            cap,
        })
    }

    /// Bytes being read now.
    pub fn held(&self) -> usize {
        self.held.load(Ordering::Relaxed)
    }
}

/// What one answer has drawn from the run's pool; given back when the answer is read.
pub(crate) struct Charge<'a> {
    pool: Option<&'a AnswerBytes>,
    drawn: usize,
}

impl<'a> Charge<'a> {
    pub(crate) fn new(pool: Option<&'a AnswerBytes>) -> Self {
        Self { pool, drawn: 0 }
    }

    fn draw(&mut self, bytes: usize) -> Result<(), String> {
        let Some(pool) = self.pool else {
            return Ok(());
        };
        let held = pool.held.fetch_add(bytes, Ordering::Relaxed) + bytes;
        self.drawn += bytes;
        if held > pool.cap {
            return Err(format!(
                "answer too large: the run's answers in flight hold more than {} bytes",
                pool.cap
            ));
        }
        Ok(())
    }
}

impl Drop for Charge<'_> {
    fn drop(&mut self) {
        if let Some(pool) = self.pool {
            pool.held.fetch_sub(self.drawn, Ordering::Relaxed);
        }
    }
}

enum Framing {
    Length(usize),
    Chunked,
    UntilClose,
}

fn too_large(max: usize) -> String {
    format!("answer too large: more than {max} bytes")
}

/// Reads more into `buffer`; the number of bytes read, 0 at the end of the stream.
async fn fill<R: AsyncRead + Unpin>(
    reader: &mut R,
    buffer: &mut BytesMut,
    charge: &mut Charge<'_>,
) -> Result<usize, String> {
    buffer.reserve(READ_STEP);
    let read = reader
        .read_buf(buffer)
        .await
        .map_err(|e| format!("reading the answer failed: {e}"))?;
    charge.draw(read)?;
    Ok(read)
}

/// Reads one answer from `reader` (bytes already read sit in `buffer`; what follows the
/// answer stays there). A body over `max_body` bytes, a header section over
/// [`MAX_HEAD_BYTES`] or anything malformed is an error, never a panic; the buffer never
/// grows much past `max_body + MAX_HEAD_BYTES`.
pub async fn read_answer<R: AsyncRead + Unpin>(
    reader: &mut R,
    buffer: &mut BytesMut,
    max_body: usize,
) -> Result<Answer, String> {
    let mut charge = Charge::new(None);
    read_charged(reader, buffer, max_body, &mut charge).await
}

pub(crate) async fn read_charged<R: AsyncRead + Unpin>(
    reader: &mut R,
    buffer: &mut BytesMut,
    max_body: usize,
    charge: &mut Charge<'_>,
) -> Result<Answer, String> {
    let (status, head_length, framing, close) = loop {
        let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut response = httparse::Response::new(&mut headers);
        match response.parse(buffer) {
            Ok(httparse::Status::Complete(length)) => {
                let status = response.code.unwrap_or(0);
                let (framing, close) = framing_of(response.headers)?;
                break (status, length, framing, close);
            }
            Ok(httparse::Status::Partial) => {
                if buffer.len() > MAX_HEAD_BYTES {
                    return Err(format!(
                        "malformed answer: the headers are longer than {MAX_HEAD_BYTES} bytes"
                    ));
                }
                if fill(reader, buffer, charge).await? == 0 {
                    return Err("the server closed the connection before answering".into());
                }
            }
            Err(error) => return Err(format!("malformed answer: {error}")),
        }
    };
    buffer.advance(head_length);
    let body = match framing {
        Framing::Length(length) => {
            if length > max_body {
                return Err(too_large(max_body));
            }
            while buffer.len() < length {
                if fill(reader, buffer, charge).await? == 0 {
                    return Err("the server closed the connection mid-answer".into());
                }
            }
            buffer.split_to(length).freeze()
        }
        Framing::Chunked => read_chunked(reader, buffer, max_body, charge).await?,
        Framing::UntilClose => {
            while fill(reader, buffer, charge).await? > 0 {
                if buffer.len() > max_body {
                    return Err(too_large(max_body));
                }
            }
            return Ok(Answer {
                status,
                body: buffer.split().freeze(),
                close: true,
            });
        }
    };
    Ok(Answer {
        status,
        body,
        close,
    })
}

/// The next CRLF-terminated line's length (without the CRLF), reading as needed; a line
/// longer than `max` is an error.
async fn line<R: AsyncRead + Unpin>(
    reader: &mut R,
    buffer: &mut BytesMut,
    max: usize,
    charge: &mut Charge<'_>,
) -> Result<usize, String> {
    let mut searched = 0;
    loop {
        if let Some(end) = buffer[searched..].windows(2).position(|w| w == b"\r\n") {
            return Ok(searched + end);
        }
        searched = buffer.len().saturating_sub(1);
        if buffer.len() > max {
            return Err("malformed answer: a chunk line is too long".into());
        }
        if fill(reader, buffer, charge).await? == 0 {
            return Err("the server closed the connection mid-chunk".into());
        }
    }
}

async fn read_chunked<R: AsyncRead + Unpin>(
    reader: &mut R,
    buffer: &mut BytesMut,
    max_body: usize,
    charge: &mut Charge<'_>,
) -> Result<Bytes, String> {
    const MAX_LINE: usize = 4096;
    let mut body = BytesMut::new();
    loop {
        let line_end = line(reader, buffer, MAX_LINE, charge).await?;
        let size_text = std::str::from_utf8(&buffer[..line_end])
            .map_err(|_| "malformed answer: the chunk size is not text")?;
        let size_text = size_text.split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(size_text, 16)
            .map_err(|_| format!("malformed answer: chunk size `{size_text:.32}`"))?;
        // Checked: a size near usize::MAX must not wrap around the cap.
        if body
            .len()
            .checked_add(size)
            .is_none_or(|total| total > max_body)
        {
            return Err(too_large(max_body));
        }
        buffer.advance(line_end + 2);
        if size == 0 {
            // Trailer fields, if any, up to the empty line.
            let mut trailers = 0usize;
            loop {
                let end = line(reader, buffer, MAX_LINE, charge).await?;
                buffer.advance(end + 2);
                if end == 0 {
                    return Ok(body.freeze());
                }
                trailers += end;
                if trailers > MAX_HEAD_BYTES {
                    return Err("malformed answer: the trailers are too long".into());
                }
            }
        }
        // The chunk and its closing CRLF; size <= max_body, so this cannot overflow.
        let needed = size + 2;
        while buffer.len() < needed {
            if fill(reader, buffer, charge).await? == 0 {
                return Err("the server closed the connection mid-chunk".into());
            }
        }
        if &buffer[size..needed] != b"\r\n" {
            return Err("malformed answer: a chunk is longer than its size".into());
        }
        body.extend_from_slice(&buffer[..size]);
        buffer.advance(needed);
    }
}

fn framing_of(headers: &[httparse::Header<'_>]) -> Result<(Framing, bool), String> {
    let (mut length, mut chunked, mut close) = (None, false, false);
    for header in headers {
        let value = std::str::from_utf8(header.value).unwrap_or("").trim();
        if header.name.eq_ignore_ascii_case("content-length") {
            length = Some(
                value
                    .parse::<usize>()
                    .map_err(|_| format!("malformed Content-Length `{value:.32}`"))?,
            );
        } else if header.name.eq_ignore_ascii_case("transfer-encoding")
            && value.eq_ignore_ascii_case("chunked")
        {
            chunked = true;
        } else if header.name.eq_ignore_ascii_case("connection")
            && value.eq_ignore_ascii_case("close")
        {
            close = true;
        }
    }
    // RFC 9112 §6.3: chunked framing wins over a Content-Length.
    let framing = match (chunked, length) {
        (true, _) => Framing::Chunked,
        (false, Some(length)) => Framing::Length(length),
        (false, None) => Framing::UntilClose,
    };
    Ok((framing, close))
}
