//! The dependency graph as text a human can paste into a renderer: Mermaid (GitHub,
//! GitLab and most wikis show it inline) or Graphviz DOT. Arrows go from a
//! dependency to the migration that needs it, i.e. in execution order.
//!
//! Migration names are arbitrary text, so they never appear as node ids: nodes are
//! `n0, n1, ...` in name order and the name only appears inside an escaped label.
//! Dependencies on unregistered names are drawn as dashed "missing" nodes rather
//! than dropped, because a missing dependency is exactly what a reader looks for.

mod dot;
mod mermaid;

use crate::engine::state::MigrationStatus;
use std::collections::BTreeMap;
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GraphNode {
    pub name: String,
    pub status: MigrationStatus,
    pub depends_on: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GraphFormat {
    Mermaid,
    Dot,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownGraphFormat {
    pub given: String,
}

impl fmt::Display for UnknownGraphFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown graph format {:?}; use 'mermaid' or 'dot' (alias 'graphviz')",
            self.given
        )
    }
}

impl std::error::Error for UnknownGraphFormat {}

impl GraphFormat {
    /// Case-insensitive; surrounding whitespace ignored.
    pub fn parse(s: &str) -> Result<Self, UnknownGraphFormat> {
        match s.trim().to_ascii_lowercase().as_str() {
            "mermaid" => Ok(Self::Mermaid),
            "dot" | "graphviz" => Ok(Self::Dot),
            _ => Err(UnknownGraphFormat {
                given: s.to_string(),
            }),
        }
    }
}

pub fn render_graph(nodes: &[GraphNode], format: GraphFormat) -> String {
    let layout = Layout::new(nodes);
    match format {
        GraphFormat::Mermaid => mermaid::render(&layout),
        GraphFormat::Dot => dot::render(&layout),
    }
}

/// A node to draw; `status` is `None` for a dependency nobody registered.
struct DrawNode<'a> {
    id: String,
    name: &'a str,
    status: Option<MigrationStatus>,
}

/// Format-independent drawing: nodes in name order with their ids, and edges
/// (dependency index, dependent index) sorted and deduplicated, so output is
/// deterministic whatever order the rows came in.
struct Layout<'a> {
    nodes: Vec<DrawNode<'a>>,
    edges: Vec<(usize, usize)>,
}

impl<'a> Layout<'a> {
    fn new(input: &'a [GraphNode]) -> Self {
        // A repeated name keeps its first status; its edges are merged.
        let mut status: BTreeMap<&'a str, Option<MigrationStatus>> = BTreeMap::new();
        for n in input {
            status.entry(&n.name).or_insert(Some(n.status));
        }
        for dep in input.iter().flat_map(|n| &n.depends_on) {
            status.entry(dep).or_insert(None);
        }
        let position: BTreeMap<&str, usize> =
            status.keys().enumerate().map(|(i, k)| (*k, i)).collect();
        let mut edges: Vec<(usize, usize)> = input
            .iter()
            .flat_map(|n| {
                n.depends_on
                    .iter()
                    .map(|d| (position[d.as_str()], position[n.name.as_str()]))
            })
            .collect();
        edges.sort_unstable();
        edges.dedup();
        let nodes = status
            .into_iter()
            .enumerate()
            .map(|(i, (name, status))| DrawNode {
                id: format!("n{i}"),
                name,
                status,
            })
            .collect();
        Layout { nodes, edges }
    }
}

/// Class name, fill and stroke colours of a status.
fn style(status: Option<MigrationStatus>) -> (&'static str, &'static str, &'static str) {
    match status {
        Some(MigrationStatus::Pending) => ("PENDING", "#e5e7eb", "#6b7280"),
        Some(MigrationStatus::Running) => ("RUNNING", "#bfdbfe", "#1d4ed8"),
        Some(MigrationStatus::Completed) => ("COMPLETED", "#bbf7d0", "#15803d"),
        Some(MigrationStatus::Failed) => ("FAILED", "#fecaca", "#b91c1c"),
        Some(MigrationStatus::RolledBack) => ("ROLLED_BACK", "#fde68a", "#b45309"),
        None => ("MISSING", "#ffffff", "#b91c1c"),
    }
}

/// Every status a node can be drawn with, in a fixed order.
fn all_styles() -> impl Iterator<Item = Option<MigrationStatus>> {
    MigrationStatus::ALL.into_iter().map(Some).chain([None])
}

fn status_text(status: Option<MigrationStatus>) -> &'static str {
    status.map_or("missing", MigrationStatus::as_str)
}

#[cfg(test)]
pub(crate) fn nasty_nodes() -> Vec<GraphNode> {
    let names = [
        "plain",
        "with \"quotes\"",
        "a --> b",
        "ünïcødé 数据",
        "back\\slash #1 <br/> & `x`",
        "semi;colon]",
    ];
    names
        .iter()
        .enumerate()
        .map(|(i, n)| GraphNode {
            name: n.to_string(),
            status: MigrationStatus::ALL[i % 5],
            depends_on: if i == 0 {
                vec!["ghost \"dep\"".into()]
            } else {
                vec![names[i - 1].to_string()]
            },
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_formats() {
        assert_eq!(GraphFormat::parse("Mermaid"), Ok(GraphFormat::Mermaid));
        assert_eq!(GraphFormat::parse(" graphviz "), Ok(GraphFormat::Dot));
        assert_eq!(GraphFormat::parse("dot"), Ok(GraphFormat::Dot));
        let e = GraphFormat::parse("svg").unwrap_err();
        assert!(e.to_string().contains("mermaid"));
    }

    #[test]
    fn layout_is_sorted_deduplicated_and_keeps_missing() {
        let mut nodes = nasty_nodes();
        let first = nodes[0].name.clone();
        nodes[1].depends_on.push(first); // duplicate edge
        let mut reversed = nodes.clone();
        reversed.reverse();
        for format in [GraphFormat::Mermaid, GraphFormat::Dot] {
            assert_eq!(
                render_graph(&nodes, format),
                render_graph(&reversed, format)
            );
        }
        let layout = Layout::new(&nodes);
        assert_eq!(layout.nodes.len(), 7);
        assert_eq!(layout.edges.len(), 6);
        assert!(layout
            .nodes
            .iter()
            .any(|n| n.status.is_none() && n.name == "ghost \"dep\""));
    }

    #[test]
    fn empty_graph_is_valid() {
        assert!(render_graph(&[], GraphFormat::Mermaid).starts_with("flowchart TD\n"));
        assert!(render_graph(&[], GraphFormat::Dot)
            .trim_end()
            .ends_with('}'));
    }
}
