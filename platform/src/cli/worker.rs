//! The flags of `jiebang worker` and of the worker inside `serve`; each sets one
//! configuration key and shares its help with the key's declaration.

use std::path::PathBuf;

use clap::Args;

use crate::config::{Flag, help, help_noted};

const TOKEN_NOTE: &str = "Prefer the variable: a flag's value shows in the process list.";
const DEVICE_NOTE: &str = "Repeat the flag for each device; the flags replace the configured list.";

/// `jiebang worker`'s own flags, then those it shares with `serve`.
#[derive(Debug, Args)]
pub struct WorkerArgs {
    #[arg(long, value_name = "URL", help = help("worker.platform"))]
    pub platform: Option<String>,
    #[arg(long, value_name = "TOKEN", help = help_noted("worker.token", TOKEN_NOTE))]
    pub token: Option<String>,
    #[arg(long, value_name = "FILE", help = help("worker.token_file"))]
    pub token_file: Option<PathBuf>,
    #[arg(long, help = help("worker.name"))]
    pub name: Option<String>,
    #[arg(long, alias = "cache", value_name = "DIR", help = help("worker.cache_dir"))]
    pub cache_dir: Option<PathBuf>,
    /// Take one job, evaluate it, report it and exit (as a Slurm job does); exit non-zero
    /// when no job this node can take comes within --wait.
    #[arg(long)]
    pub once: bool,
    /// With --once: the most seconds to wait for a job.
    #[arg(long, value_name = "SECONDS", requires = "once", default_value_t = 120)]
    pub wait: u64,
    /// Print the accelerators this node has, per vendor, and how each was found (which
    /// library, device node and tool), then exit; needs no platform or token.
    #[arg(long)]
    pub list_devices: bool,
    #[command(flatten)]
    pub node: NodeArgs,
}

/// How a node runs submissions: the `[worker]` and `[sandbox]` keys both commands take.
#[derive(Debug, Args)]
#[command(next_help_heading = "Worker and sandbox (docs/guide-operator.md)")]
pub struct NodeArgs {
    #[arg(long, value_name = "RUNTIME", help = help("sandbox.runtime"))]
    pub runtime: Option<String>,
    #[arg(long, value_name = "UID:GID", help = help("sandbox.user"))]
    pub sandbox_user: Option<String>,
    #[arg(long = "accelerator", value_name = "[VENDOR:]ID=MODEL", help = help_noted("sandbox.accelerators", DEVICE_NOTE))]
    pub accelerators: Vec<String>,
    #[arg(long, value_name = "DIR", help = help("sandbox.device_root"))]
    pub device_root: Option<PathBuf>,
    #[arg(long, value_name = "CPUS", help = help("worker.cpuset"))]
    pub cpuset: Option<String>,
    #[arg(long, alias = "harness-cpus", value_name = "CPUS", help = help("worker.harness_cpuset"))]
    pub harness_cpuset: Option<String>,
    #[arg(long, value_name = "BYTES", help = help("sandbox.max_image_bytes"))]
    pub max_image_bytes: Option<String>,
    #[arg(long, value_name = "BYTES", help = help("sandbox.max_layer_bytes"))]
    pub max_layer_bytes: Option<String>,
    #[arg(long, value_name = "COUNT", help = help("sandbox.max_image_entries"))]
    pub max_image_entries: Option<String>,
}

impl WorkerArgs {
    pub fn flags(&self) -> Vec<Flag> {
        let mut flags = self.node.flags();
        set(
            &mut flags,
            "worker.platform",
            "--platform",
            self.platform.clone(),
        );
        set(&mut flags, "worker.token", "--token", self.token.clone());
        let token_file = self.token_file.as_ref();
        let token_file = token_file.map(|file| file.to_string_lossy().into_owned());
        set(&mut flags, "worker.token_file", "--token-file", token_file);
        set(&mut flags, "worker.name", "--name", self.name.clone());
        let cache_dir = self.cache_dir.as_ref();
        let cache_dir = cache_dir.map(|dir| dir.to_string_lossy().into_owned());
        set(&mut flags, "worker.cache_dir", "--cache-dir", cache_dir);
        flags
    }
}

