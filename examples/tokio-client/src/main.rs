//! A tokio-postgres client of migration_engine's temporal knowledge graph that follows
//! blue-green switches (docs/BLUE_GREEN.md, "How clients follow the switch").
//!
//! - It reads through the `kg_live` views, which follow the active data schema. There the
//!   current version has `valid_to` NULL (the tables store 'infinity', which no `time` or
//!   `chrono` value can hold) and `is_current` says so: `Option<OffsetDateTime>` decodes it.
//! - Statements that name their columns are prepared once and keep working across switches.
//! - `SELECT *` on `kg_live.<table>` has the view's shape *now*: a switch may append a
//!   column. Run with a query string (tokio-postgres prepares it anew each time) it simply
//!   shows the new column. A prepared `SELECT *` gets 0A000 "cached plan must not change
//!   result type" after such a switch, on every execution until it is prepared again (done
//!   below); or prepare `SELECT *` on a fixed shape, `kg_live.<table>_v1`, `_v2`, ...
//!   (`--versioned` reads them).
//! - It LISTENs on `schema_switched`. tokio-postgres hands notifications to whoever polls
//!   the `Connection` (`poll_message`): a task drives the connection and forwards the
//!   payloads, the new active schema's name, to the reader, which sets its `search_path`
//!   from it, so that unqualified names follow the switch too.
//!
//! Connection: libpq's environment, PGHOST (a Unix socket directory or a host name), PGPORT,
//! PGUSER, PGDATABASE, PGPASSWORD. Output: one JSON event a line on stdout,
//! `{"event": "listening" | "read" | "switched" | "error" | "timeout" | "done" | "fatal", ...}`;
//! it stops K reads after the N-th switch (N = 0: never). Exit status 0 when no read failed.
//! tests/client/tokio_client.sh runs it across a real switch.

use std::env;
use std::future::poll_fn;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use serde_json::{json, Map, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use tokio::sync::mpsc;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::Type;
use tokio_postgres::{AsyncMessage, Client, Column, Config, Error, NoTls, Row, Statement};
use uuid::Uuid;

const USAGE: &str =
    "usage: kg-tokio-client [--type TYPE] [--watch ENTITY_ID] [--switches N] [--reads-after K]
                       [--interval SECONDS] [--timeout SECONDS] [--ready FILE] [--versioned]";

// Statements that name their columns: prepared once, they keep working across switches.
const COUNT_CURRENT: &str = "SELECT count(*) FROM kg_live.temporal_entities \
     WHERE is_current AND NOT is_deleted AND entity_type = $1";
const ENTITY: &str = "SELECT entity_id, entity_type, content, valid_from, valid_to, is_current \
     FROM kg_live.temporal_entities WHERE entity_id = $1 AND is_current";
const HISTORY: &str = "SELECT entity_type, content, valid_from, valid_to, is_deleted, is_current \
     FROM migration_engine.entity_history($1)";
const RELATIONS: &str =
    "SELECT relation_id, relation_type, target_entity_id, properties, valid_to, is_current \
     FROM kg_live.temporal_relations WHERE source_entity_id = $1 AND is_current AND NOT is_deleted";
// Unqualified: resolved through the search_path, which follows schema_switched. The data
// schema's own tables store 'infinity' for the current version: valid_to is not selected.
const COUNT_IN_PATH: &str = "SELECT count(*) FROM temporal_entities \
     WHERE valid_to = 'infinity' AND NOT is_deleted AND entity_type = $1";
// SELECT * on the view, run as a query string: always the view's shape now.
const CURRENT: &str = "SELECT * FROM kg_live.temporal_entities \
     WHERE is_current AND NOT is_deleted AND entity_type = $1 ORDER BY entity_id";

struct Options {
    entity_type: String,
    watch: Option<Uuid>,
    switches: u32,
    reads_after: u32,
    interval: Duration,
    timeout: Duration,
    ready: Option<String>,
    versioned: bool,
}

/// `Err(message)`: a usage error (an empty message: --help).
fn parse_options() -> Result<Options, String> {
    let mut options = Options {
        entity_type: "Person".to_string(),
        watch: None,
        switches: 1,
        reads_after: 3,
        interval: Duration::from_millis(500),
        timeout: Duration::from_secs(120),
        ready: None,
        versioned: false,
    };
    let mut args = env::args().skip(1);
    while let Some(flag) = args.next() {
        match flag.as_str() {
            "--help" | "-h" => return Err(String::new()),
            "--versioned" => {
                options.versioned = true;
                continue;
            }
            _ => {}
        }
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--type" => options.entity_type = value,
            "--watch" => {
                options.watch = Some(value.parse().map_err(|e| format!("--watch {value}: {e}"))?)
            }
            "--switches" => {
                options.switches = value
                    .parse()
                    .map_err(|e| format!("--switches {value}: {e}"))?
            }
            "--reads-after" => {
                options.reads_after = value
                    .parse()
                    .map_err(|e| format!("--reads-after {value}: {e}"))?
            }
            "--interval" => options.interval = seconds(&flag, &value)?,
            "--timeout" => options.timeout = seconds(&flag, &value)?,
            "--ready" => options.ready = Some(value),
            _ => return Err(format!("unknown option {flag}")),
        }
    }
    Ok(options)
}

