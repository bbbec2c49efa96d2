//! Why: `ALTER TYPE ... RENAME VALUE` is instant, but every client, stored query,
//! CHECK, default or function body that spells the old label now fails or stops
//! matching (22P02 "invalid input value for enum"). Old application versions still
//! running during a deploy break. Add the new value, migrate the rows, and drop the
//! old one only when no client uses it.

use crate::safety::lock::LockFinding;
use crate::safety::statement::StatementKind;

lock_rule! {
    EnumValueRenamed {
        code: "ENUM_VALUE_RENAMED",
        severity: High,
        category: Compatibility,
        summary: "Renaming an enum value breaks every client and query that still uses the old label.",
        fix: "Add the new value, move rows to it, and retire the old label only once no client writes or reads it.",
        action: "ADD_ENUM_VALUE_INSTEAD",
        bad: "ALTER TYPE order_status RENAME VALUE 'shipped' TO 'dispatched';",
        good: "ALTER TYPE order_status ADD VALUE IF NOT EXISTS 'dispatched';\n-- later, in batches: UPDATE orders SET status = 'dispatched' WHERE status = 'shipped' AND ...",
    }
    check(s) {
        let StatementKind::RenameEnumValue { type_name, value } = &s.kind else {
            return vec![];
        };
        let message = format!("Renaming {type_name} value '{value}' breaks clients and queries that still use '{value}'");
        let recipe = format!("ALTER TYPE {type_name} ADD VALUE '<new>'; move rows from '{value}' in batches; stop using '{value}' in every client before retiring it");
        vec![LockFinding::new(&Self::DOC, s, message, recipe)]
    }
    examples {
        flags: stmt(
            "ALTER TYPE s RENAME VALUE 'a' TO 'b'",
            RenameEnumValue {
                type_name: "s".into(),
                value: "a".into(),
            },
        ) => |f| f[0].message.contains("'a'"),
        passes: stmt("ALTER TYPE s ADD VALUE 'b'", Other { tag: "ALTER TYPE".into() }),
    }
}
