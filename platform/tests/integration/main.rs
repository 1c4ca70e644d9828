//! Integration tests of the platform: the real app on SQLite and on PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod bad_input;
mod binary;
mod browser;
mod browser_flow;
mod browser_signin;
mod catalog;
mod cli_submit;
mod common;
mod consoles;
mod consoles_pages;
mod evaluation;
mod internal;
mod matrix;
mod migrations;
mod newcomer;
mod oidc;
mod overview;
mod packages;
mod pages;
mod provider;
mod queue;
mod restart;
mod scenarios;
mod teams;
mod uploads;
