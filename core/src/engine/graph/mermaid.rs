//! Mermaid `flowchart TD`. Labels are double-quoted; inside them Mermaid decodes
//! `#NN;` entity codes, which is how quotes, `#`, `<`, `>`, `&` and backticks are
//! written so that no name can close the label, open HTML, or start an arrow.

use super::{all_styles, status_text, style, Layout};
use std::fmt::Write;

pub(super) fn render(layout: &Layout<'_>) -> String {
    let mut out = String::from("flowchart TD\n");
    for status in all_styles() {
        let (class, fill, stroke) = style(status);
        let dash = if status.is_none() {
            ",stroke-dasharray:4 3"
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "  classDef {class} fill:{fill},stroke:{stroke},color:#111827{dash}"
        );
    }
    for n in &layout.nodes {
        let _ = writeln!(
            out,
            "  {}[\"{}<br/>{}\"]",
            n.id,
            escape(n.name),
            status_text(n.status)
        );
    }
    for &(from, to) in &layout.edges {
        let from_node = &layout.nodes[from];
        let arrow = if from_node.status.is_none() {
            "-.->"
        } else {
            "-->"
        };
        let _ = writeln!(out, "  {} {arrow} {}", from_node.id, layout.nodes[to].id);
    }
    for status in all_styles() {
        let ids: Vec<&str> = layout
            .nodes
            .iter()
            .filter(|n| n.status == status)
            .map(|n| n.id.as_str())
            .collect();
        if !ids.is_empty() {
            let _ = writeln!(out, "  class {} {}", ids.join(","), style(status).0);
        }
    }
    out
}

fn escape(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        match c {
            '"' | '#' | '&' | '<' | '>' | '`' => {
                let _ = write!(out, "#{};", c as u32);
            }
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

    fn unescape(label: &str) -> String {
        let mut out = label.to_string();
        for code in [34u32, 35, 38, 60, 62, 96] {
            out = out.replace(
                &format!("#{code};"),
                &char::from_u32(code).unwrap().to_string(),
            );
        }
        out
    }

    #[test]
    fn every_line_has_a_known_shape_and_labels_round_trip() {
        let nodes = nasty_nodes();
        let text = render_graph(&nodes, GraphFormat::Mermaid);
        let mut labels = Vec::new();
        for line in text.lines().skip(1) {
            let line = line.strip_prefix("  ").expect("indented");
            if line.starts_with("classDef ") || line.starts_with("class ") {
                assert!(!line.contains('"'), "{line}");
            } else if let Some((id, rest)) = line.split_once("[\"") {
                assert!(
                    id.starts_with('n') && id[1..].chars().all(|c| c.is_ascii_digit()),
                    "{line}"
                );
                let label = rest
                    .strip_suffix("\"]")
                    .expect("label closes at end of line");
                let (name, status) = label.rsplit_once("<br/>").unwrap();
                assert!(!name.contains(['"', '<', '>', '`']), "{line}");
                assert!(!status.is_empty());
                labels.push(unescape(name));
            } else {
                let parts: Vec<&str> = line.split(' ').collect();
                assert_eq!(parts.len(), 3, "{line}");
                assert!(parts[1] == "-->" || parts[1] == "-.->", "{line}");
            }
        }
        for n in &nodes {
            assert!(labels.contains(&n.name), "{} lost", n.name);
        }
        assert!(labels.contains(&"ghost \"dep\"".to_string()));
        assert!(text.contains("classDef ROLLED_BACK") && text.contains("-.->"));
    }

    #[test]
    fn escapes() {
        assert_eq!(escape("a\"b#c<d>&`\ne"), "a#34;b#35;c#60;d#62;#38;#96; e");
    }
}
