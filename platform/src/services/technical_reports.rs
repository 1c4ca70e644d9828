//! Technical reports: a team's PDF for its final-phase submission — checked by content,
//! attached while the final phase is open, read only by the team, the scenario's panel and
//! its department.

use serde::Serialize;

use crate::auth::CurrentUser;
use crate::db::DbConnection;
use crate::db::ids::{SubmissionId, TeamId};
use crate::db::models::scenarios::{self, Scenario};
use crate::db::models::submissions::{self, Submission};
use crate::db::models::technical_reports::{self, TechnicalReport};
use crate::db::models::{audit, judging as judging_rows, teams};
use crate::db::now_millis;
use crate::error::AppError;
use crate::services::judging::final_phase;
use crate::storage::StoredBlob;
use crate::time::iso_time;

/// How far from the end `%%EOF` and `startxref` may sit: PDF readers look this far back.
const TRAILER_WINDOW: usize = 1024;

/// A stored report as the team, the panel and the department see it.
#[derive(Debug, Clone, Serialize)]
pub struct ReportLink {
    pub submission_id: SubmissionId,
    pub size: i64,
    pub uploaded_at: String,
    /// Where the PDF is served (`GET`, for those who may read it).
    pub url: String,
}

impl From<&TechnicalReport> for ReportLink {
    fn from(report: &TechnicalReport) -> Self {
        Self {
            submission_id: report.submission_id.clone(),
            size: report.size,
            uploaded_at: iso_time(report.uploaded_at),
            url: url_of(&report.submission_id),
        }
    }
}

/// The API path that serves a submission's report.
pub fn url_of(submission: &SubmissionId) -> String {
    format!("/api/v1/submissions/{submission}/technical-report")
}

fn not_a_pdf(what: impl std::fmt::Display) -> AppError {
    AppError::unacceptable(
        "not_a_pdf",
        format!("the technical report must be a PDF file: {what}"),
    )
}

/// Whether `bytes` is a PDF as a reader would open it: the `%PDF-1.x`/`%PDF-2.x` header
/// first, and at the end a `startxref` pointing inside the file and the `%%EOF` marker.
/// The content decides, whatever the name or declared type said.
pub fn check_pdf(bytes: &[u8]) -> Result<(), AppError> {
    if bytes.is_empty() {
        return Err(not_a_pdf("the upload is empty"));
    }
    let header_ok = bytes.starts_with(b"%PDF-")
        && matches!(bytes.get(5), Some(b'1' | b'2'))
        && bytes.get(6) == Some(&b'.')
        && bytes.get(7).is_some_and(u8::is_ascii_digit);
    if !header_ok {
        let start: String = bytes
            .iter()
            .take(8)
            .flat_map(|b| std::ascii::escape_default(*b))
            .map(char::from)
            .collect();
        return Err(not_a_pdf(format_args!(
            "it does not start with a `%PDF-1.x` or `%PDF-2.x` header (it starts with `{start}`)"
        )));
    }
    let tail_start = bytes.len().saturating_sub(TRAILER_WINDOW);
    let tail = &bytes[tail_start..];
    let eof = find_last(tail, b"%%EOF")
        .ok_or_else(|| not_a_pdf("it has no `%%EOF` marker at its end (cut off, or not a PDF)"))?;
    let startxref = find_last(&tail[..eof], b"startxref")
        .ok_or_else(|| not_a_pdf("its trailer has no `startxref` before `%%EOF`"))?;
    let after = &tail[startxref + b"startxref".len()..eof];
    let digits: String = after
        .iter()
        .map(|b| char::from(*b))
        .skip_while(char::is_ascii_whitespace)
        .take_while(char::is_ascii_digit)
        .collect();
    match digits.parse::<usize>() {
        Ok(offset) if offset < bytes.len() => Ok(()),
        Ok(offset) => Err(not_a_pdf(format_args!(
            "its `startxref` points to byte {offset}, past the end of the {}-byte file",
            bytes.len()
        ))),
        Err(_) => Err(not_a_pdf(
            "its `startxref` is not followed by a byte offset",
        )),
    }
}

fn find_last(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .rposition(|window| window == needle)
}

fn submission_of(
    conn: &mut DbConnection,
    id: &SubmissionId,
) -> Result<(Submission, Scenario), AppError> {
    let missing = || AppError::missing("submission", id);
    let submission = submissions::find(conn, id)?.ok_or_else(missing)?;
    let scenario = scenarios::find(conn, &submission.scenario_id)?.ok_or_else(missing)?;
    Ok((submission, scenario))
}

