//! #[pg_test]s, one file per area. Each file holds a `#[pg_schema] mod tests`, the
//! schema pgrx-tests calls the test functions in.
mod foundation;
