//! The PostgreSQL test server, shared by every crate's PostgreSQL tests
//! (they include this file with `#[path]`, so it needs nothing but std).

/// `AIRBRIDGE_TEST_PG`, or `None` (a skip, said on stderr) — unless
/// `AIRBRIDGE_REQUIRE_PG=1`, as in CI, where a missing server fails.
#[allow(clippy::print_stderr, dead_code)]
pub fn pg_url() -> Option<String> {
    match std::env::var("AIRBRIDGE_TEST_PG") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            assert!(
                std::env::var("AIRBRIDGE_REQUIRE_PG").as_deref() != Ok("1"),
                "AIRBRIDGE_REQUIRE_PG=1 but AIRBRIDGE_TEST_PG is not set"
            );
            eprintln!("PostgreSQL tests skipped: set AIRBRIDGE_TEST_PG (scripts/test.sh does)");
            None
        }
    }
}
