//! RDF/XML as ClearQuest's OSLC CM 2.0 provider speaks it: records, query answers
//! (an `oslc:ResponseInfo` with `rdfs:member`s, or an Atom feed) and `oslc:Error` bodies.
//!
//! This is not a general RDF parser. It reads the striped RDF/XML shape ClearQuest
//! produces (node element → property elements → literal, `rdf:resource` or nested
//! node) and keeps the properties of the namespaces deskgate uses (`cq`, `oslc_cm`,
//! `oslc`, `dcterms`, `rdf`, `rdfs`), under those fixed prefixes whatever prefixes the
//! document declares.
//!
//! Parsing is hardened because the bytes come from another organisation's server (or,
//! in the simulator, from any client): DOCTYPE and therefore entity declarations are
//! refused, document size, element depth and element count are bounded, only UTF-8 is
//! accepted, and every error says which element and what was expected.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use quick_xml::NsReader;
use quick_xml::events::Event;
use quick_xml::name::ResolveResult;

pub const NS_RDF: &str = "http://www.w3.org/1999/02/22-rdf-syntax-ns#";
pub const NS_RDFS: &str = "http://www.w3.org/2000/01/rdf-schema#";
pub const NS_DCTERMS: &str = "http://purl.org/dc/terms/";
pub const NS_OSLC: &str = "http://open-services.net/ns/core#";
pub const NS_OSLC_CM: &str = "http://open-services.net/ns/cm#";
pub const NS_CQ: &str = "http://www.ibm.com/xmlns/prod/rational/clearquest/1.0/";
pub const NS_ATOM: &str = "http://www.w3.org/2005/Atom";

/// The prefixes deskgate reads and writes, and the namespaces they stand for.
pub const PREFIXES: [(&str, &str); 6] = [
    ("rdf", NS_RDF),
    ("rdfs", NS_RDFS),
    ("dcterms", NS_DCTERMS),
    ("oslc", NS_OSLC),
    ("oslc_cm", NS_OSLC_CM),
    ("cq", NS_CQ),
];

/// Media type of every body deskgate sends and asks for.
pub const RDF_XML: &str = "application/rdf+xml";

/// How much of a document the parser is willing to look at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    pub max_bytes: usize,
    pub max_depth: usize,
    pub max_elements: usize,
}

impl Default for Limits {
    /// Generous for one record or a page of query results, small enough that a
    /// hostile answer cannot exhaust memory.
    fn default() -> Self {
        Self { max_bytes: 4 * 1024 * 1024, max_depth: 32, max_elements: 100_000 }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RdfError {
    #[error("document is {size} bytes, more than the {limit} accepted")]
    TooLarge { size: usize, limit: usize },
    #[error("elements nest deeper than {limit} levels (at <{element}>)")]
    TooDeep { limit: usize, element: String },
    #[error("document has more than {limit} elements")]
    TooManyElements { limit: usize },
    #[error("document type declarations (DOCTYPE, entities) are not accepted")]
    DocType,
    #[error("document is not UTF-8")]
    NotUtf8,
    #[error("malformed XML near byte {position}: {reason}")]
    Malformed { position: u64, reason: String },
    #[error("expected {expected}, found {found}")]
    Unexpected { expected: String, found: String },
    #[error("cannot write {name:?}: {reason}")]
    Write { name: String, reason: String },
}

/// One resource description in the document.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Description {
    /// Prefixed type of the node element (`oslc_cm:ChangeRequest`); `None` for
    /// `rdf:Description` or a type outside the known namespaces.
    pub type_name: Option<String>,
    pub about: Option<String>,
    /// Whether the node is a child of `rdf:RDF` rather than nested in a property.
    pub top_level: bool,
    /// Properties in document order; repeated properties are all kept.
    pub props: Vec<(String, String)>,
    /// Nested nodes, by the property holding them: (property, index in the document's
    /// descriptions).
    pub children: Vec<(String, usize)>,
}

impl Description {
    /// Whether the node is of the OSLC core type `local` (`ServiceProvider`), by its
    /// element name or an `rdf:type`.
    pub fn is_oslc(&self, local: &str) -> bool {
        self.type_name.as_deref().and_then(|t| t.strip_prefix("oslc:")) == Some(local)
            || self.values("rdf:type").any(|t| t.strip_prefix(NS_OSLC) == Some(local))
    }

