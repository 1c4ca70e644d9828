//! How long database work waits before it runs — for a pooled connection, and on SQLite
//! for the one writer — for `/metrics`.

use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct WaitLabels {
    /// `turn` (async work's place in the queue for a connection), `connection` (a
    /// connection from the pool) or `sqlite_writer` (SQLite's one writer).
    pub wait: &'static str,
}

/// Shared by the pool's event handler, every caller and the metrics registry.
#[derive(Clone, Debug)]
pub struct DbWaits {
    pub seconds: Family<WaitLabels, Histogram>,
    /// Requests that found no connection within the pool's time-out.
    pub timeouts: Counter,
}

impl Default for DbWaits {
    fn default() -> Self {
        Self {
            // 10 µs to about 10 s.
            seconds: Family::new_with_constructor(|| {
                Histogram::new(exponential_buckets(0.000_01, 2.0, 21))
            }),
            timeouts: Counter::default(),
        }
    }
}

impl DbWaits {
    pub fn waited(&self, wait: &'static str, how_long: Duration) {
        self.seconds
            .get_or_create(&WaitLabels { wait })
            .observe(how_long.as_secs_f64());
    }
}

impl r2d2::HandleEvent for DbWaits {
    fn handle_checkout(&self, event: r2d2::event::CheckoutEvent) {
        self.waited("connection", event.duration());
    }

    fn handle_timeout(&self, event: r2d2::event::TimeoutEvent) {
        self.waited("connection", event.timeout());
        self.timeouts.inc();
    }
}
