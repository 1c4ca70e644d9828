//! The whole judging record as CSV: rubric, panel and declarations, conflicts, every sheet,
//! the aggregation, the award and the objections with their answers — one row per fact.

use super::aggregate::JudgedSummary;
use super::views::{Conflict, JudgingView};
use crate::db::models::judging::Criterion;
use crate::services::awards::AnnouncementView;

/// The CSV's columns, in order.
pub const COLUMNS: [&str; 8] = [
    "section",
    "subject",
    "judge",
    "team",
    "criterion",
    "value",
    "detail",
    "at",
];

/// One field as RFC 4180 writes it, defused for spreadsheets: a text a spreadsheet would
/// run as a formula (`=`, `+`, `-`, `@`, tab, carriage return first) starts with `'`.
pub fn field(value: &str) -> String {
    let defused = if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value.to_owned()
    };
    if defused.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", defused.replace('"', "\"\""))
    } else {
        defused
    }
}

/// The words of the record's `detail` column: English in the CSV, the reader's language on
/// the printable page. Figures are the same in both.
pub trait Wording {
    /// A rubric criterion: its kind (with what it measures), name and guidance.
    fn criterion(&self, criterion: &Criterion) -> String;
    /// A declaration that names no institution.
    fn declared_none(&self) -> String;
    fn conflict(&self, conflict: &Conflict) -> String;
    /// A measured criterion's value and the finalist's share of the weight.
    fn measured(&self, value: f64, share: f64) -> String;
    /// The judges' scores of a judged criterion combined, and the share.
    fn judged(&self, judged: &JudgedSummary, share: f64) -> String;
    /// A judged criterion nobody has scored.
    fn unscored(&self, share: f64) -> String;
    /// Other teams that submitted the finalist's image.
    fn same_image(&self, teams: &[String]) -> String;
}

/// The CSV's words.
pub struct English;

impl Wording for English {
    fn criterion(&self, c: &Criterion) -> String {
        let kind = c
            .measure
            .map_or_else(|| c.kind.to_string(), |m| format!("{} {m}", c.kind));
        format!("{kind}: {}. {}", c.label, c.guidance)
            .trim()
            .to_owned()
    }

    fn declared_none(&self) -> String {
        "none".to_owned()
    }

    fn conflict(&self, conflict: &Conflict) -> String {
        conflict.to_string()
    }

    fn measured(&self, value: f64, share: f64) -> String {
        format!("measured {value}; share {share}")
    }

    fn judged(&self, j: &JudgedSummary, share: f64) -> String {
        format!(
            "{} {:.4} of {} judges (min {}, max {}, spread {}); share {share}",
            if j.trimmed { "trimmed mean" } else { "mean" },
            j.value,
            j.judges,
            j.min,
            j.max,
            j.spread,
        )
    }

    fn unscored(&self, share: f64) -> String {
        format!("no score; share {share}")
    }

    fn same_image(&self, teams: &[String]) -> String {
        format!("same image as {}", teams.join("; "))
    }
}

/// One fact of the record, in the order of [`COLUMNS`].
pub type Row = [String; 8];

struct Sheet(Vec<Row>);

impl Sheet {
    fn row(&mut self, cells: [&str; 8]) {
        self.0.push(cells.map(str::to_owned));
    }
}

/// The record of a scenario's judging and, when there is one, its award, as CSV.
pub fn csv(judging: &JudgingView, award: Option<&AnnouncementView>) -> String {
    let mut out = String::new();
    let rows = rows(judging, award, &English);
    for cells in std::iter::once(COLUMNS.map(str::to_owned)).chain(rows) {
        let line: Vec<String> = cells.iter().map(|c| field(c)).collect();
        out.push_str(&line.join(","));
        out.push_str("\r\n");
    }
    out
}

