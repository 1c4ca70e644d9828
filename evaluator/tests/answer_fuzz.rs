//! The harness's HTTP answer parser against thousands of generated answers: random bytes,
//! chunk sizes up to u64::MAX, truncated bodies, huge Content-Lengths, header floods and
//! endless streams. None may panic, and none may make the parser hold more than its caps.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::BytesMut;
use jiebang_evaluator::harness::connection::{MAX_HEAD_BYTES, read_answer};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tokio::io::{AsyncRead, ReadBuf};

const MAX_BODY: usize = 64 << 10;
/// What the parser may hold at most: the caps plus a read step or two of slack.
const BOUND: usize = MAX_BODY + MAX_HEAD_BYTES + (64 << 10);

/// Serves `data` in pieces of at most `step` bytes, then `tail` forever (if any).
struct Trickle {
    data: Vec<u8>,
    at: usize,
    step: usize,
    tail: Option<Vec<u8>>,
}

impl AsyncRead for Trickle {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = &mut *self;
        if this.at >= this.data.len() {
            if let Some(tail) = &this.tail {
                let n = tail.len().min(buf.remaining());
                buf.put_slice(&tail[..n]);
            }
            return Poll::Ready(Ok(()));
        }
        let n = this
            .step
            .min(buf.remaining())
            .min(this.data.len() - this.at);
        buf.put_slice(&this.data[this.at..this.at + n]);
        this.at += n;
        Poll::Ready(Ok(()))
    }
}

fn random_head(rng: &mut ChaCha8Rng) -> Vec<u8> {
    let mut head = format!("HTTP/1.1 {} OK\r\n", rng.random_range(100..600u16)).into_bytes();
    for _ in 0..rng.random_range(0..80) {
        let header = match rng.random_range(0..8) {
            0 => format!(
                "Content-Length: {}\r\n",
                rng.random::<u64>() >> rng.random_range(0..64)
            ),
            1 => "Transfer-Encoding: chunked\r\n".to_owned(),
            2 => "Connection: close\r\n".to_owned(),
            3 => format!("X-Flood: {}\r\n", "a".repeat(rng.random_range(0..4000))),
            4 => "Content-Length: 18446744073709551616\r\n".to_owned(),
            _ => format!("X-{}: v\r\n", rng.random::<u32>()),
        };
        head.extend_from_slice(header.as_bytes());
    }
    head.extend_from_slice(b"\r\n");
    head
}

fn random_chunks(rng: &mut ChaCha8Rng) -> Vec<u8> {
    let mut body = Vec::new();
    for _ in 0..rng.random_range(0..20) {
        let size: u64 = match rng.random_range(0..5) {
            0 => u64::MAX - rng.random_range(0..4),
            1 => rng.random::<u64>() >> rng.random_range(0..64),
            _ => rng.random_range(0..5000),
        };
        body.extend_from_slice(format!("{size:x}\r\n").as_bytes());
        let real = (size as usize).min(rng.random_range(0..6000));
        body.extend((0..real).map(|_| rng.random::<u8>()));
        if rng.random_bool(0.8) {
            body.extend_from_slice(b"\r\n");
        }
    }
    if rng.random_bool(0.5) {
        body.extend_from_slice(b"0\r\nX-Trailer: t\r\n\r\n");
    }
    body
}

/// A well-formed answer of a random size and framing, possibly over the cap.
fn well_formed(rng: &mut ChaCha8Rng) -> Vec<u8> {
    let size = rng.random_range(0..MAX_BODY + MAX_BODY / 4);
    let body: Vec<u8> = (0..size).map(|_| rng.random()).collect();
    if rng.random_bool(0.5) {
        let mut answer = format!("HTTP/1.1 200 OK\r\nContent-Length: {size}\r\n\r\n").into_bytes();
        answer.extend(body);
        answer
    } else {
        let mut answer = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
        for piece in body.chunks(rng.random_range(1..9000)) {
            answer.extend_from_slice(format!("{:x}\r\n", piece.len()).as_bytes());
            answer.extend_from_slice(piece);
            answer.extend_from_slice(b"\r\n");
        }
        answer.extend_from_slice(b"0\r\n\r\n");
        answer
    }
}

