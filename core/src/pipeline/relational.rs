//! AGGREGATE and JOIN step configurations. The core only parses and validates
//! them: they read or write other entities and relations, which the shell does
//! with its own queries (see `plan`), not as a per-item expression.

use super::error::PipelineError;
use super::keyword::keywords;
use super::names::FieldPath;
use super::read::{field_path, Obj};

keywords! {
    /// Aggregate functions, spelled as their SQL names.
    pub enum AggregateFunction {
        Count = "count",
        Sum = "sum",
        Min = "min",
        Max = "max",
        Avg = "avg",
        ArrayAgg = "array_agg",
    }
}

/// Groups the items by `group_by` and writes one `target_entity_type` entity
/// per group, holding the aggregates; optionally links each item to its group's
/// entity with a `relation_type` relation.
#[derive(Debug, Clone, PartialEq)]
pub struct Aggregate {
    pub group_by: Vec<FieldPath>,
    pub aggregates: Vec<AggregateSpec>,
    pub target_entity_type: String,
    pub relation_type: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AggregateSpec {
    pub function: AggregateFunction,
    /// The aggregated field; `None` only for `count` (counts items).
    pub field: Option<FieldPath>,
    /// Where the result is stored in the group's entity.
    pub output: FieldPath,
}

/// Copies fields of a related entity into each item: the related entity is
/// found through a relation of `relationType`, or by matching a field.
#[derive(Debug, Clone, PartialEq)]
pub struct Join {
    pub on: JoinOn,
    pub fields: Vec<JoinField>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum JoinOn {
    Relation(String),
    /// The entity of `entity_type` whose `target_field` equals the item's `field`.
    Field {
        field: FieldPath,
        entity_type: String,
        target_field: FieldPath,
    },
}

/// Copy the related entity's `from` into the item's `to`.
#[derive(Debug, Clone, PartialEq)]
pub struct JoinField {
    pub from: FieldPath,
    pub to: FieldPath,
}

/// Each element of the array at `key`, read as an object with `read`.
fn each<T>(
    o: &Obj<'_>,
    key: &str,
    read: impl Fn(&Obj<'_>) -> Result<T, PipelineError>,
) -> Result<Vec<T>, PipelineError> {
    let base = o.at(key);
    o.req_array(key)?
        .iter()
        .enumerate()
        .map(|(i, v)| read(&Obj::new(v, format!("{base}[{i}]"))?))
        .collect()
}

impl Aggregate {
    pub(crate) fn parse(o: &Obj<'_>) -> Result<Self, PipelineError> {
        o.only(&["groupBy", "aggregates", "targetEntityType", "relationType"])?;
        let base = o.at("groupBy");
        let group_by = o
            .req_array("groupBy")?
            .iter()
            .enumerate()
            .map(|(i, v)| field_path(v, format!("{base}[{i}]")))
            .collect::<Result<Vec<_>, _>>()?;
        let aggregates = each(o, "aggregates", |a| {
            a.only(&["function", "field", "as"])?;
            let found = a.req_text("function")?;
            let function = AggregateFunction::from_name(found).ok_or_else(|| {
                PipelineError::UnknownOption {
                    path: a.at("function"),
                    found: found.into(),
                    allowed: AggregateFunction::names(),
                }
            })?;
            let field = match a.get("field") {
                None if function == AggregateFunction::Count => None,
                None => return Err(a.missing("field")),
                Some(_) => Some(a.req_field("field")?),
            };
            Ok(AggregateSpec {
                function,
                field,
                output: a.req_field("as")?,
            })
        })?;
        for (i, a) in aggregates.iter().enumerate() {
            if aggregates[..i].iter().any(|b| b.output == a.output) {
                return Err(PipelineError::InvalidValue {
                    path: format!("{}[{i}].as", o.at("aggregates")),
                    reason: format!(
                        "repeats output {:?}; give each aggregate its own `as`",
                        a.output.to_string()
                    ),
                });
            }
        }
        Ok(Self {
            group_by,
            aggregates,
            target_entity_type: o.req_name("targetEntityType")?.to_string(),
            relation_type: o.opt_name("relationType")?.map(str::to_string),
        })
    }
}

impl Join {
    pub(crate) fn parse(o: &Obj<'_>) -> Result<Self, PipelineError> {
        o.only(&["relationType", "on", "fields"])?;
        let on = match (o.opt_name("relationType")?, o.get("on")) {
            (Some(_), Some(_)) => {
                return Err(o.invalid("on", "cannot be combined with `relationType`; keep one"))
            }
            (None, None) => return Err(o.missing("relationType")),
            (Some(r), None) => JoinOn::Relation(r.to_string()),
            (None, Some(v)) => {
                let on = Obj::new(v, o.at("on"))?;
                on.only(&["field", "entityType", "targetField"])?;
                JoinOn::Field {
                    field: on.req_field("field")?,
                    entity_type: on.req_name("entityType")?.to_string(),
                    target_field: on.req_field("targetField")?,
                }
            }
        };
        let fields = each(o, "fields", |f| {
            f.only(&["from", "to"])?;
            Ok(JoinField {
                from: f.req_field("from")?,
                to: f.req_field("to")?,
            })
        })?;
        Ok(Self { on, fields })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn agg(v: Value) -> Result<Aggregate, PipelineError> {
        Aggregate::parse(&Obj::new(&v, "$.c").unwrap())
    }

    fn join(v: Value) -> Result<Join, PipelineError> {
        Join::parse(&Obj::new(&v, "$.c").unwrap())
    }

    #[test]
    fn aggregate_configs() {
        let a = agg(json!({"groupBy": ["address.city"], "targetEntityType": "City",
            "aggregates": [{"function": "count", "as": "population"}, {"function": "avg", "field": "age", "as": "stats.avgAge"}]}))
        .unwrap();
        assert_eq!(a.aggregates[0].field, None);
        assert_eq!(a.aggregates[1].output.to_string(), "stats.avgAge");
        let e = agg(json!({"groupBy": ["c"], "targetEntityType": "C", "aggregates": [{"function": "median", "field": "a", "as": "m"}]})).unwrap_err();
        assert_eq!(
            (e.code(), e.path()),
            ("UNKNOWN_OPTION", "$.c.aggregates[0].function")
        );
        let e = agg(json!({"groupBy": ["c"], "targetEntityType": "C", "aggregates": [{"function": "sum", "as": "m"}]})).unwrap_err();
        assert_eq!(e.path(), "$.c.aggregates[0].field");
        let e = agg(json!({"groupBy": [], "targetEntityType": "C", "aggregates": []})).unwrap_err();
        assert_eq!(e.path(), "$.c.groupBy");
        let e = agg(json!({"groupBy": ["c"], "targetEntityType": "C",
            "aggregates": [{"function": "count", "as": "n"}, {"function": "max", "field": "a", "as": "n"}]})).unwrap_err();
        assert_eq!(e.path(), "$.c.aggregates[1].as");
    }

    #[test]
    fn join_configs() {
        let j = join(
            json!({"relationType": "WORKS_AT", "fields": [{"from": "name", "to": "employer"}]}),
        )
        .unwrap();
        assert_eq!(j.on, JoinOn::Relation("WORKS_AT".into()));
        let j = join(json!({"on": {"field": "companyId", "entityType": "Company", "targetField": "id"}, "fields": [{"from": "name", "to": "employer.name"}]})).unwrap();
        assert!(matches!(j.on, JoinOn::Field { .. }));
        let e = join(json!({"fields": [{"from": "a", "to": "b"}]})).unwrap_err();
        assert_eq!((e.code(), e.path()), ("MISSING_FIELD", "$.c.relationType"));
        let e = join(json!({"relationType": "R", "on": {}, "fields": [{"from": "a", "to": "b"}]}))
            .unwrap_err();
        assert_eq!(e.path(), "$.c.on");
        let e = join(json!({"relationType": "R", "fields": [{"from": "a"}]})).unwrap_err();
        assert_eq!(e.path(), "$.c.fields[0].to");
    }
}
