//! The job network on an engine that may lack fixes: no DNS where CVE-2024-29018 is
//! unfixed, and the host fenced off over IPv6 as over IPv4.

use std::process::Command;
use std::time::Duration;

use jiebang_sandboxes::engine::{NO_DNS, fixes_internal_dns};
use jiebang_sandboxes::{Mode, Termination};

use crate::common::{assert_nothing_left, sandbox, slot, spec};

fn docker(args: &[&str]) -> String {
    let output = Command::new("docker").args(args).output().unwrap();
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

fn ip6tables_input() -> Option<String> {
    let output = Command::new("ip6tables")
        .args(["-S", "INPUT"])
        .output()
        .ok()?;
    Some(String::from_utf8_lossy(&output.stdout).into_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_network_has_no_dns_and_an_ipv6_fence() {
    let Some(sandbox) = sandbox().await else {
        return;
    };
    let _slot = slot().await;
    let mut probe = spec("resolve", &["resolve", "example.com"]);
    probe.mode = Mode::Serve { port: 8080 };
    probe.limits.wall_clock = Duration::from_secs(20);
    let service = sandbox.start_service(&probe).await.unwrap();
    let container = format!("jiebang-{}", probe.job_id);
    let bridge = docker(&[
        "network",
        "inspect",
        &container,
        "--format",
        "{{index .Options \"com.docker.network.bridge.name\"}}",
    ]);
    let dns = docker(&[
        "inspect",
        &container,
        "--format",
        "{{json .HostConfig.Dns}}",
    ]);
    let version = docker(&["version", "--format", "{{.Server.Version}}"]);
    if fixes_internal_dns(&version) {
        eprintln!("Docker {version} has the CVE-2024-29018 fix; DNS is left to it");
    } else {
        assert_eq!(dns, format!("[\"{NO_DNS}\"]"), "Docker {version}");
    }
    match ip6tables_input() {
        Some(rules) if jiebang_sandboxes::firewall::ipv6_enabled() => assert!(
            rules
                .lines()
                .any(|l| l.contains(&bridge) && l.contains("DROP")),
            "no IPv6 rule for {bridge}: {rules}"
        ),
        _ => jiebang_sandboxes::testing::skip_or_fail(
            "IPv6 or ip6tables is missing here, so the IPv6 rule cannot be checked",
        ),
    }
    for _ in 0..100 {
        if !service.is_running().await {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let outcome = service.finish().await.unwrap();
    assert_eq!(
        outcome.termination,
        Termination::Exited { code: 1 },
        "{}",
        String::from_utf8_lossy(&outcome.logs)
    );
    assert!(
        String::from_utf8_lossy(&outcome.logs).contains("cannot resolve"),
        "{}",
        String::from_utf8_lossy(&outcome.logs)
    );
    if let Some(rules) = ip6tables_input() {
        assert!(!rules.contains(&bridge), "the IPv6 rule outlived the job");
    }
    assert_nothing_left(&probe.job_id);
}