    /// Every value of property `name`.
    pub fn values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.props.iter().filter(move |(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    /// The first value of property `name`.
    pub fn first<'a>(&'a self, name: &'a str) -> Option<&'a str> {
        self.values(name).next()
    }
}

/// Every resource description of a document (catalogs, service providers, shapes),
/// nested ones included, in document order.
pub fn parse_descriptions(input: &[u8], limits: Limits) -> Result<Vec<Description>, RdfError> {
    let graph = parse_graph(input, limits)?;
    if let Some(e) = error_in(&graph) {
        return Err(RdfError::Unexpected {
            expected: "a resource description".into(),
            found: format!("oslc:Error ({})", e.message),
        });
    }
    Ok(graph.descs)
}

/// What a document contained, flattened.
#[derive(Default)]
struct Graph {
    descs: Vec<Description>,
    atom_ids: Vec<String>,
}

enum Frame {
    /// An element outside RDF content (Atom feed structure, unknown wrappers).
    Outside {
        atom_entry: bool,
    },
    AtomId {
        text: String,
    },
    Rdf,
    Node(usize),
    Prop {
        node: usize,
        name: Option<String>,
        text: String,
        resource: Option<String>,
        has_child: bool,
        child: Option<usize>,
    },
}

fn prefix_for(ns: &[u8]) -> Option<&'static str> {
    PREFIXES.iter().find(|(_, uri)| uri.as_bytes() == ns).map(|(prefix, _)| *prefix)
}

fn namespace_of(prefix: &str) -> Option<&'static str> {
    PREFIXES.iter().find(|(p, _)| *p == prefix).map(|(_, uri)| *uri)
}

fn namespace_bytes(resolved: &ResolveResult<'_>) -> Option<Vec<u8>> {
    match resolved {
        ResolveResult::Bound(ns) => Some(ns.as_ref().to_vec()),
        _ => None,
    }
}

fn qualified(ns: Option<&[u8]>, local: &[u8]) -> Option<String> {
    let prefix = prefix_for(ns?)?;
    let local = std::str::from_utf8(local).ok()?;
    Some(format!("{prefix}:{local}"))
}

fn is_atom(ns: Option<&[u8]>, local: &[u8], want: &str) -> bool {
    ns == Some(NS_ATOM.as_bytes()) && local == want.as_bytes()
}

fn display_name(raw: &[u8]) -> String {
    String::from_utf8_lossy(raw).into_owned()
}

fn parse_graph(input: &[u8], limits: Limits) -> Result<Graph, RdfError> {
    if input.len() > limits.max_bytes {
        return Err(RdfError::TooLarge { size: input.len(), limit: limits.max_bytes });
    }
    let text = std::str::from_utf8(input).map_err(|_| RdfError::NotUtf8)?;
    let mut reader = NsReader::from_str(text);
    {
        let config = reader.config_mut();
        config.expand_empty_elements = true;
        config.trim_text(false);
        config.check_end_names = true;
    }

    let mut graph = Graph::default();
    let mut stack: Vec<Frame> = Vec::new();
    let mut elements = 0usize;
    let mut saw_root = false;

    loop {
        let position = reader.buffer_position();
        let malformed = |reason: String| RdfError::Malformed { position, reason };
        let (resolved, event) = reader.read_resolved_event().map_err(|e| malformed(e.to_string()))?;
        let ns = namespace_bytes(&resolved);
        let ns = ns.as_deref();
        match event {
            Event::DocType(_) => return Err(RdfError::DocType),
            Event::Start(start) => {
                elements += 1;
                if elements > limits.max_elements {
                    return Err(RdfError::TooManyElements { limit: limits.max_elements });
                }
                if stack.len() >= limits.max_depth {
                    return Err(RdfError::TooDeep {
                        limit: limits.max_depth,
                        element: display_name(start.name().as_ref()),
                    });
                }
                if stack.is_empty() {
                    if saw_root {
                        return Err(malformed("more than one root element".into()));
                    }
                    saw_root = true;
                }
                let local = start.local_name();
                let name = qualified(ns, local.as_ref());

                // Attributes: rdf:about / rdf:resource, and property attributes.
                let mut about = None;
                let mut resource = None;
                let mut attr_props = Vec::new();
                for attr in start.attributes() {
                    let attr = attr.map_err(|e| malformed(e.to_string()))?;
                    let (attr_ns, attr_local) = reader.resolve_attribute(attr.key);
                    let value =
                        attr.unescape_value().map_err(|e| malformed(format!("attribute value: {e}")))?.into_owned();
                    match qualified(namespace_bytes(&attr_ns).as_deref(), attr_local.as_ref()).as_deref() {
                        Some("rdf:about") => about = Some(value),
                        Some("rdf:resource") => resource = Some(value),
                        Some(n) if n.starts_with("rdf:") => {}
                        Some(n) => attr_props.push((n.to_owned(), value)),
                        None => {}
                    }
                }

                let frame = match stack.last_mut() {
                    None | Some(Frame::Outside { .. }) | Some(Frame::AtomId { .. }) => {
                        let in_entry = matches!(stack.last(), Some(Frame::Outside { atom_entry: true }));
                        if name.as_deref() == Some("rdf:RDF") {
                            Frame::Rdf
                        } else if in_entry && is_atom(ns, local.as_ref(), "id") {
                            Frame::AtomId { text: String::new() }
                        } else {
                            Frame::Outside { atom_entry: is_atom(ns, local.as_ref(), "entry") }
                        }
                    }
                    Some(Frame::Rdf) => new_node(&mut graph, name, about, attr_props, true),
                    Some(Frame::Prop { resource: prop_resource, has_child, child, .. }) => {
                        *has_child = true;
                        *child = Some(graph.descs.len());
                        if prop_resource.is_none() {
                            prop_resource.clone_from(&about);
                        }
                        new_node(&mut graph, name, about, attr_props, false)
                    }
                    Some(Frame::Node(node)) => {
                        Frame::Prop { node: *node, name, text: String::new(), resource, has_child: false, child: None }
                    }
                };
                stack.push(frame);
            }
            Event::End(_) => match stack.pop() {
                Some(Frame::Prop { node, name: Some(name), text, resource, has_child, child }) => {
                    if let (Some(child), Some(desc)) = (child, graph.descs.get_mut(node)) {
                        desc.children.push((name.clone(), child));
                    }
                    let value = match resource {
                        Some(uri) => Some(uri),
                        None if !has_child => Some(text),
                        None => None,
                    };
                    if let (Some(value), Some(desc)) = (value, graph.descs.get_mut(node)) {
                        desc.props.push((name, value));
                    }
                }
                Some(Frame::AtomId { text }) => graph.atom_ids.push(text.trim().to_owned()),
                Some(_) => {}
                None => return Err(malformed("closing tag without an open element".into())),
            },
            Event::Text(t) => {
                let wants_text = matches!(stack.last(), Some(Frame::Prop { .. } | Frame::AtomId { .. }));
                if wants_text {
                    let value = t.unescape().map_err(|e| malformed(format!("text: {e}")))?;
                    push_text(&mut stack, &value);
                }
            }
            Event::CData(c) => {
                let raw = c.into_inner();
                let value = std::str::from_utf8(&raw).map_err(|_| RdfError::NotUtf8)?;
                push_text(&mut stack, value);
            }
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
            Event::Empty(_) => {
                // expand_empty_elements turns these into Start + End.
            }
            Event::Eof => break,
        }
    }
    if !stack.is_empty() {
        return Err(RdfError::Malformed {
            position: reader.buffer_position(),
            reason: "document ends inside an open element".into(),
        });
    }
    if !saw_root {
        return Err(RdfError::Unexpected { expected: "an RDF/XML document".into(), found: "no element".into() });
    }
    Ok(graph)
}

fn push_text(stack: &mut [Frame], value: &str) {
    match stack.last_mut() {
        Some(Frame::Prop { text, .. }) | Some(Frame::AtomId { text }) => text.push_str(value),
        _ => {}
    }
}

fn new_node(
    graph: &mut Graph,
    name: Option<String>,
    about: Option<String>,
    attr_props: Vec<(String, String)>,
    top_level: bool,
) -> Frame {
    let type_name = name.filter(|n| n != "rdf:Description");
    graph.descs.push(Description { type_name, about, top_level, props: attr_props, children: Vec::new() });
    Frame::Node(graph.descs.len() - 1)
}

/// A ClearQuest record as read from or written to the wire.
///
/// Properties are keyed by prefixed name (`cq:Headline`, `dcterms:modified`);
/// a property given as `rdf:resource` holds the URI. A repeated property keeps its
/// last value: ClearQuest fields deskgate uses are single-valued.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CqRecord {
    /// The record URI (`rdf:about`), absent in a body to be created.
    pub about: Option<String>,
    /// Prefixed node type; written as `oslc_cm:ChangeRequest` when absent.
    pub type_name: Option<String>,
    pub props: BTreeMap<String, String>,
}

