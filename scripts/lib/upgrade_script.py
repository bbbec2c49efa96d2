#!/usr/bin/env python3
"""Assemble an upgrade script from two install scripts (docs/ARCHITECTURE.md, "Releases").

    upgrade_script.py OLD_INSTALL.sql NEW_INSTALL.sql PRE.sql POST.sql > UPGRADE.sql
    upgrade_script.py --same-statements A.sql B.sql     (exit 0 when they are)

Both install scripts are split into statements (dollar quotes, strings, quoted names and
comments respected), and each statement gets a key: the routine with its argument list,
the table, view, trigger, index, comment or config-dump call it is about. A statement of
the new script whose key is new, or whose text changed, is carried into the upgrade:

  routines          CREATE OR REPLACE (a changed result type needs a DROP in PRE.sql)
  views             CREATE OR REPLACE (columns may only be appended: Postgres checks)
  triggers          new ones created; a changed one is dropped and created again
  indexes, comments, pg_extension_config_dump calls, GRANT/REVOKE and DO blocks
                    carried as they are (install DO blocks are written to be re-runnable);
                    every GRANT and REVOKE always, in order (ON ALL ... IN SCHEMA covers
                    the new objects; the later, narrower ones take back as on install)
  tables, schemas, domains, types
                    never carried: a changed table is an ALTER written by hand in
                    PRE.sql; the generator stops when one is not named there

PRE.sql runs first (table changes, drops), POST.sql last (what needs the new routines,
and set-up that depends on the database's state, such as its active schema). Statements
the install script runs for a fresh database only are listed in POST.sql as
`-- upgrade: skip <regex>` lines and left out. A changed table that PRE.sql or POST.sql
alters is listed there as `-- upgrade: handles table <name>`. The CI test (tests/client/upgrade.sh)
checks the result: an upgraded database has the schema of a fresh install, to the line.
"""
import re
import sys


def statements(sql):
    """Split SQL text into statements; comments are dropped, statement text kept."""
    out, buf, i, n = [], [], 0, len(sql)
    while i < n:
        c = sql[i]
        if sql.startswith("--", i):
            j = sql.find("\n", i)
            i = n if j < 0 else j + 1
            buf.append("\n")
            continue
        if sql.startswith("/*", i):
            depth, j = 1, i + 2
            while j < n and depth:
                if sql.startswith("/*", j):
                    depth, j = depth + 1, j + 2
                elif sql.startswith("*/", j):
                    depth, j = depth - 1, j + 2
                else:
                    j += 1
            i = j
            buf.append(" ")
            continue
        if c == "$":
            m = re.match(r"\$([A-Za-z_][A-Za-z0-9_]*)?\$", sql[i:])
            if m:
                tag = m.group(0)
                j = sql.find(tag, i + len(tag))
                j = n if j < 0 else j + len(tag)
                buf.append(sql[i:j])
                i = j
                continue
        if c in "'\"":
            j = i + 1
            while j < n:
                if sql[j] == c and j + 1 < n and sql[j + 1] == c:
                    j += 2
                elif sql[j] == c:
                    j += 1
                    break
                else:
                    j += 1
            buf.append(sql[i:j])
            i = j
            continue
        if c == ";":
            text = "".join(buf).strip()
            if text:
                out.append(text + ";")
            buf, i = [], i + 1
            continue
        buf.append(c)
        i += 1
    if "".join(buf).strip():
        out.append("".join(buf).strip())
    return out


def squash(text):
    """Whitespace- and case-insensitive form outside quotes, for comparing statements."""
    return re.sub(r"\s+", " ", text).strip()


NAME = r'("?[\w]+"?(?:\."?[\w]+"?)?)'


def unquote(name):
    return name.replace('"', "").lower()


