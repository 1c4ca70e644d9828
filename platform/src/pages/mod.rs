//! The web pages: server-rendered HTML for people in a browser, one module per page group,
//! every page route registered in [`config`]. Handlers build view structs; templates only
//! display them. Authorization is the API's (`CurrentUser`, `MaybeUser`, role checks).

pub mod announcement;
pub mod assets;
pub mod chart;
pub mod consoles;
pub mod error_text;
pub mod errors;
pub mod leaderboard;
pub mod markdown;
pub mod my_teams;
pub mod notifications;
pub mod organizations;
pub mod paging;
pub mod report_card;
pub mod scenarios;
pub mod signin;
pub mod site;
pub mod submissions;
pub mod teams;
pub mod tokens;
pub mod upload;
pub mod utilisation_chart;

use std::future::{Future, ready};
use std::pin::Pin;
use std::sync::Arc;

use actix_web::cookie::{Cookie, SameSite, time::Duration};
use actix_web::dev::Payload;
use actix_web::http::{Method, header};
use actix_web::{FromRequest, HttpMessage, HttpRequest, HttpResponse, web};
use serde::Serialize;

use crate::auth::session::ExpectedCsrf;
use crate::auth::{CurrentUser, MaybeUser};
use crate::db::models::notifications::unread as unread_notifications;
use crate::error::AppError;
use crate::pages::site::Lang;
use crate::state::AppState;

