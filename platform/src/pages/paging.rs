//! Long lists on the web pages come a page at a time: "Showing 1–50 of 2,000" and links to
//! the pages either side, which keep the page's other query parameters.

use serde::{Deserialize, Serialize};

use crate::db::models::Page;
use crate::error::AppError;
use crate::pages::PageContext;
use crate::services::paging::page_of;

/// Rows a web page lists at a time.
pub const ROWS_PER_PAGE: u32 = 50;

/// Query parameters that say something once (a notice, a language switch) and are not
/// carried to the next page.
const ONE_SHOT: &[&str] = &["lang", "invited", "enrolled", "saved"];

/// Page `number` (from `?page=` or the like; 1 when absent) of `per_page` rows (from
/// `?per_page=`, at most 100; `default` when absent).
pub fn page_number(
    number: Option<u32>,
    per_page: Option<u32>,
    default: u32,
) -> Result<Page, AppError> {
    page_of(Some(number.unwrap_or(1)), Some(per_page.unwrap_or(default)))
}

/// `?page=&per_page=` of a page with one list; other parameters (`lang`) pass.
#[derive(Debug, Deserialize)]
pub struct ListQuery {
    pub page: Option<u32>,
    pub per_page: Option<u32>,
}

/// What `layout/pager` shows under a list.
#[derive(Debug, Default, Serialize)]
pub struct Pager {
    /// "Showing 1–50 of 2,000"; none when the page is empty.
    pub showing: Option<String>,
    pub previous_url: Option<String>,
    pub next_url: Option<String>,
}

impl Pager {
    /// The pager of `paging`, which shows `shown` of `total` rows; its links are this page
    /// with `param` (`page`, or the list's own when a page has several) set.
    pub fn new(page: &PageContext, paging: Page, shown: usize, total: i64, param: &str) -> Self {
        let first = paging.offset();
        let last = first + i64::try_from(shown).unwrap_or(i64::MAX);
        let link = |number: u32| link_to(&page.here, param, number);
        Self {
            showing: (shown > 0).then(|| {
                page.text("paging.showing")
                    .replace("{from}", &grouped(first + 1))
                    .replace("{to}", &grouped(last))
                    .replace("{total}", &grouped(total))
            }),
            previous_url: (paging.number > 1).then(|| link(paging.number - 1)),
            next_url: (last < total).then(|| link(paging.number + 1)),
        }
    }
}

/// `here` (a path and query) with `param` set to `number` and one-shot parameters left out.
fn link_to(here: &str, param: &str, number: u32) -> String {
    let (path, query) = here.split_once('?').unwrap_or((here, ""));
    let mut pairs: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
        .filter(|(key, _)| key != param && !ONE_SHOT.contains(&key.as_ref()))
        .map(|(key, value)| (key.into_owned(), value.into_owned()))
        .collect();
    pairs.push((param.to_owned(), number.to_string()));
    let query = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish();
    format!("{path}?{query}")
}

/// A count with its thousands grouped: 2000 → "2,000".
pub fn grouped(count: i64) -> String {
    let digits = count.unsigned_abs().to_string();
    let mut text = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if count < 0 {
        text.push('-');
    }
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            text.push(',');
        }
        text.push(digit);
    }
    text
}

/// Fen as yuan on a page, thousands grouped: 300000000 → "3,000,000.00" (CSV files keep
/// `awards::yuan`'s plain digits, which spreadsheets read as numbers).
pub fn grouped_yuan(fen: i64) -> String {
    let sign = if fen < 0 { "-" } else { "" };
    let fen = fen.unsigned_abs();
    let whole = i64::try_from(fen / 100).unwrap_or(i64::MAX);
    format!("{sign}{}.{:02}", grouped(whole), fen % 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_grouped_by_thousands() {
        let shown: Vec<String> = [0, 7, 999, 1000, 2000, 123_456, 1_234_567, -4500]
            .into_iter()
            .map(grouped)
            .collect();
        assert_eq!(
            shown,
            [
                "0",
                "7",
                "999",
                "1,000",
                "2,000",
                "123,456",
                "1,234,567",
                "-4,500"
            ]
        );
    }

    #[test]
    fn yuan_on_pages_is_grouped_and_keeps_its_fen() {
        assert_eq!(grouped_yuan(300_000_000), "3,000,000.00");
        assert_eq!(grouped_yuan(123_456_789), "1,234,567.89");
        assert_eq!(grouped_yuan(5), "0.05");
        assert_eq!(grouped_yuan(-150_050), "-1,500.50");
    }

    #[test]
    fn links_keep_filters_and_drop_one_shot_parameters() {
        assert_eq!(link_to("/", "page", 2), "/?page=2");
        assert_eq!(
            link_to("/?town=konggang&page=3&lang=en&status=open", "page", 4),
            "/?town=konggang&status=open&page=4"
        );
        assert_eq!(
            link_to("/teams/t1?invited=1&page=2", "enrolments_page", 3),
            "/teams/t1?page=2&enrolments_page=3"
        );
        assert_eq!(
            link_to("/?domain=a%26b", "page", 2),
            "/?domain=a%26b&page=2"
        );
    }
}
