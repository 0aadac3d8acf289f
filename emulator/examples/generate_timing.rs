//! Prints how long generating and loading a large tenant takes.
//!
//! `cargo run --release -p roster-m365-emulator --example generate_timing -- 200000`

use roster_m365_emulator::generate::{generate, GenerateSpec};
use roster_m365_emulator::tenant::Tenant;
use std::time::Instant;

fn main() -> anyhow::Result<()> {
    let users: usize = std::env::args()
        .nth(1)
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(200_000);
    let start = Instant::now();
    let file = generate(&GenerateSpec {
        users,
        groups: users / 100,
        ..GenerateSpec::default()
    });
    let generated = start.elapsed();
    let tenant = Tenant::from_file(file)?;
    println!(
        "{} users, {} groups, {} contacts: generated in {generated:?}, generated and loaded in {:?}",
        tenant.users.len(),
        tenant.groups.len(),
        tenant.contacts.len(),
        start.elapsed()
    );
    Ok(())
}
