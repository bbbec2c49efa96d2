//! Graphviz DOT. Labels are double-quoted strings in which only `"` and `\` are
//! special to DOT (plus `\n`, `\l`, `\N`... escapes, which doubling `\` disarms).

use super::{status_text, style, Layout};
use std::fmt::Write;

pub(super) fn render(layout: &Layout<'_>) -> String {
    let mut out = String::from("digraph migrations {\n");
    out.push_str("  rankdir=TB;\n");
    out.push_str("  node [shape=box, style=\"rounded,filled\", fontname=\"Helvetica\"];\n");
    for n in &layout.nodes {
        let (_, fill, stroke) = style(n.status);
        let dashed = if n.status.is_none() {
            ", style=\"rounded,dashed\""
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "  {} [label=\"{}\\n{}\", fillcolor=\"{fill}\", color=\"{stroke}\"{dashed}];",
            n.id,
            escape(n.name),
            status_text(n.status)
        );
    }
    for &(from, to) in &layout.edges {
        let _ = writeln!(
            out,
            "  {} -> {};",
            layout.nodes[from].id, layout.nodes[to].id
        );
    }
    out.push_str("}\n");
    out
}

fn escape(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::{nasty_nodes, render_graph, GraphFormat};
    use super::*;

    /// Reads a DOT quoted string starting after its opening quote; returns the
    /// decoded text and what follows the closing quote.
    fn read_quoted(s: &str) -> (String, &str) {
        let mut out = String::new();
        let mut chars = s.char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' => match chars.next().expect("escape has a char").1 {
                    'n' => out.push('\n'),
                    other => out.push(other),
                },
                '"' => return (out, &s[i + 1..]),
                c => out.push(c),
            }
        }
        panic!("unterminated string in {s}");
    }

    #[test]
    fn labels_round_trip_and_structure_holds() {
        let nodes = nasty_nodes();
        let text = render_graph(&nodes, GraphFormat::Dot);
        assert!(text.starts_with("digraph migrations {\n") && text.ends_with("}\n"));
        let mut labels = Vec::new();
        for line in text.lines().filter(|l| l.contains("[label=\"")) {
            let (_, rest) = line.split_once("[label=\"").unwrap();
            let (label, tail) = read_quoted(rest);
            assert!(
                tail.starts_with(", fillcolor=") && tail.ends_with("];"),
                "{line}"
            );
            labels.push(
                label
                    .rsplit_once('\n')
                    .expect("name and status")
                    .0
                    .to_string(),
            );
        }
        for n in &nodes {
            assert!(
                labels.iter().any(|l| l == &n.name),
                "{} lost in {labels:?}",
                n.name
            );
        }
        let edges = text.lines().filter(|l| l.contains(" -> ")).count();
        assert_eq!(edges, nodes.len());
    }

    #[test]
    fn escapes() {
        assert_eq!(escape("a\"b\\n\tc"), "a\\\"b\\\\n c");
    }
}
