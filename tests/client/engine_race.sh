# Two sessions start the same migration at the same moment, 50 times: it never runs twice.
. "$MIGRATION_ENGINE_ROOT/tests/client/lib.sh"
q "CREATE TABLE runs (migration text, at timestamptz DEFAULT clock_timestamp())"
for i in $(seq 1 50); do
    q "SELECT migration_engine.create_migration('{\"name\": \"race_$i\", \"version\": \"1\", \"forward\": [{\"name\": \"a\", \"type\": \"SQL\", \"script\": \"INSERT INTO runs (migration) VALUES (''race_$i''); SELECT pg_sleep(0.02)\"}], \"rollback\": [{\"name\": \"r\", \"type\": \"SQL\", \"script\": \"SELECT 1\"}]}')" >/dev/null
    q "SELECT migration_engine.execute_migration('race_$i')" >/dev/null &
    q "SELECT migration_engine.execute_migration('race_$i')" >/dev/null &
    wait
done
check "no migration ran twice" "$(q "SELECT count(*) FROM (SELECT migration FROM runs GROUP BY migration HAVING count(*) > 1) x")" "0"
check "every migration ran once" "$(q "SELECT count(DISTINCT migration) FROM runs")" "50"
check "all COMPLETED" "$(q "SELECT count(*) FROM migration_engine.knowledge_migrations WHERE status = 'COMPLETED'")" "50"

# A second session cannot step a run that another session began: its steps would run twice.
q "CREATE TABLE t_stepped (id int PRIMARY KEY, v text)"
make_slow_migration m_stepped 6 t_stepped 0.3
psql -qX -c "CALL migration_engine.run_migration('m_stepped')" >/dev/null 2>&1 &
wait_for "SELECT done_steps >= 1 FROM migration_engine.migration_status WHERE migration_name = 'm_stepped'"
run=$(q "SELECT run_id FROM migration_engine.migration_status WHERE migration_name = 'm_stepped'" 2>/dev/null || true)
out=$(psql -qAtX -v VERBOSITY=verbose -c "SELECT migration_engine.run_migration_step('m_stepped', coalesce(nullif('$run', '')::uuid, gen_random_uuid()))" 2>&1 || true)
case $out in *55000*"another session"*) echo "ok - another session's run_migration_step is refused (55000)" ;; *) fail "run_migration_step from another session: $out" ;; esac
wait
check "the run finishes once" "$(q "SELECT status || ':' || (SELECT count(*) FROM t_stepped) FROM migration_engine.knowledge_migrations WHERE migration_name = 'm_stepped'")" "COMPLETED:600"