fn seconds(flag: &str, value: &str) -> Result<Duration, String> {
    value
        .parse::<f64>()
        .ok()
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map(Duration::from_secs_f64)
        .ok_or_else(|| format!("{flag} {value}: not a number of seconds"))
}

/// libpq's environment variables (tokio-postgres does not read them itself).
fn config_from_env() -> Config {
    let mut config = Config::new();
    // a value starting with '/' is a Unix socket directory
    config.host(env::var("PGHOST").unwrap_or_else(|_| "/var/run/postgresql".to_string()));
    config.port(
        env::var("PGPORT")
            .ok()
            .and_then(|p| p.parse().ok())
            .unwrap_or(5432),
    );
    if let Some(user) = ["PGUSER", "USER", "LOGNAME"]
        .iter()
        .find_map(|v| env::var(v).ok())
    {
        config.user(user);
    }
    if let Ok(dbname) = env::var("PGDATABASE") {
        config.dbname(dbname);
    }
    if let Ok(password) = env::var("PGPASSWORD") {
        config.password(password);
    }
    config.application_name("kg-tokio-client");
    config
}

/// Connects, and drives the connection in a task that forwards the payloads of
/// `schema_switched` notifications (they arrive whenever they come, even while idle).
async fn connect(config: &Config) -> Result<(Client, mpsc::UnboundedReceiver<String>), Error> {
    let (client, mut connection) = config.connect(NoTls).await?;
    let (payloads, switches) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Some(message) = poll_fn(|cx| connection.poll_message(cx)).await {
            match message {
                Ok(AsyncMessage::Notification(note)) if note.channel() == "schema_switched" => {
                    if payloads.send(note.payload().to_string()).is_err() {
                        break; // the reader is gone
                    }
                }
                Ok(AsyncMessage::Notice(notice)) => {
                    eprintln!("{}: {}", notice.severity(), notice.message())
                }
                Ok(_) => {}
                Err(e) => {
                    eprintln!("connection error: {e}");
                    break;
                }
            }
        }
        // dropping `payloads` tells the reader that the connection is gone
    });
    Ok((client, switches))
}

/// Unqualified names resolve in `schema`, then public; returns the new search_path.
async fn set_search_path(client: &Client, schema: &str) -> Result<String, Error> {
    let row = client
        .query_one(
            "SELECT set_config('search_path', quote_ident($1) || ', public', false)",
            &[&schema],
        )
        .await?;
    Ok(row.get(0))
}

struct Prepared {
    count_current: Statement,
    entity: Statement,
    history: Statement,
    relations: Statement,
    count_in_path: Statement,
    /// a prepared SELECT * on kg_live.temporal_entities, prepared again when a switch changes its shape
    star: Statement,
    star_prepared_again: u32,
    /// (view, a prepared SELECT * on it) for every fixed shape kg_live.temporal_entities_v<N>
    versioned: Vec<(String, Statement)>,
}

fn select_star(view: &str) -> String {
    format!(
        "SELECT * FROM kg_live.\"{}\" WHERE is_current AND NOT is_deleted AND entity_type = $1 ORDER BY entity_id",
        view.replace('"', "\"\"")
    )
}

impl Prepared {
    async fn new(client: &Client, versioned: bool) -> Result<Prepared, Error> {
        let mut shapes = Vec::new();
        if versioned {
            let views = client
                .query(
                    "SELECT relname::text FROM pg_catalog.pg_class \
                     WHERE relnamespace = 'kg_live'::regnamespace AND relname ~ '^temporal_entities_v[0-9]+$' \
                     ORDER BY length(relname), relname",
                    &[],
                )
                .await?;
            for row in views {
                let view: String = row.get(0);
                let statement = client.prepare(&select_star(&view)).await?;
                shapes.push((view, statement));
            }
        }
        Ok(Prepared {
            count_current: client.prepare(COUNT_CURRENT).await?,
            entity: client.prepare(ENTITY).await?,
            history: client.prepare(HISTORY).await?,
            relations: client.prepare(RELATIONS).await?,
            count_in_path: client.prepare(COUNT_IN_PATH).await?,
            star: client.prepare(&select_star("temporal_entities")).await?,
            star_prepared_again: 0,
            versioned: shapes,
        })
    }
}

