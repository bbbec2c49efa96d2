# Metrics and activity (issue 12, problem 10): every query of
# examples/prometheus/queries.yaml runs and returns the columns it declares, with
# numbers where it declares gauges, while a migration, a pipeline and a canary are in
# flight; and pg_stat_activity names the migration and step a backend runs
# (application_name migration_engine:<migration>:<step>).
. "$MIGRATION_ENGINE_ROOT/tests/client/lib.sh"

# things in flight: a blue-green switch behind us, a canary, a slow migration, a slow pipeline
q "SELECT migration_engine.upsert_entity('Person', jsonb_build_object('n', g)) FROM generate_series(1, 3000) g" >/dev/null
q "SELECT migration_engine.create_migration('{\"name\": \"bg\", \"version\": \"1\", \"forward\": [{\"name\": \"c\", \"type\": \"SQL\", \"script\": \"ALTER TABLE temporal_entities ADD COLUMN score int\"}], \"rollback\": [{\"name\": \"r\", \"type\": \"SQL\", \"script\": \"SELECT 1\"}]}')" >/dev/null
check "a switch to green" "$(q "SELECT migration_engine.execute_blue_green_migration((SELECT migration_id FROM migration_engine.knowledge_migrations WHERE migration_name = 'bg'), 'green')->>'success'")" "true"
q "SELECT migration_engine.create_migration('{\"name\": \"cn\", \"version\": \"1\", \"forward\": [{\"name\": \"c\", \"type\": \"SQL\", \"script\": \"ALTER TABLE temporal_entities ADD COLUMN rank int\"}], \"rollback\": [{\"name\": \"r\", \"type\": \"SQL\", \"script\": \"SELECT 1\"}]}')" >/dev/null
check "a canary" "$(q "SELECT migration_engine.start_canary('{\"migrationName\": \"cn\", \"stabilizationSeconds\": 3600}')->>'success'")" "true"
q "CREATE TABLE slow_items (id int PRIMARY KEY, v text)"
make_slow_migration slow 4 slow_items 1
psql -qX -c "CALL migration_engine.run_migration('slow')" >/dev/null 2>&1 &
q "CREATE FUNCTION public.slowly(item jsonb) RETURNS jsonb LANGUAGE sql AS \$\$ SELECT item || jsonb_build_object('t', pg_sleep(0.002)::text) \$\$"
psql -qX -c "CALL migration_engine.run_pipeline('{\"name\": \"slowpipe\", \"source\": {\"entityType\": \"Person\"}, \"batchSize\": 200, \"steps\": [{\"name\": \"s\", \"type\": \"CUSTOM\", \"config\": {\"function\": \"public.slowly\"}}]}')" >/tmp/me-prom-pipe.out 2>&1 &
wait_for "SELECT done_steps >= 1 FROM migration_engine.migration_status WHERE migration_name = 'slow'"
wait_for "SELECT rows_done > 0 FROM migration_engine.pipeline_progress WHERE pipeline_name = 'slowpipe' AND status = 'RUNNING'"

check "pg_stat_activity names the migration and its step" \
    "$(q "SELECT count(*) FROM pg_stat_activity WHERE application_name ~ '^migration_engine:slow:s[1-4]$'")" "1"

/usr/bin/python3 - "$MIGRATION_ENGINE_ROOT/examples/prometheus/queries.yaml" <<'PY'
import sys, yaml, psycopg
queries = yaml.safe_load(open(sys.argv[1]))
expect_rows = {"migration_engine_migrations", "migration_engine_running_step", "migration_engine_pipeline",
               "migration_engine_blue_green", "migration_engine_capture_lag", "migration_engine_canary"}
assert set(queries) == expect_rows, f"queries: {sorted(queries)}"
with psycopg.connect(autocommit=True) as conn:
    for name, spec in queries.items():
        declared = [next(iter(m)) for m in spec["metrics"]]
        cur = conn.execute(spec["query"])
        cols = [d.name for d in cur.description]
        assert cols == declared, f"{name}: columns {cols}, declared {declared}"
        rows = cur.fetchall()
        assert rows, f"{name}: no row while it is in flight"
        for m in spec["metrics"]:
            col, meta = next(iter(m.items()))
            i = cols.index(col)
            for r in rows:
                if meta["usage"] == "GAUGE":
                    float(r[i])  # a number, never NULL
                else:
                    assert isinstance(r[i], str) and r[i] is not None, f"{name}.{col}: label {r[i]!r}"
        print(f"ok - {name}: {len(rows)} row(s), columns {', '.join(cols)}")
    eta = conn.execute("SELECT eta_seconds FROM migration_engine.pipeline_progress WHERE pipeline_name = 'slowpipe'").fetchone()[0]
    assert eta is None or float(eta) == int(eta), eta
    print("ok - the pipeline's ETA is whole seconds")
PY
wait
grep -Eq 'eta ([0-9]+ s|-)' /tmp/me-prom-pipe.out || fail "NOTICE ETA in seconds: $(head -3 /tmp/me-prom-pipe.out)"
echo "ok - NOTICEs give the ETA in seconds"
check "after the step, the session's own name is back" "$(q "SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE 'migration_engine:slow:%'")" "0"
q "SELECT migration_engine.abort_canary('cn')" >/dev/null
