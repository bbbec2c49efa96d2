# Crash and race trials (sourced by scripts/trials and tests/client/trials_short.sh).
#
# Crash trials: a CALL run_migration, a CALL run_pipeline and a blue-green run are each
# started in the background, crashed at a random point (the backend terminated or killed
# with kill -9, or the server stopped with pg_ctl -m immediate), then resumed the way the
# docs say, and the result is compared with an uninterrupted run of an identical
# workload. Race trials: two sessions start the same migration at the same moment.
#
# Needs tests/client/lib.sh (q, fail, wait_for, make_slow_migration, table_checksum),
# scripts/lib/cluster.sh (as_postgres, PGBIN, cluster_restart), CLUSTER_DIR and the PG*
# variables of a database with the extension. Entry point: trials_main RUNS RACES [SEED].

# workload sizes (the short client test makes them smaller)
TRIAL_MIG_STEPS=${TRIAL_MIG_STEPS:-12}     # run_migration: steps of 100 rows each...
TRIAL_MIG_SLEEP=${TRIAL_MIG_SLEEP:-0.25}   # ...and this many seconds of pg_sleep
TRIAL_PIPE_ROWS=${TRIAL_PIPE_ROWS:-2500}   # run_pipeline: entities (about 1 ms each)
TRIAL_PIPE_BATCH=${TRIAL_PIPE_BATCH:-125}
TRIAL_BG_ROWS=${TRIAL_BG_ROWS:-30000}      # blue-green: entities copied and transformed
TRIAL_RACE_SLEEP=${TRIAL_RACE_SLEEP:-0.05} # the raced migration's step
TRIAL_MIN_DELAY_MS=${TRIAL_MIN_DELAY_MS:-200}
TRIAL_MAX_DELAY_PCT=${TRIAL_MAX_DELAY_PCT:-80}
TRIAL_CRASH_MODES=(terminate immediate kill9 immediate)
# to reproduce one run: TRIAL_KINDS (some of run_migration run_pipeline blue_green),
# TRIAL_DELAY_MS (crash at this delay) and TRIAL_MODE (terminate, kill9 or immediate)
TRIAL_KINDS=${TRIAL_KINDS:-run_migration run_pipeline blue_green}
TRIAL_DELAY_MS=${TRIAL_DELAY_MS:-}
TRIAL_MODE=${TRIAL_MODE:-}

trial_ms() { date +%s%3N; }
trial_say() { echo "$*"; }

# --- crashing ---------------------------------------------------------------------------

# trial_server_ready [seconds]: the server accepts connections again (after kill -9 the
# postmaster kills every backend and runs crash recovery; after a restart it starts up).
trial_server_ready() {
    local deadline=$(( $(date +%s) + ${1:-60} ))
    until psql -qAtX -c "SELECT 1" >/dev/null 2>&1; do
        [ "$(date +%s)" -lt "$deadline" ] || { echo "FAIL: the server did not come back"; return 1; }
        sleep 0.1
    done
}

# trial_delay_ms DURATION_MS: a random crash delay, from TRIAL_MIN_DELAY_MS to
# TRIAL_MAX_DELAY_PCT% of the run's duration. The seed fixes the fractions of that range,
# not the milliseconds (the reference run's duration varies). Consumes $RANDOM: call it
# in the main shell, not in a subshell.
trial_delay_ms() {
    local lo=$TRIAL_MIN_DELAY_MS hi=$(( $1 * TRIAL_MAX_DELAY_PCT / 100 )) frac=$(( (RANDOM * 32768 + RANDOM) % 10001 ))
    [ "$hi" -gt "$lo" ] || hi=$lo
    echo $(( lo + (hi - lo) * frac / 10000 ))
}

# trial_mode KIND_NO RUN_NO: terminate, immediate, kill9, immediate, ... shifted by kind,
# so that two runs per kind still meet every mode across the kinds
trial_mode() { echo "${TRIAL_CRASH_MODES[$(( ($2 - 1 + 2 * $1) % 4 ))]}"; }

trial_backend_of() { psql -qAtX -c "SELECT pid FROM pg_stat_activity WHERE application_name = '$1'" 2>/dev/null | head -1 || true; }
trial_ready_count() { grep -c 'database system is ready to accept connections' "$CLUSTER_DIR/log" 2>/dev/null || true; }

