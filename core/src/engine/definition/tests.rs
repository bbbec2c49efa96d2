use super::*;
use serde_json::json;

fn minimal() -> Value {
    json!({"name": "add_email", "version": "1.1.0",
           "forward": [{"name": "add", "type": "SQL", "script": "ALTER TABLE p ADD COLUMN email text"}]})
}

fn with(key: &str, value: Value) -> Value {
    let mut v = minimal();
    v[key] = value;
    v
}

#[test]
fn minimal_definition_gets_defaults() {
    let d = MigrationDefinition::parse(&minimal()).unwrap();
    assert_eq!(d.migration_type, MigrationType::Schema);
    assert_eq!(d.priority, 100);
    assert!(d.rollback.is_empty() && d.validation.is_empty() && d.depends_on.is_empty());
    assert_eq!(d.rollback_script(), None);
    assert_eq!(d.forward_script(), "ALTER TABLE p ADD COLUMN email text;");
    assert!(!d.options.continue_on_error);
}

#[test]
fn full_definition() {
    let mut v = minimal();
    v["type"] = json!("HYBRID");
    v["dependsOn"] = json!(["base", "base", "people"]);
    v["rollback"] =
        json!([{"name": "drop", "type": "SQL", "script": "ALTER TABLE p DROP COLUMN email"}]);
    v["validation"] = json!([{"name": "col", "script": "SELECT true"}]);
    v["metadata"] = json!({"ticket": "KG-1"});
    v["priority"] = json!(-5);
    v["options"] = json!({"continueOnError": true});
    let d = MigrationDefinition::parse(&v).unwrap();
    assert_eq!(d.depends_on, ["base", "people"]);
    assert_eq!(d.priority, -5);
    assert!(d.options.continue_on_error);
    assert_eq!(
        d.rollback_script().unwrap(),
        "ALTER TABLE p DROP COLUMN email;"
    );
    assert_eq!(d.metadata["ticket"], "KG-1");
}

#[test]
fn errors_have_codes_and_paths() {
    let mut no_name = minimal();
    no_name.as_object_mut().unwrap().remove("name");
    let bad_step = json!([{"name": "a", "type": "SQL", "script": "x"}, {"name": "b", "type": "SQL", "script": "y"},
                          {"name": "c", "type": "BASH"}]);
    let cases = [
        (no_name, "MISSING_FIELD", "$.name"),
        (json!("nope"), "INVALID_TYPE", "$"),
        (with("name", json!("")), "INVALID_VALUE", "$.name"),
        (with("version", json!(2)), "INVALID_TYPE", "$.version"),
        (
            with("type", json!("schema")),
            "UNKNOWN_MIGRATION_TYPE",
            "$.type",
        ),
        (with("forward", json!([])), "EMPTY_FORWARD", "$.forward"),
        (
            with("forward", bad_step),
            "UNKNOWN_STEP_TYPE",
            "$.forward[2].type",
        ),
        (
            with("dependsOn", json!(["x", "add_email"])),
            "SELF_DEPENDENCY",
            "$.dependsOn[1]",
        ),
        (
            with("dependsOn", json!([1])),
            "INVALID_TYPE",
            "$.dependsOn[0]",
        ),
        (with("priority", json!(1.5)), "INVALID_TYPE", "$.priority"),
        (
            with("options", json!({"continueOnError": "yes"})),
            "INVALID_TYPE",
            "$.options.continueOnError",
        ),
        (
            with(
                "validation",
                json!([{"name": "v", "script": "a"}, {"name": "v", "script": "b"}]),
            ),
            "DUPLICATE_RULE_NAME",
            "$.validation[1].name",
        ),
        (
            with("validation", json!([{"name": "v"}])),
            "MISSING_FIELD",
            "$.validation[0].script",
        ),
        (with("metadata", json!([])), "INVALID_TYPE", "$.metadata"),
    ];
    for (input, code, path) in cases {
        let e = MigrationDefinition::parse(&input).unwrap_err();
        assert_eq!((e.code(), e.path()), (code, path), "{input}: {e}");
    }
}

#[test]
fn call_time_options() {
    assert!(
        MigrationOptions::parse(&json!({"continueOnError": true}))
            .unwrap()
            .continue_on_error
    );
    assert_eq!(
        MigrationOptions::parse(&json!({})).unwrap(),
        MigrationOptions::default()
    );
}
