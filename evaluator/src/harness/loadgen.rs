//! The load generator: single-stream, server (Poisson) and offline runs against one server.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::EvaluatorError;
use crate::harness::connection::{Connection, encode_post};
use crate::harness::schedule::{PoissonArrivals, SampleOrder, wait_until};

/// How queries are issued (MLPerf LoadGen's scenarios).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Pattern {
    /// The next query leaves when the previous answer arrives.
    SingleStream,
    /// Poisson arrivals at a rate, with no cap on outstanding queries.
    Server { rate_qps: f64 },
    /// Every query at once, through a fixed number of connections.
    Offline { concurrency: usize },
}

#[derive(Debug, Clone)]
pub struct LoadSpec {
    pub pattern: Pattern,
    /// The run goes on until both this duration and `min_queries` are reached.
    pub min_duration: Duration,
    pub min_queries: u64,
    /// Per query; a query that takes longer counts as timed out.
    pub timeout: Duration,
    pub seed: u64,
}

/// How one query ended.
#[derive(Debug, Clone, PartialEq)]
pub enum QueryOutcome {
    Answered { status: u16, body: Bytes },
    Failed(String),
    TimedOut,
}

#[derive(Debug, Clone)]
pub struct QueryRecord {
    /// Which input the query carried.
    pub sample: usize,
    /// When it was scheduled, from the start of the run.
    pub scheduled_at: Duration,
    /// From the scheduled send time to the last byte of the answer (or the time-out).
    pub latency: Duration,
    pub outcome: QueryOutcome,
}

#[derive(Debug, Clone)]
pub struct RunResult {
    pub records: Vec<QueryRecord>,
    pub duration: Duration,
    pub connections_opened: usize,
}

struct Target<'a> {
    address: SocketAddr,
    host: String,
    path: &'a str,
}

/// Sends `bodies` (pre-encoded requests, one per input) to `path` on `address`.
pub async fn run(
    address: SocketAddr,
    path: &str,
    bodies: &[Bytes],
    spec: &LoadSpec,
) -> Result<RunResult, EvaluatorError> {
    if bodies.is_empty() {
        return Err(EvaluatorError::InvalidSpec("no inputs to send".into()));
    }
    let target = Target {
        address,
        host: address.to_string(),
        path,
    };
    let requests: Vec<Bytes> = bodies
        .iter()
        .map(|body| encode_post(&target.host, path, body))
        .collect();
    let bodies = requests.as_slice();
    match spec.pattern {
        Pattern::SingleStream => single_stream(&target, bodies, spec).await,
        Pattern::Server { rate_qps } if rate_qps.is_finite() && rate_qps > 0.0 => {
            server(&target, bodies, spec, rate_qps).await
        }
        Pattern::Server { rate_qps } => Err(EvaluatorError::InvalidSpec(format!(
            "server rate {rate_qps} is not positive"
        ))),
        Pattern::Offline { concurrency } if concurrency > 0 => {
            offline(&target, bodies, spec, concurrency).await
        }
        Pattern::Offline { .. } => Err(EvaluatorError::InvalidSpec(
            "offline concurrency is zero".into(),
        )),
    }
}

fn enough(spec: &LoadSpec, started: Instant, issued: u64) -> bool {
    issued >= spec.min_queries && started.elapsed() >= spec.min_duration
}

/// Sends one query on `connection` (opening one if needed), timing from `scheduled`.
/// Returns the connection when it can carry another query.
async fn issue(
    target: &Target<'_>,
    connection: Option<Connection>,
    body: &Bytes,
    scheduled: Instant,
    timeout: Duration,
    opened: &mut usize,
) -> (QueryOutcome, Duration, Option<Connection>) {
    let attempt = async {
        let mut connection = match connection {
            Some(connection) if connection.is_open() => connection,
            _ => {
                *opened += 1;
                Connection::open(target.address)
                    .await
                    .map_err(|e| e.to_string())?
            }
        };
        let answer = connection.send(body).await?;
        Ok::<_, String>((answer, connection))
    };
    match tokio::time::timeout(timeout, attempt).await {
        Ok(Ok(((status, body), connection))) => (
            QueryOutcome::Answered { status, body },
            scheduled.elapsed(),
            Some(connection),
        ),
        Ok(Err(error)) => (QueryOutcome::Failed(error), scheduled.elapsed(), None),
        // A timed-out connection may still deliver the late answer; it is not reused.
        Err(_) => (QueryOutcome::TimedOut, scheduled.elapsed(), None),
    }
}

async fn single_stream(
    target: &Target<'_>,
    bodies: &[Bytes],
    spec: &LoadSpec,
) -> Result<RunResult, EvaluatorError> {
    let mut connection = Some(Connection::open(target.address).await?);
    let mut opened = 1;
    let mut order = SampleOrder::new(bodies.len(), spec.seed);
    let mut records = Vec::new();
    let started = Instant::now();
    while !enough(spec, started, records.len() as u64) {
        let sample = order.next_sample();
        let scheduled = Instant::now();
        let (outcome, latency, kept) = issue(
            target,
            connection.take(),
            &bodies[sample],
            scheduled,
            spec.timeout,
            &mut opened,
        )
        .await;
        connection = kept;
        records.push(QueryRecord {
            sample,
            scheduled_at: scheduled - started,
            latency,
            outcome,
        });
    }
    Ok(RunResult {
        records,
        duration: started.elapsed(),
        connections_opened: opened,
    })
}

