-- The state every case of cases.sql is linted against (never changed by a case: the
-- cases are linted, not run). Idempotent: run it again to start over. Every table has
-- rows, so that rules about existing rows apply; names are qualified, so the session's
-- search_path does not matter.
DROP SCHEMA IF EXISTS corpus CASCADE;
CREATE SCHEMA corpus;
-- a second table access method (heap's own handler under another name), database-wide
DO $$ BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_am WHERE amname = 'heap2') THEN
        CREATE ACCESS METHOD heap2 TYPE TABLE HANDLER heap_tableam_handler;
    END IF;
END $$;

-- types: an enum, a domain with a CHECK, a domain without one
CREATE TYPE corpus.order_status AS ENUM ('new', 'paid', 'shipped');
CREATE DOMAIN corpus.positive_int AS integer CHECK (VALUE > 0);
CREATE DOMAIN corpus.label_text AS text;

-- functions of each volatility (names unique to the corpus, since a default's
-- functions are looked up by name)
CREATE FUNCTION corpus.corpus_random_code() RETURNS text
    LANGUAGE sql VOLATILE AS $$ SELECT md5(random()::text) $$;
CREATE FUNCTION corpus.corpus_region_setting() RETURNS text
    LANGUAGE sql STABLE AS $$ SELECT coalesce(current_setting('corpus.region', true), 'eu') $$;
CREATE FUNCTION corpus.corpus_default_score() RETURNS integer
    LANGUAGE sql IMMUTABLE AS $$ SELECT 42 $$;

CREATE SEQUENCE corpus.invoice_seq;

CREATE TABLE corpus.customers (
    id             integer PRIMARY KEY,
    name           text NOT NULL,
    email          text,
    nickname       varchar(20),
    handle         varchar(30),
    legacy_code    char(8),
    country        text,
    score          numeric(8,2),
    created_at     timestamp(3) NOT NULL DEFAULT now(),
    session_length interval(0),
    opens_at       time(0),
    flags          varbit(8),
    allowed_net    cidr,
    phone          text,
    profile        text
);
INSERT INTO corpus.customers (id, name, email, nickname, handle, legacy_code, country, score,
                              session_length, opens_at, flags, allowed_net, phone, profile)
SELECT g, 'customer ' || g, CASE WHEN g % 10 <> 0 THEN 'c' || g || '@example.org' END,
       'nick' || g, 'handle' || g, lpad(g::text, 8, '0'), 'FR', g % 100,
       make_interval(mins => g), time '08:00', B'1010', '10.0.0.0/8', '+33 1 00 00 ' || g, '{"tier": "basic"}'
FROM generate_series(1, 200) g;
-- an expression index: changing the column's type rebuilds it even without a rewrite
CREATE INDEX customers_handle_lower_idx ON corpus.customers (lower(handle));
-- a NOT VALID CHECK (phone IS NOT NULL), to be validated by a case
ALTER TABLE corpus.customers ADD CONSTRAINT customers_phone_not_null CHECK (phone IS NOT NULL) NOT VALID;

CREATE TABLE corpus.orders (
    id          integer PRIMARY KEY,
    customer_id integer NOT NULL,
    status      varchar(20) NOT NULL DEFAULT 'new',
    total       numeric(10,2) NOT NULL CONSTRAINT orders_total_nonneg CHECK (total >= 0),
    note        varchar(200),
    channel     text,
    shipped_by  text,
    coupon_code varchar(12) CONSTRAINT orders_coupon_code_not_blank CHECK (coupon_code <> ''),
    discount    integer,
    placed_at   timestamp NOT NULL,
    shipped_at  timestamp,
    state       corpus.order_status NOT NULL DEFAULT 'new'
);
INSERT INTO corpus.orders (id, customer_id, status, total, note, channel, shipped_by, coupon_code,
                           discount, placed_at, shipped_at)
SELECT g, 1 + g % 200, 'new', g % 500, 'order ' || g, 'web', 'carrier',
       CASE WHEN g % 7 = 0 THEN 'SPRING' END, 1 + g % 20, timestamp '2024-01-01' + g * interval '1 hour', NULL
