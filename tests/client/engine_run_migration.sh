# CALL run_migration commits after each step: progress is visible from another session;
# cancel and pause work from another session; resume finishes a paused run.
. "$MIGRATION_ENGINE_ROOT/tests/client/lib.sh"
q "CREATE TABLE items (id int PRIMARY KEY, v text)"
make_slow_migration long 8 items 0.3

psql -qX -c "CALL migration_engine.run_migration('long')" > /tmp/me-run-long.out 2>&1 &
bg=$!
wait_for "SELECT done_steps >= 2 AND status = 'RUNNING' FROM migration_engine.migration_status WHERE migration_name = 'long'"
echo "ok - another session sees RUNNING with progress: $(q "SELECT done_steps || '/' || total_steps FROM migration_engine.migration_status WHERE migration_name = 'long'")"
check "committed rows are visible while it runs" "$(q "SELECT count(*) >= 200 FROM items")" "t"
wait $bg
check "run_migration completes" "$(q "SELECT status FROM migration_engine.knowledge_migrations WHERE migration_name = 'long'")" "COMPLETED"
check "all rows written once" "$(q "SELECT count(*) FROM items")" "800"
grep -q 'NOTICE:  migration long: step s8 completed (8 of 8 steps)' /tmp/me-run-long.out || fail "progress NOTICEs missing: $(cat /tmp/me-run-long.out)"
echo "ok - progress is reported as NOTICEs"
check "a second run is refused" "$(psql -qAtX -c "CALL migration_engine.run_migration('long')" 2>&1 | grep -c 'ALREADY_COMPLETED\|already COMPLETED')" "1"

# cancel from another session
q "CREATE TABLE c_items (id int PRIMARY KEY, v text)"
make_slow_migration to_cancel 10 c_items 0.3
psql -qX -c "CALL migration_engine.run_migration('to_cancel')" > /tmp/me-run-cancel.out 2>&1 &
bg=$!
wait_for "SELECT done_steps >= 2 FROM migration_engine.migration_status WHERE migration_name = 'to_cancel'"
q "SELECT migration_engine.cancel_migration('to_cancel')" >/dev/null
if wait $bg; then fail "a cancelled CALL run_migration ended without an error"; fi
grep -q 'ERROR:  migration to_cancel FAILED: cancelled by request' /tmp/me-run-cancel.out || fail "no ERROR: $(cat /tmp/me-run-cancel.out)"
echo "ok - a cancelled CALL run_migration ends with an ERROR"
check "a cancelled run_migration ends FAILED" "$(q "SELECT status || ':' || last_error FROM migration_engine.knowledge_migrations WHERE migration_name = 'to_cancel'")" "FAILED:cancelled by request"
check "it stopped early" "$(q "SELECT count(*) < 1000 FROM c_items")" "t"
q "SELECT migration_engine.resume_migration('to_cancel')" >/dev/null
check "resume finishes a cancelled run" "$(q "SELECT status FROM migration_engine.knowledge_migrations WHERE migration_name = 'to_cancel'")" "COMPLETED"
check "with every row exactly once" "$(q "SELECT count(*) FROM c_items")" "1000"

# pause and resume
q "CREATE TABLE p_items (id int PRIMARY KEY, v text)"
make_slow_migration to_pause 6 p_items 0.3
psql -qX -c "CALL migration_engine.run_migration('to_pause')" > /tmp/me-run-pause.out 2>&1 &
bg=$!
wait_for "SELECT done_steps >= 1 FROM migration_engine.migration_status WHERE migration_name = 'to_pause'"
q "SELECT migration_engine.pause_migration('to_pause')" >/dev/null
wait $bg
check "a paused migration shows PAUSED" "$(q "SELECT display_status FROM migration_engine.migration_status WHERE migration_name = 'to_pause'")" "PAUSED"
psql -qX -c "CALL migration_engine.run_migration('to_pause', '{\"resume\": true}')" >/dev/null 2>&1
check "CALL run_migration with resume finishes it" "$(q "SELECT status FROM migration_engine.knowledge_migrations WHERE migration_name = 'to_pause'")" "COMPLETED"
check "every row exactly once" "$(q "SELECT count(*) FROM p_items")" "600"
check "the audit has the whole story" "$(q "SELECT count(*) >= 4 FROM migration_engine.audit_log WHERE object_name = 'to_pause'")" "t"

# The deploy-tool contract (issue 12, problems 4 and 5): a failing migration fails the
# deploy (psql -v ON_ERROR_STOP=1 exits non-zero) and its FAILED record with the error
# stays; CALL run_migration inside BEGIN ... COMMIT is refused up front, with a hint.
q "CREATE TABLE d_items (id int PRIMARY KEY)"
q "SELECT migration_engine.create_migration('{\"name\": \"deploy_fails\", \"version\": \"1\", \"type\": \"DATA\", \"forward\": [
    {\"name\": \"ok\", \"type\": \"SQL\", \"script\": \"INSERT INTO d_items VALUES (1)\"},
    {\"name\": \"boom\", \"type\": \"SQL\", \"script\": \"INSERT INTO d_items VALUES (1)\"}],
  \"rollback\": [{\"name\": \"r\", \"type\": \"SQL\", \"script\": \"DELETE FROM d_items\"}]}')" >/dev/null
echo "CALL migration_engine.run_migration('deploy_fails');" > /tmp/me-deploy.sql
if psql -qX -v ON_ERROR_STOP=1 -f /tmp/me-deploy.sql > /tmp/me-deploy.out 2>&1; then fail "psql -v ON_ERROR_STOP=1 exited 0 for a failing migration"; fi
echo "ok - a failing CALL run_migration makes psql -v ON_ERROR_STOP=1 exit non-zero"
grep -q 'ERROR:  migration deploy_fails FAILED: step 1 (boom) failed' /tmp/me-deploy.out || fail "the ERROR names the step: $(cat /tmp/me-deploy.out)"
grep -q '23505' <(psql -qX -v VERBOSITY=verbose -v ON_ERROR_STOP=1 -f /tmp/me-deploy.sql 2>&1 || true) || fail "the ERROR carries the step's SQLSTATE"
echo "ok - the ERROR names the failing step and carries its SQLSTATE (23505)"
check "the FAILED record and its error stay" "$(q "SELECT status || ':' || (last_error LIKE '%duplicate key%') FROM migration_engine.knowledge_migrations WHERE migration_name = 'deploy_fails'")" "FAILED:true"
check "and the completed step stays committed" "$(q "SELECT count(*) FROM d_items")" "1"
out=$(psql -qAtX -v VERBOSITY=verbose -c "BEGIN" -c "CALL migration_engine.run_migration('to_pause')" -c "COMMIT" 2>&1 || true)
case $out in *25001*"cannot run inside a transaction block"*execute_migration*) echo "ok - inside BEGIN ... COMMIT it is refused up front (25001, with the way out)" ;; *) fail "CALL inside a transaction: $out" ;; esac
out=$(psql -qAtX -v ON_ERROR_STOP=1 --single-transaction -c "CALL migration_engine.run_pipeline('{\"name\": \"p\", \"source\": {\"entityType\": \"Person\"}, \"steps\": [{\"name\": \"f\", \"type\": \"FILTER\", \"config\": {\"condition\": \"$.a > 1\"}}]}')" 2>&1 || true)
case $out in *"cannot run inside a transaction block"*) echo "ok - so is CALL run_pipeline (psql --single-transaction)" ;; *) fail "run_pipeline inside a transaction: $out" ;; esac