fn column_names(columns: &[Column]) -> Vec<String> {
    columns.iter().map(|c| c.name().to_string()).collect()
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_else(|_| t.to_string())
}

/// A row as JSON, whatever its columns (those a switch adds included), with the stock
/// FromSql implementations.
fn row_to_json(row: &Row) -> Value {
    let mut object = Map::new();
    for (i, column) in row.columns().iter().enumerate() {
        object.insert(column.name().to_string(), cell(row, i, column.type_()));
    }
    Value::Object(object)
}

fn cell(row: &Row, i: usize, ty: &Type) -> Value {
    let value = if *ty == Type::BOOL {
        row.try_get::<_, Option<bool>>(i).map(|v| json!(v))
    } else if *ty == Type::INT2 {
        row.try_get::<_, Option<i16>>(i).map(|v| json!(v))
    } else if *ty == Type::INT4 {
        row.try_get::<_, Option<i32>>(i).map(|v| json!(v))
    } else if *ty == Type::INT8 {
        row.try_get::<_, Option<i64>>(i).map(|v| json!(v))
    } else if *ty == Type::FLOAT8 {
        row.try_get::<_, Option<f64>>(i).map(|v| json!(v))
    } else if [Type::TEXT, Type::VARCHAR, Type::BPCHAR, Type::NAME].contains(ty) {
        row.try_get::<_, Option<String>>(i).map(|v| json!(v))
    } else if *ty == Type::JSONB || *ty == Type::JSON {
        row.try_get::<_, Option<Value>>(i)
            .map(|v| v.unwrap_or(Value::Null))
    } else if *ty == Type::UUID {
        row.try_get::<_, Option<Uuid>>(i)
            .map(|v| json!(v.map(|id| id.to_string())))
    } else if *ty == Type::TIMESTAMPTZ {
        row.try_get::<_, Option<OffsetDateTime>>(i)
            .map(|v| json!(v.map(rfc3339)))
    } else {
        return json!(format!("<{}>", ty.name()));
    };
    value.unwrap_or_else(|e| json!({ "decode_error": e.to_string() }))
}

fn error_json(e: &Error) -> Value {
    json!({
        "sqlstate": e.code().map(|c| c.code()),
        "message": e.as_db_error().map(|d| d.message().to_string()).unwrap_or_else(|| e.to_string()),
    })
}

fn emit(event: Value) {
    println!("{event}");
}

/// One round of reads, as a JSON object.
async fn read_graph(client: &Client, st: &mut Prepared, o: &Options) -> Result<Value, Error> {
    let schema: String = client
        .query_one("SELECT current_schema()::text", &[])
        .await?
        .get(0);
    let rows = client.query(CURRENT, &[&o.entity_type]).await?;
    let (mut valid_to_null, mut is_current) = (0, 0);
    for row in &rows {
        if row
            .try_get::<_, Option<OffsetDateTime>>("valid_to")?
            .is_none()
        {
            valid_to_null += 1;
        }
        if row.try_get::<_, bool>("is_current")? {
            is_current += 1;
        }
    }
    let watch = match (o.watch, rows.first()) {
        (Some(id), _) => Some(id),
        (None, Some(first)) => Some(first.try_get::<_, Uuid>("entity_id")?),
        (None, None) => None,
    };
    let count_prepared: i64 = client
        .query_one(&st.count_current, &[&o.entity_type])
        .await?
        .get(0);
    let count_in_path: i64 = client
        .query_one(&st.count_in_path, &[&o.entity_type])
        .await?
        .get(0);
    let (entity, history, relations) = match watch {
        Some(id) => (
            client
                .query_opt(&st.entity, &[&id])
                .await?
                .as_ref()
                .map(row_to_json),
            client
                .query(&st.history, &[&id])
                .await?
                .iter()
                .map(row_to_json)
                .collect::<Vec<Value>>(),
            client.query(&st.relations, &[&id]).await?.len(),
        ),
        None => (None, Vec::new(), 0),
    };

    let first_try = client.query(&st.star, &[&o.entity_type]).await;
    let star_rows = match first_try {
        Ok(rows) => rows,
        Err(e) if e.code() == Some(&SqlState::FEATURE_NOT_SUPPORTED) => {
            // "cached plan must not change result type": a switch changed the view's shape,
            // and the statement fails until it is prepared again
            st.star = client.prepare(&select_star("temporal_entities")).await?;
            st.star_prepared_again += 1;
            client.query(&st.star, &[&o.entity_type]).await?
        }
        Err(e) => return Err(e),
    };

    let mut versioned = Map::new();
    for (view, statement) in &st.versioned {
        let shape = match client.query(statement, &[&o.entity_type]).await {
            Ok(found) => {
                json!({ "columns": column_names(statement.columns()), "rows": found.len() })
            }
            Err(e) => error_json(&e),
        };
        versioned.insert(view.clone(), shape);
    }

    let mut event = json!({
        "schema": schema,
        "current": rows.len(),
        "columns": rows.first().map(|r| column_names(r.columns())).unwrap_or_default(),
        "valid_to_null": valid_to_null,
        "is_current": is_current,
        "sample": rows.first().map(row_to_json),
        "count_prepared": count_prepared,
        "count_in_path": count_in_path,
        "watch": watch.map(|id| id.to_string()),
        "entity": entity,
        "history": history,
        "relations": relations,
        "star_columns": column_names(st.star.columns()),
        "star_rows": star_rows.len(),
        "star_prepared_again": st.star_prepared_again,
    });
    if o.versioned {
        event["versioned"] = Value::Object(versioned);
    }
    Ok(event)
}

