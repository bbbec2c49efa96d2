//! #[pg_test]s of the foundation: each runs inside BEGIN ... ROLLBACK on a real server.
#[pgrx::pg_schema]
mod tests {
    use pgrx::prelude::*;

    fn count(sql: &str) -> i64 {
        Spi::get_one::<i64>(sql).unwrap().unwrap_or(-1)
    }

    #[pg_test]
    fn catalog_and_store_exist() {
        for table in [
            "migration_engine.knowledge_migrations",
            "migration_engine.migration_execution_state",
            "migration_engine.schema_versions",
            "migration_engine.active_schema_version",
            "migration_engine.audit_log",
            "kg.temporal_entities",
            "kg.temporal_relations",
        ] {
            let exists = Spi::get_one_with_args::<bool>(
                "SELECT to_regclass($1) IS NOT NULL",
                &[table.into()],
            );
            assert_eq!(exists, Ok(Some(true)), "{table} missing");
        }
        assert_eq!(
            count("SELECT count(*) FROM migration_engine.active_schema_version"),
            1
        );
    }

    #[pg_test]
    fn upsert_keeps_history() {
        let id = Spi::get_one::<pgrx::Uuid>(
            "SELECT migration_engine.upsert_entity('Person', '{\"name\":\"Ada\"}')",
        )
        .unwrap()
        .unwrap();
        let args = [id.into()];
        Spi::run_with_args(
            "SELECT migration_engine.upsert_entity('Person', '{\"name\":\"Ada L\"}', $1)",
            &args,
        )
        .unwrap();
        // identical write: no new version
        Spi::run_with_args(
            "SELECT migration_engine.upsert_entity('Person', '{\"name\":\"Ada L\"}', $1)",
            &args,
        )
        .unwrap();
        let versions = Spi::get_one_with_args::<i64>(
            "SELECT count(*) FROM kg.temporal_entities WHERE entity_id = $1",
            &args,
        );
        assert_eq!(versions, Ok(Some(2)));
        let current = Spi::get_one_with_args::<String>(
            "SELECT content->>'name' FROM migration_engine.entity_as_of($1)",
            &args,
        );
        assert_eq!(current, Ok(Some("Ada L".to_string())));
    }

    #[pg_test(error = "entity type \"bad-type\" is not a plain identifier")]
    fn upsert_refuses_bad_type() {
        Spi::run("SELECT migration_engine.upsert_entity('bad-type', '{}')").unwrap();
    }

    #[pg_test]
    fn delete_is_soft() {
        let id =
            Spi::get_one::<pgrx::Uuid>("SELECT migration_engine.upsert_entity('Doc', '{\"t\":1}')")
                .unwrap()
                .unwrap();
        let args = [id.into()];
        assert_eq!(
            Spi::get_one_with_args::<bool>("SELECT migration_engine.delete_entity($1)", &args),
            Ok(Some(true))
        );
        assert_eq!(
            Spi::get_one_with_args::<bool>("SELECT migration_engine.delete_entity($1)", &args),
            Ok(Some(false))
        );
        let rows = Spi::get_one_with_args::<i64>(
            "SELECT count(*) FROM kg.temporal_entities WHERE entity_id = $1",
            &args,
        );
        assert_eq!(rows, Ok(Some(2)));
        let visible = Spi::get_one_with_args::<i64>(
            "SELECT count(*) FROM migration_engine.entity_as_of($1)",
            &args,
        );
        assert_eq!(visible, Ok(Some(0)));
    }

    #[pg_test]
    fn sqlstate_text_decodes() {
        use crate::spi::subxact::sqlstate_text;
        assert_eq!(
            sqlstate_text(PgSqlErrorCode::ERRCODE_UNIQUE_VIOLATION),
            "23505"
        );
        assert_eq!(sqlstate_text(PgSqlErrorCode::ERRCODE_INVALID_NAME), "42602");
    }

    #[pg_test]
    fn subtransaction_rolls_back_only_itself() {
        Spi::run("CREATE TEMP TABLE t(x int)").unwrap();
        let r = crate::spi::subxact::in_subtransaction(|| {
            Spi::run("INSERT INTO t VALUES (1)").unwrap();
            Spi::run("INSERT INTO t VALUES ('nope')").unwrap();
        });
        assert!(r.is_err());
        assert_eq!(r.unwrap_err().sqlstate(), "22P02");
        crate::spi::subxact::in_subtransaction(|| Spi::run("INSERT INTO t VALUES (2)").unwrap())
            .unwrap();
        assert_eq!(count("SELECT sum(x) FROM t"), 2);
    }

