# A crash in the middle of a long run_migration (backend killed; server stopped with
# -m immediate) never leaves it RUNNING for ever, and resume_migration reaches the same
# end state as an uninterrupted run (same checksum).
. "$MIGRATION_ENGINE_ROOT/tests/client/lib.sh"
. "$MIGRATION_ENGINE_ROOT/scripts/lib/cluster.sh"
for t in ref killed restarted; do q "CREATE TABLE t_$t (id int PRIMARY KEY, v text)"; make_slow_migration "m_$t" 12 "t_$t" 0.25; done

q "CALL migration_engine.run_migration('m_ref')" 2>/dev/null || psql -qX -c "CALL migration_engine.run_migration('m_ref')" >/dev/null 2>&1
reference=$(table_checksum t_ref)
check "the uninterrupted run completes" "$(q "SELECT status FROM migration_engine.knowledge_migrations WHERE migration_name = 'm_ref'")" "COMPLETED"

# 1. the backend is killed mid-run
psql -qX -c "CALL migration_engine.run_migration('m_killed')" >/dev/null 2>&1 &
wait_for "SELECT done_steps >= 4 FROM migration_engine.migration_status WHERE migration_name = 'm_killed'"
q "SELECT pg_terminate_backend(backend_pid) FROM migration_engine.knowledge_migrations WHERE migration_name = 'm_killed'" >/dev/null
wait || true
wait_for "SELECT display_status = 'STALE' FROM migration_engine.migration_status WHERE migration_name = 'm_killed'"
echo "ok - a RUNNING migration whose backend is gone shows STALE"
check "execute_migration refuses it and points to resume" "$(q "SELECT migration_engine.execute_migration('m_killed')->>'hint' LIKE '%resume_migration%'")" "t"
check "resume_migration finishes it" "$(q "SELECT migration_engine.resume_migration('m_killed')->>'status'")" "COMPLETED"
check "same data as the uninterrupted run" "$(table_checksum t_killed | cut -d: -f2)" "$(echo "$reference" | cut -d: -f2)"

# 2. the server stops with -m immediate mid-run
psql -qX -c "CALL migration_engine.run_migration('m_restarted')" >/dev/null 2>&1 &
wait_for "SELECT done_steps >= 5 FROM migration_engine.migration_status WHERE migration_name = 'm_restarted'"
as_postgres "$PGBIN/pg_ctl" -D "$CLUSTER_DIR/data" -m immediate stop >/dev/null
wait || true
cluster_restart
check "after restart it shows STALE" "$(q "SELECT display_status FROM migration_engine.migration_status WHERE migration_name = 'm_restarted'")" "STALE"
psql -qX -c "CALL migration_engine.run_migration('m_restarted', '{\"resume\": true}')" >/dev/null 2>&1
check "CALL run_migration resume finishes it" "$(q "SELECT status FROM migration_engine.knowledge_migrations WHERE migration_name = 'm_restarted'")" "COMPLETED"
check "same data as the uninterrupted run" "$(table_checksum t_restarted | cut -d: -f2)" "$(echo "$reference" | cut -d: -f2)"
