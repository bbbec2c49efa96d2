//! Dynamic background workers that log in as the caller (the canary's, the top-level
//! runner's, the autonomous write's): never as the bootstrap superuser, because what they
//! run is the caller's (a migration's steps, a deploy's record) and must have the caller's
//! rights and nobody else's. A session acting as another role than it logged in as (SET
//! ROLE) gets no worker: the worker could only log in as the login role, and taking the
//! current role inside the worker did not hold (see canary/worker.rs).
//!
//! The worker learns its database, its role and its payload from the 128-byte extra
//! field: `<database oid>\u{1}<role oid>\u{1}<payload>`.
use pgrx::bgworkers::{
    BackgroundWorker, BackgroundWorkerBuilder, BgWorkerStartTime, DynamicBackgroundWorker,
};
use pgrx::pg_sys;
use pgrx::Uuid;
use std::time::{Duration, Instant};

/// What to start: the worker's name, its pg_stat_activity backend_type (None: its
/// name), the library function it runs, a payload for it, and its main argument.
pub struct CallerWorker<'a> {
    pub name: &'a str,
    pub backend_type: Option<&'a str>,
    pub function: &'a str,
    pub payload: &'a str,
    pub argument: Option<pg_sys::Datum>,
}

/// Why no worker was started.
#[derive(Debug)]
pub enum NotStarted {
    /// The session acts as another role than it logged in as.
    ActingAsAnotherRole,
    /// PostgreSQL could not start it (no free max_worker_processes slot, or it died).
    Failed(String),
}

/// Start `w` logged in as the caller, notifying this backend of its state changes.
pub fn start_as_caller(w: &CallerWorker) -> Result<DynamicBackgroundWorker, NotStarted> {
    // SAFETY: both only read this backend's user globals, set by InitPostgres before any SQL
    // function can run; called on the backend's main thread.
    let (login, role) = unsafe { (pg_sys::GetSessionUserId(), pg_sys::GetUserId()) };
    if login != role {
        return Err(NotStarted::ActingAsAnotherRole);
    }
    // SAFETY: MyDatabaseId is set once by InitPostgres and never changed; read on the main thread.
    let db = unsafe { pg_sys::MyDatabaseId };
    let extra = format!(
        "{}\u{1}{}\u{1}{}",
        u32::from(db),
        u32::from(role),
        w.payload
    );
    let mut builder = BackgroundWorkerBuilder::new(w.name)
        .set_library("migration_engine")
        .set_function(w.function)
        .set_extra(&extra)
        .set_argument(w.argument)
        .enable_spi_access()
        .set_start_time(BgWorkerStartTime::RecoveryFinished)
        .set_restart_time(None)
        // SAFETY: MyProcPid is set at process start and never changed; read on the main thread.
        .set_notify_pid(unsafe { pg_sys::MyProcPid });
    if let Some(t) = w.backend_type {
        builder = builder.set_type(t);
    }
    builder
        .load_dynamic()
        .map_err(|e| NotStarted::Failed(format!("{e:?}")))
}

/// In the worker: connect to the caller's database as the caller, and return the
/// payload; None when the extra field is not one this module wrote.
pub fn connect_as_caller() -> Option<String> {
    let extra = BackgroundWorker::get_extra().to_string();
    let mut parts = extra.splitn(3, '\u{1}');
    let oid = |s: Option<&str>| s?.parse::<u32>().ok().map(pg_sys::Oid::from);
    let (db, role) = (oid(parts.next())?, oid(parts.next())?);
    let payload = parts.next()?.to_string();
    BackgroundWorker::connect_worker_to_spi_by_oid(Some(db), Some(role));
    Some(payload)
}

/// What a ticking worker does next.
pub enum Tick {
    /// What it works on is not visible yet (the transaction that started it has not
    /// committed): look again soon, for `grace` at most.
    NotYet,
    /// Tick again after this many milliseconds.
    Wait(u64),
    /// The work is over: the worker ends.
    Done,
}

/// The life of a worker that ticks on one row (a canary, a cluster migration): each tick
/// is a transaction of its own, and a subtransaction in it: a tick that fails is rolled
/// back, logged as "`what` `id`: error" and tried again a second later, so an error never
/// kills the worker in the middle of its work. SIGTERM, the postmaster's death,
/// `Tick::Done`, or the row still invisible after `grace` end it. Called after
/// `connect_as_caller`, with the signal handlers attached.
pub fn tick_until_done(
    id: Uuid,
    grace: Duration,
    what: &str,
    tick: fn(Uuid) -> crate::errors::MeResult<Tick>,
) {
    // the extension's pinned path for the worker's session, as its SQL functions have it:
    // the worker runs its starter's statements, and no name may resolve elsewhere
    BackgroundWorker::transaction(|| {
        let _ = pgrx::Spi::run(
            "SELECT pg_catalog.set_config('search_path', 'migration_engine, pg_catalog, pg_temp', false)",
        );
    });
    let started = Instant::now();
    loop {
        if BackgroundWorker::sigterm_received() {
            break;
        }
        let next =
            BackgroundWorker::transaction(|| match super::subxact::atomically(|| tick(id)) {
                Ok(t) => t,
                Err(super::subxact::Aborted::Returned(e)) => {
                    pgrx::warning!("{what} {id}: {}", e.message);
                    Tick::Wait(1000)
                }
                Err(super::subxact::Aborted::Raised(e)) => {
                    pgrx::warning!("{what} {id}: {}", e.message);
                    Tick::Wait(1000)
                }
            });
        let wait = match next {
            Tick::Done => break,
            Tick::NotYet if started.elapsed() > grace => break,
            Tick::NotYet => 200,
            Tick::Wait(ms) => ms,
        };
        if !BackgroundWorker::wait_latch(Some(Duration::from_millis(wait))) {
            break;
        }
    }
}

/// How long a ticking worker waits for its row to become visible (the start committing).
pub const START_GRACE: Duration = Duration::from_secs(60);

/// Start a ticking worker (`function`, shown as `name`) for row `id`, logged in as the
/// caller; its pid, or None when no worker slot is free or the session acts as another
/// role than it logged in as.
pub fn start_ticking(name: &str, function: &str, id: Uuid) -> Option<i32> {
    let worker = start_as_caller(&CallerWorker {
        name,
        backend_type: None,
        function,
        payload: &id.to_string(),
        argument: None,
    })
    .ok()?;
    worker.wait_for_startup().ok()
}

/// The body of a ticking worker's entry point: signals, the caller's login, the row's id
/// from the payload, then `tick_until_done`.
pub fn run_ticking(what: &str, tick: fn(Uuid) -> crate::errors::MeResult<Tick>) {
    BackgroundWorker::attach_signal_handlers(
        pgrx::bgworkers::SignalWakeFlags::SIGHUP | pgrx::bgworkers::SignalWakeFlags::SIGTERM,
    );
    let Some(payload) = connect_as_caller() else {
        return;
    };
    let Ok(id) = uuid::Uuid::parse_str(&payload) else {
        return;
    };
    tick_until_done(Uuid::from_bytes(*id.as_bytes()), START_GRACE, what, tick);
}
