//! An error in the visitor's language: the catalogs' `[errors]` text for its code (or for
//! its code and rule) with the error's parameters filled in.

use crate::error::AppError;
use crate::pages::site::{Catalogs, Lang};
use crate::time::beijing_time;

/// A report's note as the visitor should read it: the catalogs' `[note]` text for its code
/// with its parameters; a note without a code (stored before notes had them) or one the
/// catalogs do not know is its English text, with `lang` saying so on a Chinese page.
pub fn note_text(
    catalogs: &Catalogs,
    lang: Lang,
    note: &jiebang_evaluator::protocol::Note,
) -> (String, Option<&'static str>) {
    let known = note.coded().and_then(|(code, params)| {
        let text = catalogs.of(lang).get(&format!("note.{code}"))?;
        Some(fill(
            catalogs,
            lang,
            text,
            params.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        ))
    });
    match known {
        Some(text) => (text, None),
        None => (note.text().to_owned(), (lang == Lang::Zh).then_some("en")),
    }
}

/// The error as the visitor should read it; the error's own (English) message where the
/// catalogs have no text for its code, so nothing is ever hidden.
pub fn error_text(catalogs: &Catalogs, lang: Lang, error: &AppError) -> String {
    if let AppError::Fields(problems) = error {
        let each: Vec<String> = problems
            .iter()
            .map(|p| field_problem(catalogs, lang, p))
            .collect();
        return each.join(" ");
    }
    let params = error.params();
    let catalog = catalogs.of(lang);
    let code = error.code();
    let text = params
        .get("rule")
        .and_then(|rule| catalog.get(&format!("errors.{code}.{rule}")))
        .or_else(|| catalog.get(&format!("errors.{code}")));
    match text {
        Some(text) => fill(
            catalogs,
            lang,
            text,
            params.iter().map(|(k, v)| (*k, v.as_str())),
        ),
        None => error.public_message(),
    }
}

/// A scenario package's problem as the visitor should read it: the catalogs'
/// `[package_problems]` text for its code with its parameters; a code the catalogs do not
/// know is its English message, with `lang` saying so on a Chinese page.
pub fn package_problem(
    catalogs: &Catalogs,
    lang: Lang,
    problem: &crate::error::Problem,
) -> (String, Option<&'static str>) {
    let key = format!("package_problems.{}", problem.code);
    match catalogued(catalogs, lang, &key, &problem.params) {
        Some(text) => (text, None),
        None => (problem.message.clone(), (lang == Lang::Zh).then_some("en")),
    }
}

/// A field's problem: the catalogs' `[field_rules]` text for its rule with the rule's
/// parameters filled in, else its own (English) message.
pub fn field_problem(
    catalogs: &Catalogs,
    lang: Lang,
    problem: &crate::validate::FieldProblem,
) -> String {
    let key = format!("field_rules.{}", problem.rule);
    catalogued(catalogs, lang, &key, &problem.params).unwrap_or_else(|| problem.message.clone())
}

/// The catalogs' text for `key` with `params` filled in, when the catalogs have one.
fn catalogued<'a>(
    catalogs: &Catalogs,
    lang: Lang,
    key: &str,
    params: impl IntoIterator<Item = (&'a &'static str, &'a String)>,
) -> Option<String> {
    let text = catalogs.of(lang).get(key)?;
    let params = params
        .into_iter()
        .map(|(name, value)| (*name, value.as_str()));
    Some(fill(catalogs, lang, text, params))
}

/// `text` with each `{name}` replaced by its parameter as the reader should see it: times
/// (`…_at`) in Beijing time, kinds of thing, form fields and metrics by their catalogued
/// names. One pass over `text`: a value is never read for placeholders, so a team named
/// `{id}` or a guidance with braces shows as typed. A placeholder whose parameter is
/// missing (the id of a thing known only by kind) is left out with the space before it,
/// rather than shown as `{id}`.
pub fn fill<'a>(
    catalogs: &Catalogs,
    lang: Lang,
    text: &str,
    params: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> String {
    let params: Vec<(&str, &str)> = params.into_iter().collect();
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        let Some(close) = rest[open..].find('}') else {
            break;
        };
        let name = &rest[open + 1..open + close];
        if let Some((name, value)) = params.iter().find(|(n, _)| *n == name) {
            out.push_str(&rest[..open]);
            out.push_str(&shown(catalogs, lang, name, value));
        } else if !name.is_empty() && name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') {
            out.push_str(rest[..open].strip_suffix(' ').unwrap_or(&rest[..open]));
        } else {
            // Not a placeholder: the brace stays, and the search goes on after it.
            out.push_str(&rest[..=open]);
            rest = &rest[open + 1..];
            continue;
        }
        rest = &rest[open + close + 1..];
    }
    out.push_str(rest);
    out
}

