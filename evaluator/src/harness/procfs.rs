//! What the kernel says about CPU contention: pressure (PSI) of the host and of a
//! container's control group, steal time, throttling and the waits of a container's
//! threads, read before and after a timed run and turned into shares of its time.

use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

use jiebang_sandboxes::ContainerCgroup;

/// Cumulative stall times of a `cpu.pressure` file (`/proc/pressure/cpu` or a control
/// group's), in microseconds: some task waited for a CPU (`some`), or every task did
/// (`full`, reported by kernels since 5.13 and always 0 at the host's level).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PressureTotals {
    pub some_us: u64,
    pub full_us: Option<u64>,
}

/// Reads `some avg10=… total=N` and `full … total=N` lines; `None` without a `some` line.
pub fn parse_pressure(text: &str) -> Option<PressureTotals> {
    let total_of = |kind: &str| {
        text.lines()
            .find(|line| line.split_whitespace().next() == Some(kind))
            .and_then(|line| {
                line.split_whitespace()
                    .find_map(|field| field.strip_prefix("total="))
            })
            .and_then(|total| total.parse::<u64>().ok())
    };
    Some(PressureTotals {
        some_us: total_of("some")?,
        full_us: total_of("full"),
    })
}

/// The host's CPU time from `/proc/stat`'s first line, in clock ticks: all of it (guest
/// time is already inside user time, so it is not added again) and the part stolen by
/// the hypervisor for other guests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CpuTimes {
    pub total: u64,
    pub steal: u64,
}

/// Reads the `cpu  user nice system idle iowait irq softirq steal …` line.
pub fn parse_proc_stat(text: &str) -> Option<CpuTimes> {
    let line = text.lines().find(|line| line.starts_with("cpu "))?;
    let ticks: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .map(str::parse)
        .collect::<Result<_, _>>()
        .ok()?;
    // user, nice, system, idle, iowait, irq, softirq, steal; older kernels stop earlier.
    let counted = &ticks[..ticks.len().min(8)];
    Some(CpuTimes {
        total: counted.iter().sum(),
        steal: ticks.get(7).copied().unwrap_or(0),
    })
}

/// CFS throttling of a control group: periods throttled and the time lost.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Throttling {
    pub periods: u64,
    pub throttled_us: u64,
}

/// Reads a `cpu.stat`: `nr_throttled` with `throttled_usec` (v2) or `throttled_time` in
/// nanoseconds (v1).
pub fn parse_cpu_stat(text: &str) -> Option<Throttling> {
    let value = |key: &str| {
        text.lines().find_map(|line| {
            let (name, value) = line.split_once(' ')?;
            (name == key).then(|| value.trim().parse::<u64>().ok())?
        })
    };
    let throttled_us =
        value("throttled_usec").or_else(|| value("throttled_time").map(|ns| ns / 1000))?;
    Some(Throttling {
        periods: value("nr_throttled")?,
        throttled_us,
    })
}

/// The CPU time a control group used so far, in microseconds: `usage_usec` of a v2
/// `cpu.stat`, or a v1 `cpuacct.usage` (nanoseconds, alone on its line).
pub fn parse_cpu_usage(text: &str) -> Option<u64> {
    let v2 = text.lines().find_map(|line| {
        let (name, value) = line.split_once(' ')?;
        (name == "usage_usec").then(|| value.trim().parse::<u64>().ok())?
    });
    v2.or_else(|| text.trim().parse::<u64>().ok().map(|nanos| nanos / 1000))
}

/// The time a thread spent runnable but waiting for a CPU, in nanoseconds: the second
/// field of `/proc/<tid>/schedstat`.
pub fn parse_schedstat(text: &str) -> Option<u64> {
    text.split_whitespace().nth(1)?.parse().ok()
}

/// A container's figures at one moment.
#[derive(Debug, Clone, Default)]
struct ContainerSample {
    pressure: Option<PressureTotals>,
    throttling: Option<Throttling>,
    /// The CPU time it used so far, in microseconds.
    cpu_usage_us: Option<u64>,
    /// Each thread's wait so far, by thread id.
    waits: Option<HashMap<u32, u64>>,
}

/// Everything read at one moment, before or after a timed run.
#[derive(Debug, Clone)]
pub struct Snapshot {
    at: Instant,
    host_pressure: Option<PressureTotals>,
    cpu: Option<CpuTimes>,
    container: ContainerSample,
}

fn read(path: &Path) -> Option<String> {
    std::fs::read_to_string(path).ok()
}

