//! The team's side of the command line: `submit`, `report attach`, `status`, `logs` and
//! `leaderboard`, talking to a platform over HTTP.

use std::path::PathBuf;
use std::process::Stdio;

use clap::Args;
use futures_util::{StreamExt, TryStreamExt};
use serde::Deserialize;

use jiebang_evaluator::protocol::report::Report;

use crate::error::AppError;

/// Where the platform is and who is calling: flags, then environment, then the file.
#[derive(Debug, Clone, Args)]
pub struct Connection {
    /// The platform's URL (or JIEBANG_PLATFORM, or `platform` in the client file).
    #[arg(long, env = "JIEBANG_PLATFORM")]
    pub platform: Option<String>,
    /// The API token (or JIEBANG_TOKEN, or `token` in the client file).
    #[arg(long, env = "JIEBANG_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// The client file (default ~/.config/jiebang/client.toml).
    #[arg(long, env = "JIEBANG_CLIENT_CONFIG")]
    pub client_config: Option<PathBuf>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ClientFile {
    platform: Option<String>,
    token: Option<String>,
}

/// A resolved connection: the base URL and the token (none for what anyone may read).
pub struct Client {
    base: String,
    token: Option<String>,
    http: reqwest::Client,
}

impl Connection {
    /// The connection, which must carry a token.
    pub fn resolve(&self) -> Result<Client, AppError> {
        let client = self.resolve_public()?;
        if client.token.is_none() {
            return Err(AppError::Config(
                "no API token: pass --token, set JIEBANG_TOKEN, or put `token` in the client file"
                    .into(),
            ));
        }
        Ok(client)
    }

    /// The connection for what needs no sign-in (a public board, a scenario's rules and
    /// samples): the token is sent when there is one.
    pub fn resolve_public(&self) -> Result<Client, AppError> {
        let path = self.client_config.clone().or_else(|| {
            std::env::var_os("HOME")
                .map(|home| PathBuf::from(home).join(".config/jiebang/client.toml"))
        });
        let file = match path {
            Some(path) if path.is_file() => {
                let text = std::fs::read_to_string(&path).map_err(|e| {
                    AppError::Config(format!("cannot read {}: {e}", path.display()))
                })?;
                toml::from_str(&text)
                    .map_err(|e| AppError::Config(format!("{}: {e}", path.display())))?
            }
            _ => ClientFile::default(),
        };
        let base = self
            .platform
            .clone()
            .or(file.platform)
            .unwrap_or_else(|| "http://127.0.0.1:8080".to_owned());
        let token = self.token.clone().or(file.token);
        Ok(Client {
            base: base.trim_end_matches('/').to_owned(),
            token,
            http: reqwest::Client::new(),
        })
    }
}

impl Client {
    async fn answer(response: reqwest::Response) -> Result<serde_json::Value, AppError> {
        let status = response.status();
        let body: serde_json::Value = response.json().await.unwrap_or(serde_json::Value::Null);
        if status.is_success() {
            Ok(body)
        } else {
            let message = body["error"]["message"].as_str().unwrap_or("no details");
            Err(AppError::Unavailable(format!(
                "the platform answered {status}: {message}"
            )))
        }
    }

    /// `request` with the token, when there is one.
    fn authorised(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    }

    async fn fetch(&self, path: &str) -> Result<reqwest::Response, AppError> {
        self.authorised(self.http.get(format!("{}{path}", self.base)))
            .send()
            .await
            .map_err(|e| AppError::Unavailable(format!("cannot reach {}: {e}", self.base)))
    }

    pub async fn get(&self, path: &str) -> Result<serde_json::Value, AppError> {
        Self::answer(self.fetch(path).await?).await
    }

    /// A text answer (logs), or the error the platform gave.
    pub async fn get_text(&self, path: &str) -> Result<String, AppError> {
        let response = self.fetch(path).await?;
        if response.status().is_success() {
            return response
                .text()
                .await
                .map_err(|e| AppError::Unavailable(format!("reading the answer: {e}")));
        }
        Self::answer(response).await.map(|_| String::new())
    }