fn generated(rng: &mut ChaCha8Rng) -> Vec<u8> {
    match rng.random_range(0..5) {
        4 => well_formed(rng),
        0 => (0..rng.random_range(0..3000))
            .map(|_| rng.random())
            .collect(),
        1 => {
            let mut answer = random_head(rng);
            answer.extend(random_chunks(rng));
            answer
        }
        _ => {
            let mut answer = random_head(rng);
            answer.extend((0..rng.random_range(0..MAX_BODY * 2)).map(|_| rng.random::<u8>()));
            // Truncated anywhere.
            let keep = rng.random_range(0..=answer.len());
            answer.truncate(keep);
            answer
        }
    }
}

async fn parse(data: Vec<u8>, step: usize, tail: Option<Vec<u8>>) -> Result<usize, String> {
    let mut reader = Trickle {
        data,
        at: 0,
        step,
        tail,
    };
    let mut buffer = BytesMut::new();
    let answer = read_answer(&mut reader, &mut buffer, MAX_BODY).await;
    assert!(
        buffer.capacity() <= BOUND,
        "the parser held {} bytes",
        buffer.capacity()
    );
    answer.map(|answer| {
        assert!(answer.body.len() <= MAX_BODY);
        answer.body.len()
    })
}

#[tokio::test]
async fn thousands_of_generated_answers_never_panic_and_stay_bounded() {
    let mut rng = ChaCha8Rng::seed_from_u64(12);
    let (mut parsed, mut refused) = (0, 0);
    for _ in 0..4000 {
        let data = generated(&mut rng);
        let step = rng.random_range(1..20_000);
        match parse(data, step, None).await {
            Ok(_) => parsed += 1,
            Err(_) => refused += 1,
        }
    }
    // The generator must reach both sides, or it tests nothing.
    assert!(
        parsed > 100 && refused > 100,
        "{parsed} parsed, {refused} refused"
    );
}

#[tokio::test]
async fn sizes_that_would_overflow_are_errors() {
    for size in [
        "ffffffffffffffff",
        "fffffffffffffffe",
        "10000000000000000",
        "-1",
    ] {
        let mut answer =
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n".to_vec();
        answer.extend_from_slice(format!("{size}\r\nx\r\n0\r\n\r\n").as_bytes());
        let error = parse(answer, 7, None).await.unwrap_err();
        assert!(
            error.contains("too large") || error.contains("chunk size"),
            "{size}: {error}"
        );
    }
    let huge = b"HTTP/1.1 200 OK\r\nContent-Length: 18446744073709551615\r\n\r\nx".to_vec();
    assert!(
        parse(huge, 64, None)
            .await
            .unwrap_err()
            .contains("too large")
    );
}

#[tokio::test]
async fn endless_streams_are_cut_at_the_caps() {
    let endless: [(&[u8], &[u8]); 4] = [
        (b"HTTP/1.1 200 OK\r\n", b"X-Flood: aaaaaaaa\r\n"),
        (b"HTTP/1.1 200 OK\r\n\r\n", b"{\"outputs\":[]}   "),
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
            b"0000000",
        ),
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n",
            b"X-Trailer: t\r\n",
        ),
    ];
    for (head, tail) in endless {
        let tail = tail.repeat(1000);
        let error = parse(head.to_vec(), 100, Some(tail)).await.unwrap_err();
        assert!(
            ["too large", "too long", "longer", "too many"]
                .iter()
                .any(|why| error.contains(why)),
            "{error}"
        );
    }
}

#[tokio::test]
async fn well_formed_answers_read_whole() {
    let chunked =
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;ext=1\r\nabc\r\n2\r\nde\r\n0\r\nT: v\r\n\r\nrest";
    for step in [1, 3, 4096] {
        let mut reader = Trickle {
            data: chunked.to_vec(),
            at: 0,
            step,
            tail: None,
        };
        let mut buffer = BytesMut::new();
        let answer = read_answer(&mut reader, &mut buffer, MAX_BODY)
            .await
            .unwrap();
        assert_eq!((answer.status, &answer.body[..]), (200, &b"abcde"[..]));
        assert!(
            b"rest".starts_with(&buffer),
            "what follows the answer stays"
        );
    }
    assert_eq!(
        parse(
            b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello".to_vec(),
            2,
            None
        )
        .await,
        Ok(5)
    );
    let over = format!(
        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n",
        MAX_BODY + 1
    );
    assert!(
        parse(over.into_bytes(), 2, None)
            .await
            .unwrap_err()
            .contains("too large")
    );
}
