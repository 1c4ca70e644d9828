//! Whether a PostgreSQL cluster on this host gets the CPU as one service or as one group per
//! backend: every backend calls `setsid()`, so where the kernel shares the CPU between
//! sessions (autogroup) and the cluster is in no CPU cgroup of its own, each busy backend
//! weighs as much as the whole platform (docs/guide-operator.md, "PostgreSQL on the same
//! host").

use std::path::Path;

use diesel::sql_types::Integer;
use diesel::{PgConnection, QueryableByName, RunQueryDsl};
use jiebang_sandboxes::cgroup::proc_entries;

use super::DbConnection;

/// How the kernel shares the CPU with a process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CpuGrouping {
    /// Within a CPU cgroup with its siblings: the group's weight, however many it holds.
    Cgroup,
    /// In no CPU cgroup below the root: each session weighs as much as any other (when
    /// autogroup is on).
    Session,
}

/// How a process whose `/proc/PID/cgroup` reads `proc_cgroup` shares the CPU; `read`
/// reads a file of the cgroup v2 hierarchy (`/system.slice/cgroup.subtree_control`),
/// `None` where it cannot.
pub fn grouping(proc_cgroup: &str, read: impl Fn(&str) -> Option<String>) -> CpuGrouping {
    let mut unified = None;
    for (id, controllers, path) in proc_entries(proc_cgroup) {
        // cgroup v1: the hierarchy the cpu controller is mounted on decides.
        if id != "0" && controllers.split(',').any(|c| c == "cpu") {
            return at_root(path);
        }
        if id == "0" && controllers.is_empty() {
            unified = Some(path);
        }
    }
    match unified {
        None => CpuGrouping::Cgroup,
        // The hierarchy's root, or a container's own cgroup seen through a cgroup
        // namespace: only the latter has a CPU weight of its own.
        Some("/") if read("/cpu.weight").is_some() => CpuGrouping::Cgroup,
        Some("/") => CpuGrouping::Session,
        // cgroup v2: a folder is under the cpu controller when its parent hands it down.
        Some(path) => {
            let parent = Path::new(path)
                .parent()
                .and_then(Path::to_str)
                .unwrap_or("/")
                .trim_end_matches('/');
            match read(&format!("{parent}/cgroup.subtree_control")) {
                Some(controls) if !controls.split_whitespace().any(|c| c == "cpu") => {
                    CpuGrouping::Session
                }
                _ => CpuGrouping::Cgroup,
            }
        }
    }
}

fn at_root(path: &str) -> CpuGrouping {
    if path == "/" {
        CpuGrouping::Session
    } else {
        CpuGrouping::Cgroup
    }
}

#[derive(QueryableByName)]
struct BackendPid {
    #[diesel(sql_type = Integer)]
    pid: i32,
}

/// True when `conn` is served by a PostgreSQL backend on this host that shares the CPU
/// per session while autogroup is on; false when it does not, or when that cannot be told
/// (SQLite, a cluster on another host or in another PID namespace, /proc unreadable).
pub fn backends_weigh_per_session(conn: &mut DbConnection) -> bool {
    let DbConnection::Postgres(conn) = conn else {
        return false;
    };
    let autogroup = std::fs::read_to_string("/proc/sys/kernel/sched_autogroup_enabled")
        .is_ok_and(|value| value.trim() == "1");
    autogroup && backend_grouping(conn) == Some(CpuGrouping::Session)
}

/// How the kernel shares the CPU with the backend serving `conn`, when it runs on this
/// host in this PID namespace.
pub fn backend_grouping(conn: &mut PgConnection) -> Option<CpuGrouping> {
    let process = Path::new("/proc").join(backend_pid(conn)?.to_string());
    // A process of that number that is not a backend is another PID namespace's.
    let name = std::fs::read_to_string(process.join("comm")).ok()?;
    if !name.starts_with("postgres") {
        return None;
    }
    let cgroups = std::fs::read_to_string(process.join("cgroup")).ok()?;
    Some(grouping(&cgroups, |file| {
        std::fs::read_to_string(Path::new("/sys/fs/cgroup").join(file.trim_start_matches('/'))).ok()
    }))
}

/// The process number of the backend serving `conn`, as its host numbers it.
pub fn backend_pid(conn: &mut PgConnection) -> Option<i32> {
    let backend: BackendPid = diesel::sql_query("SELECT pg_backend_pid() AS pid")
        .get_result(conn)
        .ok()?;
    Some(backend.pid)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn none(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn cgroup_v1_root_cpu_hierarchy_shares_per_session() {
        // Read off this project's development VM for a backend started by `pg_ctl`.
        let text = "9:name=systemd:/\n4:memory:/process_api/62fb\n2:cpuacct:/\n1:cpu:/\n0::/\n";
        assert_eq!(grouping(text, none), CpuGrouping::Session);
    }

    #[test]
    fn cgroup_v1_cpu_folder_is_a_group() {
        let text = "4:cpu,cpuacct:/jiebang-bench-postgres\n0::/\n";
        assert_eq!(grouping(text, none), CpuGrouping::Cgroup);
        let text = "3:cpuacct,cpu:/system.slice/postgresql.service\n";
        assert_eq!(grouping(text, none), CpuGrouping::Cgroup);
    }

    #[test]
    fn cgroup_v1_cpuset_alone_is_not_the_cpu_controller() {
        let text = "3:cpuset:/pg\n1:cpu:/\n";
        assert_eq!(grouping(text, none), CpuGrouping::Session);
    }

    #[test]
    fn cgroup_v2_depends_on_the_parent_handing_down_cpu() {
        let text = "0::/system.slice/postgresql@15-main.service\n";
        let with_cpu = |file: &str| {
            assert_eq!(file, "/system.slice/cgroup.subtree_control");
            Some("cpuset cpu io memory pids\n".to_owned())
        };
        assert_eq!(grouping(text, with_cpu), CpuGrouping::Cgroup);
        let without = |_: &str| Some("memory pids\n".to_owned());
        assert_eq!(grouping(text, without), CpuGrouping::Session);
        // Unreadable: no claim that it is wrong.
        assert_eq!(grouping(text, none), CpuGrouping::Cgroup);
    }

    #[test]
    fn cgroup_v2_root_shares_per_session() {
        assert_eq!(grouping("0::/\n", none), CpuGrouping::Session);
    }

    #[test]
    fn cgroup_v2_namespace_root_with_a_cpu_weight_is_a_container() {
        let container = |file: &str| (file == "/cpu.weight").then(|| "100\n".to_owned());
        assert_eq!(grouping("0::/\n", container), CpuGrouping::Cgroup);
    }

    #[test]
    fn nothing_readable_is_no_claim() {
        assert_eq!(grouping("", none), CpuGrouping::Cgroup);
        assert_eq!(grouping("garbage", none), CpuGrouping::Cgroup);
    }
}
