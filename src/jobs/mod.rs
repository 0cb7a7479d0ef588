//! Ready-made jobs, as the `sluice run` command runs them.

pub mod lines;
pub mod wordcount;
