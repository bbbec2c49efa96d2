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
wait $bg
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