impl CqRecord {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.props.get(name).map(String::as_str)
    }

    pub fn set(&mut self, name: impl Into<String>, value: impl Into<String>) -> &mut Self {
        self.props.insert(name.into(), value.into());
        self
    }

    /// The record of `d`; a nested node's properties become scoped properties
    /// (`cq:history{cq:action_timestamp}`), one line per node in document order.
    fn from_description(d: &Description, all: &[Description]) -> Self {
        let mut props: BTreeMap<String, String> = d.props.iter().cloned().collect();
        for (name, child) in &d.children {
            for (inner, value) in all.get(*child).map(|c| c.props.as_slice()).unwrap_or_default() {
                let entry = props.entry(format!("{name}{{{inner}}}")).or_default();
                if !entry.is_empty() {
                    entry.push('\n');
                }
                entry.push_str(value.trim());
            }
        }
        Self { about: d.about.clone(), type_name: d.type_name.clone(), props }
    }
}

const NON_RECORD_TYPES: [&str; 5] =
    ["oslc:Error", "oslc:ResponseInfo", "oslc:ServiceProvider", "oslc:ServiceProviderCatalog", "oslc:ExtendedError"];

fn is_record(d: &Description) -> bool {
    let typed_as_other = d.type_name.as_deref().is_some_and(|t| NON_RECORD_TYPES.contains(&t));
    // A description holding only rdfs:member is the query result container.
    let container = !d.props.is_empty() && d.props.iter().all(|(n, _)| n == "rdfs:member");
    // An untyped description without properties says nothing about a record (an
    // empty result container, for one).
    !typed_as_other && !container && (d.type_name.is_some() || !d.props.is_empty())
}

