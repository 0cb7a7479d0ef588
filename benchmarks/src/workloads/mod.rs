//! The jobs Sluice measures, each one function that builds its dataflow, shared by `sluice run`
//! and `sluice bench` so that what is measured is what users run.

pub mod lines;
pub mod wordcount;
