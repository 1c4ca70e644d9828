//! The JSON API under `/api/v1`: one module of thin handlers per domain; the rules they
//! apply live in [`crate::services`].

pub mod audit;
pub mod awards;
pub mod compare;
pub mod downloads;
pub mod input;
pub mod internal;
pub mod judging;
pub mod organizations;
pub mod overview;
pub mod packages;
pub mod results;
pub mod reviews;
pub mod scenarios;
pub mod submissions;
pub mod teams;
pub mod users;
