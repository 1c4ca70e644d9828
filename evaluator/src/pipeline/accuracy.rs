//! The accuracy pass (MLPerf's accuracy mode): every hidden item asked exactly once, a few
//! at a time, each with a generous time-out; its answers, one per item, are the score.
//! Latency is the timed run's business (see `serve`).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use jiebang_scenarios::package::{Manifest, Record};

use crate::EvaluatorError;
use crate::harness::answer::first_output;
use crate::harness::connection::DEFAULT_RUN_ANSWER_BYTES;
use crate::harness::{LoadSpec, Pattern, QueryOutcome, RunResult, run};
use crate::pipeline::load_seed;
use crate::pipeline::requests::answer_cap;
use crate::pipeline::scoring::Answer;

/// The pass's load: the offline pattern through [`Manifest::accuracy_concurrency`]
/// connections, one query per item, [`Manifest::item_timeout`] each, answers kept.
pub(super) fn accuracy_load(manifest: &Manifest, items: usize) -> LoadSpec {
    LoadSpec {
        pattern: Pattern::Offline {
            concurrency: manifest.accuracy_concurrency() as usize,
        },
        min_duration: Duration::ZERO,
        min_queries: items as u64,
        timeout: manifest.item_timeout(),
        seed: load_seed(manifest),
        max_answer_bytes: answer_cap(manifest),
        max_run_answer_bytes: DEFAULT_RUN_ANSWER_BYTES,
        keep: first_output,
        deadline: None,
    }
}

/// Sends each of `bodies` exactly once under `load` (see [`accuracy_load`]) until
/// `deadline`; items the deadline leaves unasked count as wrong (see [`answers`]).
pub(super) async fn accuracy_pass(
    address: SocketAddr,
    path: &str,
    bodies: &[Bytes],
    load: &LoadSpec,
    deadline: Instant,
) -> Result<RunResult, EvaluatorError> {
    let load = LoadSpec {
        min_queries: bodies.len() as u64,
        deadline: Some(deadline),
        ..load.clone()
    };
    run(address, path, bodies, &load).await
}

/// The answers of a run in the set's order, one per item: its answer, or none where it
/// failed, timed out or was never asked (the deadline cut the run) — each of which counts
/// as wrong, so a server too slow to be asked everything is not scored on the easy part
/// alone. An item asked twice keeps its first answer, or none if either query failed.
pub(super) fn answers(result: &RunResult, records: &[Record]) -> Vec<Answer> {
    let mut asked: Vec<Option<Option<serde_json::Value>>> = vec![None; records.len()];
    for query in &result.records {
        let prediction = match &query.outcome {
            QueryOutcome::Answered { status: 200, value } => value.clone(),
            _ => None,
        };
        if let Some(slot) = asked.get_mut(query.sample) {
            *slot = Some(match slot.take() {
                None => prediction,
                Some(first) => first.filter(|_| prediction.is_some()),
            });
        }
    }
    records
        .iter()
        .zip(asked)
        .map(|(record, prediction)| Answer {
            id: record.id.clone(),
            prediction: prediction.flatten(),
        })
        .collect()
}

