//! Statements of a migration step, read with PostgreSQL's own parser (`raw_parser`),
//! never with regexes, and turned into the core's `StatementFacts`. Catalog facts the
//! parse tree cannot give (a column's current type, a validated NOT NULL check, a
//! function's volatility) are looked up here.
use crate::errors::MeResult;
use crate::spi::first_value;
use crate::spi::subxact::{atomically, Aborted};
use migration_engine_core::safety::{
    known_volatile_function, AlterCommand, ConstraintKind, StatementFacts, StatementKind,
};
use pgrx::list::PgList;
use pgrx::pg_sys::{self, NodeTag};
use std::ffi::{CStr, CString};

/// Parse `sql` into its statements. `Err` carries the parser's message (a syntax error
/// is never raised to the caller: a rollback script that does not parse is a finding).
pub fn parse_step(
    step: &str,
    sql: &str,
    in_transaction: bool,
) -> Result<Vec<StatementFacts>, String> {
    let c_sql = CString::new(sql).map_err(|_| "the script contains a NUL byte".to_string())?;
    let parsed = atomically(|| -> Result<Vec<(String, StatementKind)>, String> {
        let list =
            // SAFETY: raw_parser only needs a NUL-terminated string (c_sql outlives this closure)
            // and reads no catalog; a syntax ERROR becomes a pgrx panic that `atomically` catches
            // and rolls back.
            unsafe { pg_sys::raw_parser(c_sql.as_ptr(), pg_sys::RawParseMode::RAW_PARSE_DEFAULT) };
        // SAFETY: `list` is raw_parser's result: NIL or a List of RawStmt pointers palloc'd in the
        // caller's context (atomically switched back to it), alive until this closure returns.
        let stmts = unsafe { PgList::<pg_sys::RawStmt>::from_pg(list) };
        let mut out = Vec::new();
        for raw in stmts.iter_ptr() {
            // SAFETY: every cell of raw_parser's list is a non-null RawStmt*, allocated for the
            // rest of this closure and not mutated while this shared reference is alive.
            let raw = unsafe { &*raw };
            let text = statement_text(sql, raw.stmt_location, raw.stmt_len);
            // SAFETY: raw.stmt is the non-null, correctly tagged statement node of a raw_parser
            // RawStmt, live for this closure, as describe requires; ERRORs it raises are caught by
            // `atomically`.
            let kind = unsafe { describe(raw.stmt) }.map_err(|e| e.message)?;
            out.push((text, kind));
        }
        Ok(out)
    });
    match parsed {
        Ok(stmts) => Ok(stmts
            .into_iter()
            .map(|(text, kind)| StatementFacts {
                sql: text,
                step: step.to_string(),
                kind,
                in_transaction,
            })
            .collect()),
        Err(Aborted::Raised(e)) => Err(e.message),
        Err(Aborted::Returned(e)) => Err(e),
    }
}

fn statement_text(sql: &str, location: i32, len: i32) -> String {
    let start = (location.max(0) as usize).min(sql.len());
    let end = if len <= 0 {
        sql.len()
    } else {
        (start + len as usize).min(sql.len())
    };
    sql.get(start..end).unwrap_or(sql).trim().to_string()
}

// SAFETY: callers pass null or a NUL-terminated C string (a parse-tree name field) that stays
// allocated while it is copied here.
unsafe fn cstr(p: *const std::ffi::c_char) -> String {
    if p.is_null() {
        String::new()
    } else {
        CStr::from_ptr(p).to_string_lossy().into_owned()
    }
}

// SAFETY: callers pass null or a RangeVar of a live raw parse tree, whose relname and schemaname
// are null or NUL-terminated strings.
unsafe fn range_var(rv: *mut pg_sys::RangeVar) -> String {
    if rv.is_null() {
        return String::new();
    }
    let rv = &*rv;
    let rel = cstr(rv.relname);
    if rv.schemaname.is_null() {
        rel
    } else {
        format!("{}.{rel}", cstr(rv.schemaname))
    }
}

// SAFETY: callers pass NIL or a live List whose cells are all RangeVar pointers (the relation lists
// of TRUNCATE and LOCK in the raw grammar).
unsafe fn range_vars(list: *mut pg_sys::List) -> Vec<String> {
    PgList::<pg_sys::RangeVar>::from_pg(list)
        .iter_ptr()
        .map(|rv| range_var(rv))
        .collect()
}

/// Names in a `List` of `String` nodes, joined with dots.
// SAFETY: callers pass NIL or a live List whose cells are all String nodes (a qualified name of the
// raw grammar: any_name, TypeName.names), each sval a NUL-terminated string.
unsafe fn dotted(list: *mut pg_sys::List) -> String {
    PgList::<pg_sys::String>::from_pg(list)
        .iter_ptr()
        .map(|s| cstr((*s).sval))
        .collect::<Vec<_>>()
        .join(".")
}

