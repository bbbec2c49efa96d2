#!/usr/bin/python3
"""The safety corpus: lint every case of cases.sql with migration_engine.lint_sql and
compare the set of rule codes it returns with the case's expected set.

Usage: /usr/bin/python3 tests/safety_corpus/run.py [CONNINFO] [--case NAME ...] [--verbose]

CONNINFO is a libpq connection string ("host=/tmp/x port=55432 dbname=me user=postgres");
without it the usual libpq variables are used (PGHOST, PGPORT, PGUSER, PGDATABASE, as
scripts/sql-tests sets them for tests/client/*.sh). The database must have the extension
installed. setup.sql is run first (it drops and recreates schema corpus); the cases are
only linted, never run, so every case sees setup.sql's state.

Prints one line per check: `ok NAME`, or `FAIL NAME: expected [...] got [...]` followed by
the findings indented; then a summary. The checks besides the cases:
  corpus-size        at least 120 cases, at least 40 of them `expect: none`
  coverage           every code of safety_rules() is expected by at least one case, and
                     every expected code is one of safety_rules()
  bad-input-option   lint_sql('SELECT 1', true, '{"outsid_engine": true}') raises 22023
(--case runs only the named cases and skips corpus-size and coverage.)
Exits 0 when everything passed, 1 when a check failed, 2 when cases.sql is malformed.

The format of cases.sql is described at its top; parse() below is its definition.
"""
import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
CASES = os.path.join(HERE, "cases.sql")
SETUP = os.path.join(HERE, "setup.sql")
MIN_CASES, MIN_SAFE = 120, 40

HEADER = re.compile(r"^--\s*(?P<key>[a-z_]+):\s*(?P<value>.*?)\s*$")
KEYS = ("case", "expect", "because", "in_transaction", "options")
NAME = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
CODE = re.compile(r"^[A-Z][A-Z0-9_]*$")


class Case:
    def __init__(self, line, name, expect, because, in_transaction, options, sql):
        self.line, self.name, self.expect, self.because = line, name, expect, because
        self.in_transaction, self.options, self.sql = in_transaction, options, sql


class Malformed(Exception):
    pass


def blocks(text):
    """(first line number, [lines]) of each run of non-blank lines."""
    out, cur, start = [], [], 0
    for n, line in enumerate(text.split("\n"), 1):
        if line.strip():
            if not cur:
                start = n
            cur.append(line.rstrip())
        elif cur:
            out.append((start, cur))
            cur = []
    if cur:
        out.append((start, cur))
    return out


def parse(path=CASES):
    """The cases of `path`, in file order. Raises Malformed naming the line."""
    cases, seen = [], {}
    for start, lines in blocks(open(path, encoding="utf-8").read()):
        if not lines[0].startswith("-- case:"):
            stray = [i for i, l in enumerate(lines) if not l.lstrip().startswith("--")]
            if stray:
                raise Malformed(f"{path}:{start + stray[0]}: SQL in a block that does not start with '-- case:'")
            continue  # a comment block
        fields, last, i = {}, None, 0
        while i < len(lines) and lines[i].startswith("--"):
            m = HEADER.match(lines[i])
            if m and m.group("key") in KEYS:
                key = m.group("key")
                if key in fields:
                    raise Malformed(f"{path}:{start + i}: '{key}:' given twice")
                fields[key], last = m.group("value"), key
            elif last == "because":  # a long reason may go on over several comment lines
                fields["because"] += " " + lines[i].lstrip("-").strip()
            else:
                raise Malformed(f"{path}:{start + i}: unknown header line {lines[i]!r} "
                                f"(known: {', '.join(k + ':' for k in KEYS)})")
            i += 1
        sql = "\n".join(lines[i:]).strip()
        where = f"{path}:{start}"
        name = fields.get("case", "")
        if not NAME.match(name):
            raise Malformed(f"{where}: case name {name!r} is not lower-case words joined by dashes")
        if name in seen:
            raise Malformed(f"{where}: case {name} already defined at line {seen[name]}")
        seen[name] = start
        for key in ("expect", "because"):
            if not fields.get(key):
                raise Malformed(f"{where}: case {name} has no '-- {key}:' line")
        if not sql:
            raise Malformed(f"{where}: case {name} has no SQL")
        expect_text = fields["expect"].strip()
        if expect_text.lower() == "none":
            expect = set()
        else:
            expect = {c.strip() for c in expect_text.split(",")}
            bad = [c for c in expect if not CODE.match(c)]
            if bad:
                raise Malformed(f"{where}: case {name} expects {bad}, not rule codes (or 'none')")
        in_tx = fields.get("in_transaction", "true").lower()
        if in_tx not in ("true", "false"):
            raise Malformed(f"{where}: case {name}: in_transaction must be true or false")
        try:
            options = json.loads(fields.get("options", "{}"))
        except ValueError as e:
            raise Malformed(f"{where}: case {name}: options is not JSON ({e})")
        if not isinstance(options, dict):
            raise Malformed(f"{where}: case {name}: options must be a JSON object")
        cases.append(Case(start, name, expect, fields["because"], in_tx == "true", options, sql))
    return cases


