//! `migration_engine.repeated_hashes(bigint)`: the hashes that occur more than once, the
//! most frequent first; a parallel aggregate.
//!
//! The duplicate check hashes every current entity. PostgreSQL 15's `array_agg` cannot
//! run in parallel (its combine function came in 16), so collecting a million hashes
//! with it was one process's scan. Here each parallel worker keeps its own list (in the
//! aggregate's memory context, dropped with it), sends it to the leader as bytes, and the
//! leader sorts once and keeps the repeated values (`core::safety::hash_groups`).
use migration_engine_core::safety::hash_groups;
use pgrx::prelude::*;
use pgrx::{Internal, PgMemoryContexts};

type Hashes = Vec<i64>;

/// A new state holding `hashes`, allocated in the aggregate's memory context (the
/// per-row context a transition function runs in is reset after every row).
///
/// SAFETY: `fcinfo` is the call's own, as pgrx passes it.
unsafe fn new_state(fcinfo: pg_sys::FunctionCallInfo, hashes: Hashes) -> Internal {
    let mut context: pg_sys::MemoryContext = std::ptr::null_mut();
    // SAFETY: AggCheckCallContext only reads fcinfo's context node and writes the out pointer.
    if unsafe { pg_sys::AggCheckCallContext(fcinfo, &mut context) } == 0 || context.is_null() {
        error!("repeated_hashes support functions may be called only by the aggregate");
    }
    let state = PgMemoryContexts::For(context).leak_and_drop_on_delete(hashes);
    Internal::from(Some(pg_sys::Datum::from(state)))
}

/// SAFETY: an initialized state of this aggregate points to a `Hashes` made by new_state.
unsafe fn hashes(state: &mut Internal) -> &mut Hashes {
    // SAFETY: see the function's contract.
    unsafe { state.get_mut::<Hashes>() }.expect("an initialized state")
}

#[pg_extern(immutable, parallel_safe)]
fn repeated_hashes_add(
    state: Internal,
    hash: Option<i64>,
    fcinfo: pg_sys::FunctionCallInfo,
) -> Internal {
    let mut state = if state.initialized() {
        state
    } else {
        // SAFETY: fcinfo is this call's.
        unsafe { new_state(fcinfo, Vec::new()) }
    };
    if let Some(h) = hash {
        // SAFETY: the state is this aggregate's (made above or by an earlier call).
        unsafe { hashes(&mut state) }.push(h);
    }
    state
}

#[pg_extern(immutable, parallel_safe)]
fn repeated_hashes_combine(
    mut into: Internal,
    mut other: Internal,
    fcinfo: pg_sys::FunctionCallInfo,
) -> Internal {
    match (into.initialized(), other.initialized()) {
        (_, false) => into,
        // the second state belongs to the executor: copied, not adopted
        // SAFETY: both states are this aggregate's; fcinfo is this call's.
        (false, true) => unsafe { new_state(fcinfo, hashes(&mut other).clone()) },
        (true, true) => {
            // SAFETY: both states are this aggregate's.
            let more = unsafe { std::mem::take(hashes(&mut other)) };
            unsafe { hashes(&mut into) }.extend(more);
            into
        }
    }
}

#[pg_extern(immutable, parallel_safe, strict)]
fn repeated_hashes_serialize(mut state: Internal) -> Vec<u8> {
    // SAFETY: the state is this aggregate's (the function is strict: never null here).
    hash_groups::to_bytes(unsafe { hashes(&mut state) })
}

#[pg_extern(immutable, parallel_safe, strict)]
fn repeated_hashes_deserialize(
    bytes: &[u8],
    _unused: Internal,
    fcinfo: pg_sys::FunctionCallInfo,
) -> Internal {
    let mut decoded = Vec::with_capacity(bytes.len() / 8);
    if !hash_groups::extend_from_bytes(&mut decoded, bytes) {
        error!(
            "repeated_hashes: a partial state of {} bytes is not a list of hashes",
            bytes.len()
        );
    }
    // SAFETY: fcinfo is this call's.
    unsafe { new_state(fcinfo, decoded) }
}

#[pg_extern(immutable, parallel_safe)]
fn repeated_hashes_final(mut state: Internal) -> Vec<i64> {
    if !state.initialized() {
        return Vec::new();
    }
    // SAFETY: the state is this aggregate's; FINALFUNC_MODIFY = READ_WRITE lets the final
    // function sort it in place.
    hash_groups::repeated_hashes(unsafe { hashes(&mut state) }, usize::MAX)
}

extension_sql!(
    r#"
CREATE AGGREGATE repeated_hashes(bigint) (
    SFUNC = repeated_hashes_add,
    STYPE = internal,
    COMBINEFUNC = repeated_hashes_combine,
    SERIALFUNC = repeated_hashes_serialize,
    DESERIALFUNC = repeated_hashes_deserialize,
    FINALFUNC = repeated_hashes_final,
    FINALFUNC_MODIFY = READ_WRITE,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE repeated_hashes(bigint) IS
    'The values that occur more than once, the most frequent first (ties by value); NULLs are skipped. Parallel: each worker collects its own.';
"#,
    name = "repeated_hashes",
    requires = [
        repeated_hashes_add,
        repeated_hashes_combine,
        repeated_hashes_serialize,
        repeated_hashes_deserialize,
        repeated_hashes_final
    ]
);
