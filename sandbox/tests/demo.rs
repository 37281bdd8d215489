//! `sandbox demo` end to end: every example reaches its promised state and the run succeeds.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_reconciles_every_example() {
    let args = sandbox::demo::Args {
        examples: concat!(env!("CARGO_MANIFEST_DIR"), "/../examples").into(),
        serve: false,
        timeout_seconds: 30,
    };
    if let Err(err) = sandbox::demo::run(args).await {
        panic!("demo failed: {err}");
    }
}
