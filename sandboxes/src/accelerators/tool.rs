//! Vendor command-line tools (`nvidia-smi`, `cnmon`, `npu-smi`): found on `PATH` or where
//! the vendor installs them, run with a deadline, their output returned as text; the rows
//! of their boxed tables split into cells.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A tool stuck in the driver (a hung device) must not stall the worker.
const DEADLINE: Duration = Duration::from_secs(10);

/// `name` on `PATH`, else in one of `places` (vendors' install folders, not always on
/// `PATH`).
pub fn find(name: &str, places: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .chain(places.iter().map(|dir| Path::new(dir).join(name)))
        .find(|candidate| candidate.is_file())
}

/// Runs `program` with `args`; its standard output, or why there is none.
pub fn run(program: &Path, args: &[&str]) -> Result<String, String> {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("{} cannot be run: {e}", program.display()))?;
    let mut stdout = child.stdout.take();
    // Read on a thread: a tool that fills the pipe would otherwise never exit.
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        if let Some(out) = stdout.as_mut() {
            let _ = out.read_to_string(&mut text);
        }
        text
    });
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if started.elapsed() < DEADLINE => {
                std::thread::sleep(Duration::from_millis(20));
            }
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "{} did not answer within {} s",
                    program.display(),
                    DEADLINE.as_secs()
                ));
            }
            Err(e) => return Err(format!("{}: {e}", program.display())),
        }
    };
    let text = reader.join().unwrap_or_default();
    if status.success() {
        Ok(text)
    } else {
        Err(format!("{} failed ({status})", program.display()))
    }
}

/// A row of a vendor tool's boxed table (`| 0  /  MLU370-X8 | … |`): the text between the
/// `|` separators, trimmed; nothing for a rule line (`+----+`).
pub fn cells(line: &str) -> Vec<&str> {
    let line = line.trim();
    if !line.starts_with('|') {
        return Vec::new();
    }
    line.trim_matches('|').split('|').map(str::trim).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_real_program_answers_and_a_missing_one_is_named() {
        let echo = find("echo", &["/bin"]);
        assert!(echo.is_some());
        if let Some(echo) = echo {
            assert_eq!(run(&echo, &["a", "b"]).as_deref(), Ok("a b\n"));
        }
        assert!(find("no-such-vendor-tool", &["/nowhere"]).is_none());
        let missing = run(Path::new("/nowhere/cnmon"), &[]);
        assert!(missing.is_err_and(|e| e.contains("/nowhere/cnmon")));
    }
}
