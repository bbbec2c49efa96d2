# The SUBSCRIPTION forms PostgreSQL runs only as top-level statements (issue 14), run by
# CALL run_migration through the top-level runner: CREATE SUBSCRIPTION that creates its
# slot, ALTER SUBSCRIPTION ... REFRESH PUBLICATION, DROP SUBSCRIPTION of one with a slot
# (CALL run_rollback). The publisher is a second throwaway cluster with wal_level =
# logical; this test's database subscribes to it. Checked too: each form is refused in a
# transaction block (so the runner is what makes it possible), a subscription to a
# publisher that cannot be reached fails the deploy and leaves no subscription, a
# migration_admin member that is no superuser gets PostgreSQL's own refusal (42501) from
# the worker, and no replication slot is left behind on the publisher.
. "$MIGRATION_ENGINE_ROOT/tests/client/lib.sh"
. "$MIGRATION_ENGINE_ROOT/scripts/lib/cluster.sh"
work=$(mktemp -d)
trap 'second_cluster_stop; rm -rf "$work"' EXIT
sqlstate_of() { psql -qAtX -v VERBOSITY=verbose -c "$1" 2>&1 | sed -n 's/^ERROR:  \([0-9A-Z]\{5\}\):.*/\1/p' | head -1; }
status_of() { q "SELECT status FROM migration_engine.knowledge_migrations WHERE migration_name = '$1'"; }
second_cluster_start "wal_level = logical" "max_wal_senders = 10" "max_replication_slots = 10"
pub() { psql -qAtX -v ON_ERROR_STOP=1 "$SECOND_CONNINFO" -c "$1"; }
slots_on_publisher() { pub "SELECT coalesce(string_agg(slot_name, ',' ORDER BY slot_name), 'none') FROM pg_replication_slots"; }
# migration NAME FORWARD_SCRIPT ROLLBACK_SCRIPT: one step each way, both outside a transaction
migration() {
    q "SELECT migration_engine.create_migration(\$\${\"name\": \"$1\", \"version\": \"1\",
      \"forward\":  [{\"name\": \"forward\", \"type\": \"SQL\", \"transaction\": false, \"script\": \"$2\"}],
      \"rollback\": [{\"name\": \"back\", \"type\": \"SQL\", \"transaction\": false, \"script\": \"$3\"}]}\$\$)" >/dev/null
}

pub "CREATE TABLE public.feed (id int PRIMARY KEY, v text NOT NULL);
     INSERT INTO public.feed SELECT g, md5(g::text) FROM generate_series(1, 5000) g;
     CREATE TABLE public.feed_extra (id int PRIMARY KEY, v text NOT NULL);
     INSERT INTO public.feed_extra SELECT g, 'x' || g FROM generate_series(1, 300) g;
     CREATE PUBLICATION feed_pub FOR TABLE public.feed"
q "CREATE TABLE public.feed (id int PRIMARY KEY, v text NOT NULL);
   CREATE TABLE public.feed_extra (id int PRIMARY KEY, v text NOT NULL)"
create_sub="CREATE SUBSCRIPTION feed_sub CONNECTION '$SECOND_CONNINFO' PUBLICATION feed_pub"

# each form needs a top-level statement: in a transaction block PostgreSQL refuses it
check "CREATE SUBSCRIPTION that creates its slot is refused in a transaction block (25001)" \
    "$(sqlstate_of "BEGIN; $create_sub; COMMIT")" "25001"

# 1. CREATE SUBSCRIPTION through the runner: the slot is created, the initial copy runs
migration subscribe "$create_sub" "DROP SUBSCRIPTION feed_sub"
check "execute_migration refuses it before anything runs (25001)" \
    "$(sqlstate_of "SELECT migration_engine.execute_migration('subscribe')")/$(status_of subscribe)" "25001/PENDING"
psql -qX -v ON_ERROR_STOP=1 -c "CALL migration_engine.run_migration('subscribe')" > "$work/subscribe.out" 2>&1 \
    || { cat "$work/subscribe.out"; fail "CALL run_migration of CREATE SUBSCRIPTION failed"; }
check "the migration completes" "$(status_of subscribe)" "COMPLETED"
check "the subscription exists and is enabled" "$(q "SELECT subenabled FROM pg_subscription WHERE subname = 'feed_sub'")" "t"
check "its slot was created on the publisher" "$(slots_on_publisher)" "feed_sub"
check "the runner ran it as the caller" \
    "$(q "SELECT status || ' ' || run_as FROM migration_engine.top_level_runs ORDER BY attempt_id DESC LIMIT 1")" "COMPLETED postgres"
wait_for "SELECT count(*) = 5000 FROM public.feed" 60
pub "INSERT INTO public.feed VALUES (5001, 'streamed')"
wait_for "SELECT EXISTS (SELECT 1 FROM public.feed WHERE id = 5001 AND v = 'streamed')" 60
echo "ok - the initial copy arrived and a later write streams"

