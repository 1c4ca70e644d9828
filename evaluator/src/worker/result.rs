//! The result a worker sends, made to fit the platform's limit whatever the logs hold:
//! control characters shown two bytes wide rather than escaped six, every text capped.

use crate::pipeline::Evaluation;
use crate::protocol::{MAX_RESULT_BODY, Outcome, ResultBody};

/// JSON bytes each log may take when the report leaves room for it.
pub const LOG_BUDGET: usize = 3 << 20;

/// Bytes a failure's reason may take: it is read by people, never parsed.
pub const REASON_BUDGET: usize = 16 << 10;

/// Room kept for the body's own keys and the worker id.
const SLACK: usize = 64 << 10;

/// JSON bytes the hidden run's per-item pairs may take (a few hundred thousand items);
/// past it they are left out, and the result simply has no tie information.
pub const BOARD_ITEMS_BUDGET: usize = 4 << 20;

/// The marker put where a log was cut to fit the result.
pub const CUT: &str = "\n[jiebang: log cut here to fit the result]\n";

/// The body of `POST /internal/v1/jobs/{id}/result`, its JSON always within
/// [`MAX_RESULT_BODY`].
pub fn result_body(worker: &str, outcome: Outcome, evaluation: Option<Evaluation>) -> ResultBody {
    let outcome = match outcome {
        Outcome::SubmissionFailed(reason) => {
            Outcome::SubmissionFailed(fit_text(reason.as_bytes(), REASON_BUDGET))
        }
        Outcome::InfrastructureFailed(reason) => {
            Outcome::InfrastructureFailed(fit_text(reason.as_bytes(), REASON_BUDGET))
        }
        Outcome::Disturbed(reason) => {
            Outcome::Disturbed(fit_text(reason.as_bytes(), REASON_BUDGET))
        }
        Outcome::Finished => Outcome::Finished,
    };
    let Some(mut evaluation) = evaluation else {
        return ResultBody {
            worker_id: worker.to_owned(),
            outcome,
            report: None,
            sample_logs: None,
            hidden_logs: None,
            board_items: None,
        };
    };
    // Out of the report before it is measured or sent: the report is the team's to read.
    let board_items = evaluation
        .report
        .hidden
        .as_mut()
        .and_then(|run| run.scores.items.take());
    let items_bytes = board_items
        .as_ref()
        .and_then(|items| serde_json::to_vec(items).ok())
        .map_or(0, |encoded| encoded.len());
    let (board_items, items_bytes) = if items_bytes > BOARD_ITEMS_BUDGET {
        tracing::warn!(
            bytes = items_bytes,
            "the per-item pairs are too large to send; this result will have no tie information"
        );
        (None, 0)
    } else {
        (board_items, items_bytes)
    };
    if let Some(failure) = &evaluation.report.failure {
        evaluation.report.failure = Some(fit_text(failure.as_bytes(), REASON_BUDGET));
    }
    let report_bytes = serde_json::to_vec(&evaluation.report).map_or(MAX_RESULT_BODY, |r| r.len());
    let room =
        MAX_RESULT_BODY.saturating_sub(report_bytes + items_bytes + 2 * REASON_BUDGET + SLACK);
    let budget = LOG_BUDGET.min(room / 2);
    ResultBody {
        worker_id: worker.to_owned(),
        outcome,
        sample_logs: Some(fit_text(&evaluation.sample_logs, budget)),
        hidden_logs: Some(fit_text(&evaluation.hidden_logs, budget)),
        report: Some(evaluation.report),
        board_items,
    }
}