// SAFETY: callers pass NIL or a live List of DefElem (VACUUM / REINDEX options of the raw tree);
// defGetBoolean only reads the DefElem (the *mut cast is never written through) and its ERROR on a
// non-boolean value becomes a pgrx panic, caught by parse_step's `atomically`.
unsafe fn has_option(options: *mut pg_sys::List, name: &str) -> bool {
    PgList::<pg_sys::DefElem>::from_pg(options)
        .iter_ptr()
        .any(|d| {
            let d = &*d;
            cstr(d.defname).eq_ignore_ascii_case(name)
                && (d.arg.is_null() || pg_sys::defGetBoolean(d as *const _ as *mut _))
        })
}

/// # Safety
/// `node` is the live, non-null statement node of a raw parse tree.
unsafe fn tag_of(node: *mut pg_sys::Node) -> String {
    // SAFETY: only describe calls this, with the live non-null statement node it was given;
    // CreateCommandTag accepts raw statement nodes and GetCommandTagName returns a static
    // NUL-terminated name, as cstr needs.
    unsafe { cstr(pg_sys::GetCommandTagName(pg_sys::CreateCommandTag(node))) }
}

// SAFETY: callers pass the non-null statement node of a live raw parse tree (RawStmt.stmt); its
// NodeTag names the struct it is, so each cast below matches the node it reads.
unsafe fn describe(node: *mut pg_sys::Node) -> MeResult<StatementKind> {
    use StatementKind as K;
    Ok(match (*node).type_ {
        NodeTag::T_CreateStmt => K::CreateTable {
            table: range_var((*(node as *mut pg_sys::CreateStmt)).relation),
        },
        NodeTag::T_CreateTableAsStmt => {
            let into = (*(node as *mut pg_sys::CreateTableAsStmt)).into;
            K::CreateTable {
                table: if into.is_null() {
                    String::new()
                } else {
                    range_var((*into).rel)
                },
            }
        }
        NodeTag::T_IndexStmt => {
            let s = &*(node as *mut pg_sys::IndexStmt);
            K::CreateIndex {
                table: range_var(s.relation),
                concurrently: s.concurrent,
                unique: s.unique,
            }
        }
        NodeTag::T_DropStmt => {
            let s = &*(node as *mut pg_sys::DropStmt);
            match s.removeType {
                pg_sys::ObjectType::OBJECT_INDEX => K::DropIndex {
                    concurrently: s.concurrent,
                },
                pg_sys::ObjectType::OBJECT_TABLE => K::DropTable {
                    tables: PgList::<pg_sys::List>::from_pg(s.objects)
                        .iter_ptr()
                        .map(|l| dotted(l))
                        .collect(),
                },
                _ => K::Other { tag: tag_of(node) },
            }
        }
        NodeTag::T_AlterTableStmt => {
            let s = &*(node as *mut pg_sys::AlterTableStmt);
            if s.objtype != pg_sys::ObjectType::OBJECT_TABLE {
                return Ok(K::Other { tag: tag_of(node) });
            }
            let table = range_var(s.relation);
            let mut commands = Vec::new();
            for cmd in PgList::<pg_sys::AlterTableCmd>::from_pg(s.cmds).iter_ptr() {
                alter_command(&table, &*cmd, &mut commands)?;
            }
            K::AlterTable { table, commands }
        }
        NodeTag::T_RenameStmt => {
            let s = &*(node as *mut pg_sys::RenameStmt);
            match s.renameType {
                pg_sys::ObjectType::OBJECT_COLUMN => K::RenameColumn {
                    table: range_var(s.relation),
                    column: cstr(s.subname),
                },
                pg_sys::ObjectType::OBJECT_TABLE => K::RenameTable {
                    table: range_var(s.relation),
                },
                _ => K::Other { tag: tag_of(node) },
            }
        }
        NodeTag::T_TruncateStmt => {
            let s = &*(node as *mut pg_sys::TruncateStmt);
            K::Truncate {
                tables: range_vars(s.relations),
                cascade: s.behavior == pg_sys::DropBehavior::DROP_CASCADE,
            }
        }
        NodeTag::T_VacuumStmt => {
            let s = &*(node as *mut pg_sys::VacuumStmt);
            if !s.is_vacuumcmd {
                return Ok(K::Other {
                    tag: "ANALYZE".into(),
                });
            }
            let table = PgList::<pg_sys::VacuumRelation>::from_pg(s.rels)
                .head()
                .map(|r| range_var((*r).relation));
            K::Vacuum {
                full: has_option(s.options, "full"),
                table,
            }
        }
        NodeTag::T_ClusterStmt => {
            let s = &*(node as *mut pg_sys::ClusterStmt);
            K::Cluster {
                table: (!s.relation.is_null()).then(|| range_var(s.relation)),
            }
        }
        NodeTag::T_ReindexStmt => {
            let s = &*(node as *mut pg_sys::ReindexStmt);
            K::Reindex {
                concurrently: has_option(s.params, "concurrently"),
                table: (s.kind == pg_sys::ReindexObjectType::REINDEX_OBJECT_TABLE
                    && !s.relation.is_null())
                .then(|| range_var(s.relation)),
            }
        }
        NodeTag::T_LockStmt => {
            let s = &*(node as *mut pg_sys::LockStmt);
            K::LockTable {
                tables: range_vars(s.relations),
                mode: lock_mode_name(s.mode),
            }
        }
        NodeTag::T_TransactionStmt => K::TransactionControl,
        NodeTag::T_UpdateStmt => {
            let s = &*(node as *mut pg_sys::UpdateStmt);
            let columns = PgList::<pg_sys::ResTarget>::from_pg(s.targetList)
                .iter_ptr()
                .map(|t| cstr((*t).name))
                .collect();
            K::Update {
                table: range_var(s.relation),
                columns,
            }
        }
        NodeTag::T_InsertStmt => K::Insert {
            table: range_var((*(node as *mut pg_sys::InsertStmt)).relation),
        },
        _ => K::Other { tag: tag_of(node) },
    })
}

