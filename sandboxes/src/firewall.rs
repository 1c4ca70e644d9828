//! The host firewall rules that fence a job's network off the host, for IPv4 and IPv6.

/// The comment that marks this crate's firewall rules.
const RULE_COMMENT: &str = "jiebang";

/// The tools, one per address family. The job network is IPv4 only, but its bridge has an
/// IPv6 link-local address wherever the host runs IPv6, and that reaches the host too.
const TOOLS: [&str; 2] = ["iptables", "ip6tables"];

fn rule(bridge: &str) -> Vec<String> {
    [
        "INPUT",
        "-i",
        bridge,
        "-m",
        "conntrack",
        "--ctstate",
        "NEW",
        "-m",
        "comment",
        "--comment",
        RULE_COMMENT,
        "-j",
        "DROP",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect()
}

/// How applying a rule with one tool went.
enum Applied {
    Done,
    /// The tool is not installed.
    Missing,
    Refused,
}

async fn apply(tool: &str, add: bool, bridge: &str) -> Applied {
    let mut args = vec![if add { "-I" } else { "-D" }.to_owned()];
    args.extend(rule(bridge));
    match tokio::process::Command::new(tool)
        .args(&args)
        .output()
        .await
    {
        Ok(output) if output.status.success() => Applied::Done,
        Ok(output) => {
            if add {
                tracing::warn!(%bridge, tool, stderr = %String::from_utf8_lossy(&output.stderr), "the firewall refused a rule");
            }
            Applied::Refused
        }
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Applied::Missing,
        Err(error) => {
            tracing::warn!(%bridge, tool, %error, "the firewall tool cannot run");
            Applied::Refused
        }
    }
}

/// Whether the host runs IPv6 at all; without it there is nothing to fence.
/// Whether the host runs IPv6 (so job networks need the IPv6 fence too).
pub fn ipv6_enabled() -> bool {
    std::fs::read_to_string("/proc/sys/net/ipv6/conf/all/disable_ipv6")
        .is_ok_and(|disabled| disabled.trim() == "0")
}

/// Adds (or deletes) the rules that stop a job's network from opening connections to the
/// host; answers to connections the host opened still pass. True when the network is fenced
/// (or, deleting, when a rule went). The IPv6 rule is skipped, with a warning, where
/// ip6tables is missing or IPv6 is off; where both are there, it must hold.
pub async fn fence(add: bool, bridge: &str) -> bool {
    let v4 = matches!(apply(TOOLS[0], add, bridge).await, Applied::Done);
    if !ipv6_enabled() {
        if add {
            static SAID: std::sync::Once = std::sync::Once::new();
            SAID.call_once(|| {
                tracing::warn!("IPv6 is disabled on this host; job networks get no ip6tables rule");
            });
        }
        return v4;
    }
    match apply(TOOLS[1], add, bridge).await {
        Applied::Done => v4 || !add,
        Applied::Missing => {
            if add {
                static SAID: std::sync::Once = std::sync::Once::new();
                SAID.call_once(|| {
                    tracing::warn!("ip6tables is not installed; job networks' IPv6 link-local addresses are not fenced");
                });
            }
            v4
        }
        Applied::Refused => v4 && !add,
    }
}

/// Removes the rules of bridges that no longer exist (what a crashed worker left); returns
/// how many went.
pub async fn sweep() -> usize {
    let mut removed = 0;
    for tool in TOOLS {
        let Ok(listing) = tokio::process::Command::new(tool)
            .args(["-S", "INPUT"])
            .output()
            .await
        else {
            continue;
        };
        for line in String::from_utf8_lossy(&listing.stdout).lines() {
            let words: Vec<&str> = line.split_whitespace().collect();
            let ours = words.windows(2).any(|w| w == ["--comment", RULE_COMMENT]);
            if let (true, Some(position)) = (ours, words.iter().position(|w| *w == "-i"))
                && let Some(bridge) = words.get(position + 1)
                // A live job's bridge exists; only rules whose bridge is gone are leftovers,
                // so this never disturbs another worker's running job.
                && !std::path::Path::new("/sys/class/net").join(bridge).exists()
                && matches!(apply(tool, false, bridge).await, Applied::Done)
            {
                removed += 1;
            }
        }
    }
    removed
}
