# The canary's background worker runs as the role that started the canary, never as the
# bootstrap superuser (issue 19, finding 1). A migration_admin member writes a CUSTOM
# pipeline function that records who runs it, starts a canary whose TRANSFORM step calls
# it, and the superuser writes an entity: the worker replays that write through the
# function, which must run as the member, without superuser rights.
. "$(dirname "$0")/lib.sh"
as_member() { PGUSER=me_admin_user psql -qAtX -v ON_ERROR_STOP=1 -c "$1"; }

q "DO \$\$ BEGIN EXECUTE format('GRANT CREATE ON DATABASE %I TO me_admin_user', current_database()); END \$\$"
q "CREATE TABLE public.seen (who text, super text, backend text, at timestamptz DEFAULT clock_timestamp())"
q "GRANT INSERT ON public.seen TO PUBLIC"
q "INSERT INTO kg.temporal_entities (entity_type, content) SELECT 'Person', jsonb_build_object('n', g) FROM generate_series(1, 200) g"

as_member "CREATE SCHEMA adm"
as_member "CREATE FUNCTION adm.pwn(item jsonb) RETURNS jsonb LANGUAGE plpgsql AS \$\$
BEGIN
    INSERT INTO public.seen (who, super, backend)
    SELECT current_user, current_setting('is_superuser'), backend_type FROM pg_stat_activity WHERE pid = pg_backend_pid();
    RETURN item || '{\"tagged\": true}';
END \$\$"
as_member "SELECT migration_engine.create_migration('{\"name\": \"sw\", \"version\": \"1\", \"forward\": [
    {\"name\": \"tag\", \"type\": \"TRANSFORM\", \"pipeline\": {\"name\": \"tag\", \"source\": {\"entityType\": \"Person\"},
       \"steps\": [{\"name\": \"pwn\", \"type\": \"CUSTOM\", \"config\": {\"function\": \"adm.pwn\"}}]}}],
  \"rollback\": [{\"name\": \"r\", \"type\": \"SQL\", \"script\": \"SELECT 1\"}]}')" >/dev/null
check "the member starts a canary" "$(as_member "SELECT migration_engine.start_canary('{\"migrationName\": \"sw\",
    \"canaryPercentage\": 10, \"stepPercentage\": 10, \"stabilizationSeconds\": 3600}')->>'success'")" "true"
check "its worker is recorded as running as the member" \
    "$(q "SELECT worker_role FROM migration_engine.canary_status WHERE migration_name = 'sw'")" "me_admin_user"

q "SELECT migration_engine.upsert_entity('Person', '{\"n\": \"written by the superuser\"}')" >/dev/null
wait_for "SELECT count(*) > 0 FROM public.seen WHERE backend = 'migration_engine canary'" 30
check "inside the worker the member's function ran as the member" \
    "$(q "SELECT string_agg(DISTINCT who || '/' || super, ',') FROM public.seen WHERE backend = 'migration_engine canary'")" "me_admin_user/off"
check "the write reached the new version through the function" \
    "$(q "SELECT count(*) FROM kg_canary.temporal_entities WHERE content->>'n' = 'written by the superuser' AND content ? 'tagged' AND valid_to = 'infinity'")" "1"
check "no step ever ran as a superuser" "$(q "SELECT count(*) FROM public.seen WHERE super <> 'off'")" "0"

as_member "SELECT migration_engine.abort_canary('sw')" >/dev/null
wait_for "SELECT count(*) = 0 FROM pg_stat_activity WHERE backend_type = 'migration_engine canary' AND datname = current_database()" 30
echo "ok - the worker stopped"

# A superuser session that SET ROLEs to the member starts a canary: no worker is started
# (it would log in as the superuser), the canary is advanced by hand with the caller's rights.
as_member "SELECT migration_engine.create_migration('{\"name\": \"sw2\", \"version\": \"1\", \"forward\": [
    {\"name\": \"tag\", \"type\": \"TRANSFORM\", \"pipeline\": {\"name\": \"tag2\", \"source\": {\"entityType\": \"Person\"},
       \"steps\": [{\"name\": \"pwn\", \"type\": \"CUSTOM\", \"config\": {\"function\": \"adm.pwn\"}}]}}],
  \"rollback\": [{\"name\": \"r\", \"type\": \"SQL\", \"script\": \"SELECT 1\"}]}')" >/dev/null
check "a superuser session acting as the member starts a canary without a worker" \
    "$(psql -qAtX -v ON_ERROR_STOP=1 -c "SET ROLE me_admin_user" -c "SELECT (r->>'success') || ' ' || coalesce(r->>'worker_pid', 'none') FROM migration_engine.start_canary('{\"migrationName\": \"sw2\",
       \"targetSchema\": \"sw2_new\", \"canaryPercentage\": 10, \"stepPercentage\": 10, \"stabilizationSeconds\": 3600}') r")" "true none"
check "no worker runs" "$(q "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'migration_engine canary' AND datname = current_database()")" "0"
as_member "SELECT migration_engine.abort_canary('sw2')" >/dev/null
