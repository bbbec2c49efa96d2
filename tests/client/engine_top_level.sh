# Steps outside a transaction (issue 14): CALL run_migration hands a "transaction": false
# step to the top-level runner (a background worker logged in as the caller), which runs
# CREATE INDEX CONCURRENTLY, VACUUM and the like as top-level statements. Checked here:
# the happy path under concurrent writes; execute_migration's refusal; a failed unique
# build (its invalid index dropped, the deploy fails with the build's SQLSTATE); a
# blocker under each policy (wait, cancel, terminate); the worker killed mid-build and
# the caller killed mid-build, each resumed; the caller cancelled mid-build (its worker
# stopped with it); the server stopped with -m immediate
# mid-build, resumed after restart.
. "$MIGRATION_ENGINE_ROOT/tests/client/lib.sh"
. "$MIGRATION_ENGINE_ROOT/scripts/lib/cluster.sh"
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
sqlstate_of() { psql -qAtX -v VERBOSITY=verbose -c "$1" 2>&1 | sed -n 's/^ERROR:  \([0-9A-Z]\{5\}\):.*/\1/p' | head -1; }
# index_migration NAME INDEX [UNIQUE]: one step building INDEX concurrently on content->>'n'
index_migration() {
    q "SELECT migration_engine.create_migration(\$\${\"name\": \"$1\", \"version\": \"1\", \"forward\": [
      {\"name\": \"build\", \"type\": \"SQL\", \"transaction\": false,
       \"script\": \"CREATE ${3:-} INDEX CONCURRENTLY $2 ON temporal_entities ((content->>'n'))\"}],
      \"rollback\": [{\"name\": \"drop\", \"type\": \"SQL\", \"script\": \"DROP INDEX IF EXISTS $2\"}]}\$\$)" >/dev/null
}
status_of() { q "SELECT status FROM migration_engine.knowledge_migrations WHERE migration_name = '$1'"; }
valid_index() { q "SELECT coalesce((SELECT indisvalid::text FROM pg_index WHERE indexrelid = to_regclass(migration_engine.active_schema() || '.$1')), 'missing')"; }
attempts_of() { q "SELECT count(*) FROM migration_engine.top_level_runs r JOIN migration_engine.knowledge_migrations m USING (migration_id) WHERE m.migration_name = '$1'"; }
# hold_snapshot SECONDS: a session in a REPEATABLE READ transaction that has read the
# graph (a snapshot every concurrent build must wait for), running pg_sleep
hold_snapshot() {
    psql -qX -c "BEGIN ISOLATION LEVEL REPEATABLE READ" -c "SELECT count(*) FROM kg.temporal_entities" \
         -c "SELECT pg_sleep($1)" -c "COMMIT" > "$work/holder.out" 2>&1 &
    HOLDER=$!
    wait_for "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE query = 'SELECT pg_sleep($1)' AND state = 'active')"
}

# start_blocked_build NAME INDEX OUT: migration NAME building INDEX concurrently, started by
# CALL run_migration in the background (its pid in $caller, its output in OUT) and
# returned once its worker waits for the snapshot of a session that holds one (hold_snapshot)
start_blocked_build() {
    index_migration "$1" "$2"
    hold_snapshot 60
    psql -qX -c "CALL migration_engine.run_migration('$1')" > "$3" 2>&1 &
    caller=$!
    wait_for "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE backend_type = 'migration_engine top-level runner' AND wait_event_type = 'Lock')"
}

q "SELECT count(migration_engine.upsert_entity('Person', jsonb_build_object('n', g % 1000, 'v', g))) FROM generate_series(1, 30000) g" >/dev/null

# 1. the happy path: CIC and VACUUM in one step, on a 1,000,000-row table under 4 writers
#    (their latency against a plain CREATE INDEX's is measured in bench/index_build.sh)
q "CREATE TABLE public.big (id bigint PRIMARY KEY, k int NOT NULL, v text NOT NULL);
   INSERT INTO public.big SELECT g, g % 100000, md5(g::text) FROM generate_series(1, 1000000) g"
q "SELECT migration_engine.create_migration(\$\${\"name\": \"cic\", \"version\": \"1\", \"forward\": [
  {\"name\": \"index\", \"type\": \"SQL\", \"transaction\": false,
   \"script\": \"CREATE INDEX CONCURRENTLY big_k ON public.big (k); VACUUM (ANALYZE) public.big\"}],
  \"rollback\": [{\"name\": \"drop\", \"type\": \"SQL\", \"script\": \"DROP INDEX public.big_k\"}]}\$\$)" >/dev/null
check "execute_migration refuses it before anything runs (25001)" "$(sqlstate_of "SELECT migration_engine.execute_migration('cic')")/$(status_of cic)" "25001/PENDING"
check "a FUNCTION step cannot be outside a transaction (create_migration: 22023)" \
    "$(sqlstate_of "SELECT migration_engine.create_migration('{\"name\": \"f\", \"version\": \"1\", \"forward\": [{\"name\": \"f\", \"type\": \"FUNCTION\", \"function\": \"public.f\", \"transaction\": false}], \"rollback\": [{\"name\": \"r\", \"type\": \"SQL\", \"script\": \"SELECT 1\"}]}')")" "22023"
check "onBlocked takes wait, cancel or terminate only (22023)" "$(sqlstate_of "CALL migration_engine.run_migration('cic', '{\"onBlocked\": \"kill\"}')")" "22023"
check "waitTimeout needs a policy that acts (22023)" "$(sqlstate_of "CALL migration_engine.run_migration('cic', '{\"waitTimeout\": 100}')")" "22023"
cat > "$work/write.sql" <<'SQL'
\set id random(1, 1000000)
UPDATE public.big SET v = md5(random()::text) WHERE id = :id;
INSERT INTO public.big VALUES (1000000 + :id * 100 + (random() * 99)::int, :id % 100000, 'new') ON CONFLICT (id) DO NOTHING;
SQL
"$PGBIN/pgbench" -n -c 4 -T 15 -f "$work/write.sql" > "$work/pgbench.out" 2>&1 &
writers=$!
sleep 1
psql -qX -v ON_ERROR_STOP=1 -c "CALL migration_engine.run_migration('cic')" > "$work/cic.out" 2>&1 || { cat "$work/cic.out"; fail "CALL run_migration of a concurrent build failed"; }
writers_running=$(kill -0 $writers 2>/dev/null && echo yes || echo no)
wait $writers || { cat "$work/pgbench.out"; fail "a writer failed"; }
check "the build ran while the writers wrote" "$writers_running" "yes"
check "the migration completes" "$(status_of cic)" "COMPLETED"
check "the index is valid" "$(q "SELECT indisvalid FROM pg_index WHERE indexrelid = 'public.big_k'::regclass")" "t"
check "the attempt ran both statements, as the caller, with the step's application_name" \
    "$(q "SELECT status || ' ' || statements_done || '/' || statements_total || ' ' || run_as || ' ' || (settings ->> 'application_name') FROM migration_engine.top_level_runs ORDER BY attempt_id DESC LIMIT 1")" \
    "COMPLETED 2/2 postgres migration_engine:cic:index"
check "the step is recorded RUNNING when it starts, then COMPLETED" \
    "$(q "SELECT string_agg(s.step_status, ',' ORDER BY s.started_at, s.completed_at NULLS FIRST) FROM migration_engine.migration_execution_state s JOIN migration_engine.knowledge_migrations m USING (migration_id) WHERE m.migration_name = 'cic'")" "RUNNING,COMPLETED"
check "no writer transaction failed during the build" "$(grep -o 'number of failed transactions: [0-9]*' "$work/pgbench.out" | awk '{print $NF}')" "0"
echo "# writers during the build: $(grep -E 'number of transactions actually processed|latency average' "$work/pgbench.out" | tr '\n' ' ')"
echo "# the build: $(q "SELECT round(extract(epoch FROM finished_at - started_at) * 1000) || ' ms' FROM migration_engine.top_level_runs ORDER BY attempt_id DESC LIMIT 1")"

# 1b. the worker runs as the caller, not as the extension's owner: a migration_admin member
#     that is no superuser builds an index on its own table
q "CREATE TABLE public.admin_items (id int PRIMARY KEY, v text); ALTER TABLE public.admin_items OWNER TO me_admin_user;
   GRANT CREATE ON SCHEMA public TO me_admin_user;
   INSERT INTO public.admin_items SELECT g, md5(g::text) FROM generate_series(1, 1000) g"
PGUSER=me_admin_user psql -qX -v ON_ERROR_STOP=1 -c "SELECT migration_engine.create_migration(\$\${\"name\": \"admin_cic\", \"version\": \"1\", \"forward\": [
  {\"name\": \"index\", \"type\": \"SQL\", \"transaction\": false, \"script\": \"CREATE INDEX CONCURRENTLY admin_items_v ON public.admin_items (v)\"}],
  \"rollback\": [{\"name\": \"drop\", \"type\": \"SQL\", \"script\": \"DROP INDEX public.admin_items_v\"}]}\$\$)" -c "CALL migration_engine.run_migration('admin_cic')" > "$work/admin.out" 2>&1 \
    || { cat "$work/admin.out"; fail "a migration_admin member could not run a step outside a transaction"; }
check "a migration_admin member's step runs as that member" \
    "$(status_of admin_cic) $(q "SELECT run_as FROM migration_engine.top_level_runs ORDER BY attempt_id DESC LIMIT 1") $(q "SELECT indisvalid FROM pg_index WHERE indexrelid = 'public.admin_items_v'::regclass")" \
    "COMPLETED me_admin_user t"
PGUSER=me_admin_user psql -qX -c "SELECT migration_engine.create_migration(\$\${\"name\": \"admin_not_owner\", \"version\": \"1\", \"forward\": [
  {\"name\": \"index\", \"type\": \"SQL\", \"transaction\": false, \"script\": \"CREATE INDEX CONCURRENTLY big_v ON public.big (v)\"}],
  \"rollback\": [{\"name\": \"r\", \"type\": \"SQL\", \"script\": \"SELECT 1\"}]}\$\$)" >/dev/null
rc=0; PGUSER=me_admin_user psql -qX -v ON_ERROR_STOP=1 -v VERBOSITY=verbose -c "CALL migration_engine.run_migration('admin_not_owner', '{\"force\": true}')" > "$work/notowner.out" 2>&1 || rc=$?
check "and with that member's rights only: an index on a table it does not own fails (42501)" \
    "$rc $(sed -n 's/^ERROR:  \([0-9A-Z]\{5\}\):.*/\1/p' "$work/notowner.out" | head -1)" "1 42501"

# 2. a unique build that fails: the invalid index is dropped, the deploy fails with 23505
index_migration uniq person_n_u UNIQUE
rc=0; psql -qX -v ON_ERROR_STOP=1 -v VERBOSITY=verbose -c "CALL migration_engine.run_migration('uniq')" > "$work/uniq.out" 2>&1 || rc=$?
check "psql -v ON_ERROR_STOP=1 fails (exit 1) with the build's SQLSTATE" "$rc $(sed -n 's/^ERROR:  \([0-9A-Z]\{5\}\):.*/\1/p' "$work/uniq.out" | head -1)" "1 23505"
check "the migration is FAILED, the step's error says the invalid index was dropped" \
    "$(status_of uniq) $(q "SELECT error_message LIKE '%invalid index it left was dropped: person_n_u%' FROM migration_engine.migration_execution_state WHERE step_status = 'FAILED' ORDER BY completed_at DESC LIMIT 1")" "FAILED t"
check "no invalid index is left" "$(q "SELECT count(*) FROM pg_index WHERE NOT indisvalid")" "0"

# 3. a blocker under the default policy: the build waits, says for whom, and completes
index_migration waits person_n1
hold_snapshot 3
psql -qX -c "CALL migration_engine.run_migration('waits')" > "$work/waits.out" 2>&1 || { cat "$work/waits.out"; fail "the waiting build failed"; }
wait $HOLDER
check "the build waited for the blocker and completed once it committed" "$(status_of waits) $(valid_index person_n1)" "COMPLETED true"
check "the step's record names the blocker (its query)" "$(q "SELECT waited_for -> 0 ->> 'query' FROM migration_engine.top_level_runs ORDER BY attempt_id DESC LIMIT 1")" "SELECT pg_sleep(3)"
check "psql was told whom it waits for" "$(grep -c 'waiting for old snapshots, waiting for pid' "$work/waits.out")" "1"

# 4. onBlocked cancel: after waitTimeout the blocker's query is cancelled, audited
index_migration cancels person_n2
hold_snapshot 60
psql -qX -c "CALL migration_engine.run_migration('cancels', '{\"onBlocked\": \"cancel\", \"waitTimeout\": 500}')" > "$work/cancels.out" 2>&1 || { cat "$work/cancels.out"; fail "the cancelling build failed"; }
wait $HOLDER || true
check "the blocker was cancelled and the build completed" "$(status_of cancels) $(valid_index person_n2) $(grep -c 'canceling statement due to user request' "$work/holder.out")" "COMPLETED true 1"
check "it is audited with the pid" "$(q "SELECT count(*) FROM migration_engine.audit_log WHERE operation = 'top_level_blockers_cancelled' AND jsonb_array_length(detail -> 'pids') = 1")" "1"

# 5. onBlocked terminate, against a session idle in its transaction (cancel cannot end it)
index_migration terminates person_n3
psql -qX -c "BEGIN ISOLATION LEVEL REPEATABLE READ" -c "SELECT count(*) FROM kg.temporal_entities" -c "SELECT pg_sleep(60)" > "$work/idle.out" 2>&1 &
idle=$!
wait_for "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(60)')"
psql -qX -c "CALL migration_engine.run_migration('terminates', '{\"onBlocked\": \"terminate\", \"waitTimeout\": 300}')" > "$work/terminates.out" 2>&1 || { cat "$work/terminates.out"; fail "the terminating build failed"; }
wait $idle || true
check "the blocker's session was ended and the build completed" "$(status_of terminates) $(valid_index person_n3)" "COMPLETED true"

# 6. the worker is killed mid-build: the step fails, resume drops the invalid index first
start_blocked_build worker_killed person_n4 "$work/killed.out"
q "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE backend_type = 'migration_engine top-level runner'" >/dev/null
wait $caller && fail "CALL run_migration succeeded with its worker killed"
q "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(60)'" >/dev/null; wait $HOLDER || true
check "the migration is FAILED and the build left an invalid index" "$(status_of worker_killed) $(valid_index person_n4)" "FAILED false"
psql -qX -v ON_ERROR_STOP=1 -c "CALL migration_engine.run_migration('worker_killed', '{\"resume\": true}')" > "$work/resume.out" 2>&1 || { cat "$work/resume.out"; fail "resume failed"; }
check "resume drops the invalid index, builds it again and completes" \
    "$(status_of worker_killed) $(valid_index person_n4) $(q "SELECT cleaned -> 0 ->> 'when' FROM migration_engine.top_level_runs ORDER BY attempt_id DESC LIMIT 1")" "COMPLETED true before"

# 7. the caller is killed mid-build: the worker goes on; resume records its outcome
index_migration caller_killed person_n5
hold_snapshot 3
psql -qX -c "CALL migration_engine.run_migration('caller_killed')" > /dev/null 2>&1 &
caller=$!
wait_for "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE backend_type = 'migration_engine top-level runner')"
q "SELECT pg_terminate_backend(backend_pid) FROM migration_engine.knowledge_migrations WHERE migration_name = 'caller_killed'" >/dev/null
wait $caller || true
wait $HOLDER
wait_for "SELECT status = 'COMPLETED' FROM migration_engine.top_level_runs ORDER BY attempt_id DESC LIMIT 1" 30
check "the worker finished the build without its caller" "$(valid_index person_n5)" "true"
psql -qX -v ON_ERROR_STOP=1 -c "CALL migration_engine.run_migration('caller_killed', '{\"resume\": true}')" > /dev/null 2>&1 || fail "resume after the caller was killed failed"
check "resume records the build's outcome without building again" "$(status_of caller_killed) $(attempts_of caller_killed)" "COMPLETED 1"

# 8. the server stops with -m immediate mid-build; after restart resume completes
start_blocked_build restarted person_n6 /dev/null
as_postgres "$PGBIN/pg_ctl" -D "$CLUSTER_DIR/data" -m immediate stop >/dev/null
wait $caller || true; wait $HOLDER || true
cluster_restart
check "after restart the build's index is invalid" "$(valid_index person_n6)" "false"
psql -qX -v ON_ERROR_STOP=1 -c "CALL migration_engine.run_migration('restarted', '{\"resume\": true}')" > "$work/restart.out" 2>&1 || { cat "$work/restart.out"; fail "resume after restart failed"; }
check "resume after restart cleans up and completes" "$(status_of restarted) $(valid_index person_n6)" "COMPLETED true"
check "the lost attempt is FAILED on record, not RUNNING" "$(q "SELECT string_agg(r.status, ',' ORDER BY r.attempt_id) FROM migration_engine.top_level_runs r JOIN migration_engine.knowledge_migrations m USING (migration_id) WHERE m.migration_name = 'restarted'")" "FAILED,COMPLETED"

# 9. blue-green: the target takes no traffic yet, so the step runs there in the
#    migration's transaction in its plain form (no worker), and the switch brings it
index_migration bg_index person_bg
before=$(q "SELECT count(*) FROM migration_engine.top_level_runs")
check "a blue-green migration with a concurrent index step succeeds" \
    "$(q "SELECT migration_engine.execute_blue_green_migration((SELECT migration_id FROM migration_engine.knowledge_migrations WHERE migration_name = 'bg_index'), 'green')->>'success'")" "true"
check "the index is in green, valid, built without the runner" \
    "$(q "SELECT indisvalid::text FROM pg_index WHERE indexrelid = to_regclass('green.person_bg')") $(q "SELECT count(*) FROM migration_engine.top_level_runs") " "true $before "

# 10. a rollback step outside a transaction: rollback_migration (atomic) refuses it before
#     anything runs; CALL run_rollback runs it at the top level, one step per transaction
q "SELECT migration_engine.create_migration(\$\${\"name\": \"reversible\", \"version\": \"1\", \"forward\": [
  {\"name\": \"build\", \"type\": \"SQL\", \"transaction\": false, \"script\": \"CREATE INDEX CONCURRENTLY person_rev ON temporal_entities ((content->>'v'))\"}],
  \"rollback\": [{\"name\": \"note\", \"type\": \"SQL\", \"script\": \"CREATE TABLE public.rev_log (at timestamptz DEFAULT now())\"},
                 {\"name\": \"drop\", \"type\": \"SQL\", \"transaction\": false, \"script\": \"DROP INDEX CONCURRENTLY person_rev\"}]}\$\$)" >/dev/null
psql -qX -v ON_ERROR_STOP=1 -c "CALL migration_engine.run_migration('reversible')" >/dev/null 2>&1 || fail "reversible did not deploy"
check "rollback_migration refuses a non-transactional rollback step (25001), changing nothing" \
    "$(sqlstate_of "SELECT migration_engine.rollback_migration('reversible')") $(status_of reversible) $(valid_index person_rev)" "25001 COMPLETED true"
check "CALL run_rollback is refused inside a transaction block (25001)" \
    "$(psql -qAtX -v VERBOSITY=verbose -c "BEGIN" -c "CALL migration_engine.run_rollback('reversible')" 2>&1 | grep -o '^ERROR:  25001' | head -1)" "ERROR:  25001"
psql -qX -v ON_ERROR_STOP=1 -c "CALL migration_engine.run_rollback('reversible')" > "$work/rollback.out" 2>&1 || { cat "$work/rollback.out"; fail "run_rollback failed"; }
check "CALL run_rollback drops the index concurrently and marks the migration ROLLED_BACK" \
    "$(status_of reversible) $(valid_index person_rev) $(q "SELECT to_regclass('public.rev_log') IS NOT NULL")" "ROLLED_BACK missing t"
check "its steps are recorded in the rollback direction, the second through the runner" \
    "$(q "SELECT string_agg(s.step_name || ':' || s.step_status, ',' ORDER BY s.started_at, s.completed_at NULLS FIRST) FROM migration_engine.migration_execution_state s JOIN migration_engine.knowledge_migrations m USING (migration_id) WHERE m.migration_name = 'reversible' AND s.direction = 'rollback'")" \
    "note:COMPLETED,drop:RUNNING,drop:COMPLETED"
check "a second run_rollback is refused (nothing to roll back)" "$(sqlstate_of "CALL migration_engine.run_rollback('reversible')")" "55000"

# 11. under SET ROLE the worker could only log in as the login role: refused (42501)
q "SELECT migration_engine.create_migration(\$\${\"name\": \"set_role\", \"version\": \"1\", \"forward\": [
  {\"name\": \"build\", \"type\": \"SQL\", \"transaction\": false, \"script\": \"CREATE INDEX CONCURRENTLY admin_items_id ON public.admin_items (id)\"}],
  \"rollback\": [{\"name\": \"r\", \"type\": \"SQL\", \"script\": \"SELECT 1\"}]}\$\$)" >/dev/null
check "a step outside a transaction is refused under SET ROLE (42501), and no worker starts" \
    "$(psql -qAtX -v VERBOSITY=verbose -c "SET ROLE me_admin_user" -c "CALL migration_engine.run_migration('set_role')" 2>&1 | grep -o '^ERROR:  42501' | head -1) $(q "SELECT worker_pid IS NULL FROM migration_engine.top_level_runs ORDER BY attempt_id DESC LIMIT 1")" "ERROR:  42501 t"

# 12. the caller's CALL is cancelled (Ctrl-C, statement_timeout) while its build waits:
#     the worker is stopped with it, not left building an index nobody waits for
start_blocked_build caller_cancelled person_n9 "$work/cancelled.out"
q "SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE query LIKE 'CALL migration_engine.run_migration(''caller_cancelled'')%' AND pid <> pg_backend_pid()" >/dev/null
wait $caller && fail "the cancelled CALL succeeded"
check "the caller was cancelled" "$(grep -c 'canceling statement due to user request' "$work/cancelled.out")" "1"
wait_for "SELECT NOT EXISTS (SELECT 1 FROM pg_stat_activity WHERE backend_type = 'migration_engine top-level runner')" 10
check "its worker stopped too, and the snapshot holder was not touched" \
    "$(q "SELECT count(*) FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(60)' AND state = 'active'")" "1"
q "SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(60)'" >/dev/null
wait $HOLDER || true
