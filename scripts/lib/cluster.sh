# Throwaway PostgreSQL 15 clusters for tests, demos and benchmarks (sourced, not run).
# As root the server runs as the `postgres` OS user (initdb refuses root).
PGBIN=/usr/lib/postgresql/15/bin
PG_CONFIG=$PGBIN/pg_config

as_postgres() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# cluster_start [extra settings "name = value"...]: sets CLUSTER_DIR, PGHOST, PGPORT, PGUSER.
cluster_start() {
    CLUSTER_DIR=$(mktemp -d /tmp/me-pg.XXXXXX)
    [ "$(id -u)" = 0 ] && chown postgres: "$CLUSTER_DIR"
    as_postgres "$PGBIN/initdb" -D "$CLUSTER_DIR/data" -U postgres -A trust --no-locale -E UTF8 --nosync >/dev/null
    # settings go to postgresql.auto.conf, so that a restart (crash tests) keeps them
    {
        echo "listen_addresses = ''"
        echo "unix_socket_directories = '$CLUSTER_DIR'"
        echo "port = 55432"
        echo "fsync = off"
        echo "max_worker_processes = 16"
        for o in "$@"; do echo "$o"; done
    } | as_postgres tee -a "$CLUSTER_DIR/data/postgresql.auto.conf" >/dev/null
    cluster_restart
    export PGHOST=$CLUSTER_DIR PGPORT=55432 PGUSER=postgres
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