/// One parameter as the reader should see it.
fn shown(catalogs: &Catalogs, lang: Lang, name: &str, value: &str) -> String {
    if name.ends_with("_at") {
        return beijing_time(value);
    }
    match name {
        "thing" | "field" | "run" | "side" | "measure" | "metric" => {
            catalogs.code(lang, name, value)
        }
        "status" => catalogs.code(lang, "invitation_status", value),
        _ => value.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn catalogs() -> Catalogs {
        Catalogs::embedded().unwrap()
    }

    /// Values are shown as they are: braces in a value are never taken for placeholders.
    #[test]
    fn values_are_never_read_for_placeholders() {
        let text = fill(
            &catalogs(),
            Lang::Zh,
            "队伍 {team} 已报名 {scenario}{missing}。{ 不是占位 }",
            [("team", "{scenario} {id}"), ("scenario", "kg-open")],
        );
        assert_eq!(text, "队伍 {scenario} {id} 已报名 kg-open。{ 不是占位 }");
    }

    #[test]
    fn a_conflict_reads_in_chinese_with_its_parameters() {
        let error = AppError::conflict("already_enrolled", "team `t1` is already enrolled")
            .with("team", "t1")
            .with("scenario", "kg-parcel-eta");
        let text = error_text(&catalogs(), Lang::Zh, &error);
        assert!(
            text.contains("t1") && text.contains("kg-parcel-eta"),
            "{text}"
        );
        assert!(!text.contains("already"), "{text}");
    }

    #[test]
    fn not_found_names_the_thing_and_a_rule_picks_its_own_text() {
        let text = error_text(&catalogs(), Lang::Zh, &AppError::missing("scenario", "x-1"));
        assert!(text.contains("场景") && text.contains("x-1"), "{text}");
        let text = error_text(&catalogs(), Lang::En, &AppError::missing("page", ""));
        assert_eq!(text, "There is no page.");
        let hidden = AppError::forbidden("private_board_hidden", "revealed later")
            .with("closes_at", "2026-11-01T16:00:00.000Z");
        let text = error_text(&catalogs(), Lang::Zh, &hidden);
        assert!(text.contains("2026-11-02 00:00 (UTC+8)"), "{text}");
    }

    /// Every code the package checker (and the platform's upload and catalog checks) can
    /// give a problem has a text in both catalogs: `ProblemCode::ALL` is declared with the
    /// codes themselves, so it lists every one. No text is left for a code that is gone.
    #[test]
    fn every_package_problem_has_words_in_both_languages() {
        use jiebang_scenarios::package::ProblemCode;
        let catalogs = catalogs();
        let mut missing = Vec::new();
        for code in ProblemCode::ALL {
            for lang in [Lang::Zh, Lang::En] {
                if catalogs
                    .of(lang)
                    .get(&format!("package_problems.{code}"))
                    .is_none()
                {
                    missing.push(format!("{}: {code}", lang.code()));
                }
            }
        }
        assert!(
            missing.is_empty(),
            "untranslated package problems: {missing:?}"
        );
        let codes: std::collections::BTreeSet<&str> =
            ProblemCode::ALL.iter().map(|c| c.as_str()).collect();
        for lang in [Lang::Zh, Lang::En] {
            let stale: Vec<&String> = catalogs
                .of(lang)
                .keys()
                .filter(|key| {
                    key.strip_prefix("package_problems.")
                        .is_some_and(|code| !codes.contains(code))
                })
                .collect();
            assert!(
                stale.is_empty(),
                "{}: texts for no code: {stale:?}",
                lang.code()
            );
        }
    }

    #[test]
    fn a_package_problem_reads_in_chinese_with_its_values() {
        use jiebang_scenarios::package::{Problem, ProblemCode};
        let catalogs = catalogs();
        let direction = Problem::new(
            ProblemCode::DirectionIsHigher,
            "scenario.toml",
            Some("metric.direction"),
            "roc_auc is better when higher, so the direction is `higher`",
        )
        .with("metric", "roc_auc");
        let (text, lang) = package_problem(&catalogs, Lang::Zh, &direction);
        assert_eq!(text, "指标“ROC AUC”越高越好，因此方向应为 `higher`。");
        assert_eq!(lang, None);
        let budget = Problem::new(
            ProblemCode::BudgetTooSmall,
            "scenario.toml",
            Some("latency.budget_ms"),
            "below 1 ms a budget measures the network, not the model",
        )
        .with("min_ms", 1);
        let (text, _) = package_problem(&catalogs, Lang::En, &budget);
        assert_eq!(
            text,
            "Below 1 ms a budget measures the network, not the model."
        );
    }

    /// Every code the platform's source gives an error has a text in both catalogs, and no
    /// text names a parameter its errors never carry unfilled (`{name}` left over).
    #[test]
    fn every_error_code_has_words_in_both_languages() {
        let catalogs = catalogs();
        let mut missing = Vec::new();
        // The codes `AppError::code` gives by kind, then those the source writes.
        let mut keys: std::collections::BTreeSet<String> = [
            "unauthenticated",
            "not_found",
            "forbidden",
            "payload_too_large",
            "nothing_can_pay",
            "too_many_requests",
            "unavailable",
            "invalid_field",
            "stored_data_unreadable",
            "internal",
            "configuration",
        ]
        .iter()
        .map(|code| format!("errors.{code}"))
        .collect();
        keys.extend(keys_in_source());
        keys.extend(
            rules_in_source()
                .into_iter()
                .map(|rule| format!("field_rules.{rule}")),
        );
        for key in keys {
            for lang in [Lang::Zh, Lang::En] {
                if catalogs.of(lang).get(&key).is_none() {
                    missing.push(format!("{}: {key}", lang.code()));
                }
            }
        }
        assert!(missing.is_empty(), "untranslated error codes: {missing:?}");
    }

    /// The rules the source gives field problems, found the way `every_error_code…` finds
    /// codes; a rule written as anything but a literal (a variable) fails the test unless
    /// it is the parameter of a helper whose callers are read here too.
    fn rules_in_source() -> std::collections::BTreeSet<String> {
        let mut rules = std::collections::BTreeSet::new();
        let mut not_literal = Vec::new();
        for (path, source) in sources() {
            // (maker, which argument is the rule; `usize::MAX` for the last)
            let makers = [("FieldProblem::new(", 1), ("number::<", usize::MAX)];
            for (maker, which) in makers {
                for (at, _) in source.match_indices(maker) {
                    // The makers' own names in this test are not calls.
                    if source[..at].ends_with('"') {
                        continue;
                    }
                    let rest = &source[at + maker.len()..];
                    // `number::<T>(…)`: the arguments start after the turbofish.
                    let rest = match maker.strip_suffix('<') {
                        None => rest,
                        Some(_) => match rest.find('(') {
                            Some(open) => &rest[open + 1..],
                            None => continue,
                        },
                    };
                    let args = arguments(rest);
                    let arg = if which == usize::MAX {
                        args.last()
                    } else {
                        args.get(which)
                    };
                    let Some(arg) = arg else { continue };
                    match arg.strip_prefix('"').and_then(|a| a.strip_suffix('"')) {
                        Some(rule) => {
                            rules.insert(rule.to_owned());
                        }
                        // The helper's own parameter, its callers read above.
                        None if arg == "rule" && path.ends_with("department.rs") => {}
                        None if maker.ends_with('<') => {}
                        None => not_literal.push(format!("{path}: {arg}")),
                    }
                }
            }
        }
        assert!(
            not_literal.is_empty(),
            "field problems whose rule is not a catalogued literal: {not_literal:?}"
        );
        rules
    }

    /// A call's top-level arguments, trimmed, from just after its `(` to its `)`.
    fn arguments(text: &str) -> Vec<String> {
        let mut args = Vec::new();
        let mut current = String::new();
        let mut depth = 0usize;
        let mut chars = text.chars();
        while let Some(c) = chars.next() {
            match c {
                '"' => {
                    current.push(c);
                    while let Some(inner) = chars.next() {
                        current.push(inner);
                        match inner {
                            '\\' => current.extend(chars.next()),
                            '"' => break,
                            _ => {}
                        }
                    }
                }
                '(' | '[' | '{' => {
                    depth += 1;
                    current.push(c);
                }
                ')' | ']' | '}' if depth == 0 => break,
                ')' | ']' | '}' => {
                    depth -= 1;
                    current.push(c);
                }
                ',' if depth == 0 => args.push(std::mem::take(&mut current).trim().to_owned()),
                _ => current.push(c),
            }
        }
        if !current.trim().is_empty() {
            args.push(current.trim().to_owned());
        }
        args
    }

    /// Every `.rs` file of the platform's source, with its path.
    fn sources() -> Vec<(String, String)> {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut found = Vec::new();
        let mut stack = vec![root];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    stack.push(path);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    let source = std::fs::read_to_string(&path).unwrap();
                    found.push((path.display().to_string(), source));
                }
            }
        }
        found
    }

    /// The catalog keys of the codes, `forbidden` rules and not-found things the source
    /// writes.
    fn keys_in_source() -> std::collections::BTreeSet<String> {
        let mut codes = std::collections::BTreeSet::new();
        for (_, source) in sources() {
            collect(&source, &mut codes);
        }
        codes
    }

    fn collect(source: &str, codes: &mut std::collections::BTreeSet<String>) {
        let makers = [
            ("AppError::conflict(", "errors."),
            ("AppError::bad_request(", "errors."),
            ("AppError::unacceptable(", "errors."),
            ("AppError::forbidden(", "errors.forbidden."),
            ("AppError::missing(", "code.thing."),
        ];
        for (maker, prefix) in makers {
            for (at, _) in source.match_indices(maker) {
                let rest = source[at + maker.len()..].trim_start();
                let word = rest
                    .strip_prefix('"')
                    .and_then(|quoted| quoted.split_once('"'))
                    .map(|(word, _)| word);
                let is_code = |w: &&str| {
                    !w.is_empty() && w.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
                };
                if let Some(word) = word.filter(is_code) {
                    codes.insert(format!("{prefix}{word}"));
                }
            }
        }
    }
}