/// Every page route.
pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(scenarios::home))
        .route("/static/{name}", web::get().to(assets::serve))
        .route("/favicon.ico", web::get().to(assets::favicon))
        .route("/lang/{code}", web::get().to(signin::switch_language))
        .route("/auth/login", web::get().to(signin::login_page))
        .route("/auth/login", web::post().to(signin::login))
        .route("/auth/logout", web::post().to(signin::logout))
        .route("/auth/oidc/start", web::get().to(crate::oidc_routes::start))
        .route(
            "/auth/oidc/callback",
            web::get().to(crate::oidc_routes::callback),
        )
        .route("/scenarios/{id}", web::get().to(scenarios::show))
        .route("/scenarios/{id}/enrol", web::post().to(scenarios::enrol))
        .route(
            "/scenarios/{id}/leaderboard",
            web::get().to(leaderboard::leaderboard),
        )
        .route("/teams", web::get().to(my_teams::index))
        .route("/teams", web::post().to(my_teams::create))
        .route("/teams/{id}/leave", web::post().to(my_teams::leave))
        .route(
            "/scenarios/{id}/submissions",
            web::post().to(upload::upload),
        )
        .route("/organizations/{id}", web::get().to(organizations::show))
        .route(
            "/scenarios/{id}/announcement",
            web::get().to(announcement::show),
        )
        .route(
            "/scenarios/{id}/objections",
            web::post().to(announcement::object),
        )
        .route("/teams/{id}", web::get().to(teams::show))
        .route("/teams/{id}/invitations", web::post().to(teams::invite))
        .route("/invitations", web::get().to(teams::invitations))
        .route("/tokens", web::get().to(tokens::index))
        .route("/tokens", web::post().to(tokens::create))
        .route("/tokens/{id}/revoke", web::post().to(tokens::revoke))
        .route("/notifications", web::get().to(notifications::index))
        .route(
            "/notifications/read",
            web::post().to(notifications::read_all),
        )
        .route("/invitations/{id}/{answer}", web::post().to(teams::respond))
        .route("/submissions/{id}", web::get().to(submissions::show))
        .route("/console/department", web::get().to(consoles::department))
        .route(
            "/console/scenarios/new",
            web::get().to(consoles::new_scenario),
        )
        .route(
            "/console/scenarios/new",
            web::post().to(consoles::create_scenario),
        )
        .route(
            "/console/scenarios/{id}/edit",
            web::get().to(consoles::edit_scenario),
        )
        .route(
            "/console/scenarios/{id}/edit",
            web::post().to(consoles::update_scenario),
        )
        .route(
            "/console/scenarios/{id}/phases",
            web::post().to(consoles::add_phase),
        )
        .route(
            "/console/scenarios/{id}/phases/{phase}",
            web::post().to(consoles::update_phase),
        )
        .route(
            "/console/scenarios/{id}/phases/{phase}/delete",
            web::post().to(consoles::delete_phase),
        )
        .route(
            "/console/scenarios/{id}/publish",
            web::post().to(consoles::publish),
        )
        .route(
            "/console/scenarios/{id}/package",
            web::post().to(consoles::upload_package),
        )
        .route(
            "/console/scenarios/{id}/sponsorship",
            web::post().to(consoles::sponsor),
        )
        .route("/console/judge", web::get().to(consoles::judge))
        .route(
            "/console/scenarios/{id}/compare",
            web::get().to(consoles::compare),
        )
        .route(
            "/console/submissions/{id}/review",
            web::get().to(consoles::review_page),
        )
        .route(
            "/console/submissions/{id}/review",
            web::post().to(consoles::review),
        )
        .route("/console/judging/{id}", web::get().to(consoles::panel))
        .route(
            "/console/judging/{id}/declaration",
            web::post().to(consoles::declare),
        )
        .route(
            "/console/judging/{id}/finalists/{team}",
            web::get().to(consoles::score_page),
        )
        .route(
            "/console/judging/{id}/finalists/{team}",
            web::post().to(consoles::score),
        )
        .route(
            "/console/scenarios/{id}/judging",
            web::get().to(consoles::decision),
        )
        .route(
            "/console/scenarios/{id}/judging/record",
            web::get().to(consoles::record),
        )
        .route(
            "/console/scenarios/{id}/rubric",
            web::post().to(consoles::set_rubric),
        )
        .route(
            "/console/scenarios/{id}/panel",
            web::post().to(consoles::assign),
        )
        .route(
            "/console/scenarios/{id}/panel/{judge}/remove",
            web::post().to(consoles::unassign),
        )
        .route(
            "/console/scenarios/{id}/award",
            web::post().to(consoles::decide),
        )
        .route(
            "/console/scenarios/{id}/award/announce",
            web::post().to(consoles::announce),
        )
        .route(
            "/console/scenarios/{id}/objections/{objection}/answer",
            web::post().to(consoles::answer_objection),
        )
        .route("/console/operator", web::get().to(consoles::operator))
        .route("/console/admin", web::get().to(consoles::admin))
        .route(
            "/console/admin/users",
            web::post().to(consoles::create_user),
        )
        .route(
            "/console/admin/users/{id}/tokens",
            web::post().to(consoles::issue_token),
        )
        .route(
            "/console/admin/organizations",
            web::post().to(consoles::create_organization),
        )
        .route("/console/admin/audit", web::get().to(consoles::audit_log))
        .route(
            "/console/operator/utilisation",
            web::get().to(consoles::utilisation),
        )
        .route(
            "/console/operator/utilisation.csv",
            web::get().to(consoles::utilisation_csv),
        );
}

/// The language cookie's name.
pub const LANG_COOKIE: &str = "lang";

/// What every page needs besides its own view: language, the signed-in user, the CSRF
/// token for forms and the current path (for the language switch and sign-in).
pub struct PageContext {
    pub state: web::Data<AppState>,
    pub lang: Lang,
    /// `?lang=` asked for a language: the response remembers it in the cookie.
    pub lang_from_query: bool,
    pub user: Option<CurrentUser>,
    pub csrf_token: Option<String>,
    /// Path and query of this request; on a sign-in page, the page the person is going
    /// to (its `return_to`), so links built from it never nest one sign-in page in another.
    pub here: String,
    /// The sign-in page itself, when this is one: its language link stays on it.
    sign_in_page: Option<String>,
    /// The signed-in person's unread notifications, for the bell in the navigation.
    pub unread: i64,
}

fn query_lang(req: &HttpRequest) -> Option<Lang> {
    form_urlencoded::parse(req.query_string().as_bytes())
        .find(|(k, _)| k == "lang")
        .and_then(|(_, v)| Lang::parse(&v))
}

