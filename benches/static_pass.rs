//! Static-pass throughput against bare sqlparser parsing of the same files,
//! measured in the same run (issue 2's targets: at least 80% of sqlparser's
//! throughput and at least 10 MB/s on a mixed corpus).
//!
//! `cargo bench --bench static_pass [-- N]` (N migrations, default 2000).

#[path = "support/corpus.rs"]
mod corpus;

use std::time::{Duration, Instant};
use twice::analysis::{analyze_regions, NoSubstitution};
use twice::check::{static_findings, FileUnit};
use twice::dialect::Dialect;
use twice::model::Region;
use twice::source::SourceFile;

fn best_of<F: FnMut()>(runs: usize, mut f: F) -> Duration {
    (0..runs)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .min()
        .unwrap_or_default()
}

fn main() {
    let n: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(2000);
    let texts: Vec<String> = corpus::migrations(n).into_iter().map(|m| m.up).collect();
    let bytes: usize = texts.iter().map(String::len).sum();
    let dialect = Dialect::Sqlite;

    // Baseline: sqlparser alone, one parse of each whole file.
    let bare = best_of(5, || {
        for t in &texts {
            let d = dialect.parser();
            let _ = std::hint::black_box(sqlparser::parser::Parser::parse_sql(d.as_ref(), t));
        }
    });

    // twice's static pass: decode, split, parse each statement, classify, rules.
    let mut findings = 0;
    let audit = best_of(5, || {
        findings = 0;
        for (i, t) in texts.iter().enumerate() {
            let source = SourceFile::from_bytes(format!("{i}.sql"), None, t.as_bytes());
            let mut statements = Vec::new();
            let region = Region {
                range: 0..source.text.len(),
                single_statement: false,
            };
            analyze_regions(
                &source,
                &[region],
                dialect,
                &NoSubstitution,
                &mut statements,
            );
            let mut unit = FileUnit {
                source,
                dialect,
                statements,
            };
            findings += std::hint::black_box(static_findings(&mut unit)).len();
        }
    });

    let mb = bytes as f64 / 1e6;
    let rate = |d: Duration| mb / d.as_secs_f64();
    println!("corpus: {n} migrations, {mb:.2} MB, {findings} findings");
    println!(
        "bare sqlparser: {:>8.1} ms  {:>6.1} MB/s",
        bare.as_secs_f64() * 1e3,
        rate(bare)
    );
    println!(
        "static audit:   {:>8.1} ms  {:>6.1} MB/s",
        audit.as_secs_f64() * 1e3,
        rate(audit)
    );
    println!(
        "static audit throughput / sqlparser throughput: {:.2}",
        bare.as_secs_f64() / audit.as_secs_f64()
    );
}
