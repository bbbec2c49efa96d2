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
