//! The platform's one error type and how each kind of error becomes an HTTP answer.

use std::collections::BTreeMap;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

/// The values an error's message is made of (`scenario` = `kg-parcel-eta`, `limit` = `5`):
/// a page says the error in the visitor's language from its code and these, and API
/// clients read them as `error.params`.
pub type Params = BTreeMap<&'static str, String>;

/// Everything that can go wrong in the platform, each with its HTTP status.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The request body or query is not well-formed (malformed JSON, a wrong parameter).
    #[error("{message}")]
    BadRequest {
        code: &'static str,
        message: String,
        params: Params,
    },
    /// No valid bearer token (or session) came with a request that needs one.
    #[error("{0}")]
    Unauthenticated(String),
    /// The caller is known but not allowed to do this. The code stays `forbidden` for
    /// clients; `rule` (also in `params`) says which rule refuses it, for the pages' words.
    #[error("{message}")]
    Forbidden {
        rule: &'static str,
        message: String,
        params: Params,
    },
    /// The thing named does not exist, or the caller may not know that it does; `params`
    /// name the kind of thing (`thing`) and its id (`id`) where known.
    #[error("{message}")]
    NotFound { message: String, params: Params },
    /// The request clashes with the current state (already enrolled, phase closed, …).
    #[error("{message}")]
    Conflict {
        code: &'static str,
        message: String,
        params: Params,
    },
    /// Evaluation would be charged and nothing can pay for it (no voucher balance, sponsored
    /// allowance or credit); `balance` says what is left of each, the message what to do.
    #[error("{message}")]
    PaymentRequired {
        message: String,
        balance: serde_json::Value,
    },
    /// The body is larger than this route accepts.
    #[error("{0}")]
    PayloadTooLarge(String),
    /// The caller is over its request budget; the answer says when to come back.
    #[error("{0}")]
    TooManyRequests(String),
    /// The body is well-formed but a value is not acceptable; the message names the field.
    #[error("{message}")]
    Invalid {
        code: &'static str,
        message: String,
        params: Params,
    },
    /// An uploaded document (a scenario package) is readable but has problems; every one of
    /// them is listed in the answer, so the sender can fix them all in one go.
    #[error("{message}")]
    Problems {
        code: &'static str,
        message: String,
        problems: Vec<Problem>,
    },
    /// Values of a form or body break rules, each named with its field and rule: all of
    /// them at once, so a person fixes the form in one go.
    #[error("{}", fields_message(.0))]
    Fields(Vec<crate::validate::FieldProblem>),
    /// The configuration or the command line is wrong.
    #[error("configuration: {0}")]
    Config(String),
    /// A dependency (the database pool) is not available right now.
    #[error("{0}")]
    Unavailable(String),
    /// A database error that is not the caller's fault.
    #[error("database error: {0}")]
    Database(#[from] diesel::result::Error),
    /// Signing in through the OpenID Connect provider failed.
    #[error(transparent)]
    SignIn(#[from] crate::oidc::OidcError),
    /// A stored record or file (a report) no longer parses: the answer names the record,
    /// the details (field, digest, parser message) go to the log.
    #[error("{record} cannot be read: {detail}")]
    StoredData { record: String, detail: String },
    /// A bug or an environment failure; details go to the log, not to the caller.
    #[error("internal error: {0}")]
    Internal(String),
}

/// One problem of an uploaded package: the file, the field or item if any, the code and its
/// parameters, and what is wrong in English.
pub use jiebang_scenarios::package::Problem;

impl AppError {
    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::Conflict {
            code,
            message: message.into(),
            params: Params::new(),
        }
    }

    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::BadRequest {
            code,
            message: message.into(),
            params: Params::new(),
        }
    }

    /// A value that is well-formed but unacceptable as a whole (not one form field's).
    pub fn unacceptable(code: &'static str, message: impl Into<String>) -> Self {
        Self::Invalid {
            code,
            message: message.into(),
            params: Params::new(),
        }
    }

    /// Refused by the rule `rule` (`not_team_member`, `department_only`, …).
    pub fn forbidden(rule: &'static str, message: impl Into<String>) -> Self {
        Self::Forbidden {
            rule,
            message: message.into(),
            params: Params::from([("rule", rule.to_owned())]),
        }
    }

    /// Something described in words only: pages say "not found" without naming it.
    pub fn not_found(what: impl std::fmt::Display) -> Self {
        Self::NotFound {
            message: format!("{what} not found"),
            params: Params::new(),
        }
    }

    /// The `thing` (a catalogued kind: `scenario`, `team`, `submission`, …) with `id` does
    /// not exist: pages name both in the visitor's language.
    pub fn missing(thing: &'static str, id: impl std::fmt::Display) -> Self {
        let id = id.to_string();
        if id.is_empty() {
            return Self::NotFound {
                message: format!("{thing} not found"),
                params: Params::from([("thing", thing.to_owned())]),
            };
        }
        Self::NotFound {
            message: format!("{thing} `{id}` not found"),
            params: Params::from([("thing", thing.to_owned()), ("id", id)]),
        }
    }

    /// The same error with one more parameter of its message (`scenario` = `kg-parcel-eta`);
    /// kinds of error without parameters stay as they are.
    #[must_use]
    pub fn with(mut self, name: &'static str, value: impl ToString) -> Self {
        if let Some(params) = self.params_mut() {
            params.insert(name, value.to_string());
        }
        self
    }

    fn params_mut(&mut self) -> Option<&mut Params> {
        match self {
            Self::BadRequest { params, .. }
            | Self::Forbidden { params, .. }
            | Self::NotFound { params, .. }
            | Self::Conflict { params, .. }
            | Self::Invalid { params, .. } => Some(params),
            _ => None,
        }
    }

    /// The values of this error's message, by name (empty for kinds that have none); a
    /// page fills the catalog text of `code()` with them.
    pub fn params(&self) -> Params {
        match self {
            Self::BadRequest { params, .. }
            | Self::Forbidden { params, .. }
            | Self::NotFound { params, .. }
            | Self::Conflict { params, .. }
            | Self::Invalid { params, .. } => params.clone(),
            Self::Problems { problems, .. } => {
                Params::from([("count", problems.len().to_string())])
            }
            Self::Fields(problems) => Params::from([("count", problems.len().to_string())]),
            Self::PaymentRequired { balance, .. } => balance
                .as_object()
                .into_iter()
                .flatten()
                .filter_map(|(name, value)| {
                    let name: &'static str = match name.as_str() {
                        "voucher_fen" => "voucher_fen",
                        "allowance_fen" => "allowance_fen",
                        "credit_fen" => "credit_fen",
                        _ => return None,
                    };
                    Some((name, value.to_string()))
                })
                .collect(),
            _ => Params::new(),
        }
    }

    /// The machine-readable code clients can match on.
    pub fn code(&self) -> &'static str {
        match self {
            Self::BadRequest { code, .. }
            | Self::Conflict { code, .. }
            | Self::Invalid { code, .. }
            | Self::Problems { code, .. } => code,
            Self::Fields(_) => "invalid_field",
            Self::SignIn(error) => error.code(),
            Self::Forbidden { .. } => "forbidden",
            Self::Unauthenticated(_) => "unauthenticated",
            Self::NotFound { .. } => "not_found",
            Self::PayloadTooLarge(_) => "payload_too_large",
            Self::PaymentRequired { .. } => "nothing_can_pay",
            Self::TooManyRequests(_) => "too_many_requests",
            Self::Config(_) => "configuration",
            Self::StoredData { .. } => "stored_data_unreadable",
            Self::Unavailable(_) => "unavailable",
            Self::Database(diesel::result::Error::NotFound) => "not_found",
            Self::Database(_) | Self::Internal(_) => "internal",
        }
    }

    /// What the caller may be told (internal details stay in the log).
    pub fn public_message(&self) -> String {
        match self {
            Self::Database(diesel::result::Error::NotFound) => "not found".to_owned(),
            Self::Database(_) | Self::Internal(_) | Self::Config(_) => {
                "internal error; the operators have the details in the log".to_owned()
            }
            Self::StoredData { record, .. } => {
                format!("{record} cannot be read; the operators have the details in the log")
            }
            other => other.to_string(),
        }
    }
}

