#!/usr/bin/python3
"""A psycopg 3 client of migration_engine's temporal knowledge graph that follows
blue-green switches (docs/BLUE_GREEN.md, "How clients follow the switch").

With stock psycopg settings (no custom loaders, the default prepare threshold):

- it reads through the kg_live views, which follow the active data schema. There the
  current version has valid_to NULL (the tables store 'infinity', which psycopg cannot
  load by default) and the boolean is_current says so;
- `SELECT *` on kg_live.<table> gives the view's shape *now* (a switch may append a
  column), so it runs unprepared (prepare=False). A prepared `SELECT *` fails with 0A000
  "cached plan must not change result type" after such a switch; to prepare `SELECT *`,
  pin a fixed shape, kg_live.<table>_v1, _v2, ... (see --versioned);
- statements that name their columns are prepared (prepare=True) and survive switches;
- it LISTENs on schema_switched (the payload is the new active schema) and sets its
  search_path from the payload, so unqualified names follow the switch too.

Usage (connection from the libpq environment, PGHOST, PGPORT, PGUSER, PGDATABASE, or --dsn):
  kg_client.py current [--type TYPE]     current entities, one JSON object a line
  kg_client.py history ENTITY_ID         every version of an entity, oldest first
  kg_client.py follow [--type TYPE] [--watch ENTITY_ID] [--switches N] [--reads-after K]
                      [--interval S] [--timeout S] [--ready FILE] [--versioned]
      reads the graph every S seconds and follows switches, one JSON event a line:
      {"event": "listening"|"read"|"switched"|"error"|"timeout"|"done", ...}; stops K reads
      after the N-th switch (N = 0: never). Exit status 0 when no read failed.

tests/client/psycopg_client.sh drives it across a real switch.
"""
import argparse
import json
import queue
import sys
import threading
import time

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

# Statements that name their columns: prepared once, they keep working across switches.
COUNT_CURRENT = """SELECT count(*) AS n FROM kg_live.temporal_entities
                   WHERE is_current AND NOT is_deleted AND entity_type = %s"""
ENTITY = """SELECT entity_id, entity_type, content, valid_from, valid_to, is_current
            FROM kg_live.temporal_entities WHERE entity_id = %s AND is_current"""
HISTORY = """SELECT entity_type, content, valid_from, valid_to, is_deleted, is_current
             FROM migration_engine.entity_history(%s)"""
RELATIONS = """SELECT relation_id, relation_type, target_entity_id, properties, valid_to, is_current
               FROM kg_live.temporal_relations
               WHERE source_entity_id = %s AND is_current AND NOT is_deleted ORDER BY relation_id"""
# Unqualified: resolved through the search_path, which follows schema_switched. The data
# schema's own tables store 'infinity' for the current version: don't select valid_to here.
COUNT_IN_PATH = """SELECT count(*) AS n FROM temporal_entities
                   WHERE valid_to = 'infinity' AND NOT is_deleted AND entity_type = %s"""


def connect(dsn=""):
    """An autocommit connection with dict rows, its search_path on the active schema."""
    conn = psycopg.connect(dsn, autocommit=True, row_factory=dict_row)
    set_search_path(conn, active_schema(conn))
    return conn


def active_schema(conn):
    return conn.execute("SELECT migration_engine.active_schema() AS s").fetchone()["s"]


def set_search_path(conn, schema):
    """Unqualified names resolve in `schema`, then public; returns the new search_path."""
    return conn.execute("SELECT set_config('search_path', quote_ident(%s) || ', public', false) AS p",
                        [schema]).fetchone()["p"]


def current_entities(conn, entity_type=None):
    """Current, not deleted entities with every column kg_live has now (never prepared)."""
    return conn.execute("""SELECT * FROM kg_live.temporal_entities
                           WHERE is_current AND NOT is_deleted AND (%(t)s::text IS NULL OR entity_type = %(t)s)
                           ORDER BY entity_id""", {"t": entity_type}, prepare=False).fetchall()