async fn server(
    target: &Target<'_>,
    bodies: &[Bytes],
    spec: &LoadSpec,
    rate_qps: f64,
) -> Result<RunResult, EvaluatorError> {
    // One connection up front proves the server is there before the clock starts.
    let idle = Arc::new(Mutex::new(vec![Connection::open(target.address).await?]));
    let records = Arc::new(Mutex::new(Vec::new()));
    let opened = Arc::new(std::sync::atomic::AtomicUsize::new(1));
    let mut order = SampleOrder::new(bodies.len(), spec.seed);
    let mut arrivals = PoissonArrivals::new(rate_qps, spec.seed);
    let mut tasks = tokio::task::JoinSet::new();
    let started = Instant::now();
    let mut issued = 0u64;
    loop {
        let offset = arrivals.next_offset();
        if issued >= spec.min_queries && offset >= spec.min_duration {
            break;
        }
        let scheduled = started + offset;
        wait_until(scheduled).await;
        let sample = order.next_sample();
        let (idle, records, opened) =
            (Arc::clone(&idle), Arc::clone(&records), Arc::clone(&opened));
        let body = bodies[sample].clone();
        let (address, host, path, timeout) = (
            target.address,
            target.host.clone(),
            target.path.to_owned(),
            spec.timeout,
        );
        tasks.spawn(async move {
            let target = Target {
                address,
                host,
                path: &path,
            };
            let connection = idle.lock().ok().and_then(|mut idle| idle.pop());
            let mut fresh = 0;
            let (outcome, latency, kept) =
                issue(&target, connection, &body, scheduled, timeout, &mut fresh).await;
            opened.fetch_add(fresh, std::sync::atomic::Ordering::Relaxed);
            if let (Some(connection), Ok(mut idle)) = (kept, idle.lock()) {
                idle.push(connection);
            }
            if let Ok(mut records) = records.lock() {
                records.push(QueryRecord {
                    sample,
                    scheduled_at: offset,
                    latency,
                    outcome,
                });
            }
        });
        issued += 1;
        // Reap finished tasks as we go so the set stays small on long runs.
        while tasks.try_join_next().is_some() {}
    }
    while tasks.join_next().await.is_some() {}
    let duration = started.elapsed();
    let mut records = std::mem::take(
        &mut *records
            .lock()
            .map_err(|_| EvaluatorError::InvalidSpec("poisoned".into()))?,
    );
    records.sort_by_key(|r| r.scheduled_at);
    Ok(RunResult {
        records,
        duration,
        connections_opened: opened.load(std::sync::atomic::Ordering::Relaxed),
    })
}

async fn offline(
    target: &Target<'_>,
    bodies: &[Bytes],
    spec: &LoadSpec,
    concurrency: usize,
) -> Result<RunResult, EvaluatorError> {
    let total = spec.min_queries.max(bodies.len() as u64);
    let mut order = SampleOrder::new(bodies.len(), spec.seed);
    let samples: Arc<Vec<usize>> = Arc::new((0..total).map(|_| order.next_sample()).collect());
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut connections = Vec::with_capacity(concurrency);
    for _ in 0..concurrency {
        connections.push(Connection::open(target.address).await?);
    }
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for connection in connections {
        let (samples, next, bodies) = (Arc::clone(&samples), Arc::clone(&next), bodies.to_vec());
        let (address, host, path, timeout) = (
            target.address,
            target.host.clone(),
            target.path.to_owned(),
            spec.timeout,
        );
        tasks.spawn(async move {
            let target = Target {
                address,
                host,
                path: &path,
            };
            let mut connection = Some(connection);
            let mut records = Vec::new();
            let mut opened = 0;
            loop {
                let index = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(&sample) = samples.get(index) else {
                    break;
                };
                let scheduled = Instant::now();
                let (outcome, latency, kept) = issue(
                    &target,
                    connection.take(),
                    &bodies[sample],
                    scheduled,
                    timeout,
                    &mut opened,
                )
                .await;
                connection = kept;
                records.push(QueryRecord {
                    sample,
                    scheduled_at: scheduled - started,
                    latency,
                    outcome,
                });
            }
            (records, opened)
        });
    }
    let mut records = Vec::new();
    let mut opened = concurrency;
    while let Some(finished) = tasks.join_next().await {
        if let Ok((mut part, fresh)) = finished {
            records.append(&mut part);
            opened += fresh;
        }
    }
    records.sort_by_key(|r| r.scheduled_at);
    Ok(RunResult {
        records,
        duration: started.elapsed(),
        connections_opened: opened,
    })
}
