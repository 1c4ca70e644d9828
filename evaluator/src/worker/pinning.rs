//! Keeping the harness on CPUs of its own, disjoint from the submission's cpuset: a
//! container's CFS quota or a busy neighbour must not show up as harness latency. When the
//! operator names no CPUs, [`isolation`] divides the node's by itself.

use std::sync::OnceLock;

use crate::EvaluatorError;

/// Who runs where on a node: the submissions' containers, the harness, and (in `serve`)
/// the platform's own threads. `None` leaves that part where the kernel puts it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Isolation {
    pub containers: Option<Vec<usize>>,
    pub harness: Option<Vec<usize>>,
    pub platform: Option<Vec<usize>>,
}

/// The CPUs this process may run on, as it started: read once, before any thread is
/// pinned, so later readings on a pinned thread do not shrink it.
pub fn process_cpus() -> &'static [usize] {
    static CPUS: OnceLock<Vec<usize>> = OnceLock::new();
    CPUS.get_or_init(|| {
        nix::sched::sched_getaffinity(nix::unistd::Pid::from_raw(0))
            .map(|set| {
                (0..nix::sched::CpuSet::count())
                    .filter(|cpu| set.is_set(*cpu).unwrap_or(false))
                    .collect()
            })
            .unwrap_or_default()
    })
}

/// Divides `available` CPUs between the containers, the harness and the platform, keeping
/// what the operator set (`containers`, `harness`). The harness never shares a CPU with a
/// container: with neither set it gets the first CPU and the containers the last ones
/// (on two cores one each); with one set the other gets the rest. The platform's threads
/// (`with_platform`, for `serve`) stay off the containers' CPUs and, from three cores on,
/// get a CPU of their own. A single CPU cannot be divided: nothing is pinned.
pub fn isolation(
    available: &[usize],
    containers: Option<Vec<usize>>,
    harness: Option<Vec<usize>>,
    with_platform: bool,
) -> Isolation {
    let without = |taken: &[usize]| -> Option<Vec<usize>> {
        let rest: Vec<usize> = available
            .iter()
            .copied()
            .filter(|cpu| !taken.contains(cpu))
            .collect();
        (!rest.is_empty()).then_some(rest)
    };
    let (containers, harness, platform) = match (containers, harness) {
        (Some(containers), Some(harness)) => {
            let platform = without(&containers);
            (Some(containers), Some(harness), platform)
        }
        (Some(containers), None) => {
            let rest = without(&containers);
            (Some(containers), rest.clone(), rest)
        }
        (None, Some(harness)) => {
            let containers = without(&harness);
            let platform = containers.as_deref().map_or(Some(harness.clone()), without);
            (containers, Some(harness), platform)
        }
        (None, None) => match available {
            [] | [_] => (None, None, None),
            [first, second] => (Some(vec![*second]), Some(vec![*first]), Some(vec![*first])),
            [first, second, rest @ ..] if with_platform => {
                (Some(rest.to_vec()), Some(vec![*first]), Some(vec![*second]))
            }
            [first, rest @ ..] => (Some(rest.to_vec()), Some(vec![*first]), Some(vec![*first])),
        },
    };
    Isolation {
        containers,
        harness,
        platform: platform.filter(|_| with_platform),
    }
}

