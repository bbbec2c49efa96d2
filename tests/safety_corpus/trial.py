#!/usr/bin/python3
"""The safety corpus, run for real: every case of cases.sql becomes a one-step migration
and goes through validate_migration_safety(name, '{"trial": true}'), which runs each
statement in a rolled-back subtransaction and compares what PostgreSQL did (locks,
relfilenodes) with the static verdict. Lists every STATIC_VERDICT_CONTRADICTED.

Usage: /usr/bin/python3 tests/safety_corpus/trial.py [CONNINFO] [--verbose]

Connects like run.py (libpq variables without CONNINFO) and runs setup.sql first. Prints
`ok NAME (N statements traced)` per case, `CONTRADICTED NAME: SEVERITY message` for each
contradiction, then a summary. A CRITICAL contradiction (the trial saw a rewrite, or a
stronger lock, that the rules did not predict) fails the run unless KNOWN lists it with
the reason; a LOW one (the rules more cautious than PostgreSQL) is reported only. Cases
that must run outside a transaction block are not traced (the trial lists them) and are
counted. Exits 0 when no unexplained CRITICAL contradiction was seen, 1 otherwise.
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from run import SETUP, parse  # noqa: E402

# case name -> why the trial is expected to contradict it (CRITICAL ones only)
KNOWN = {}


def main(argv):
    import psycopg

    verbose = "--verbose" in argv
    rest = [a for a in argv[1:] if a != "--verbose"]
    conn = psycopg.connect(rest[0] if rest else "", autocommit=True)
    conn.execute("SET client_min_messages = warning")
    conn.execute(open(SETUP, encoding="utf-8").read())
    unexplained, low, traced, untraced = 0, 0, 0, 0
    for c in parse():
        name = "corpus_trial_" + c.name.replace("-", "_")
        definition = {
            "name": name, "version": "1",
            "forward": [{"name": "case", "type": "SQL", "script": c.sql,
                         "transaction": c.in_transaction}],
            "rollback": [{"name": "none", "type": "SQL", "script": "SELECT 1"}],
        }
        try:
            conn.execute("SELECT migration_engine.create_migration(%s::jsonb)", (json.dumps(definition),))
        except psycopg.Error as e:
            print(f"skip {c.name}: create_migration refused it ({e.sqlstate})")
            continue
        report = conn.execute(
            "SELECT migration_engine.validate_migration_safety(%s, '{\"trial\": true}')", (name,)
        ).fetchone()[0]
        trace = report.get("trace", [])
        n = sum(1 for t in trace if t.get("traced"))
        traced += n
        untraced += sum(1 for t in trace if not t.get("traced"))
        contradictions = [i for r in report["all_results"] for i in r["issues"]
                          if i["code"] == "STATIC_VERDICT_CONTRADICTED"]
        for i in contradictions:
            severity = i["severity"]
            note = ""
            if severity == "CRITICAL":
                if c.name in KNOWN:
                    note = f" (known: {KNOWN[c.name]})"
                else:
                    unexplained += 1
            else:
                low += 1
            print(f"CONTRADICTED {c.name}: {severity} {i['message']}{note}")
        if not contradictions:
            print(f"ok {c.name} ({n} statements traced)")
        if verbose:
            for t in trace:
                print(f"    {json.dumps(t)}")
    print(f"# {traced} statements traced, {untraced} listed untraced; "
          f"{low} LOW contradictions, {unexplained} unexplained CRITICAL")
    return 1 if unexplained else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