# trial_crash_run APP SQL DELAY_MS MODE OUT: run SQL in the background in a session named
# APP, crash it DELAY_MS after the start with MODE, wait for the server. Sets
# TRIAL_CRASHED (the pid it hit, or "none" when the run had ended already).
trial_crash_run() {
    local app=$1 sql=$2 delay=$3 mode=$4 out=$5 t0 pid bg left i ready
    t0=$(trial_ms)
    PGAPPNAME=$app psql -qAtX -v ON_ERROR_STOP=1 -c "$sql" >"$out" 2>&1 &
    bg=$!
    for i in $(seq 200); do pid=$(trial_backend_of "$app"); [ -n "$pid" ] && break; kill -0 $bg 2>/dev/null || break; sleep 0.02; done
    [ -n "$pid" ] || { echo "FAIL: the run's session never showed up: $(head -3 "$out")"; return 1; }
    left=$(( delay - ($(trial_ms) - t0) ))
    [ "$left" -le 0 ] || sleep "$(printf '%d.%03d' $((left / 1000)) $((left % 1000)))"
    pid=$(trial_backend_of "$app")
    TRIAL_CRASHED=${pid:-none}
    ready=$(trial_ready_count)
    case $mode in
        terminate) [ -z "$pid" ] || psql -qAtX -c "SELECT pg_terminate_backend($pid)" >/dev/null ;;
        kill9) [ -z "$pid" ] || kill -9 "$pid" 2>/dev/null || TRIAL_CRASHED=none ;;   # gone meanwhile: it had ended
        immediate) as_postgres "$PGBIN/pg_ctl" -D "$CLUSTER_DIR/data" -m immediate stop >/dev/null ;;
        *) echo "FAIL: unknown crash mode $mode"; return 1 ;;
    esac
    for i in $(seq 600); do kill -0 $bg 2>/dev/null || break; sleep 0.05; done
    kill -0 $bg 2>/dev/null && { kill $bg; echo "FAIL: the run's client did not end after the crash"; return 1; }
    wait $bg || true
    [ "$mode" != immediate ] || cluster_restart
    if [ "$mode" = kill9 ] && [ "$TRIAL_CRASHED" != none ]; then
        # the postmaster resets every backend and recovers: wait for it to say it is ready
        # again (a connection made before it noticed the crash would be cut). Had the
        # backend ended by itself just before the kill, no crash is logged: go on after 3 s.
        for i in $(seq 1200); do
            [ "$(trial_ready_count)" -gt "$ready" ] && break
            [ "$i" -lt 60 ] || grep -q "(PID $pid) was terminated by signal 9" "$CLUSTER_DIR/log" || { TRIAL_CRASHED=none; break; }
            sleep 0.05
        done
    fi
    trial_server_ready
    if [ "$mode" = terminate ] && [ -n "$pid" ]; then   # the backend may still be exiting
        for i in $(seq 100); do [ -z "$(q "SELECT 1 FROM pg_stat_activity WHERE pid = $pid")" ] && break; sleep 0.05; done
    fi
}

trial_mode_label() { case $1 in kill9) echo "kill -9";; immediate) echo "pg_ctl -m immediate";; *) echo "pg_terminate_backend";; esac; }

# --- run_migration ----------------------------------------------------------------------

