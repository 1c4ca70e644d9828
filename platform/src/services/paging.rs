//! Lists that can grow come a page at a time: the query, its bounds, the answer's shape.

use serde::{Deserialize, Serialize};

use crate::db::models::Page;
use crate::error::AppError;

pub const MAX_PER_PAGE: u32 = 100;

/// `?page=&per_page=` with bounds checked.
#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PageQuery {
    pub page: Option<u32>,
    pub per_page: Option<u32>,
}

pub fn page_of(page: Option<u32>, per_page: Option<u32>) -> Result<Page, AppError> {
    let number = page.unwrap_or(1);
    let size = per_page.unwrap_or(20);
    if number == 0 {
        return Err(AppError::bad_request(
            "bad_query",
            "query parameter `page` starts at 1",
        ));
    }
    if size == 0 || size > MAX_PER_PAGE {
        return Err(AppError::bad_request(
            "bad_query",
            format!("query parameter `per_page` must be between 1 and {MAX_PER_PAGE}"),
        ));
    }
    Ok(Page { number, size })
}

/// A page of a listing with what a client needs to fetch the next.
#[derive(Debug, Serialize)]
pub struct Paginated<T> {
    pub items: Vec<T>,
    pub page: u32,
    pub per_page: u32,
    pub total: i64,
}

impl<T> Paginated<T> {
    pub fn new(items: Vec<T>, page: Page, total: i64) -> Self {
        Self {
            items,
            page: page.number,
            per_page: page.size,
            total,
        }
    }

    /// A page the data layer returned as `(rows, total)`, each row shown through `view`.
    pub fn of<R>((rows, total): (Vec<R>, i64), page: Page, view: impl FnMut(R) -> T) -> Self {
        Self::new(rows.into_iter().map(view).collect(), page, total)
    }
}

impl PageQuery {
    /// The page asked for, checked.
    pub fn page(self) -> Result<Page, AppError> {
        page_of(self.page, self.per_page)
    }
}