/// The submission, if `user` may attach a report to it now: a member of its team, while the
/// final phase is open and the submission belongs to it. Checked before the body is read
/// and again when it is recorded.
pub fn may_attach(
    conn: &mut DbConnection,
    user: &CurrentUser,
    id: &SubmissionId,
) -> Result<Submission, AppError> {
    let (submission, scenario) = submission_of(conn, id)?;
    if teams::role_of(conn, &submission.team_id, &user.id)?.is_none() {
        if user.sees_all_work() {
            return Err(AppError::forbidden(
                "team_members_only",
                format!(
                    "only members of team `{}` may attach its technical report",
                    submission.team_id
                ),
            )
            .with("team", &submission.team_id));
        }
        // Another team's submission does not exist as far as this caller knows.
        return Err(AppError::missing("submission", id));
    }
    let phase = final_phase(conn, &scenario)?;
    if submission.phase_id != phase.id {
        return Err(AppError::conflict(
            "not_final_phase",
            format!(
                "a technical report goes with a submission of the final phase `{}`; \
                 submission `{id}` belongs to an earlier phase",
                phase.name
            ),
        )
        .with("phase", &phase.name)
        .with("submission", id));
    }
    if now_millis() >= phase.closes_at {
        return Err(AppError::conflict(
            "phase_closed",
            format!(
                "technical reports are attached before the final phase closes; it closed at {}",
                iso_time(phase.closes_at)
            ),
        )
        .with("closes_at", iso_time(phase.closes_at))
        .with("rule", "technical_report"));
    }
    Ok(submission)
}

/// Records the stored PDF as the submission's report (replacing an earlier one); true when
/// it is the submission's first.
pub fn attach(
    conn: &mut DbConnection,
    user: &CurrentUser,
    id: &SubmissionId,
    blob: &StoredBlob,
) -> Result<(ReportLink, bool), AppError> {
    let submission = may_attach(conn, user, id)?;
    let report = TechnicalReport {
        submission_id: submission.id.clone(),
        scenario_id: submission.scenario_id.clone(),
        team_id: submission.team_id.clone(),
        digest: blob.digest.clone(),
        size: i64::try_from(blob.size).unwrap_or(i64::MAX),
        uploaded_by: Some(user.id.clone()),
        uploaded_at: now_millis(),
    };
    let created = technical_reports::put(conn, &report)?;
    audit::record(
        conn,
        Some(&user.id),
        "technical_report.attach",
        "submission",
        submission.id.as_str(),
        serde_json::json!({
            "team_id": submission.team_id,
            "digest": report.digest,
            "size": report.size,
            "replaced": !created,
        }),
    )?;
    Ok((ReportLink::from(&report), created))
}

/// The submission's report, for its team, the scenario's department (or an admin) and the
/// judges on the scenario's panel; 404 for anyone else, as if there were none.
pub fn readable(
    conn: &mut DbConnection,
    user: &CurrentUser,
    id: &SubmissionId,
) -> Result<TechnicalReport, AppError> {
    let missing = || AppError::missing("technical_report", id);
    let (submission, scenario) = submission_of(conn, id).map_err(|_| missing())?;
    let allowed = user.is_admin()
        || user.works_for(&scenario.organization_id)
        || teams::role_of(conn, &submission.team_id, &user.id)?.is_some()
        || judging_rows::membership(conn, &scenario.id, &user.id)?.is_some();
    if !allowed {
        return Err(missing());
    }
    technical_reports::find(conn, id)?.ok_or_else(missing)
}

/// Each finalist team's latest report in the final phase, for the judges' and the
/// department's pages.
pub fn latest_by_team(
    conn: &mut DbConnection,
    scenario: &Scenario,
) -> Result<Vec<(TeamId, ReportLink)>, AppError> {
    let phase = final_phase(conn, scenario)?;
    Ok(
        technical_reports::latest_in_phase(conn, &scenario.id, &phase.id)?
            .iter()
            .map(|r| (r.team_id.clone(), ReportLink::from(r)))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn pdf(body: &str) -> Vec<u8> {
        format!("%PDF-1.7\n{body}\nxref\n0 1\ntrailer\n<<>>\nstartxref\n9\n%%EOF\n").into_bytes()
    }

    #[test]
    fn a_pdf_is_known_by_its_header_and_trailer() {
        assert!(check_pdf(&pdf("1 0 obj <<>> endobj")).is_ok());
        let cases: [(&[u8], &str); 5] = [
            (b"", "empty"),
            (b"<html><body>hi</body></html>", "starts with `<html><b`"),
            (b"%PDF-9.1 nonsense", "header"),
            (b"%PDF-1.4\n1 0 obj <<>> endobj\n", "no `%%EOF`"),
            (b"%PDF-1.4\n1 0 obj\n%%EOF\n", "no `startxref`"),
        ];
        for (bytes, words) in cases {
            let message = check_pdf(bytes).unwrap_err().to_string();
            assert!(message.contains(words), "{words}: {message}");
        }
        let far = b"%PDF-1.4\nx\nstartxref\n99999\n%%EOF";
        assert!(
            check_pdf(far)
                .unwrap_err()
                .to_string()
                .contains("past the end")
        );
    }
}
