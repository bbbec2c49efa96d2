//! Parsing: every error carries the path of the offending value.

use super::{example, with};
use crate::pipeline::*;
use serde_json::{json, Value};

fn err(v: Value) -> (String, String) {
    let e = parse_pipeline(&v).unwrap_err();
    assert!(
        e.to_string().contains(e.path()),
        "message names the path: {e}"
    );
    (e.code().to_string(), e.path().to_string())
}

fn pair(code: &str, path: &str) -> (String, String) {
    (code.to_string(), path.to_string())
}

#[test]
fn parses_the_example() {
    let p = parse_pipeline(&example()).unwrap();
    assert_eq!(
        (p.name.as_str(), p.batch_size, p.parallel),
        ("normalise_people", 500, false)
    );
    assert_eq!(p.source.entity_type, "Person");
    let kinds: Vec<_> = p.steps.iter().map(Step::kind).collect();
    assert_eq!(kinds, [StepKind::Filter, StepKind::Map, StepKind::Custom]);
    assert_eq!(
        (p.steps[0].error_handling, p.steps[0].retries),
        (ErrorHandling::Fail, 0)
    );
    assert_eq!(
        (p.steps[2].error_handling, p.steps[2].retries),
        (ErrorHandling::Retry, 2)
    );
    assert!(
        matches!(&p.steps[2].action, StepAction::Custom(f) if f.to_string() == "cleanup.fix_person")
    );
    let defaults =
        json!({"name": "n", "source": {"entityType": "P"}, "steps": [example()["steps"][0]]});
    assert_eq!(parse_pipeline(&defaults).unwrap().batch_size, 1000);
}

#[test]
fn every_error_has_its_path() {
    assert_eq!(
        err(with("/steps/1/type", json!("MAPPING"))),
        pair("UNKNOWN_STEP_TYPE", "$.steps[1].type")
    );
    assert_eq!(
        err(with(
            "/steps/1/config/mappingRules/1/type",
            json!("FIELD_COPY")
        )),
        pair(
            "UNKNOWN_RULE_TYPE",
            "$.steps[1].config.mappingRules[1].type"
        )
    );
    assert_eq!(
        err(with(
            "/steps/1/config/mappingRules/0",
            json!({"type": "CONDITIONAL_TRANSFORM", "condition": "$.a > 1", "transformation": 3})
        )),
        pair(
            "INVALID_TYPE",
            "$.steps[1].config.mappingRules[0].transformation"
        )
    );
    assert_eq!(
        err(with(
            "/steps/1/config/mappingRules/1/transformation",
            json!("capitalize")
        )),
        pair(
            "UNKNOWN_TRANSFORMATION",
            "$.steps[1].config.mappingRules[1].transformation"
        )
    );
    assert_eq!(
        err(with(
            "/steps/1/config/mappingRules/0",
            json!({"type": "FIELD_RENAME", "target": "b"})
        )),
        pair(
            "RULE_MISSING_KEY",
            "$.steps[1].config.mappingRules[0].source"
        )
    );
    assert_eq!(
        err(with(
            "/steps/2/config/function",
            json!("fix(); drop table x")
        )),
        pair("INVALID_IDENTIFIER", "$.steps[2].config.function")
    );
    assert_eq!(
        err(with("/steps", json!([]))),
        pair("EMPTY_STEPS", "$.steps")
    );
    for bad in [
        json!(0),
        json!(-5),
        json!(1.5),
        json!("100"),
        json!(4_294_967_296u64),
    ] {
        assert_eq!(
            err(with("/batchSize", bad)),
            pair("INVALID_BATCH_SIZE", "$.batchSize")
        );
    }
    assert_eq!(
        err(with("/steps/1/errorHandling", json!("IGNORE"))),
        pair("UNKNOWN_ERROR_HANDLING", "$.steps[1].errorHandling")
    );
    assert_eq!(
        err(with("/steps/2/name", json!("reshape"))),
        pair("DUPLICATE_STEP_NAME", "$.steps[2].name")
    );
    assert_eq!(
        err(with("/steps/1/retries", json!(2))),
        pair("INVALID_VALUE", "$.steps[1].retries")
    );
    assert_eq!(
        err(with("/steps/2/retries", json!(0))),
        pair("INVALID_VALUE", "$.steps[2].retries")
    );
    assert_eq!(
        err(with("/steps/0/condtion", json!("$.a"))),
        pair("UNKNOWN_KEY", "$.steps[0].condtion")
    );
    assert_eq!(
        err(with("/steps/1/config/mappingRules", json!([]))),
        pair("INVALID_VALUE", "$.steps[1].config.mappingRules")
    );
    assert_eq!(
        err(with("/steps/0/config", json!({}))),
        pair("MISSING_FIELD", "$.steps[0].config.condition")
    );
    assert_eq!(
        err(with("/source/filter", json!("age > 18"))),
        pair("INVALID_JSONPATH", "$.source.filter")
    );
    assert_eq!(
        err(with("/source", json!({}))),
        pair("MISSING_FIELD", "$.source.entityType")
    );
    assert_eq!(
        err(with("/validation/output", json!(""))),
        pair("INVALID_JSONPATH", "$.validation.output")
    );
    assert_eq!(err(json!([])), pair("INVALID_TYPE", "$"));
}

#[test]
fn messages_say_what_to_do() {
    let e = parse_pipeline(&with("/steps/1/type", json!("MAPPING"))).unwrap_err();
    assert!(
        e.to_string()
            .contains(r#""MAP", "FILTER", "AGGREGATE", "JOIN" or "CUSTOM""#),
        "{e}"
    );
    let e = parse_pipeline(&with("/steps/1/errorHandling", json!("IGNORE"))).unwrap_err();
    assert!(
        e.to_string().ends_with(r#"use "SKIP", "RETRY" or "FAIL""#),
        "{e}"
    );
    let e = parse_pipeline(&with("/batchSize", json!(0))).unwrap_err();
    assert!(e.to_string().contains("positive integer"), "{e}");
}
