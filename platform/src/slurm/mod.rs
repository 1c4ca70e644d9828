//! Slurm mode: the platform stays the queue of record and Slurm places one-shot workers
//! (`jiebang worker --once`) on nodes with the accelerators a job needs.

pub mod autoscaler;
pub mod commands;
pub mod granted;

pub use autoscaler::{Autoscaler, Round, SLURM_LOGIN};
