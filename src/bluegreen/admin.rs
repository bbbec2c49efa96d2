//! The switch on its own, the switch back, and dropping an inactive data schema.
use super::back::SwitchBack;
use super::capture::{discard, set_capture_all};
use super::copy::{self};
use super::switch::{switch, CatchUpPhase};
use super::{
    claim_exclusive, require_data_schema, require_read_committed, schema_exists, PgResult,
};
use crate::errors::{MeError, MeResult};
use crate::spi::jsonb_arg::JsonArg;
use crate::spi::{audit, data_schema, first_value, quietly, quoted_ident};
use crate::timing::elapsed_ms;
use migration_engine_core::engine::state::MigrationStatus;
use migration_engine_core::rollout::blue_green::BlueGreenOptions;
use migration_engine_core::rollout::switch_back::{BackReplay, SwitchBackOptions};
use pgrx::prelude::*;
use pgrx::JsonB;
use serde_json::{json, Value};
use std::time::Instant;

/// The atomic switch on its own: make `new_schema` the active data schema. When it is
/// the previous schema (a switch back), the writes made since the last switch are
/// replayed into it first.
#[pg_extern(volatile)]
#[search_path(migration_engine, pg_catalog, pg_temp)]
fn switch_active_schema(
    new_schema: Option<&str>,
    options: default!(Option<JsonArg>, "'{}'::jsonb"),
) -> PgResult<JsonB> {
    crate::required!(new_schema, options);
    let o = BlueGreenOptions::parse(&options.0).map_err(MeError::invalid_parameter)?;
    Ok(JsonB(quietly(|| switch_to(new_schema, &o, false))?))
}

/// Back to the previous data schema (the rollback of a blue-green migration), with the
/// writes made since the switch replayed into it, through the migration's rollback
/// TRANSFORM steps (see back.rs).
#[pg_extern(volatile)]
#[search_path(migration_engine, pg_catalog, pg_temp)]
fn switch_back(options: default!(Option<JsonArg>, "'{}'::jsonb")) -> PgResult<JsonB> {
    crate::required!(options);
    // the options are checked before the state, so a typo is reported as such
    let o = SwitchBackOptions::parse(&options.0).map_err(MeError::invalid_parameter)?;
    let previous = crate::catalog::previous_schema()?;
    let Some(previous) = previous else {
        return Err(MeError::prerequisite("there is no previous schema to switch back to")
            .hint("switch_back() undoes a blue-green migration or a schema switch; none has happened.")
            .into());
    };
    if !schema_exists(&previous)? {
        return Err(MeError::prerequisite(format!(
            "the previous schema {previous:?} no longer exists"
        ))
        .hint("It was dropped with drop_inactive_schema(); a switch back is no longer possible.")
        .into());
    }
    // the blue-green migration that built the schema being left is undone by this
    // switch: it is marked ROLLED_BACK, so rollback_migration does not run its steps
    // against the old schema and a re-deploy may run it again
    let undone = crate::catalog::completed_migration_of_active_schema()?;
    let mut result = quietly(|| switch_to(&previous, &o.switch, o.untransformed))?;
    if let Some(name) = undone {
        let row = crate::catalog::load(&name, true)?;
        crate::catalog::set_status(
            &row,
            MigrationStatus::RolledBack,
            "switch_back",
            None,
            json!({"previous_schema": previous}),
        )?;
        result["rolled_back_migration"] = json!(name);
    }
    Ok(JsonB(result))
}

