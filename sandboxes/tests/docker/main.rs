//! The sandbox against the real Docker engine: hostile fixtures contained, bad archives
//! refused, nothing left behind.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod archives;
mod caps;
mod common;
mod containment;
mod devices;
mod images;
mod logs;
mod network;
mod services;
