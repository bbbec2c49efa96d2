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
# the timeout failed the step; the run records that failure (FAILED, the step's 57014)
# and CALL raises it, as for any failed step: the steps before it stay committed
check "the cancelled CALL records the failure and leaves the migration resumable" \
    "$(q "SELECT status FROM migration_engine.knowledge_migrations WHERE migration_name = 'slow_second'") $(q "SELECT step_status FROM migration_engine.migration_execution_state e JOIN migration_engine.knowledge_migrations m USING (migration_id) WHERE m.migration_name = 'slow_second' AND e.step_name = 'slow' ORDER BY e.started_at DESC, e.completed_at DESC NULLS LAST LIMIT 1")" "FAILED FAILED"
psql -qX -v ON_ERROR_STOP=1 -c "CALL migration_engine.run_migration('slow_second', '{\"resume\": true}')" >/dev/null 2>&1 || fail "the resume failed"
check "and resuming it completes it" "$(q "SELECT status FROM migration_engine.knowledge_migrations WHERE migration_name = 'slow_second'") $(q "SELECT to_regclass('public.timeout_probe') IS NOT NULL")" "COMPLETED t"

# a deadline that passed stays passed: with continueOnError the steps after the cancelled
# one fail at once (57014), they do not get a fresh hour each
q "SELECT migration_engine.create_migration('{\"name\": \"slow_twice\", \"version\": \"1\", \"options\": {\"continueOnError\": true}, \"forward\": [
     {\"name\": \"one\", \"type\": \"SQL\", \"script\": \"SELECT pg_sleep(4)\"},
     {\"name\": \"two\", \"type\": \"SQL\", \"script\": \"SELECT pg_sleep(4)\"}],
   \"rollback\": [{\"name\": \"r\", \"type\": \"SQL\", \"script\": \"SELECT 1\"}]}')" >/dev/null
start=$(date +%s.%N)
out=$(psql -qAtX -c "SET statement_timeout = '1s'" -c "SELECT jsonb_path_query_array(migration_engine.execute_migration('slow_twice'), '\$.result.steps[*].sqlstate')" 2>&1 || true)
elapsed=$(echo "$(date +%s.%N) - $start" | bc)
check "continueOnError: both steps fail with the caller's timeout" "$out" '["57014", "57014"]'
check "and the run ends within the deadline, not after 8 s" "$(echo "$elapsed < 3" | bc)" "1"
