//! Starts the AWS emulator (moto behind the loopback front), seeds the sample
//! organisation, prints the endpoint on stdout and keeps serving until its
//! standard input closes. `scripts/demo.sh` runs `cmkscan scan` against it.

#[path = "../tests/support/mod.rs"]
mod support;

use std::io::Read;

#[tokio::main]
async fn main() {
    let emulator = support::Emulator::start().await;
    let org = support::sample_org::seed(&emulator).await;
    eprintln!(
        "sample organisation seeded: management {}, prod {}, dev {}, legacy {} (role missing), sandbox {} (suspended)",
        support::MANAGEMENT_ACCOUNT,
        org.prod,
        org.dev,
        org.legacy,
        org.sandbox
    );
    println!("{}", emulator.endpoint());
    // Serve until the caller closes our stdin (or dies).
    let _ = tokio::task::spawn_blocking(|| {
        let mut sink = Vec::new();
        std::io::stdin().read_to_end(&mut sink)
    })
    .await;
}
