//! The load generator: single-stream, server (Poisson) and offline runs against one server.
//! A run holds no answer bodies: each is reduced to what the caller keeps as it arrives,
//! and a deadline the server cannot stall ends the run whatever its minimums.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::EvaluatorError;
use crate::harness::connection::{AnswerBytes, Connection, encode_post};
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
    /// An answer body over this many bytes is the query's error ("answer too large").
    pub max_answer_bytes: usize,
    /// The most bytes of answers the run reads at once, over all queries out; a query
    /// whose answer would pass it fails the same way.
    pub max_run_answer_bytes: usize,
    /// What is kept of an answer body, read as it arrives; the body itself is dropped.
    pub keep: Keep,
    /// When the run ends whatever its minimums: no query leaves after it, and queries
    /// still out are cancelled and count as timed out.
    pub deadline: Option<Instant>,
}

/// Reduces an answer body to the value kept for scoring (`None`: nothing usable).
pub type Keep = fn(&[u8]) -> Option<serde_json::Value>;

/// Keeps nothing of the answers: for runs that only measure.
pub fn keep_nothing(_body: &[u8]) -> Option<serde_json::Value> {
    None
}

/// How one query ended.
#[derive(Debug, Clone, PartialEq)]
pub enum QueryOutcome {
    /// The server answered; `value` is what [`LoadSpec::keep`] kept of the body.
    Answered {
        status: u16,
        value: Option<serde_json::Value>,
    },
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
    /// How late the harness began to send it: from the scheduled time (in single-stream
    /// and offline, the previous answer's arrival on its connection) to the moment it
    /// started, before any connection was opened, so a slow server never shows here.
    /// `None` for a query the deadline stopped before it began.
    pub lateness: Option<Duration>,
    pub outcome: QueryOutcome,
}

#[derive(Debug, Clone)]
pub struct RunResult {
    pub records: Vec<QueryRecord>,
    pub duration: Duration,
    pub connections_opened: usize,
    /// The deadline ended the run before its minimums were met, or cancelled queries.
    pub cut_by_deadline: bool,
}

struct Target<'a> {
    address: SocketAddr,
    spec: &'a LoadSpec,
    pool: Arc<AnswerBytes>,
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
        spec,
        pool: AnswerBytes::new(spec.max_run_answer_bytes),
    };
    let host = address.to_string();
    let requests: Vec<Bytes> = bodies
        .iter()
        .map(|body| encode_post(&host, path, body))
        .collect();
    let bodies = requests.as_slice();
    match spec.pattern {
        Pattern::SingleStream => single_stream(&target, bodies).await,
        Pattern::Server { rate_qps } if rate_qps.is_finite() && rate_qps > 0.0 => {
            server(&target, bodies, rate_qps).await
        }
        Pattern::Server { rate_qps } => Err(EvaluatorError::InvalidSpec(format!(
            "server rate {rate_qps} is not positive"
        ))),
        Pattern::Offline { concurrency } if concurrency > 0 => {
            offline(&target, bodies, concurrency).await
        }
        Pattern::Offline { .. } => Err(EvaluatorError::InvalidSpec(
            "offline concurrency is zero".into(),
        )),
    }
}

fn enough(spec: &LoadSpec, started: Instant, issued: u64) -> bool {
    issued >= spec.min_queries && started.elapsed() >= spec.min_duration
}

fn past(deadline: Option<Instant>) -> bool {
    deadline.is_some_and(|d| Instant::now() >= d)
}

/// How long something started now may take: `limit`, or less where the deadline is nearer.
fn within(limit: Duration, deadline: Option<Instant>) -> Duration {
    deadline.map_or(limit, |d| {
        limit.min(d.saturating_duration_since(Instant::now()))
    })
}

