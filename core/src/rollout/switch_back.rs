//! Switching back to the schema a blue-green migration left: the writes made in the new
//! schema since the switch are replayed into the old one, and they must arrive in the
//! old schema's format. A migration whose TRANSFORM steps changed the entities' format
//! says how to turn them back with TRANSFORM steps in its `rollback`; those run on every
//! entity the switch back brings over. Without them, new-format writes would land in the
//! old schema unchanged, so the switch back is refused unless the caller asks for that.
use super::blue_green::{BlueGreenOptions, BLUE_GREEN_OPTION_KEYS};
use serde_json::{Map, Value};

/// `switch_back`'s options: the switch's own, and `untransformed`.
#[derive(Debug, Clone, PartialEq)]
pub struct SwitchBackOptions {
    pub switch: BlueGreenOptions,
    /// Bring the writes back as they are although the migration transformed entities and
    /// declares no rollback transformation (the caller takes the format mismatch).
    pub untransformed: bool,
}

const UNTRANSFORMED: &str = "untransformed";

impl SwitchBackOptions {
    /// Every key the switch takes, plus `untransformed`; unknown keys are refused.
    pub fn parse(v: &Value) -> Result<Self, String> {
        let obj = v.as_object().ok_or("options must be a JSON object")?;
        let known: Vec<&str> = BLUE_GREEN_OPTION_KEYS
            .iter()
            .copied()
            .chain([UNTRANSFORMED])
            .collect();
        if let Some(unknown) = crate::keys::first_unknown(obj, &known) {
            return Err(crate::keys::unknown_option_message(unknown, &known));
        }
        let untransformed = match obj.get(UNTRANSFORMED) {
            None => false,
            Some(flag) => flag.as_bool().ok_or_else(|| {
                format!("options.{UNTRANSFORMED} must be true or false, not {flag}")
            })?,
        };
        let rest: Map<String, Value> = obj
            .iter()
            .filter(|(k, _)| k.as_str() != UNTRANSFORMED)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        Ok(SwitchBackOptions {
            switch: BlueGreenOptions::parse(&Value::Object(rest))?,
            untransformed,
        })
    }
}

/// What the migration that built the schema being left says about its entities' format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Formats {
    /// TRANSFORM steps among its forward steps (the new schema's entities are rewritten)
    pub forward_transforms: usize,
    /// TRANSFORM steps among its rollback steps (how to turn them back)
    pub rollback_transforms: usize,
}

/// How the writes come back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackReplay {
    /// As they are: nothing changed their format (or nothing waits).
    AsTheyAre,
    /// Through the migration's rollback TRANSFORM steps.
    Transformed,
    /// As they are, because the caller said so, although their format may be the new one.
    UntransformedOnRequest,
}

/// Why a switch back is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub message: String,
    pub hint: String,
}

/// The decision for a switch back of `migration` (None: no migration built the schema
/// being left, e.g. a plain switch), with writes to `entity_writes` entities waiting.
pub fn plan_back_replay(
    migration: Option<&str>,
    formats: Formats,
    entity_writes: i64,
    untransformed: bool,
) -> Result<BackReplay, Refusal> {
    if formats.rollback_transforms > 0 && !untransformed {
        return Ok(BackReplay::Transformed);
    }
    if formats.forward_transforms == 0 || entity_writes == 0 {
        return Ok(BackReplay::AsTheyAre);
    }
    if untransformed {
        return Ok(BackReplay::UntransformedOnRequest);
    }
    let name = migration.unwrap_or("the migration");
    Err(Refusal {
        message: format!(
            "the writes to {entity_writes} {} made since the switch would come back in the format of {name:?}'s \
             TRANSFORM steps, and it declares no rollback TRANSFORM step to turn them back",
            if entity_writes == 1 { "entity" } else { "entities" }
        ),
        hint: format!(
            "Give {name:?} a TRANSFORM step in its rollback (the inverse mapping; it runs on every entity the \
             switch back brings over), or call switch_back('{{\"untransformed\": true}}') to bring them back as they are."
        ),
    })
}

