//! The worker side of Jiebang: claims jobs, drives the harness, scores and reports.