/// `untransformed`: a switch back brings new-format writes back as they are (see back.rs).
fn switch_to(new_schema: &str, o: &BlueGreenOptions, untransformed: bool) -> MeResult<Value> {
    let clock = Instant::now();
    require_data_schema(new_schema)?;
    require_read_committed()?;
    let current = data_schema()?;
    if new_schema == current {
        return Err(MeError::invalid_parameter(format!(
            "{new_schema:?} is already the active data schema"
        )));
    }
    claim_exclusive()?;
    let previous = crate::catalog::previous_schema()?;
    // writes since the last switch are replayed only into the schema they came from
    let replays = previous.as_deref() == Some(new_schema);
    if !replays {
        discard(&current)?;
    }
    let mut back = if replays {
        Some(SwitchBack::new(&current, new_schema, o, untransformed)?)
    } else {
        None
    };
    let switched = switch(
        &current,
        new_schema,
        None,
        o,
        |phase: CatchUpPhase| match &mut back {
            Some(back) => back.catch_up(phase),
            None => Ok(0),
        },
    )?;
    let how = back.and_then(|b| b.how);
    let warning = if !replays {
        json!("writes made to the old schema since the new one was built are not replayed: switch only to a schema you keep in sync")
    } else if how == Some(BackReplay::UntransformedOnRequest) {
        json!("entity writes came back as they are, in the format of the migration's TRANSFORM steps (untransformed: true)")
    } else {
        Value::Null
    };
    Ok(json!({
        "success": true,
        "previous_schema": current,
        "new_schema": new_schema,
        "switched_at": switched["switched_at"],
        "replayed": replays,
        "replayed_rows": switched["replayed_before_freeze"].as_i64().unwrap_or(0)
            + switched["replayed_during_freeze"].as_i64().unwrap_or(0),
        "replayed_before_freeze": switched["replayed_before_freeze"],
        "replayed_during_freeze": switched["replayed_during_freeze"],
        "transformed_back": how == Some(BackReplay::Transformed),
        "write_freeze_ms": switched["write_freeze_ms"],
        "total_ms": elapsed_ms(clock),
        "freeze_attempts": switched["freeze_attempts"],
        "warning": warning,
    }))
}

/// Drop a data schema that is not active (the old side of a blue-green migration).
#[pg_extern(volatile)]
#[search_path(migration_engine, pg_catalog, pg_temp)]
fn drop_inactive_schema(name: Option<&str>) -> PgResult<JsonB> {
    crate::required!(name);
    Ok(JsonB(quietly(|| drop_schema(name))?))
}

fn drop_schema(name: &str) -> MeResult<Value> {
    require_data_schema(name)?;
    let current = data_schema()?;
    if name == current {
        return Err(MeError::new(
            PgSqlErrorCode::ERRCODE_OBJECT_IN_USE,
            format!("{name:?} is the active data schema and cannot be dropped"),
        )
        .hint("Switch to another schema first."));
    }
    claim_exclusive()?;
    let o = BlueGreenOptions::default();
    let was_previous = crate::catalog::previous_schema()?.as_deref() == Some(name);
    let mut closed_window = 0;
    if was_previous {
        // the switch-back window closes: stop logging writes to the active schema
        closed_window = discard(&current)?;
        set_capture_all(&current, "gated", &o)?;
        crate::catalog::close_switch_back_window()?;
    }
    discard(name)?;
    // objects the extension created (kg itself) are released from it before the drop
    copy::run_generated(
        "SELECT format('ALTER EXTENSION migration_engine DROP %s %s', \
                CASE c.relkind WHEN 'r' THEN 'TABLE' WHEN 'v' THEN 'VIEW' WHEN 'S' THEN 'SEQUENCE' END, \
                format('%I.%I', n.nspname, c.relname)) \
         FROM pg_catalog.pg_depend d JOIN pg_catalog.pg_class c ON c.oid = d.objid AND d.classid = 'pg_class'::regclass \
         JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
         WHERE d.deptype = 'e' AND n.nspname = $1 AND c.relkind IN ('r', 'v', 'S') \
         UNION ALL \
         SELECT format('ALTER EXTENSION migration_engine DROP SCHEMA %I', n.nspname) \
         FROM pg_catalog.pg_depend d JOIN pg_catalog.pg_namespace n ON n.oid = d.objid AND d.classid = 'pg_namespace'::regclass \
         WHERE d.deptype = 'e' AND n.nspname = $1",
        &[name.into()],
    )?;
    // a schema that was active was adopted by the extension's owner (see
    // adopt_active_schema): its owner's helper drops it for migration_admin
    let ours = first_value::<bool>(
        "SELECT pg_catalog.pg_has_role(nspowner, 'USAGE') FROM pg_catalog.pg_namespace WHERE nspname = $1",
        &[name.into()],
    )?
    .unwrap_or(true);
    if ours {
        Spi::run(&format!(
            "DROP SCHEMA {} CASCADE",
            quoted_ident("schema", name)?
        ))?;
    } else {
        Spi::run_with_args(
            "SELECT migration_engine.drop_adopted_schema($1)",
            &[name.into()],
        )?;
    }
    audit(
        "schema_dropped",
        "schema",
        name,
        json!({"was_previous": was_previous, "switch_back_changes_discarded": closed_window}),
    )?;
    Ok(
        json!({"success": true, "dropped": name, "switch_back_possible": false, "was_previous": was_previous}),
    )
}