impl Target<'_> {
    /// A fresh connection, within the query time-out and the deadline.
    async fn connect(&self) -> Result<Connection, EvaluatorError> {
        let connection = Connection::open(
            self.address,
            within(self.spec.timeout, self.spec.deadline),
            self.spec.max_answer_bytes,
        )
        .await?;
        Ok(connection.sharing(Arc::clone(&self.pool)))
    }

    /// Sends one query on `connection` (opening one if needed), timing from `scheduled`;
    /// the query is cut at its time-out or at the deadline, whichever comes first. Returns
    /// the connection when it can carry another query, and whether the deadline cut it.
    async fn issue(
        &self,
        connection: Option<Connection>,
        body: &Bytes,
        scheduled: Instant,
        opened: &mut usize,
    ) -> (QueryOutcome, Duration, Option<Connection>, bool) {
        let attempt = async {
            let mut connection = match connection {
                Some(connection) if connection.is_open() => connection,
                _ => {
                    *opened += 1;
                    self.connect().await.map_err(|e| e.to_string())?
                }
            };
            let (status, answer) = connection.send(body).await?;
            // The body goes as soon as what scoring needs is read from it.
            let value = (self.spec.keep)(&answer);
            Ok::<_, String>((status, value, connection))
        };
        let limit = (scheduled + self.spec.timeout).saturating_duration_since(Instant::now());
        let cut = self
            .spec
            .deadline
            .is_some_and(|d| d < Instant::now() + limit);
        let limit = within(limit, self.spec.deadline);
        match tokio::time::timeout(limit, attempt).await {
            Ok(Ok((status, value, connection))) => (
                QueryOutcome::Answered { status, value },
                scheduled.elapsed(),
                Some(connection),
                false,
            ),
            Ok(Err(error)) => (
                QueryOutcome::Failed(error),
                scheduled.elapsed(),
                None,
                false,
            ),
            // A timed-out connection may still deliver the late answer; it is not reused.
            Err(_) => (QueryOutcome::TimedOut, scheduled.elapsed(), None, cut),
        }
    }
}

async fn single_stream(target: &Target<'_>, bodies: &[Bytes]) -> Result<RunResult, EvaluatorError> {
    let spec = target.spec;
    let mut connection = Some(target.connect().await?);
    let mut opened = 1;
    let mut order = SampleOrder::new(bodies.len(), spec.seed);
    let mut records = Vec::new();
    let mut cut_by_deadline = false;
    let started = Instant::now();
    // The next query is due when the previous answer arrives.
    let mut due = started;
    while !enough(spec, started, records.len() as u64) {
        if past(spec.deadline) {
            cut_by_deadline = true;
            break;
        }
        let sample = order.next_sample();
        let scheduled = Instant::now();
        let (outcome, latency, kept, cut) = target
            .issue(connection.take(), &bodies[sample], scheduled, &mut opened)
            .await;
        cut_by_deadline |= cut;
        connection = kept;
        records.push(QueryRecord {
            sample,
            scheduled_at: scheduled - started,
            latency,
            lateness: Some(scheduled.saturating_duration_since(due)),
            outcome,
        });
        due = scheduled + latency;
    }
    Ok(RunResult {
        records,
        duration: started.elapsed(),
        connections_opened: opened,
        cut_by_deadline,
    })
}

/// What the tasks of a run share: idle connections, the records, the count of opened
/// connections, and whether the deadline cut any query.
#[derive(Default)]
struct Shared {
    idle: Mutex<Vec<Connection>>,
    records: Mutex<Vec<QueryRecord>>,
    opened: AtomicUsize,
    cut: AtomicBool,
}

impl Shared {
    fn take_records(&self) -> Vec<QueryRecord> {
        let mut records = self
            .records
            .lock()
            .map(|mut records| std::mem::take(&mut *records))
            .unwrap_or_default();
        records.sort_by_key(|r| r.scheduled_at);
        records
    }
}