trial_mig_make() { # NAME: a table without a key (a step applied twice shows) and its migration
    q "CREATE TABLE public.$1_t (id int, v text)"
    make_slow_migration "$1" "$TRIAL_MIG_STEPS" "public.$1_t" "$TRIAL_MIG_SLEEP"
}
trial_mig_reference() {
    local t0
    trial_mig_make trial_mig_ref
    t0=$(trial_ms)
    psql -qX -v ON_ERROR_STOP=1 -c "CALL migration_engine.run_migration('trial_mig_ref')" >/dev/null 2>&1 || { echo "FAIL: the reference run failed"; return 1; }
    TRIAL_REF_MS=$(( $(trial_ms) - t0 ))
    [ "$(q "SELECT status FROM migration_engine.knowledge_migrations WHERE migration_name = 'trial_mig_ref'")" = COMPLETED ] || { echo "FAIL: the reference run did not complete"; return 1; }
    TRIAL_REF_SUM=$(table_checksum public.trial_mig_ref_t)
    [ "${TRIAL_REF_SUM%%:*}" = $(( TRIAL_MIG_STEPS * 100 )) ] || { echo "FAIL: the reference run wrote ${TRIAL_REF_SUM%%:*} rows"; return 1; }
}
# trial_mig_one RUN DELAY MODE RESUME(function|call): prints one line; the crash point
# (steps committed) goes to $TRIAL_WORK/point, how it was resumed to $TRIAL_WORK/how
trial_mig_one() {
    local r=$1 delay=$2 mode=$3 how=$4 name=trial_mig_$1 st ndone sum rows res
    trial_mig_make "$name"
    trial_crash_run "$name" "CALL migration_engine.run_migration('$name')" "$delay" "$mode" "$TRIAL_WORK/$name.out"
    st=$(q "SELECT display_status FROM migration_engine.migration_status WHERE migration_name = '$name'")
    ndone=$(q "SELECT done_steps FROM migration_engine.migration_status WHERE migration_name = '$name'")
    echo "$ndone" >"$TRIAL_WORK/point"
    case $st in
        STALE)
            if [ "$how" = function ]; then
                res=$(q "SELECT migration_engine.resume_migration('$name')")
                how="resume_migration"
                [ "$(echo "$res" | q_json status)" = COMPLETED ] || { echo "FAIL: run $r: resume_migration returned $res"; return 1; }
            else
                how="CALL run_migration resume"
                psql -qX -v ON_ERROR_STOP=1 -c "CALL migration_engine.run_migration('$name', '{\"resume\": true}')" >"$TRIAL_WORK/$name.resume" 2>&1 \
                    || { echo "FAIL: run $r: CALL run_migration resume failed: $(head -3 "$TRIAL_WORK/$name.resume")"; return 1; }
            fi ;;
        PENDING)   # crashed before the first commit: nothing to resume, run it
            how="not started: CALL run_migration"
            psql -qX -v ON_ERROR_STOP=1 -c "CALL migration_engine.run_migration('$name')" >"$TRIAL_WORK/$name.resume" 2>&1 \
                || { echo "FAIL: run $r: CALL run_migration failed: $(head -3 "$TRIAL_WORK/$name.resume")"; return 1; } ;;
        COMPLETED) how="completed before the crash" ;;
        *) echo "FAIL: run $r: after the crash ($(trial_mode_label "$mode") of backend $TRIAL_CRASHED at $delay ms, $ndone steps committed) the migration shows $st (expected STALE)"; return 1 ;;
    esac
    echo "$how" >"$TRIAL_WORK/how"
    st=$(q "SELECT status FROM migration_engine.knowledge_migrations WHERE migration_name = '$name'")
    sum=$(table_checksum "public.${name}_t")
    rows=$(q "SELECT count(*) || '/' || count(DISTINCT id) FROM public.${name}_t")
    local line="run_migration #$r: $(trial_mode_label "$mode") at $delay ms ($(( delay * 100 / TRIAL_REF_MS ))% of the reference run), $ndone/$TRIAL_MIG_STEPS steps committed, $how -> $st, rows $rows"
    [ "$st" = COMPLETED ] || { echo "FAIL: $line: not COMPLETED"; return 1; }
    [ "$sum" = "$TRIAL_REF_SUM" ] || { echo "FAIL: $line: checksum $sum, reference $TRIAL_REF_SUM"; return 1; }
    echo "ok - $line, same checksum"
}

q_json() { /usr/bin/python3 -c 'import json,sys; v=json.load(sys.stdin).get(sys.argv[1]); print("" if v is None else v)' "$1"; }

# --- run_pipeline -----------------------------------------------------------------------