async fn run(o: &Options) -> Result<ExitCode, Error> {
    let (client, mut switches) = connect(&config_from_env()).await?;
    // listen first, then read the active schema: a switch in between is not missed
    client.batch_execute("LISTEN schema_switched").await?;
    let schema: String = client
        .query_one("SELECT migration_engine.active_schema()", &[])
        .await?
        .get(0);
    let search_path = set_search_path(&client, &schema).await?;
    let mut st = Prepared::new(&client, o.versioned).await?;
    if o.versioned && st.versioned.is_empty() {
        emit(json!({ "event": "fatal", "message": "no kg_live.temporal_entities_v<N> view" }));
        return Ok(ExitCode::FAILURE);
    }
    let views: Vec<&str> = st.versioned.iter().map(|(view, _)| view.as_str()).collect();
    emit(json!({
        "event": "listening", "channel": "schema_switched", "schema": schema,
        "search_path": search_path, "versioned": views,
    }));
    if let Some(path) = &o.ready {
        if let Err(e) = std::fs::write(path, "") {
            emit(json!({ "event": "fatal", "message": format!("{path}: {e}") }));
            return Ok(ExitCode::FAILURE);
        }
    }

    let deadline = Instant::now() + o.timeout;
    let (mut seen, mut after, mut reads, mut errors) = (0u32, 0u32, 0u32, 0u32);
    while o.switches == 0 || seen < o.switches || after < o.reads_after {
        if Instant::now() > deadline {
            emit(json!({ "event": "timeout", "switches_seen": seen, "reads": reads }));
            return Ok(ExitCode::from(2));
        }
        match read_graph(&client, &mut st, o).await {
            Ok(mut event) => {
                event["event"] = json!("read");
                event["switches_seen"] = json!(seen);
                emit(event);
            }
            Err(e) => {
                errors += 1;
                let mut event = error_json(&e);
                event["event"] = json!("error");
                event["switches_seen"] = json!(seen);
                emit(event);
            }
        }
        reads += 1;
        if o.switches > 0 && seen >= o.switches {
            after += 1;
        }
        match tokio::time::timeout(o.interval, switches.recv()).await {
            Ok(Some(payload)) => {
                seen += 1;
                let search_path = set_search_path(&client, &payload).await?;
                emit(
                    json!({ "event": "switched", "payload": payload, "search_path": search_path }),
                );
            }
            Ok(None) => {
                emit(json!({ "event": "fatal", "message": "the connection is closed" }));
                return Ok(ExitCode::FAILURE);
            }
            Err(_) => {} // no switch within the interval: read again
        }
    }
    emit(json!({ "event": "done", "reads": reads, "errors": errors }));
    Ok(if errors == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let options = match parse_options() {
        Ok(options) => options,
        Err(message) if message.is_empty() => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("{message}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(&options).await {
        Ok(code) => code,
        Err(e) => {
            let mut event = error_json(&e);
            event["event"] = json!("fatal");
            emit(event);
            ExitCode::FAILURE
        }
    }
}
