//! How the database would run a query: its plan, for tests that check a query uses its
//! indexes on both backends.

use std::marker::PhantomData;

use diesel::prelude::*;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::sql_types::{Integer, Text};

use crate::db::{DbConnection, MultiBackend};

/// `query` preceded by `keyword`, its rows of type `Row`.
struct Explain<Q, Row> {
    keyword: &'static str,
    query: Q,
    row: PhantomData<Row>,
}

impl<Q, Row> QueryId for Explain<Q, Row> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<Q: QueryFragment<MultiBackend>, Row> QueryFragment<MultiBackend> for Explain<Q, Row> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, MultiBackend>) -> QueryResult<()> {
        out.push_sql(self.keyword);
        out.push_sql(" ");
        self.query.walk_ast(out.reborrow())
    }
}

impl<Q, Row: diesel::sql_types::SqlType> Query for Explain<Q, Row> {
    type SqlType = Row;
}

impl<Q, Row> RunQueryDsl<DbConnection> for Explain<Q, Row> {}

/// The plan of `query` as the backend prints it, a line per step: PostgreSQL's `EXPLAIN`
/// ("Index Scan using … on …"), SQLite's `EXPLAIN QUERY PLAN` ("SEARCH … USING INDEX …").
pub fn plan_of<Q>(conn: &mut DbConnection, query: Q) -> QueryResult<Vec<String>>
where
    Q: QueryFragment<MultiBackend>,
{
    match conn {
        DbConnection::Postgres(_) => Explain::<Q, Text> {
            keyword: "EXPLAIN",
            query,
            row: PhantomData,
        }
        .load::<String>(conn),
        DbConnection::Sqlite(_) => Ok(Explain::<Q, (Integer, Integer, Integer, Text)> {
            keyword: "EXPLAIN QUERY PLAN",
            query,
            row: PhantomData,
        }
        .load::<(i32, i32, i32, String)>(conn)?
        .into_iter()
        .map(|(_, _, _, detail)| detail)
        .collect()),
    }
}
