//! The department's edit page: what the package version in force changed against the one
//! before it, line by line in the page's language.

use serde::Serialize;

use crate::pages::PageContext;
use crate::services::package_changes::PackageChanges;

/// The summary as the page shows it.
#[derive(Debug, Serialize)]
pub(super) struct ChangesView {
    pub heading: String,
    pub lines: Vec<String>,
}

pub(super) fn changes_view(page: &PageContext, changes: &PackageChanges) -> ChangesView {
    let fill = |key: &str, pairs: &[(&str, String)]| {
        pairs.iter().fold(page.text(key), |text, (name, value)| {
            text.replace(&format!("{{{name}}}"), value)
        })
    };
    let counts = |key: &str, (before, after): (usize, usize)| {
        fill(
            key,
            &[("before", before.to_string()), ("after", after.to_string())],
        )
    };
    let mut lines = vec![
        counts("package_changes.hidden_items", changes.hidden_items),
        counts("package_changes.sample_items", changes.sample_items),
    ];
    for change in &changes.fields {
        // Modes and metrics have names in the catalogs; the other values are numbers.
        let shown = |value: &str| match change.field {
            "mode" | "metric" => page.code(change.field, value),
            _ => value.to_owned(),
        };
        lines.push(fill(
            "package_changes.field",
            &[
                ("field", page.code("field", change.field)),
                ("before", shown(&change.before)),
                ("after", shown(&change.after)),
            ],
        ));
    }
    if changes.fields.is_empty() {
        lines.push(page.text("package_changes.same_rules"));
    }
    lines.push(match changes.labels_changed {
        Some(count) => fill("package_changes.labels", &[("count", count.to_string())]),
        None => page.text("package_changes.labels_unknown"),
    });
    ChangesView {
        heading: fill(
            "package_changes.heading",
            &[
                ("to", changes.to.to_string()),
                ("from", changes.from.to_string()),
            ],
        ),
        lines,
    }
}