fn fields_message(problems: &[crate::validate::FieldProblem]) -> String {
    let messages: Vec<&str> = problems.iter().map(|p| p.message.as_str()).collect();
    messages.join("; ")
}

impl From<tokio::task::JoinError> for AppError {
    fn from(e: tokio::task::JoinError) -> Self {
        Self::Internal(format!("blocking task failed: {e}"))
    }
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: ErrorDetail<'a>,
}

#[derive(Serialize)]
struct ErrorDetail<'a> {
    code: &'a str,
    message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    problems: Option<&'a [Problem]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    balance: Option<&'a serde_json::Value>,
    /// Every field a form got wrong, with the rule and its parameters.
    #[serde(skip_serializing_if = "Option::is_none")]
    fields: Option<&'a [crate::validate::FieldProblem]>,
    /// The values the message is made of, for clients that say it in their own words.
    #[serde(skip_serializing_if = "Params::is_empty")]
    params: Params,
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::BadRequest { .. } => StatusCode::BAD_REQUEST,
            Self::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden { .. } => StatusCode::FORBIDDEN,
            Self::NotFound { .. } | Self::Database(diesel::result::Error::NotFound) => {
                StatusCode::NOT_FOUND
            }
            Self::Conflict { .. } => StatusCode::CONFLICT,
            Self::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::PaymentRequired { .. } => StatusCode::PAYMENT_REQUIRED,
            Self::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
            Self::Invalid { .. } | Self::Problems { .. } | Self::Fields(_) => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::SignIn(error) => match error {
                crate::oidc::OidcError::NotConfigured => StatusCode::NOT_FOUND,
                crate::oidc::OidcError::Provider(_) => StatusCode::BAD_GATEWAY,
                // The person can fix these by starting again; none needs a bearer token.
                _ => StatusCode::BAD_REQUEST,
            },
            Self::Config(_) | Self::Database(_) | Self::Internal(_) | Self::StoredData { .. } => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        if status.is_server_error() {
            tracing::error!(error = %self, "request failed");
        }
        let mut response = HttpResponse::build(status);
        if status == StatusCode::UNAUTHORIZED {
            response.insert_header(("WWW-Authenticate", "Bearer"));
        }
        response.json(ErrorBody {
            error: ErrorDetail {
                code: self.code(),
                message: self.public_message(),
                problems: match self {
                    Self::Problems { problems, .. } => Some(problems),
                    _ => None,
                },
                balance: match self {
                    Self::PaymentRequired { balance, .. } => Some(balance),
                    _ => None,
                },
                fields: match self {
                    Self::Fields(fields) => Some(fields),
                    _ => None,
                },
                params: match self {
                    // The balance and the field list are already in the answer.
                    Self::PaymentRequired { .. } | Self::Fields(_) | Self::Problems { .. } => {
                        Params::new()
                    }
                    other => other.params(),
                },
            },
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use actix_web::body::to_bytes;

    async fn body_of(error: AppError) -> (StatusCode, serde_json::Value) {
        let response = error.error_response();
        let status = response.status();
        let bytes = to_bytes(response.into_body()).await.unwrap();
        (status, serde_json::from_slice(&bytes).unwrap())
    }

    #[actix_web::test]
    async fn conflict_has_code_and_message() {
        let (status, body) =
            body_of(AppError::conflict("already_enrolled", "team t is enrolled")).await;
        assert_eq!(status, StatusCode::CONFLICT);
        assert_eq!(
            body,
            serde_json::json!({"error": {"code": "already_enrolled", "message": "team t is enrolled"}})
        );
    }

    #[actix_web::test]
    async fn diesel_not_found_is_404() {
        let (status, body) = body_of(AppError::Database(diesel::result::Error::NotFound)).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(body["error"]["code"], "not_found");
    }

    #[actix_web::test]
    async fn internal_errors_hide_details() {
        let (status, body) = body_of(AppError::Internal("secret path /x".into())).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(!body["error"]["message"].as_str().unwrap().contains("/x"));
    }

    #[actix_web::test]
    async fn unreadable_stored_data_names_the_record_not_the_details() {
        let (status, body) = body_of(AppError::StoredData {
            record: "the report of submission `sub_1`".into(),
            detail: "field `hidden.scores.private.value`: invalid type".into(),
        })
        .await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(
            body,
            serde_json::json!({"error": {"code": "stored_data_unreadable", "message":
                "the report of submission `sub_1` cannot be read; the operators have the details in the log"}})
        );
    }

    #[actix_web::test]
    async fn sign_in_errors_say_what_to_do() {
        let (status, body) = body_of(crate::oidc::OidcError::UnknownState.into()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body["error"]["code"], "oidc_unknown_state");
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("sign in again")
        );
        let (status, body) =
            body_of(crate::oidc::OidcError::Provider("no JWKS".into()).into()).await;
        assert_eq!(status, StatusCode::BAD_GATEWAY);
        assert_eq!(body["error"]["code"], "oidc_provider_unavailable");
    }

    #[actix_web::test]
    async fn nothing_can_pay_is_402_with_the_balance() {
        let (status, body) = body_of(AppError::PaymentRequired {
            message: "ask for a voucher".into(),
            balance: serde_json::json!({"voucher_fen": 0, "allowance_fen": 0, "credit_fen": 0}),
        })
        .await;
        assert_eq!(status, StatusCode::PAYMENT_REQUIRED);
        assert_eq!(
            body,
            serde_json::json!({"error": {"code": "nothing_can_pay", "message": "ask for a voucher",
                "balance": {"voucher_fen": 0, "allowance_fen": 0, "credit_fen": 0}}})
        );
    }

    #[actix_web::test]
    async fn problems_are_listed() {
        let problem = Problem::new(
            jiebang_scenarios::package::ProblemCode::IdMismatch,
            "scenario.toml",
            Some("id"),
            "does not match",
        )
        .with("id", "x")
        .with("scenario", "y");
        let (status, body) = body_of(AppError::Problems {
            code: "invalid_package",
            message: "1 problem".into(),
            problems: vec![problem],
        })
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            body,
            serde_json::json!({"error": {"code": "invalid_package", "message": "1 problem",
                "problems": [{"file": "scenario.toml", "field": "id", "code": "id_mismatch",
                    "params": {"id": "x", "scenario": "y"}, "message": "does not match"}]}})
        );
    }

    #[actix_web::test]
    async fn a_field_problem_names_the_field_its_rule_and_parameters() {
        let problem =
            crate::validate::FieldProblem::new("weight", "out_of_range", "must be 1 to 100")
                .with("min", 1)
                .with("max", 100);
        let (status, body) = body_of(problem.into()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(body["error"]["message"], "field `weight`: must be 1 to 100");
        assert_eq!(
            body["error"]["fields"][0],
            serde_json::json!({"field": "weight", "rule": "out_of_range",
                "params": {"min": "1", "max": "100"}, "message": "field `weight`: must be 1 to 100"})
        );
    }
}