def count_current(conn, entity_type):
    return conn.execute(COUNT_CURRENT, [entity_type], prepare=True).fetchone()["n"]


def entity(conn, entity_id):
    """The current version of an entity, or None."""
    return conn.execute(ENTITY, [entity_id], prepare=True).fetchone()


def entity_history(conn, entity_id):
    """Every version, oldest first: valid_to is None and is_current True for the current one."""
    return conn.execute(HISTORY, [entity_id], prepare=True).fetchall()


def relations_from(conn, entity_id):
    return conn.execute(RELATIONS, [entity_id], prepare=True).fetchall()


def count_in_search_path(conn, entity_type):
    return conn.execute(COUNT_IN_PATH, [entity_type], prepare=True).fetchone()["n"]


def versioned_views(conn, table="temporal_entities"):
    """The fixed shapes of kg_live.<table>: ['<table>_v1', '<table>_v2', ...]."""
    return [r["relname"] for r in conn.execute(
        """SELECT relname::text FROM pg_class WHERE relnamespace = 'kg_live'::regnamespace
           AND relname ~ ('^' || %s || '_v[0-9]+$') ORDER BY length(relname), relname""", [table])]


def select_star(conn, view, entity_type, prepare):
    """SELECT * FROM kg_live.<view> (current versions); returns (column names, rows)."""
    cur = conn.execute(sql.SQL("SELECT * FROM kg_live.{} WHERE is_current AND NOT is_deleted AND entity_type = %s"
                               " ORDER BY entity_id")
                       .format(sql.Identifier(view)), [entity_type], prepare=prepare)
    return [d.name for d in cur.description], cur.fetchall()


class SwitchListener:
    """LISTEN schema_switched on a connection of its own (notifies() blocks, so it runs in
    a thread); the payloads, the new active schema's name, arrive in a queue."""

    def __init__(self, dsn=""):
        self.conn = psycopg.connect(dsn, autocommit=True)
        self.conn.execute("LISTEN schema_switched")
        self.payloads = queue.Queue()
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self):
        try:
            for note in self.conn.notifies():
                self.payloads.put(note.payload)
        except psycopg.Error as e:  # the connection is gone: say so to the reader
            self.payloads.put(e)

    def next_switch(self, timeout):
        """The next payload, or None if no switch came within `timeout` seconds."""
        try:
            payload = self.payloads.get(timeout=timeout)
        except queue.Empty:
            return None
        if isinstance(payload, Exception):
            raise payload
        return payload


def emit(event, out=sys.stdout):
    print(json.dumps(event, default=str), file=out, flush=True)


def read_graph(conn, entity_type, watch=None, versioned=()):
    """One round of reads, as a JSON-able dict."""
    rows = current_entities(conn, entity_type)
    watch = watch or (rows[0]["entity_id"] if rows else None)
    event = {
        "schema": conn.execute("SELECT current_schema() AS s", prepare=False).fetchone()["s"],
        "current": len(rows),
        "columns": list(rows[0]) if rows else [],
        "valid_to_null": sum(r["valid_to"] is None for r in rows),
        "is_current": sum(r["is_current"] is True for r in rows),
        "sample": rows[0] if rows else None,
        "count_prepared": count_current(conn, entity_type),
        "count_in_path": count_in_search_path(conn, entity_type),
        "watch": watch,
        "entity": entity(conn, watch) if watch else None,
        "history": [{"valid_to": h["valid_to"], "is_current": h["is_current"], "is_deleted": h["is_deleted"],
                     "content": h["content"]} for h in entity_history(conn, watch)] if watch else [],
        "relations": len(relations_from(conn, watch)) if watch else 0,
        # the server-side statements of this session (psycopg names them _pg3_<n>)
        "prepared_statements": [r["name"] for r in conn.execute(
            "SELECT name FROM pg_prepared_statements ORDER BY name", prepare=False)],
    }
    if versioned:
        # the fixed shapes, prepared: their columns never change
        event["versioned"] = {}
        for view in versioned:
            try:
                cols, found = select_star(conn, view, entity_type, prepare=True)
                event["versioned"][view] = {"columns": cols, "rows": len(found)}
            except psycopg.Error as e:
                event["versioned"][view] = {"sqlstate": e.sqlstate, "message": str(e)}
        # for contrast: a prepared SELECT * on the view itself
        try:
            cols, found = select_star(conn, "temporal_entities", entity_type, prepare=True)
            event["star_prepared"] = {"columns": cols, "rows": len(found)}
        except psycopg.Error as e:
            event["star_prepared"] = {"sqlstate": e.sqlstate, "message": str(e)}
    return event