def show(codes):
    return "[" + ", ".join(sorted(codes)) + "]"


def main(argv):
    import psycopg

    args = argv[1:]
    verbose = "--verbose" in args
    only, conninfo, rest = [], "", []
    i = 0
    while i < len(args):
        if args[i] == "--case" and i + 1 < len(args):
            only.append(args[i + 1])
            i += 2
            continue
        if args[i] != "--verbose":
            rest.append(args[i])
        i += 1
    if len(rest) > 1:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    conninfo = rest[0] if rest else ""

    try:
        cases = parse()
    except Malformed as e:
        print(f"FAIL cases.sql: {e}")
        return 2
    if only:
        unknown = sorted(set(only) - {c.name for c in cases})
        if unknown:
            print(f"FAIL --case: no such case: {', '.join(unknown)}")
            return 2
        cases = [c for c in cases if c.name in only]

    passed, failed = 0, 0

    def ok(name, note=""):
        nonlocal passed
        passed += 1
        print(f"ok {name}{note}")

    def fail(name, why, details=()):
        nonlocal failed
        failed += 1
        print(f"FAIL {name}: {why}")
        for d in details:
            print(f"    {d}")

    conn = psycopg.connect(conninfo, autocommit=True)
    conn.execute("SET client_min_messages = warning")
    # one simple-protocol query: the whole setup runs as one implicit transaction
    conn.execute(open(SETUP, encoding="utf-8").read())

    for c in cases:
        try:
            row = conn.execute("SELECT migration_engine.lint_sql(%s, %s, %s::jsonb)",
                               (c.sql, c.in_transaction, json.dumps(c.options))).fetchone()
        except psycopg.Error as e:
            fail(c.name, f"lint_sql raised {e.sqlstate}: {str(e).strip().splitlines()[0]}")
            continue
        findings = row[0] or []
        got = {f.get("code") for f in findings}
        details = [f"{f.get('code')} ({f.get('severity')}): {f.get('message')}" for f in findings]
        if got == c.expect:
            ok(c.name)
            if verbose:
                for d in details:
                    print(f"    {d}")
        else:
            fail(c.name, f"expected {show(c.expect)} got {show(got)}",
                 details + [f"case at cases.sql:{c.line}; because: {c.because}"])

    if not only:
        safe = sum(1 for c in cases if not c.expect)
        size = f"{len(cases)} cases ({len(cases) - safe} dangerous, {safe} safe)"
        if len(cases) >= MIN_CASES and safe >= MIN_SAFE:
            ok("corpus-size", f": {size}")
        else:
            fail("corpus-size", f"{size}; at least {MIN_CASES} cases and {MIN_SAFE} safe ones are required")

        rules = {r[0] for r in conn.execute("SELECT code FROM migration_engine.safety_rules()")}
        expected = set().union(*(c.expect for c in cases))
        missing, unknown = rules - expected, expected - rules
        if missing:
            fail("coverage", f"no case expects {show(missing)}")
        if unknown:
            fail("coverage", f"cases expect codes safety_rules() does not list: {show(unknown)}")
        if not missing and not unknown:
            ok("coverage", f": every code of safety_rules() ({len(rules)}) is expected by a case")

    try:
        conn.execute("""SELECT migration_engine.lint_sql('SELECT 1', true, '{"outsid_engine": true}')""")
        fail("bad-input-option", "lint_sql accepted the unknown option key outsid_engine (expected SQLSTATE 22023)")
    except psycopg.Error as e:
        if e.sqlstate == "22023":
            ok("bad-input-option", ": an unknown option key is refused (22023)")
        else:
            fail("bad-input-option", f"expected SQLSTATE 22023, got {e.sqlstate}: {str(e).strip().splitlines()[0]}")
    conn.close()

    print(f"safety corpus: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