/// The visitor's language: `?lang=`, else the `lang` cookie, else Chinese.
pub fn lang_of(req: &HttpRequest) -> (Lang, bool) {
    match query_lang(req) {
        Some(lang) => (lang, true),
        None => (
            req.cookie(LANG_COOKIE)
                .and_then(|c| Lang::parse(c.value()))
                .unwrap_or_default(),
            false,
        ),
    }
}

impl FromRequest for PageContext {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, AppError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let state = match req.app_data::<web::Data<AppState>>() {
            Some(state) => state.clone(),
            None => {
                return Box::pin(ready(Err(AppError::Internal(
                    "application state missing".into(),
                ))));
            }
        };
        let user = match MaybeUser::from_request(req, payload).into_inner() {
            Ok(MaybeUser(user)) => user,
            Err(error) => return Box::pin(ready(Err(error))),
        };
        let mut context = Self::with(req, state, user);
        // A form's POST answers with a redirect (or, refused, the form again): only pages
        // fetched to be read show the bell's count, so a POST costs no extra read.
        let shows_bell = matches!(*req.method(), Method::GET | Method::HEAD);
        Box::pin(async move {
            // One indexed count per signed-in page, off the request threads.
            if let Some(user) = context.user.as_ref().filter(|_| shows_bell) {
                let id = user.id.clone();
                context.unread = context
                    .state
                    .db
                    .read(move |conn| Ok(unread_notifications(conn, &id)?))
                    .await?;
            }
            Ok(context)
        })
    }
}

impl PageContext {
    fn with(req: &HttpRequest, state: web::Data<AppState>, user: Option<CurrentUser>) -> Self {
        let (lang, lang_from_query) = lang_of(req);
        let sign_in_page = req
            .path()
            .starts_with("/auth/")
            .then(|| req.path().to_owned());
        let here = if sign_in_page.is_some() {
            let target = form_urlencoded::parse(req.query_string().as_bytes())
                .find(|(k, _)| k == "return_to")
                .map(|(_, v)| v.into_owned());
            crate::auth::session::return_to(target.as_deref())
        } else {
            match req.query_string() {
                "" => req.path().to_owned(),
                query => format!("{}?{query}", req.path()),
            }
        };
        Self {
            csrf_token: req.extensions().get::<ExpectedCsrf>().map(|t| t.0.clone()),
            state,
            lang,
            lang_from_query,
            user,
            here,
            sign_in_page,
            unread: 0,
        }
    }

    /// For error pages: an unusable credential counts as no user rather than an error.
    pub fn lenient(req: &HttpRequest) -> Option<Self> {
        let state = req.app_data::<web::Data<AppState>>()?.clone();
        let user = MaybeUser::from_request(req, &mut Payload::None)
            .into_inner()
            .ok()
            .and_then(|m| m.0);
        Some(Self::with(req, state, user))
    }
}

#[derive(Serialize)]
struct UserChrome<'a> {
    id: &'a str,
    login: &'a str,
    display_name: &'a str,
}

impl PageContext {
    /// A message from the catalog in the page's language.
    pub fn text(&self, key: &str) -> String {
        self.state.site.catalogs.text(self.lang, key)
    }

    /// The catalogs' text for `key` with its `{name}`s filled from `params`, as errors are
    /// (`error_text::fill`: one pass, values shown as typed).
    pub fn text_with(&self, key: &str, params: &[(&str, &str)]) -> String {
        error_text::fill(
            &self.state.site.catalogs,
            self.lang,
            &self.text(key),
            params.iter().copied(),
        )
    }

    /// The name of a code (`kind` `metric`, value `roc_auc`) in the page's language, from
    /// the catalogs' `[code]` section; an open-ended code the catalogs do not name (a
    /// department's own domain) is shown as it is.
    pub fn code(&self, kind: &str, value: &str) -> String {
        self.state.site.catalogs.code(self.lang, kind, value)
    }

    /// An error as the visitor should read it: the catalogs' `[errors]` text for its code
    /// with its parameters, in the page's language (see `error_text`).
    pub fn error_text(&self, error: &AppError) -> String {
        error_text::error_text(&self.state.site.catalogs, self.lang, error)
    }