def key(stmt):
    s = squash(stmt)
    low = s.lower()
    m = re.match(r"create (?:or replace )?(function|procedure) " + NAME + r"\s*\(", s, re.I)
    if m:
        # the argument list up to its closing parenthesis, names and types only
        depth, j = 1, m.end()
        while j < len(s) and depth:
            depth += {"(": 1, ")": -1}.get(s[j], 0)
            j += 1
        args = re.sub(r"\s+", "", s[m.end():j - 1]).lower()
        args = re.sub(r"default[^,]*", "", args)
        return ("routine", unquote(m.group(2)), args)
    m = re.match(r"create (?:or replace )?aggregate " + NAME + r"\s*\(([^)]*)\)", s, re.I)
    if m:
        # new ones are created; a changed one needs its DROP/CREATE written by hand
        return ("aggregate", unquote(m.group(1)), re.sub(r"\s+", "", m.group(2)).lower())
    m = re.match(r"create (?:or replace )?view " + NAME, s, re.I)
    if m:
        return ("view", unquote(m.group(1)))
    m = re.match(r"create (?:constraint )?trigger (\w+) .*? on " + NAME, s, re.I)
    if m:
        return ("trigger", m.group(1).lower(), unquote(m.group(2)))
    m = re.match(r"create (?:unique )?index (?:if not exists )?(\w+)", s, re.I)
    if m:
        return ("index", m.group(1).lower())
    m = re.match(r"create (table|schema|domain|type|sequence) (?:if not exists )?" + NAME, s, re.I)
    if m:
        return (m.group(1).lower(), unquote(m.group(2)))
    m = re.match(r"comment on (\w+(?: \w+)?) (.*?) is ", s, re.I)
    if m:
        return ("comment", m.group(1).lower(), squash(m.group(2)).lower())
    if low.startswith(("grant ", "revoke ", "do ", "select ", "alter ", "insert ")):
        return ("text", s)
    raise SystemExit(f"upgrade_script: no key for statement: {s[:120]}")


def main(old_path, new_path, pre_path, post_path):
    old = {key(s): squash(s) for s in statements(open(old_path).read())}
    pre, post = open(pre_path).read(), open(post_path).read()
    skips = [re.compile(p) for p in re.findall(r"^-- upgrade: skip (.+)$", post, re.M)]
    handled = set(re.findall(r"^-- upgrade: handles table (\S+)$", pre + post, re.M))
    body, problems = [], []
    for stmt in statements(open(new_path).read()):
        k = key(stmt)
        # grants run again, all of them and in order: the schema-wide ones cover what
        # exists when they run (the objects this upgrade adds), and the narrower ones
        # after them take back what those gave too widely, as in a fresh install
        acl = re.match(r"(GRANT|REVOKE)\b", squash(stmt), re.I)
        if k in old and old[k] == squash(stmt) and not acl:
            continue
        if any(p.search(squash(stmt)) for p in skips):
            continue
        kind = k[0]
        if kind == "routine":
            body.append(re.sub(r"^CREATE\s+(FUNCTION|PROCEDURE)", r"CREATE OR REPLACE \1", stmt, flags=re.I))
        elif kind == "view":
            body.append(re.sub(r"^CREATE\s+VIEW", "CREATE OR REPLACE VIEW", stmt, flags=re.I))
        elif kind == "trigger":
            if k in old:
                body.append(f"DROP TRIGGER {k[1]} ON {k[2]};")
            body.append(stmt)
        elif kind in ("index", "comment", "text"):
            body.append(stmt)
        elif k in old and k[1] not in handled:
            problems.append(f"{kind} {k[1]} changed: write its ALTER in {pre_path} "
                            f"and list it as '-- upgrade: handles table {k[1]}'")
        elif k not in old:
            body.append(stmt)
    if problems:
        raise SystemExit("upgrade_script:\n  " + "\n  ".join(problems))
    print("-- Generated by scripts/upgrade-script from the install scripts of both versions,")
    print(f"-- with {pre_path.split('/')[-1]} first and {post_path.split('/')[-1]} last. Released")
    print("-- upgrade scripts never change (docs/ARCHITECTURE.md, \"Releases\").")
    print("\\echo Use \"ALTER EXTENSION migration_engine UPDATE\" to load this file. \\quit")
    print()
    print(pre.strip())
    print()
    print("-- generated: the routines, views, triggers, grants and settings that are new or changed")
    for stmt in body:
        print(stmt)
        print()
    print(post.strip())


def same_statements(path_a, path_b):
    """The same statements, in any order (pgrx orders its output by a dependency graph
    whose ties are not stable from one build to the next)."""
    def of(path):
        return sorted(squash(s) for s in statements(open(path).read()))
    a, b = of(path_a), of(path_b)
    for x in sorted(set(a) ^ set(b)):
        print(("only in " + path_a if x in a else "only in " + path_b) + ": " + x[:160])
    return a == b


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--same-statements":
        sys.exit(0 if same_statements(sys.argv[2], sys.argv[3]) else 1)
    if len(sys.argv) != 5:
        raise SystemExit(__doc__)
    main(*sys.argv[1:])
