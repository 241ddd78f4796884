//! A standalone OTLP/HTTP trace receiver (the e2e tests' [`e2e::otlp::Receiver`]), for
//! measuring the services with trace export on: `otlp-receiver [addr]` (default
//! 127.0.0.1:4318) accepts and decodes every export, prints the count every 10 s and keeps
//! nothing.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let addr: SocketAddr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:4318".into())
        .parse()
        .context("usage: otlp-receiver [addr]")?;
    let receiver = e2e::otlp::Receiver::start(addr).await?;
    println!("otlp-receiver: listening on {}", receiver.endpoint());
    let mut total = 0;
    loop {
        tokio::time::sleep(Duration::from_secs(10)).await;
        total += receiver.spans().len();
        receiver.clear();
        println!(
            "otlp-receiver: {} export requests, {total} spans",
            receiver.requests()
        );
    }
}
