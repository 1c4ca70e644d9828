//! What the Docker engine lacks, found once at connection: the fix for CVE-2024-29018
//! (DNS forwarded out of internal networks), and what the sandbox does instead.

use bollard::Docker;

/// Facts about the engine that change how jobs are run on it; the default (an engine not
/// yet asked) assumes it lacks every fix.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EngineFacts {
    /// The engine keeps DNS inside internal networks; when false, job networks get no DNS.
    pub internal_dns_fixed: bool,
}

/// The resolver job containers get where the engine lacks the fix: with an explicit server
/// the engine's embedded resolver forwards from the container's own namespace, never the
/// host's, and a loopback address there leads nowhere but back into the container.
pub const NO_DNS: &str = "127.0.0.1";

/// Asks the engine for its version and says in the log what is done about what it lacks.
pub async fn inspect(docker: &Docker) -> EngineFacts {
    let version = match docker.version().await {
        Ok(version) => version.version.unwrap_or_default(),
        Err(error) => {
            tracing::warn!(%error, "the engine's version is unknown; DNS is disabled for job networks");
            return EngineFacts::default();
        }
    };
    let internal_dns_fixed = fixes_internal_dns(&version);
    if internal_dns_fixed {
        tracing::info!(%version, "Docker engine");
    } else {
        tracing::warn!(
            %version,
            "this Docker engine lacks the fix for CVE-2024-29018 (DNS from internal networks; fixed in 23.0.11, 25.0.5 and 26.0.0); DNS is disabled for job networks"
        );
    }
    EngineFacts { internal_dns_fixed }
}

/// Whether the engine `version` has the fix for CVE-2024-29018. The advisory
/// (GHSA-mq39-4gv4-mvpx) names 26.0.0-rc3, 25.0.5 and 23.0.11 as fixed; 24.x and earlier
/// lines never got it. A version that does not parse counts as unfixed: the price of a
/// wrong guess that way is only a job network without DNS, which no job needs.
pub fn fixes_internal_dns(version: &str) -> bool {
    let version = version.trim().trim_start_matches('v');
    // `26.0.0-rc3` is a pre-release; `20.10.24+dfsg1` and `26.1.5+dfsg1-4` are builds.
    let end = version.find(['-', '+']).unwrap_or(version.len());
    let (release, pre) = (&version[..end], version[end..].strip_prefix('-'));
    let numbers: Vec<u64> = release
        .split('.')
        .map_while(|part| part.parse().ok())
        .collect();
    let [major, minor, patch] = numbers[..] else {
        return false;
    };
    match (major, minor, pre) {
        (27.., _, _) | (26, 1.., _) => true,
        (26, 0, None) => true,
        (26, 0, Some(pre)) => {
            patch > 0
                || pre
                    .strip_prefix("rc")
                    .and_then(|n| n.split(['.', '+']).next())
                    .and_then(|n| n.parse::<u64>().ok())
                    .is_some_and(|rc| rc >= 3)
        }
        (25, 0, None) => patch >= 5,
        (25, 1.., None) => true,
        (23, 0, None) => patch >= 11,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::fixes_internal_dns;

    #[test]
    fn recorded_versions_are_judged_by_the_advisory() {
        for fixed in [
            "26.0.0",
            "26.0.0-rc3",
            "26.1.4",
            "27.3.1",
            "28.0.1",
            "25.0.5",
            "25.0.14",
            "23.0.11",
            "v26.1.0",
            "26.1.5+dfsg1-4",
        ] {
            assert!(fixes_internal_dns(fixed), "{fixed} has the fix");
        }
        for unfixed in [
            "20.10.24+dfsg1",
            "20.10.24",
            "24.0.7",
            "24.0.9",
            "25.0.4",
            "25.0.0-beta.1",
            "23.0.10",
            "26.0.0-rc1",
            "",
            "nonsense",
        ] {
            assert!(!fixes_internal_dns(unfixed), "{unfixed} lacks the fix");
        }
    }
}
