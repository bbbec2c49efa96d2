#!/usr/bin/python3
"""Docs as tests: every example in README.md and docs/*.md runs against the installed
extension, and the docs' counts and function lists are checked against it.

Usage: /usr/bin/python3 scripts/lib/doc_examples.py [--keep] [--verbose] [--no-checks]
                                                     [--timeout SECONDS] [FILE.md ...]
Connects with the usual libpq variables (PGHOST, PGPORT, PGUSER; PGDATABASE is the
database it connects to for CREATE/DROP DATABASE). Prints one TAP-style line per block
and per check, `ok - FILE:LINE` or `not ok - FILE:LINE` followed by psql's error, and
exits 1 when anything failed. Needs a superuser (it creates databases). stdlib only.

What runs
- Each markdown file gets a fresh database, doc_<file> (dropped first, and at the end
  unless --keep), with `CREATE EXTENSION migration_engine` in it, unless the file's first
  ```sql block begins with that statement itself (the README's quick start does).
  The file's blocks run in order in that database: later blocks may rely on what earlier
  ones committed (each block, and each setup, is a psql session of its own: psql
  variables and SET do not carry over).
- ```sql blocks: `psql -X -v ON_ERROR_STOP=1 -v VERBOSITY=verbose -f <block>`, one psql per
  block. A block fails when psql fails, or when a result shows `"success": false` (the
  engine's functions report a failed run that way instead of raising).
- ```json blocks must parse. Besides, by their keys:
    "forward"             a migration definition: SELECT migration_engine.create_migration(it)
    "entities"+"version"  a schema definition:   SELECT migration_engine.register_schema_version(version, it)
    "source"+"steps"      a pipeline:            SELECT migration_engine.execute_pipeline(it, '{"preview": 10}')
  so a definition the extension refuses fails the test.
- ```sh / ```bash blocks are syntax-checked (bash -n), ```python blocks compiled; other
  languages (rust, text, ...) are listed as skipped.

Directives: HTML comments (invisible on GitHub) on the lines just before a fence; only
blank lines and other directives may stand between them and the fence.
    <!-- doc-test: skip: REASON -->           do not run the block (a reason is required)
    <!-- doc-test: expect-error SQLSTATE -->  the block must stop with this SQLSTATE
                                              (statements before the error have run)
    <!-- doc-test: setup
    SQL ...
    -->                                       hidden SQL run just before the block, in the
                                              same database (what the prose says exists)
An unknown directive, a skip without a reason, or a directive followed by no fence fails.

Checks (after the examples, in a database of their own; skipped with --no-checks)
- every "<N> lock rules" in the docs equals count(*) of migration_engine.safety_rules(),
  and every rule code it lists appears in docs/SAFETY.md;
- every `migration_engine.<name>(` in the docs is a routine of the extension (pg_proc), and
  so is every name in the first column of a "| function |" or "| routine |" table (or a
  view of the extension, for "view `name`");
- every routine of schema migration_engine that PUBLIC or migration_admin may EXECUTE is
  named in at least one of the docs (the missing ones are printed).
"""
import json
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.environ.get("MIGRATION_ENGINE_ROOT") or os.path.dirname(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FENCE = re.compile(r"^(?P<indent>\s*)(?P<fence>`{3,}|~{3,})\s*(?P<lang>[^\s`]*)")
DIRECTIVE = re.compile(r"^\s*<!--\s*doc-test:(?P<body>.*)$")
CREATES_EXTENSION = re.compile(r"^\s*CREATE\s+EXTENSION\s+(IF\s+NOT\s+EXISTS\s+)?migration_engine\b", re.I)
SUCCESS_FALSE = re.compile(r'"success"\s*:\s*false')


class Block:
    def __init__(self, path, line, lang, text):
        self.path, self.line, self.lang, self.text = path, line, lang.lower(), text
        self.skip = None          # reason
        self.expect_error = None  # SQLSTATE
        self.setup = []           # [(line, sql)]

    @property
    def where(self):
        return f"{self.path}:{self.line}"


def parse(path):
    """Blocks of a markdown file, and problems (where, message) with its directives."""
    lines = open(os.path.join(ROOT, path), encoding="utf-8").read().split("\n")
    blocks, problems, pending = [], [], []
    i = 0
    while i < len(lines):
        line = lines[i]
        d = DIRECTIVE.match(line)
        if d:
            start = i
            body = [d.group("body")]
            while "-->" not in body[-1] and i + 1 < len(lines):
                i += 1
                body.append(lines[i])
            if "-->" not in body[-1]:
                problems.append((f"{path}:{start + 1}", "unterminated doc-test directive"))
                break
            body[-1] = body[-1][:body[-1].index("-->")]
            pending.append((start + 1, body))
            i += 1
            continue
        m = FENCE.match(line)
        if m:
            indent, fence, lang = len(m.group("indent")), m.group("fence"), m.group("lang")
            text, j = [], i + 1
            while j < len(lines):
                c = re.match(r"^\s*(`{3,}|~{3,})\s*$", lines[j])
                if c and c.group(1)[0] == fence[0] and len(c.group(1)) >= len(fence):
                    break
                text.append(lines[j][indent:] if lines[j][:indent].strip() == "" else lines[j])
                j += 1
            b = Block(path, i + 1, lang, "\n".join(text) + "\n")
            for where, body in pending:
                apply_directive(b, where, body, problems)
            pending = []
            blocks.append(b)
            i = j + 1
            continue
        if line.strip() and pending:
            for where, _ in pending:
                problems.append((f"{path}:{where}", "doc-test directive not followed by a fenced block"))
            pending = []
        i += 1
    for where, _ in pending:
        problems.append((f"{path}:{where}", "doc-test directive not followed by a fenced block"))
    return blocks, problems


def apply_directive(block, line, body, problems):
    where = f"{block.path}:{line}"
    first, rest = body[0].strip(), body[1:]
    if first == "setup" or first.startswith("setup "):
        sql = "\n".join([first[len("setup"):]] + rest).strip("\n")
        if not sql.strip():
            problems.append((where, "an empty setup directive"))
        # the SQL starts on the directive's line when written after "setup", else the next
        block.setup.append((line if first[len("setup"):].strip() else line + 1, sql + "\n"))
        return
    if rest and "".join(rest).strip():
        problems.append((where, f"only setup directives may span lines: {first!r}"))
        return
    m = re.fullmatch(r"skip:\s*(.*)", first)
    if m:
        if not m.group(1).strip():
            problems.append((where, "skip needs a reason: <!-- doc-test: skip: why -->"))
        block.skip = m.group(1).strip() or "?"
        return
    m = re.fullmatch(r"expect-error\s+([0-9A-Z]{5})", first)
    if m:
        block.expect_error = m.group(1)
        return
    problems.append((where, f"unknown doc-test directive {first!r} (known: skip: REASON, expect-error SQLSTATE, setup)"))


def failed_results(out):
    """The result lines that say "success": false, shortened."""
    lines = [x.strip() for x in out.split("\n") if SUCCESS_FALSE.search(x)]
    return "\n".join(x if len(x) <= 800 else x[:800] + " ..." for x in lines)


class Runner:
    def __init__(self, args):
        self.keep = "--keep" in args
        self.verbose = "--verbose" in args or "-v" in args
        self.timeout = 300
        if "--timeout" in args:
            self.timeout = int(args[args.index("--timeout") + 1])
        self.maintenance = os.environ.get("PGDATABASE") or "postgres"
        self.passed = self.failed = self.skipped = 0
        self.tmp = tempfile.mkdtemp(prefix="doc-examples.")
        os.chmod(self.tmp, 0o755)

    # --- reporting
    def ok(self, where, note=""):
        self.passed += 1
        print(f"ok - {where}{note}", flush=True)

    def skip(self, where, reason):
        self.skipped += 1
        print(f"ok - {where} # SKIP {reason}", flush=True)

    def not_ok(self, where, message):
        self.failed += 1
        print(f"not ok - {where}", flush=True)
        for m in message.rstrip().split("\n")[-25:]:
            print(f"    {m}", flush=True)

    # --- psql
    def psql(self, db, sql, start_line=None, path=None, variables=(), tuples=False):
        """Run SQL from a file; returns (returncode, stdout, stderr) with psql's
        `psql:<file>:<n>:` prefixes turned into the markdown file's lines."""
        f = os.path.join(self.tmp, "block.sql")
        with open(f, "w", encoding="utf-8") as out:
            out.write(sql)
        cmd = ["psql", "-X", "-v", "ON_ERROR_STOP=1", "-v", "VERBOSITY=verbose", "-d", db, "-f", f]
        if tuples:
            cmd[1:1] = ["-qAt"]
        for k, v in variables:
            cmd += ["-v", f"{k}={v}"]
        try:
            p = subprocess.run(cmd, capture_output=True, text=True, timeout=self.timeout)
        except subprocess.TimeoutExpired:
            return 124, "", f"timed out after {self.timeout} s"
        out, err = p.stdout, p.stderr
        if start_line is not None:
            def at(m):
                return f"{path}:{start_line + int(m.group(1))}:"
            err = re.sub(r"psql:" + re.escape(f) + r":(\d+):", at, err)
        err = "\n".join(x for x in err.split("\n") if not x.startswith("LOCATION:"))
        return p.returncode, out, err

    def admin(self, sql):
        rc, out, err = self.psql(self.maintenance, sql, tuples=True)
        if rc != 0:
            raise RuntimeError(err)
        return out

    def fresh_database(self, db, with_extension):
        self.admin(f"DROP DATABASE IF EXISTS {db} WITH (FORCE);\nCREATE DATABASE {db};\n")
        if with_extension:
            rc, _, err = self.psql(db, "CREATE EXTENSION migration_engine;\n")
            if rc != 0:
                raise RuntimeError(err)

    def drop_database(self, db):
        if not self.keep:
            self.admin(f"DROP DATABASE IF EXISTS {db} WITH (FORCE);\n")

    # --- blocks
    def run_sql(self, db, block):
        rc, out, err = self.psql(db, block.text, block.line, block.path)
        if self.verbose:
            print("\n".join("    | " + x for x in (out + err).rstrip().split("\n")))
        if block.expect_error:
            if rc == 0:
                return self.not_ok(block.where, f"expected SQLSTATE {block.expect_error}, the block succeeded")
            codes = re.findall(r"ERROR:\s+([0-9A-Z]{5}):", err)
            if codes[-1:] != [block.expect_error]:
                return self.not_ok(block.where, f"expected SQLSTATE {block.expect_error}, got:\n{err}")
            return self.ok(block.where, f" (fails with {block.expect_error}, as documented)")
        if rc != 0:
            return self.not_ok(block.where, err or out)
        if SUCCESS_FALSE.search(out):
            return self.not_ok(block.where, "a result says \"success\": false:\n" + failed_results(out))
        self.ok(block.where)

    def run_json(self, db, block):
        try:
            doc = json.loads(block.text)
        except json.JSONDecodeError as e:
            return self.not_ok(block.where, f"{block.path}:{block.line + e.lineno}: invalid JSON: {e.msg}")
        kind = sql = None
        if isinstance(doc, dict) and "forward" in doc:
            kind, sql = "migration definition", "SELECT migration_engine.create_migration(:'doc_json'::jsonb);\n"
        elif isinstance(doc, dict) and "entities" in doc and "version" in doc:
            kind = "schema definition"
            sql = "SELECT migration_engine.register_schema_version(:'doc_json'::jsonb ->> 'version', :'doc_json'::jsonb);\n"
        elif isinstance(doc, dict) and "source" in doc and "steps" in doc:
            kind = "pipeline"
            sql = "SELECT migration_engine.execute_pipeline(:'doc_json'::jsonb, '{\"preview\": 10}');\n"
        if sql is None:
            return self.ok(block.where, " (JSON parses)")
        rc, out, err = self.psql(db, sql, block.line, block.path, variables=[("doc_json", block.text)], tuples=True)
        if self.verbose:
            print("\n".join("    | " + x for x in (out + err).rstrip().split("\n")))
        if block.expect_error:
            codes = re.findall(r"ERROR:\s+([0-9A-Z]{5}):", err)
            if rc != 0 and codes[-1:] == [block.expect_error]:
                return self.ok(block.where, f" ({kind} refused with {block.expect_error}, as documented)")
            return self.not_ok(block.where, f"expected SQLSTATE {block.expect_error}, got:\n{err or out}")
        if rc != 0:
            return self.not_ok(block.where, f"the extension refuses this {kind}:\n{err}")
        if SUCCESS_FALSE.search(out):
            return self.not_ok(block.where, f"the extension refuses this {kind}:\n{failed_results(out)}")
        self.ok(block.where, f" ({kind} accepted)")

    def run_offline(self, block):
        if block.lang in ("sh", "bash", "shell"):
            p = subprocess.run(["bash", "-n"], input=block.text, capture_output=True, text=True)
            return self.ok(block.where, " (sh syntax)") if p.returncode == 0 else self.not_ok(block.where, p.stderr)
        if block.lang in ("python", "py"):
            try:
                compile(block.text, block.where, "exec")
            except SyntaxError as e:
                return self.not_ok(block.where, f"{block.path}:{block.line + (e.lineno or 0)}: {e.msg}")
            return self.ok(block.where, " (python compiles)")
        self.skip(block.where, f"{block.lang or 'untagged'} block, not run")

    def run_file(self, path):
        blocks, problems = parse(path)
        for where, message in problems:
            self.not_ok(where, message)
        needs_db = any(b.lang in ("sql", "json") and not b.skip for b in blocks)
        db = None
        if needs_db:
            db = "doc_" + re.sub(r"[^a-z0-9]+", "_", os.path.basename(path).lower().removesuffix(".md")).strip("_")
            sqls = [b for b in blocks if b.lang == "sql" and not b.skip]
            creates = bool(sqls) and bool(CREATES_EXTENSION.match(sqls[0].text)) and not sqls[0].setup
            try:
                self.fresh_database(db, with_extension=not creates)
            except RuntimeError as e:
                return self.not_ok(f"{path} (database {db})", str(e))
        for b in blocks:
            if b.skip:
                self.skip(b.where, b.skip)
                continue
            setup_failed = False
            for line, sql in b.setup:
                rc, _, err = self.psql(db, sql, line, path)
                if rc != 0:
                    self.not_ok(f"{b.where} (its setup at {path}:{line})", err)
                    setup_failed = True
                    break
            if setup_failed:
                continue
            if b.lang == "sql":
                self.run_sql(db, b)
            elif b.lang == "json":
                self.run_json(db, b)
            else:
                self.run_offline(b)
        if db:
            self.drop_database(db)

    # --- counts and lists
    def run_checks(self, files):
        db = "doc_checks"
        self.fresh_database(db, with_extension=True)
        texts = {f: open(os.path.join(ROOT, f), encoding="utf-8").read() for f in files}

        def q(sql):
            rc, out, err = self.psql(db, sql + "\n", tuples=True)
            if rc != 0:
                raise RuntimeError(err)
            return [x for x in out.split("\n") if x]

        def line_of(text, offset):
            return text.count("\n", 0, offset) + 1

        # (a) the number of lock rules, and each rule named in SAFETY.md
        rules = q("SELECT code FROM migration_engine.safety_rules() ORDER BY 1")
        stated = [(f, line_of(t, m.start()), int(m.group(1)))
                  for f, t in texts.items() for m in re.finditer(r"\b(\d+)\s+lock\s+rules\b", t)]
        if not stated:
            self.not_ok("check: lock rule count", "no doc states how many lock rules there are")
        for f, line, n in stated:
            where = f"{f}:{line}"
            if n == len(rules):
                self.ok(where, f" (says {n} lock rules; safety_rules() lists {len(rules)})")
            else:
                self.not_ok(where, f"says {n} lock rules; migration_engine.safety_rules() lists {len(rules)}")
        safety = texts.get("docs/SAFETY.md", "")
        missing = [r for r in rules if not re.search(rf"\b{re.escape(r)}\b", safety)]
        if missing:
            self.not_ok("check: docs/SAFETY.md names every lock rule", "not named: " + ", ".join(missing))
        else:
            self.ok("check: docs/SAFETY.md names every lock rule", f" ({len(rules)})")

        # (b) every migration_engine.<name>( in the docs exists
        routines = set(q("SELECT DISTINCT proname FROM pg_proc WHERE pronamespace = 'migration_engine'::regnamespace"))
        named, unknown = set(), []
        for f, t in texts.items():
            for m in re.finditer(r"\bmigration_engine\.([A-Za-z_][A-Za-z0-9_]*)\s*\(", t):
                named.add(m.group(1))
                if m.group(1) not in routines:
                    unknown.append(f"{f}:{line_of(t, m.start())}: migration_engine.{m.group(1)}( is no routine of the extension")
        if unknown:
            self.not_ok("check: every migration_engine.<name>( in the docs exists", "\n".join(unknown))
        else:
            self.ok("check: every migration_engine.<name>( in the docs exists", f" ({len(named)} names)")
        # ... and so does every name in the first column of a "| function |" or "| routine |"
        # table (a function, a procedure after CALL, or a view after "view")
        relations = set(q("SELECT relname FROM pg_class WHERE relnamespace = 'migration_engine'::regnamespace"))
        listed, unknown = set(), []
        for f, t in texts.items():
            header = None
            for n, row in enumerate(t.split("\n"), 1):
                if not row.startswith("|"):
                    header = None
                    continue
                first = row.split("|")[1].strip()
                if header is None:
                    header = first
                    continue
                if header not in ("function", "routine") or set(first) <= set("-: "):
                    continue
                for span in re.findall(r"`([^`]+)`", first):
                    m = re.match(r"(?:CALL\s+)?([a-z_][a-z0-9_]*)", span)
                    if not m:
                        continue
                    listed.add(m.group(1))
                    if m.group(1) not in routines | relations:
                        unknown.append(f"{f}:{n}: `{span}` is no routine or view of the extension")
        if unknown:
            self.not_ok("check: every name in the docs' function tables exists", "\n".join(unknown))
        else:
            self.ok("check: every name in the docs' function tables exists", f" ({len(listed)} names)")

        # (c) every routine PUBLIC or migration_admin may run is documented somewhere
        callable_ = q("SELECT DISTINCT p.proname FROM pg_proc p WHERE p.pronamespace = 'migration_engine'::regnamespace"
                      " AND has_function_privilege('migration_admin', p.oid, 'EXECUTE') ORDER BY 1")
        alltext = "\n".join(texts.values())
        undocumented = [r for r in callable_ if not re.search(rf"\b{re.escape(r)}\b", alltext)]
        if undocumented:
            self.not_ok("check: every routine PUBLIC or migration_admin may EXECUTE is documented",
                        "named in no doc: " + ", ".join(undocumented))
        else:
            self.ok("check: every routine PUBLIC or migration_admin may EXECUTE is documented", f" ({len(callable_)})")
        self.drop_database(db)


def main(argv):
    args = argv[1:]
    files = [a for a in args if a.endswith(".md")]
    if not files:
        files = ["README.md"] + sorted(
            "docs/" + f for f in os.listdir(os.path.join(ROOT, "docs")) if f.endswith(".md"))
    r = Runner(args)
    try:
        for f in files:
            r.run_file(f)
        if "--no-checks" not in args:
            try:
                r.run_checks(["README.md"] + sorted(
                    "docs/" + f for f in os.listdir(os.path.join(ROOT, "docs")) if f.endswith(".md")))
            except RuntimeError as e:
                r.not_ok("checks", str(e))
    finally:
        subprocess.run(["rm", "-rf", r.tmp])
    print(f"# docs: {r.passed} passed, {r.failed} failed, {r.skipped} skipped")
    return 1 if r.failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