/// The record's facts, one row each, without the header: the CSV and the printable page
/// show the same rows, each in its `words`.
pub fn rows(
    judging: &JudgingView,
    award: Option<&AnnouncementView>,
    words: &dyn Wording,
) -> Vec<Row> {
    let mut out = Sheet(Vec::new());
    let scenario = judging.scenario_id.as_str();
    out.row([
        "settings",
        scenario,
        "",
        "",
        "blind",
        &judging.blind.to_string(),
        "",
        "",
    ]);
    for c in &judging.rubric {
        let detail = words.criterion(c);
        out.row([
            "rubric",
            scenario,
            "",
            "",
            &c.criterion,
            &c.weight.to_string(),
            &detail,
            "",
        ]);
    }
    for judge in &judging.panel {
        let declared = judge.declared_at.as_deref().unwrap_or("");
        out.row([
            "panel",
            scenario,
            &judge.login,
            "",
            "",
            "",
            &judge.display_name,
            &judge.assigned_at,
        ]);
        if judge.declared_at.is_some() && judge.affiliations.is_empty() {
            let none = words.declared_none();
            out.row([
                "declaration",
                scenario,
                &judge.login,
                "",
                "",
                "",
                &none,
                declared,
            ]);
        }
        for institution in &judge.affiliations {
            out.row([
                "declaration",
                scenario,
                &judge.login,
                "",
                "",
                "",
                institution,
                declared,
            ]);
        }
    }
    for p in &judging.progress {
        let Some(reason) = p.reason.as_ref().map(|c| words.conflict(c)) else {
            continue;
        };
        out.row([
            "conflict",
            scenario,
            &p.judge_login,
            &p.team_name,
            "",
            "",
            &reason,
            "",
        ]);
    }
    let team_name = |id: &str| {
        judging
            .finalists
            .iter()
            .find(|f| f.team_id.as_str() == id)
            .map_or(id.to_owned(), |f| f.team_name.clone())
    };
    for sheet in &judging.sheets {
        let team = team_name(sheet.team_id.as_str());
        for (criterion, score) in &sheet.scores {
            out.row([
                "score",
                scenario,
                &sheet.judge_login,
                &team,
                criterion,
                &score.to_string(),
                "",
                &sheet.submitted_at,
            ]);
        }
        out.row([
            "comment",
            scenario,
            &sheet.judge_login,
            &team,
            "",
            "",
            &sheet.comment,
            &sheet.submitted_at,
        ]);
    }
    for f in &judging.finalists {
        for c in &f.criteria {
            let detail = match (&c.measured, &c.judged) {
                (Some(value), _) => words.measured(*value, c.share),
                (_, Some(j)) => words.judged(j, c.share),
                _ => words.unscored(c.share),
            };
            out.row([
                "aggregate",
                scenario,
                "",
                &f.team_name,
                &c.key,
                &c.points.to_string(),
                &detail,
                "",
            ]);
        }
        let flagged = if f.identical_image_teams.is_empty() {
            String::new()
        } else {
            words.same_image(&f.identical_image_teams)
        };
        out.row([
            "total",
            scenario,
            "",
            &f.team_name,
            "",
            &f.total.to_string(),
            &flagged,
            "",
        ]);
    }
    if let Some(award) = award {
        out.row([
            "award",
            scenario,
            "",
            "",
            "state",
            award.state.as_str(),
            &award.reasons,
            &award.decided_at,
        ]);
        out.row([
            "award",
            scenario,
            "",
            "",
            "bounty_fen",
            &award.bounty_fen.to_string(),
            "",
            "",
        ]);
        if let Some(at) = &award.announced_at {
            let closes = award.objections_close_at.as_deref().unwrap_or("");
            out.row([
                "announcement",
                scenario,
                "",
                "",
                "objections_close_at",
                closes,
                "",
                at,
            ]);
        }
        for w in &award.winners {
            out.row([
                "winner",
                scenario,
                "",
                &w.team_name,
                "amount_fen",
                &w.amount_fen.to_string(),
                &w.reason,
                "",
            ]);
        }
        for o in &award.objections {
            let by = o.filed_by.as_deref().unwrap_or("");
            out.row([
                "objection",
                o.id.as_str(),
                by,
                "",
                "",
                "",
                &o.text,
                &o.filed_at,
            ]);
            if let Some(answer) = &o.answer {
                let at = o.answered_at.as_deref().unwrap_or("");
                out.row(["answer", o.id.as_str(), "", "", "", "", answer, at]);
            }
        }
    }
    out.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_quoted_and_defused() {
        assert_eq!(field("plain"), "plain");
        assert_eq!(field("a,b"), "\"a,b\"");
        assert_eq!(field("say \"hi\"\nbye"), "\"say \"\"hi\"\"\nbye\"");
        assert_eq!(field("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(field("@SUM(A1)"), "'@SUM(A1)");
    }
}
