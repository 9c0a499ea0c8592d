//! Project chores that are programs rather than shell one-liners: `cargo xtask <task>`.

mod bench_analytics;
mod bench_api;
mod bench_dedup;
mod bench_import;
mod bench_ui;
mod docs;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "cargo xtask", about = "Guanxi project tasks")]
struct Cli {
    #[command(subcommand)]
    task: Task,
}

#[derive(Subcommand)]
enum Task {
    /// Benchmarks that report figures against the project's targets (not tests: nothing here fails CI).
    #[command(subcommand)]
    Bench(Bench),
}

#[derive(Subcommand)]
enum Bench {
    /// The JSON API end to end: bulk load, reads, lists and searches against a release server.
    Api(bench_api::ApiArgs),
    /// The duplicate scan: N synthetic contacts loaded through the API, then one timed contact scan.
    Dedup(bench_dedup::DedupArgs),
    /// `guanxi import` of an N-row contact CSV into a fresh database (rows/s, peak RSS), then `guanxi export`.
    Import(bench_import::ImportArgs),
    /// The web UI: server time of the contact page and the filtered contacts list at N contacts.
    Ui(bench_ui::UiArgs),
    /// Customer analytics against pandas/lifetimes/scikit-learn/mlxtend on the same data (and `guanxi analyze`
    /// on a SQLite database with --db).
    Analytics(bench_analytics::AnalyticsArgs),
    /// One task of the analytics benchmark in this process (run by `bench analytics`).
    #[command(hide = true)]
    AnalyticsWorker(bench_analytics::WorkerArgs),
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().task {
        Task::Bench(Bench::Api(args)) => bench_api::run(args),
        Task::Bench(Bench::Dedup(args)) => bench_dedup::run(args),
        Task::Bench(Bench::Ui(args)) => bench_ui::run(args),
        Task::Bench(Bench::Import(args)) => bench_import::run(args),
        Task::Bench(Bench::Analytics(args)) => bench_analytics::run(args),
        Task::Bench(Bench::AnalyticsWorker(args)) => bench_analytics::run_worker(args),
    }
}
