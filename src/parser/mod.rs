//! Statements of a migration step, read with PostgreSQL's own parser (`raw_parser`),
//! never with regexes, and turned into the core's `StatementFacts`. Catalog facts the
//! parse tree cannot give (a column's current type, a validated NOT NULL check, a
//! function's volatility) are looked up here.
use crate::errors::MeResult;
mod catalog;

use crate::spi::subxact::{atomically, Aborted};
use migration_engine_core::safety::{
    known_volatile_function, AlterCommand, ConstraintKind, StatementFacts, StatementKind,
    TransactionOp,
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
    names(list).join(".")
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
        NodeTag::T_CreateStmt => {
            let s = &*(node as *mut pg_sys::CreateStmt);
            K::CreateTable {
                table: range_var(s.relation),
                json_columns: json_columns(s.tableElts),
            }
        }
        NodeTag::T_CreateTableAsStmt => {
            let into = (*(node as *mut pg_sys::CreateTableAsStmt)).into;
            K::CreateTable {
                table: if into.is_null() {
                    String::new()
                } else {
                    range_var((*into).rel)
                },
                json_columns: Vec::new(),
            }
        }
        NodeTag::T_IndexStmt => {
            let s = &*(node as *mut pg_sys::IndexStmt);
            let table = range_var(s.relation);
            K::CreateIndex {
                partitioned: catalog::is_partitioned(&table)?,
                only: !s.relation.is_null() && !(*s.relation).inh,
                columns: index_columns(s.indexParams),
                table,
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
                pg_sys::ObjectType::OBJECT_SCHEMA => K::RenameSchema {
                    schema: cstr(s.subname),
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
            use pg_sys::ReindexObjectType as R;
            K::Reindex {
                concurrently: has_option(s.params, "concurrently"),
                table: (s.kind == R::REINDEX_OBJECT_TABLE && !s.relation.is_null())
                    .then(|| range_var(s.relation)),
                target: match s.kind {
                    R::REINDEX_OBJECT_INDEX => "INDEX",
                    R::REINDEX_OBJECT_TABLE => "TABLE",
                    R::REINDEX_OBJECT_SCHEMA => "SCHEMA",
                    R::REINDEX_OBJECT_SYSTEM => "SYSTEM",
                    _ => "DATABASE",
                }
                .into(),
            }
        }
        NodeTag::T_LockStmt => {
            let s = &*(node as *mut pg_sys::LockStmt);
            K::LockTable {
                tables: range_vars(s.relations),
                mode: lock_mode_name(s.mode),
            }
        }
        NodeTag::T_TransactionStmt => {
            use pg_sys::TransactionStmtKind as T;
            K::TransactionControl {
                op: match (*(node as *mut pg_sys::TransactionStmt)).kind {
                    T::TRANS_STMT_BEGIN | T::TRANS_STMT_START => TransactionOp::Begin,
                    T::TRANS_STMT_SAVEPOINT | T::TRANS_STMT_RELEASE | T::TRANS_STMT_ROLLBACK_TO => {
                        TransactionOp::Savepoint
                    }
                    _ => TransactionOp::End,
                },
            }
        }
        NodeTag::T_CreateFunctionStmt => {
            let s = &*(node as *mut pg_sys::CreateFunctionStmt);
            let volatility = PgList::<pg_sys::DefElem>::from_pg(s.options)
                .iter_ptr()
                .find(|d| cstr((**d).defname) == "volatility")
                .map(|d| string_value((*d).arg));
            K::CreateFunction {
                name: dotted(s.funcname),
                volatile: !matches!(volatility.as_deref(), Some("immutable" | "stable")),
            }
        }
        NodeTag::T_AlterEnumStmt => {
            let s = &*(node as *mut pg_sys::AlterEnumStmt);
            if s.oldVal.is_null() {
                K::Other { tag: tag_of(node) }
            } else {
                K::RenameEnumValue {
                    type_name: dotted(s.typeName),
                    value: cstr(s.oldVal),
                }
            }
        }
        NodeTag::T_DropdbStmt => K::DropDatabase {
            database: cstr((*(node as *mut pg_sys::DropdbStmt)).dbname),
        },
        NodeTag::T_VariableSetStmt => K::SetVariable {
            name: cstr((*(node as *mut pg_sys::VariableSetStmt)).name).to_ascii_lowercase(),
        },
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

// SAFETY: callers pass a Constraint of a live raw parse tree of an ALTER TABLE on `table` (or
// an inline constraint of a column `column` it adds): conname and indexname are null or
// NUL-terminated strings, fk_attrs and keys NIL or Lists of String nodes, raw_expr null or a live
// raw expression.
unsafe fn add_constraint(
    table: &str,
    column: Option<&str>,
    c: &pg_sys::Constraint,
    out: &mut Vec<AlterCommand>,
) -> MeResult<()> {
    let Some(kind) = constraint_kind(c) else {
        return Ok(());
    };
    let listed = if kind == ConstraintKind::ForeignKey {
        names(c.fk_attrs)
    } else {
        names(c.keys)
    };
    let columns = match (listed.is_empty(), column) {
        (true, Some(column)) => vec![column.to_string()],
        _ => listed,
    };
    let using_index = !c.indexname.is_null();
    out.push(AlterCommand::AddConstraint {
        name: (!c.conname.is_null()).then(|| cstr(c.conname)),
        // a column added by this statement has no index yet
        columns_indexed: kind == ConstraintKind::ForeignKey
            && column.is_none()
            && catalog::has_index_starting_with(table, &columns)?,
        nullable_columns: if kind == ConstraintKind::PrimaryKey && using_index {
            catalog::nullable_index_columns(table, &cstr(c.indexname))?
        } else {
            Vec::new()
        },
        proves_not_null: if kind == ConstraintKind::Check {
            not_null_test_column(c.raw_expr)
        } else {
            None
        },
        columns,
        kind,
        not_valid: c.skip_validation,
        using_index,
    });
    Ok(())
}

/// The column of `col IS NOT NULL`, when that is the whole expression.
// SAFETY: callers pass null or a live raw expression node; a NullTest's arg is a live node and a
// ColumnRef's fields a List of String (or A_Star) nodes.
unsafe fn not_null_test_column(expr: *mut pg_sys::Node) -> Option<String> {
    if expr.is_null() || (*expr).type_ != NodeTag::T_NullTest {
        return None;
    }
    let test = &*(expr as *mut pg_sys::NullTest);
    let arg = test.arg as *mut pg_sys::Node;
    if test.nulltesttype != pg_sys::NullTestType::IS_NOT_NULL
        || arg.is_null()
        || (*arg).type_ != NodeTag::T_ColumnRef
    {
        return None;
    }
    let fields = PgList::<pg_sys::Node>::from_pg((*(arg as *mut pg_sys::ColumnRef)).fields);
    let last = fields.iter_ptr().last()?;
    ((*last).type_ == NodeTag::T_String).then(|| cstr((*(last as *mut pg_sys::String)).sval))
}

/// The names of a List of String nodes (a column list of the grammar).
// SAFETY: callers pass NIL or a live List whose cells are all String nodes.
unsafe fn names(list: *mut pg_sys::List) -> Vec<String> {
    PgList::<pg_sys::String>::from_pg(list)
        .iter_ptr()
        .map(|s| cstr((*s).sval))
        .collect()
}

/// A DefElem argument's text, lower case: a String node's value, else "".
// SAFETY: callers pass null or a live DefElem arg node of the raw grammar.
unsafe fn string_value(arg: *mut pg_sys::Node) -> String {
    if !arg.is_null() && (*arg).type_ == NodeTag::T_String {
        cstr((*(arg as *mut pg_sys::String)).sval).to_ascii_lowercase()
    } else {
        String::new()
    }
}

/// Key columns of CREATE INDEX (IndexElem.name; an expression key is "").
// SAFETY: callers pass NIL or the live indexParams List of an IndexStmt (IndexElem nodes).
unsafe fn index_columns(params: *mut pg_sys::List) -> Vec<String> {
    PgList::<pg_sys::IndexElem>::from_pg(params)
        .iter_ptr()
        .map(|e| cstr((*e).name))
        .collect()
}

/// Columns of a CREATE TABLE declared with type json.
// SAFETY: callers pass NIL or the live tableElts List of a CreateStmt (ColumnDef and Constraint
// nodes, told apart by their tag).
unsafe fn json_columns(elements: *mut pg_sys::List) -> Vec<String> {
    PgList::<pg_sys::Node>::from_pg(elements)
        .iter_ptr()
        .filter(|n| (**n).type_ == NodeTag::T_ColumnDef)
        .map(|n| &*(n as *mut pg_sys::ColumnDef))
        .filter(|d| is_json(&type_name_text(d.typeName)))
        .map(|d| cstr(d.colname))
        .collect()
}

fn is_json(type_name: &str) -> bool {
    type_name == "json" || type_name == "json[]"
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
            let new_column = cstr(def.colname);
            let mut has_default = !def.raw_default.is_null();
            let mut volatile =
                def.generated != 0 || def.identity != 0 || type_name.contains("serial");
            let mut not_null = def.is_not_null;
            let mut inline = Vec::new();
            let mut default_exprs = vec![def.raw_default];
            for c in PgList::<pg_sys::Constraint>::from_pg(def.constraints).iter_ptr() {
                let c = &*c;
                match c.contype {
                    pg_sys::ConstrType::CONSTR_DEFAULT => {
                        has_default = true;
                        default_exprs.push(c.raw_expr);
                    }
                    pg_sys::ConstrType::CONSTR_IDENTITY | pg_sys::ConstrType::CONSTR_GENERATED => {
                        has_default = true;
                        volatile = true;
                    }
                    pg_sys::ConstrType::CONSTR_NOTNULL => not_null = true,
                    _ => add_constraint(table, Some(&new_column), c, &mut inline)?,
                }
            }
            let mut unknown_calls = Vec::new();
            for expr in default_exprs {
                let calls = expression_calls(expr)?;
                volatile |= calls.volatile;
                unknown_calls.extend(calls.unknown);
            }
            has_default |= volatile;
            out.push(AlterCommand::AddColumn {
                column: new_column,
                has_default,
                volatile_default: volatile,
                not_null,
                json: is_json(&type_name),
                domain_check: catalog::domain_has_check(&type_name)?,
                default_calls: unknown_calls,
            });
            out.extend(inline);
        }
        At::AT_DropColumn => out.push(AlterCommand::DropColumn { column }),
        At::AT_AlterColumnType => {
            let def = &*(cmd.def as *mut pg_sys::ColumnDef);
            let new_type = type_name_text(def.typeName);
            out.push(AlterCommand::AlterColumnType {
                old_type: catalog::column_type(table, &column)?,
                binary_coercible: catalog::binary_coercible(table, &column, &new_type)?,
                revalidates: catalog::revalidated_by_type_change(table, &column, &new_type)?,
                json: is_json(&new_type),
                domain_check: catalog::domain_has_check(&new_type)?,
                new_type,
                has_using: !def.raw_default.is_null(),
                column,
            });
        }
        At::AT_SetNotNull => out.push(AlterCommand::SetNotNull {
            validated_check_exists: catalog::validated_not_null_check(table, &column)?,
            column,
        }),
        At::AT_DropNotNull => out.push(AlterCommand::DropNotNull { column }),
        At::AT_DetachPartition => {
            let def = &*(cmd.def as *mut pg_sys::PartitionCmd);
            out.push(AlterCommand::DetachPartition {
                partition: range_var(def.name),
                concurrently: def.concurrent,
                has_default_partition: catalog::has_default_partition(table)?,
            });
        }
        At::AT_AddConstraint => {
            add_constraint(table, None, &*(cmd.def as *mut pg_sys::Constraint), out)?
        }
        At::AT_ValidateConstraint => out.push(AlterCommand::ValidateConstraint {
            proves_not_null: catalog::not_null_check_column(table, &column)?,
            name: column,
        }),
        At::AT_SetLogged | At::AT_SetUnLogged | At::AT_SetAccessMethod | At::AT_SetTableSpace => {
            let storage = catalog::table_storage(table)?;
            let (what, changes) = match cmd.subtype {
                At::AT_SetLogged => (
                    "SET LOGGED".to_owned(),
                    storage.is_none_or(|(p, _)| p != "p"),
                ),
                At::AT_SetUnLogged => (
                    "SET UNLOGGED".to_owned(),
                    storage.is_none_or(|(p, _)| p != "u"),
                ),
                // SET ACCESS METHOD of the table's own method is a no-op
                At::AT_SetAccessMethod => (
                    format!("SET ACCESS METHOD {column}"),
                    storage.is_none_or(|(_, m)| m != column),
                ),
                _ => (format!("SET TABLESPACE {column}"), true),
            };
            out.push(if changes {
                AlterCommand::MovesStorage { what }
            } else {
                AlterCommand::Other { what }
            });
        }
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
    // interval's grammar puts a field mask before the precision (INTERVAL_FULL_RANGE,
    // 32767, when no fields are named): keep the precision; a field restriction is
    // named so that no rule takes it for a plain interval
    let mods = match (name.as_str(), mods.as_slice()) {
        ("interval", [full]) if full == "32767" => Vec::new(),
        ("interval", [full, precision]) if full == "32767" => vec![precision.clone()],
        ("interval", [_, ..]) => {
            name = "interval_with_fields".into();
            Vec::new()
        }
        _ => mods,
    };
    if !mods.is_empty() {
        name = format!("{name}({})", mods.join(","));
    }
    if !tn.arrayBounds.is_null() {
        name.push_str("[]");
    }
    name
}

/// The functions a raw (unanalysed) default expression calls, judged by the catalog.
struct Calls {
    /// One of them is VOLATILE in `pg_proc` (or is a well-known volatile one).
    volatile: bool,
    /// Names `pg_proc` does not know (yet): the script pass judges them by a CREATE
    /// FUNCTION earlier in the script, and takes them as volatile otherwise (as squawk
    /// and strong_migrations do).
    unknown: Vec<String>,
}

/// The function names are read from the node's text form and looked up in pg_proc.
// SAFETY: callers pass null or a live raw expression node; nodeToString only reads it (an unknown
// node kind is a WARNING) and returns a palloc'd NUL-terminated string for cstr.
unsafe fn expression_calls(expr: *mut pg_sys::Node) -> MeResult<Calls> {
    let mut calls = Calls {
        volatile: false,
        unknown: Vec::new(),
    };
    if expr.is_null() {
        return Ok(calls);
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
        calls.volatile = text.contains("NEXTVAL") || text.contains("nextval");
        return Ok(calls);
    }
    calls.volatile = names.iter().any(|n| known_volatile_function(n));
    for name in names {
        match catalog::function_is_volatile(&name)? {
            Some(volatile) => calls.volatile |= volatile,
            None => calls.unknown.push(name),
        }
    }
    Ok(calls)
}
