//! Rank significance: which adjacent rows of a board are statistically tied, by a paired
//! bootstrap over the hidden items both were scored on.
//!
//! The worker sends each hidden run's scored pairs item by item ([`BoardItems`]); they are
//! kept as one gzip-compressed JSON file per result in the content-addressed store, its
//! digest in `results.items_digest` — a few kilobytes a result, read only when a board
//! page needs them, and never served to anyone. Stored results never change, so the
//! probability for a pair of submissions on a board is computed once and cached.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::sync::{Arc, Mutex};

use jiebang_evaluator::protocol::{BoardItems, ItemPairs};
use jiebang_scenarios::package::MetricName;
use jiebang_scenarios::significance::{SIGNIFICANCE, paired_bootstrap};
use serde::Serialize;

use crate::error::AppError;
use crate::services::boards::Board;
use crate::storage::BlobStore;

/// Resamples behind each probability.
pub const RESAMPLES: usize = 1000;

/// Probabilities the cache holds before it starts afresh (about 150 bytes each).
const CACHE_ENTRIES: usize = 100_000;

/// The file a result's per-item pairs are stored as: JSON, gzip-compressed.
pub fn encode_items(items: &BoardItems) -> Result<Vec<u8>, AppError> {
    let json = serde_json::to_vec(items)
        .map_err(|e| AppError::Internal(format!("encoding per-item pairs: {e}")))?;
    let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gzip.write_all(&json)
        .and_then(|()| gzip.finish())
        .map_err(|e| AppError::Internal(format!("compressing per-item pairs: {e}")))
}

/// The per-item pairs read back from their file.
pub fn decode_items(bytes: &[u8]) -> Result<BoardItems, String> {
    let mut json = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_end(&mut json)
        .map_err(|e| format!("not gzip: {e}"))?;
    serde_json::from_slice(&json).map_err(|e| e.to_string())
}

/// Upper submission, lower submission, board.
type PairKey = (String, String, Board);

/// Probabilities already computed, by [`PairKey`]. `None` is remembered too: a pair
/// without comparable data stays without it.
#[derive(Clone, Default)]
pub struct TieCache(Arc<Mutex<HashMap<PairKey, Option<f64>>>>);

impl TieCache {
    fn get(&self, key: &PairKey) -> Option<Option<f64>> {
        self.0.lock().ok()?.get(key).copied()
    }

    fn put(&self, key: PairKey, probability: Option<f64>) {
        if let Ok(mut map) = self.0.lock() {
            // Boards re-rank as results arrive, leaving pairs nobody asks for again;
            // starting afresh now and then bounds the memory at little cost.
            if map.len() >= CACHE_ENTRIES {
                map.clear();
            }
            map.insert(key, probability);
        }
    }

