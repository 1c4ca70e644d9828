//! Keeping the harness on CPUs of its own, disjoint from the submission's cpuset: a
//! container's CFS quota or a busy neighbour must not show up as harness latency.

use crate::EvaluatorError;

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
