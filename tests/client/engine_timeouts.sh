# The caller's own statement_timeout still bounds a migration: each step arms its own
# timer (statementTimeout, 1 hour by default), which must fire at whichever deadline
# comes first and give the caller's back when the step ends, instead of replacing it
# for the rest of the statement.
. "$MIGRATION_ENGINE_ROOT/tests/client/lib.sh"
q "SELECT migration_engine.create_migration('{\"name\": \"slow_second\", \"version\": \"1\", \"forward\": [
     {\"name\": \"quick\", \"type\": \"SQL\", \"script\": \"CREATE TABLE public.timeout_probe (id int)\"},
     {\"name\": \"slow\", \"type\": \"SQL\", \"script\": \"SELECT pg_sleep(4)\"}],
   \"rollback\": [{\"name\": \"r\", \"type\": \"SQL\", \"script\": \"DROP TABLE public.timeout_probe\"}]}')" >/dev/null
start=$(date +%s.%N)
out=$(psql -qAtX -v VERBOSITY=verbose -c "SET statement_timeout = '1s'" -c "SELECT migration_engine.execute_migration('slow_second')" 2>&1 || true)
elapsed=$(echo "$(date +%s.%N) - $start" | bc)
check "execute_migration: the session's 1 s statement_timeout cancels the second step (57014)" "$(echo "$out" | grep -o '57014' | head -1)" "57014"
check "within its deadline, not after the 4 s sleep" "$(echo "$elapsed < 3" | bc)" "1"
check "the migration FAILED at that step, its first step undone" "$(q "SELECT status FROM migration_engine.knowledge_migrations WHERE migration_name = 'slow_second'") $(q "SELECT to_regclass('public.timeout_probe') IS NULL")" "FAILED t"
check "a step's own statementTimeout still fires when it comes first (57014 in the step's result)" \
    "$(q "SELECT migration_engine.execute_migration('slow_second', '{\"statementTimeout\": 500}') -> 'failed_step' ->> 'sqlstate'")" "57014"
out=$(psql -qAtX -v VERBOSITY=verbose -c "SET statement_timeout = '1s'" -c "CALL migration_engine.run_migration('slow_second')" 2>&1 || true)
check "CALL run_migration: the same deadline holds (57014)" "$(echo "$out" | grep -o '57014' | head -1)" "57014"
check "the cancelled CALL leaves the migration resumable (its session is gone)" \
    "$(q "SELECT status FROM migration_engine.knowledge_migrations WHERE migration_name = 'slow_second'")" "RUNNING"
psql -qX -v ON_ERROR_STOP=1 -c "CALL migration_engine.run_migration('slow_second', '{\"resume\": true}')" >/dev/null 2>&1 || fail "the resume failed"
check "and resuming it completes it" "$(q "SELECT status FROM migration_engine.knowledge_migrations WHERE migration_name = 'slow_second'") $(q "SELECT to_regclass('public.timeout_probe') IS NOT NULL")" "COMPLETED t"