fn lock_mode_name(mode: i32) -> String {
    match mode {
        1 => "ACCESS SHARE",
        2 => "ROW SHARE",
        3 => "ROW EXCLUSIVE",
        4 => "SHARE UPDATE EXCLUSIVE",
        5 => "SHARE",
        6 => "SHARE ROW EXCLUSIVE",
        7 => "EXCLUSIVE",
        _ => "ACCESS EXCLUSIVE",
    }
    .to_string()
}

// SAFETY: no precondition beyond a valid reference: only the plain enum field `contype` is read.
unsafe fn constraint_kind(c: &pg_sys::Constraint) -> Option<ConstraintKind> {
    use pg_sys::ConstrType::*;
    match c.contype {
        CONSTR_FOREIGN => Some(ConstraintKind::ForeignKey),
        CONSTR_CHECK => Some(ConstraintKind::Check),
        CONSTR_UNIQUE => Some(ConstraintKind::Unique),
        CONSTR_PRIMARY => Some(ConstraintKind::PrimaryKey),
        CONSTR_EXCLUSION => Some(ConstraintKind::Exclusion),
        _ => None,
    }
}

// SAFETY: callers pass a Constraint of a live raw parse tree, whose conname is null or a
// NUL-terminated string (read by cstr).
unsafe fn add_constraint(c: &pg_sys::Constraint, out: &mut Vec<AlterCommand>) {
    if let Some(kind) = constraint_kind(c) {
        out.push(AlterCommand::AddConstraint {
            name: (!c.conname.is_null()).then(|| cstr(c.conname)),
            kind,
            not_valid: c.skip_validation,
            using_index: !c.indexname.is_null(),
        });
    }
}

// SAFETY: callers pass an AlterTableCmd of a live raw ALTER TABLE tree: the grammar puts a
// ColumnDef in `def` for ADD COLUMN / ALTER COLUMN TYPE and a Constraint for ADD CONSTRAINT, as the
// casts assume; ColumnDef.constraints holds only Constraints (SplitColQualList).
unsafe fn alter_command(
    table: &str,
    cmd: &pg_sys::AlterTableCmd,
    out: &mut Vec<AlterCommand>,
) -> MeResult<()> {
    use pg_sys::AlterTableType as At;
    let column = cstr(cmd.name);
    match cmd.subtype {
        At::AT_AddColumn => {
            let def = &*(cmd.def as *mut pg_sys::ColumnDef);
            let type_name = type_name_text(def.typeName);
            let mut has_default = !def.raw_default.is_null();
            let mut volatile =
                def.generated != 0 || def.identity != 0 || type_name.contains("serial");
            let mut not_null = def.is_not_null;
            let mut inline = Vec::new();
            for c in PgList::<pg_sys::Constraint>::from_pg(def.constraints).iter_ptr() {
                let c = &*c;
                match c.contype {
                    pg_sys::ConstrType::CONSTR_DEFAULT => {
                        has_default = true;
                        volatile |= expression_is_volatile(c.raw_expr)?;
                    }
                    pg_sys::ConstrType::CONSTR_IDENTITY | pg_sys::ConstrType::CONSTR_GENERATED => {
                        has_default = true;
                        volatile = true;
                    }
                    pg_sys::ConstrType::CONSTR_NOTNULL => not_null = true,
                    _ => add_constraint(c, &mut inline),
                }
            }
            if !def.raw_default.is_null() {
                volatile |= expression_is_volatile(def.raw_default)?;
            }
            has_default |= volatile;
            out.push(AlterCommand::AddColumn {
                column: cstr(def.colname),
                has_default,
                volatile_default: volatile,
                not_null,
            });
            out.extend(inline);
        }
        At::AT_DropColumn => out.push(AlterCommand::DropColumn { column }),
        At::AT_AlterColumnType => {
            let def = &*(cmd.def as *mut pg_sys::ColumnDef);
            out.push(AlterCommand::AlterColumnType {
                old_type: current_column_type(table, &column)?,
                new_type: type_name_text(def.typeName),
                has_using: !def.raw_default.is_null(),
                column,
            });
        }
        At::AT_SetNotNull => out.push(AlterCommand::SetNotNull {
            validated_check_exists: validated_not_null_check(table, &column)?,
            column,
        }),
        At::AT_AddConstraint => add_constraint(&*(cmd.def as *mut pg_sys::Constraint), out),
        At::AT_ValidateConstraint => out.push(AlterCommand::ValidateConstraint),
        other => out.push(AlterCommand::Other {
            what: format!("ALTER TABLE subcommand {other}"),
        }),
    }
    Ok(())
}

