//! ENTITY_REMOVED, ENTITY_ADDED.

use crate::schema::change::{Change, ChangeKind};

schema_rule! {
    Entities("entities")

    check_schema(ctx, out) {
        for e in &ctx.removed_entities {
            out.push(Change::new(
                ChangeKind::EntityRemoved,
                e.name,
                None,
                format!("Entity {} was removed", e.name),
            ));
        }
        for e in &ctx.added_entities {
            out.push(Change::new(
                ChangeKind::EntityAdded,
                e.name,
                None,
                format!("Entity {} was added", e.name),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use crate::schema::change::{ChangeKind, Severity};
    use serde_json::json;

    #[test]
    fn removed_and_added_entities() {
        let old =
            json!({"entities": {"A": {"fields": {"x": {"type": "text"}}}, "B": {"fields": {}}}});
        let new = json!({"entities": {"B": {"fields": {}}, "C": {"fields": {"y": {"type": "text", "nullable": false}}}}});
        let changes = diff(old, new);
        assert_eq!(
            kinds(&changes),
            [ChangeKind::EntityRemoved, ChangeKind::EntityAdded]
        );
        assert_eq!(changes[0].description, "Entity A was removed");
        assert_eq!(changes[0].severity, Severity::High);
        // new readers cannot read stored A entities; old readers never meet one again
        assert!(!changes[0].breaks_readers && changes[0].breaks_writers);
        // old readers meet C entities they do not know
        assert!(changes[1].breaks_readers && !changes[1].breaks_writers);
        // Fields of a new entity are part of ENTITY_ADDED, not reported one by one.
        assert_eq!(
            (changes[1].entity.as_str(), changes[1].severity),
            ("C", Severity::Info)
        );
    }
}
