//! Checks on user-supplied values, each failing with an error that names the field.

use crate::error::AppError;

/// Lowercase letters, digits and inner hyphens, 2 to 64 characters: safe in URLs and paths.
pub fn slug(field: &str, value: &str) -> Result<(), AppError> {
    let well_formed = (2..=64).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !value.starts_with('-')
        && !value.ends_with('-');
    if well_formed {
        Ok(())
    } else {
        Err(AppError::invalid(
            field,
            format!(
                "`{}` must be 2–64 lowercase letters, digits or inner hyphens",
                value.escape_default()
            ),
        ))
    }
}

/// Non-blank text of at most `max_chars` characters without control characters.
pub fn text(field: &str, value: &str, max_chars: usize) -> Result<(), AppError> {
    if value.trim().is_empty() {
        return Err(AppError::invalid(field, "must not be empty"));
    }
    if value.chars().count() > max_chars {
        return Err(AppError::invalid(
            field,
            format!("must be at most {max_chars} characters"),
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(AppError::invalid(
            field,
            "must not contain control characters",
        ));
    }
    Ok(())
}

/// Prose a person writes (a review, a comment, an objection): at most `max_chars`
/// characters; line breaks and tabs allowed, other control characters only hide things.
pub fn prose(field: &str, value: &str, max_chars: usize) -> Result<(), AppError> {
    if value.chars().count() > max_chars {
        return Err(AppError::invalid(
            field,
            format!("must be at most {max_chars} characters"),
        ));
    }
    if value
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err(AppError::invalid(
            field,
            "must not contain control characters",
        ));
    }
    Ok(())
}

/// A sign-in name: 2–40 of lowercase letters, digits, `.`, `_`, `-`, starting with a letter or digit.
pub fn login(field: &str, value: &str) -> Result<(), AppError> {
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
        Err(AppError::invalid(
            field,
            "must be 2–40 lowercase letters, digits, `.`, `_` or `-`, starting with a letter or digit",
        ))
    }
}

pub fn email(field: &str, value: &str) -> Result<(), AppError> {
    text(field, value, 200)?;
    match value.split_once('@') {
        Some((local, domain))
            if !local.is_empty() && domain.contains('.') && !value.contains(' ') =>
        {
            Ok(())
        }
        _ => Err(AppError::invalid(field, "is not an e-mail address")),
    }
}

#[cfg(test)]
mod tests {
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
    fn logins_and_emails() {
        assert!(login("login", "li.wei_2").is_ok());
        assert!(login("login", "_x").is_err());
        assert!(email("email", "li@example.org").is_ok());
        assert!(email("email", "nobody").is_err());
    }
}