async fn server(
    target: &Target<'_>,
    bodies: &[Bytes],
    rate_qps: f64,
) -> Result<RunResult, EvaluatorError> {
    let spec = target.spec;
    // One connection up front proves the server is there before the clock starts.
    let shared = Arc::new(Shared::default());
    shared.opened.store(1, Ordering::Relaxed);
    let first = target.connect().await?;
    if let Ok(mut idle) = shared.idle.lock() {
        idle.push(first);
    }
    let spec_owned = Arc::new(spec.clone());
    let bodies: Arc<Vec<Bytes>> = Arc::new(bodies.to_vec());
    let (address, pool) = (target.address, Arc::clone(&target.pool));
    let started = Instant::now();
    // The schedule runs as a task on a runtime worker, not on the thread that awaits this
    // function (often `block_on`'s, outside the workers): a query it spawns then waits in
    // the same worker's LIFO slot and leaves as soon as the schedule yields, instead of
    // waiting for another thread to wake — 30–100 µs on a VM, on every query.
    let schedule = {
        let shared = Arc::clone(&shared);
        tokio::spawn(async move {
            let spec = &*spec_owned;
            let mut order = SampleOrder::new(bodies.len(), spec.seed);
            let mut arrivals = PoissonArrivals::new(rate_qps, spec.seed);
            let mut tasks = tokio::task::JoinSet::new();
            let mut issued = 0u64;
            loop {
                let offset = arrivals.next_offset();
                if issued >= spec.min_queries && offset >= spec.min_duration {
                    break;
                }
                let scheduled = started + offset;
                if spec.deadline.is_some_and(|d| scheduled >= d) {
                    shared.cut.store(true, Ordering::Relaxed);
                    break;
                }
                wait_until(scheduled).await;
                let sample = order.next_sample();
                let (shared, spec) = (Arc::clone(&shared), Arc::clone(&spec_owned));
                let body = bodies[sample].clone();
                let pool = Arc::clone(&pool);
                tasks.spawn(async move {
                    let lateness = scheduled.elapsed();
                    let target = Target {
                        address,
                        spec: &spec,
                        pool,
                    };
                    let connection = shared.idle.lock().ok().and_then(|mut idle| idle.pop());
                    let mut fresh = 0;
                    let (outcome, latency, kept, cut) =
                        target.issue(connection, &body, scheduled, &mut fresh).await;
                    shared.opened.fetch_add(fresh, Ordering::Relaxed);
                    if cut {
                        shared.cut.store(true, Ordering::Relaxed);
                    }
                    if let (Some(connection), Ok(mut idle)) = (kept, shared.idle.lock()) {
                        idle.push(connection);
                    }
                    if let Ok(mut records) = shared.records.lock() {
                        records.push(QueryRecord {
                            sample,
                            scheduled_at: offset,
                            latency,
                            lateness: Some(lateness),
                            outcome,
                        });
                    }
                });
                issued += 1;
                // Reap finished tasks as we go so the set stays small on long runs.
                while tasks.try_join_next().is_some() {}
            }
            // Every task ends by its time-out or the deadline, whichever is first.
            while tasks.join_next().await.is_some() {}
        })
    };
    schedule.await?;
    Ok(RunResult {
        records: shared.take_records(),
        duration: started.elapsed(),
        connections_opened: shared.opened.load(Ordering::Relaxed),
        cut_by_deadline: shared.cut.load(Ordering::Relaxed),
    })
}

async fn offline(
    target: &Target<'_>,
    bodies: &[Bytes],
    concurrency: usize,
) -> Result<RunResult, EvaluatorError> {
    let spec = target.spec;
    let total = spec.min_queries.max(bodies.len() as u64);
    let mut order = SampleOrder::new(bodies.len(), spec.seed);
    let samples: Arc<Vec<usize>> = Arc::new((0..total).map(|_| order.next_sample()).collect());
    let next = Arc::new(AtomicUsize::new(0));
    let mut connections = Vec::with_capacity(concurrency);
    for _ in 0..concurrency {
        connections.push(target.connect().await?);
    }
    let shared = Arc::new(Shared::default());
    shared.opened.store(concurrency, Ordering::Relaxed);
    let spec_owned = Arc::new(spec.clone());
    let bodies: Arc<Vec<Bytes>> = Arc::new(bodies.to_vec());
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for connection in connections {
        let (samples, next, bodies) =
            (Arc::clone(&samples), Arc::clone(&next), Arc::clone(&bodies));
        let (shared, spec) = (Arc::clone(&shared), Arc::clone(&spec_owned));
        let (address, pool) = (target.address, Arc::clone(&target.pool));
        tasks.spawn(async move {
            let target = Target {
                address,
                spec: &spec,
                pool,
            };
            let mut connection = Some(connection);
            let mut opened = 0;
            // Each connection's next query is due when its previous answer arrives.
            let mut due = started;
            loop {
                let index = next.fetch_add(1, Ordering::Relaxed);
                let Some(&sample) = samples.get(index) else {
                    break;
                };
                if past(spec.deadline) {
                    shared.cut.store(true, Ordering::Relaxed);
                    break;
                }
                let scheduled = Instant::now();
                let (outcome, latency, kept, cut) = target
                    .issue(connection.take(), &bodies[sample], scheduled, &mut opened)
                    .await;
                if cut {
                    shared.cut.store(true, Ordering::Relaxed);
                }
                connection = kept;
                if let Ok(mut records) = shared.records.lock() {
                    records.push(QueryRecord {
                        sample,
                        scheduled_at: scheduled - started,
                        latency,
                        lateness: Some(scheduled.saturating_duration_since(due)),
                        outcome,
                    });
                }
                due = scheduled + latency;
            }
            shared.opened.fetch_add(opened, Ordering::Relaxed);
        });
    }
    while tasks.join_next().await.is_some() {}
    Ok(RunResult {
        records: shared.take_records(),
        duration: started.elapsed(),
        connections_opened: shared.opened.load(Ordering::Relaxed),
        cut_by_deadline: shared.cut.load(Ordering::Relaxed),
    })
}