    /// A scenario package's problem in the page's language, and `lang` where it is the
    /// checker's English instead (see `error_text::package_problem`).
    pub fn package_problem(
        &self,
        problem: &crate::error::Problem,
    ) -> (String, Option<&'static str>) {
        error_text::package_problem(&self.state.site.catalogs, self.lang, problem)
    }

    /// A field's problem in the page's language (see `error_text::field_problem`).
    pub fn field_problem(&self, problem: &crate::validate::FieldProblem) -> String {
        error_text::field_problem(&self.state.site.catalogs, self.lang, problem)
    }

    /// The page, rendered from `template` with `view` as `page`, inside the layout, on the
    /// CPU pool (`crate::cpu`): never on the request thread, which serves `/healthz` too.
    pub async fn render(
        &self,
        template: &str,
        title: &str,
        view: impl Serialize,
    ) -> Result<HttpResponse, AppError> {
        let page = serde_json::to_value(view)
            .map_err(|e| AppError::Internal(format!("page view: {e}")))?;
        let consoles = self
            .user
            .as_ref()
            .map_or((false, false, false), CurrentUser::consoles);
        let data = serde_json::json!({
            "lang": self.lang.code(),
            "title": title,
            "user": self.user.as_ref().map(|u| UserChrome {
                id: u.id.0.as_str(),
                login: &u.login,
                display_name: &u.display_name,
            }),
            "consoles": {
                "department": consoles.0,
                "judge": consoles.1,
                "operator": consoles.2,
                "admin": self.user.as_ref().is_some_and(CurrentUser::is_admin),
            },
            "csrf_token": self.csrf_token.clone().unwrap_or_default(),
            "unread": self.unread,
            "here": self.here,
            "switch_lang": self.lang.other().code(),
            "switch_url": match &self.sign_in_page {
                Some(path) => format!(
                    "{path}?{}",
                    serde_urlencoded::to_string([
                        ("return_to", self.here.as_str()),
                        ("lang", self.lang.other().code()),
                    ])
                    .unwrap_or_default()
                ),
                None => format!(
                    "/lang/{}?{}",
                    self.lang.other().code(),
                    serde_urlencoded::to_string([("return_to", &self.here)]).unwrap_or_default()
                ),
            },
            "login_url": format!(
                "/auth/login?{}",
                serde_urlencoded::to_string([("return_to", &self.here)]).unwrap_or_default()
            ),
            "asset_version": self.state.site.asset_version,
            "page": page,
        });
        let (site, template) = (Arc::clone(&self.state.site), template.to_owned());
        // The ETag too: hashing a board's HTML is CPU work of the same kind.
        let (html, etag) = crate::cpu::run(move || {
            site.render(&template, &data).map(|html| {
                let etag = crate::conditional::etag_of(html.as_bytes());
                (html, etag)
            })
        })
        .await??;
        let mut response = HttpResponse::Ok();
        response
            .content_type("text/html; charset=utf-8")
            // Revalidated on every visit (its ETag makes that cheap), never kept by a
            // shared cache: a page depends on who is signed in and their language.
            .insert_header((header::CACHE_CONTROL, "private, no-cache"))
            .insert_header((header::VARY, "Cookie"))
            .insert_header((header::ETAG, etag));
        if self.lang_from_query {
            response.cookie(lang_cookie(self.lang));
        }
        Ok(response.body(html))
    }
}

/// Remembers the chosen language for a year; not a secret, so readable by scripts.
pub fn lang_cookie(lang: Lang) -> Cookie<'static> {
    Cookie::build(LANG_COOKIE, lang.code())
        .path("/")
        .same_site(SameSite::Lax)
        .max_age(Duration::days(365))
        .finish()
}

/// A 303 See Other to `location` (after a form, so reloading does not post again).
/// A page that carries a secret shown once: no cache, proxy or history may keep it.
pub fn no_store(mut response: HttpResponse) -> HttpResponse {
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    response
}

pub fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location.to_owned()))
        .finish()
}

/// Whether a path belongs to the pages (HTML errors) rather than the JSON or worker API.
pub fn is_page_path(path: &str) -> bool {
    !(path.starts_with("/api/")
        || path.starts_with("/internal/")
        || path == "/healthz"
        || path == "/readyz"
        || path == "/metrics")
}