/// An `oslc:Error` answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ErrorBody {
    pub status: Option<u16>,
    pub message: String,
}

fn error_in(graph: &Graph) -> Option<ErrorBody> {
    let d = graph.descs.iter().find(|d| d.type_name.as_deref() == Some("oslc:Error"))?;
    let get = |n: &str| d.props.iter().find(|(k, _)| k == n).map(|(_, v)| v.trim().to_owned());
    Some(ErrorBody {
        status: get("oslc:statusCode").and_then(|s| s.parse().ok()),
        message: get("oslc:message").unwrap_or_default(),
    })
}

/// Parse the answer to a record GET/PUT/POST: the first top-level record description.
pub fn parse_record(input: &[u8], limits: Limits) -> Result<CqRecord, RdfError> {
    let graph = parse_graph(input, limits)?;
    if let Some(d) = graph.descs.iter().find(|d| d.top_level && is_record(d)) {
        return Ok(CqRecord::from_description(d, &graph.descs));
    }
    let found = match error_in(&graph) {
        Some(e) => format!("oslc:Error ({})", e.message),
        None => "no record description".into(),
    };
    Err(RdfError::Unexpected {
        expected: "a record (<oslc_cm:ChangeRequest rdf:about=\"…\"> inside <rdf:RDF>)".into(),
        found,
    })
}

