//! The memory ceiling (its own test binary: the ceiling is process-wide).

use twice::replay::engine::FailureKind;
use twice::replay::sqlite::StatementEngine;
use twice::replay::sqlite::{SandboxConfig, SqliteEngine};

#[test]
fn memory_ceiling_stops_a_statement_instead_of_exhausting_the_machine() {
    let cfg = SandboxConfig {
        heap_limit: 256 << 20,
        ..SandboxConfig::default()
    };
    let mut e = SqliteEngine::open(&cfg).unwrap();
    // twice's own allocator keeps the ceiling (no SQLite memory mutex): it
    // counts what the open connection holds.
    assert!(twice::replay::sqlite::heap::in_use() > 0);
    e.begin(&[]).unwrap();
    let sql = "CREATE TABLE b (x); INSERT INTO b SELECT zeroblob(30000000) FROM \
               (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 40) \
               SELECT x FROM c)";
    let (_, next) = e.prepare_next(sql).unwrap().unwrap();
    e.step().unwrap();
    e.prepare_next(&sql[next..]).unwrap().unwrap();
    let err = e.step().unwrap_err();
    assert_eq!(err.kind, FailureKind::Limit, "{err:?}");
    assert!(err.message.contains("memory"), "{}", err.message);
    // The engine is still usable afterwards.
    e.rollback().unwrap();
    e.begin(&[]).unwrap();
    let (r, _) = e.prepare_next("SELECT 1").unwrap().unwrap();
    assert_eq!(r, 0..8);
    e.step().unwrap();
}
