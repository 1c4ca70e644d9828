//! The rules both faces of the platform apply — the JSON API and the pages: handlers parse
//! the request, call one of these, and render what it returns, so a rule exists once.

pub mod accelerator_waits;
pub mod awards;
pub mod billing;
pub mod boards;
pub mod compare;
pub mod downloads;
pub mod judging;
pub mod notifications;
pub mod overview;
pub mod package_changes;
pub mod packages;
pub mod paging;
pub mod retention;
pub mod reviews;
pub mod scenarios;
pub mod significance;
pub mod submissions;
pub mod teams;
pub mod technical_reports;
pub mod upload;
pub mod utilisation;