/// `bytes` as text whose JSON string form takes at most `budget` bytes: invalid UTF-8
/// replaced, control characters other than newline, tab and carriage return written in
/// caret notation (`^@`, `^[`, as `cat -v` does), and the rest cut with [`CUT`].
pub fn fit_text(bytes: &[u8], budget: usize) -> String {
    let text = String::from_utf8_lossy(bytes);
    let marker = CUT.chars().map(json_width).sum::<usize>();
    let mut fitted = String::with_capacity(text.len().min(budget));
    let mut used = 2; // the quotes
    for c in text.chars() {
        let shown = caret(c);
        let width: usize = shown.iter().flatten().map(|c| json_width(*c)).sum();
        if used + width + marker > budget {
            if budget >= used + marker {
                fitted.push_str(CUT);
            }
            return fitted;
        }
        used += width;
        fitted.extend(shown.iter().flatten());
    }
    fitted
}

/// A character as it is shown: itself, or `^` and a letter for a control character.
fn caret(c: char) -> [Option<char>; 2] {
    match c {
        '\n' | '\t' | '\r' => [Some(c), None],
        '\0'..='\x1f' => [Some('^'), char::from_u32(c as u32 + 0x40)],
        _ => [Some(c), None],
    }
}

/// Bytes `c` takes inside a JSON string as serde_json writes it.
fn json_width(c: char) -> usize {
    match c {
        '"' | '\\' | '\n' | '\t' | '\r' | '\u{8}' | '\u{c}' => 2,
        '\0'..='\x1f' => 6,
        _ => c.len_utf8(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::protocol::report::{Environment, Report};

    fn evaluation(logs: Vec<u8>) -> Evaluation {
        Evaluation {
            report: Report {
                scenario_id: "kg-parcel-eta".into(),
                image: "sha256:0123".into(),
                sample: None,
                hidden: None,
                failure: Some("\u{1}".repeat(1 << 20)),
                notes: Vec::new(),
                environment: Environment {
                    cpu_model: "test".into(),
                    cores: 2,
                    kernel: "6.1".into(),
                    harness_version: "0".into(),
                    split_seed: 1,
                    load_seed: 2,
                },
                device_seconds: 0.0,
                devices: Vec::new(),
                accelerators: Vec::new(),
                utilisation: Vec::new(),
            },
            sample_logs: logs.clone(),
            hidden_logs: logs,
        }
    }

    #[test]
    fn logs_full_of_control_characters_still_fit_the_limit() {
        // What the sandbox keeps of each run (1 MiB and its cut marker), every byte a
        // control character: sent as before (JSON escapes of six bytes) it took 12 MiB.
        let mut logs: Vec<u8> = (0u8..32).cycle().take((1 << 20) + 64).collect();
        logs.extend_from_slice(b"\xff\xfe invalid UTF-8 \"quoted\" \\ end");
        let escaped = serde_json::to_vec(&String::from_utf8_lossy(&logs)).unwrap();
        assert!(
            2 * escaped.len() > MAX_RESULT_BODY,
            "the old way overflowed"
        );

        let reason = Outcome::SubmissionFailed("\u{0}".repeat(1 << 20));
        let body = result_body("worker-1", reason, Some(evaluation(logs)));
        let sent = serde_json::to_vec(&body).unwrap();
        assert!(sent.len() < MAX_RESULT_BODY, "{} bytes", sent.len());
        let sample = body.sample_logs.unwrap();
        assert!(sample.starts_with("^@^A^B"), "{}", &sample[..16]);
        assert!(
            sample.contains("\n^K^L\r^N"),
            "newlines and returns are kept"
        );
        assert!(!sample.contains('\u{1}'));
        let back: ResultBody = serde_json::from_slice(&sent).unwrap();
        assert_eq!(back.sample_logs.as_deref(), Some(sample.as_str()));
    }

    #[test]
    fn a_log_past_its_budget_is_cut_with_a_marker() {
        let text = fit_text("\"quote\" ".repeat(1000).as_bytes(), 1000);
        assert!(text.ends_with(CUT));
        assert!(serde_json::to_vec(&text).unwrap().len() <= 1000);
        assert_eq!(fit_text(b"short\nlog", 1000), "short\nlog");
        assert_eq!(fit_text(b"anything", 4), "", "no room even for the marker");
    }
}
