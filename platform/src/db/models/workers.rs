//! Evaluation workers: registered nodes with their capabilities.

use diesel::prelude::*;
use jiebang_evaluator::protocol::{Device, Registration};
use jiebang_scenarios::package::Resources;

use crate::db::ids::{UserId, WorkerId};
use crate::db::models::{Page, audit, paged};
use crate::db::schema::workers;
use crate::db::{DbConnection, now_millis};
use crate::error::AppError;
use crate::validate::FieldProblem;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = workers)]
pub struct Worker {
    pub id: WorkerId,
    pub name: String,
    pub user_id: UserId,
    pub cpus: i32,
    pub memory_mb: i64,
    /// JSON list of [`jiebang_evaluator::protocol::Device`]: `{"id", "model"}`.
    pub accelerators: String,
    pub registered_at: i64,
    pub last_seen_at: i64,
}

impl Worker {
    /// The node's accelerators as it registered them; an inventory stored that does not
    /// parse is an error naming the worker.
    pub fn devices(&self) -> Result<Vec<Device>, AppError> {
        serde_json::from_str(&self.accelerators).map_err(|error| {
            AppError::Internal(format!(
                "the stored accelerators of worker `{}` do not parse: {error}",
                self.id
            ))
        })
    }

    /// Whether the node has what `resources` asks for: CPUs, memory and accelerators (of
    /// the model named, if one is).
    pub fn fits(&self, resources: &Resources) -> Result<bool, AppError> {
        let matching = of_model(&self.devices()?, resources.accelerator_model.as_deref());
        Ok(
            usize::try_from(resources.accelerators).unwrap_or(usize::MAX) <= matching
                && resources.cpus <= f64::from(self.cpus)
                && i64::try_from(resources.memory_mb).unwrap_or(i64::MAX) <= self.memory_mb,
        )
    }
}

/// How many of `devices` are of `model` (any model when `None`).
pub fn of_model(devices: &[Device], model: Option<&str>) -> usize {
    devices
        .iter()
        .filter(|d| model.is_none_or(|m| d.model == m))
        .count()
}

pub fn register(
    conn: &mut DbConnection,
    owner: &UserId,
    form: Registration,
) -> Result<Worker, AppError> {
    crate::validate::text("name", &form.name, 100)?;
    if form.cpus == 0 {
        return Err(FieldProblem::new("cpus", "at_least", "must be at least 1")
            .with("min", 1)
            .into());
    }
    if form.memory_mb == 0 {
        return Err(
            FieldProblem::new("memory_mb", "at_least", "must be at least 1")
                .with("min", 1)
                .into(),
        );
    }
    let now = now_millis();
    let worker = Worker {
        id: WorkerId::generate(),
        name: form.name,
        user_id: owner.clone(),
        cpus: i32::try_from(form.cpus).unwrap_or(i32::MAX),
        memory_mb: i64::try_from(form.memory_mb).unwrap_or(i64::MAX),
        accelerators: serde_json::to_string(&form.accelerators).unwrap_or_else(|_| "[]".to_owned()),
        registered_at: now,
        last_seen_at: now,
    };
    diesel::insert_into(workers::table)
        .values(&worker)
        .execute(conn)?;
    audit::record(
        conn,
        Some(owner),
        "worker.register",
        "worker",
        worker.id.as_str(),
        serde_json::json!({"name": worker.name, "cpus": worker.cpus, "accelerators": form.accelerators}),
    )?;
    Ok(worker)
}

pub fn find(conn: &mut DbConnection, id: &WorkerId) -> QueryResult<Option<Worker>> {
    workers::table
        .find(id)
        .select(Worker::as_select())
        .first(conn)
        .optional()
}

pub fn seen(conn: &mut DbConnection, id: &WorkerId) -> QueryResult<()> {
    diesel::update(workers::table.find(id))
        .set(workers::last_seen_at.eq(now_millis()))
        .execute(conn)?;
    Ok(())
}

/// Workers heard from at or after `since` (milliseconds), but those of `except` (a user
/// whose workers are one-shot, such as Slurm's), in the order they registered.
pub fn seen_since(
    conn: &mut DbConnection,
    since: i64,
    except: Option<&UserId>,
) -> QueryResult<Vec<Worker>> {
    let mut query = workers::table
        .filter(workers::last_seen_at.ge(since))
        .order((workers::registered_at.asc(), workers::id.asc()))
        .select(Worker::as_select())
        .into_boxed();
    if let Some(user) = except {
        query = query.filter(workers::user_id.ne(user));
    }
    query.load(conn)
}

/// Workers heard from at or after `since` (milliseconds).
pub fn count_seen_since(conn: &mut DbConnection, since: i64) -> QueryResult<i64> {
    workers::table
        .filter(workers::last_seen_at.ge(since))
        .count()
        .get_result(conn)
}

/// A page of the workers, in the order they registered.
pub fn list(conn: &mut DbConnection, page: Page) -> QueryResult<(Vec<Worker>, i64)> {
    paged!(
        conn,
        page,
        workers::table,
        order: (workers::registered_at.asc(), workers::id.asc()),
        select: Worker::as_select(),
    )
}
