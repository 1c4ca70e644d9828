//! Checks on user-supplied values, each failing with a problem that names the field and the
//! rule it breaks, so a form can show every problem at once in the reader's language.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::error::AppError;

/// A value that breaks a rule: the field, the rule's code and its parameters (what a page
/// needs to say it in the reader's language), and the message in English for API clients.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldProblem {
    pub field: String,
    pub rule: &'static str,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub params: BTreeMap<&'static str, String>,
    pub message: String,
}

impl FieldProblem {
    pub fn new(field: &str, rule: &'static str, message: impl std::fmt::Display) -> Self {
        Self {
            field: field.to_owned(),
            rule,
            params: BTreeMap::new(),
            message: format!("field `{field}`: {message}"),
        }
    }

    /// A parameter of the rule (`max` = `200`) that the reader's message shows.
    pub fn with(mut self, name: &'static str, value: impl ToString) -> Self {
        self.params.insert(name, value.to_string());
        self
    }
}

impl From<FieldProblem> for AppError {
    fn from(problem: FieldProblem) -> Self {
        Self::Fields(vec![problem])
    }
}

/// Every problem of one form, collected so the answer names them all at once.
#[derive(Debug, Default)]
pub struct Checks(Vec<FieldProblem>);

impl Checks {
    pub fn check(&mut self, result: Result<(), FieldProblem>) {
        if let Err(problem) = result {
            self.0.push(problem);
        }
    }

    /// Keeps the first problem of each field only: one message beside each field.
    pub fn push(&mut self, problem: FieldProblem) {
        if !self.0.iter().any(|p| p.field == problem.field) {
            self.0.push(problem);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn finish(self) -> Result<(), AppError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(AppError::Fields(self.0))
        }
    }
}

/// Lowercase letters, digits and inner hyphens, 2 to 64 characters: safe in URLs and paths.
pub fn slug(field: &str, value: &str) -> Result<(), FieldProblem> {
    let well_formed = (2..=64).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !value.starts_with('-')
        && !value.ends_with('-');
    if well_formed {
        Ok(())
    } else {
        Err(FieldProblem::new(
            field,
            "slug",
            format!(
                "`{}` must be 2–64 lowercase letters, digits or inner hyphens",
                value.escape_default()
            ),
        ))
    }
}

/// Non-blank text of at most `max_chars` characters without control characters.
pub fn text(field: &str, value: &str, max_chars: usize) -> Result<(), FieldProblem> {
    if value.trim().is_empty() {
        return Err(FieldProblem::new(field, "required", "must not be empty"));
    }
    if value.chars().count() > max_chars {
        return Err(too_long(field, max_chars));
    }
    if value.chars().any(char::is_control) {
        return Err(control_characters(field));
    }
    Ok(())
}

fn too_long(field: &str, max_chars: usize) -> FieldProblem {
    FieldProblem::new(
        field,
        "too_long",
        format!("must be at most {max_chars} characters"),
    )
    .with("max", max_chars)
}

fn control_characters(field: &str) -> FieldProblem {
    FieldProblem::new(
        field,
        "control_characters",
        "must not contain control characters",
    )
}

/// Prose a person writes (a review, a comment, an objection): at most `max_chars`
/// characters; line breaks and tabs allowed, other control characters only hide things.
pub fn prose(field: &str, value: &str, max_chars: usize) -> Result<(), FieldProblem> {
    if value.chars().count() > max_chars {
        return Err(too_long(field, max_chars));
    }
    if value
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err(control_characters(field));
    }
    Ok(())
}

/// A number within `min..=max` (both shown to the reader when it is not).
pub fn within<T: PartialOrd + std::fmt::Display>(
    field: &str,
    value: T,
    min: T,
    max: T,
) -> Result<(), FieldProblem> {
    if value >= min && value <= max {
        Ok(())
    } else {
        Err(FieldProblem::new(
            field,
            "out_of_range",
            format!("must be between {min} and {max}"),
        )
        .with("min", min)
        .with("max", max))
    }
}

/// `field` must come after `earlier` (a period's end after its start); the reader sees
/// the earlier field's name.
pub fn later_than(field: &str, earlier: &'static str) -> FieldProblem {
    FieldProblem::new(field, "later_than", format!("must be after {earlier}"))
        .with("field", earlier)
}

/// A sign-in name: 2–40 of lowercase letters, digits, `.`, `_`, `-`, starting with a letter or digit.
pub fn login(field: &str, value: &str) -> Result<(), FieldProblem> {
    let well_formed = (2..=40).contains(&value.len())
        && value.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-')
        })
        && value
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphanumeric());
    if well_formed {
        Ok(())
    } else {
        Err(FieldProblem::new(
            field,
            "login",
            "must be 2–40 lowercase letters, digits, `.`, `_` or `-`, starting with a letter or digit",
        ))
    }
}

pub fn email(field: &str, value: &str) -> Result<(), FieldProblem> {
    text(field, value, 200)?;
    match value.split_once('@') {
        Some((local, domain))
            if !local.is_empty() && domain.contains('.') && !value.contains(' ') =>
        {
            Ok(())
        }
        _ => Err(FieldProblem::new(
            field,
            "email",
            "is not an e-mail address",
        )),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;

    #[test]
    fn slugs() {
        assert!(slug("id", "konggang-parcel-eta").is_ok());
        assert!(slug("id", "a").is_err());
        assert!(slug("id", "Upper").is_err());
        assert!(slug("id", "-lead").is_err());
        assert!(slug("id", "trail-").is_err());
        assert!(slug("id", "../etc").is_err());
    }

    #[test]
    fn texts() {
        assert!(text("t", "智慧物流", 10).is_ok());
        assert!(text("t", "   ", 10).is_err());
        assert!(text("t", "abc\u{0}", 10).is_err());
        assert!(text("t", "一二三四五六七八九十十", 10).is_err());
    }

    #[test]
    fn problems_name_their_rule_and_its_parameters() {
        let problem = text("title_zh", "一二三", 2).unwrap_err();
        assert_eq!(
            (problem.rule, problem.params["max"].as_str()),
            ("too_long", "2")
        );
        let mut checks = Checks::default();
        checks.check(text("title_zh", " ", 10));
        checks.check(within("daily_quota", 0, 1, 1000));
        checks.push(FieldProblem::new(
            "title_zh",
            "too_long",
            "second problem of a field",
        ));
        match checks.finish() {
            Err(AppError::Fields(problems)) => {
                let rules: Vec<_> = problems
                    .iter()
                    .map(|p| (p.field.as_str(), p.rule))
                    .collect();
                assert_eq!(
                    rules,
                    [("title_zh", "required"), ("daily_quota", "out_of_range")]
                );
            }
            other => panic!("expected both problems, got {other:?}"),
        }
    }

    #[test]
    fn logins_and_emails() {
        assert!(login("login", "li.wei_2").is_ok());
        assert!(login("login", "_x").is_err());
        assert!(email("email", "li@example.org").is_ok());
        assert!(email("email", "nobody").is_err());
    }
}