    /// A stand-in for a bug in an entry point: every #[pg_extern] of the extension is
    /// wrapped by pgrx's guard (none uses `no_guard`; scripts/test checks), so a panic
    /// becomes an ERROR of the statement, never a crash of the backend.
    #[pg_extern]
    fn panics_like_a_bug() -> i32 {
        let v: Vec<i32> = Vec::new();
        v[usize::from(v.is_empty())] // index out of bounds
    }

    #[pg_test]
    fn a_panic_becomes_an_error_and_the_session_goes_on() {
        let r = crate::spi::subxact::in_subtransaction(|| {
            Spi::get_one::<i32>("SELECT tests.panics_like_a_bug()").ok()
        });
        let e = r.expect_err("the panic must surface as an ERROR");
        assert_eq!(e.sqlstate(), "XX000");
        assert!(e.message.contains("index out of bounds"), "{}", e.message);
        assert_eq!(count("SELECT 1"), 1, "the session goes on");
    }

    /// The one quoter (the core's) writes what PostgreSQL's quote_literal writes, for
    /// quotes, backslashes (the E'' form), non-ASCII and empty text.
    #[pg_test]
    fn the_cores_quoter_writes_what_postgres_writes() {
        for text in [
            "",
            "abc",
            "O'Brien",
            r"C:\dir",
            r"it's \n",
            "é ü 漢字 🙂",
            "''",
            r"\",
            "a\nb",
        ] {
            let ours = crate::spi::literal(text);
            let theirs =
                Spi::get_one_with_args::<String>("SELECT quote_literal($1)", &[text.into()])
                    .unwrap()
                    .unwrap();
            assert_eq!(ours, theirs, "{text:?}");
        }
    }

    /// A jsonb result written in binary (JsonbOut) holds the very bytes jsonb_in stores
    /// for the same value's text: scalars of every kind, numbers integral, fractional,
    /// with exponents and of many digits, keys needing the storage order, containers
    /// past the 32-entry offset stride, nesting, and pseudo-random documents.
    #[pg_test]
    fn binary_jsonb_results_are_what_jsonb_in_stores() {
        use pgrx::IntoDatum;
        use serde_json::{json, Value};
        fn bytes_of(datum: pg_sys::Datum) -> Vec<u8> {
            // SAFETY: the datum is a non-null, untoasted varlena with a 4-byte header
            // (jsonb_in's result, or JsonbOut's palloc'd copy), alive in this context
            unsafe {
                let p = datum.cast_mut_ptr::<u8>();
                let len = pgrx::varsize_any(p as *const pg_sys::varlena);
                std::slice::from_raw_parts(p, len).to_vec()
            }
        }
        let mut values = vec![
            json!(null),
            json!(true),
            json!(false),
            json!(0),
            json!(-0.0),
            json!(1),
            json!(-1),
            json!(12.5),
            json!(1e300),
            json!(-1.5e-7),
            json!(123456789012345678u64),
            json!(i64::MIN),
            json!(0.1),
            json!(""),
            json!("é ü 漢字 🙂"),
            json!([]),
            json!({}),
            json!({"b": 1, "aa": 2, "a": 3, "": 4}),
            json!((0..100).collect::<Vec<_>>()),
            json!((0..70)
                .map(|i| (format!("k{i}"), json!(i)))
                .collect::<serde_json::Map<_, _>>()),
            json!([[[[{"deep": [1, "x", null]}]]]]),
        ];
        let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = move || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            seed >> 33
        };
        fn random(next: &mut dyn FnMut() -> u64, depth: u32) -> Value {
            match next() % if depth > 3 { 5 } else { 7 } {
                0 => Value::Null,
                1 => json!(next().is_multiple_of(2)),
                2 => json!(next() as i64 - (1 << 30)),
                3 => json!((next() as f64) / 977.0),
                4 => json!(format!("s{}", next() % 1000)),
                5 => Value::Array((0..next() % 40).map(|_| random(next, depth + 1)).collect()),
                _ => Value::Object(
                    (0..next() % 40)
                        .map(|_| (format!("{}", next() % 500), random(next, depth + 1)))
                        .collect(),
                ),
            }
        }
        for _ in 0..200 {
            values.push(random(&mut next, 0));
        }
        for v in values {
            let ours = bytes_of(
                crate::spi::jsonb_out::JsonbOut::new(&v)
                    .unwrap()
                    .into_datum()
                    .unwrap(),
            );
            let theirs = bytes_of(pgrx::JsonB(v.clone()).into_datum().unwrap());
            assert_eq!(ours, theirs, "{v}");
        }
    }
}
