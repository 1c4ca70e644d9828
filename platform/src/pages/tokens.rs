//! `/tokens`: a signed-in person's API tokens (for the `jiebang` command line): list, create
//! (the secret shown once, on the answer to the form and never again) and revoke.

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};

use crate::auth::CurrentUser;
use crate::auth::session::CsrfForm;
use crate::db::ids::TokenId;
use crate::db::models::tokens::{self, IssuedToken, TokenKind};
use crate::error::AppError;
use crate::pages::consoles::{FormProblems, form_problems, refused};
use crate::pages::paging::{ListQuery, Pager, ROWS_PER_PAGE, page_number};
use crate::pages::scenarios::when;
use crate::pages::{PageContext, no_store, see_other};

#[derive(Serialize)]
struct TokenRow {
    id: String,
    name: String,
    created: String,
    last_used: String,
    revoked: Option<String>,
}

#[derive(Serialize)]
struct TokensPage {
    tokens: Vec<TokenRow>,
    pager: Pager,
    /// The token just created: its secret, shown this once.
    issued: Option<IssuedToken>,
    name: String,
    errors: std::collections::BTreeMap<String, String>,
    problem: Option<String>,
    revoked: bool,
    platform_url: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct TokenFields {
    name: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct RevokeFields {
    /// The confirmation box beside the button: a revoked token stops working at once.
    confirm: String,
}

#[derive(Debug, Deserialize)]
pub struct TokensQuery {
    pub page: Option<u32>,
    pub per_page: Option<u32>,
    pub revoked: Option<String>,
}

async fn render(
    page: &PageContext,
    user: CurrentUser,
    query: ListQuery,
    form: (String, FormProblems),
    issued: Option<IssuedToken>,
    revoked: bool,
) -> Result<HttpResponse, AppError> {
    let paging = page_number(query.page, query.per_page, ROWS_PER_PAGE)?;
    let (rows, total) = page
        .state
        .db
        .read(move |conn| Ok(tokens::list_for(conn, &user.id, paging)?))
        .await?;
    let tokens: Vec<TokenRow> = rows
        .into_iter()
        .filter(|token| token.kind == TokenKind::User)
        .map(|token| TokenRow {
            id: token.id.0,
            name: token.name,
            created: when(&crate::time::iso_time(token.created_at)),
            last_used: token
                .last_used_at
                .map(|at| when(&crate::time::iso_time(at)))
                .unwrap_or_else(|| page.text("tokens.never")),
            revoked: token.revoked_at.map(|at| when(&crate::time::iso_time(at))),
        })
        .collect();
    let pager = Pager::new(page, paging, tokens.len(), total, "page");
    let (name, problems) = form;
    let view = TokensPage {
        tokens,
        pager,
        issued,
        name,
        errors: problems.fields,
        problem: problems.problem,
        revoked,
        platform_url: page.state.config.public_url(),
    };
    page.render("pages/tokens", &page.text("tokens.title"), view)
        .await
}

/// `GET /tokens` — the signed-in person's tokens.
pub async fn index(
    page: PageContext,
    user: CurrentUser,
    query: web::Query<TokensQuery>,
) -> Result<HttpResponse, AppError> {
    let query = query.into_inner();
    let revoked = query.revoked.is_some();
    let list = ListQuery {
        page: query.page,
        per_page: query.per_page,
    };
    render(&page, user, list, Default::default(), None, revoked).await
}

/// `POST /tokens` — `POST /api/v1/tokens`: the answer is the page with the new secret on
/// it (not a redirect, so the secret is in no address, history or log).
pub async fn create(
    page: PageContext,
    user: CurrentUser,
    CsrfForm(fields): CsrfForm<TokenFields>,
) -> Result<HttpResponse, AppError> {
    let owner = user.clone();
    let name = fields.name.trim().to_owned();
    let issued = {
        let name = name.clone();
        page.state
            .db
            .write(move |conn| {
                tokens::issue(conn, &owner.id, &name, TokenKind::User, Some(&owner.id))
            })
            .await
    };
    let first_page = ListQuery {
        page: None,
        per_page: None,
    };
    match issued {
        Ok(issued) => {
            let page = render(
                &page,
                user,
                first_page,
                Default::default(),
                Some(issued),
                false,
            )
            .await?;
            Ok(no_store(page))
        }
        Err(error) => {
            let problems = form_problems(&page, error)?;
            Ok(refused(
                render(&page, user, first_page, (name, problems), None, false).await?,
            ))
        }
    }
}

/// `POST /tokens/{id}/revoke` — `DELETE /api/v1/tokens/{id}`, once the box is ticked.
pub async fn revoke(
    page: PageContext,
    user: CurrentUser,
    path: web::Path<TokenId>,
    CsrfForm(fields): CsrfForm<RevokeFields>,
) -> Result<HttpResponse, AppError> {
    if fields.confirm != "yes" {
        let problems = FormProblems {
            problem: Some(page.text("tokens.confirm_first")),
            ..FormProblems::default()
        };
        let list = ListQuery {
            page: None,
            per_page: None,
        };
        let form = (String::new(), problems);
        return Ok(refused(render(&page, user, list, form, None, false).await?));
    }
    let id = path.into_inner();
    page.state
        .db
        .write(move |conn| {
            let token = tokens::find(conn, &id)?
                .filter(|t| t.user_id == user.id && t.kind == TokenKind::User)
                .ok_or_else(|| AppError::missing("token", &id))?;
            tokens::revoke(conn, &token, Some(&user.id))
        })
        .await?;
    Ok(see_other("/tokens?revoked=1"))
}