# each item: to_integer on n, and a counter c bumped by a CUSTOM step (c = 2 would be an
# item transformed twice), with a short sleep so that the run takes a while
trial_pipe_setup() {
    q "CREATE OR REPLACE FUNCTION public.trial_bump(item jsonb) RETURNS jsonb LANGUAGE sql AS
       \$\$ SELECT item || jsonb_build_object('c', coalesce((item ->> 'c')::int, 0) + 1, 'slept', pg_sleep(0.0005) IS NULL) \$\$" >/dev/null
}
trial_pipe_def() { # ENTITY_TYPE
    echo "{\"name\": \"$1\", \"source\": {\"entityType\": \"$1\"}, \"batchSize\": $TRIAL_PIPE_BATCH, \"steps\": [
      {\"name\": \"int\", \"type\": \"MAP\", \"config\": {\"mappingRules\": [{\"type\": \"FIELD_TRANSFORM\", \"field\": \"n\", \"transformation\": \"to_integer\"}]}},
      {\"name\": \"bump\", \"type\": \"CUSTOM\", \"config\": {\"function\": \"public.trial_bump\"}}]}"
}
trial_pipe_make() { q "INSERT INTO kg.temporal_entities (entity_type, content) SELECT '$1', jsonb_build_object('n', g::text) FROM generate_series(1, $TRIAL_PIPE_ROWS) g" >/dev/null; }
# current versions : all versions : entities with several current versions : md5 of the current contents
trial_pipe_checksum() {
    q "SELECT count(*) FILTER (WHERE valid_to = 'infinity') || ':' || count(*) || ':' ||
              (SELECT count(*) FROM (SELECT entity_id FROM kg.temporal_entities WHERE entity_type = '$1' AND valid_to = 'infinity' GROUP BY 1 HAVING count(*) > 1) d) || ':' ||
              coalesce(md5(string_agg(content::text, ',' ORDER BY (content ->> 'n')::int) FILTER (WHERE valid_to = 'infinity')), '')
       FROM kg.temporal_entities WHERE entity_type = '$1'"
}
trial_pipe_reference() {
    local t0
    trial_pipe_setup
    trial_pipe_make TrialPipeRef
    t0=$(trial_ms)
    psql -qX -v ON_ERROR_STOP=1 -c "CALL migration_engine.run_pipeline('$(trial_pipe_def TrialPipeRef)')" >/dev/null 2>&1 || { echo "FAIL: the reference run failed"; return 1; }
    TRIAL_REF_MS=$(( $(trial_ms) - t0 ))
    [ "$(q "SELECT status || ':' || rows_done FROM migration_engine.pipeline_runs WHERE pipeline_name = 'TrialPipeRef'")" = "COMPLETED:$TRIAL_PIPE_ROWS" ] || { echo "FAIL: the reference run did not complete"; return 1; }
    TRIAL_REF_SUM=$(trial_pipe_checksum TrialPipeRef)
    [ "$(q "SELECT count(*) FROM kg.temporal_entities WHERE entity_type = 'TrialPipeRef' AND valid_to = 'infinity' AND content ->> 'c' = '1'")" = "$TRIAL_PIPE_ROWS" ] \
        || { echo "FAIL: the reference run did not transform every item once"; return 1; }
}
trial_pipe_one() {
    local r=$1 delay=$2 mode=$3 et=TrialPipe$1 p runs run st ndone how sum bad
    p=$(trial_pipe_def "$et")
    trial_pipe_make "$et"
    trial_crash_run "trial_pipe_$r" "CALL migration_engine.run_pipeline('$p')" "$delay" "$mode" "$TRIAL_WORK/$et.out"
    runs=$(q "SELECT count(*) FROM migration_engine.pipeline_runs WHERE pipeline_name = '$et'")
    run=$(q "SELECT run_id FROM migration_engine.pipeline_runs WHERE pipeline_name = '$et'")
    st=$(q "SELECT status FROM migration_engine.pipeline_runs WHERE pipeline_name = '$et'")
    ndone=$(q "SELECT rows_done FROM migration_engine.pipeline_runs WHERE pipeline_name = '$et'")
    echo "${ndone:-0}" >"$TRIAL_WORK/point"
    case "$runs:$st" in
        0:)        # crashed before the run row was committed
            how="not started: CALL run_pipeline"
            psql -qX -v ON_ERROR_STOP=1 -c "CALL migration_engine.run_pipeline('$p')" >"$TRIAL_WORK/$et.resume" 2>&1 \
                || { echo "FAIL: run $r: CALL run_pipeline failed: $(head -3 "$TRIAL_WORK/$et.resume")"; return 1; }
            run=$(q "SELECT run_id FROM migration_engine.pipeline_runs WHERE pipeline_name = '$et'") ;;
        1:RUNNING) # the dead run is left RUNNING; resume it by its id
            how="CALL run_pipeline resume"
            psql -qX -v ON_ERROR_STOP=1 -c "CALL migration_engine.run_pipeline('$p', '{\"resume\": \"$run\"}')" >"$TRIAL_WORK/$et.resume" 2>&1 \
                || { echo "FAIL: run $r: CALL run_pipeline resume failed: $(head -3 "$TRIAL_WORK/$et.resume")"; return 1; } ;;
        1:COMPLETED) how="completed before the crash" ;;
        *) echo "FAIL: run $r: after the crash ($(trial_mode_label "$mode") at $delay ms) $runs run(s), status '$st'"; return 1 ;;
    esac
    echo "$how" >"$TRIAL_WORK/how"
    st=$(q "SELECT status || ':' || rows_done || ':' || rows_changed FROM migration_engine.pipeline_runs WHERE run_id = '$run'")
    sum=$(trial_pipe_checksum "$et")
    bad=$(q "SELECT count(*) FROM kg.temporal_entities WHERE entity_type = '$et' AND valid_to = 'infinity' AND content ->> 'c' IS DISTINCT FROM '1'")
    local line="run_pipeline #$r: $(trial_mode_label "$mode") at $delay ms ($(( delay * 100 / TRIAL_REF_MS ))% of the reference run), ${ndone:-0}/$TRIAL_PIPE_ROWS rows committed, $how -> ${st%%:*}"
    [ "$st" = "COMPLETED:$TRIAL_PIPE_ROWS:$TRIAL_PIPE_ROWS" ] || { echo "FAIL: $line: status:rows_done:rows_changed $st"; return 1; }
    [ "$bad" = 0 ] || { echo "FAIL: $line: $bad items not transformed exactly once"; return 1; }
    [ "$sum" = "$TRIAL_REF_SUM" ] || { echo "FAIL: $line: checksum $sum, reference $TRIAL_REF_SUM"; return 1; }
    echo "ok - $line, every item transformed once, same checksum"
}

