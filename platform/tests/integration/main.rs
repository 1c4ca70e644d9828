//! Integration tests of the platform: the real app on SQLite and on PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod bad_input;
mod binary;
mod catalog;
mod cli_submit;
mod common;
mod consoles;
mod evaluation;
mod internal;
mod matrix;
mod migrations;
mod newcomer;
mod overview;
mod packages;
mod queue;
mod restart;
mod scenarios;
mod teams;
mod uploads;