    /// The caller's only team, or the one named.
    async fn team(&self, named: Option<String>) -> Result<String, AppError> {
        if let Some(team) = named {
            return Ok(team);
        }
        let me = self.get("/api/v1/me").await?;
        let teams = me["teams"].as_array().cloned().unwrap_or_default();
        match teams.as_slice() {
            [only] => Ok(only["id"].as_str().unwrap_or_default().to_owned()),
            [] => Err(AppError::Config(
                "you are in no team; create or join one first".into(),
            )),
            several => Err(AppError::Config(format!(
                "you are in several teams; pass --team with one of: {}",
                several
                    .iter()
                    .map(|t| format!(
                        "{} ({})",
                        t["id"].as_str().unwrap_or(""),
                        t["name"].as_str().unwrap_or("")
                    ))
                    .collect::<Vec<_>>()
                    .join(", ")
            ))),
        }
    }
}

/// `jiebang submit`: `docker save`s the image and streams it to the platform.
pub async fn submit(
    client: &Client,
    scenario: &str,
    team: Option<String>,
    image: &str,
) -> Result<(), AppError> {
    let team = client.team(team).await?;
    let mut docker = tokio::process::Command::new("docker")
        .args(["save", image])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| AppError::Config(format!("cannot run `docker save`: {e}")))?;
    let stdout = docker
        .stdout
        .take()
        .ok_or_else(|| AppError::Internal("docker save has no output".into()))?;
    let progress = indicatif::ProgressBar::new_spinner();
    progress.set_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} uploading {bytes} ({bytes_per_sec}) {elapsed}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
    );
    let counter = progress.clone();
    let archive =
        tokio_util::io::ReaderStream::with_capacity(stdout, 1 << 20).inspect_ok(move |chunk| {
            counter.inc(chunk.len() as u64);
        });
    // When `docker save` fails, the body ends in an error instead of a clean end, so the
    // upload is cut off and the platform stores nothing.
    let image_name = image.to_owned();
    let verdict = futures_util::stream::once(async move {
        let saved = docker.wait_with_output().await?;
        if saved.status.success() {
            Ok(None)
        } else {
            Err(std::io::Error::other(format!(
                "docker save {image_name} failed: {}",
                String::from_utf8_lossy(&saved.stderr).trim()
            )))
        }
    })
    .try_filter_map(|nothing: Option<bytes::Bytes>| futures_util::future::ready(Ok(nothing)));
    let failure = std::sync::Arc::new(std::sync::Mutex::new(None::<String>));
    let failure_seen = std::sync::Arc::clone(&failure);
    let body = archive.chain(verdict).inspect_err(move |error| {
        if let Ok(mut slot) = failure_seen.lock() {
            *slot = Some(error.to_string());
        }
    });
    let upload = client
        .authorised(client.http.post(format!(
            "{}/api/v1/scenarios/{scenario}/submissions",
            client.base
        )))
        .query(&[("team_id", &team)])
        .header("Content-Type", "application/x-tar")
        .body(reqwest::Body::wrap_stream(body))
        .send()
        .await;
    progress.finish_and_clear();
    if let Some(message) = failure.lock().ok().and_then(|slot| slot.clone()) {
        return Err(AppError::Config(message));
    }
    let response = upload
        .map_err(|e| AppError::Unavailable(format!("upload to {} failed: {e}", client.base)))?;
    let body = Client::answer(response).await?;
    let submission = &body["submission"];
    println!("submission {}", submission["id"].as_str().unwrap_or("?"));
    println!(
        "image {} ({} bytes), status {}",
        submission["image_digest"].as_str().unwrap_or("?"),
        submission["image_size"],
        submission["status"].as_str().unwrap_or("?")
    );
    println!(
        "quota: {} of {} left today (resets {})",
        body["quota"]["remaining"],
        body["quota"]["daily_quota"],
        body["quota"]["resets_at"].as_str().unwrap_or("?")
    );
    Ok(())
}

/// `jiebang report attach`: uploads a PDF as a submission's technical report. The platform
/// checks the content; the file is read whole (reports are capped at a few MiB).
pub async fn attach_report(
    client: &Client,
    submission: &str,
    file: &std::path::Path,
) -> Result<(), AppError> {
    let bytes = tokio::fs::read(file)
        .await
        .map_err(|e| AppError::Config(format!("cannot read {}: {e}", file.display())))?;
    let response = client
        .authorised(client.http.put(format!(
            "{}/api/v1/submissions/{submission}/technical-report",
            client.base
        )))
        .header("Content-Type", "application/pdf")
        .body(bytes)
        .send()
        .await
        .map_err(|e| AppError::Unavailable(format!("upload to {} failed: {e}", client.base)))?;
    let body = Client::answer(response).await?;
    println!(
        "technical report of submission {submission}: {} bytes, attached {}",
        body["size"],
        body["uploaded_at"].as_str().unwrap_or("?")
    );
    Ok(())
}