/// Switching forward again, to the schema a migration built and a switch back left: the
/// writes made since in the old schema would arrive there in the old format, since the
/// migration's TRANSFORM steps (`forward_transforms` of them) do not run on them. Refused
/// when any entity was written; the migration is to be run again instead.
pub fn plan_forward_replay(
    migration: &str,
    target: &str,
    forward_transforms: usize,
    entity_writes: i64,
) -> Result<(), Refusal> {
    if forward_transforms == 0 || entity_writes == 0 {
        return Ok(());
    }
    Err(Refusal {
        message: format!(
            "the writes to {entity_writes} {} made since the switch back would reach {target:?} in the old format: \
             {migration:?}'s TRANSFORM steps, which built it, do not run on them",
            if entity_writes == 1 { "entity" } else { "entities" }
        ),
        hint: format!(
            "Run the migration again instead: drop_inactive_schema({target:?}), then execute_blue_green_migration for {migration:?}."
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn formats(forward: usize, rollback: usize) -> Formats {
        Formats {
            forward_transforms: forward,
            rollback_transforms: rollback,
        }
    }

    #[test]
    fn options_take_the_switch_keys_and_untransformed() {
        let o =
            SwitchBackOptions::parse(&json!({"untransformed": true, "switchRetries": 3})).unwrap();
        assert!(o.untransformed);
        assert_eq!(o.switch.switch_retries, 3);
        assert!(!SwitchBackOptions::parse(&json!({})).unwrap().untransformed);
        let typo = SwitchBackOptions::parse(&json!({"untransformd": true})).unwrap_err();
        assert!(typo.contains("did you mean \"untransformed\""), "{typo}");
        let not_a_flag = SwitchBackOptions::parse(&json!({"untransformed": "yes"})).unwrap_err();
        assert!(not_a_flag.contains("must be true or false"), "{not_a_flag}");
        assert!(SwitchBackOptions::parse(&json!({"switchRetries": -1})).is_err());
        assert!(SwitchBackOptions::parse(&json!([])).is_err());
    }

    #[test]
    fn switching_forward_again_refuses_old_format_writes() {
        assert_eq!(
            plan_forward_replay("m", "green", 0, 9),
            Ok(()),
            "nothing transformed"
        );
        assert_eq!(
            plan_forward_replay("m", "green", 2, 0),
            Ok(()),
            "nothing written"
        );
        let refused = plan_forward_replay("rename_n", "green", 1, 1).unwrap_err();
        assert!(
            refused.message.starts_with(
                "the writes to 1 entity made since the switch back would reach \"green\""
            ),
            "{}",
            refused.message
        );
        assert!(
            refused.hint.contains("drop_inactive_schema(\"green\")"),
            "{}",
            refused.hint
        );
    }

    #[test]
    fn rollback_transforms_turn_the_writes_back() {
        for writes in [0, 5] {
            assert_eq!(
                plan_back_replay(Some("m"), formats(1, 1), writes, false),
                Ok(BackReplay::Transformed)
            );
        }
        assert_eq!(
            plan_back_replay(Some("m"), formats(1, 1), 5, true),
            Ok(BackReplay::UntransformedOnRequest),
            "the caller may skip them"
        );
    }

    #[test]
    fn without_a_format_change_the_writes_come_back_as_they_are() {
        assert_eq!(
            plan_back_replay(None, formats(0, 0), 9, false),
            Ok(BackReplay::AsTheyAre)
        );
        assert_eq!(
            plan_back_replay(Some("m"), formats(2, 0), 0, false),
            Ok(BackReplay::AsTheyAre)
        );
    }

    #[test]
    fn new_format_writes_without_an_inverse_are_refused_unless_asked() {
        let refused = plan_back_replay(Some("rename_n"), formats(1, 0), 3, false).unwrap_err();
        assert!(
            refused
                .message
                .starts_with("the writes to 3 entities made since the switch"),
            "{}",
            refused.message
        );
        let one = plan_back_replay(Some("m"), formats(1, 0), 1, false).unwrap_err();
        assert!(
            one.message.starts_with("the writes to 1 entity made"),
            "{}",
            one.message
        );
        assert!(refused.message.contains("\"rename_n\""));
        assert!(refused.hint.contains("untransformed"));
        assert_eq!(
            plan_back_replay(Some("rename_n"), formats(1, 0), 3, true),
            Ok(BackReplay::UntransformedOnRequest)
        );
    }
}
