//! Typed ids: a migration's id, a pipeline run's id and a migration run's id are all
//! UUIDs (and both run ids are called `run_id` in their tables); as types of their own
//! one cannot be passed where another is meant. They live below the catalog (which
//! re-exports them) so that every layer can name them. They bind to and read from SQL as
//! `uuid`, so statements take them as they take a `Uuid`; SQL functions take `Uuid`
//! arguments and wrap them.
use pgrx::{pg_sys, FromDatum, IntoDatum, Uuid};
use std::fmt;

macro_rules! typed_id {
    ($(#[doc = $doc:literal])* $name:ident) => {
        $(#[doc = $doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub struct $name(pub Uuid);

        impl IntoDatum for $name {
            fn into_datum(self) -> Option<pg_sys::Datum> {
                self.0.into_datum()
            }

            fn type_oid() -> pg_sys::Oid {
                Uuid::type_oid()
            }
        }

        impl FromDatum for $name {
            unsafe fn from_polymorphic_datum(
                datum: pg_sys::Datum,
                is_null: bool,
                typoid: pg_sys::Oid,
            ) -> Option<Self> {
                // SAFETY: the caller's guarantee for a uuid datum, passed on unchanged to
                // pgrx's own reading of it
                unsafe { Uuid::from_polymorphic_datum(datum, is_null, typoid) }.map($name)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

typed_id! {
    /// A pipeline run (`pipeline_runs.run_id`, and the run its batches and dead letters
    /// belong to).
    PipelineRunId
}

typed_id! {
    /// A run of a migration's steps: one execution, forward or rollback
    /// (`migration_execution_state.run_id` of those directions, `top_level_runs.run_id`;
    /// the rows of direction 'pipeline' there hold a [`PipelineRunId`], and a canary's
    /// steps its migration's id).
    RunId
}

typed_id! {
    /// A migration (`knowledge_migrations.migration_id`).
    MigrationId
}