    /// How many probabilities are held (for tests and the benchmark).
    pub fn len(&self) -> usize {
        self.0.lock().map_or(0, |map| map.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// What the tie of a board row with the one above depends on.
#[derive(Debug, Clone)]
pub struct RankedResult {
    pub submission_id: String,
    pub items_digest: Option<String>,
    pub within_budget: bool,
    /// The budget verdict could go either way (`None`: not known).
    pub verdict_uncertain: Option<bool>,
}

/// A row's standing against the row above it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Tie {
    /// `None` when unknown: the board's first row, or data missing for either.
    pub tied: Option<bool>,
    /// The probability that the row above truly scores better.
    pub probability: Option<f64>,
}

/// For each of `rows` after the first (a board's consecutive rows, best first), its tie
/// with the row before it; as many entries as `rows` less one.
///
/// Two rows on the same side of the budget are tied when the upper one's score is not
/// better with [`SIGNIFICANCE`]. Rows on either side of it are ranked by the verdict, not
/// the score: they are tied only when a verdict is uncertain and the scores are tied too.
/// CPU work: call off the async threads.
pub fn adjacent_ties(
    blobs: &BlobStore,
    cache: &TieCache,
    metric: MetricName,
    board: Board,
    rows: &[RankedResult],
) -> Vec<Tie> {
    let pairs: Vec<(&RankedResult, &RankedResult)> =
        rows.windows(2).map(|pair| (&pair[0], &pair[1])).collect();
    let probabilities = probabilities(blobs, cache, metric, board, &pairs);
    pairs
        .iter()
        .zip(probabilities)
        .map(|((upper, lower), probability)| {
            let scores_tied = probability.map(|p| p < SIGNIFICANCE);
            let tied = if upper.within_budget == lower.within_budget {
                scores_tied
            } else {
                match (upper.verdict_uncertain, lower.verdict_uncertain) {
                    (Some(true), _) | (_, Some(true)) => scores_tied,
                    (Some(false), Some(false)) => Some(false),
                    _ => None,
                }
            };
            Tie { tied, probability }
        })
        .collect()
}

fn pair_key(upper: &RankedResult, lower: &RankedResult, board: Board) -> PairKey {
    (
        upper.submission_id.clone(),
        lower.submission_id.clone(),
        board,
    )
}

/// Whether [`adjacent_ties`] on `rows` would read stored files or run a bootstrap: some
/// adjacent pair with per-item data on both sides is not cached yet. When not, its answer
/// is a few map look-ups, cheap enough for any thread.
pub fn ties_need_work(cache: &TieCache, board: Board, rows: &[RankedResult]) -> bool {
    rows.windows(2).any(|pair| {
        let (upper, lower) = (&pair[0], &pair[1]);
        upper.items_digest.is_some()
            && lower.items_digest.is_some()
            && cache.get(&pair_key(upper, lower, board)).is_none()
    })
}

/// For each (upper, lower) pair, the probability that upper truly scores better than lower
/// on `board`; `None` where either lacks comparable data. Cached probabilities are looked
/// up; the others are computed side by side on the machine's cores, then cached. CPU work:
/// call off the async threads.
pub fn probabilities(
    blobs: &BlobStore,
    cache: &TieCache,
    metric: MetricName,
    board: Board,
    pairs: &[(&RankedResult, &RankedResult)],
) -> Vec<Option<f64>> {
    let key = |(upper, lower): &(&RankedResult, &RankedResult)| pair_key(upper, lower, board);
    let mut known: Vec<Option<Option<f64>>> =
        pairs.iter().map(|pair| cache.get(&key(pair))).collect();
    let missing: Vec<usize> = (0..pairs.len()).filter(|&i| known[i].is_none()).collect();
    if missing.is_empty() {
        // The usual case on a request thread: no threads, no system calls.
        return known.into_iter().map(Option::flatten).collect();
    }
    // Each stored file read once, however many pairs it is in.
    let mut parts: HashMap<&str, Option<ItemPairs>> = HashMap::new();
    for &i in &missing {
        for result in [pairs[i].0, pairs[i].1] {
            if let Some(digest) = result.items_digest.as_deref() {
                parts
                    .entry(digest)
                    .or_insert_with(|| board_part(blobs, digest, board));
            }
        }
    }
    let part = |result: &RankedResult| {
        parts
            .get(result.items_digest.as_deref()?)
            .and_then(Option::as_ref)
    };
    let compute = |i: usize| {
        let (upper, lower) = pairs[i];
        match (part(upper), part(lower)) {
            (Some(a), Some(b)) if a.items == b.items => {
                let seed = pair_seed(&upper.submission_id, &lower.submission_id);
                paired_bootstrap(metric, &a.pairs, &b.pairs, RESAMPLES, seed)
                    .inspect_err(|error| {
                        tracing::warn!(upper = %upper.submission_id, lower = %lower.submission_id,
                            %error, "the two results' per-item pairs cannot be compared");
                    })
                    .ok()
            }
            // Scored on other items (another package version), or no data: nothing to pair.
            _ => None,
        }
    };
    let threads = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .min(missing.len())
        .max(1);
    let computed: Vec<(usize, Option<f64>)> = std::thread::scope(|scope| {
        let workers: Vec<_> = missing
            .chunks(missing.len().div_ceil(threads).max(1))
            .map(|chunk| scope.spawn(|| chunk.iter().map(|&i| (i, compute(i))).collect::<Vec<_>>()))
            .collect();
        // A worker that panicked leaves its pairs unknown (and uncached).
        workers
            .into_iter()
            .flat_map(|worker| worker.join().unwrap_or_default())
            .collect()
    });
    for (i, probability) in computed {
        cache.put(key(&pairs[i]), probability);
        known[i] = Some(probability);
    }
    known.into_iter().map(Option::flatten).collect()
}

/// One board's part of a stored result's per-item pairs; `None` (and a warning) when the
/// file is gone or unreadable: the rows simply have no tie information.
fn board_part(blobs: &BlobStore, digest: &str, board: Board) -> Option<ItemPairs> {
    let items = blobs
        .read(digest)
        .map_err(|e| e.to_string())
        .and_then(|bytes| decode_items(&bytes));
    match items {
        Ok(items) => match board {
            Board::Public => items.public,
            Board::Private => items.private,
        },
        Err(error) => {
            tracing::warn!(%digest, %error, "per-item pairs unreadable");
            None
        }
    }
}

/// The same seed whichever way round the pair is asked, so that the probabilities of
/// (a over b) and (b over a) add up to one (FNV-1a over the two ids in order).
fn pair_seed(a: &str, b: &str) -> u64 {
    let (first, second) = if a <= b { (a, b) } else { (b, a) };
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in first.bytes().chain([0]).chain(second.bytes()) {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use jiebang_scenarios::metrics::Pairs;

    #[test]
    fn stored_items_read_back_and_the_seed_ignores_the_order() {
        let items = BoardItems {
            public: Some(ItemPairs {
                items: "sha256:ab".into(),
                pairs: Pairs::Scores(vec![(true, 0.5), (false, f64::INFINITY)]),
            }),
            private: None,
        };
        let stored = encode_items(&items).unwrap();
        assert_eq!(decode_items(&stored).unwrap(), items);
        assert!(decode_items(b"not gzip").is_err());
        assert_eq!(pair_seed("sub_a", "sub_b"), pair_seed("sub_b", "sub_a"));
        assert_ne!(pair_seed("sub_a", "sub_b"), pair_seed("sub_a", "sub_c"));
    }
}
