//! `/notifications`: the signed-in person's notifications in their language, with links,
//! and marking them all read.

use actix_web::{HttpResponse, web};
use serde::Serialize;

use crate::auth::CurrentUser;
use crate::auth::session::CsrfForm;
use crate::error::AppError;
use crate::pages::paging::{ListQuery, Pager, ROWS_PER_PAGE, page_number};
use crate::pages::scenarios::when;
use crate::pages::site::{Catalogs, Lang};
use crate::pages::teams::Empty;
use crate::pages::{PageContext, see_other};
use crate::services::notifications::{self, NotificationView, ReadForm};

#[derive(Serialize)]
struct Row {
    text: String,
    link: String,
    since: String,
    read: bool,
}

#[derive(Serialize)]
struct NotificationsPage {
    notifications: Vec<Row>,
    pager: Pager,
}

/// The catalog sentence for the notification, filled from its parameters; a scenario's
/// title in the page's language.
fn sentence(page: &PageContext, view: &NotificationView) -> String {
    notification_sentence(&page.state.site.catalogs, page.lang, view)
}

/// The sentence of a notification in `lang` (the page's, or an e-mail's).
pub fn notification_sentence(catalogs: &Catalogs, lang: Lang, view: &NotificationView) -> String {
    let param = |name: &str| {
        view.params
            .get(name)
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_owned()
    };
    let scenario = match lang {
        Lang::Zh => param("scenario_zh"),
        Lang::En => param("scenario_en"),
    };
    catalogs
        .text(lang, &format!("notifications.kind.{}", view.kind))
        .replace("{scenario}", &scenario)
        .replace("{team}", &param("team"))
        .replace("{inviter}", &param("inviter"))
}

/// `GET /notifications` — newest first.
pub async fn index(
    page: PageContext,
    user: CurrentUser,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, AppError> {
    let paging = page_number(query.page, query.per_page, ROWS_PER_PAGE)?;
    let listed = page
        .state
        .db
        .read(move |conn| notifications::page_for(conn, &user.id, paging))
        .await?;
    let rows: Vec<Row> = listed
        .items
        .iter()
        .map(|view| Row {
            text: sentence(&page, view),
            link: view.link.clone(),
            since: when(&view.created_at),
            read: view.read,
        })
        .collect();
    let title = page.text("notifications.title");
    let pager = Pager::new(&page, paging, rows.len(), listed.total, "page");
    page.render(
        "pages/notifications",
        &title,
        NotificationsPage {
            notifications: rows,
            pager,
        },
    )
    .await
}

/// `POST /notifications/read` — marks every notification of the person read.
pub async fn read_all(
    page: PageContext,
    user: CurrentUser,
    CsrfForm(_): CsrfForm<Empty>,
) -> Result<HttpResponse, AppError> {
    page.state
        .db
        .write(move |conn| notifications::mark_read(conn, &user.id, &ReadForm::default()))
        .await?;
    Ok(see_other("/notifications"))
}