impl NodeArgs {
    pub fn flags(&self) -> Vec<Flag> {
        let mut flags = Vec::new();
        set(
            &mut flags,
            "sandbox.runtime",
            "--runtime",
            self.runtime.clone(),
        );
        let user = self.sandbox_user.clone();
        set(&mut flags, "sandbox.user", "--sandbox-user", user);
        let devices = (!self.accelerators.is_empty()).then(|| self.accelerators.join(","));
        set(&mut flags, "sandbox.accelerators", "--accelerator", devices);
        let root = self.device_root.as_ref();
        let root = root.map(|dir| dir.to_string_lossy().into_owned());
        set(&mut flags, "sandbox.device_root", "--device-root", root);
        set(&mut flags, "worker.cpuset", "--cpuset", self.cpuset.clone());
        let harness = self.harness_cpuset.clone();
        set(
            &mut flags,
            "worker.harness_cpuset",
            "--harness-cpuset",
            harness,
        );
        let limits = [
            (
                "sandbox.max_image_bytes",
                "--max-image-bytes",
                &self.max_image_bytes,
            ),
            (
                "sandbox.max_layer_bytes",
                "--max-layer-bytes",
                &self.max_layer_bytes,
            ),
            (
                "sandbox.max_image_entries",
                "--max-image-entries",
                &self.max_image_entries,
            ),
        ];
        for (key, flag, value) in limits {
            set(&mut flags, key, flag, value.clone());
        }
        flags
    }
}

fn set(flags: &mut Vec<Flag>, key: &'static str, flag: &'static str, value: Option<String>) {
    if let Some(value) = value {
        flags.push(Flag { key, flag, value });
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use clap::{CommandFactory, Parser};

    use crate::cli::Cli;

    #[test]
    fn worker_flags_reach_the_configuration() {
        let cli = Cli::try_parse_from([
            "jiebang",
            "worker",
            "--platform",
            "http://p",
            "--accelerator",
            "0=H100",
            "--accelerator",
            "1=H100",
            "--runtime",
            "runsc",
            "--cpuset",
            "2-7",
            "--harness-cpus",
            "0-1",
            "--max-image-entries",
            "9",
            "--cache-dir",
            "/c",
        ])
        .unwrap();
        let config = cli
            .resolve_config_with(|name| {
                (name == "JIEBANG_SANDBOX_RUNTIME").then(|| "from-env".to_owned())
            })
            .unwrap();
        let devices: Vec<_> = config
            .sandbox
            .accelerators
            .iter()
            .map(|d| d.id.as_str())
            .collect();
        assert_eq!(devices, ["0", "1"]);
        assert_eq!(config.sandbox.runtime.as_deref(), Some("runsc"));
        assert_eq!(config.sandbox.max_image_entries, 9);
        assert_eq!(config.worker.cpuset.as_deref(), Some("2-7"));
        assert_eq!(config.worker.harness_cpuset.as_deref(), Some("0-1"));
        assert_eq!(config.worker.platform.as_deref(), Some("http://p"));
        assert_eq!(config.worker.cache_dir, Some("/c".into()));
    }

    #[test]
    fn a_one_shot_worker_takes_its_wait_and_its_token_file() {
        let cli = Cli::try_parse_from([
            "jiebang",
            "worker",
            "--once",
            "--wait",
            "5",
            "--token-file",
            "/shared/token",
        ])
        .unwrap();
        let crate::cli::Command::Worker(args) = &cli.command else {
            panic!("not the worker command");
        };
        assert!(args.once);
        assert_eq!(args.wait, 5);
        let config = cli.resolve_config_with(|_| None).unwrap();
        assert_eq!(config.worker.token_file, Some("/shared/token".into()));
        let error = Cli::try_parse_from(["jiebang", "worker", "--wait", "5"]).unwrap_err();
        assert!(error.to_string().contains("--once"), "{error}");
    }

    #[test]
    fn every_flag_names_a_key_and_the_help_names_the_guide() {
        let mut command = Cli::command();
        for name in ["worker", "serve"] {
            let sub = command.find_subcommand_mut(name).unwrap();
            let help = sub.render_help().to_string();
            for flag in ["--runtime", "--accelerator", "--cpuset", "--harness-cpuset"] {
                assert!(help.contains(flag), "{name} --help lacks {flag}");
            }
            assert!(help.contains("docs/guide-operator.md"), "{help}");
            for argument in sub.get_arguments().filter(|a| a.get_long().is_some()) {
                let text = argument
                    .get_help()
                    .map(ToString::to_string)
                    .unwrap_or_default();
                assert!(
                    !text.is_empty(),
                    "{name} --{:?} has no help",
                    argument.get_long()
                );
            }
        }
        let help = command.render_help().to_string();
        assert!(help.contains("docs/guide-operator.md") && !help.contains("docs/operator.md"));
    }
}
