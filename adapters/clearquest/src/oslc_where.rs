//! The part of OSLC query's `oslc.where` syntax deskgate needs: conjunctions of
//! comparisons between a prefixed property and a literal.
//!
//! ```text
//! where    := term ( "and" term )*
//! term     := name op value | name "{" name op value "}"
//! op       := "=" | "!=" | "<" | "<=" | ">" | ">="
//! value    := '"' string '"' [ "^^" name ] | number | "true" | "false"
//! ```
//!
//! The adapter builds expressions with [`Where`] and renders them with `Display`; the
//! simulator parses what it receives with [`Where::parse`] and evaluates it against
//! records. Input is bounded in length and term count, like the XML parser.

use std::cmp::Ordering;
use std::fmt;

use jiff::Timestamp;

/// Longest `oslc.where` accepted, in bytes.
pub const MAX_WHERE_BYTES: usize = 4096;
/// Most terms accepted in one expression.
pub const MAX_TERMS: usize = 32;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl Op {
    fn as_str(self) -> &'static str {
        match self {
            Op::Eq => "=",
            Op::Ne => "!=",
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
        }
    }

    fn holds(self, ordering: Ordering) -> bool {
        match self {
            Op::Eq => ordering == Ordering::Equal,
            Op::Ne => ordering != Ordering::Equal,
            Op::Lt => ordering == Ordering::Less,
            Op::Le => ordering != Ordering::Greater,
            Op::Gt => ordering == Ordering::Greater,
            Op::Ge => ordering != Ordering::Less,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Literal {
    /// A quoted string, optionally typed (`"2026-01-01T00:00:00Z"^^xsd:dateTime`).
    String {
        value: String,
        datatype: Option<String>,
    },
    /// A number as written (kept textual so `Display` round-trips).
    Number(String),
    Bool(bool),
}

impl Literal {
    pub fn string(value: impl Into<String>) -> Self {
        Literal::String { value: value.into(), datatype: None }
    }

    pub fn date_time(at: Timestamp) -> Self {
        Literal::String { value: at.to_string(), datatype: Some("xsd:dateTime".into()) }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Term {
    pub property: String,
    pub op: Op,
    pub value: Literal,
}

/// A conjunction of terms.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Where {
    pub terms: Vec<Term>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WhereError {
    #[error("oslc.where is {size} bytes, more than the {limit} accepted")]
    TooLong { size: usize, limit: usize },
    #[error("oslc.where has more than {limit} terms")]
    TooManyTerms { limit: usize },
    #[error("oslc.where at offset {offset}: expected {expected}, found {found}")]
    Syntax { offset: usize, expected: &'static str, found: String },
}

impl Where {
    pub fn new() -> Self {
        Self::default()
    }

    /// Add `property op value`.
    pub fn and(mut self, property: impl Into<String>, op: Op, value: Literal) -> Self {
        self.terms.push(Term { property: property.into(), op, value });
        self
    }

    pub fn parse(input: &str) -> Result<Self, WhereError> {
        if input.len() > MAX_WHERE_BYTES {
            return Err(WhereError::TooLong { size: input.len(), limit: MAX_WHERE_BYTES });
        }
        let mut p = Parser { s: input, pos: 0 };
        let mut terms = Vec::new();
        loop {
            if terms.len() == MAX_TERMS {
                return Err(WhereError::TooManyTerms { limit: MAX_TERMS });
            }
            terms.push(p.term()?);
            p.ws();
            if p.eof() {
                break;
            }
            p.keyword("and")?;
        }
        Ok(Self { terms })
    }

    /// Whether a record satisfies every term. `get` yields a property's value by
    /// prefixed name; an absent property satisfies only `!=`.
    pub fn matches<'a>(&self, get: impl Fn(&str) -> Option<&'a str>) -> bool {
        self.terms.iter().all(|t| match get(&t.property) {
            None => t.op == Op::Ne,
            Some(actual) => t.op.holds(compare(actual, &t.value)),
        })
    }
}

/// Compare a record's value with a literal: as instants when the literal is a
/// dateTime (or both sides read as one), as numbers for numbers, else as text.
fn compare(actual: &str, literal: &Literal) -> Ordering {
    match literal {
        Literal::String { value, datatype } => {
            let is_date = datatype.as_deref() == Some("xsd:dateTime");
            match (actual.parse::<Timestamp>(), value.parse::<Timestamp>()) {
                (Ok(a), Ok(b)) => a.cmp(&b),
                // A dateTime literal against a non-date value: order text-wise,
                // which never claims equality for different text.
                _ if is_date => actual.cmp(value.as_str()),
                _ => actual.cmp(value.as_str()),
            }
        }
        Literal::Number(n) => match (actual.trim().parse::<f64>(), n.parse::<f64>()) {
            (Ok(a), Ok(b)) => a.partial_cmp(&b).unwrap_or(Ordering::Less),
            _ => actual.cmp(n.as_str()),
        },
        Literal::Bool(b) => actual.cmp(if *b { "true" } else { "false" }),
    }
}

impl fmt::Display for Where {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, t) in self.terms.iter().enumerate() {
            if i > 0 {
                f.write_str(" and ")?;
            }
            // A scoped property `a{b}` is written as OSLC's scoped term `a{b op value}`.
            let scoped = t.property.split_once('{').and_then(|(a, b)| Some((a, b.strip_suffix('}')?)));
            match scoped {
                Some((outer, inner)) => write!(f, "{outer}{{{inner}{}", t.op.as_str())?,
                None => write!(f, "{}{}", t.property, t.op.as_str())?,
            }
            match &t.value {
                Literal::String { value, datatype } => {
                    f.write_str("\"")?;
                    for c in value.chars() {
                        match c {
                            '"' => f.write_str("\\\"")?,
                            '\\' => f.write_str("\\\\")?,
                            c => write!(f, "{c}")?,
                        }
                    }
                    f.write_str("\"")?;
                    if let Some(dt) = datatype {
                        write!(f, "^^{dt}")?;
                    }
                }
                Literal::Number(n) => f.write_str(n)?,
                Literal::Bool(b) => write!(f, "{b}")?,
            }
            if scoped.is_some() {
                f.write_str("}")?;
            }
        }
        Ok(())
    }
}

struct Parser<'a> {
    s: &'a str,
    pos: usize,
}

impl Parser<'_> {
    fn rest(&self) -> &str {
        &self.s[self.pos..]
    }

    fn eof(&self) -> bool {
        self.pos >= self.s.len()
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn ws(&mut self) {
        while let Some(c) = self.peek().filter(|c| c.is_whitespace()) {
            self.pos += c.len_utf8();
        }
    }

    fn err(&self, expected: &'static str) -> WhereError {
        let found: String = self.rest().chars().take(12).collect();
        WhereError::Syntax {
            offset: self.pos,
            expected,
            found: if found.is_empty() { "end of input".into() } else { format!("{found:?}") },
        }
    }

    fn keyword(&mut self, kw: &'static str) -> Result<(), WhereError> {
        // The keyword, then a space (slicing by `strip_prefix`: the input may hold any
        // character where the keyword would end).
        let boundary = self.rest().strip_prefix(kw).and_then(|after| after.chars().next());
        if boundary.is_some_and(char::is_whitespace) {
            self.pos += kw.len();
            Ok(())
        } else {
            Err(self.err("\"and\" followed by a space"))
        }
    }

    fn name(&mut self) -> Result<String, WhereError> {
        let start = self.pos;
        let is_name = |c: char| c.is_alphanumeric() || matches!(c, '_' | '-' | '.');
        while self.peek().is_some_and(is_name) {
            self.pos += self.peek().map_or(0, char::len_utf8);
        }
        let prefix_end = self.pos;
        if prefix_end == start || self.peek() != Some(':') {
            self.pos = start;
            return Err(self.err("a prefixed property name such as cq:State"));
        }
        self.pos += 1;
        let local_start = self.pos;
        while self.peek().is_some_and(is_name) {
            self.pos += self.peek().map_or(0, char::len_utf8);
        }
        if self.pos == local_start {
            return Err(self.err("a local name after the prefix"));
        }
        Ok(self.s[start..self.pos].to_owned())
    }

    fn op(&mut self) -> Result<Op, WhereError> {
        for (text, op) in [("!=", Op::Ne), ("<=", Op::Le), (">=", Op::Ge), ("=", Op::Eq), ("<", Op::Lt), (">", Op::Gt)]
        {
            if self.rest().starts_with(text) {
                self.pos += text.len();
                return Ok(op);
            }
        }
        Err(self.err("a comparison operator (=, !=, <, <=, >, >=)"))
    }

    fn value(&mut self) -> Result<Literal, WhereError> {
        match self.peek() {
            Some('"') => {
                self.pos += 1;
                let mut value = String::new();
                loop {
                    match self.peek() {
                        None => return Err(self.err("a closing quote")),
                        Some('"') => {
                            self.pos += 1;
                            break;
                        }
                        Some('\\') => {
                            self.pos += 1;
                            match self.peek() {
                                Some(c @ ('"' | '\\')) => {
                                    value.push(c);
                                    self.pos += 1;
                                }
                                _ => return Err(self.err("\\\" or \\\\ after a backslash")),
                            }
                        }
                        Some(c) => {
                            value.push(c);
                            self.pos += c.len_utf8();
                        }
                    }
                }
                let datatype = if self.rest().starts_with("^^") {
                    self.pos += 2;
                    Some(self.name()?)
                } else {
                    None
                };
                Ok(Literal::String { value, datatype })
            }
            Some(c) if c == '-' || c.is_ascii_digit() => {
                let start = self.pos;
                self.pos += 1;
                while self.peek().is_some_and(|c| c.is_ascii_digit() || c == '.') {
                    self.pos += 1;
                }
                let text = &self.s[start..self.pos];
                if text.parse::<f64>().is_err() {
                    self.pos = start;
                    return Err(self.err("a number"));
                }
                Ok(Literal::Number(text.to_owned()))
            }
            _ if self.rest().starts_with("true") => {
                self.pos += 4;
                Ok(Literal::Bool(true))
            }
            _ if self.rest().starts_with("false") => {
                self.pos += 5;
                Ok(Literal::Bool(false))
            }
            _ => Err(self.err("a quoted string, a number, true or false")),
        }
    }

    fn term(&mut self) -> Result<Term, WhereError> {
        self.ws();
        let mut property = self.name()?;
        self.ws();
        let scoped = self.peek() == Some('{');
        if scoped {
            self.pos += 1;
            self.ws();
            property = format!("{property}{{{}}}", self.name()?);
            self.ws();
        }
        let op = self.op()?;
        self.ws();
        let value = self.value()?;
        if scoped {
            self.ws();
            if self.peek() != Some('}') {
                return Err(self.err("a closing } after the scoped term"));
            }
            self.pos += 1;
        }
        Ok(Term { property, op, value })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_character_where_a_keyword_would_end_is_a_syntax_error_not_a_panic() {
        let err = Where::parse("cq:State=\"Open\" an\u{e9}d").unwrap_err();
        assert!(matches!(err, WhereError::Syntax { .. }), "{err:?}");
    }

    #[test]
    fn scoped_terms_round_trip() {
        let w = Where::new().and(
            "cq:history{cq:action_timestamp}",
            Op::Ge,
            Literal::date_time("2026-03-01T10:00:00Z".parse().unwrap()),
        );
        let text = w.to_string();
        assert_eq!(text, "cq:history{cq:action_timestamp>=\"2026-03-01T10:00:00Z\"^^xsd:dateTime}");
        assert_eq!(Where::parse(&text).unwrap(), w);
        assert!(Where::parse("cq:history{cq:action_timestamp>=\"x\"").is_err());
    }

    #[test]
    fn parses_and_evaluates() {
        let w = Where::parse(r#"cq:Corr="INC-1" and dcterms:modified>="2026-01-01T00:00:00Z"^^xsd:dateTime"#).unwrap();
        assert_eq!(w.terms.len(), 2);
        let rec = |k: &str| match k {
            "cq:Corr" => Some("INC-1"),
            "dcterms:modified" => Some("2026-01-01T00:00:01Z"),
            _ => None,
        };
        assert!(w.matches(rec));
        let old = |k: &str| match k {
            "cq:Corr" => Some("INC-1"),
            "dcterms:modified" => Some("2025-12-31T23:59:59Z"),
            _ => None,
        };
        assert!(!w.matches(old));
    }

    #[test]
    fn quoting_round_trips() {
        let w = Where::new().and("cq:Headline", Op::Ne, Literal::string(r#"say "hi" \ bye"#));
        assert_eq!(Where::parse(&w.to_string()).unwrap(), w);
    }

    #[test]
    fn errors_say_where_and_what() {
        let err = Where::parse("cq:State ~ 1").unwrap_err();
        assert!(err.to_string().contains("offset 9"), "{err}");
        assert!(Where::parse("State=\"x\"").is_err());
        assert!(Where::parse("cq:State=\"x\" or cq:a=1").is_err());
        assert!(Where::parse("cq:State=\"x").is_err());
        let many = vec!["cq:a=1"; MAX_TERMS + 1].join(" and ");
        assert!(matches!(Where::parse(&many), Err(WhereError::TooManyTerms { .. })));
    }

    #[test]
    fn absent_properties_only_satisfy_not_equal() {
        let none = |_: &str| None;
        assert!(!Where::parse("cq:a=1").unwrap().matches(none));
        assert!(Where::parse("cq:a!=1").unwrap().matches(none));
    }
}