/// A ClearQuest answer that is not a success, as an error naming the request and
/// the message of its `oslc:Error`, classed by the status.
pub fn refusal(what: &str, answer: &deskgate_adapter::http::Answer) -> deskgate_adapter::AdapterError {
    let mut message = format!("ClearQuest answered {} to {what}", answer.status.as_u16());
    if let Some(detail) = parse_error(&answer.body).map(|e| e.message).filter(|m| !m.is_empty()) {
        message.push_str(": ");
        message.push_str(&detail);
    }
    answer.error(message)
}

/// Parse an `oslc:Error` body, if the answer is one.
pub fn parse_error(input: &[u8]) -> Option<ErrorBody> {
    parse_graph(input, Limits::default()).ok().and_then(|g| error_in(&g))
}

/// One page of query results.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct QueryPage {
    /// Member records in the order the server listed them.
    pub records: Vec<CqRecord>,
    pub total_count: Option<u64>,
    /// URI of the next page (`oslc:nextPage`), when the server paged the answer.
    pub next_page: Option<String>,
}

/// Parse a query answer: RDF/XML (`oslc:ResponseInfo` + `rdfs:member`s + member
/// descriptions) or an Atom feed whose entries carry the records as RDF/XML.
pub fn parse_query(input: &[u8], limits: Limits) -> Result<QueryPage, RdfError> {
    let graph = parse_graph(input, limits)?;
    if let Some(e) = error_in(&graph) {
        return Err(RdfError::Unexpected {
            expected: "a query result".into(),
            found: format!("oslc:Error ({})", e.message),
        });
    }
    let mut page = QueryPage::default();
    if let Some(info) = graph.descs.iter().find(|d| d.type_name.as_deref() == Some("oslc:ResponseInfo")) {
        for (name, value) in &info.props {
            match name.as_str() {
                "oslc:totalCount" => {
                    let count = value.trim().parse().map_err(|_| RdfError::Unexpected {
                        expected: "a non-negative integer in <oslc:totalCount>".into(),
                        found: format!("{value:?}"),
                    })?;
                    page.total_count = Some(count);
                }
                "oslc:nextPage" => page.next_page = Some(value.clone()),
                _ => {}
            }
        }
    }

    let mut members: Vec<&str> = Vec::new();
    for d in &graph.descs {
        for (name, value) in &d.props {
            if name == "rdfs:member" && !members.contains(&value.as_str()) {
                members.push(value);
            }
        }
    }
    for id in &graph.atom_ids {
        if !members.contains(&id.as_str()) {
            members.push(id);
        }
    }

    if members.is_empty() {
        page.records = graph
            .descs
            .iter()
            .filter(|d| d.top_level && is_record(d))
            .map(|d| CqRecord::from_description(d, &graph.descs))
            .collect();
    } else {
        for member in members {
            let record = graph
                .descs
                .iter()
                .find(|d| d.about.as_deref() == Some(member) && is_record(d))
                .map(|d| CqRecord::from_description(d, &graph.descs))
                .unwrap_or_else(|| CqRecord { about: Some(member.to_owned()), ..CqRecord::default() });
            page.records.push(record);
        }
    }
    Ok(page)
}

// ---------------------------------------------------------------------------
// Writing

/// Properties whose value is a URI, written as `rdf:resource`.
const RESOURCE_PROPS: [&str; 5] =
    ["rdf:type", "rdfs:member", "oslc:nextPage", "oslc:serviceProvider", "oslc:instanceShape"];

fn is_name_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_' || (!c.is_ascii() && c.is_alphabetic())
}

