//! Jiebang's platform: the HTTP API, the data layer and the command line behind `jiebang`.

pub mod api;
pub mod auth;
pub mod backup;
pub mod bootstrap;
pub mod catalog;
pub mod cli;
pub mod conditional;
pub mod config;
pub mod db;
pub mod error;
pub mod mail;
pub mod metrics;
pub mod oidc;
pub mod oidc_routes;
pub mod packages;
pub mod pages;
pub mod ratelimit;
pub mod routes;
pub mod server;
pub mod services;
pub mod shutdown;
pub mod state;
pub mod storage;
pub mod time;
pub mod validate;
pub mod worker;
