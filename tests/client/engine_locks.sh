# The lock policy of a step (issue 14, "a lock policy that never stalls the lock queue"):
# lockTimeout is 500 ms by default, a step that times out is rolled back alone and tried
# again with back-off (lockRetries, lockRetryMaxDelay), each retry recorded on the step
# with the session that held the lock; out of retries it fails with 55P03 naming that
# session. And migration_status shows the step running now, from when it starts.
. "$MIGRATION_ENGINE_ROOT/tests/client/lib.sh"
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
q "CREATE TABLE public.items (id int PRIMARY KEY, v text); INSERT INTO public.items SELECT g, 'v' || g FROM generate_series(1, 100) g"
migration() { # migration NAME SCRIPT
    q "SELECT migration_engine.create_migration(\$\${\"name\": \"$1\", \"version\": \"1\", \"forward\": [
      {\"name\": \"alter\", \"type\": \"SQL\", \"script\": \"$2\"}],
      \"rollback\": [{\"name\": \"r\", \"type\": \"SQL\", \"script\": \"SELECT 1\"}]}\$\$)" >/dev/null
}
# hold_lock SECONDS: a session reading items in an open transaction (ACCESS SHARE, which
# every ALTER TABLE waits for)
hold_lock() {
    psql -qX -c "BEGIN" -c "SELECT count(*) FROM public.items" -c "SELECT pg_sleep($1)" -c "COMMIT" > "$work/holder.out" 2>&1 &
    HOLDER=$!
    wait_for "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE query = 'SELECT pg_sleep($1)' AND state = 'active')"
    HOLDER_PID=$(q "SELECT pid FROM pg_stat_activity WHERE query = 'SELECT pg_sleep($1)'")
}

# 1. retries until the holder lets go
migration add_c "ALTER TABLE public.items ADD COLUMN c int"
hold_lock 2
start=$(date +%s%N)
psql -qX -v ON_ERROR_STOP=1 -c "CALL migration_engine.run_migration('add_c')" > "$work/add_c.out" 2>&1 || { cat "$work/add_c.out"; fail "the step did not get its lock"; }
wait $HOLDER
check "the step retried until the lock was free, and completed" "$(q "SELECT status FROM migration_engine.knowledge_migrations WHERE migration_name = 'add_c'")" "COMPLETED"
check "its record counts the retries and names the holder" \
    "$(q "SELECT retry_count > 0 AND (new_value -> 'blockers' -> 0 ->> 'pid')::int = $HOLDER_PID AND new_value -> 'blockers' -> 0 ->> 'mode' = 'AccessShareLock' FROM migration_engine.migration_execution_state WHERE step_status = 'COMPLETED' ORDER BY completed_at DESC LIMIT 1")" "t"
echo "# the step waited $(( ($(date +%s%N) - start) / 1000000 )) ms for a lock held 2 s, $(q "SELECT retry_count FROM migration_engine.migration_execution_state WHERE step_status = 'COMPLETED' ORDER BY completed_at DESC LIMIT 1") retries"

# 2. while it waits, the application's queries do not queue behind it for long
migration add_d "ALTER TABLE public.items ADD COLUMN d int"
hold_lock 3
psql -qX -c "CALL migration_engine.run_migration('add_d')" > /dev/null 2>&1 &
runner=$!
sleep 0.3
worst=0
for i in $(seq 1 15); do
    t0=$(date +%s%N); q "SELECT count(*) FROM public.items" >/dev/null; t=$(( ($(date +%s%N) - t0) / 1000000 ))
    [ "$t" -gt "$worst" ] && worst=$t
    sleep 0.1
done
wait $HOLDER; wait $runner || fail "add_d failed"
check "a reader queued behind the waiting DDL waits at most about one lockTimeout (worst ${worst} ms)" "$([ "$worst" -lt 1500 ] && echo yes)" "yes"

# 3. out of retries: 55P03, naming the session that holds the lock
migration add_e "ALTER TABLE public.items ADD COLUMN e int"
hold_lock 20
rc=0; psql -qX -v ON_ERROR_STOP=1 -v VERBOSITY=verbose -c "CALL migration_engine.run_migration('add_e', '{\"lockTimeout\": 100, \"lockRetries\": 2, \"lockRetryMaxDelay\": 200}')" > "$work/add_e.out" 2>&1 || rc=$?
q "SELECT pg_cancel_backend($HOLDER_PID)" >/dev/null; wait $HOLDER || true
check "out of retries the deploy fails with 55P03" "$rc $(sed -n 's/^ERROR:  \([0-9A-Z]\{5\}\):.*/\1/p' "$work/add_e.out" | head -1)" "1 55P03"
check "and says who holds the lock, after how many tries" \
    "$(grep -c "after 3 tries; the lock is held by pid $HOLDER_PID (postgres, active, AccessShareLock on public.items: SELECT pg_sleep(20))" "$work/add_e.out")" "1"
check "lockRetries must be a whole number (22023)" \
    "$(psql -qAtX -v VERBOSITY=verbose -c "CALL migration_engine.run_migration('add_e', '{\"lockRetries\": -1}')" 2>&1 | grep -o '^ERROR:  22023' | head -1)" "ERROR:  22023"

# 4. migration_status shows the step that runs now, from when it starts
q "SELECT migration_engine.create_migration(\$\${\"name\": \"slow\", \"version\": \"1\", \"forward\": [
  {\"name\": \"first\", \"type\": \"SQL\", \"script\": \"SELECT 1\"},
  {\"name\": \"sleepy\", \"type\": \"SQL\", \"script\": \"SELECT pg_sleep(2)\"}],
  \"rollback\": [{\"name\": \"r\", \"type\": \"SQL\", \"script\": \"SELECT 1\"}]}\$\$)" >/dev/null
psql -qX -c "CALL migration_engine.run_migration('slow')" > /dev/null 2>&1 &
runner=$!
wait_for "SELECT running_step = 'sleepy' FROM migration_engine.migration_status WHERE migration_name = 'slow'"
sleep 1
check "migration_status names the running step and how long it has run" \
    "$(q "SELECT running_step || ' ' || (running_step_seconds >= 0.5) || ' ' || done_steps FROM migration_engine.migration_status WHERE migration_name = 'slow'")" "sleepy true 1"
wait $runner
check "once over, no step is running" "$(q "SELECT coalesce(running_step, 'none') || ' ' || status FROM migration_engine.migration_status WHERE migration_name = 'slow'")" "none COMPLETED"
