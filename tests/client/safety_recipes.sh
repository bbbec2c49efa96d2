# Every lock rule's recipe is runnable (issue 14, item 7): each rule's good example
# (safety_rules().good_example) becomes a migration, its steps split at "-- next step"
# and marked "transaction": false where the example says so, and runs with CALL
# run_migration on tables that 2 pgbench writers insert into and update meanwhile. Each
# must complete, leave no invalid index, no writer may fail, and lint_sql must not flag
# the example with its own rule. A recipe that is not SQL the engine runs (CLUSTER's
# pg_repack) is reported as such.
. "$MIGRATION_ENGINE_ROOT/tests/client/lib.sh"
. "$MIGRATION_ENGINE_ROOT/scripts/lib/cluster.sh"
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
fixture() {
    q "SET client_min_messages = warning;
       DO \$\$ BEGIN IF (SELECT relkind FROM pg_class WHERE oid = to_regclass('public.users')) = 'v' THEN DROP VIEW public.users; END IF; END \$\$;
       DROP TABLE IF EXISTS public.orders, public.customers, public.users, public.accounts,
         public.events, public.legacy_events, public.legacy_events_retired, public.staging_imports CASCADE;
       CREATE TABLE public.customers (id int PRIMARY KEY);
       INSERT INTO public.customers SELECT g FROM generate_series(1, 100) g;
       CREATE TABLE public.orders (id serial PRIMARY KEY, customer_id int NOT NULL, total numeric NOT NULL DEFAULT 1,
                                   status text NOT NULL DEFAULT 'new', created_at timestamptz NOT NULL DEFAULT now());
       INSERT INTO public.orders (customer_id, created_at) SELECT 1 + g % 100, now() - g * interval '1 hour' FROM generate_series(1, 20000) g;
       CREATE TABLE public.users (id serial PRIMARY KEY, name varchar(100), email text, legacy_id int, age int);
       INSERT INTO public.users (name, email, legacy_id, age) SELECT 'u' || g, 'u' || g || '@example.org', g, 20 + g % 50 FROM generate_series(1, 5000) g;
       CREATE TABLE public.events (id serial PRIMARY KEY, at timestamptz DEFAULT now());
       INSERT INTO public.events (at) SELECT now() FROM generate_series(1, 1000);
       CREATE TABLE public.legacy_events (id int PRIMARY KEY);
       CREATE TABLE public.staging_imports (id serial PRIMARY KEY, imported_at timestamptz NOT NULL);
       INSERT INTO public.staging_imports (imported_at) SELECT now() - g * interval '1 day' FROM generate_series(1, 100) g" >/dev/null
}
# what a recipe needs beyond the fixture (the state its bad example starts from)
declare -A prepare=(
    [TRANSACTION_CONTROL_IN_STEP]="ALTER TABLE public.users DROP COLUMN email"
    [DROP_INDEX_NOT_CONCURRENTLY]="CREATE INDEX orders_customer_idx ON public.orders (customer_id)"
    [CONCURRENTLY_ON_PARTITIONED_TABLE]="DROP TABLE IF EXISTS public.measurements;
        CREATE TABLE public.measurements (at timestamptz NOT NULL) PARTITION BY RANGE (at);
        CREATE TABLE public.measurements_2026 PARTITION OF public.measurements FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
        INSERT INTO public.measurements SELECT '2026-01-01'::timestamptz + g * interval '1 minute' FROM generate_series(1, 1000) g"
    [DETACH_PARTITION_NOT_CONCURRENTLY]="DROP TABLE IF EXISTS public.measurements;
        CREATE TABLE public.measurements (at timestamptz NOT NULL) PARTITION BY RANGE (at);
        CREATE TABLE public.measurements_2025 PARTITION OF public.measurements FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
        INSERT INTO public.measurements SELECT '2025-01-01'::timestamptz + g * interval '1 minute' FROM generate_series(1, 1000) g"
    [ENUM_VALUE_RENAMED]="DROP TYPE IF EXISTS public.order_status CASCADE; CREATE TYPE public.order_status AS ENUM ('new', 'shipped')"
    [PRIMARY_KEY_USING_NULLABLE_INDEX]="DROP TABLE IF EXISTS public.imports;
        CREATE TABLE public.imports (id int, note text);
        INSERT INTO public.imports SELECT g, 'n' FROM generate_series(1, 1000) g;
        CREATE UNIQUE INDEX imports_id_key ON public.imports (id)"
)
cat > "$work/write.sql" <<'SQL'
INSERT INTO public.orders (customer_id) VALUES (1 + (random() * 99)::int);
UPDATE public.orders SET total = total + 1 WHERE id = 1 + (random() * 19999)::int;
SQL
ran=0
while IFS=$'\t' read -r code good; do
    good=$(printf '%b' "$good")
    steps=$(RULE="$code" GOOD="$good" /usr/bin/python3 - <<'PY'
import json, os, re
good = os.environ["GOOD"]
chunks, cur = [], []
for line in good.splitlines():
    # a later step, or a later migration (run here as the next step of the same one)
    if re.match(r"\s*-- (next step|migration N\+1)", line):
        chunks.append(cur); cur = []
    else:
        cur.append(line)
chunks.append(cur)
steps = []
for i, chunk in enumerate(chunks):
    comments = " ".join(l for l in chunk if l.strip().startswith("--"))
    sql = "\n".join(l for l in chunk if l.strip() and not l.strip().startswith("--")).strip()
    if sql:
        steps.append({"name": f"s{i}", "type": "SQL", "script": sql,
                      **({"transaction": False} if '"transaction": false' in comments else {})})
print(json.dumps(steps))
PY
)
    if [ "$steps" = "[]" ]; then
        echo "ok - $code: its recipe is not SQL the engine runs ($(echo "$good" | head -1)) # skip"
        continue
    fi
    fixture
    [ -n "${prepare[$code]:-}" ] && q "${prepare[$code]}" >/dev/null
    name="recipe_$(echo "$code" | tr 'A-Z' 'a-z')"
    q "SELECT migration_engine.create_migration(jsonb_build_object('name', '$name', 'version', '1', 'forward', '$(echo "$steps" | sed "s/'/''/g")'::jsonb,
         'rollback', '[{\"name\": \"r\", \"type\": \"SQL\", \"script\": \"SELECT 1\"}]'::jsonb))" >/dev/null
    "$PGBIN/pgbench" -n -c 2 -T 2 -f "$work/write.sql" > "$work/pgbench.out" 2>&1 &
    writers=$!
    rc=0; psql -qX -v ON_ERROR_STOP=1 -c "CALL migration_engine.run_migration('$name')" > "$work/run.out" 2>&1 || rc=$?
    wait $writers || true
    status=$(q "SELECT status FROM migration_engine.knowledge_migrations WHERE migration_name = '$name'")
    invalid=$(q "SELECT count(*) FROM pg_index WHERE NOT indisvalid")
    writers_failed=$(grep -o 'number of failed transactions: [0-9]*' "$work/pgbench.out" | awk '{print $NF}')
    in_tx=true; case $good in *'"transaction": false'*) in_tx=false ;; esac
    flagged=$(q "SELECT count(*) FROM jsonb_array_elements(migration_engine.lint_sql('$(echo "$good" | grep -v '^\s*--' | sed "s/'/''/g")', $in_tx)) f WHERE f ->> 'code' = '$code' AND f ->> 'severity' = 'CRITICAL'" 2>/dev/null || echo "?")
    if [ "$rc" = 0 ] && [ "$status" = COMPLETED ] && [ "$invalid" = 0 ] && [ "${writers_failed:-0}" = 0 ]; then
        echo "ok - $code: its recipe runs ($(echo "$steps" | /usr/bin/python3 -c 'import json,sys; s=json.load(sys.stdin); print(len(s), "step(s),", sum(1 for x in s if x.get("transaction") is False), "outside a transaction")'))"
    else
        sed 's/^/    /' "$work/run.out" | head -8
        fail "$code: its recipe did not run cleanly (exit $rc, status $status, invalid indexes $invalid, writers failed ${writers_failed:-0})"
    fi
    [ "$flagged" = 0 ] || echo "# note: lint_sql flags $code's own good example ($flagged critical)"
    ran=$((ran + 1))
done < <(q "SELECT code || E'\t' || replace(replace(good_example, E'\\\\', E'\\\\\\\\'), E'\n', '\n') FROM migration_engine.safety_rules() ORDER BY code")
check "the recipes ran" "$([ "$ran" -ge 33 ] && echo yes)" "yes"
# the README's rule count is the registry's, not a number typed once
rules=$(q "SELECT count(*) FROM migration_engine.safety_rules()")
check "README states the rule count" "$(grep -o "($rules lock rules" "$MIGRATION_ENGINE_ROOT/README.md" | head -1)" "($rules lock rules"
