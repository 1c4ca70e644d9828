//! Jobs waiting for an accelerator, and why: no live node has enough devices of the model
//! the scenario asks for, or every node that has them is busy with another job.

use std::collections::HashMap;

use jiebang_evaluator::protocol::Device;
use serde::Serialize;

use crate::db::DbConnection;
use crate::db::ids::{ScenarioId, SubmissionId};
use crate::db::models::jobs::{self, Job};
use crate::db::models::workers::{self, Worker};
use crate::db::models::{package_versions, submissions};
use crate::db::now_millis;
use crate::error::AppError;
use crate::time::iso_time;

/// Why no node takes the job now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Shortage {
    /// No live node has that many devices of the model at all: an operator must add one.
    NoNode,
    /// Nodes with them exist, but each is running another job: it waits its turn.
    NoneFree,
}

/// A queued job that needs accelerators no node can give it now.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AcceleratorWait {
    pub job_id: String,
    pub submission_id: String,
    pub scenario_id: String,
    /// Devices the run asks for.
    pub count: u32,
    /// The model asked for; any model when `None`.
    pub model: Option<String>,
    pub shortage: Shortage,
    pub queued_at: String,
}

/// A live node: its devices and whether a job holds it (a worker runs one job at a time).
struct Node {
    devices: Vec<Device>,
    busy: bool,
}

fn live_nodes(conn: &mut DbConnection, alive_millis: i64) -> Result<Vec<Node>, AppError> {
    let live: Vec<Worker> = workers::seen_since(conn, now_millis() - alive_millis, None)?;
    let ids: Vec<String> = live.iter().map(|w| w.id.0.clone()).collect();
    let running = jobs::running_on(conn, &ids)?;
    live.into_iter()
        .map(|worker| {
            Ok(Node {
                busy: running
                    .iter()
                    .any(|job| job.lease_owner.as_deref() == Some(worker.id.as_str())),
                devices: worker.devices()?,
            })
        })
        .collect()
}

/// Why `count` devices of `model` are not to be had now; `None` when a free node has them.
fn shortage(nodes: &[Node], count: u32, model: Option<&str>) -> Option<Shortage> {
    let needed = usize::try_from(count).unwrap_or(usize::MAX);
    let fitting: Vec<&Node> = nodes
        .iter()
        .filter(|node| workers::of_model(&node.devices, model) >= needed)
        .collect();
    if fitting.is_empty() {
        Some(Shortage::NoNode)
    } else if fitting.iter().all(|node| node.busy) {
        Some(Shortage::NoneFree)
    } else {
        None
    }
}

/// What each (scenario, package version) asks for, read once per pair.
type Asks = HashMap<(String, i32), Option<(u32, Option<String>)>>;

fn wait_of(
    conn: &mut DbConnection,
    nodes: &[Node],
    asks: &mut Asks,
    job: &Job,
    scenario: &ScenarioId,
) -> Result<Option<AcceleratorWait>, AppError> {
    let key = (scenario.0.clone(), job.package_version);
    let ask = match asks.get(&key) {
        Some(ask) => ask.clone(),
        None => {
            let ask =
                package_versions::spec_of(conn, &ScenarioId(key.0.clone()), job.package_version)?
                    .map(|spec| spec.manifest.resources)
                    .filter(|r| r.accelerators > 0)
                    .map(|r| (r.accelerators, r.accelerator_model));
            asks.insert(key, ask.clone());
            ask
        }
    };
    let Some((count, model)) = ask else {
        return Ok(None);
    };
    Ok(
        shortage(nodes, count, model.as_deref()).map(|shortage| AcceleratorWait {
            job_id: job.id.0.clone(),
            submission_id: job.submission_id.0.clone(),
            scenario_id: scenario.0.clone(),
            count,
            model,
            shortage,
            queued_at: iso_time(job.created_at),
        }),
    )
}

/// The waiting jobs (of the `limit` oldest claimable ones) that no node can take for want
/// of accelerators, oldest first.
pub fn waits(
    conn: &mut DbConnection,
    alive_millis: i64,
    limit: i64,
) -> Result<Vec<AcceleratorWait>, AppError> {
    let nodes = live_nodes(conn, alive_millis)?;
    let mut asks = Asks::new();
    let jobs = jobs::claimable_oldest(conn, limit)?;
    let ids: Vec<SubmissionId> = jobs.iter().map(|j| j.submission_id.clone()).collect();
    let scenarios = submissions::scenarios_of(conn, &ids)?;
    let mut out = Vec::new();
    for job in &jobs {
        if let Some(scenario) = scenarios.get(&job.submission_id) {
            out.extend(wait_of(conn, &nodes, &mut asks, job, scenario)?);
        }
    }
    Ok(out)
}

/// Whether the submission's queued job waits for an accelerator, and why.
pub fn wait_of_submission(
    conn: &mut DbConnection,
    submission: &SubmissionId,
    alive_millis: i64,
) -> Result<Option<AcceleratorWait>, AppError> {
    let Some(job) = jobs::claimable_of(conn, submission)? else {
        return Ok(None);
    };
    let Some(found) = submissions::find(conn, submission)? else {
        return Ok(None);
    };
    let nodes = live_nodes(conn, alive_millis)?;
    wait_of(conn, &nodes, &mut Asks::new(), &job, &found.scenario_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(models: &[&str], busy: bool) -> Node {
        Node {
            devices: models
                .iter()
                .enumerate()
                .map(|(i, m)| Device::new(&i.to_string(), m))
                .collect(),
            busy,
        }
    }

    #[test]
    fn the_shortage_says_whether_to_add_a_node_or_to_wait() {
        let nodes = [node(&["MLU370", "MLU370"], true), node(&["A100"], false)];
        assert_eq!(
            shortage(&nodes, 1, Some("MLU370")),
            Some(Shortage::NoneFree)
        );
        assert_eq!(shortage(&nodes, 3, Some("MLU370")), Some(Shortage::NoNode));
        assert_eq!(shortage(&nodes, 1, Some("910B")), Some(Shortage::NoNode));
        assert_eq!(shortage(&nodes, 1, None), None, "the A100 node is free");
        assert_eq!(shortage(&nodes, 2, None), Some(Shortage::NoneFree));
        assert_eq!(shortage(&[], 1, None), Some(Shortage::NoNode));
    }
}