fn is_name_char(c: char) -> bool {
    is_name_start(c) || c.is_ascii_digit() || c == '-' || c == '.' || (!c.is_ascii() && c.is_alphanumeric())
}

/// A scoped property `outer{inner}` (a property of the nodes `outer` refers to, such
/// as `cq:history{cq:action_timestamp}`), as its two names.
pub fn split_scoped(name: &str) -> Option<(&str, &str)> {
    let (outer, rest) = name.split_once('{')?;
    Some((outer, rest.strip_suffix('}')?))
}

/// Check a property name: prefixed (`cq:Headline`) or scoped
/// (`cq:history{cq:action_timestamp}`).
pub fn check_property(name: &str) -> Result<(), RdfError> {
    match split_scoped(name) {
        Some((outer, inner)) => check_name(outer).and_then(|_| check_name(inner)).map(|_| ()),
        None => check_name(name).map(|_| ()),
    }
}

/// Check a prefixed name (`cq:Headline`) and return its prefix.
pub fn check_name(name: &str) -> Result<&str, RdfError> {
    let fail = |reason: &str| RdfError::Write { name: name.to_owned(), reason: reason.to_owned() };
    let (prefix, local) = name.split_once(':').ok_or_else(|| fail("expected a prefixed name such as cq:Headline"))?;
    if namespace_of(prefix).is_none() {
        return Err(fail("unknown prefix (known: rdf, rdfs, dcterms, oslc, oslc_cm, cq)"));
    }
    let mut chars = local.chars();
    let valid = chars.next().is_some_and(is_name_start) && chars.all(is_name_char);
    if !valid {
        return Err(fail("local name is not an XML name"));
    }
    Ok(prefix)
}

/// Characters XML 1.0 cannot carry at all (not even as character references)
/// are replaced by U+FFFD rather than producing a document no parser accepts.
fn xml_char(c: char) -> char {
    match c {
        '\t' | '\n' | '\r' => c,
        c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => '\u{FFFD}',
        c => c,
    }
}

/// Escape text for element content (`attribute == false`) or a quoted attribute.
/// `\r` is written as a character reference so it survives line-end normalisation;
/// in attributes `\n` and `\t` are too, for attribute-value normalisation.
pub fn escape(out: &mut String, text: &str, attribute: bool) {
    for c in text.chars().map(xml_char) {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\r' => out.push_str("&#13;"),
            '\n' if attribute => out.push_str("&#10;"),
            '\t' if attribute => out.push_str("&#9;"),
            c => out.push(c),
        }
    }
}

/// What [`escape`] does to text that XML cannot carry: the value a reader gets back.
pub fn sanitize(text: &str) -> String {
    text.chars().map(xml_char).collect()
}

fn open_rdf(out: &mut String) {
    out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<rdf:RDF");
    for (prefix, uri) in PREFIXES {
        let _ = write!(out, "\n    xmlns:{prefix}=\"{uri}\"");
    }
    out.push_str(">\n");
}

fn write_description(out: &mut String, record: &CqRecord, indent: &str) -> Result<(), RdfError> {
    let type_name = record.type_name.as_deref().unwrap_or("oslc_cm:ChangeRequest");
    check_name(type_name)?;
    let _ = write!(out, "{indent}<{type_name}");
    if let Some(about) = &record.about {
        out.push_str(" rdf:about=\"");
        escape(out, about, true);
        out.push('"');
    }
    out.push_str(">\n");
    for (name, value) in &record.props {
        if let Some((outer, inner)) = split_scoped(name) {
            check_name(outer)?;
            check_name(inner)?;
            for line in value.lines() {
                let _ = write!(out, "{indent}  <{outer}>\n{indent}    <rdf:Description>\n{indent}      <{inner}>");
                escape(out, line, false);
                let _ = writeln!(out, "</{inner}>\n{indent}    </rdf:Description>\n{indent}  </{outer}>");
            }
            continue;
        }
        check_name(name)?;
        if RESOURCE_PROPS.contains(&name.as_str()) {
            let _ = write!(out, "{indent}  <{name} rdf:resource=\"");
            escape(out, value, true);
            out.push_str("\"/>\n");
        } else {
            let _ = write!(out, "{indent}  <{name}>");
            escape(out, value, false);
            let _ = writeln!(out, "</{name}>");
        }
    }
    let _ = writeln!(out, "{indent}</{type_name}>");
    Ok(())
}

