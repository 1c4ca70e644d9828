//! A note of a report: what the team should know about how a run was run and scored. It
//! carries a code and its parameters, which the platform's pages say in the reader's
//! language, and the English text the CLI prints. A note stored before notes had codes is
//! its text alone, and is shown as it is.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Note {
    /// `code` with its `params` (`run` = `hidden`, `count` = `3`) and the English text.
    Coded {
        code: String,
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        params: BTreeMap<String, String>,
        text: String,
    },
    /// A note of a report written before notes had codes.
    Text(String),
}

impl Note {
    pub fn new(code: &str, text: impl Into<String>) -> Self {
        Self::Coded {
            code: code.to_owned(),
            params: BTreeMap::new(),
            text: text.into(),
        }
    }

    /// The same note with one more parameter.
    #[must_use]
    pub fn with(mut self, name: &str, value: impl ToString) -> Self {
        if let Self::Coded { params, .. } = &mut self {
            params.insert(name.to_owned(), value.to_string());
        }
        self
    }

    /// The English text.
    pub fn text(&self) -> &str {
        match self {
            Self::Coded { text, .. } | Self::Text(text) => text,
        }
    }

    /// The code and parameters, for a note that has them.
    pub fn coded(&self) -> Option<(&str, &BTreeMap<String, String>)> {
        match self {
            Self::Coded { code, params, .. } => Some((code, params)),
            Self::Text(_) => None,
        }
    }
}

impl std::fmt::Display for Note {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.text())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn old_text_notes_still_read_and_new_ones_keep_their_code() {
        let old: Vec<Note> =
            serde_json::from_str(r#"["hidden run: 1 of 12 predictions were not numbers"]"#)
                .unwrap();
        assert_eq!(
            old[0].text(),
            "hidden run: 1 of 12 predictions were not numbers"
        );
        assert!(old[0].coded().is_none());
        let new = Note::new("metric_not_finite", "hidden run: no score").with("run", "hidden");
        let json = serde_json::to_value(&new).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"code": "metric_not_finite", "params": {"run": "hidden"},
                               "text": "hidden run: no score"})
        );
        assert_eq!(serde_json::from_value::<Note>(json).unwrap(), new);
    }
}
