//! The Slurm programs the autoscaler runs: `sbatch` to submit a one-shot worker, `squeue`
//! to see which are still pending or running, `scancel` to withdraw one.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::config::SlurmSettings;
use crate::error::AppError;

/// The variable a one-shot worker reads its token from when no token file is configured.
pub const TOKEN_VARIABLE: &str = "JIEBANG_WORKER_TOKEN";

/// What every one-shot worker runs: `jiebang worker --once` against the platform.
#[derive(Debug, Clone)]
pub struct WorkerCommand {
    pub jiebang: PathBuf,
    pub platform: String,
    /// Passed as `--token-file` when the token lives in a shared file.
    pub token_file: Option<PathBuf>,
    pub args: Vec<String>,
    pub wait_seconds: u64,
}

impl WorkerCommand {
    /// The shell line `sbatch --wrap` runs; the worker is named after its Slurm job, so
    /// the operator's list of workers says which Slurm job each one was.
    pub fn wrap(&self) -> String {
        let mut words = vec![
            "exec".to_owned(),
            quote(&self.jiebang.to_string_lossy()),
            "worker".to_owned(),
            "--once".to_owned(),
            "--wait".to_owned(),
            self.wait_seconds.to_string(),
            "--platform".to_owned(),
            quote(&self.platform),
            "--name".to_owned(),
            "\"slurm-$SLURM_JOB_ID\"".to_owned(),
        ];
        if let Some(file) = &self.token_file {
            words.push("--token-file".to_owned());
            words.push(quote(&file.to_string_lossy()));
        }
        words.extend(self.args.iter().map(|a| quote(a)));
        words.join(" ")
    }
}

/// `text` as one word for `sh`: single-quoted, each `'` written as `'\''`.
pub fn quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// The arguments of `sbatch` for a worker asking for `gres`, named after `job`. Only the
/// named variables reach the job (never the platform's whole environment, which may hold
/// a database password); the token, when it travels this way, is one of them.
pub fn sbatch_args(
    settings: &SlurmSettings,
    worker: &WorkerCommand,
    output_dir: &Path,
    job: &str,
    gres: &str,
) -> Vec<String> {
    let mut exported = vec!["PATH", "HOME", "LANG"];
    if worker.token_file.is_none() {
        exported.push(TOKEN_VARIABLE);
    }
    let mut args = vec![
        "--parsable".to_owned(),
        format!("--job-name=jiebang-{job}"),
        format!("--gres={gres}"),
        format!("--chdir={}", output_dir.display()),
        format!("--output={}", output_dir.join("jiebang-%j.out").display()),
        format!("--export={}", exported.join(",")),
    ];
    if let Some(partition) = &settings.partition {
        args.push(format!("--partition={partition}"));
    }
    args.push("--wrap".to_owned());
    args.push(worker.wrap());
    args
}

/// Slurm's job id in what `sbatch --parsable` printed (`1234`, or `1234;cluster`).
pub fn parse_sbatch(printed: &str) -> Result<String, String> {
    let line = printed.lines().map(str::trim).find(|l| !l.is_empty());
    let id = line.and_then(|l| l.split(';').next()).unwrap_or_default();
    if !id.is_empty() && id.chars().all(|c| c.is_ascii_digit()) {
        Ok(id.to_owned())
    } else {
        Err(format!("sbatch printed no job id: `{}`", printed.trim()))
    }
}

/// Each job `squeue --format=%i|%T` listed: Slurm job id → its state (`RUNNING`).
pub fn parse_squeue(printed: &str) -> HashMap<String, String> {
    printed
        .lines()
        .filter_map(|line| line.trim().split_once('|'))
        .map(|(id, state)| (id.trim().to_owned(), state.trim().to_owned()))
        .filter(|(id, state)| !id.is_empty() && !state.is_empty())
        .collect()
}

/// Whether a state Slurm reports is final: the worker has ended and holds nothing.
pub fn has_ended(state: &str) -> bool {
    matches!(
        state,
        "COMPLETED"
            | "CANCELLED"
            | "FAILED"
            | "TIMEOUT"
            | "NODE_FAIL"
            | "PREEMPTED"
            | "BOOT_FAIL"
            | "DEADLINE"
            | "OUT_OF_MEMORY"
            | "REVOKED"
            | "SPECIAL_EXIT"
    )
}

