//! The whole judging record as CSV: rubric, panel and declarations, conflicts, every sheet,
//! the aggregation, the award and the objections with their answers — one row per fact.

use super::views::JudgingView;
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
    for cells in std::iter::once(COLUMNS.map(str::to_owned)).chain(rows(judging, award)) {
        let line: Vec<String> = cells.iter().map(|c| field(c)).collect();
        out.push_str(&line.join(","));
        out.push_str("\r\n");
    }
    out
}

/// The record's facts, one row each, without the header: the CSV and the printable page
/// show the same rows.
pub fn rows(judging: &JudgingView, award: Option<&AnnouncementView>) -> Vec<Row> {
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
        let kind = c
            .measure
            .map_or_else(|| c.kind.to_string(), |m| format!("{} {m}", c.kind));
        let detail = format!("{kind}: {}. {}", c.label, c.guidance);
        out.row([
            "rubric",
            scenario,
            "",
            "",
            &c.criterion,
            &c.weight.to_string(),
            detail.trim(),
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
            out.row([
                "declaration",
                scenario,
                &judge.login,
                "",
                "",
                "",
                "none",
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
        let Some(reason) = p.reason.as_ref().map(ToString::to_string) else {
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
                (Some(value), _) => format!("measured {value}; share {}", c.share),
                (_, Some(j)) => format!(
                    "{} {:.4} of {} judges (min {}, max {}, spread {}); share {}",
                    if j.trimmed { "trimmed mean" } else { "mean" },
                    j.value,
                    j.judges,
                    j.min,
                    j.max,
                    j.spread,
                    c.share
                ),
                _ => format!("no score; share {}", c.share),
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
            format!("same image as {}", f.identical_image_teams.join("; "))
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
