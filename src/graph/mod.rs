//! The temporal knowledge-graph store: write and read entities and relations the
//! temporal way. A change never overwrites: it closes the current version and inserts
//! the next one, valid from the moment the previous one ends.
mod entities;
pub mod history;

mod relations;

/// Write an entity's next version (or create it): the temporal upsert, for Rust callers.
pub fn upsert_entity_version(
    entity_type: &str,
    content: serde_json::Value,
    entity_id: Option<pgrx::Uuid>,
) -> crate::errors::MeResult<pgrx::Uuid> {
    entities::upsert(entity_type, pgrx::JsonB(content), entity_id, None)
}