/// Runs `program` with `args` (and `token` as [`TOKEN_VARIABLE`] when given); its
/// standard output, or an error naming the program and what it wrote to standard error.
fn run(program: &Path, args: &[String], token: Option<&str>) -> Result<String, AppError> {
    let mut command = Command::new(program);
    command.args(args);
    if let Some(token) = token {
        command.env(TOKEN_VARIABLE, token);
    }
    let output = command
        .output()
        .map_err(|e| AppError::Unavailable(format!("cannot run {}: {e}", program.display())))?;
    if !output.status.success() {
        return Err(AppError::Unavailable(format!(
            "{} failed ({}): {}",
            program.display(),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// Submits a worker; Slurm's job id.
pub fn sbatch(
    settings: &SlurmSettings,
    args: &[String],
    token: Option<&str>,
) -> Result<String, AppError> {
    let printed = run(&settings.sbatch, args, token)?;
    parse_sbatch(&printed).map_err(AppError::Unavailable)
}

/// Every job Slurm still knows, with its state.
pub fn squeue(settings: &SlurmSettings) -> Result<HashMap<String, String>, AppError> {
    let args = ["--noheader", "--states=all", "--format=%i|%T"].map(str::to_owned);
    run(&settings.squeue, &args, None).map(|printed| parse_squeue(&printed))
}

/// Withdraws a worker.
pub fn scancel(settings: &SlurmSettings, slurm_job_id: &str) -> Result<(), AppError> {
    run(&settings.scancel, &[slurm_job_id.to_owned()], None).map(drop)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn worker(token_file: Option<&str>) -> WorkerCommand {
        WorkerCommand {
            jiebang: "/opt/jiebang/bin/jiebang".into(),
            platform: "http://10.0.0.1:8080".to_owned(),
            token_file: token_file.map(PathBuf::from),
            args: vec!["--config".to_owned(), "/etc/it's/worker.toml".to_owned()],
            wait_seconds: 90,
        }
    }

    #[test]
    fn the_worker_line_runs_once_and_quotes_every_word() {
        assert_eq!(
            worker(None).wrap(),
            "exec '/opt/jiebang/bin/jiebang' worker --once --wait 90 --platform \
             'http://10.0.0.1:8080' --name \"slurm-$SLURM_JOB_ID\" '--config' \
             '/etc/it'\\''s/worker.toml'"
        );
        assert!(
            worker(Some("/shared/jiebang/token"))
                .wrap()
                .contains("--token-file '/shared/jiebang/token'")
        );
    }

    #[test]
    fn sbatch_gets_the_gres_the_partition_and_only_named_variables() {
        let settings = SlurmSettings {
            partition: Some("accel".to_owned()),
            ..SlurmSettings::default()
        };
        let args = sbatch_args(
            &settings,
            &worker(None),
            Path::new("/srv/out"),
            "job1",
            "gpu:1",
        );
        assert_eq!(
            &args[..7],
            [
                "--parsable",
                "--job-name=jiebang-job1",
                "--gres=gpu:1",
                "--chdir=/srv/out",
                "--output=/srv/out/jiebang-%j.out",
                "--export=PATH,HOME,LANG,JIEBANG_WORKER_TOKEN",
                "--partition=accel",
            ]
        );
        assert_eq!(args[7], "--wrap");
        let with_file = sbatch_args(
            &SlurmSettings::default(),
            &worker(Some("/shared/token")),
            Path::new("/srv/out"),
            "job1",
            "gpu:a100:2",
        );
        assert!(with_file.contains(&"--export=PATH,HOME,LANG".to_owned()));
        assert!(with_file.contains(&"--gres=gpu:a100:2".to_owned()));
        assert!(!with_file.iter().any(|a| a.starts_with("--partition")));
    }

    #[test]
    fn what_the_programs_print_is_read() {
        assert_eq!(parse_sbatch("42\n").unwrap(), "42");
        assert_eq!(parse_sbatch("42;cluster-a\n").unwrap(), "42");
        assert!(parse_sbatch("sbatch: error: Batch job submission failed").is_err());
        let listed = parse_squeue("1|COMPLETED\n 2|RUNNING \n3|PENDING\ngarbage\n");
        assert_eq!(listed.len(), 3);
        assert_eq!(listed["2"], "RUNNING");
        assert!(has_ended("COMPLETED") && has_ended("NODE_FAIL") && has_ended("CANCELLED"));
        assert!(!has_ended("PENDING") && !has_ended("RUNNING") && !has_ended("COMPLETING"));
    }
}
