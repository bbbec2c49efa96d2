//! The temporal knowledge-graph store: write and read entities and relations the
//! temporal way. A change never overwrites: it closes the current version
//! (`valid_to = now()`) and inserts the next one.
mod entities;
mod relations;