# 2. ALTER SUBSCRIPTION ... REFRESH PUBLICATION, after the publisher adds a table
pub "ALTER PUBLICATION feed_pub ADD TABLE public.feed_extra"
check "ALTER SUBSCRIPTION ... REFRESH PUBLICATION is refused in a transaction block (25001)" \
    "$(sqlstate_of "BEGIN; ALTER SUBSCRIPTION feed_sub REFRESH PUBLICATION; COMMIT")" "25001"
migration refresh "ALTER SUBSCRIPTION feed_sub REFRESH PUBLICATION" "ALTER SUBSCRIPTION feed_sub REFRESH PUBLICATION WITH (copy_data = false)"
psql -qX -v ON_ERROR_STOP=1 -c "CALL migration_engine.run_migration('refresh')" > "$work/refresh.out" 2>&1 \
    || { cat "$work/refresh.out"; fail "CALL run_migration of ALTER SUBSCRIPTION ... REFRESH failed"; }
check "the refresh completes" "$(status_of refresh)" "COMPLETED"
wait_for "SELECT count(*) = 300 FROM public.feed_extra" 60
echo "ok - the added table was copied"

# 3. a migration_admin member that is no superuser: the worker runs with that member's
#    rights, so PostgreSQL 15 itself refuses (only superusers create subscriptions)
PGUSER=me_admin_user psql -qX -v ON_ERROR_STOP=1 -c "SELECT migration_engine.create_migration(\$\${\"name\": \"admin_subscribe\", \"version\": \"1\",
  \"forward\":  [{\"name\": \"forward\", \"type\": \"SQL\", \"transaction\": false, \"script\": \"CREATE SUBSCRIPTION admin_sub CONNECTION '$SECOND_CONNINFO' PUBLICATION feed_pub\"}],
  \"rollback\": [{\"name\": \"back\", \"type\": \"SQL\", \"transaction\": false, \"script\": \"DROP SUBSCRIPTION admin_sub\"}]}\$\$)" >/dev/null
check "as a migration_admin member that is no superuser: PostgreSQL's refusal (42501)" \
    "$(PGUSER=me_admin_user sqlstate_of "CALL migration_engine.run_migration('admin_subscribe')")/$(status_of admin_subscribe)" "42501/FAILED"
check "... and no subscription, no slot" \
    "$(q "SELECT count(*) FROM pg_subscription WHERE subname = 'admin_sub'") $(slots_on_publisher)" "0 feed_sub"

# 4. a publisher that cannot be reached: the deploy fails with the connection's SQLSTATE
migration unreachable "CREATE SUBSCRIPTION lost_sub CONNECTION 'host=$work port=1 user=postgres dbname=postgres connect_timeout=2' PUBLICATION feed_pub" \
    "DROP SUBSCRIPTION IF EXISTS lost_sub"
check "CREATE SUBSCRIPTION to a publisher that cannot be reached fails the deploy (08006)" \
    "$(sqlstate_of "CALL migration_engine.run_migration('unreachable')")/$(status_of unreachable)" "08006/FAILED"
check "... the attempt is FAILED with that SQLSTATE, the step FAILED, no subscription left" \
    "$(q "SELECT r.status || ' ' || r.sqlstate FROM migration_engine.top_level_runs r JOIN migration_engine.knowledge_migrations m USING (migration_id) WHERE m.migration_name = 'unreachable'") $(q "SELECT count(*) FROM migration_engine.migration_execution_state s JOIN migration_engine.knowledge_migrations m USING (migration_id) WHERE m.migration_name = 'unreachable' AND s.step_status = 'FAILED'") $(q "SELECT count(*) FROM pg_subscription WHERE subname = 'lost_sub'")" "FAILED 08006 1 0"

# 5. DROP SUBSCRIPTION of one with a slot, as the rollback: the slot goes with it
check "DROP SUBSCRIPTION of one with a slot is refused in a transaction block (25001)" \
    "$(sqlstate_of "BEGIN; DROP SUBSCRIPTION feed_sub; COMMIT")" "25001"
psql -qX -v ON_ERROR_STOP=1 -c "CALL migration_engine.run_rollback('refresh')" -c "CALL migration_engine.run_rollback('subscribe')" > "$work/rollback.out" 2>&1 \
    || { cat "$work/rollback.out"; fail "CALL run_rollback of DROP SUBSCRIPTION failed"; }
check "both migrations are rolled back" "$(status_of refresh) $(status_of subscribe)" "ROLLED_BACK ROLLED_BACK"
check "the subscription is gone" "$(q "SELECT count(*) FROM pg_subscription")" "0"
check "no replication slot is left behind on the publisher" "$(slots_on_publisher)" "none"