/// How many queries of `result` were answered (200): the rest failed, timed out or were
/// cancelled.
pub(super) fn answered(result: &RunResult) -> usize {
    result
        .records
        .iter()
        .filter(|q| matches!(q.outcome, QueryOutcome::Answered { status: 200, .. }))
        .count()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::path::Path;
    use std::sync::Arc;

    use jiebang_scenarios::package::{ScenarioPackage, validate};

    use super::*;
    use crate::harness::metadata::MetadataFit;
    use crate::harness::null_server::{self, Reply};
    use crate::harness::oip::infer_path;
    use crate::pipeline::data_set;
    use crate::pipeline::requests::bodies;
    use crate::pipeline::scoring::split_scores;

    /// The scenarios crate's test package: twelve hidden items, single-stream.
    fn package() -> ScenarioPackage {
        let root =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/tests/fixtures/valid-package");
        validate(&root).unwrap()
    }

    /// The accuracy pass over `records` against `server`, cut after `limit`.
    async fn pass(
        package: &ScenarioPackage,
        records: &[Record],
        server: &null_server::TestServer,
        load: &LoadSpec,
        limit: Duration,
    ) -> RunResult {
        let declared = MetadataFit::as_declared(&package.manifest.task).inputs;
        let bodies = bodies(records, &package.manifest, &declared).unwrap();
        let deadline = Instant::now() + limit;
        accuracy_pass(
            server.address,
            &infer_path("delay"),
            &bodies,
            load,
            deadline,
        )
        .await
        .unwrap()
    }

    /// A server that answers each item with its right label (the first feature, rounded,
    /// modulo 2), except as `misbehave` says for the item whose first feature it is given.
    fn server(misbehave: fn(i64) -> Option<Reply>) -> null_server::Handler {
        Arc::new(move |_method, path, body| {
            if !path.ends_with("/infer") {
                return Reply::ok("{}");
            }
            let request: serde_json::Value = serde_json::from_slice(body).unwrap();
            let first = request["inputs"][0]["data"][0][0].as_f64().unwrap() as i64;
            misbehave(first).unwrap_or_else(|| {
                Reply::ok(format!(
                    r#"{{"outputs":[{{"name":"delayed","shape":[1],"datatype":"INT64","data":[{}]}}]}}"#,
                    first.rem_euclid(2)
                ))
            })
        })
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn every_item_is_asked_once_and_what_fails_counts_as_wrong() {
        let package = package();
        let manifest = &package.manifest;
        let (records, labels) = data_set(&package.root, "hidden").unwrap();
        // Item 3 gets a server error, item 5 an answer after its time-out, item 7 no
        // prediction in its answer.
        let server = null_server::start(server(|first| match first {
            3 => Some(Reply {
                status: 500,
                body: Bytes::from_static(br#"{"error":"boom"}"#),
                delay: Duration::ZERO,
            }),
            5 => Some(Reply {
                delay: Duration::from_millis(600),
                ..Reply::ok("{}")
            }),
            7 => Some(Reply::ok(r#"{"outputs":[]}"#)),
            _ => None,
        }))
        .await
        .unwrap();
        let load = LoadSpec {
            timeout: Duration::from_millis(300),
            ..accuracy_load(manifest, records.len())
        };
        let result = pass(&package, &records, &server, &load, Duration::from_secs(20)).await;

        assert!(!result.cut_by_deadline);
        let mut asked: Vec<usize> = result.records.iter().map(|q| q.sample).collect();
        asked.sort_unstable();
        assert_eq!(asked, (0..12).collect::<Vec<_>>(), "each item exactly once");
        let answers = answers(&result, &records);
        let ids: Vec<&str> = answers.iter().map(|a| a.id.as_str()).collect();
        let record_ids: Vec<&str> = records.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, record_ids, "one answer per item, in the set's order");
        let unanswered: Vec<&str> = answers
            .iter()
            .filter(|a| a.prediction.is_none())
            .map(|a| a.id.as_str())
            .collect();
        assert_eq!(unanswered.len(), 3, "{unanswered:?}");

        let scores = split_scores(manifest, &answers, &labels);
        let all = scores.all.as_ref().unwrap();
        assert_eq!((all.items, all.items_in_set), (12, 12));
        assert!((all.value - 9.0 / 12.0).abs() < 1e-9, "{all:?}");
        let public = scores.public.as_ref().unwrap();
        let private = scores.private.as_ref().unwrap();
        assert_eq!(public.items, public.items_in_set);
        assert_eq!(private.items, private.items_in_set);
        assert_eq!(public.items + private.items, 12);
        assert_eq!(
            (public.items, private.items),
            (package.public_board_items, package.private_board_items)
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn items_a_cut_pass_never_asked_are_scored_as_wrong() {
        let package = package();
        let manifest = &package.manifest;
        let (records, labels) = data_set(&package.root, "hidden").unwrap();
        let server = null_server::start(server(|first| {
            Some(Reply {
                delay: Duration::from_millis(100),
                ..Reply::ok(format!(
                    r#"{{"outputs":[{{"data":[{}]}}]}}"#,
                    first.rem_euclid(2)
                ))
            })
        }))
        .await
        .unwrap();
        let load = accuracy_load(manifest, records.len());
        assert_eq!(
            load.pattern,
            Pattern::Offline { concurrency: 1 },
            "a single-stream server is asked one item at a time"
        );
        let result = pass(
            &package,
            &records,
            &server,
            &load,
            Duration::from_millis(450),
        )
        .await;

        assert!(result.cut_by_deadline);
        let got = answered(&result);
        assert!((1..12).contains(&got), "{got} answered before the deadline");
        let answers = answers(&result, &records);
        assert_eq!(answers.len(), 12);
        assert_eq!(
            answers.iter().filter(|a| a.prediction.is_some()).count(),
            got
        );
        let all = split_scores(manifest, &answers, &labels).all.unwrap();
        assert_eq!((all.items, all.items_in_set), (12, 12));
        assert!(all.value <= got as f64 / 12.0 + 1e-9, "{all:?}");
    }
}
