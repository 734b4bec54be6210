//! Atlassian Document Format (ADF) ⇄ plain text, for v3 descriptions and comments.
//!
//! deskgate carries plain text between desks, so only the plain-text subset is
//! produced: a `doc` of `paragraph`s holding `text` and `hardBreak` nodes. A blank
//! line (`"\n\n"`) separates paragraphs and a single `"\n"` is a hard break, which
//! makes [`from_text`] followed by [`to_text`] the identity for every string.
//!
//! Reading is lenient because people write rich text in Jira: any node deskgate
//! does not know degrades to its text (lists, quotes and panels to their lines,
//! mentions to their display text, cards to their URL), never to an error.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One ADF node. The same shape serves the `doc` root, blocks and inline nodes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Node {
    #[serde(rename = "type")]
    pub kind: String,
    /// Only on the `doc` root (always 1).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub version: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub text: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub content: Option<Vec<Node>>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub attrs: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub marks: Option<Vec<Value>>,
}

impl Node {
    fn new(kind: &str) -> Self {
        Self { kind: kind.to_owned(), version: None, text: None, content: None, attrs: None, marks: None }
    }

    fn text_node(text: &str) -> Self {
        Self { text: Some(text.to_owned()), ..Self::new("text") }
    }

    fn children(&self) -> &[Node] {
        self.content.as_deref().unwrap_or(&[])
    }

    fn attr(&self, name: &str) -> Option<&str> {
        self.attrs.as_ref()?.get(name)?.as_str()
    }
}

/// Plain text as an ADF document: paragraphs split on blank lines, hard breaks on
/// single newlines. ADF forbids empty text nodes, so none are produced.
pub fn from_text(text: &str) -> Node {
    let paragraphs = text
        .split("\n\n")
        .map(|paragraph| {
            let mut inline = Vec::new();
            for (i, line) in paragraph.split('\n').enumerate() {
                if i > 0 {
                    inline.push(Node::new("hardBreak"));
                }
                if !line.is_empty() {
                    inline.push(Node::text_node(line));
                }
            }
            Node { content: Some(inline), ..Node::new("paragraph") }
        })
        .collect();
    Node { version: Some(1), content: Some(paragraphs), ..Node::new("doc") }
}

/// The text of an ADF node. For a `doc`, its blocks are joined by blank lines, the
/// inverse of [`from_text`]; unknown nodes degrade to their text.
pub fn to_text(node: &Node) -> String {
    if node.kind == "doc" {
        node.children().iter().map(block_text).collect::<Vec<_>>().join("\n\n")
    } else {
        block_text(node)
    }
}

/// Blocks whose children are inline content.
fn is_textblock(kind: &str) -> bool {
    matches!(kind, "paragraph" | "heading" | "codeBlock")
}

fn block_text(node: &Node) -> String {
    if is_textblock(&node.kind) {
        return inline_text(node.children());
    }
    match &node.content {
        // Lists, quotes, panels, tables: one line per child block.
        Some(children) if !children.is_empty() => children.iter().map(block_text).collect::<Vec<_>>().join("\n"),
        _ => leaf_text(node),
    }
}

fn inline_text(nodes: &[Node]) -> String {
    let mut out = String::new();
    for node in nodes {
        match &node.content {
            Some(children) if node.text.is_none() => out.push_str(&inline_text(children)),
            _ => out.push_str(&leaf_text(node)),
        }
    }
    out
}

fn leaf_text(node: &Node) -> String {
    if let Some(text) = &node.text {
        return text.clone();
    }
    match node.kind.as_str() {
        "hardBreak" => "\n".to_owned(),
        "mention" => node.attr("text").unwrap_or_default().to_owned(),
        "emoji" => node.attr("text").or_else(|| node.attr("shortName")).unwrap_or_default().to_owned(),
        "inlineCard" | "blockCard" | "embedCard" => node.attr("url").unwrap_or_default().to_owned(),
        "date" => node.attr("timestamp").unwrap_or_default().to_owned(),
        "status" => node.attr("text").unwrap_or_default().to_owned(),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn plain_text_becomes_paragraphs_and_hard_breaks() {
        let doc = from_text("first line\nsecond\n\nnext paragraph");
        assert_eq!(
            serde_json::to_value(&doc).unwrap(),
            json!({"type": "doc", "version": 1, "content": [
                {"type": "paragraph", "content": [
                    {"type": "text", "text": "first line"},
                    {"type": "hardBreak"},
                    {"type": "text", "text": "second"}]},
                {"type": "paragraph", "content": [
                    {"type": "text", "text": "next paragraph"}]}]})
        );
    }

    #[test]
    fn edge_cases_round_trip() {
        for text in ["", "\n", "\n\n", "a\n\n\nb", "\n\na\n", "x\r\ny", "æøå 🚑"] {
            assert_eq!(to_text(&from_text(text)), text, "{text:?}");
        }
    }

    #[test]
    fn unknown_nodes_degrade_to_their_text() {
        let doc: Node = serde_json::from_value(json!({"type": "doc", "version": 1, "content": [
            {"type": "heading", "attrs": {"level": 2}, "content": [{"type": "text", "text": "Title"}]},
            {"type": "bulletList", "content": [
                {"type": "listItem", "content": [{"type": "paragraph", "content": [
                    {"type": "text", "text": "one", "marks": [{"type": "strong"}]}]}]},
                {"type": "listItem", "content": [{"type": "paragraph", "content": [
                    {"type": "mention", "attrs": {"id": "abc", "text": "@Ann"}},
                    {"type": "text", "text": " two"}]}]}]},
            {"type": "mediaSingle", "content": [{"type": "media", "attrs": {"id": "x"}}]},
            {"type": "fancyNewThing", "content": [{"type": "paragraph", "content": [
                {"type": "inlineCard", "attrs": {"url": "https://example.org/x"}}]}]}
        ]}))
        .unwrap();
        assert_eq!(to_text(&doc), "Title\n\none\n@Ann two\n\n\n\nhttps://example.org/x");
    }
}