impl Snapshot {
    /// Reads the host's figures and those of `container` (what of them the host shows).
    pub fn take(container: &ContainerCgroup) -> Self {
        let unified = container.unified.as_deref();
        let v1 = container.cpu_v1.as_deref();
        let threads = unified
            .map(|dir| dir.join("cgroup.threads"))
            .or_else(|| v1.map(|dir| dir.join("tasks")));
        Self {
            at: Instant::now(),
            host_pressure: read(Path::new("/proc/pressure/cpu"))
                .as_deref()
                .and_then(parse_pressure),
            cpu: read(Path::new("/proc/stat"))
                .as_deref()
                .and_then(parse_proc_stat),
            container: ContainerSample {
                pressure: unified
                    .and_then(|dir| read(&dir.join("cpu.pressure")))
                    .as_deref()
                    .and_then(parse_pressure),
                throttling: unified.into_iter().chain(v1).find_map(|dir| {
                    read(&dir.join("cpu.stat"))
                        .as_deref()
                        .and_then(parse_cpu_stat)
                }),
                cpu_usage_us: unified
                    .map(|dir| dir.join("cpu.stat"))
                    .into_iter()
                    .chain(v1.map(|dir| dir.join("cpuacct.usage")))
                    .find_map(|file| read(&file).as_deref().and_then(parse_cpu_usage)),
                waits: threads.and_then(|list| read(&list)).map(|list| {
                    list.lines()
                        .filter_map(|tid| tid.trim().parse::<u32>().ok())
                        .filter_map(|tid| {
                            read(Path::new(&format!("/proc/{tid}/schedstat")))
                                .as_deref()
                                .and_then(parse_schedstat)
                                .map(|wait| (tid, wait))
                        })
                        .collect()
                }),
            },
        }
    }
}

/// What changed between two snapshots, as shares of the time between them.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Contention {
    pub host_some: Option<f64>,
    pub host_full: Option<f64>,
    pub container_some: Option<f64>,
    pub container_full: Option<f64>,
    /// The waits of the container's threads added up (more than 1 when several waited).
    pub container_wait: Option<f64>,
    pub steal: Option<f64>,
    pub throttled_periods: Option<u64>,
    pub throttled: Option<Duration>,
    /// The CPU time the container used between the snapshots.
    pub container_cpu: Option<Duration>,
}

impl Contention {
    pub fn between(before: &Snapshot, after: &Snapshot) -> Self {
        let elapsed_us = after.at.saturating_duration_since(before.at).as_micros() as f64;
        let share = |micros: u64| (elapsed_us > 0.0).then(|| micros as f64 / elapsed_us);
        let pressure = |b: Option<PressureTotals>, a: Option<PressureTotals>| {
            let (b, a) = (b?, a?);
            let some = share(a.some_us.saturating_sub(b.some_us));
            let full = a
                .full_us
                .zip(b.full_us)
                .and_then(|(a, b)| share(a.saturating_sub(b)));
            Some((some, full))
        };
        let (host_some, host_full) =
            pressure(before.host_pressure, after.host_pressure).unwrap_or_default();
        let (container_some, container_full) =
            pressure(before.container.pressure, after.container.pressure).unwrap_or_default();
        let container_wait = before
            .container
            .waits
            .as_ref()
            .zip(after.container.waits.as_ref())
            .and_then(|(before, after)| {
                // A thread that began during the run waited only during it.
                let nanos: u64 = after
                    .iter()
                    .map(|(tid, wait)| wait.saturating_sub(before.get(tid).copied().unwrap_or(0)))
                    .sum();
                share(nanos / 1000)
            });
        let steal = before.cpu.zip(after.cpu).and_then(|(b, a)| {
            let total = a.total.saturating_sub(b.total);
            (total > 0).then(|| a.steal.saturating_sub(b.steal) as f64 / total as f64)
        });
        let throttling = before.container.throttling.zip(after.container.throttling);
        Self {
            host_some,
            host_full,
            container_some,
            container_full,
            container_wait,
            steal,
            throttled_periods: throttling.map(|(b, a)| a.periods.saturating_sub(b.periods)),
            throttled: throttling
                .map(|(b, a)| Duration::from_micros(a.throttled_us.saturating_sub(b.throttled_us))),
            container_cpu: before
                .container
                .cpu_usage_us
                .zip(after.container.cpu_usage_us)
                .map(|(b, a)| Duration::from_micros(a.saturating_sub(b))),
        }
    }

