# Flyway-style deploys (issue 12, deploy-tool contract): V<n>__*.sql files applied with
# psql --single-transaction -v ON_ERROR_STOP=1. A failing file fails the deploy (exit 3,
# the step's SQLSTATE), the whole set is rolled back, and the failure is kept all the
# same (migration_engine.deploy_failures, written by an autonomous worker); re-deploying
# is a no-op; the fixed file deploys.
. "$MIGRATION_ENGINE_ROOT/tests/client/lib.sh"
dir=$MIGRATION_ENGINE_ROOT/examples/flyway
deploy() { # deploy FILE...: one transaction, as Flyway; prints psql's exit status
    local args=()
    for f in "$@"; do args+=(-f "$f"); done
    local rc=0
    psql -qX --single-transaction -v ON_ERROR_STOP=1 -v VERBOSITY=verbose "${args[@]}" > /tmp/me-flyway.out 2>&1 || rc=$?
    echo $rc
}
status_of() { q "SELECT coalesce((SELECT status FROM migration_engine.knowledge_migrations WHERE migration_name = '$1'), 'absent')"; }
q "SELECT count(migration_engine.upsert_entity('Person', jsonb_build_object('n', g))) FROM generate_series(1, 20) g" >/dev/null

check "V1 and V2 deploy in one transaction" "$(deploy "$dir/sql/V1__add_score.sql" "$dir/sql/V2__tag_people.sql")" "0"
check "both are COMPLETED" "$(status_of add_score) $(status_of tag_people)" "COMPLETED COMPLETED"

check "V3 (broken) with V4 fails the deploy: psql exits 3" "$(deploy "$dir/sql/V3__backfill_tags.sql" "$dir/sql/V4__index_tags.sql")" "3"
check "with the failing step's SQLSTATE (42P01) and where the failure is kept" \
    "$(grep -c 'ERROR:  42P01: migration backfill_tags FAILED' /tmp/me-flyway.out) $(grep -c 'recorded in migration_engine.deploy_failures' /tmp/me-flyway.out)" "1 1"
check "the transaction is rolled back whole: neither migration exists" "$(status_of backfill_tags) $(status_of index_tags)" "absent absent"
check "the failure is kept: name, step, SQLSTATE, error, who, which backend" \
    "$(q "SELECT migration_name || ' ' || failed_step || ' ' || sqlstate || ' ' || (error LIKE '%no_such_people%') || ' ' || actor || ' ' || (caller_pid > 0) || ' ' || (definition ->> 'name') FROM migration_engine.deploy_failures")" \
    "backfill_tags fill 42P01 true postgres true backfill_tags"
check "the audit trail has no trace of the rolled-back run" "$(q "SELECT count(*) FROM migration_engine.audit_log WHERE object_name = 'backfill_tags'")" "0"
check "deploy_failures is append-only (42501)" \
    "$(psql -qAtX -v VERBOSITY=verbose -c "DELETE FROM migration_engine.deploy_failures" 2>&1 | grep -o '^ERROR:  42501' | head -1)" "ERROR:  42501"

check "everything again, with the fixed V3: exit 0" "$(deploy "$dir/sql/V1__add_score.sql" "$dir/sql/V2__tag_people.sql" "$dir/fixed/V3__backfill_tags.sql" "$dir/sql/V4__index_tags.sql")" "0"
check "V3 and V4 are COMPLETED, V3 filled the tags" "$(status_of backfill_tags) $(status_of index_tags) $(q "SELECT count(*) FROM public.person_tags")" "COMPLETED COMPLETED 20"
check "V1 and V2 were not run again (one COMPLETED record each)" \
    "$(q "SELECT count(*) FROM migration_engine.audit_log WHERE object_name IN ('add_score', 'tag_people') AND to_status = 'COMPLETED'")" "2"
check "a re-deploy says so" "$(q "SELECT migration_engine.deploy_migration(definition) ->> 'message' FROM migration_engine.knowledge_migrations WHERE migration_name = 'add_score'")" "already deployed (the same definition is COMPLETED)"

# outside a transaction block (autocommit), the same
rc=0; psql -qX -v ON_ERROR_STOP=1 -c "SELECT migration_engine.deploy_migration('{\"name\": \"autocommit_broken\", \"version\": \"1\", \"forward\": [{\"name\": \"boom\", \"type\": \"SQL\", \"script\": \"SELECT 1/0\"}], \"rollback\": [{\"name\": \"r\", \"type\": \"SQL\", \"script\": \"SELECT 1\"}]}')" >/dev/null 2>&1 || rc=$?
check "in autocommit a failing deploy also fails and is kept (22012)" "$rc $(q "SELECT sqlstate FROM migration_engine.deploy_failures WHERE migration_name = 'autocommit_broken'")" "1 22012"

# the autonomous write runs with the caller's rights: a migration_admin member that is no
# superuser records its own failure, as itself
rc=0; PGUSER=me_admin_user psql -qX -v ON_ERROR_STOP=1 -c "SELECT migration_engine.deploy_migration('{\"name\": \"admin_broken\", \"version\": \"1\", \"forward\": [{\"name\": \"boom\", \"type\": \"SQL\", \"script\": \"SELECT 1/0\"}], \"rollback\": [{\"name\": \"r\", \"type\": \"SQL\", \"script\": \"SELECT 1\"}]}')" >/dev/null 2>&1 || rc=$?
check "a non-superuser's failed deploy is kept, written as that role" \
    "$rc $(q "SELECT actor || ' ' || sqlstate FROM migration_engine.deploy_failures WHERE migration_name = 'admin_broken'")" "1 me_admin_user 22012"