# --- blue-green -------------------------------------------------------------------------

trial_bg_make() { # NAME: add a column (SQL step) and rename a field (TRANSFORM step)
    q "SELECT migration_engine.create_migration('{\"name\": \"$1\", \"version\": \"1\", \"forward\": [
         {\"name\": \"region\", \"type\": \"SQL\", \"script\": \"ALTER TABLE temporal_entities ADD COLUMN region text NOT NULL DEFAULT ''eu''\"},
         {\"name\": \"rename\", \"type\": \"TRANSFORM\", \"pipeline\": {\"name\": \"n to num\", \"source\": {\"entityType\": \"TrialBG\"},
            \"steps\": [{\"name\": \"map\", \"type\": \"MAP\", \"config\": {\"mappingRules\": [{\"type\": \"FIELD_RENAME\", \"source\": \"n\", \"target\": \"num\"}]}}]}}],
       \"rollback\": [{\"name\": \"r\", \"type\": \"SQL\", \"script\": \"SELECT 1\"}]}')" >/dev/null
}
trial_bg_sql() { echo "SELECT migration_engine.execute_blue_green_migration((SELECT migration_id FROM migration_engine.knowledge_migrations WHERE migration_name = '$1'), '$2')"; }
# versions : entities with several current versions : md5 of every version (what, not when)
trial_bg_checksum() { # SCHEMA [extra column]
    local col=${2:+" || '|' || $2"}
    q "SELECT count(*) || ':' ||
              (SELECT count(*) FROM (SELECT entity_id FROM $1.temporal_entities WHERE valid_to = 'infinity' GROUP BY 1 HAVING count(*) > 1) d) || ':' ||
              md5(string_agg(entity_id || '|' || entity_type || '|' || content::text || '|' || is_deleted || '|' || (valid_to = 'infinity')$col, ','
                             ORDER BY entity_id, valid_to, content::text))
       FROM $1.temporal_entities"
}
# back to kg, as before the run: switch back, drop the target, kg unchanged
trial_bg_restore() { # TARGET
    local res
    res=$(q "SELECT migration_engine.switch_back()")
    [ "$(echo "$res" | q_json success)" = True ] || { echo "FAIL: switch_back: $res"; return 1; }
    q "SELECT migration_engine.drop_inactive_schema('$1')" >/dev/null
    [ "$(q "SELECT migration_engine.active_schema()")" = kg ] || { echo "FAIL: kg is not active after switch_back"; return 1; }
    [ "$(trial_bg_checksum kg)" = "$TRIAL_BG_KG_SUM" ] || { echo "FAIL: kg changed across a blue-green run and its switch back"; return 1; }
}
trial_bg_reference() {
    local t0 res
    [ "$(q "SELECT migration_engine.active_schema()")" = kg ] || { echo "FAIL: the active schema is not kg"; return 1; }
    q "INSERT INTO kg.temporal_entities (entity_id, entity_type, content)
       SELECT md5('trial' || g)::uuid, 'TrialBG', jsonb_build_object('n', g) FROM generate_series(1, $TRIAL_BG_ROWS) g" >/dev/null
    q "ANALYZE kg.temporal_entities" >/dev/null
    TRIAL_BG_KG_SUM=$(trial_bg_checksum kg)
    trial_bg_make trial_bg_ref
    t0=$(trial_ms)
    res=$(q "$(trial_bg_sql trial_bg_ref trial_g_ref)") || { echo "FAIL: the reference run failed"; return 1; }
    TRIAL_REF_MS=$(( $(trial_ms) - t0 ))
    [ "$(echo "$res" | q_json success)" = True ] || { echo "FAIL: the reference run failed: $(echo "$res" | cut -c1-300)"; return 1; }
    TRIAL_REF_SUM=$(trial_bg_checksum trial_g_ref region)
    trial_bg_restore trial_g_ref
}
trial_bg_one() {
    local r=$1 delay=$2 mode=$3 name=trial_bg_$1 target=trial_g_$1 st active flag exists how res sum
    trial_bg_make "$name"
    trial_crash_run "$name" "$(trial_bg_sql "$name" "$target")" "$delay" "$mode" "$TRIAL_WORK/$name.out"
    st=$(q "SELECT display_status FROM migration_engine.migration_status WHERE migration_name = '$name'")
    active=$(q "SELECT migration_engine.active_schema()")
    flag=$(q "SELECT migration_in_progress FROM migration_engine.active_schema_version")
    exists=$(q "SELECT count(*) FROM pg_namespace WHERE nspname = '$target'")
    local line="blue_green #$r: $(trial_mode_label "$mode") at $delay ms ($(( delay * 100 / TRIAL_REF_MS ))% of the reference run)"
    if [ "$st:$active" = "COMPLETED:$target" ]; then
        how="completed before the crash"
        echo "after" >"$TRIAL_WORK/point"
    else
        # one transaction: a crash must leave no trace, and the run is simply run again
        [ "$st:$active:$flag:$exists" = "PENDING:kg:f:0" ] || { echo "FAIL: $line: after the crash status $st, active $active, in progress $flag, target exists $exists (expected PENDING:kg:f:0)"; return 1; }
        [ "$(trial_bg_checksum kg)" = "$TRIAL_BG_KG_SUM" ] || { echo "FAIL: $line: kg changed by the crashed run"; return 1; }
        echo "before" >"$TRIAL_WORK/point"
        how="rolled back, no trace; run again"
        res=$(q "$(trial_bg_sql "$name" "$target")")
        [ "$(echo "$res" | q_json success)" = True ] || { echo "FAIL: $line: the second run failed: $(echo "$res" | cut -c1-300)"; return 1; }
    fi
    echo "$how" >"$TRIAL_WORK/how"
    st=$(q "SELECT status FROM migration_engine.knowledge_migrations WHERE migration_name = '$name'")
    active=$(q "SELECT migration_engine.active_schema()")
    sum=$(trial_bg_checksum "$target" region)
    line="$line, $how -> $st, active $active"
    [ "$st:$active" = "COMPLETED:$target" ] || { echo "FAIL: $line"; return 1; }
    [ "$sum" = "$TRIAL_REF_SUM" ] || { echo "FAIL: $line: checksum $sum, reference $TRIAL_REF_SUM"; return 1; }
    trial_bg_restore "$target"
    echo "ok - $line, same checksum (switched back)"
}

# --- races ------------------------------------------------------------------------------

# trial_race_one RUN VARIANT(exec-exec|call-call|exec-call): both sessions wait on a shared
# advisory lock that a third session holds until both wait, then releases
trial_race_one() {
    local r=$1 variant=$2 name=trial_race_$1 holder i s cmd rc out kinds=() rows st
    q "SELECT migration_engine.create_migration('{\"name\": \"$name\", \"version\": \"1\", \"forward\": [{\"name\": \"a\", \"type\": \"SQL\", \"script\": \"INSERT INTO public.trial_race_runs (migration) VALUES (''$name''); SELECT pg_sleep($TRIAL_RACE_SLEEP)\"}], \"rollback\": [{\"name\": \"r\", \"type\": \"SQL\", \"script\": \"SELECT 1\"}]}')" >/dev/null
    psql -qAtX -c "SELECT pg_advisory_lock(4242, $r)" \
         -c "DO \$\$ BEGIN FOR i IN 1..2000 LOOP EXIT WHEN (SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND classid = 4242 AND objid = $r AND objsubid = 2 AND NOT granted) >= 2; PERFORM pg_sleep(0.005); END LOOP; END \$\$" \
         -c "SELECT pg_advisory_unlock(4242, $r)" >/dev/null 2>&1 &
    holder=$!
    wait_for "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND classid = 4242 AND objid = $r AND objsubid = 2 AND granted)" 10
    for s in 1 2; do
        case "$variant:$s" in exec-*:1|*-exec:2) cmd="SELECT migration_engine.execute_migration('$name')" ;; *) cmd="CALL migration_engine.run_migration('$name')" ;; esac
        rm -f "$TRIAL_WORK/race.$s" "$TRIAL_WORK/race.$s.rc"
        ( rc=0; psql -qAtX -v ON_ERROR_STOP=1 -c "SELECT pg_advisory_lock_shared(4242, $r)" -c "$cmd" >"$TRIAL_WORK/race.$s" 2>&1 || rc=$?
          echo $rc >"$TRIAL_WORK/race.$s.rc" ) &
    done
    wait
    for s in 1 2; do
        rc=$(cat "$TRIAL_WORK/race.$s.rc"); out=$(cat "$TRIAL_WORK/race.$s")
        case "$variant:$s" in
            exec-*:1|*-exec:2)
                case "$(echo "$out" | tail -1 | /usr/bin/python3 -c 'import json,sys
