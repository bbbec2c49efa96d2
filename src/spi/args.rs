//! Required arguments. A function with an optional argument cannot be STRICT, and pgrx
//! then reports a NULL in any other argument as XX000 ("argument 0 must not be null").
//! Such arguments are declared `Option<T>` and unwrapped here, so a NULL is refused
//! with 22004 and the argument's name. Functions whose arguments are all required and
//! that only read stay STRICT (NULL in, NULL out), as SQL's own functions do.
use crate::errors::{null_refusal, MeError, MeResult};
use crate::spi::jsonb_arg::JsonArg;
use pgrx::datum::TimestampWithTimeZone;
use pgrx::{JsonB, PgSqlErrorCode, Uuid};

/// `value` as the function body uses it, or the refusal of a NULL for the argument
/// `name`.
pub fn required<T: ArgValue>(value: Option<T>, name: &str) -> MeResult<T::Value> {
    value.map(ArgValue::value).ok_or_else(|| null_refusal(name))
}

/// What a body works with once an argument is known not to be NULL: the decoded jsonb
/// for a `JsonArg`, the argument itself for the rest.
pub trait ArgValue {
    type Value;
    fn value(self) -> Self::Value;
}

impl ArgValue for JsonArg {
    type Value = JsonB;
    fn value(self) -> JsonB {
        self.0
    }
}

macro_rules! plain_arg_values {
    ($($t:ty),+) => { $( impl ArgValue for $t { type Value = $t; fn value(self) -> $t { self } } )+ };
}
plain_arg_values!(
    String,
    Uuid,
    i32,
    i64,
    f64,
    bool,
    Vec<String>,
    TimestampWithTimeZone
);

impl<'a> ArgValue for &'a str {
    type Value = &'a str;
    fn value(self) -> &'a str {
        self
    }
}

/// `required!(a, b)` rebinds each named `Option` argument to its value or returns the
/// NULL refusal naming it: the argument's SQL name is its Rust name.
#[macro_export]
macro_rules! required {
    ($($arg:ident),+ $(,)?) => {
        $( let $arg = $crate::spi::args::required($arg, stringify!($arg))?; )+
    };
}

/// Refuses the first key of an options object that `known` does not list (see
/// `migration_engine_core::keys`), with the known ones and the likely typo.
pub fn refuse_unknown_options(
    obj: &serde_json::Map<String, serde_json::Value>,
    known: &[&str],
) -> MeResult<()> {
    match migration_engine_core::keys::first_unknown(obj, known) {
        None => Ok(()),
        Some(key) => Err(MeError::invalid_parameter(
            migration_engine_core::keys::unknown_option_message(key, known),
        )
        .hint("Option names are camelCase, as in the docs (for example dryRun, not dry_run); nothing was changed.")),
    }
}

/// `options` as an object whose keys are all in `known`.
pub fn options_object<'v>(
    options: &'v serde_json::Value,
    known: &[&str],
) -> MeResult<&'v serde_json::Map<String, serde_json::Value>> {
    let obj = options.as_object().ok_or_else(|| {
        MeError::invalid_parameter("options must be a JSON object")
            .hint("Pass an object such as '{}'::jsonb.")
    })?;
    refuse_unknown_options(obj, known)?;
    Ok(obj)
}

/// Refuses to start `what` (a procedure that commits as it goes) inside a transaction
/// block: Postgres would refuse its first COMMIT with a bare 2D000 after work was done.
/// The same test Postgres makes (a CALL is atomic inside BEGIN ... COMMIT).
pub fn refuse_transaction_block(what: &str, instead: &str) -> MeResult<()> {
    // SAFETY: IsTransactionBlock only reads this backend's CurrentTransactionState, which is
    // always valid in a backend; called on the main thread from a SQL-callable function.
    if unsafe { pgrx::pg_sys::IsTransactionBlock() } {
        return Err(MeError::new(
            PgSqlErrorCode::ERRCODE_ACTIVE_SQL_TRANSACTION,
            format!("{what} commits after every step and cannot run inside a transaction block"),
        )
        .hint(format!(
            "Run it outside BEGIN ... COMMIT (psql without --single-transaction; a sqitch deploy script without BEGIN/COMMIT; Flyway with executeInTransaction=false), or use {instead}, which runs in the caller's transaction."
        )));
    }
    Ok(())
}
