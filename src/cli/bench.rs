//! `sluice bench`: placeholder wiring, filled in below.
use clap::Args;

#[derive(Args, Debug)]
pub struct BenchArgs {}

pub fn bench(_: BenchArgs) -> Result<(), Box<dyn std::error::Error>> {
    Err("not yet".into())
}