try: v = json.load(sys.stdin); print(v.get("success"), v.get("code"))
except Exception: print("unreadable")')" in
                    "True None") kinds+=(success) ;;
                    "False ALREADY_RUNNING") kinds+=(refused_running) ;;
                    "False ALREADY_COMPLETED") kinds+=(refused_completed) ;;
                    *) kinds+=(other) ;;
                esac ;;
            *)
                if [ "$rc" = 0 ] && ! grep -q "FAILED" <<<"$out"; then kinds+=(success)
                elif grep -q "was not started: .*being run by another session" <<<"$out"; then kinds+=(refused_running)
                elif grep -q "was not started: .*already COMPLETED" <<<"$out"; then kinds+=(refused_completed)
                else kinds+=(other); fi ;;
        esac
    done
    rows=$(q "SELECT count(*) FROM public.trial_race_runs WHERE migration = '$name'")
    st=$(q "SELECT status FROM migration_engine.knowledge_migrations WHERE migration_name = '$name'")
    echo "$rows ${kinds[*]} $st"
    [ "$rows" = 1 ] && [ "$st" = COMPLETED ] || { echo "  session 1: $(head -c 400 "$TRIAL_WORK/race.1")"; echo "  session 2: $(head -c 400 "$TRIAL_WORK/race.2")"; }
}

