//! Load shedding: each visitor (by IP address when not signed in, by person otherwise) gets
//! a budget of requests per minute and of uploads per hour; past it the answer is 429 with
//! `Retry-After`, before any handler or database work, so one busy client cannot stall the
//! platform for the others. Workers, health checks and static assets are never limited.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{Method, header};
use actix_web::middleware::Next;
use actix_web::{HttpResponse, ResponseError, web};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::config::Config;
use crate::db::ids::UserId;
use crate::error::AppError;
use crate::state::AppState;

/// Who a budget belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Visitor {
    Address(IpAddr),
    Person(UserId),
}

/// The limiters of one platform, shared by every request thread.
#[derive(Clone)]
pub struct RateLimits {
    anonymous: Option<Arc<DefaultKeyedRateLimiter<Visitor>>>,
    signed_in: Option<Arc<DefaultKeyedRateLimiter<Visitor>>>,
    uploads: Option<Arc<DefaultKeyedRateLimiter<Visitor>>>,
}

fn limiter(quota: Option<Quota>) -> Option<Arc<DefaultKeyedRateLimiter<Visitor>>> {
    quota.map(|quota| Arc::new(RateLimiter::keyed(quota)))
}

impl RateLimits {
    pub fn new(config: &Config) -> Self {
        let per_minute = |n: u32| NonZeroU32::new(n).map(Quota::per_minute);
        let per_hour = |n: u32| NonZeroU32::new(n).map(Quota::per_hour);
        Self {
            anonymous: limiter(per_minute(config.anonymous_requests_per_minute)),
            signed_in: limiter(per_minute(config.user_requests_per_minute)),
            uploads: limiter(per_hour(config.uploads_per_hour)),
        }
    }

    /// Forgets visitors whose budget is full again, so the tables stay small.
    pub fn shrink(&self) {
        for limiter in [&self.anonymous, &self.signed_in, &self.uploads]
            .into_iter()
            .flatten()
        {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
    }

    /// `Err(wait)` when the visitor is over one of its budgets for this request.
    fn check(&self, visitor: &Visitor, upload: bool) -> Result<(), Duration> {
        let general = match visitor {
            Visitor::Address(_) => &self.anonymous,
            Visitor::Person(_) => &self.signed_in,
        };
        let upload_limiter = if upload { &self.uploads } else { &None };
        for limiter in [general, upload_limiter].into_iter().flatten() {
            if let Err(not_until) = limiter.check_key(visitor) {
                return Err(not_until.wait_time_from(DefaultClock::default().now()));
            }
        }
        Ok(())
    }
}

/// Never limited: the workers' API (they have leases to keep), health checks, assets.
fn exempt(path: &str) -> bool {
    path.starts_with("/internal/")
        || path.starts_with("/static/")
        || path == "/healthz"
        || path == "/readyz"
        || path == "/metrics"
}

/// An upload: a submission's image, a scenario package or a technical report.
fn is_upload(request: &ServiceRequest) -> bool {
    (*request.method() == Method::POST
        && (request.path().ends_with("/submissions") || request.path().ends_with("/package")))
        || (*request.method() == Method::PUT && request.path().ends_with("/technical-report"))
}

/// Middleware; runs after authentication, which says who is calling.
pub async fn limit(
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let limits = request
        .app_data::<web::Data<AppState>>()
        .map(|state| state.rate_limits.clone());
    if let Some(limits) = limits
        && !exempt(request.path())
    {
        let visitor = match crate::auth::signed_in(request.request()) {
            Some(user) => Some(Visitor::Person(user)),
            None => request
                .peer_addr()
                .map(|address| Visitor::Address(address.ip())),
        };
        if let Some(visitor) = visitor
            && let Err(wait) = limits.check(&visitor, is_upload(&request))
        {
            let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            let refusal =
                AppError::TooManyRequests(format!("too many requests; try again in {seconds} s"));
            let mut response: HttpResponse = refusal.error_response();
            if let Ok(value) = header::HeaderValue::from_str(&seconds.max(1).to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
            let (request, _) = request.into_parts();
            return Ok(ServiceResponse::new(request, response));
        }
    }
    Ok(next.call(request).await?.map_into_boxed_body())
}
