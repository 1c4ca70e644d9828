//! Every route of the platform, registered in one place (the pages' in `pages::config`).

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::{App, HttpRequest, HttpResponse, web};

use crate::api::{
    audit, awards, billing, compare, downloads, internal, judging, notifications, organizations,
    overview, packages, results, reviews, scenarios, submissions, teams, technical_reports, users,
};
use crate::error::AppError;
use crate::state::AppState;

/// The JSON API, the worker API, the health probe and the web pages.
pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.configure(crate::pages::config);
    cfg.route("/healthz", web::get().to(alive))
        .route("/readyz", web::get().to(ready))
        .route("/metrics", web::get().to(crate::metrics::scrape))
        .service(
            web::scope("/api/v1")
                .route("/organizations", web::get().to(organizations::list))
                .route("/organizations", web::post().to(organizations::create))
                .route(
                    "/organizations/{id}/members",
                    web::post().to(organizations::add_member),
                )
                .route(
                    "/organizations/{id}/statement",
                    web::get().to(billing::statement),
                )
                .route(
                    "/organizations/{id}/statement.csv",
                    web::get().to(billing::statement_csv),
                )
                .route(
                    "/organizations/{id}/credit",
                    web::put().to(billing::set_credit),
                )
                .route("/prices", web::get().to(billing::list_prices))
                .route("/prices", web::post().to(billing::set_price))
                .route("/vouchers", web::post().to(billing::issue_voucher))
                .route("/billing/totals", web::get().to(billing::totals))
                .route("/billing/totals.csv", web::get().to(billing::totals_csv))
                .route("/submissions/{id}/refund", web::post().to(billing::refund))
                .route(
                    "/scenarios/{id}/sponsorship",
                    web::put().to(billing::sponsor),
                )
                .route("/scenarios", web::get().to(scenarios::list))
                .route("/scenarios", web::post().to(scenarios::create))
                .route("/scenarios/{id}", web::get().to(scenarios::show))
                .route("/scenarios/{id}", web::patch().to(scenarios::update))
                .route(
                    "/scenarios/{id}/publish",
                    web::post().to(scenarios::publish),
                )
                .route(
                    "/scenarios/{id}/phases",
                    web::post().to(scenarios::add_phase),
                )
                .route(
                    "/scenarios/{id}/phases/{phase_id}",
                    web::patch().to(scenarios::update_phase),
                )
                .route(
                    "/scenarios/{id}/phases/{phase_id}",
                    web::delete().to(scenarios::delete_phase),
                )
                .route("/scenarios/{id}/files", web::get().to(downloads::list))
                .route(
                    "/scenarios/{id}/manifest",
                    web::get().to(downloads::manifest),
                )
                .route(
                    "/scenarios/{id}/files/{path:.+}",
                    web::get().to(downloads::download),
                )
                .route(
                    "/scenarios/{id}/enrolments",
                    web::post().to(scenarios::enrol),
                )
                .route(
                    "/scenarios/{id}/enrolments",
                    web::get().to(scenarios::enrolments),
                )
                .route(
                    "/scenarios/{id}/submissions",
                    web::post().to(submissions::upload),
                )
                .route(
                    "/scenarios/{id}/quota",
                    web::get().to(submissions::show_quota),
                )
                .route("/submissions/{id}", web::get().to(submissions::show))
                .route("/submissions/{id}/report", web::get().to(results::report))
                .route("/submissions/{id}/logs/{run}", web::get().to(results::logs))
                .route(
                    "/submissions/{id}/technical-report",
                    web::put().to(technical_reports::attach),
                )
                .route(
                    "/submissions/{id}/technical-report",
                    web::get().to(technical_reports::download),
                )
                .route("/submissions/{id}/review", web::put().to(reviews::put))
                .route(
                    "/submissions/{id}/reviews",
                    web::get().to(reviews::for_submission),
                )
                .route("/scenarios/{id}/package", web::put().to(packages::upload))
                .route(
                    "/scenarios/{id}/package/versions",
                    web::get().to(packages::versions),
                )
                .route("/scenarios/{id}/compare", web::get().to(compare::compare))
                .route(
                    "/scenarios/{id}/reviews",
                    web::get().to(reviews::for_scenario),
                )
                .route(
                    "/scenarios/{id}/leaderboard",
                    web::get().to(results::leaderboard),
                )
                .route("/scenarios/{id}/rubric", web::get().to(judging::rubric))
                .route("/scenarios/{id}/rubric", web::put().to(judging::set_rubric))
                .route(
                    "/scenarios/{id}/panel/{user_id}",
                    web::put().to(judging::assign),
                )
                .route(
                    "/scenarios/{id}/panel/{user_id}",
                    web::delete().to(judging::unassign),
                )
                .route(
                    "/scenarios/{id}/declaration",
                    web::put().to(judging::declare),
                )
                .route(
                    "/scenarios/{id}/finalists",
                    web::get().to(judging::finalists),
                )
                .route(
                    "/scenarios/{id}/finalists/{team_id}/scores",
                    web::put().to(judging::score),
                )
                .route("/scenarios/{id}/judging", web::get().to(judging::overview))
                .route(
                    "/scenarios/{id}/judging/record.csv",
                    web::get().to(judging::record_csv),
                )
                .route("/scenarios/{id}/award", web::get().to(awards::show))
                .route("/scenarios/{id}/award", web::put().to(awards::decide))
                .route(
                    "/scenarios/{id}/award/announce",
                    web::post().to(awards::announce),
                )
                .route(
                    "/scenarios/{id}/announcement",
                    web::get().to(awards::announcement),
                )
                .route("/scenarios/{id}/objections", web::post().to(awards::object))
                .route(
                    "/scenarios/{id}/objections/{objection_id}/answer",
                    web::post().to(awards::answer),
                )
                .route("/teams", web::get().to(teams::mine))
                .route("/teams", web::post().to(teams::create))
                .route("/teams/{id}", web::get().to(teams::show))
                .route("/teams/{id}/invitations", web::post().to(teams::invite))
                .route(
                    "/teams/{id}/invitations",
                    web::get().to(teams::team_invitations),
                )
                .route("/teams/{id}/leave", web::post().to(teams::leave))
                .route("/teams/{id}/enrolments", web::get().to(teams::enrolments))
                .route("/teams/{id}/submissions", web::get().to(teams::submissions))
                .route("/invitations", web::get().to(teams::my_invitations))
                .route("/invitations/{id}/accept", web::post().to(teams::accept))
                .route("/invitations/{id}/decline", web::post().to(teams::decline))
                .route("/me", web::get().to(users::me))
                .route("/users", web::get().to(users::list))
                .route("/users", web::post().to(users::create))
                .route("/users/{id}/tokens", web::post().to(users::issue_for))
                .route("/tokens", web::get().to(users::list_own))
                .route("/tokens", web::post().to(users::issue_own))
                .route("/tokens/{id}", web::delete().to(users::revoke))
                .route("/notifications", web::get().to(notifications::list))
                .route("/notifications/read", web::post().to(notifications::read))
                .route("/audit", web::get().to(audit::list))
                .route("/admin/overview", web::get().to(overview::overview))
                .route("/admin/jobs", web::get().to(overview::jobs)),
        )
        .service(
            web::scope("/internal/v1")
                .route("/workers", web::post().to(internal::register))
                .route("/jobs/claim", web::post().to(internal::claim))
                .route("/jobs/{id}/heartbeat", web::post().to(internal::heartbeat))
                .route("/jobs/{id}/hand-back", web::post().to(internal::hand_back))
                .route("/jobs/{id}/stage", web::post().to(internal::stage))
                .route("/jobs/{id}/result", web::post().to(internal::result))
                .route("/images/{digest}", web::get().to(internal::blob))
                .route("/blobs/{digest}", web::get().to(internal::blob)),
        );
}

