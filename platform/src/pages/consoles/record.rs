//! The printable judging record: the rows of `record.csv`, grouped by section, on a page
//! with print styles and no navigation, so what is printed and what is exported agree.

use actix_web::{HttpResponse, web};
use serde::Serialize;

use crate::auth::DepartmentOrAdmin;
use crate::db::ids::ScenarioId;
use crate::db::now_millis;
use crate::error::AppError;
use crate::pages::PageContext;
use crate::pages::scenarios::{pick, when};
use crate::services::judging::export;
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

/// The rows by section, sections in the order they first appear and rows in the record's
/// order within each; times in Beijing time.
fn sections(page: &PageContext, rows: Vec<export::Row>) -> Vec<Section> {
    let mut sections: Vec<Section> = Vec::new();
    for row in rows {
        let [section, rest @ ..] = row;
        let mut cells: Vec<String> = rest.to_vec();
        if let Some(at) = cells.last_mut()
            && !at.is_empty()
        {
            *at = when(at);
        }
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

/// `GET /console/scenarios/{id}/judging/record` — the department (or an admin).
pub async fn record(
    page: PageContext,
    DepartmentOrAdmin(user): DepartmentOrAdmin,
    path: web::Path<ScenarioId>,
) -> Result<HttpResponse, AppError> {
    let (scenario, view, award) = load_record(&page, &user, &path.into_inner()).await?;
    let title = pick(page.lang, &scenario.title_zh, &scenario.title_en);
    let data = RecordPage {
        scenario_id: scenario.id.0.clone(),
        generated_at: when(&iso_time(now_millis())),
        columns: export::COLUMNS[1..]
            .iter()
            .map(|c| page.text(&format!("record.column_{c}")))
            .collect(),
        sections: sections(&page, export::rows(&view, award.as_ref())),
        title: title.clone(),
    };
    let heading = page.text("record.title").replace("{title}", &title);
    page.render("console/record", &heading, data).await
}