FROM generate_series(1, 2000) g;
CREATE INDEX orders_customer_idx ON corpus.orders (customer_id);
CREATE INDEX orders_status_idx ON corpus.orders (status);
CREATE INDEX orders_placed_idx ON corpus.orders (placed_at);
-- a validated CHECK (channel IS NOT NULL): SET NOT NULL on channel needs no scan
ALTER TABLE corpus.orders ADD CONSTRAINT orders_channel_not_null CHECK (channel IS NOT NULL);
-- the same for shipped_by, but NOT VALID (not validated): it proves nothing yet,
-- though every row satisfies it (so a case's VALIDATE would succeed)
ALTER TABLE corpus.orders ADD CONSTRAINT orders_shipped_by_not_null CHECK (shipped_by IS NOT NULL) NOT VALID;

CREATE TABLE corpus.products (
    id           integer PRIMARY KEY,
    sku          varchar(32) NOT NULL,
    name         text NOT NULL,
    price        numeric(10,2),
    weight_grams integer,
    description  text
);
INSERT INTO corpus.products SELECT g, 'SKU-' || g, 'product ' || g, g, 100 + g, NULL
FROM generate_series(1, 300) g;
-- a unique index that is not (yet) a constraint
CREATE UNIQUE INDEX products_sku_uidx ON corpus.products (sku);

-- indexed on (order_id, product_id): order_id leads an index, product_id leads none
CREATE TABLE corpus.order_items (
    order_id   integer NOT NULL,
    product_id integer NOT NULL,
    qty        integer NOT NULL,
    unit_price numeric(10,2) NOT NULL
);
INSERT INTO corpus.order_items SELECT 1 + g % 2000, 1 + g % 300, 1 + g % 5, 9.99
FROM generate_series(1, 5000) g;
CREATE INDEX order_items_order_product_idx ON corpus.order_items (order_id, product_id);

-- no primary key yet; unique indexes on a NOT NULL column and on a nullable one
CREATE TABLE corpus.tags (
    code  text NOT NULL,
    label text
);
INSERT INTO corpus.tags SELECT 'tag' || g, 'Tag ' || g FROM generate_series(1, 50) g;
CREATE UNIQUE INDEX tags_code_key ON corpus.tags (code);
CREATE UNIQUE INDEX tags_label_key ON corpus.tags (label);

CREATE TABLE corpus.bookings (
    id     integer PRIMARY KEY,
    room   integer NOT NULL,
    during tsrange NOT NULL
);
INSERT INTO corpus.bookings
SELECT g, 1 + g % 10, tsrange(timestamp '2024-01-01' + g * interval '1 hour',
                              timestamp '2024-01-01' + (g + 1) * interval '1 hour')
FROM generate_series(1, 100) g;

CREATE TABLE corpus.staging_rows (id integer, payload text);
INSERT INTO corpus.staging_rows SELECT g, 'row ' || g FROM generate_series(1, 500) g;

CREATE TABLE corpus.legacy_notes (id integer PRIMARY KEY, body text);
INSERT INTO corpus.legacy_notes SELECT g, 'note ' || g FROM generate_series(1, 10) g;

-- a partitioned table with two partitions (no default partition, so DETACH
-- CONCURRENTLY is possible)
CREATE TABLE corpus.events (
    id          bigint NOT NULL,
    occurred_at timestamptz NOT NULL,
    kind        text NOT NULL,
    detail      jsonb
) PARTITION BY RANGE (occurred_at);
CREATE TABLE corpus.events_2024 PARTITION OF corpus.events
    FOR VALUES FROM ('2024-01-01 00:00:00+00') TO ('2025-01-01 00:00:00+00');
CREATE TABLE corpus.events_2025 PARTITION OF corpus.events
    FOR VALUES FROM ('2025-01-01 00:00:00+00') TO ('2026-01-01 00:00:00+00');
INSERT INTO corpus.events
SELECT g, timestamptz '2024-06-01 00:00:00+00' + g * interval '10 hours', 'kind' || g % 5, '{}'
FROM generate_series(1, 1000) g;

ANALYZE corpus.customers, corpus.orders, corpus.products, corpus.order_items, corpus.tags,
        corpus.bookings, corpus.staging_rows, corpus.legacy_notes, corpus.events;