/// `jiebang status`: one submission's stages, or the team's recent submissions.
pub async fn status(
    client: &Client,
    submission: Option<String>,
    team: Option<String>,
) -> Result<(), AppError> {
    if let Some(id) = submission {
        let detail = client.get(&format!("/api/v1/submissions/{id}")).await?;
        println!(
            "{}  {}  {}",
            detail["id"].as_str().unwrap_or("?"),
            detail["scenario_id"].as_str().unwrap_or("?"),
            detail["status"].as_str().unwrap_or("?")
        );
        for stage in detail["stages"].as_array().into_iter().flatten() {
            println!(
                "  {}  {}",
                stage["at"].as_str().unwrap_or(""),
                stage["stage"].as_str().unwrap_or("")
            );
        }
        if matches!(detail["status"].as_str(), Some("done" | "failed")) {
            // A submission refused before it ran (or failed by the platform) has no report.
            let report = client
                .get(&format!("/api/v1/submissions/{id}/report"))
                .await
                .ok()
                .and_then(|mut body| serde_json::from_value::<Report>(body["report"].take()).ok());
            if let Some(report) = report {
                print!("{}", report.to_text());
            }
        }
        if let Some(failure) = detail["failure"].as_str() {
            println!("failed: {failure}");
            println!("the sample run's output may say why: jiebang logs {id}");
        }
        return Ok(());
    }
    let team = client.team(team).await?;
    let listing = client
        .get(&format!("/api/v1/teams/{team}/submissions"))
        .await?;
    for item in listing["items"].as_array().into_iter().flatten() {
        println!(
            "{}  {}  {:<10}  {}",
            item["created_at"].as_str().unwrap_or(""),
            item["id"].as_str().unwrap_or(""),
            item["status"].as_str().unwrap_or(""),
            item["scenario_id"].as_str().unwrap_or("")
        );
    }
    Ok(())
}

/// `jiebang logs`: what a submission's container printed during a run, as it was stored.
pub async fn logs(client: &Client, submission: &str, run: LogRun) -> Result<(), AppError> {
    let run = match run {
        LogRun::Sample => "sample",
        LogRun::Hidden => "hidden",
    };
    let text = client
        .get_text(&format!("/api/v1/submissions/{submission}/logs/{run}"))
        .await?;
    if text.is_empty() {
        eprintln!("the {run} run of {submission} printed nothing");
    }
    print!("{text}");
    Ok(())
}

/// Which run's logs `jiebang logs` shows.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum LogRun {
    /// The public sample run: the team's to read.
    Sample,
    /// The hidden run: judges and operators only.
    Hidden,
}

/// `jiebang leaderboard`: a scenario's board as a table.
pub async fn leaderboard(client: &Client, scenario: &str, private: bool) -> Result<(), AppError> {
    let board = if private { "private" } else { "public" };
    let body = client
        .get(&format!(
            "/api/v1/scenarios/{scenario}/leaderboard?board={board}"
        ))
        .await?;
    println!(
        "{} — {} board, {} ({} is better), phase {} closes {}",
        scenario,
        board,
        body["metric"].as_str().unwrap_or("?"),
        body["direction"].as_str().unwrap_or("?"),
        body["phase_id"].as_str().unwrap_or("?"),
        body["phase_closes_at"].as_str().unwrap_or("?")
    );
    println!(
        "{:>4}  {:<28} {:>10}  {:>19}  {:>11}  {:>12}  budget",
        "rank", "team", "score", "95% interval", "items", "latency ms"
    );
    let mut any_tied = false;
    for row in body["rows"].as_array().into_iter().flatten() {
        let interval = match (row["low"].as_f64(), row["high"].as_f64()) {
            (Some(low), Some(high)) => format!("[{low:.4}, {high:.4}]"),
            _ => String::new(),
        };
        // Items scored of the items in the board's part: equal for every finished run.
        let items = match (row["items"].as_i64(), row["items_in_set"].as_i64()) {
            (Some(scored), Some(in_set)) => format!("{scored}/{in_set}"),
            _ => "—".to_owned(),
        };
        // "≈": statistically tied with the row above.
        let tied = row["tied_with_above"].as_bool().unwrap_or(false);
        any_tied |= tied;
        let verdict = match (
            row["within_budget"].as_bool().unwrap_or(false),
            row["verdict_uncertain"].as_bool().unwrap_or(false),
        ) {
            (true, false) => "within",
            (true, true) => "within (uncertain)",
            (false, false) => "OVER",
            (false, true) => "OVER (uncertain)",
        };
        println!(
            "{}{:>3}  {:<28} {:>10.4}  {:>19}  {:>11}  {:>12.2}  {verdict}",
            if tied { "≈" } else { " " },
            row["rank"],
            row["team_name"].as_str().unwrap_or(""),
            row["score"].as_f64().unwrap_or(f64::NAN),
            interval,
            items,
            row["latency_ms"].as_f64().unwrap_or(0.0),
        );
    }
    if any_tied {
        println!("≈ statistically tied with the row above (95 % paired bootstrap)");
    }
    Ok(())
}
