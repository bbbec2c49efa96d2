# Docs as tests (issue 12, problem 11): every SQL example of README.md and docs/*.md runs
# against the installed extension (a fresh database per file, blocks in order), every
# JSON definition is handed to the extension, and the docs' lock-rule count and function
# names are checked against it, as are the routines PUBLIC or migration_admin may call
# (each must be documented). scripts/lib/doc_examples.py says how, and lists the
# directives (skip, expect-error, setup) a doc may put before a block.
. "$MIGRATION_ENGINE_ROOT/tests/client/lib.sh"
cd "$MIGRATION_ENGINE_ROOT"
/usr/bin/python3 scripts/lib/doc_examples.py "$@"