def follow(dsn="", entity_type="Person", watch=None, switches=1, reads_after=3, interval=0.5,
           timeout=120.0, ready=None, versioned=False, out=sys.stdout):
    """Read every `interval` seconds; after each switch set the search_path from the payload
    and keep reading. Returns the exit status: 0 if no read failed."""
    # listen first, then read the active schema: a switch in between is not missed
    listener = SwitchListener(dsn)
    conn = connect(dsn)
    views = versioned_views(conn) if versioned else []
    if versioned and not views:
        emit({"event": "error", "message": "no kg_live.temporal_entities_v<N> view"}, out)
        return 1
    emit({"event": "listening", "channel": "schema_switched", "schema": active_schema(conn),
          "search_path": conn.execute("SHOW search_path").fetchone()["search_path"], "versioned": views}, out)
    if ready:
        open(ready, "w").close()
    deadline = time.monotonic() + timeout
    seen = after = reads = errors = 0
    while switches == 0 or seen < switches or after < reads_after:
        if time.monotonic() > deadline:
            emit({"event": "timeout", "switches_seen": seen, "reads": reads}, out)
            return 2
        try:
            emit({"event": "read", "switches_seen": seen, **read_graph(conn, entity_type, watch, views)}, out)
        except psycopg.Error as e:
            errors += 1
            emit({"event": "error", "switches_seen": seen, "sqlstate": e.sqlstate,
                  "error": type(e).__name__, "message": str(e)}, out)
        reads += 1
        if switches and seen >= switches:
            after += 1
        payload = listener.next_switch(interval)
        if payload is not None:
            seen += 1
            emit({"event": "switched", "payload": payload, "search_path": set_search_path(conn, payload)}, out)
    emit({"event": "done", "reads": reads, "errors": errors}, out)
    return 1 if errors else 0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dsn", default="", help="libpq connection string (default: the PG* environment)")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("current", help="current entities")
    p.add_argument("--type")
    p = sub.add_parser("history", help="every version of an entity")
    p.add_argument("entity_id")
    p = sub.add_parser("follow", help="read the graph and follow blue-green switches")
    p.add_argument("--type", default="Person")
    p.add_argument("--watch", help="entity whose version and history to read (default: the first current one)")
    p.add_argument("--switches", type=int, default=1, help="stop after this many switches (0: never)")
    p.add_argument("--reads-after", type=int, default=3, help="reads after the last switch before stopping")
    p.add_argument("--interval", type=float, default=0.5, help="seconds between reads")
    p.add_argument("--timeout", type=float, default=120.0, help="give up after this many seconds")
    p.add_argument("--ready", help="create this file once listening")
    p.add_argument("--versioned", action="store_true",
                   help="also read every kg_live.temporal_entities_v<N> with a prepared SELECT *")
    args = parser.parse_args(argv)

    if args.command == "follow":
        return follow(args.dsn, args.type, args.watch, args.switches, args.reads_after, args.interval,
                      args.timeout, args.ready, args.versioned)
    with connect(args.dsn) as conn:
        rows = current_entities(conn, args.type) if args.command == "current" else entity_history(conn, args.entity_id)
        for row in rows:
            emit(row)
    return 0


if __name__ == "__main__":
    sys.exit(main())
