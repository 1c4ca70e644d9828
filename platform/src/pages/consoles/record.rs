//! The printable judging record: the rows of `record.csv`, grouped by section, on a page
//! with print styles and no navigation, so what is printed and what is exported agree.

use std::collections::HashMap;

use actix_web::{HttpResponse, web};
use serde::Serialize;

use crate::auth::DepartmentOrAdmin;
use crate::db::ids::ScenarioId;
use crate::db::models::judging::Criterion;
use crate::db::now_millis;
use crate::error::AppError;
use crate::pages::PageContext;
use crate::pages::paging::grouped_yuan;
use crate::pages::scenarios::{pick, when};
use crate::services::judging::Conflict;
use crate::services::judging::aggregate::JudgedSummary;
use crate::services::judging::export::{self, Wording};
use crate::time::iso_time;

use super::decision::load_record;

#[derive(Serialize)]
struct Section {
    name: String,
    title: String,
    rows: Vec<Vec<String>>,
}

#[derive(Serialize)]
struct RecordPage {
    scenario_id: String,
    title: String,
    generated_at: String,
    columns: Vec<String>,
    sections: Vec<Section>,
}

/// The record's words in the page's language.
struct PageWords<'a>(&'a PageContext);

impl PageWords<'_> {
    fn text_with(&self, key: &str, params: &[(&str, &str)]) -> String {
        self.0.text_with(&format!("record.detail_{key}"), params)
    }
}

impl Wording for PageWords<'_> {
    fn criterion(&self, c: &Criterion) -> String {
        let kind_words = self.0.code("criterion_kind", c.kind.as_str());
        let kind = match c.measure {
            Some(m) => format!("{kind_words} · {}", self.0.code("measure", m.as_str())),
            None => kind_words,
        };
        self.text_with(
            "criterion",
            &[
                ("kind", &kind),
                ("label", &c.label),
                ("guidance", &c.guidance),
            ],
        )
        .trim()
        .to_owned()
    }

    fn declared_none(&self) -> String {
        self.0.text("judging.declared_none")
    }

    fn conflict(&self, conflict: &Conflict) -> String {
        super::panel::conflict_text(self.0, conflict)
    }

    fn measured(&self, value: f64, share: f64) -> String {
        self.text_with(
            "measured",
            &[("value", &value.to_string()), ("share", &share.to_string())],
        )
    }

    fn judged(&self, j: &JudgedSummary, share: f64) -> String {
        self.text_with(
            if j.trimmed { "trimmed_mean" } else { "mean" },
            &[
                ("value", &format!("{:.4}", j.value)),
                ("judges", &j.judges.to_string()),
                ("min", &j.min.to_string()),
                ("max", &j.max.to_string()),
                ("spread", &j.spread.to_string()),
                ("share", &share.to_string()),
            ],
        )
    }

    fn unscored(&self, share: f64) -> String {
        self.text_with("unscored", &[("share", &share.to_string())])
    }

    fn same_image(&self, teams: &[String]) -> String {
        self.text_with("same_image", &[("teams", &teams.join("、"))])
    }
}

/// The rows by section, sections in the order they first appear and rows in the record's
/// order within each; times in Beijing time, the award's state in words, the record's own
/// facts (`blind`, `amount_fen`) by name with amounts in yuan, and criteria by their labels.
fn sections(
    page: &PageContext,
    rows: Vec<export::Row>,
    labels: &HashMap<String, String>,
) -> Vec<Section> {
    let mut sections: Vec<Section> = Vec::new();
    for row in rows {
        let [section, rest @ ..] = row;
        let mut cells: Vec<String> = rest.to_vec();
        // Times, in the `at` column or as a value (when objections close), in Beijing time;
        // any other text is left as it is.
        for cell in [4, 6] {
            if let Some(text) = cells.get_mut(cell)
                && !text.is_empty()
            {
                *text = when(text);
            }
        }
        // The award's state in words (`final` → 结果已生效).
        if section == "award"
            && cells.get(3).is_some_and(|c| c == "state")
            && let Some(state) = cells.get_mut(4)
        {
            *state = page.text(&format!("judging.award_state_{state}"));
        }
        named(page, &section, &mut cells, labels);
        match sections.iter_mut().find(|s| s.name == section) {
            Some(found) => found.rows.push(cells),
            None => sections.push(Section {
                title: page.text(&format!("record.{section}")),
                name: section,
                rows: vec![cells],
            }),
        }
    }
    sections
}

/// The criterion column in words: the CSV's fact names (`bounty_fen`) as the catalogs name
/// them, with fen shown as yuan and yes/no for a setting; a rubric key as its label.
fn named(
    page: &PageContext,
    section: &str,
    cells: &mut [String],
    labels: &HashMap<String, String>,
) {
    let [_, _, _, criterion, value, ..] = cells else {
        return;
    };
    match (section, criterion.as_str()) {
        ("settings", "blind") => {
            *value = page.text(if *value == "true" {
                "record.yes"
            } else {
                "record.no"
            });
        }
        ("award" | "winner", "bounty_fen" | "amount_fen") => {
            if let Ok(fen) = value.parse::<i64>() {
                *value = grouped_yuan(fen);
            }
        }
        ("award" | "announcement", "state" | "objections_close_at") => {}
        ("rubric" | "score" | "aggregate", key) => {
            if let Some(label) = labels.get(key) {
                criterion.clone_from(label);
            }
            return;
        }
        _ => return,
    }
    *criterion = page.text(&format!("record.fact_{criterion}"));
}

/// `GET /console/scenarios/{id}/judging/record` — the department (or an admin).
pub async fn record(
    page: PageContext,
    DepartmentOrAdmin(user): DepartmentOrAdmin,
    path: web::Path<ScenarioId>,
) -> Result<HttpResponse, AppError> {
    let (scenario, view, award) = load_record(&page, &user, &path.into_inner()).await?;
    let title = pick(page.lang, &scenario.title_zh, &scenario.title_en);
    let labels: HashMap<String, String> = view
        .rubric
        .iter()
        .map(|c| (c.criterion.clone(), c.label.clone()))
        .collect();
    let data = RecordPage {
        scenario_id: scenario.id.0.clone(),
        generated_at: when(&iso_time(now_millis())),
        columns: export::COLUMNS[1..]
            .iter()
            .map(|c| page.text(&format!("record.column_{c}")))
            .collect(),
        sections: sections(
            &page,
            export::rows(&view, award.as_ref(), &PageWords(&page)),
            &labels,
        ),
        title: title.clone(),
    };
    let heading = page.text("record.title").replace("{title}", &title);
    page.render("console/record", &heading, data).await
}