/// The whole application: state, routes, errors for unknown paths (JSON under the APIs,
/// a page elsewhere), request log.
pub fn build(
    state: AppState,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    App::new()
        .app_data(web::Data::new(state))
        .configure(config)
        .default_service(web::to(unknown_route))
        .wrap(actix_web::middleware::from_fn(crate::ratelimit::limit))
        .wrap(actix_web::middleware::from_fn(crate::auth::authenticate))
        .wrap(actix_web::middleware::from_fn(
            crate::pages::errors::html_errors,
        ))
        .wrap(actix_web::middleware::from_fn(
            crate::conditional::conditional_get,
        ))
        .wrap(security_headers())
        .wrap(actix_web::middleware::from_fn(crate::metrics::observe))
        .wrap(actix_web::middleware::from_fn(head_as_get))
        // The path without its query: OpenID Connect codes and states travel in queries.
        .wrap(
            actix_web::middleware::Logger::new("%{method}xi %U %s %b %Dms")
                .custom_request_replace("method", |req| req.method().to_string()),
        )
}

/// Middleware: a HEAD request is routed as the GET it stands for; the HTTP layer then
/// sends the GET's headers (length included) without the body.
async fn head_as_get(
    mut request: ServiceRequest,
    next: actix_web::middleware::Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    if request.method() == actix_web::http::Method::HEAD {
        request.head_mut().method = actix_web::http::Method::GET;
    }
    next.call(request).await
}

/// What browsers are told on every answer: load nothing from elsewhere and run no inline
/// script or style (the pages have none), never be framed, never sniff types, and send
/// no referrer to other sites.
fn security_headers() -> actix_web::middleware::DefaultHeaders {
    actix_web::middleware::DefaultHeaders::new()
        .add((
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; \
             form-action 'self'; frame-ancestors 'none'",
        ))
        .add(("X-Content-Type-Options", "nosniff"))
        .add(("Referrer-Policy", "same-origin"))
        .add(("X-Frame-Options", "DENY"))
}

/// `GET /healthz`: the process answers. From memory, so it stays fast whatever the
/// database or the request threads are doing; `/readyz` asks the database.
async fn alive() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({"status": "ok"}))
}

/// `GET /readyz`: the database answers (503 otherwise), so a load balancer sends work
/// here.
async fn ready(state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    state
        .db
        .read(|conn| {
            use diesel::connection::SimpleConnection;
            conn.batch_execute("SELECT 1")?;
            Ok(())
        })
        .await
        .map_err(|error| {
            tracing::warn!(%error, "readiness check: the database does not answer");
            AppError::Unavailable("the database does not answer".into())
        })?;
    Ok(HttpResponse::Ok().json(serde_json::json!({"status": "ready"})))
}

async fn unknown_route(req: HttpRequest) -> Result<HttpResponse, AppError> {
    Err(AppError::missing(
        "route",
        format_args!("{} {}", req.method(), req.path()),
    ))
}
