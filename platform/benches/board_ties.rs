//! What rank significance adds to a board page: the ties of a page of 50 rows (and the row
//! above it) whose results hold 1,500 items each, with nothing cached and then cached.
//!
//! `cargo bench -p jiebang-platform --bench board_ties`
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use jiebang_evaluator::protocol::{BoardItems, ItemPairs};
use jiebang_platform::services::boards::Board;
use jiebang_platform::services::significance::{
    RankedResult, TieCache, adjacent_ties, encode_items,
};
use jiebang_platform::storage::BlobStore;
use jiebang_scenarios::metrics::Pairs;
use jiebang_scenarios::package::MetricName;

const ROWS: usize = 51;
const ITEMS: usize = 1500;
const ROUNDS: usize = 9;

fn median(mut values: Vec<Duration>) -> Duration {
    values.sort();
    values[values.len() / 2]
}

/// CPU time the whole process has used (all threads; user and system), from
/// `/proc/self/stat` in clock ticks of 10 ms: on a shared machine, wall time also counts
/// the time other work held the cores.
fn cpu_time() -> Duration {
    let ticks = std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|stat| {
            // Fields after the command name (which is in parentheses): utime is the 12th.
            let rest = stat.rsplit_once(')')?.1.to_owned();
            let fields: Vec<u64> = rest
                .split_whitespace()
                .skip(11)
                .take(2)
                .filter_map(|f| f.parse().ok())
                .collect();
            Some(fields.iter().sum::<u64>())
        })
        .unwrap_or(0);
    Duration::from_millis(ticks * 10)
}

/// Row `row`'s pairs for `metric`: better rows are right more often.
fn pairs(metric: MetricName, row: usize) -> Pairs {
    let mut state = 0x9e37_79b9_7f4a_7c15_u64 ^ row as u64;
    let mut uniform = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % 1_000_000) as f64 / 1_000_000.0
    };
    let skill = 0.9 - row as f64 * 0.002;
    match metric {
        MetricName::RocAuc => Pairs::Scores(
            (0..ITEMS)
                .map(|i| {
                    let positive = i % 3 == 0;
                    (positive, if positive { skill } else { 0.0 } + uniform())
                })
                .collect(),
        ),
        MetricName::Rmse | MetricName::Mae | MetricName::Mape => Pairs::Values(
            (0..ITEMS)
                .map(|i| {
                    let truth = 1.0 + (i % 17) as f64;
                    (truth, truth + (uniform() - 0.5) * (1.0 - skill) * 10.0)
                })
                .collect(),
        ),
        _ => Pairs::Labels(
            (0..ITEMS)
                .map(|i| {
                    let truth = format!("class-{}", i % 4);
                    let answer = if uniform() < skill {
                        truth.clone()
                    } else {
                        format!("class-{}", (i + 1) % 4)
                    };
                    (truth, answer)
                })
                .collect(),
        ),
    }
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let blobs = BlobStore::new(dir.path());
    println!(
        "| metric | page of 50 rows, cold: wall (median of {ROUNDS}) | cold: CPU, all threads (mean) | cached: wall | stored per result (gzip) |"
    );
    println!("|---|---:|---:|---:|---:|");
    for metric in [
        MetricName::Accuracy,
        MetricName::MacroF1,
        MetricName::RocAuc,
        MetricName::Rmse,
    ] {
        let mut stored = 0;
        let rows: Vec<RankedResult> = (0..ROWS)
            .map(|row| {
                let items = BoardItems {
                    public: Some(ItemPairs {
                        items: "sha256:ids".into(),
                        pairs: pairs(metric, row),
                    }),
                    private: None,
                };
                let file = encode_items(&items).unwrap();
                stored = file.len();
                RankedResult {
                    submission_id: format!("sub_{metric}_{row:03}"),
                    items_digest: Some(blobs.put(&file).unwrap().digest),
                    within_budget: true,
                    verdict_uncertain: Some(false),
                }
            })
            .collect();
        let (mut cold, mut cached, mut cpu) = (Vec::new(), Vec::new(), Duration::ZERO);
        for _ in 0..ROUNDS {
            let cache = TieCache::default();
            let (start, cpu_start) = (Instant::now(), cpu_time());
            let ties = adjacent_ties(&blobs, &cache, metric, Board::Public, &rows);
            cold.push(start.elapsed());
            cpu += cpu_time() - cpu_start;
            assert_eq!(ties.len(), ROWS - 1);
            assert!(ties.iter().all(|t| t.probability.is_some()));
            let start = Instant::now();
            adjacent_ties(&blobs, &cache, metric, Board::Public, &rows);
            cached.push(start.elapsed());
        }
        println!(
            "| {metric} | {:.0} ms | {:.0} ms | {:.2} ms | {:.1} KiB |",
            median(cold).as_secs_f64() * 1000.0,
            cpu.as_secs_f64() * 1000.0 / ROUNDS as f64,
            median(cached).as_secs_f64() * 1000.0,
            stored as f64 / 1024.0
        );
    }
}