/// Write one record as an RDF/XML document.
pub fn write_record(record: &CqRecord) -> Result<String, RdfError> {
    let mut out = String::with_capacity(512);
    open_rdf(&mut out);
    write_description(&mut out, record, "  ")?;
    out.push_str("</rdf:RDF>\n");
    Ok(out)
}

/// Write a query answer in ClearQuest's RDF/XML shape: `oslc:ResponseInfo`, the
/// result container with its `rdfs:member`s, then each member's description.
pub fn write_query_page(
    query_uri: &str,
    records: &[CqRecord],
    total_count: u64,
    next_page: Option<&str>,
) -> Result<String, RdfError> {
    let mut out = String::with_capacity(512 + records.len() * 512);
    open_rdf(&mut out);
    out.push_str("  <oslc:ResponseInfo rdf:about=\"");
    escape(&mut out, query_uri, true);
    out.push_str("\">\n");
    let _ = writeln!(out, "    <oslc:totalCount>{total_count}</oslc:totalCount>");
    if let Some(next) = next_page {
        out.push_str("    <oslc:nextPage rdf:resource=\"");
        escape(&mut out, next, true);
        out.push_str("\"/>\n");
    }
    out.push_str("  </oslc:ResponseInfo>\n  <rdf:Description rdf:about=\"");
    let base = query_uri.split('?').next().unwrap_or(query_uri);
    escape(&mut out, base, true);
    out.push_str("\">\n");
    for record in records {
        if let Some(about) = &record.about {
            out.push_str("    <rdfs:member rdf:resource=\"");
            escape(&mut out, about, true);
            out.push_str("\"/>\n");
        }
    }
    out.push_str("  </rdf:Description>\n");
    for record in records.iter().filter(|r| !r.props.is_empty()) {
        write_description(&mut out, record, "  ")?;
    }
    out.push_str("</rdf:RDF>\n");
    Ok(out)
}

/// Write a query answer as an Atom feed, each entry carrying its record as RDF/XML.
pub fn write_atom_feed(query_uri: &str, records: &[CqRecord]) -> Result<String, RdfError> {
    let mut out = String::with_capacity(512 + records.len() * 600);
    out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<feed xmlns=\"");
    out.push_str(NS_ATOM);
    out.push_str("\">\n  <id>");
    escape(&mut out, query_uri, false);
    out.push_str("</id>\n  <title>Query results</title>\n");
    for record in records {
        out.push_str("  <entry>\n    <id>");
        escape(&mut out, record.about.as_deref().unwrap_or_default(), false);
        out.push_str("</id>\n    <title>");
        escape(&mut out, record.get("cq:Headline").unwrap_or_default(), false);
        out.push_str("</title>\n    <content type=\"application/rdf+xml\">\n");
        let body = write_record(record)?;
        // Drop the XML declaration: it may only start a document.
        out.push_str(body.split_once("?>\n").map(|(_, rest)| rest).unwrap_or(&body));
        out.push_str("    </content>\n  </entry>\n");
    }
    out.push_str("</feed>\n");
    Ok(out)
}

/// Write an `oslc:Error` body.
pub fn write_error(status: u16, message: &str) -> String {
    let mut out = String::with_capacity(256 + message.len());
    open_rdf(&mut out);
    let _ = write!(out, "  <oslc:Error>\n    <oslc:statusCode>{status}</oslc:statusCode>\n    <oslc:message>");
    escape(&mut out, message, false);
    out.push_str("</oslc:message>\n  </oslc:Error>\n</rdf:RDF>\n");
    out
}

#[cfg(test)]
mod tests;
