//! Judges' reviews: one per judge and submission, with a 1–5 score and an award recommendation.

use diesel::prelude::*;
use serde::Deserialize;

use crate::db::ids::{ReviewId, ScenarioId, SubmissionId, TeamId, UserId};
use crate::db::models::{Page, audit, conflict_if_duplicate, paged};
use crate::db::schema::{reviews, submissions, teams, users};
use crate::db::{DbConnection, now_millis};
use crate::error::AppError;

/// The longest review text, in characters.
pub const MAX_TEXT_CHARS: usize = 10_000;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = reviews)]
pub struct Review {
    pub id: ReviewId,
    pub submission_id: SubmissionId,
    pub judge_id: UserId,
    pub score: i32,
    pub recommendation: Recommendation,
    pub body: String,
    pub created_at: i64,
    pub updated_at: i64,
}

jiebang_scenarios::text_enum! {
    sql;
    /// What a judge recommends for the submission.
    pub enum Recommendation: "recommendation" {
        None = "none",
        Shortlist = "shortlist",
        Award = "award",
    }
}

/// A review as a judge writes it (the body of `PUT …/review`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewReview {
    pub score: i64,
    pub recommendation: Recommendation,
    #[serde(default)]
    pub text: String,
}

impl NewReview {
    /// Every value within bounds; the error names the field.
    pub fn check(&self) -> Result<(), AppError> {
        if !(1..=5).contains(&self.score) {
            return Err(crate::validate::FieldProblem::new(
                "score",
                "out_of_range",
                format!("must be a whole number from 1 to 5, not {}", self.score),
            )
            .with("min", 1)
            .with("max", 5)
            .into());
        }
        Ok(crate::validate::prose("text", &self.text, MAX_TEXT_CHARS)?)
    }
}

pub fn find(
    conn: &mut DbConnection,
    submission: &SubmissionId,
    judge: &UserId,
) -> QueryResult<Option<Review>> {
    reviews::table
        .filter(reviews::submission_id.eq(submission))
        .filter(reviews::judge_id.eq(judge))
        .select(Review::as_select())
        .first(conn)
        .optional()
}

/// Writes the judge's review of the submission, replacing their earlier one; the flag says
/// whether it is new. Recorded in the audit log with the score and recommendation.
pub fn put(
    conn: &mut DbConnection,
    submission: &SubmissionId,
    judge: &UserId,
    form: &NewReview,
) -> Result<(Review, bool), AppError> {
    form.check()?;
    let now = now_millis();
    // `check` bounds the score to 1–5, so it fits.
    let score = i32::try_from(form.score).unwrap_or(1);
    let (review, created) = match find(conn, submission, judge)? {
        Some(existing) => {
            diesel::update(reviews::table.find(&existing.id))
                .set((
                    reviews::score.eq(score),
                    reviews::recommendation.eq(form.recommendation),
                    reviews::body.eq(&form.text),
                    reviews::updated_at.eq(now),
                ))
                .execute(conn)?;
            let review = Review {
                score,
                recommendation: form.recommendation,
                body: form.text.clone(),
                updated_at: now,
                ..existing
            };
            (review, false)
        }
        None => {
            let review = Review {
                id: ReviewId::generate(),
                submission_id: submission.clone(),
                judge_id: judge.clone(),
                score,
                recommendation: form.recommendation,
                body: form.text.clone(),
                created_at: now,
                updated_at: now,
            };
            // Two PUTs of one judge racing: the loser is told to send it again.
            diesel::insert_into(reviews::table)
                .values(&review)
                .execute(conn)
                .map_err(conflict_if_duplicate(|| {
                    AppError::conflict(
                        "review_conflict",
                        "your review of this submission changed meanwhile; send it again",
                    )
                }))?;
            (review, true)
        }
    };
    audit::record(
        conn,
        Some(judge),
        if created {
            "review.create"
        } else {
            "review.update"
        },
        "submission",
        submission.as_str(),
        serde_json::json!({
            "review_id": review.id,
            "score": review.score,
            "recommendation": review.recommendation,
            "text_chars": review.body.chars().count(),
        }),
    )?;
    Ok((review, created))
}

/// A review with who wrote it and what it is about.
#[derive(Debug, Clone, Queryable)]
pub struct ReviewRow {
    pub review: Review,
    pub judge_login: String,
    pub judge_name: String,
    pub team_id: TeamId,
    pub team_name: String,
}

/// A page of one submission's reviews, oldest first.
pub fn for_submission(
    conn: &mut DbConnection,
    submission: &SubmissionId,
    page: Page,
) -> QueryResult<(Vec<ReviewRow>, i64)> {
    paged!(
        conn,
        page,
        reviews::table
            .inner_join(users::table)
            .inner_join(submissions::table.inner_join(teams::table))
            .filter(reviews::submission_id.eq(submission)),
        order: (reviews::created_at.asc(), reviews::id.asc()),
        select: (
            Review::as_select(),
            users::login,
            users::display_name,
            teams::id,
            teams::name,
        ),
    )
}

/// A page of the reviews of a scenario's submissions, by team, then submission, then time.
pub fn for_scenario(
    conn: &mut DbConnection,
    scenario: &ScenarioId,
    page: Page,
) -> QueryResult<(Vec<ReviewRow>, i64)> {
    paged!(
        conn,
        page,
        reviews::table
            .inner_join(users::table)
            .inner_join(submissions::table.inner_join(teams::table))
            .filter(submissions::scenario_id.eq(scenario)),
        order: (
            teams::name.asc(),
            submissions::created_at.asc(),
            reviews::created_at.asc(),
            reviews::id.asc(),
        ),
        select: (
            Review::as_select(),
            users::login,
            users::display_name,
            teams::id,
            teams::name,
        ),
    )
}