# --- the whole set ----------------------------------------------------------------------

# trial_kind KIND_NO KIND RUNS: reference run, then RUNS crashed runs; one summary line
trial_kind() {
    local k=$1 kind=$2 runs=$3 r delay mode how ok=0 points=() modes="" hows="" t0 rc line
    t0=$(date +%s)
    trial_say "== $kind"
    set +e
    ( set -e; "trial_${kind#run_}_reference"; trial_export >"$TRIAL_WORK/ref.vars" ) >"$TRIAL_WORK/ref" 2>&1; rc=$?
    set -e
    if [ $rc != 0 ]; then
        cat "$TRIAL_WORK/ref"
        TRIAL_LINE[$kind]="$kind: the reference run failed ($(grep -m1 -E 'FAIL|ERROR' "$TRIAL_WORK/ref" || tail -1 "$TRIAL_WORK/ref"))"; TRIAL_MISSED=1
        eval "TRIAL_OK_$kind=0"
        return 0
    fi
    . "$TRIAL_WORK/ref.vars"   # TRIAL_REF_MS, TRIAL_REF_SUM, TRIAL_BG_KG_SUM
    trial_say "reference: uninterrupted run in $TRIAL_REF_MS ms, checksum $TRIAL_REF_SUM"
    for r in $(seq 1 "$runs"); do
        delay=$(trial_delay_ms "$TRIAL_REF_MS")
        mode=$(trial_mode "$k" "$r")
        [ -z "$TRIAL_DELAY_MS" ] || delay=$TRIAL_DELAY_MS
        [ -z "$TRIAL_MODE" ] || mode=$TRIAL_MODE
        # run_migration resumes with resume_migration or CALL run_migration {"resume": true}:
        # F C C F F C C F ... so that both meet both kinds of crash (odd runs kill the
        # backend, even runs stop the server), and two runs already try both
        how=function; [ $(( ((r - 1) / 2 + r - 1) % 2 )) = 0 ] || how=call
        rm -f "$TRIAL_WORK/point" "$TRIAL_WORK/how"
        set +e
        ( set -e; "trial_${kind#run_}_one" "$r" "$delay" "$mode" "$how" ) >"$TRIAL_WORK/line" 2>&1; rc=$?
        set -e
        cat "$TRIAL_WORK/line"
        if [ $rc = 0 ] && grep -q '^ok - ' "$TRIAL_WORK/line"; then
            ok=$((ok + 1))
        else
            # a trial that stopped half-way may have left the server down
            trial_server_ready 5 >/dev/null 2>&1 || { cluster_restart || true; trial_server_ready || true; }
            [ -s "$TRIAL_WORK/line" ] || echo "FAIL: $kind #$r ended without a word"
        fi
        points+=("$(cat "$TRIAL_WORK/point" 2>/dev/null || echo '?')")
        modes="$modes$mode"$'\n'
        hows="$hows$(cat "$TRIAL_WORK/how" 2>/dev/null || echo failed)"$'\n'
    done
    modes=$(printf '%s' "$modes" | sort | uniq -c | awk '{printf "%s%s: %s", (NR > 1 ? ", " : ""), ($2 == "kill9" ? "kill -9" : $2), $1}')
    hows=$(printf '%s' "$hows" | sort | uniq -c | sed 's/^ *\([0-9]*\) \(.*\)/\2: \1/' | paste -sd, - | sed 's/,/, /g')
    case $kind in
        run_migration) line="$kind: $ok/$runs resumed to the reference checksum (crash points, steps committed of $TRIAL_MIG_STEPS: ${points[*]}; $modes; $hows)" ;;
        run_pipeline) line="$kind: $ok/$runs resumed to the reference checksum (crash points, rows committed of $TRIAL_PIPE_ROWS: ${points[*]}; $modes; $hows)" ;;
        blue_green) line="$kind: $ok/$runs reached the reference checksum after the crash (no resume: the run is one transaction, a crash rolls it back and it is run again; crashed before/after its commit: $(printf '%s\n' "${points[@]}" | grep -c '^before' || true)/$(printf '%s\n' "${points[@]}" | grep -c '^after' || true); $modes)" ;;
    esac
    line="$line [$(( $(date +%s) - t0 )) s]"
    TRIAL_LINE[$kind]=$line
    [ "$ok" = "$runs" ] || TRIAL_MISSED=1
    eval "TRIAL_OK_$kind=$ok"
}
# the references run in a subshell: their figures come back as a file to source
trial_migration_reference() { trial_mig_reference; }
trial_pipeline_reference() { trial_pipe_reference; }
trial_blue_green_reference() { trial_bg_reference; }
trial_export() { printf 'TRIAL_REF_MS=%q TRIAL_REF_SUM=%q TRIAL_BG_KG_SUM=%q\n' "$TRIAL_REF_MS" "$TRIAL_REF_SUM" "${TRIAL_BG_KG_SUM:-}"; }
trial_migration_one() { trial_mig_one "$@"; }
trial_pipeline_one() { trial_pipe_one "$@"; }
trial_blue_green_one() { trial_bg_one "$@"; }

