//! Compilation of whole pipelines and segments.

use super::{example, with};
use crate::pipeline::*;
use serde_json::json;

#[test]
fn compiles_each_step_over_the_item() {
    let p = parse_pipeline(&example()).unwrap();
    let c = compile_pipeline(&p, "t.content").unwrap();
    assert_eq!((c.entity_type.as_str(), c.batch_size), ("Person", 500));
    assert_eq!(
        c.source_filter_sql.as_deref(),
        Some(
            "coalesce(jsonb_path_match(t.content, '$.age > 18'::jsonpath, silent => true), false)"
        )
    );
    assert!(c
        .input_check_sql
        .unwrap()
        .starts_with("coalesce(jsonb_path_match(t.content, 'exists($.name)'"));
    assert!(c
        .output_check_sql
        .unwrap()
        .starts_with("coalesce(jsonb_path_exists(t.content, '$.fullName'"));
    let [filter, map, custom] = &c.steps[..] else {
        panic!()
    };
    assert_eq!(
        (filter.apply_sql.as_deref(), filter.condition_sql.as_deref()),
        (None, None)
    );
    assert!(filter
        .filter_sql
        .as_ref()
        .unwrap()
        .contains("'$.active == true'::jsonpath"));
    let apply = map.apply_sql.as_ref().unwrap();
    assert!(
        apply.starts_with("(SELECT (SELECT CASE WHEN (_pl2.v #> '{email}'::text[]) IS NULL"),
        "{apply}"
    );
    assert!(
        apply.ends_with("FROM (SELECT t.content AS v OFFSET 0) AS _pl1)"),
        "{apply}"
    );
    assert_eq!(
        apply.matches("t.content").count(),
        1,
        "the item is evaluated once"
    );
    assert!(map
        .condition_sql
        .as_ref()
        .unwrap()
        .contains("jsonb_path_match(t.content, '$.kind == \"x\"'"));
    assert_eq!(
        custom.apply_sql.as_deref(),
        Some("\"cleanup\".\"fix_person\"(t.content)")
    );
    assert_eq!(custom.error_handling, ErrorHandling::Retry);
}

#[test]
fn a_segment_fuses_steps_and_propagates_drops() {
    let p = parse_pipeline(&example()).unwrap();
    let sql = compile_segment(&p, 0..3, "t.content").unwrap();
    assert_eq!(sql.matches("t.content").count(), 1);
    // Outermost: the CUSTOM step over the MAP step's result.
    assert!(sql.starts_with("(SELECT CASE WHEN _pl5.v IS NULL THEN NULL ELSE \"cleanup\".\"fix_person\"(_pl5.v) END FROM (SELECT "));
    // The FILTER yields NULL for items it drops; MAP maps NULL to NULL and honours its condition.
    assert!(sql.contains("(SELECT CASE WHEN coalesce(jsonb_path_match(_pl1.v, '$.active == true'::jsonpath, silent => true), false) THEN _pl1.v END FROM (SELECT t.content AS v OFFSET 0) AS _pl1)"), "{sql}");
    assert!(sql.contains("CASE WHEN _pl2.v IS NULL THEN NULL WHEN coalesce(jsonb_path_match(_pl2.v, '$.kind == \"x\"'"), "{sql}");
    assert_eq!(compile_segment(&p, 0..0, "t.content").unwrap(), "t.content");
    assert_eq!(
        compile_segment(&p, 2..4, "x").unwrap_err().code(),
        "NO_SUCH_STEPS"
    );
}

#[test]
fn aggregate_and_join_are_not_fused() {
    let v = with(
        "/steps/2",
        json!({"name": "j", "type": "JOIN", "config": {"relationType": "R", "fields": [{"from": "a", "to": "b"}]}}),
    );
    let p = parse_pipeline(&v).unwrap();
    assert_eq!(
        compile_segment(&p, 1..3, "x").unwrap_err().code(),
        "NOT_SET_BASED"
    );
    let c = compile_pipeline(&p, ITEM_PLACEHOLDER).unwrap();
    assert_eq!(
        (c.steps[2].apply_sql.clone(), c.steps[2].kind),
        (None, StepKind::Join)
    );
    let shown = serde_json::to_value(&c).unwrap();
    assert_eq!(shown["steps"][2]["kind"], "JOIN");
    assert_eq!(shown["steps"][1]["errorHandling"], "SKIP");
}
