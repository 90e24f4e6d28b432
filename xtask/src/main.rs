//! Project tasks. On this branch only `bench` exists (the relay benchmark); the lead's main.rs registers it with
//! `mod bench_relay;` and a `bench_relay::run()?;` call in its `bench` task.

mod bench_relay;

fn main() -> anyhow::Result<()> {
    match std::env::args().nth(1).as_deref() {
        Some("bench") => bench_relay::run(),
        _ => {
            eprintln!("usage: cargo run -p xtask -- bench");
            Ok(())
        }
    }
}