trial_races() {
    local races=$1 r variant res rows k1 k2 st kinds double=0 lost=0 clean=0 running=0 completed=0 t0 v1=0 v2=0 v3=0
    t0=$(date +%s)
    trial_say "== race"
    q "CREATE TABLE IF NOT EXISTS public.trial_race_runs (migration text, at timestamptz DEFAULT clock_timestamp())" >/dev/null
    for r in $(seq 1 "$races"); do
        case $(( r % 3 )) in 1) variant=exec-exec; v1=$((v1 + 1)) ;; 2) variant=call-call; v2=$((v2 + 1)) ;; 0) variant=exec-call; v3=$((v3 + 1)) ;; esac
        set +e
        res=$( ( set -e; trial_race_one "$r" "$variant" ) 2>&1 )
        set -e
        read -r rows k1 k2 st <<<"$(head -1 <<<"$res")"
        case ${rows:-x} in *[!0-9]*) ;; 0) lost=$((lost + 1)) ;; 1) ;; *) double=$((double + 1)) ;; esac
        kinds="$k1 $k2"
        if [ "$rows" = 1 ] && [ "$st" = COMPLETED ] && { [ "$kinds" = "success refused_running" ] || [ "$kinds" = "refused_running success" ] || [ "$kinds" = "success refused_completed" ] || [ "$kinds" = "refused_completed success" ]; }; then
            clean=$((clean + 1))
            case $kinds in *running*) running=$((running + 1)) ;; *) completed=$((completed + 1)) ;; esac
        else
            echo "race #$r ($variant): side effect applied $rows time(s), sessions: $k1 / $k2, status $st"
            tail -n +2 <<<"$res"
        fi
    done
    TRIAL_LINE[race]="race: $races races, $double double runs, $clean clean refusals ($running while the other ran, $completed after it had completed; $lost runs lost; execute/execute: $v1, CALL/CALL: $v2, execute/CALL: $v3) [$(( $(date +%s) - t0 )) s]"
    [ "$double" = 0 ] && [ "$clean" = "$races" ] || TRIAL_MISSED=1
    TRIAL_OK_race=$clean TRIAL_DOUBLE_race=$double
}

# trials_main RUNS RACES [SEED]: every trial in the current database; prints the figures,
# returns 1 when a goal is missed (every crashed run resumes to the reference checksum,
# no double run, every race one success and one clean refusal)
trials_main() {
    local runs=$1 races=$2 seed=${3:-$(( ($(date +%s) + $$) % 32768 ))} t0 rc=0 k
    t0=$(date +%s)
    TRIAL_WORK=$(mktemp -d /tmp/me-trials.XXXXXX)
    declare -gA TRIAL_LINE=()
    TRIAL_MISSED=0
    RANDOM=$seed
    trial_say "trials: $runs crashed runs per kind, $races races, seed $seed (repeat with --seed $seed)"
    # blue-green copies all of kg: it runs before the pipelines add their entities to it
    case " $TRIAL_KINDS " in *" run_migration "*) trial_kind 0 run_migration "$runs" ;; esac
    case " $TRIAL_KINDS " in *" blue_green "*) trial_kind 2 blue_green "$runs" ;; esac
    case " $TRIAL_KINDS " in *" run_pipeline "*) trial_kind 1 run_pipeline "$runs" ;; esac
    [ "$races" = 0 ] || trial_races "$races"
    echo
    for k in run_migration run_pipeline blue_green race; do [ -z "${TRIAL_LINE[$k]:-}" ] || echo "${TRIAL_LINE[$k]}"; done
    echo "wall time: $(( $(date +%s) - t0 )) s (seed $seed)"
    rm -rf "$TRIAL_WORK"
    [ "$TRIAL_MISSED" = 0 ] || { echo "goal missed"; rc=1; }
    return $rc
}
