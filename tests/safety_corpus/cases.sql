-- The safety corpus: SQL with the exact set of rule codes migration_engine.lint_sql must
-- return for it, linted (never run) against the state tests/safety_corpus/setup.sql builds.
-- tests/safety_corpus/run.py runs it; tests/client/safety_corpus.sh runs that in CI.
--
-- One case per block, blocks separated by a blank line (so a case's SQL has none):
--   -- case: NAME                   unique, lower-case words joined by dashes
--   -- expect: CODE[, CODE...]      the exact set of codes (order and repeats ignored), or none
--   -- because: ...                 the PostgreSQL behaviour the verdict relies on
--   -- in_transaction: false        optional (default true: the whole input is one transaction)
--   -- options: {"outsideEngine": true}   optional, lint_sql's third argument
-- then the SQL, one script of one or more statements. A block of comments only (like
-- this one) is ignored. Tables are qualified with corpus.; "PG docs" means the
-- PostgreSQL 15 manual, "tablecmds.c" its source file src/backend/commands/tablecmds.c.

-- case: create-index-plain
-- expect: CREATE_INDEX_NOT_CONCURRENTLY
-- because: CREATE INDEX takes a SHARE lock on the table, blocking writes for the whole build (PG docs, CREATE INDEX, "Building Indexes Concurrently")
CREATE INDEX customers_country_idx ON corpus.customers (country);

-- case: create-unique-index-plain
-- expect: CREATE_INDEX_NOT_CONCURRENTLY
-- because: a unique index is built the same way, under SHARE, and also checks every row for duplicates (PG docs, CREATE INDEX)
CREATE UNIQUE INDEX customers_email_key ON corpus.customers (email);

-- case: create-index-if-not-exists
-- expect: CREATE_INDEX_NOT_CONCURRENTLY
-- because: IF NOT EXISTS only skips an existing name; a missing index is built under SHARE as usual (PG docs, CREATE INDEX)
CREATE INDEX IF NOT EXISTS products_name_idx ON corpus.products (name);

-- case: create-index-expression
-- expect: CREATE_INDEX_NOT_CONCURRENTLY
-- because: an expression index is built under the same SHARE lock, evaluating the expression for every row (PG docs, Indexes on Expressions)
CREATE INDEX customers_email_lower_idx ON corpus.customers (lower(email));

-- case: create-index-partial
-- expect: CREATE_INDEX_NOT_CONCURRENTLY
-- because: a partial index still scans the whole table under SHARE to find the rows its predicate keeps (PG docs, Partial Indexes)
CREATE INDEX orders_unshipped_idx ON corpus.orders (placed_at) WHERE shipped_at IS NULL;

-- case: create-index-concurrently
-- expect: none
-- in_transaction: false
-- because: CREATE INDEX CONCURRENTLY takes SHARE UPDATE EXCLUSIVE, so inserts, updates and deletes go on during the build (PG docs, CREATE INDEX, "Building Indexes Concurrently")
CREATE INDEX CONCURRENTLY customers_country_idx ON corpus.customers (country);

-- case: create-unique-index-concurrently
-- expect: none
-- in_transaction: false
-- because: UNIQUE works with CONCURRENTLY; uniqueness is enforced from the second scan on, without blocking writes (PG docs, CREATE INDEX)
CREATE UNIQUE INDEX CONCURRENTLY customers_email_key ON corpus.customers (email);

-- case: create-index-concurrently-in-transaction
-- expect: CONCURRENTLY_IN_TRANSACTION
-- because: "a regular CREATE INDEX command can be performed within a transaction block, but CREATE INDEX CONCURRENTLY cannot" (PG docs, CREATE INDEX; error 25001)
CREATE INDEX CONCURRENTLY customers_country_idx ON corpus.customers (country);

-- case: create-index-on-new-table
-- expect: none
-- because: a table created earlier in the same script is empty and unknown to other sessions, so the SHARE lock of its index build blocks nobody
CREATE TABLE corpus.coupons (code text PRIMARY KEY, percent integer NOT NULL);
CREATE INDEX coupons_percent_idx ON corpus.coupons (percent);

-- case: concurrently-on-new-table-in-transaction
-- expect: CONCURRENTLY_IN_TRANSACTION
-- because: CREATE INDEX CONCURRENTLY refuses a transaction block whatever the table (error 25001), so a new table does not excuse it
CREATE TABLE corpus.coupons (code text PRIMARY KEY, percent integer NOT NULL);
CREATE INDEX CONCURRENTLY coupons_percent_idx ON corpus.coupons (percent);

-- case: concurrently-after-explicit-begin
-- expect: TRANSACTION_CONTROL_IN_STEP, CONCURRENTLY_IN_TRANSACTION
-- in_transaction: false
-- because: after BEGIN the session is in a transaction block, where CREATE INDEX CONCURRENTLY fails (25001) even though the script as a whole is not wrapped in one (PG docs, BEGIN; CREATE INDEX)
BEGIN;
CREATE INDEX CONCURRENTLY customers_country_idx ON corpus.customers (country);
COMMIT;

-- case: concurrently-after-commit
-- expect: TRANSACTION_CONTROL_IN_STEP
-- in_transaction: false
-- because: COMMIT ends the transaction block BEGIN opened, so the CREATE INDEX CONCURRENTLY after it runs outside any block and succeeds (PG docs, COMMIT)
BEGIN;
UPDATE corpus.customers SET country = 'DE' WHERE id = 1;
COMMIT;
CREATE INDEX CONCURRENTLY customers_country_idx ON corpus.customers (country);

-- case: create-index-on-partitioned-table
-- expect: CREATE_INDEX_NOT_CONCURRENTLY
-- because: CREATE INDEX on a partitioned table builds the index on every partition, each under SHARE, in one transaction (PG docs, CREATE INDEX, "ONLY"; Partitioning, "Partition Maintenance")
CREATE INDEX events_kind_idx ON corpus.events (kind);

-- case: concurrently-on-partitioned-table
-- expect: CONCURRENTLY_ON_PARTITIONED_TABLE
-- in_transaction: false
-- because: PostgreSQL 15 refuses it: "cannot create index on partitioned table concurrently" (0A000; PG docs, CREATE INDEX: "Concurrent builds for indexes on partitioned tables are currently not supported")
CREATE INDEX CONCURRENTLY events_kind_idx ON corpus.events (kind);

-- case: concurrently-on-partitioned-table-in-transaction
-- expect: CONCURRENTLY_ON_PARTITIONED_TABLE, CONCURRENTLY_IN_TRANSACTION
-- because: the statement fails twice over: CONCURRENTLY in a transaction block (25001) and CONCURRENTLY on a partitioned table (0A000)
CREATE INDEX CONCURRENTLY events_kind_idx ON corpus.events (kind);

-- case: create-index-on-only-partitioned-table
-- expect: none
-- because: CREATE INDEX ... ON ONLY a partitioned table creates an invalid parent index and builds nothing, so it is instant (PG docs, CREATE INDEX, "ONLY"; Partitioning, "Partition Maintenance")
CREATE INDEX events_kind_idx ON ONLY corpus.events (kind);

-- case: partitioned-index-recipe
-- expect: none
-- in_transaction: false
-- because: the documented way to index a partitioned table without blocking writes: ON ONLY the parent, CONCURRENTLY on each partition, then ALTER INDEX ... ATTACH PARTITION, which only touches the catalog (PG docs, Partitioning, "Partition Maintenance")
CREATE INDEX events_kind_idx ON ONLY corpus.events (kind);
CREATE INDEX CONCURRENTLY events_2024_kind_idx ON corpus.events_2024 (kind);
ALTER INDEX corpus.events_kind_idx ATTACH PARTITION corpus.events_2024_kind_idx;
CREATE INDEX CONCURRENTLY events_2025_kind_idx ON corpus.events_2025 (kind);
ALTER INDEX corpus.events_kind_idx ATTACH PARTITION corpus.events_2025_kind_idx;

-- case: create-index-on-only-plain-table
-- expect: CREATE_INDEX_NOT_CONCURRENTLY
-- because: ONLY only stops recursion into partitions; on an ordinary table the index is built in full under SHARE as without it (PG docs, CREATE INDEX, "ONLY")
CREATE INDEX orders_shipped_idx ON ONLY corpus.orders (shipped_at);

-- case: create-index-concurrently-on-partition
-- expect: none
-- in_transaction: false
-- because: a partition is an ordinary table, so CREATE INDEX CONCURRENTLY works on it (PG docs, Partitioning, "Partition Maintenance")
CREATE INDEX CONCURRENTLY events_2024_kind_idx ON corpus.events_2024 (kind);

-- case: drop-index-plain
-- expect: DROP_INDEX_NOT_CONCURRENTLY
-- because: DROP INDEX takes ACCESS EXCLUSIVE on the index's table, queueing behind running queries and blocking the ones after it (PG docs, DROP INDEX, "CONCURRENTLY")
DROP INDEX corpus.orders_placed_idx;

-- case: drop-index-if-exists
-- expect: DROP_INDEX_NOT_CONCURRENTLY
-- because: IF EXISTS changes nothing about the lock: the drop still takes ACCESS EXCLUSIVE on the table (PG docs, DROP INDEX)
DROP INDEX IF EXISTS corpus.orders_status_idx;

-- case: drop-index-concurrently
-- expect: none
-- in_transaction: false
-- because: DROP INDEX CONCURRENTLY waits for conflicting transactions without locking out selects, inserts, updates or deletes (PG docs, DROP INDEX)
DROP INDEX CONCURRENTLY IF EXISTS corpus.orders_placed_idx;

-- case: drop-index-concurrently-in-transaction
-- expect: CONCURRENTLY_IN_TRANSACTION
-- because: "regular DROP INDEX commands can be performed within a transaction block, but DROP INDEX CONCURRENTLY cannot" (PG docs, DROP INDEX; error 25001)
DROP INDEX CONCURRENTLY corpus.orders_placed_idx;

-- case: reindex-table
-- expect: REINDEX_NOT_CONCURRENTLY
-- because: REINDEX locks out writes to the table (SHARE) and takes ACCESS EXCLUSIVE on each index it rebuilds (PG docs, REINDEX, "Rebuilding Indexes Concurrently")
REINDEX TABLE corpus.orders;

-- case: reindex-index
-- expect: REINDEX_NOT_CONCURRENTLY
-- because: REINDEX INDEX takes the same locks for that one index: writes to its table wait, and so do reads planned to use it (PG docs, REINDEX)
REINDEX INDEX corpus.orders_status_idx;

-- case: reindex-concurrently
-- expect: none
-- in_transaction: false
-- because: REINDEX CONCURRENTLY (PostgreSQL 12+) builds a new index beside the old and swaps them, under SHARE UPDATE EXCLUSIVE (PG docs, REINDEX, "Rebuilding Indexes Concurrently")
REINDEX TABLE CONCURRENTLY corpus.orders;

-- case: reindex-concurrently-in-transaction
-- expect: CONCURRENTLY_IN_TRANSACTION
-- because: REINDEX CONCURRENTLY refuses a transaction block: "REINDEX CONCURRENTLY cannot run inside a transaction block" (25001; PG docs, REINDEX)
REINDEX INDEX CONCURRENTLY corpus.orders_status_idx;

-- case: vacuum-in-transaction
-- expect: VACUUM_IN_TRANSACTION
-- because: "VACUUM cannot be executed inside a transaction block" (PG docs, VACUUM; error 25001)
VACUUM corpus.staging_rows;

-- case: vacuum-analyze-outside-transaction
-- expect: none
-- in_transaction: false
-- because: plain VACUUM takes SHARE UPDATE EXCLUSIVE and "can operate in parallel with normal reading and writing of the table" (PG docs, VACUUM)
VACUUM (ANALYZE) corpus.staging_rows;

-- case: vacuum-full
-- expect: VACUUM_FULL
-- in_transaction: false
-- because: VACUUM FULL writes a new copy of the table and its indexes while holding ACCESS EXCLUSIVE on it, so nothing reads or writes it meanwhile (PG docs, VACUUM, "FULL"; Explicit Locking)
VACUUM FULL corpus.orders;

-- case: vacuum-full-in-transaction
-- expect: VACUUM_FULL, VACUUM_IN_TRANSACTION
-- because: VACUUM FULL both rewrites under ACCESS EXCLUSIVE and, like every VACUUM, fails inside a transaction block (PG docs, VACUUM)
VACUUM FULL corpus.orders;

-- case: analyze-in-transaction
-- expect: none
-- because: ANALYZE may run inside a transaction block and takes only SHARE UPDATE EXCLUSIVE, which does not block reads or writes (PG docs, ANALYZE; Explicit Locking)
ANALYZE corpus.orders;

-- case: cluster-table
-- expect: CLUSTER
-- in_transaction: false
-- because: "When a table is being clustered, an ACCESS EXCLUSIVE lock is acquired on it", and it is rewritten in index order (PG docs, CLUSTER)
CLUSTER corpus.orders USING orders_placed_idx;

-- case: cluster-table-in-transaction
-- expect: CLUSTER
-- because: CLUSTER with a table name may run in a transaction block, holding ACCESS EXCLUSIVE for the rewrite just the same (PG docs, CLUSTER)
CLUSTER corpus.orders USING orders_placed_idx;

-- case: begin-commit-in-step
-- expect: TRANSACTION_CONTROL_IN_STEP
-- because: the input already runs in one transaction: BEGIN inside it only warns "there is already a transaction in progress" and COMMIT ends the caller's transaction early (PG docs, BEGIN, COMMIT)
BEGIN;
UPDATE corpus.orders SET status = 'paid' WHERE id = 1;
COMMIT;

-- case: savepoint-in-step
-- expect: TRANSACTION_CONTROL_IN_STEP
-- because: SAVEPOINT and RELEASE are transaction control statements (TransactionStmt), which the engine's steps cannot run through SPI (PG docs, SPI, "Transaction Management")
SAVEPOINT before_fix;
UPDATE corpus.orders SET status = 'paid' WHERE id = 1;
RELEASE SAVEPOINT before_fix;

-- case: type-int-to-bigint
-- expect: ALTER_COLUMN_TYPE_REWRITE
-- because: int4 to int8 is not binary-coercible (the pg_cast entry is a function), so every row is rewritten under ACCESS EXCLUSIVE (PG docs, ALTER TABLE, "SET DATA TYPE" and Notes)
ALTER TABLE corpus.products ALTER COLUMN weight_grams TYPE bigint;

-- case: type-varchar-narrowed
-- expect: ALTER_COLUMN_TYPE_REWRITE
-- because: a shorter varchar needs the length coercion run on every value, which varchar_support cannot prove a no-op, so the table is rewritten (tablecmds.c ATColumnChangeRequiresRewrite)
ALTER TABLE corpus.customers ALTER COLUMN nickname TYPE varchar(10);

-- case: type-text-to-bounded-varchar
-- expect: ALTER_COLUMN_TYPE_REWRITE
-- because: text to varchar(n) is binary-coercible but adds a length check on every value, so the table is rewritten (tablecmds.c ATColumnChangeRequiresRewrite)
ALTER TABLE corpus.customers ALTER COLUMN email TYPE varchar(100);

-- case: type-char-to-text
-- expect: ALTER_COLUMN_TYPE_REWRITE
-- because: the bpchar to text cast is a function (it strips trailing blanks), not binary-coercible, so every row is rewritten (pg_cast castmethod 'f')
ALTER TABLE corpus.customers ALTER COLUMN legacy_code TYPE text;

-- case: type-numeric-scale-changed
-- expect: ALTER_COLUMN_TYPE_REWRITE
-- because: a different numeric scale changes stored values, so numeric_support cannot skip the coercion and the table is rewritten (src/backend/utils/adt/numeric.c numeric_support)
ALTER TABLE corpus.products ALTER COLUMN price TYPE numeric(12,3);

-- case: type-timestamp-precision-lowered
-- expect: ALTER_COLUMN_TYPE_REWRITE
-- because: lowering fractional-second precision rounds stored values, so the table is rewritten; only increases are no-ops (timestamp_support)
ALTER TABLE corpus.customers ALTER COLUMN created_at TYPE timestamp(0);

-- case: type-timestamp-to-timestamptz
-- expect: ALTER_COLUMN_TYPE_REWRITE
-- because: timestamp to timestamptz skips the rewrite (PostgreSQL 12+) only when the session TimeZone is UTC, which the SQL cannot show; otherwise every value shifts (PG 12 release notes; ALTER TABLE)
ALTER TABLE corpus.orders ALTER COLUMN shipped_at TYPE timestamptz;

-- case: type-change-with-using
-- expect: ALTER_COLUMN_TYPE_REWRITE
-- because: a USING expression computes each new value from the old row, so the table is rewritten even when the types would be compatible (PG docs, ALTER TABLE, "SET DATA TYPE")
ALTER TABLE corpus.customers ALTER COLUMN nickname TYPE varchar(40) USING lower(nickname);

-- case: type-int-to-text
-- expect: ALTER_COLUMN_TYPE_REWRITE
-- because: int4 to text is an I/O conversion, not binary-coercible, so every row is rewritten (PG docs, CREATE CAST; ALTER TABLE Notes)
ALTER TABLE corpus.orders ALTER COLUMN discount TYPE text;

-- case: type-enum-to-text
-- expect: ALTER_COLUMN_TYPE_REWRITE
-- because: an enum is stored as an OID, text as characters: the conversion goes through I/O and rewrites every row (PG docs, Enumerated Types, "Implementation Details")
ALTER TABLE corpus.orders ALTER COLUMN state TYPE text;

-- case: type-varchar-widened
-- expect: none
-- because: raising a varchar limit is binary-coercible and varchar_support proves the length coercion a no-op: a catalog change, no rewrite, and nickname has no index or CHECK (PG docs, ALTER TABLE Notes)
ALTER TABLE corpus.customers ALTER COLUMN nickname TYPE varchar(40);

-- case: type-varchar-to-text
-- expect: none
-- because: varchar to text is binary-coercible (pg_cast castmethod 'b') with no length check: no rewrite, no scan (PG docs, ALTER TABLE Notes)
ALTER TABLE corpus.customers ALTER COLUMN nickname TYPE text;

-- case: type-text-to-unbounded-varchar
-- expect: none
-- because: text to varchar without a length is binary-coercible (pg_cast castmethod 'b') and adds no check: no rewrite
ALTER TABLE corpus.customers ALTER COLUMN country TYPE varchar;

-- case: type-numeric-precision-raised
-- expect: none
-- because: numeric(10,2) to numeric(14,2) keeps the scale and raises the precision, which numeric_support proves a no-op: no rewrite
ALTER TABLE corpus.products ALTER COLUMN price TYPE numeric(14,2);

-- case: type-numeric-unconstrained
-- expect: none
-- because: dropping the typmod of a numeric changes no stored value (numeric_support): no rewrite
ALTER TABLE corpus.products ALTER COLUMN price TYPE numeric;

-- case: type-timestamp-precision-raised
-- expect: none
-- because: raising timestamp precision cannot change stored values, and timestamp_support proves the coercion a no-op: no rewrite
ALTER TABLE corpus.customers ALTER COLUMN created_at TYPE timestamp(6);

-- case: type-interval-precision-raised
-- expect: none
-- because: interval(0) to interval(3) keeps the fields and raises the precision, which interval_support proves a no-op: no rewrite
ALTER TABLE corpus.customers ALTER COLUMN session_length TYPE interval(3);

-- case: type-time-precision-raised
-- expect: none
-- because: raising time precision is a no-op coercion (time_support): no rewrite
ALTER TABLE corpus.customers ALTER COLUMN opens_at TYPE time(3);

-- case: type-varbit-widened
-- expect: none
-- because: a longer bit varying limit is a no-op length coercion (varbit_support): no rewrite
ALTER TABLE corpus.customers ALTER COLUMN flags TYPE varbit(16);

-- case: type-cidr-to-inet
-- expect: none
-- because: cidr to inet is binary-coercible (pg_cast castmethod 'b'): no rewrite
ALTER TABLE corpus.customers ALTER COLUMN allowed_net TYPE inet;

-- case: type-to-domain-without-check
-- expect: none
-- because: a domain without constraints over the same base type adds no CoerceToDomain check, so text to corpus.label_text is binary-coercible: no rewrite (tablecmds.c ATColumnChangeRequiresRewrite)
ALTER TABLE corpus.customers ALTER COLUMN country TYPE corpus.label_text;

-- case: type-to-domain-with-check
-- expect: ALTER_COLUMN_TYPE_REWRITE
-- because: PostgreSQL 15 rewrites the table (and rebuilds its indexes) when the new type is a domain with constraints: ATColumnChangeRequiresRewrite returns true for a CoerceToDomain whose domain has constraints (tablecmds.c; checked: the relfilenode changes)
ALTER TABLE corpus.orders ALTER COLUMN discount TYPE corpus.positive_int;

-- case: type-indexed-column-widened
-- expect: none
-- because: a plain index on a column whose change is binary-coercible keeps its storage: TryReuseIndex finds it compatible (CheckIndexCompatible: same opclass and collation) and nothing is rebuilt or scanned (tablecmds.c; checked: the index's relfilenode is unchanged)
ALTER TABLE corpus.orders ALTER COLUMN status TYPE varchar(40);

-- case: type-expression-indexed-column-widened
-- expect: ALTER_COLUMN_TYPE_REVALIDATES
-- because: no table rewrite, but an expression index on the column cannot be reused (CheckIndexCompatible refuses expression indexes) and is rebuilt under ACCESS EXCLUSIVE (tablecmds.c TryReuseIndex; checked: the index's relfilenode changes)
ALTER TABLE corpus.customers ALTER COLUMN handle TYPE varchar(60);

-- case: type-checked-column-widened
-- expect: ALTER_COLUMN_TYPE_REVALIDATES
-- because: no rewrite, but CHECK constraints on the column are dropped and re-added, and re-adding one checks every row under ACCESS EXCLUSIVE (tablecmds.c ATPostAlterTypeCleanup)
ALTER TABLE corpus.orders ALTER COLUMN coupon_code TYPE varchar(24);

-- case: type-checked-numeric-widened
-- expect: ALTER_COLUMN_TYPE_REVALIDATES
-- because: numeric precision raised with the same scale is no rewrite, but orders_total_nonneg is re-added and so checked on every row (tablecmds.c ATPostAlterTypeCleanup)
ALTER TABLE corpus.orders ALTER COLUMN total TYPE numeric(12,2);

-- case: type-to-json
-- expect: ALTER_COLUMN_TYPE_REWRITE, PREFER_JSONB
-- because: the USING cast rewrites every row; and json keeps the raw text, re-parsing it on every access and having no equality operator or GIN support, where jsonb is the recommended type (PG docs, JSON Types)
ALTER TABLE corpus.customers ALTER COLUMN profile TYPE json USING profile::json;

-- case: type-to-jsonb
-- expect: ALTER_COLUMN_TYPE_REWRITE
-- because: text to jsonb is a real conversion (USING): every row is rewritten under ACCESS EXCLUSIVE; jsonb itself is the recommended JSON type (PG docs, JSON Types)
ALTER TABLE corpus.customers ALTER COLUMN profile TYPE jsonb USING profile::jsonb;

-- case: add-column-nullable
-- expect: none
-- because: ADD COLUMN without a default only changes the catalog: existing rows read NULL, no rewrite (PG docs, ALTER TABLE Notes)
ALTER TABLE corpus.customers ADD COLUMN referrer text;

-- case: add-column-constant-default
-- expect: none
-- because: since PostgreSQL 11 a non-volatile default is stored once in the catalog (atthasmissing) and existing rows are not rewritten (PG docs, ALTER TABLE Notes)
ALTER TABLE corpus.customers ADD COLUMN tier text DEFAULT 'basic';

-- case: add-column-not-null-constant-default
-- expect: none
-- because: NOT NULL with a constant default: every existing row gets the stored default, so the column is never NULL and there is no rewrite (PG docs, ALTER TABLE Notes)
ALTER TABLE corpus.customers ADD COLUMN active boolean NOT NULL DEFAULT true;

-- case: add-column-now-default
-- expect: none
-- because: now() is STABLE (pg_proc.provolatile 's'): it is evaluated once for the ALTER and stored, no rewrite (PG docs, ALTER TABLE Notes)
ALTER TABLE corpus.customers ADD COLUMN seen_at timestamptz DEFAULT now();

-- case: add-column-current-timestamp-default
-- expect: none
-- because: CURRENT_TIMESTAMP is the transaction start time, stable within the statement, so the fast default applies (PG docs, Current Date/Time)
ALTER TABLE corpus.customers ADD COLUMN imported_at timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP;

-- case: add-column-stable-function-default
-- expect: none
-- because: a STABLE function default is evaluated once and stored like a constant (only a volatile default forces the rewrite; PG docs, ALTER TABLE Notes)
ALTER TABLE corpus.customers ADD COLUMN region text DEFAULT corpus.corpus_region_setting();

-- case: add-column-immutable-function-default
-- expect: none
-- because: an IMMUTABLE function default is evaluated once and stored: no rewrite (PG docs, ALTER TABLE Notes)
ALTER TABLE corpus.customers ADD COLUMN loyalty integer DEFAULT corpus.corpus_default_score();

-- case: add-column-volatile-function-default
-- expect: ADD_COLUMN_VOLATILE_DEFAULT
-- because: a VOLATILE default (pg_proc.provolatile 'v') must be computed per row, so the table is rewritten under ACCESS EXCLUSIVE (PG docs, ALTER TABLE Notes)
ALTER TABLE corpus.customers ADD COLUMN invite_code text DEFAULT corpus.corpus_random_code();

-- case: add-column-gen-random-uuid
-- expect: ADD_COLUMN_VOLATILE_DEFAULT
-- because: gen_random_uuid() is VOLATILE: each row gets its own value, so every row is rewritten (PG docs, ALTER TABLE Notes)
ALTER TABLE corpus.orders ADD COLUMN token uuid DEFAULT gen_random_uuid();

-- case: add-column-clock-timestamp
-- expect: ADD_COLUMN_VOLATILE_DEFAULT
-- because: clock_timestamp() is VOLATILE (it changes during a statement), so the default is computed per row with a rewrite (PG docs, Current Date/Time; ALTER TABLE Notes)
ALTER TABLE corpus.orders ADD COLUMN touched_at timestamptz DEFAULT clock_timestamp();

-- case: add-column-random
-- expect: ADD_COLUMN_VOLATILE_DEFAULT
-- because: random() is VOLATILE, so the new column is filled by rewriting every row (PG docs, ALTER TABLE Notes)
ALTER TABLE corpus.orders ADD COLUMN sample double precision DEFAULT random();

-- case: add-column-nextval
-- expect: ADD_COLUMN_VOLATILE_DEFAULT
-- because: nextval() is VOLATILE: each existing row takes its own value, which means a rewrite (PG docs, ALTER TABLE Notes)
ALTER TABLE corpus.orders ADD COLUMN invoice_no bigint DEFAULT nextval('corpus.invoice_seq');

-- case: add-column-bigserial
-- expect: ADD_COLUMN_VOLATILE_DEFAULT
-- because: bigserial is a NOT NULL column with DEFAULT nextval(...) on a new sequence: a volatile default, so the table is rewritten (PG docs, Serial Types)
ALTER TABLE corpus.orders ADD COLUMN row_no bigserial;

-- case: add-column-identity
-- expect: ADD_COLUMN_VOLATILE_DEFAULT
-- because: an identity column draws each existing row's value from its sequence, which rewrites the table (PG docs, ALTER TABLE Notes; CREATE TABLE, "GENERATED ... AS IDENTITY")
ALTER TABLE corpus.orders ADD COLUMN seq_no bigint GENERATED ALWAYS AS IDENTITY;

-- case: add-column-generated-stored
-- expect: ADD_COLUMN_VOLATILE_DEFAULT
-- because: a stored generated column is computed and stored for every existing row, which rewrites the table and its indexes under ACCESS EXCLUSIVE (tablecmds.c ATExecAddColumn; checked: the relfilenode changes)
ALTER TABLE corpus.orders ADD COLUMN total_cents bigint GENERATED ALWAYS AS ((total * 100)::bigint) STORED;

-- case: add-column-default-function-created-volatile
-- expect: ADD_COLUMN_VOLATILE_DEFAULT
-- because: CREATE FUNCTION without IMMUTABLE or STABLE makes a VOLATILE function (the default; PG docs, CREATE FUNCTION), so the default that calls it rewrites the table
CREATE FUNCTION corpus.corpus_new_ref() RETURNS text LANGUAGE sql AS $$ SELECT 'ref' $$;
ALTER TABLE corpus.customers ADD COLUMN ref text DEFAULT corpus.corpus_new_ref();

-- case: add-column-default-function-created-immutable
-- expect: none
-- because: an IMMUTABLE function created earlier in the script is evaluated once for the default: the fast default applies, no rewrite (PG docs, CREATE FUNCTION; ALTER TABLE Notes)
CREATE FUNCTION corpus.corpus_new_ref() RETURNS text LANGUAGE sql IMMUTABLE AS $$ SELECT 'ref' $$;
ALTER TABLE corpus.customers ADD COLUMN ref text DEFAULT corpus.corpus_new_ref();

-- case: add-column-default-function-created-stable
-- expect: none
-- because: a STABLE function created earlier in the script is not volatile, so the default is stored once (PG docs, CREATE FUNCTION; ALTER TABLE Notes)
CREATE FUNCTION corpus.corpus_new_ref() RETURNS text LANGUAGE sql STABLE AS $$ SELECT 'ref' $$;
ALTER TABLE corpus.customers ADD COLUMN ref text DEFAULT corpus.corpus_new_ref();

-- case: add-column-default-function-missing
-- expect: ADD_COLUMN_VOLATILE_DEFAULT
-- because: a function that does not exist yet has no known volatility, and functions are VOLATILE unless declared otherwise (PG docs, CREATE FUNCTION): assume the rewrite
ALTER TABLE corpus.customers ADD COLUMN ref text DEFAULT corpus.corpus_not_defined_anywhere();

-- case: add-column-then-set-volatile-default
-- expect: none
-- because: the column is added without a default (existing rows NULL) and SET DEFAULT only applies to later inserts, so there is no rewrite even with gen_random_uuid() (PG docs, ALTER TABLE, "SET DEFAULT"; checked: the relfilenode is unchanged)
ALTER TABLE corpus.orders ADD COLUMN token uuid, ALTER COLUMN token SET DEFAULT gen_random_uuid();

-- case: add-column-not-null-no-default
-- expect: ADD_COLUMN_NOT_NULL_WITHOUT_DEFAULT
-- because: existing rows would get NULL in a NOT NULL column: on a table with rows the ALTER fails with 23502 "column ... contains null values" (PG docs, ALTER TABLE, "ADD COLUMN")
ALTER TABLE corpus.customers ADD COLUMN tier text NOT NULL;

-- case: add-column-not-null-volatile-default
-- expect: ADD_COLUMN_VOLATILE_DEFAULT
-- because: the default fills every row so NOT NULL holds, but it is VOLATILE, so the table is rewritten (PG docs, ALTER TABLE Notes)
ALTER TABLE corpus.orders ADD COLUMN token uuid NOT NULL DEFAULT gen_random_uuid();

-- case: add-column-jsonb
-- expect: none
-- because: a nullable jsonb column is a catalog-only change, and jsonb is the recommended JSON type (PG docs, JSON Types)
ALTER TABLE corpus.products ADD COLUMN attributes jsonb;

-- case: add-column-json
-- expect: PREFER_JSONB
-- because: json stores the input text as is, re-parses it on each use and has no equality operator (no DISTINCT, GROUP BY or GIN index); "most applications should prefer to store JSON data as jsonb" (PG docs, JSON Types)
ALTER TABLE corpus.products ADD COLUMN attributes json;

-- case: add-column-domain-with-check
-- expect: ADD_COLUMN_DOMAIN_CHECK
-- because: PostgreSQL 15 evaluates a domain's constraints for every existing row, even for a NULL default, so the ALTER rewrites the table under ACCESS EXCLUSIVE (tablecmds.c ATExecAddColumn, DomainHasConstraints; checked: the relfilenode changes)
ALTER TABLE corpus.orders ADD COLUMN units corpus.positive_int;

-- case: add-column-domain-with-check-and-default
-- expect: ADD_COLUMN_DOMAIN_CHECK
-- because: a constant default does not help: the domain's CHECK still forces the per-row rewrite in PostgreSQL 15 (tablecmds.c ATExecAddColumn)
ALTER TABLE corpus.orders ADD COLUMN units corpus.positive_int DEFAULT 1;

-- case: add-column-domain-without-check
-- expect: none
-- because: a domain without constraints adds nothing to evaluate, so the column is added in the catalog only (tablecmds.c ATExecAddColumn; checked: the relfilenode is unchanged)
ALTER TABLE corpus.orders ADD COLUMN label corpus.label_text;

-- case: add-column-inline-check
-- expect: ADD_CHECK_WITHOUT_NOT_VALID
-- because: a CHECK declared with the new column is validated by scanning every row under ACCESS EXCLUSIVE, like ADD CONSTRAINT ... CHECK (PG docs, ALTER TABLE, "ADD table_constraint")
ALTER TABLE corpus.products ADD COLUMN rating integer CHECK (rating BETWEEN 1 AND 5);

-- case: add-column-inline-unique
-- expect: ADD_UNIQUE_WITHOUT_INDEX
-- because: UNIQUE on the new column builds a unique index inside the ALTER, under ACCESS EXCLUSIVE (PG docs, ALTER TABLE)
ALTER TABLE corpus.products ADD COLUMN external_id text UNIQUE;

-- case: add-column-inline-references
-- expect: ADD_FOREIGN_KEY_WITHOUT_NOT_VALID, FOREIGN_KEY_WITHOUT_INDEX
-- because: the inline REFERENCES is a foreign key validated against every row, and the new column leads no index, so every delete or key update on customers scans orders (PG docs, ALTER TABLE; CREATE TABLE, "REFERENCES": the referencing columns are not indexed automatically)
ALTER TABLE corpus.orders ADD COLUMN referrer_id integer REFERENCES corpus.customers (id);

-- case: add-two-columns-one-statement
-- expect: none
-- because: several ADD COLUMN subcommands in one ALTER TABLE take the lock once and, without defaults, change only the catalog (PG docs, ALTER TABLE Notes: multiple changes in one ALTER TABLE are combined "into a single pass over the table")
ALTER TABLE corpus.customers ADD COLUMN city text, ADD COLUMN zip text;

-- case: set-not-null-plain
-- expect: SET_NOT_NULL_WITHOUT_CHECK
-- because: SET NOT NULL scans the whole table under ACCESS EXCLUSIVE to prove there is no NULL (PG docs, ALTER TABLE, "SET/DROP NOT NULL")
ALTER TABLE corpus.customers ALTER COLUMN email SET NOT NULL;

-- case: set-not-null-validated-check-exists
-- expect: none
-- because: "if a valid CHECK constraint is found which proves no NULL can exist, then the table scan is skipped" (PostgreSQL 12+; PG docs, ALTER TABLE, "SET/DROP NOT NULL"): orders_channel_not_null is validated
ALTER TABLE corpus.orders ALTER COLUMN channel SET NOT NULL;

-- case: set-not-null-not-valid-check
-- expect: SET_NOT_NULL_WITHOUT_CHECK
-- because: only a valid CHECK lets SET NOT NULL skip the scan; orders_shipped_by_not_null is NOT VALID and proves nothing (PG docs, ALTER TABLE, "SET/DROP NOT NULL")
ALTER TABLE corpus.orders ALTER COLUMN shipped_by SET NOT NULL;

-- case: set-not-null-after-validate-in-script
-- expect: none
-- in_transaction: false
-- because: VALIDATE CONSTRAINT makes the NOT VALID checks valid, so the SET NOT NULL statements after them skip their scans (PG docs, ALTER TABLE, "SET/DROP NOT NULL"; "VALIDATE CONSTRAINT" takes SHARE UPDATE EXCLUSIVE)
ALTER TABLE corpus.orders VALIDATE CONSTRAINT orders_shipped_by_not_null;
ALTER TABLE corpus.customers VALIDATE CONSTRAINT customers_phone_not_null;
ALTER TABLE corpus.orders ALTER COLUMN shipped_by SET NOT NULL;
ALTER TABLE corpus.customers ALTER COLUMN phone SET NOT NULL;

-- case: set-not-null-after-validate-in-transaction
-- expect: ACCESS_EXCLUSIVE_HELD_ACROSS_STATEMENTS
-- because: the scans are skipped as in autocommit, but in one transaction the ACCESS EXCLUSIVE lock the first SET NOT NULL takes on orders is held until COMMIT, through the statement after it (PG docs, Explicit Locking: "once acquired, a lock is normally held until the end of the transaction")
ALTER TABLE corpus.orders VALIDATE CONSTRAINT orders_shipped_by_not_null;
ALTER TABLE corpus.customers VALIDATE CONSTRAINT customers_phone_not_null;
ALTER TABLE corpus.orders ALTER COLUMN shipped_by SET NOT NULL;
ALTER TABLE corpus.customers ALTER COLUMN phone SET NOT NULL;

-- case: set-not-null-recipe-in-script
-- expect: none
-- in_transaction: false
-- because: CHECK (col IS NOT NULL) NOT VALID is instant, VALIDATE scans under SHARE UPDATE EXCLUSIVE (traffic goes on), and the SET NOT NULL after it skips the scan (PG docs, ALTER TABLE, "SET/DROP NOT NULL", "VALIDATE CONSTRAINT")
ALTER TABLE corpus.customers ADD CONSTRAINT customers_nickname_not_null CHECK (nickname IS NOT NULL) NOT VALID;
ALTER TABLE corpus.products ADD CONSTRAINT products_price_not_null CHECK (price IS NOT NULL) NOT VALID;
ALTER TABLE corpus.customers VALIDATE CONSTRAINT customers_nickname_not_null;
ALTER TABLE corpus.products VALIDATE CONSTRAINT products_price_not_null;
ALTER TABLE corpus.customers ALTER COLUMN nickname SET NOT NULL;
ALTER TABLE corpus.products ALTER COLUMN price SET NOT NULL;

-- case: set-not-null-recipe-in-one-transaction
-- expect: NOT_VALID_VALIDATED_IN_SAME_TRANSACTION, ACCESS_EXCLUSIVE_HELD_ACROSS_STATEMENTS
-- because: in one transaction the ACCESS EXCLUSIVE lock ADD CONSTRAINT ... CHECK takes is held until COMMIT, so the VALIDATE scan runs while reads and writes wait: NOT VALID buys nothing (PG docs, ALTER TABLE, "VALIDATE CONSTRAINT"; Explicit Locking)
ALTER TABLE corpus.customers ADD CONSTRAINT customers_nickname_not_null CHECK (nickname IS NOT NULL) NOT VALID;
ALTER TABLE corpus.products ADD CONSTRAINT products_price_not_null CHECK (price IS NOT NULL) NOT VALID;
ALTER TABLE corpus.customers VALIDATE CONSTRAINT customers_nickname_not_null;
ALTER TABLE corpus.products VALIDATE CONSTRAINT products_price_not_null;
ALTER TABLE corpus.customers ALTER COLUMN nickname SET NOT NULL;
ALTER TABLE corpus.products ALTER COLUMN price SET NOT NULL;

-- case: drop-not-null
-- expect: DROP_NOT_NULL
-- because: after DROP NOT NULL the column accepts NULL: readers that rely on it never being NULL break, and the step cannot be undone by SET NOT NULL once NULLs were written (PG docs, ALTER TABLE, "SET/DROP NOT NULL")
ALTER TABLE corpus.customers ALTER COLUMN name DROP NOT NULL;

-- case: add-check
-- expect: ADD_CHECK_WITHOUT_NOT_VALID
-- because: ADD CONSTRAINT ... CHECK scans every row to verify it while holding ACCESS EXCLUSIVE (PG docs, ALTER TABLE, "ADD table_constraint"; Notes)
ALTER TABLE corpus.products ADD CONSTRAINT products_price_nonneg CHECK (price >= 0);

-- case: add-check-not-valid
-- expect: none
-- because: with NOT VALID "the potentially-lengthy initial check to verify that all rows in the table satisfy the constraint is skipped" (PG docs, ALTER TABLE, "ADD table_constraint [ NOT VALID ]")
ALTER TABLE corpus.products ADD CONSTRAINT products_price_nonneg CHECK (price >= 0) NOT VALID;

-- case: validate-constraint
-- expect: none
-- because: VALIDATE CONSTRAINT scans under SHARE UPDATE EXCLUSIVE, which blocks neither reads nor writes (PG docs, ALTER TABLE, "VALIDATE CONSTRAINT")
ALTER TABLE corpus.orders VALIDATE CONSTRAINT orders_shipped_by_not_null;

-- case: not-valid-then-validate-same-transaction
-- expect: NOT_VALID_VALIDATED_IN_SAME_TRANSACTION, ACCESS_EXCLUSIVE_HELD_ACROSS_STATEMENTS
-- because: ADD CONSTRAINT ... CHECK ... NOT VALID takes ACCESS EXCLUSIVE, held to the end of the transaction, so the VALIDATE scans in the same transaction block reads and writes all along (PG docs, ALTER TABLE, "VALIDATE CONSTRAINT"; Explicit Locking)
ALTER TABLE corpus.products ADD CONSTRAINT products_weight_positive CHECK (weight_grams > 0) NOT VALID;
ALTER TABLE corpus.orders ADD CONSTRAINT orders_discount_nonneg CHECK (discount >= 0) NOT VALID;
ALTER TABLE corpus.products VALIDATE CONSTRAINT products_weight_positive;
ALTER TABLE corpus.orders VALIDATE CONSTRAINT orders_discount_nonneg;

-- case: not-valid-then-validate-autocommit
-- expect: none
-- in_transaction: false
-- because: each statement commits on its own, so the brief ACCESS EXCLUSIVE of ADD ... NOT VALID is released before VALIDATE scans under SHARE UPDATE EXCLUSIVE (PG docs, ALTER TABLE, "VALIDATE CONSTRAINT")
ALTER TABLE corpus.products ADD CONSTRAINT products_weight_positive CHECK (weight_grams > 0) NOT VALID;
ALTER TABLE corpus.orders ADD CONSTRAINT orders_discount_nonneg CHECK (discount >= 0) NOT VALID;
ALTER TABLE corpus.products VALIDATE CONSTRAINT products_weight_positive;
ALTER TABLE corpus.orders VALIDATE CONSTRAINT orders_discount_nonneg;

-- case: fk-not-valid-then-validate-consecutive
-- expect: NOT_VALID_VALIDATED_IN_SAME_TRANSACTION, ALTERS_COULD_BE_COMBINED
-- because: in one transaction the SHARE ROW EXCLUSIVE lock ADD FOREIGN KEY ... NOT VALID takes on orders and customers is held through the VALIDATE scan, blocking writes to both as a plain ADD FOREIGN KEY would (PG docs, ALTER TABLE, "VALIDATE CONSTRAINT"; Explicit Locking); two ALTER TABLEs on orders follow each other
ALTER TABLE corpus.orders ADD CONSTRAINT orders_customer_fk FOREIGN KEY (customer_id) REFERENCES corpus.customers (id) NOT VALID;
ALTER TABLE corpus.orders VALIDATE CONSTRAINT orders_customer_fk;

-- case: add-fk-indexed
-- expect: ADD_FOREIGN_KEY_WITHOUT_NOT_VALID
-- because: ADD FOREIGN KEY checks every existing row against customers while holding SHARE ROW EXCLUSIVE on both tables, blocking their writes (PG docs, ALTER TABLE Notes); orders_customer_idx covers customer_id
ALTER TABLE corpus.orders ADD CONSTRAINT orders_customer_fk FOREIGN KEY (customer_id) REFERENCES corpus.customers (id);

-- case: add-fk-not-valid-indexed
-- expect: none
-- because: NOT VALID skips the check of existing rows (new rows are checked at once), and customer_id leads orders_customer_idx (PG docs, ALTER TABLE, "ADD table_constraint [ NOT VALID ]")
ALTER TABLE corpus.orders ADD CONSTRAINT orders_customer_fk FOREIGN KEY (customer_id) REFERENCES corpus.customers (id) NOT VALID;

-- case: add-fk-no-index
-- expect: ADD_FOREIGN_KEY_WITHOUT_NOT_VALID, FOREIGN_KEY_WITHOUT_INDEX
-- because: the ALTER validates every row under SHARE ROW EXCLUSIVE, and product_id leads no index of order_items, so each delete or key update in products scans order_items ("declaration of a foreign key constraint does not automatically create an index on the referencing columns", PG docs, Constraints, "Foreign Keys")
ALTER TABLE corpus.order_items ADD CONSTRAINT order_items_product_fk FOREIGN KEY (product_id) REFERENCES corpus.products (id);

-- case: add-fk-not-valid-no-index
-- expect: FOREIGN_KEY_WITHOUT_INDEX
-- because: NOT VALID avoids the validation scan, but product_id is only the second column of order_items_order_product_idx, which cannot serve the lookups the foreign key needs on deletes and updates in products (PG docs, Constraints, "Foreign Keys"; Multicolumn Indexes)
ALTER TABLE corpus.order_items ADD CONSTRAINT order_items_product_fk FOREIGN KEY (product_id) REFERENCES corpus.products (id) NOT VALID;

-- case: add-fk-not-valid-leading-column
-- expect: none
-- because: order_id is the leading column of order_items_order_product_idx, which serves the foreign key's lookups; NOT VALID skips the scan (PG docs, Multicolumn Indexes; ALTER TABLE)
ALTER TABLE corpus.order_items ADD CONSTRAINT order_items_order_fk FOREIGN KEY (order_id) REFERENCES corpus.orders (id) NOT VALID;

-- case: add-fk-index-created-earlier
-- expect: none
-- in_transaction: false
-- because: the index built CONCURRENTLY earlier in the script leads with product_id, so the foreign key added NOT VALID after it has its index (PG docs, CREATE INDEX; Constraints, "Foreign Keys")
CREATE INDEX CONCURRENTLY order_items_product_idx ON corpus.order_items (product_id);
ALTER TABLE corpus.order_items ADD CONSTRAINT order_items_product_fk FOREIGN KEY (product_id) REFERENCES corpus.products (id) NOT VALID;

-- case: add-fk-index-created-earlier-plainly
-- expect: CREATE_INDEX_NOT_CONCURRENTLY
-- because: the index exists for the foreign key, but building it without CONCURRENTLY holds SHARE on order_items (writes wait) for the whole build (PG docs, CREATE INDEX)
CREATE INDEX order_items_product_idx ON corpus.order_items (product_id);
ALTER TABLE corpus.order_items ADD CONSTRAINT order_items_product_fk FOREIGN KEY (product_id) REFERENCES corpus.products (id) NOT VALID;

-- case: add-unique
-- expect: ADD_UNIQUE_WITHOUT_INDEX
-- because: ADD CONSTRAINT ... UNIQUE builds its index inside the ALTER TABLE, under ACCESS EXCLUSIVE (PG docs, ALTER TABLE, "ADD table_constraint")
ALTER TABLE corpus.customers ADD CONSTRAINT customers_email_key UNIQUE (email);

-- case: add-primary-key
-- expect: ADD_UNIQUE_WITHOUT_INDEX
-- because: ADD PRIMARY KEY builds a unique index under ACCESS EXCLUSIVE; code is already NOT NULL, so nothing else is checked (PG docs, ALTER TABLE)
ALTER TABLE corpus.tags ADD PRIMARY KEY (code);

-- case: add-exclusion-constraint
-- expect: ADD_UNIQUE_WITHOUT_INDEX
-- because: an exclusion constraint builds its GiST index under ACCESS EXCLUSIVE and has no USING INDEX form (PG docs, ALTER TABLE, "ADD table_constraint_using_index": only UNIQUE and PRIMARY KEY)
ALTER TABLE corpus.bookings ADD CONSTRAINT bookings_no_overlap EXCLUDE USING gist (during WITH &&);

-- case: add-unique-using-index
-- expect: none
-- because: ADD CONSTRAINT ... UNIQUE USING INDEX adopts the existing unique index products_sku_uidx: a catalog change, no build and no scan (PG docs, ALTER TABLE, "ADD table_constraint_using_index")
ALTER TABLE corpus.products ADD CONSTRAINT products_sku_key UNIQUE USING INDEX products_sku_uidx;

-- case: add-primary-key-using-index-not-null
-- expect: none
-- because: PRIMARY KEY USING INDEX on tags_code_key, whose column is already NOT NULL, needs no build and no scan (PG docs, ALTER TABLE, "ADD table_constraint_using_index")
ALTER TABLE corpus.tags ADD CONSTRAINT tags_pkey PRIMARY KEY USING INDEX tags_code_key;

-- case: add-primary-key-using-nullable-index
-- expect: PRIMARY_KEY_USING_NULLABLE_INDEX
-- because: "If PRIMARY KEY is specified, and the index's columns are not already marked NOT NULL, then this command will attempt to do ALTER COLUMN SET NOT NULL against each such column", a full scan under ACCESS EXCLUSIVE (PG docs, ALTER TABLE, "ADD table_constraint_using_index")
ALTER TABLE corpus.tags ADD CONSTRAINT tags_pkey PRIMARY KEY USING INDEX tags_label_key;

-- case: add-unique-using-nullable-index
-- expect: none
-- because: a UNIQUE constraint allows NULLs, so adopting tags_label_key as one sets nothing NOT NULL: a catalog change only (PG docs, ALTER TABLE, "ADD table_constraint_using_index")
ALTER TABLE corpus.tags ADD CONSTRAINT tags_label_key UNIQUE USING INDEX tags_label_key;

-- case: unique-recipe-in-script
-- expect: none
-- in_transaction: false
-- because: the unique index is built CONCURRENTLY (writes go on) and then attached with USING INDEX, a catalog change (PG docs, ALTER TABLE, "ADD table_constraint_using_index")
CREATE UNIQUE INDEX CONCURRENTLY customers_email_key ON corpus.customers (email);
ALTER TABLE corpus.customers ADD CONSTRAINT customers_email_key UNIQUE USING INDEX customers_email_key;

-- case: rename-column
-- expect: RENAME_COLUMN
-- because: the rename is instant, but every query and prepared statement still naming the old column fails from the commit on (PG docs, ALTER TABLE, "RENAME")
ALTER TABLE corpus.customers RENAME COLUMN nickname TO display_name;

-- case: rename-column-on-new-table
-- expect: none
-- because: no client uses a table created earlier in the same script yet, so renaming its column breaks nobody
CREATE TABLE corpus.drafts (id integer PRIMARY KEY, titel text);
ALTER TABLE corpus.drafts RENAME COLUMN titel TO title;

-- case: rename-table
-- expect: RENAME_TABLE
-- because: every client still naming corpus.products fails after the rename commits (PG docs, ALTER TABLE, "RENAME")
ALTER TABLE corpus.products RENAME TO catalog_items;

-- case: rename-index
-- expect: none
-- because: ALTER INDEX ... RENAME takes only SHARE UPDATE EXCLUSIVE (PostgreSQL 12+) and queries do not name indexes (PG docs, ALTER INDEX)
ALTER INDEX corpus.orders_status_idx RENAME TO orders_status_btree;

-- case: drop-column
-- expect: DROP_COLUMN
-- because: the column's values are gone at commit and clients still selecting it fail (PG docs, ALTER TABLE, "DROP COLUMN")
ALTER TABLE corpus.customers DROP COLUMN legacy_code;

-- case: drop-column-if-exists
-- expect: DROP_COLUMN
-- because: IF EXISTS only avoids the error for a missing column; an existing one is dropped with its data (PG docs, ALTER TABLE, "DROP COLUMN [ IF EXISTS ]")
ALTER TABLE corpus.customers DROP COLUMN IF EXISTS legacy_code;

-- case: drop-table
-- expect: DROP_TABLE
-- because: DROP TABLE removes the table and its data, under ACCESS EXCLUSIVE (PG docs, DROP TABLE)
DROP TABLE corpus.legacy_notes;

-- case: drop-tables-if-exist
-- expect: DROP_TABLE
-- because: IF EXISTS changes nothing for tables that exist: both are removed with their data (PG docs, DROP TABLE)
DROP TABLE IF EXISTS corpus.legacy_notes, corpus.staging_rows;

-- case: drop-table-created-in-script
-- expect: none
-- because: a scratch table created earlier in the same script holds no data anyone else has seen and no client uses it
CREATE TABLE corpus.scratch AS SELECT id FROM corpus.orders WHERE id <= 10;
DROP TABLE corpus.scratch;

-- case: truncate-table
-- expect: TRUNCATE_TABLE
-- because: TRUNCATE removes all rows at once under ACCESS EXCLUSIVE (PG docs, TRUNCATE)
TRUNCATE corpus.staging_rows;

-- case: truncate-cascade
-- expect: TRUNCATE_CASCADE
-- because: "CASCADE: Automatically truncate all tables that have foreign-key references to any of the named tables" (PG docs, TRUNCATE): tables the statement does not name lose every row
TRUNCATE corpus.customers CASCADE;

-- case: truncate-table-created-in-script
-- expect: none
-- because: emptying a table created earlier in the same script loses nothing anyone else wrote
CREATE TABLE corpus.import_batch (id integer, payload text);
INSERT INTO corpus.import_batch VALUES (1, 'x');
TRUNCATE corpus.import_batch;

-- case: delete-in-batches
-- expect: none
-- because: a bounded DELETE takes ROW EXCLUSIVE, which does not block other readers or writers of other rows (PG docs, Explicit Locking, "ROW EXCLUSIVE")
DELETE FROM corpus.staging_rows WHERE id IN (SELECT id FROM corpus.staging_rows WHERE id <= 100 LIMIT 100);

-- case: drop-database
-- expect: DROP_DATABASE
-- in_transaction: false
-- because: DROP DATABASE removes the catalog entries and the data directory of the database: everything in it is gone, with no undo (PG docs, DROP DATABASE)
DROP DATABASE IF EXISTS corpus_scratch_db;

-- case: rename-schema
-- expect: RENAME_SCHEMA
-- because: every query, search_path and function body naming the old schema fails after the rename (PG docs, ALTER SCHEMA)
ALTER SCHEMA corpus RENAME TO corpus_archive;

-- case: create-schema-and-jsonb-table
-- expect: none
-- because: creating new objects locks no existing table, and jsonb is the recommended JSON type (PG docs, CREATE SCHEMA; JSON Types)
CREATE SCHEMA IF NOT EXISTS corpus_reporting;
CREATE TABLE corpus.daily_totals (day date PRIMARY KEY, totals jsonb NOT NULL DEFAULT '{}');

-- case: create-table-json
-- expect: PREFER_JSONB
-- because: a json column keeps the raw text and re-parses it on every use, with no equality operator or GIN support; jsonb is preferred (PG docs, JSON Types)
CREATE TABLE corpus.webhooks (id bigint PRIMARY KEY, body json NOT NULL);

-- case: rename-enum-value
-- expect: ENUM_VALUE_RENAMED
-- because: after RENAME VALUE every stored row reads the new label at once, and clients, queries and CHECKs still using the old label fail with 22P02 (PG docs, ALTER TYPE, "RENAME VALUE")
ALTER TYPE corpus.order_status RENAME VALUE 'paid' TO 'settled';

-- case: add-enum-value
-- expect: none
-- because: ADD VALUE only adds a label to the catalog; since PostgreSQL 12 it may run in a transaction block (the new value is usable after commit) (PG docs, ALTER TYPE, Notes)
ALTER TYPE corpus.order_status ADD VALUE 'refunded';

-- case: add-enum-value-after
-- expect: none
-- because: IF NOT EXISTS ... AFTER places the label without touching stored rows (PG docs, ALTER TYPE)
ALTER TYPE corpus.order_status ADD VALUE IF NOT EXISTS 'cancelled' AFTER 'paid';

-- case: lock-table-default-mode
-- expect: LOCK_TABLE
-- because: LOCK TABLE without a mode takes ACCESS EXCLUSIVE until the transaction ends, blocking reads and writes (PG docs, LOCK)
LOCK TABLE corpus.orders;

-- case: lock-table-share-mode
-- expect: LOCK_TABLE
-- because: SHARE mode conflicts with ROW EXCLUSIVE, so every insert, update and delete waits until the transaction ends (PG docs, Explicit Locking, table 13.2)
LOCK TABLE corpus.orders IN SHARE MODE;

-- case: lock-table-row-exclusive-mode
-- expect: none
-- because: ROW EXCLUSIVE is what every UPDATE takes anyway; it blocks no reads or writes (PG docs, Explicit Locking)
LOCK TABLE corpus.orders IN ROW EXCLUSIVE MODE;

-- case: lock-table-outside-transaction
-- expect: LOCK_TABLE
-- in_transaction: false
-- because: "LOCK TABLE is useless outside a transaction block": outside one PostgreSQL refuses it, "LOCK TABLE can only be used in transaction blocks" (25P01) (PG docs, LOCK)
LOCK TABLE corpus.orders IN SHARE MODE;

-- case: lock-then-update
-- expect: LOCK_TABLE, ACCESS_EXCLUSIVE_HELD_ACROSS_STATEMENTS
-- because: the ACCESS EXCLUSIVE lock LOCK TABLE takes is held until COMMIT, so the UPDATE runs while nobody can read orders (PG docs, LOCK; Explicit Locking)
LOCK TABLE corpus.orders IN ACCESS EXCLUSIVE MODE;
UPDATE corpus.orders SET status = 'archived' WHERE placed_at < '2024-02-01';

-- case: lock-share-then-update
-- expect: LOCK_TABLE
-- because: SHARE blocks writes for the rest of the transaction, but it is not ACCESS EXCLUSIVE: reads go on during the UPDATE (PG docs, Explicit Locking)
LOCK TABLE corpus.orders IN SHARE MODE;
UPDATE corpus.orders SET status = 'archived' WHERE placed_at < '2024-02-01';

-- case: detach-partition
-- expect: DETACH_PARTITION_NOT_CONCURRENTLY
-- because: DETACH PARTITION without CONCURRENTLY takes ACCESS EXCLUSIVE on the partitioned table, blocking every query on events (PG docs, ALTER TABLE, "DETACH PARTITION")
ALTER TABLE corpus.events DETACH PARTITION corpus.events_2024;

-- case: detach-partition-concurrently
-- expect: none
-- in_transaction: false
-- because: DETACH PARTITION ... CONCURRENTLY takes only SHARE UPDATE EXCLUSIVE on the parent (PostgreSQL 14+; events has no default partition, which CONCURRENTLY would refuse) (PG docs, ALTER TABLE, "DETACH PARTITION")
ALTER TABLE corpus.events DETACH PARTITION corpus.events_2024 CONCURRENTLY;

-- case: detach-partition-concurrently-in-transaction
-- expect: CONCURRENTLY_IN_TRANSACTION
-- because: "ALTER TABLE ... DETACH CONCURRENTLY cannot run inside a transaction block" (25001; PG docs, ALTER TABLE, "DETACH PARTITION")
ALTER TABLE corpus.events DETACH PARTITION corpus.events_2024 CONCURRENTLY;

-- case: add-column-then-backfill-in-transaction
-- expect: ACCESS_EXCLUSIVE_HELD_ACROSS_STATEMENTS
-- because: the ACCESS EXCLUSIVE lock of ADD COLUMN is held until COMMIT, so while the UPDATE runs nobody can read or write customers (PG docs, Explicit Locking: locks are held until the end of the transaction)
ALTER TABLE corpus.customers ADD COLUMN tier text;
UPDATE corpus.customers SET tier = 'basic' WHERE id <= 50;

-- case: add-column-then-backfill-autocommit
-- expect: none
-- in_transaction: false
-- because: the ALTER commits on its own, releasing ACCESS EXCLUSIVE before the UPDATE takes ROW EXCLUSIVE (PG docs, Explicit Locking)
ALTER TABLE corpus.customers ADD COLUMN tier text;
UPDATE corpus.customers SET tier = 'basic' WHERE id <= 50;

-- case: backfill-then-alter-in-transaction
-- expect: none
-- because: the ACCESS EXCLUSIVE statement is the last one, so the lock is held only for its own brief catalog change until COMMIT (PG docs, Explicit Locking)
UPDATE corpus.orders SET note = 'n/a' WHERE id <= 10 AND note IS NULL;
ALTER TABLE corpus.orders ADD COLUMN archived boolean;

-- case: alter-then-select-in-transaction
-- expect: ACCESS_EXCLUSIVE_HELD_ACROSS_STATEMENTS
-- because: after ADD COLUMN the transaction holds ACCESS EXCLUSIVE on products, so every other session's reads wait while the later SELECT runs (PG docs, Explicit Locking)
ALTER TABLE corpus.products ADD COLUMN discontinued boolean;
SELECT count(*) FROM corpus.products;

-- case: new-table-ddl-in-transaction
-- expect: none
-- because: ACCESS EXCLUSIVE on a table created in the same transaction blocks nobody: no other session can see it before COMMIT
CREATE TABLE corpus.coupons (code text PRIMARY KEY, percent integer NOT NULL);
ALTER TABLE corpus.coupons ADD COLUMN expires_at timestamptz;
INSERT INTO corpus.coupons VALUES ('SPRING', 10, now());

-- case: create-index-then-update-in-transaction
-- expect: CREATE_INDEX_NOT_CONCURRENTLY
-- because: the plain build holds SHARE (writes wait) until COMMIT, but SHARE is not ACCESS EXCLUSIVE: reads of orders go on during the UPDATE (PG docs, CREATE INDEX; Explicit Locking)
CREATE INDEX orders_shipped_idx ON corpus.orders (shipped_at);
UPDATE corpus.orders SET status = 'paid' WHERE id <= 10;

-- case: validate-then-update-in-transaction
-- expect: none
-- because: VALIDATE CONSTRAINT takes SHARE UPDATE EXCLUSIVE, which blocks neither reads nor writes while the rest of the transaction runs (PG docs, ALTER TABLE, "VALIDATE CONSTRAINT")
ALTER TABLE corpus.orders VALIDATE CONSTRAINT orders_shipped_by_not_null;
UPDATE corpus.orders SET status = 'paid' WHERE id <= 10;

-- case: truncate-then-reload-in-transaction
-- expect: TRUNCATE_TABLE, ACCESS_EXCLUSIVE_HELD_ACROSS_STATEMENTS
-- because: TRUNCATE's ACCESS EXCLUSIVE lock is held until COMMIT, through the reload (PG docs, TRUNCATE; Explicit Locking)
TRUNCATE corpus.staging_rows;
INSERT INTO corpus.staging_rows SELECT g, 'row ' || g FROM generate_series(1, 10) g;

-- case: drop-table-then-create-in-transaction
-- expect: DROP_TABLE, ACCESS_EXCLUSIVE_HELD_ACROSS_STATEMENTS
-- because: DROP TABLE takes ACCESS EXCLUSIVE, held until COMMIT while the CREATE TABLE runs (PG docs, DROP TABLE; Explicit Locking)
DROP TABLE corpus.legacy_notes;
CREATE TABLE corpus.notes (id integer PRIMARY KEY, body text);

-- case: consecutive-alters-same-table
-- expect: ALTERS_COULD_BE_COMBINED
-- in_transaction: false
-- because: each ALTER TABLE queues for its own ACCESS EXCLUSIVE lock; one ALTER TABLE with both subcommands takes it once (PG docs, ALTER TABLE: all forms acting on one table except RENAME, SET SCHEMA, ATTACH and DETACH PARTITION "can be combined into a list of multiple alterations to be applied together")
ALTER TABLE corpus.customers ADD COLUMN city text;
ALTER TABLE corpus.customers ADD COLUMN zip text;

-- case: consecutive-alters-same-table-in-transaction
-- expect: ALTERS_COULD_BE_COMBINED, ACCESS_EXCLUSIVE_HELD_ACROSS_STATEMENTS
-- because: the two ALTERs could be one, and in one transaction the first one's ACCESS EXCLUSIVE is held through the second (PG docs, ALTER TABLE; Explicit Locking)
ALTER TABLE corpus.customers ADD COLUMN city text;
ALTER TABLE corpus.customers ADD COLUMN zip text;

-- case: three-consecutive-alters
-- expect: ALTERS_COULD_BE_COMBINED
-- in_transaction: false
-- because: three lock acquisitions on customers where one ALTER TABLE with three subcommands would do (PG docs, ALTER TABLE)
ALTER TABLE corpus.customers ADD COLUMN city text;
ALTER TABLE corpus.customers ADD COLUMN zip text;
ALTER TABLE corpus.customers ALTER COLUMN country SET DEFAULT 'FR';

-- case: alters-on-different-tables
-- expect: none
-- in_transaction: false
-- because: ALTERs of different tables cannot be one statement; each takes its own brief lock
ALTER TABLE corpus.customers ADD COLUMN city text;
ALTER TABLE corpus.products ADD COLUMN discontinued boolean;

-- case: alters-same-table-not-consecutive
-- expect: none
-- in_transaction: false
-- because: the ALTERs of customers are not next to each other; nothing is gained by reordering another table's change between them
ALTER TABLE corpus.customers ADD COLUMN city text;
ALTER TABLE corpus.products ADD COLUMN discontinued boolean;
ALTER TABLE corpus.customers ADD COLUMN zip text;

-- case: outside-engine-alter-without-lock-timeout
-- expect: MISSING_LOCK_TIMEOUT
-- options: {"outsideEngine": true}
-- because: without lock_timeout (default 0, wait forever) an ALTER waiting for ACCESS EXCLUSIVE behind a long query makes every later query on the table queue behind it (PG docs, Client Connection Defaults, "lock_timeout"; Explicit Locking)
ALTER TABLE corpus.customers ADD COLUMN referrer text;

-- case: outside-engine-set-lock-timeout
-- expect: none
-- options: {"outsideEngine": true}
-- because: with lock_timeout set first, a lock wait longer than 5 s aborts the statement instead of queueing traffic behind it (PG docs, Client Connection Defaults, "lock_timeout")
SET lock_timeout = '5s';
ALTER TABLE corpus.customers ADD COLUMN referrer text;

-- case: outside-engine-set-local-lock-timeout
-- expect: none
-- options: {"outsideEngine": true}
-- because: SET LOCAL lock_timeout holds for the rest of the transaction, which covers the ALTER after it (PG docs, SET, "LOCAL")
SET LOCAL lock_timeout = '5s';
ALTER TABLE corpus.customers ADD COLUMN referrer text;

-- case: outside-engine-set-lock-timeout-to
-- expect: DROP_INDEX_NOT_CONCURRENTLY
-- options: {"outsideEngine": true}
-- because: SET ... TO is the same SET (PG docs, SET); lock_timeout bounds the wait, but the drop still takes ACCESS EXCLUSIVE on orders (PG docs, DROP INDEX)
SET lock_timeout TO '2s';
DROP INDEX corpus.orders_placed_idx;

-- case: outside-engine-lock-timeout-set-too-late
-- expect: MISSING_LOCK_TIMEOUT
-- in_transaction: false
-- options: {"outsideEngine": true}
-- because: a SET only affects statements after it: the first ALTER still waits for its lock without limit (PG docs, SET)
ALTER TABLE corpus.customers ADD COLUMN referrer text;
SET lock_timeout = '5s';
ALTER TABLE corpus.products ADD COLUMN discontinued boolean;

-- case: outside-engine-statement-timeout-only
-- expect: MISSING_LOCK_TIMEOUT
-- options: {"outsideEngine": true}
-- because: statement_timeout bounds the whole statement, but while it waits for the lock every later query on customers queues behind it; only lock_timeout bounds the wait itself (PG docs, Client Connection Defaults)
SET statement_timeout = '30s';
ALTER TABLE corpus.customers ADD COLUMN referrer text;

-- case: outside-engine-create-index
-- expect: CREATE_INDEX_NOT_CONCURRENTLY, MISSING_LOCK_TIMEOUT
-- options: {"outsideEngine": true}
-- because: the SHARE lock of a plain CREATE INDEX blocks writes during the build, and without lock_timeout its wait for the lock is unbounded too (PG docs, CREATE INDEX; lock_timeout)
CREATE INDEX customers_country_idx ON corpus.customers (country);

-- case: outside-engine-drop-table
-- expect: DROP_TABLE, MISSING_LOCK_TIMEOUT
-- options: {"outsideEngine": true}
-- because: DROP TABLE destroys the data and waits for ACCESS EXCLUSIVE with no lock_timeout (PG docs, DROP TABLE; lock_timeout)
DROP TABLE corpus.legacy_notes;

-- case: outside-engine-truncate
-- expect: TRUNCATE_TABLE, MISSING_LOCK_TIMEOUT
-- options: {"outsideEngine": true}
-- because: TRUNCATE empties the table and waits for ACCESS EXCLUSIVE with no lock_timeout (PG docs, TRUNCATE; lock_timeout)
TRUNCATE corpus.staging_rows;

-- case: outside-engine-lock-table
-- expect: LOCK_TABLE, MISSING_LOCK_TIMEOUT
-- options: {"outsideEngine": true}
-- because: LOCK TABLE ... IN SHARE MODE blocks writes to the end of the transaction, and waits for the lock without limit when lock_timeout is unset (PG docs, LOCK; lock_timeout)
LOCK TABLE corpus.orders IN SHARE MODE;

-- case: outside-engine-create-table-only
-- expect: none
-- options: {"outsideEngine": true}
-- because: creating a table without foreign keys locks no existing table, so there is no lock wait to bound (PG docs, CREATE TABLE)
CREATE TABLE corpus.coupons (code text PRIMARY KEY, percent integer NOT NULL);

-- case: outside-engine-select-only
-- expect: none
-- options: {"outsideEngine": true}
-- because: a SELECT takes ACCESS SHARE, which conflicts only with ACCESS EXCLUSIVE: no lock to bound (PG docs, Explicit Locking)
SELECT count(*) FROM corpus.orders;

-- case: outside-engine-false-is-the-default
-- expect: none
-- options: {"outsideEngine": false}
-- because: inside the engine every step runs with the engine's lock_timeout, so the script need not set one; ADD COLUMN without a default is catalog-only (PG docs, ALTER TABLE Notes)
ALTER TABLE corpus.customers ADD COLUMN referrer text;

-- case: alter-column-set-volatile-default
-- expect: none
-- because: ALTER COLUMN SET DEFAULT only changes what later INSERTs get: "the default ... does not modify any existing rows", so even a volatile default rewrites nothing (PG docs, ALTER TABLE, "SET/DROP DEFAULT")
ALTER TABLE corpus.orders ALTER COLUMN placed_at SET DEFAULT clock_timestamp();

-- case: alter-column-set-statistics
-- expect: none
-- because: SET STATISTICS takes SHARE UPDATE EXCLUSIVE and only affects later ANALYZE runs (PG docs, ALTER TABLE, "SET STATISTICS")
ALTER TABLE corpus.orders ALTER COLUMN status SET STATISTICS 500;

-- case: drop-check-constraint
-- expect: none
-- because: dropping a CHECK constraint is a brief catalog change with no scan, and it loosens no data (PG docs, ALTER TABLE, "DROP CONSTRAINT")
ALTER TABLE corpus.orders DROP CONSTRAINT orders_coupon_code_not_blank;

-- case: comment-on-column
-- expect: none
-- because: COMMENT only writes pg_description (PG docs, COMMENT)
COMMENT ON COLUMN corpus.orders.note IS 'free text from the checkout form';

-- case: create-view
-- expect: none
-- because: CREATE VIEW stores a query; it takes ACCESS SHARE on the tables it reads at most (PG docs, CREATE VIEW)
CREATE VIEW corpus.customer_emails AS SELECT id, email FROM corpus.customers;

-- case: insert-rows
-- expect: none
-- because: INSERT takes ROW EXCLUSIVE, which blocks no reads and no other writes (PG docs, Explicit Locking)
INSERT INTO corpus.legacy_notes (id, body) VALUES (11, 'eleventh note');

-- case: set-unlogged
-- expect: ALTER_TABLE_REWRITES_STORAGE
-- because: SET UNLOGGED rewrites the table into a new relfilenode under ACCESS EXCLUSIVE (tablecmds.c, ATPrepChangePersistence sets AT_REWRITE_ALTER_PERSISTENCE); found by the trial run
ALTER TABLE corpus.customers SET UNLOGGED;

-- case: set-logged-on-a-logged-table
-- expect: none
-- because: SET LOGGED on a table that is already logged is a no-op (tablecmds.c, ATPrepChangePersistence returns early when the persistence already matches)
ALTER TABLE corpus.customers SET LOGGED;

-- case: set-access-method-changes
-- expect: ALTER_TABLE_REWRITES_STORAGE
-- because: SET ACCESS METHOD to another method rewrites the table (PG 15 docs, ALTER TABLE, SET ACCESS METHOD: "rewriting the table"); the heap2 method is a copy of heap created by setup.sql
ALTER TABLE corpus.customers SET ACCESS METHOD heap2;

-- case: set-access-method-same
-- expect: none
-- because: SET ACCESS METHOD of the table's own method changes nothing (tablecmds.c, ATPrepSetAccessMethod: no rewrite when the method is the same)
ALTER TABLE corpus.customers SET ACCESS METHOD heap;
