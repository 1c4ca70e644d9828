//! When queries leave and which input each one carries: seeded, reproducible schedules.

use std::time::{Duration, Instant};

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Input indices in a seeded order, reshuffled each time the set is used up, so a run longer
/// than the set cycles through it without a fixed pattern a server could learn.
pub struct SampleOrder {
    rng: ChaCha8Rng,
    order: Vec<usize>,
    next: usize,
}

impl SampleOrder {
    pub fn new(samples: usize, seed: u64) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut order: Vec<usize> = (0..samples).collect();
        order.shuffle(&mut rng);
        Self {
            rng,
            order,
            next: 0,
        }
    }

    pub fn next_sample(&mut self) -> usize {
        if self.next == self.order.len() {
            self.order.shuffle(&mut self.rng);
            self.next = 0;
        }
        let sample = self.order[self.next];
        self.next += 1;
        sample
    }
}

/// Poisson arrivals at `rate_qps`: exponential gaps drawn from a seeded generator.
pub struct PoissonArrivals {
    rng: ChaCha8Rng,
    mean_gap_seconds: f64,
    elapsed_seconds: f64,
}

impl PoissonArrivals {
    pub fn new(rate_qps: f64, seed: u64) -> Self {
        Self {
            // A different stream from the sample order's, from the same seed.
            rng: ChaCha8Rng::seed_from_u64(seed ^ 0x9e37_79b9_7f4a_7c15),
            mean_gap_seconds: 1.0 / rate_qps,
            elapsed_seconds: 0.0,
        }
    }

    /// The offset of the next arrival from the start of the run.
    pub fn next_offset(&mut self) -> Duration {
        // 1 - U lies in (0, 1], so the logarithm is finite.
        let uniform: f64 = 1.0 - self.rng.random::<f64>();
        self.elapsed_seconds += -uniform.ln() * self.mean_gap_seconds;
        Duration::from_secs_f64(self.elapsed_seconds)
    }
}

/// Sleeps until shortly before `deadline`, then spins, giving way at every turn. Only a spin
/// is on time: tokio's timer rounds up to whole milliseconds (a sleep ends up to 2 ms late)
/// and a kernel timer wakes 30–100 µs late on a VM. But the harness may have one CPU, shared
/// by this thread and the runtime's workers that send the query spawned just before and read
/// answers; a plain spin held them off for its whole length (send lateness p99 ≈ 1.5 ms at
/// 100 q/s on a quiet host). So each turn yields to the runtime (a task waiting in this
/// worker's LIFO slot) and to the OS (other threads on the CPU).
pub async fn wait_until(deadline: Instant) {
    const SPIN: Duration = Duration::from_micros(3000);
    let now = Instant::now();
    if deadline > now + SPIN {
        tokio::time::sleep(deadline - now - SPIN).await;
    }
    while Instant::now() < deadline {
        tokio::task::yield_now().await;
        std::thread::yield_now();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sample_order_covers_each_input_once_per_cycle() {
        let mut order = SampleOrder::new(5, 7);
        for _ in 0..3 {
            let mut cycle: Vec<usize> = (0..5).map(|_| order.next_sample()).collect();
            cycle.sort_unstable();
            assert_eq!(cycle, [0, 1, 2, 3, 4]);
        }
    }

    #[test]
    fn sample_order_is_reproducible_from_the_seed() {
        let a: Vec<usize> = {
            let mut o = SampleOrder::new(50, 42);
            (0..120).map(|_| o.next_sample()).collect()
        };
        let b: Vec<usize> = {
            let mut o = SampleOrder::new(50, 42);
            (0..120).map(|_| o.next_sample()).collect()
        };
        let c: Vec<usize> = {
            let mut o = SampleOrder::new(50, 43);
            (0..120).map(|_| o.next_sample()).collect()
        };
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn poisson_arrivals_have_the_stated_rate() {
        let mut arrivals = PoissonArrivals::new(1000.0, 1);
        let last = (0..20_000)
            .map(|_| arrivals.next_offset())
            .last()
            .unwrap_or_default();
        let rate = 20_000.0 / last.as_secs_f64();
        assert!((rate - 1000.0).abs() < 30.0, "rate {rate}");
    }
}