/// The type as written, with modifiers when they are plain constants: "varchar(100)".
// SAFETY: callers pass null or a TypeName of a live raw tree: `names` is a List of String nodes,
// `typmods` a List of nodes read as A_Const only when tagged so; A_Const's val union always starts
// with the NodeTag of the member it holds (zeroed, T_Invalid, for NULL).
unsafe fn type_name_text(tn: *mut pg_sys::TypeName) -> String {
    if tn.is_null() {
        return String::new();
    }
    let tn = &*tn;
    let mut name = dotted(tn.names);
    if let Some(stripped) = name.strip_prefix("pg_catalog.") {
        name = stripped.to_string();
    }
    let mods: Vec<String> = PgList::<pg_sys::Node>::from_pg(tn.typmods)
        .iter_ptr()
        .filter_map(|n| {
            if (*n).type_ == NodeTag::T_A_Const {
                let c = &*(n as *mut pg_sys::A_Const);
                (c.val.ival.type_ == NodeTag::T_Integer).then(|| c.val.ival.ival.to_string())
            } else {
                None
            }
        })
        .collect();
    if !mods.is_empty() {
        name = format!("{name}({})", mods.join(","));
    }
    if !tn.arrayBounds.is_null() {
        name.push_str("[]");
    }
    name
}

/// Whether a raw (unanalysed) default expression calls a VOLATILE function: the
/// function names are read from the node's text form and looked up in pg_proc.
// SAFETY: callers pass null or a live raw expression node; nodeToString only reads it (an unknown
// node kind is a WARNING) and returns a palloc'd NUL-terminated string for cstr.
unsafe fn expression_is_volatile(expr: *mut pg_sys::Node) -> MeResult<bool> {
    if expr.is_null() {
        return Ok(false);
    }
    let text = cstr(pg_sys::nodeToString(expr as *const _));
    let mut names = Vec::new();
    let mut rest = text.as_str();
    while let Some(i) = rest.find(":funcname (") {
        rest = &rest[i + ":funcname (".len()..];
        let end = rest.find(')').unwrap_or(rest.len());
        let parts: Vec<&str> = rest[..end]
            .split_whitespace()
            .map(|p| p.trim_matches('"'))
            .collect();
        if let Some(last) = parts.last() {
            names.push(last.to_string());
        }
    }
    if names.is_empty() {
        return Ok(text.contains("NEXTVAL") || text.contains("nextval"));
    }
    let catalog = first_value::<bool>(
        "SELECT bool_or(provolatile = 'v') FROM pg_catalog.pg_proc WHERE proname = ANY ($1)",
        &[names.clone().into()],
    )?;
    Ok(catalog.unwrap_or_else(|| names.iter().any(|n| known_volatile_function(n))))
}

fn current_column_type(table: &str, column: &str) -> MeResult<Option<String>> {
    first_value::<String>(
        "SELECT pg_catalog.format_type(a.atttypid, a.atttypmod) FROM pg_catalog.pg_attribute a \
         WHERE a.attrelid = pg_catalog.to_regclass($1) AND a.attname = $2 AND NOT a.attisdropped",
        &[table.into(), column.into()],
    )
}

fn validated_not_null_check(table: &str, column: &str) -> MeResult<bool> {
    Ok(first_value::<bool>(
        "SELECT true FROM pg_catalog.pg_constraint c \
         WHERE c.conrelid = pg_catalog.to_regclass($1) AND c.contype = 'c' AND c.convalidated \
           AND pg_catalog.pg_get_constraintdef(c.oid) ~* ('^CHECK \\(\\(?' || pg_catalog.quote_ident($2) || ' IS NOT NULL\\)?\\)$') LIMIT 1",
        &[table.into(), column.into()],
    )?
    .unwrap_or(false))
}
