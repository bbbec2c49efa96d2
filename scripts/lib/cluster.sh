# Throwaway PostgreSQL 15 clusters for tests, demos and benchmarks (sourced, not run).
# As root the server runs as the `postgres` OS user (initdb refuses root).
PGBIN=/usr/lib/postgresql/15/bin
PG_CONFIG=$PGBIN/pg_config

as_postgres() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# cluster_init DIR PORT [settings...]: a new data directory in DIR, its socket in DIR,
# listening on PORT of the unix socket only, started.
cluster_init() {
    local dir=$1 port=$2; shift 2
    [ "$(id -u)" = 0 ] && chown postgres: "$dir"
    as_postgres "$PGBIN/initdb" -D "$dir/data" -U postgres -A trust --no-locale -E UTF8 --nosync >/dev/null
    # settings go to postgresql.auto.conf, so that a restart (crash tests) keeps them
    {
        echo "listen_addresses = ''"
        echo "unix_socket_directories = '$dir'"
        echo "port = $port"
        echo "fsync = off"
        echo "max_worker_processes = 16"
        for o in "$@"; do echo "$o"; done
    } | as_postgres tee -a "$dir/data/postgresql.auto.conf" >/dev/null
    as_postgres env -u RUST_BACKTRACE "$PGBIN/pg_ctl" -D "$dir/data" -l "$dir/log" -w start >/dev/null
}

# cluster_start [extra settings "name = value"...]: sets CLUSTER_DIR, PGHOST, PGPORT, PGUSER.
cluster_start() {
    CLUSTER_DIR=$(mktemp -d /tmp/me-pg.XXXXXX)
    cluster_init "$CLUSTER_DIR" 55432 "$@"
    export PGHOST=$CLUSTER_DIR PGPORT=55432 PGUSER=postgres
}

# second_cluster_start [settings...]: another cluster beside the first (a publisher, a
# green cluster), on port 55433; sets SECOND_DIR and SECOND_CONNINFO, leaves PG* alone.
second_cluster_start() {
    SECOND_DIR=$(mktemp -d /tmp/me-pg2.XXXXXX)
    cluster_init "$SECOND_DIR" 55433 "$@"
    SECOND_CONNINFO="host=$SECOND_DIR port=55433 user=postgres dbname=postgres"
}

# second_cluster_restart [mode]: stop it (fast unless told) and start it again, same data
second_cluster_restart() {
    as_postgres "$PGBIN/pg_ctl" -D "$SECOND_DIR/data" -m "${1:-fast}" stop >/dev/null
    as_postgres env -u RUST_BACKTRACE "$PGBIN/pg_ctl" -D "$SECOND_DIR/data" -l "$SECOND_DIR/log" -w start >/dev/null
}

second_cluster_stop() {
    [ -n "${SECOND_DIR:-}" ] || return 0
    as_postgres "$PGBIN/pg_ctl" -D "$SECOND_DIR/data" -m fast stop >/dev/null 2>&1 || true
    rm -rf "$SECOND_DIR"
    SECOND_DIR=""
}

cluster_restart() {
    as_postgres env -u RUST_BACKTRACE "$PGBIN/pg_ctl" -D "$CLUSTER_DIR/data" -l "$CLUSTER_DIR/log" -w start >/dev/null
}

# cluster_stop [mode]: fast by default; the directory is removed.
cluster_stop() {
    [ -n "${CLUSTER_DIR:-}" ] || return 0
    as_postgres "$PGBIN/pg_ctl" -D "$CLUSTER_DIR/data" -m "${1:-fast}" stop >/dev/null 2>&1 || true
    rm -rf "$CLUSTER_DIR"
    CLUSTER_DIR=""
}

# Build and install the extension into the system PostgreSQL (dev profile unless --release).
install_extension() {
    local log=/tmp/me-install.log
    cargo pgrx install --pg-config "$PG_CONFIG" "$@" >"$log" 2>&1 || { tail -40 "$log"; return 1; }
}