/// A CPU list as a cpuset (`1,3-5` is written `1,3,4,5`).
pub fn cpuset_of(cpus: &[usize]) -> String {
    cpus.iter()
        .map(usize::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

/// Parses a cpuset list such as `0`, `0,2` or `0-1,4`.
pub fn parse_cpus(list: &str) -> Result<Vec<usize>, EvaluatorError> {
    let invalid = || EvaluatorError::CpuList(list.to_owned());
    let mut cpus = Vec::new();
    for part in list.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        match part.split_once('-') {
            Some((first, last)) => {
                let (first, last): (usize, usize) = (
                    first.parse().map_err(|_| invalid())?,
                    last.parse().map_err(|_| invalid())?,
                );
                if first > last {
                    return Err(invalid());
                }
                cpus.extend(first..=last);
            }
            None => cpus.push(part.parse().map_err(|_| invalid())?),
        }
    }
    if cpus.is_empty() {
        return Err(invalid());
    }
    cpus.sort_unstable();
    cpus.dedup();
    Ok(cpus)
}

/// Pins the calling thread to `cpus`.
pub fn pin_current_thread(cpus: &[usize]) -> Result<(), EvaluatorError> {
    let failed = |source| EvaluatorError::Pinning {
        cpus: cpus.to_vec(),
        source,
    };
    let mut set = nix::sched::CpuSet::new();
    for cpu in cpus {
        set.set(*cpu).map_err(failed)?;
    }
    nix::sched::sched_setaffinity(nix::unistd::Pid::from_raw(0), &set).map_err(failed)
}

/// A runtime for a worker whose every thread (and the caller's, which drives the harness)
/// runs on `cpus`, when given.
pub fn worker_runtime(cpus: Option<Vec<usize>>) -> Result<tokio::runtime::Runtime, EvaluatorError> {
    if let Some(cpus) = &cpus {
        pin_current_thread(cpus)?;
    }
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    builder.worker_threads(2).enable_all();
    if let Some(cpus) = cpus {
        builder.on_thread_start(move || {
            if let Err(error) = pin_current_thread(&cpus) {
                tracing::warn!(%error, "a harness thread is not pinned");
            }
        });
    }
    Ok(builder.build()?)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn cpu_lists_parse() {
        assert_eq!(parse_cpus("0").unwrap(), [0]);
        assert_eq!(parse_cpus("0-2,5, 1").unwrap(), [0, 1, 2, 5]);
        assert!(parse_cpus("2-1").is_err());
        assert!(parse_cpus("x").is_err());
        assert!(parse_cpus("").is_err());
    }

    #[test]
    fn with_nothing_set_two_cores_give_the_harness_and_the_containers_one_each() {
        let plan = isolation(&[0, 1], None, None, true);
        assert_eq!(plan.harness, Some(vec![0]));
        assert_eq!(plan.containers, Some(vec![1]));
        assert_eq!(plan.platform, Some(vec![0]), "off the containers' CPU");
        let alone = isolation(&[0, 1], None, None, false);
        assert_eq!(alone.platform, None, "a standalone worker has no platform");
    }

    #[test]
    fn from_three_cores_the_platform_gets_a_cpu_of_its_own() {
        let plan = isolation(&[0, 1, 2, 3], None, None, true);
        assert_eq!(plan.harness, Some(vec![0]));
        assert_eq!(plan.platform, Some(vec![1]));
        assert_eq!(plan.containers, Some(vec![2, 3]));
        let worker = isolation(&[0, 1, 2, 3], None, None, false);
        assert_eq!(worker.containers, Some(vec![1, 2, 3]));
    }

    #[test]
    fn what_the_operator_set_is_kept_and_the_rest_divided() {
        let plan = isolation(&[0, 1, 2, 3], Some(vec![2, 3]), None, true);
        assert_eq!(plan.harness, Some(vec![0, 1]));
        assert_eq!(plan.platform, Some(vec![0, 1]));
        let plan = isolation(&[0, 1, 2, 3], None, Some(vec![3]), true);
        assert_eq!(plan.containers, Some(vec![0, 1, 2]));
        assert_eq!(
            plan.platform,
            Some(vec![3]),
            "the harness's CPU is what is left"
        );
        let plan = isolation(&[0, 1, 2, 3], Some(vec![1]), Some(vec![0]), true);
        assert_eq!(plan.platform, Some(vec![0, 2, 3]));
    }

    #[test]
    fn one_cpu_cannot_be_divided() {
        let plan = isolation(&[0], None, None, true);
        assert_eq!(
            plan,
            Isolation {
                containers: None,
                harness: None,
                platform: None
            }
        );
        assert_eq!(cpuset_of(&[1, 3, 4]), "1,3,4");
        assert!(!process_cpus().is_empty());
    }

    #[test]
    fn a_pinned_thread_stays_on_its_cpu() {
        std::thread::spawn(|| {
            pin_current_thread(&[0]).unwrap();
            let set = nix::sched::sched_getaffinity(nix::unistd::Pid::from_raw(0)).unwrap();
            assert!(set.is_set(0).unwrap());
            let others = (1..nix::sched::CpuSet::count())
                .filter(|cpu| set.is_set(*cpu).unwrap_or(false))
                .count();
            assert_eq!(others, 0);
        })
        .join()
        .unwrap();
    }
}