    /// The share of the run in which something outside the container waited for a CPU, at
    /// least: the host's `some` less the container's own waiting (its `some` where the
    /// control group reports pressure, else its threads' waits added up, which can only be
    /// more). A submission that overloads its own CPUs therefore cannot make its run look
    /// disturbed.
    pub fn host_outside(&self) -> Option<f64> {
        let own = self.container_some.or(self.container_wait).unwrap_or(0.0);
        self.host_some.map(|host| (host - own).max(0.0))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    // Recorded on the development VM (Linux 6.18, 2 vCPUs) and on a cgroup v2 host.
    const HOST_PRESSURE: &str = "some avg10=17.60 avg60=8.04 avg300=2.68 total=10764440\n\
                                 full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n";
    const OLD_KERNEL_PRESSURE: &str = "some avg10=0.00 avg60=0.00 avg300=0.00 total=1234\n";
    const PROC_STAT: &str = "cpu  15154 0 3168 22116 431 0 36 71 0 0\n\
                             cpu0 7172 0 1133 12147 32 0 5 34 0 0\n\
                             cpu1 7982 0 2034 9969 398 0 30 37 0 0\nintr 1 2 3\n";
    const CPU_STAT_V1: &str = "nr_periods 120\nnr_throttled 7\nthrottled_time 35000000\n\
                               nr_bursts 0\nburst_time 0\n";
    const CPU_STAT_V2: &str = "usage_usec 380183145\nuser_usec 328566090\nsystem_usec 51617054\n\
                               nr_periods 10\nnr_throttled 2\nthrottled_usec 4500\n";

    #[test]
    fn pressure_files_parse_with_and_without_a_full_line() {
        assert_eq!(
            parse_pressure(HOST_PRESSURE),
            Some(PressureTotals {
                some_us: 10_764_440,
                full_us: Some(0)
            })
        );
        assert_eq!(
            parse_pressure(OLD_KERNEL_PRESSURE),
            Some(PressureTotals {
                some_us: 1234,
                full_us: None
            })
        );
        assert_eq!(parse_pressure(""), None);
        assert_eq!(parse_pressure("some avg10=1.0 total=x\n"), None);
    }

    #[test]
    fn proc_stat_gives_total_and_stolen_ticks() {
        let times = parse_proc_stat(PROC_STAT).unwrap();
        assert_eq!(times.steal, 71);
        assert_eq!(times.total, 15154 + 3168 + 22116 + 431 + 36 + 71);
        // A kernel too old to report steal has none.
        let old = parse_proc_stat("cpu  10 0 5 100\n").unwrap();
        assert_eq!((old.total, old.steal), (115, 0));
        assert_eq!(parse_proc_stat("cpu0 1 2 3\n"), None);
    }

    #[test]
    fn cpu_stat_reads_throttling_of_either_hierarchy() {
        assert_eq!(
            parse_cpu_stat(CPU_STAT_V1),
            Some(Throttling {
                periods: 7,
                throttled_us: 35_000
            })
        );
        assert_eq!(
            parse_cpu_stat(CPU_STAT_V2),
            Some(Throttling {
                periods: 2,
                throttled_us: 4500
            })
        );
        assert_eq!(parse_cpu_stat("usage_usec 5\n"), None);
    }

    #[test]
    fn cpu_usage_reads_either_hierarchy() {
        assert_eq!(parse_cpu_usage(CPU_STAT_V2), Some(380_183_145));
        // cgroup v1's cpuacct.usage counts nanoseconds.
        assert_eq!(parse_cpu_usage("2500000123\n"), Some(2_500_000));
        assert_eq!(parse_cpu_usage(CPU_STAT_V1), None);
    }

    #[test]
    fn schedstat_gives_the_wait() {
        assert_eq!(parse_schedstat("291441 2496762 2\n"), Some(2_496_762));
        assert_eq!(parse_schedstat("291441\n"), None);
    }

    fn snapshot(at: Instant, host: u64, container: Option<u64>, waits: &[(u32, u64)]) -> Snapshot {
        Snapshot {
            at,
            host_pressure: Some(PressureTotals {
                some_us: host,
                full_us: Some(0),
            }),
            cpu: Some(CpuTimes {
                total: host / 10_000,
                steal: host / 100_000,
            }),
            container: ContainerSample {
                pressure: container.map(|some_us| PressureTotals {
                    some_us,
                    full_us: Some(0),
                }),
                throttling: None,
                cpu_usage_us: container.map(|some_us| some_us * 2),
                waits: Some(waits.iter().copied().collect()),
            },
        }
    }

    #[test]
    fn shares_are_of_the_time_between_the_snapshots() {
        let start = Instant::now();
        let later = start + Duration::from_secs(2);
        // 1 s of host stall in 2 s, of which the container's own pressure explains 0.4 s.
        let before = snapshot(start, 1_000_000, Some(0), &[(10, 5_000_000)]);
        let after = snapshot(
            later,
            2_000_000,
            Some(400_000),
            &[(10, 105_000_000), (11, 50_000_000)],
        );
        let contention = Contention::between(&before, &after);
        assert_eq!(contention.host_some, Some(0.5));
        assert_eq!(contention.container_some, Some(0.2));
        // 100 ms of the old thread and 50 ms of the new one.
        assert_eq!(contention.container_wait, Some(0.075));
        assert_eq!(contention.steal, Some(0.1));
        assert!((contention.host_outside().unwrap() - 0.3).abs() < 1e-9);
        assert_eq!(contention.container_cpu, Some(Duration::from_millis(800)));
    }

    #[test]
    fn without_container_pressure_its_threads_waits_are_taken_off() {
        let start = Instant::now();
        let before = snapshot(start, 0, None, &[(10, 0), (11, 0)]);
        let after = snapshot(
            start + Duration::from_secs(1),
            600_000,
            None,
            &[(10, 400_000_000), (11, 400_000_000)],
        );
        let contention = Contention::between(&before, &after);
        assert_eq!(contention.container_some, None);
        assert_eq!(contention.container_wait, Some(0.8));
        // A container that overloads its own CPU explains all the host's pressure.
        assert_eq!(contention.host_outside(), Some(0.0));
    }
}
