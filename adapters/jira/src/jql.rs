//! JQL: parse, evaluate and print the subset of the Jira Query Language deskgate
//! speaks and answers.
//!
//! Used on both sides of the wire: the adapter writes queries with it (so values
//! are always quoted correctly), and the gateway's Jira-compatible inbound API and
//! the Jira simulator evaluate the queries they receive with it.
//!
//! Supported: `=`, `!=`, `~` (contains), `!~`, `>`, `>=`, `<`, `<=`, `IN (…)`,
//! `NOT IN (…)`, `IS [NOT] EMPTY|NULL`, `AND`, `OR`, `NOT`, parentheses, quoted
//! (`"…"`, `'…'`) and unquoted values, field names such as `cf[10042]` or
//! `"Story Points"`, and `ORDER BY f [ASC|DESC], …`. Keywords are case-insensitive.
//! Functions (`currentUser()`) and history operators (`WAS`, `CHANGED`) are not.
//!
//! Parsing is bounded: input longer than [`MAX_QUERY_BYTES`] and nesting (parentheses
//! and `NOT`) deeper than [`MAX_DEPTH`] are refused, so a hostile query cannot
//! exhaust the stack or the CPU. Every error names the byte position and what was
//! expected there.
//!
//! ```
//! use deskgate_jira::jql::{FieldValue, Query};
//!
//! let q = Query::parse(r#"project = DRIFT AND status IN ("Open", "In Progress") ORDER BY updated DESC"#)?;
//! let matched = q.matches(|field| match field {
//!     "project" => Some(FieldValue::text("DRIFT")),
//!     "status" => Some(FieldValue::text("open")),
//!     _ => None,
//! });
//! assert!(matched);
//! # Ok::<(), deskgate_jira::jql::JqlError>(())
//! ```

use std::cmp::Ordering;
use std::fmt;

use jiff::Timestamp;
use jiff::civil::{Date, DateTime};
use jiff::tz::TimeZone;

/// Longest query accepted, in bytes.
pub const MAX_QUERY_BYTES: usize = 16 * 1024;
/// Deepest nesting of parentheses and `NOT` accepted.
pub const MAX_DEPTH: usize = 32;

/// A parsed query: an optional filter and an optional ordering.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Query {
    /// `None` matches every issue (`ORDER BY created` alone, or an empty query).
    pub filter: Option<Clause>,
    pub order_by: Vec<SortKey>,
}

/// A boolean combination of terms.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Clause {
    /// Two or more clauses that must all match.
    And(Vec<Clause>),
    /// Two or more clauses of which one must match.
    Or(Vec<Clause>),
    Not(Box<Clause>),
    Term(Term),
}

/// `field op operand`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Term {
    /// As written: `status`, `cf[10042]`, `customfield_10042`, `Story Points`.
    pub field: String,
    pub op: Operator,
    pub operand: Operand,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Operator {
    Eq,
    NotEq,
    /// `~`: the field's text contains the value (case-insensitive).
    Contains,
    /// `!~`
    NotContains,
    Gt,
    Ge,
    Lt,
    Le,
    In,
    NotIn,
    Is,
    IsNot,
}

impl Operator {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Eq => "=",
            Self::NotEq => "!=",
            Self::Contains => "~",
            Self::NotContains => "!~",
            Self::Gt => ">",
            Self::Ge => ">=",
            Self::Lt => "<",
            Self::Le => "<=",
            Self::In => "IN",
            Self::NotIn => "NOT IN",
            Self::Is => "IS",
            Self::IsNot => "IS NOT",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Operand {
    Value(String),
    /// For `IN` / `NOT IN`.
    List(Vec<String>),
    /// `EMPTY` or `NULL`.
    Empty,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SortKey {
    pub field: String,
    pub descending: bool,
}

/// Why a query was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("Error in the JQL Query: {kind} (at position {position})")]
pub struct JqlError {
    /// Byte offset into the query where the problem was found.
    pub position: usize,
    pub kind: JqlErrorKind,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum JqlErrorKind {
    #[error("the query is {len} bytes long; at most {max} are accepted")]
    TooLong { len: usize, max: usize },
    #[error("the query nests deeper than {max} levels of parentheses or NOT")]
    TooDeep { max: usize },
    #[error("expected {expected}, found {found}")]
    Unexpected { expected: String, found: String },
    #[error("the quoted string is never closed")]
    UnterminatedString,
}

impl Query {
    /// Parse a JQL query, refusing oversized or overly nested input.
    pub fn parse(input: &str) -> Result<Self, JqlError> {
        if input.len() > MAX_QUERY_BYTES {
            return Err(JqlError {
                position: MAX_QUERY_BYTES,
                kind: JqlErrorKind::TooLong { len: input.len(), max: MAX_QUERY_BYTES },
            });
        }
        let tokens = lex(input)?;
        let mut parser = Parser { tokens, pos: 0, end: input.len() };
        parser.query()
    }

    /// Whether an issue matches, reading its fields through `get`. Dates in the
    /// query are read in UTC; relative dates (`-5d`) count from now.
    pub fn matches(&self, get: impl Fn(&str) -> Option<FieldValue>) -> bool {
        self.matches_with(&EvalContext::default(), get)
    }

    /// [`Query::matches`] with an explicit clock and time zone for date values.
    pub fn matches_with(&self, ctx: &EvalContext, get: impl Fn(&str) -> Option<FieldValue>) -> bool {
        match &self.filter {
            None => true,
            Some(clause) => clause.matches(ctx, &get),
        }
    }

    /// Order two issues by the query's `ORDER BY` keys (equal when there are none).
    /// Missing values sort after present ones in ascending order.
    pub fn compare(&self, a: impl Fn(&str) -> Option<FieldValue>, b: impl Fn(&str) -> Option<FieldValue>) -> Ordering {
        for key in &self.order_by {
            let ordering = match (a(&key.field), b(&key.field)) {
                (Some(x), Some(y)) => compare_values(&x, &y),
                (Some(_), None) => Ordering::Less,
                (None, Some(_)) => Ordering::Greater,
                (None, None) => Ordering::Equal,
            };
            let ordering = if key.descending { ordering.reverse() } else { ordering };
            if ordering != Ordering::Equal {
                return ordering;
            }
        }
        Ordering::Equal
    }

    /// Every field name the query mentions, filter and ordering, in order of appearance.
    pub fn fields(&self) -> Vec<&str> {
        let mut out = Vec::new();
        if let Some(clause) = &self.filter {
            clause.collect_fields(&mut out);
        }
        out.extend(self.order_by.iter().map(|k| k.field.as_str()));
        out
    }
}

impl std::str::FromStr for Query {
    type Err = JqlError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// A field's value on one issue, as the evaluator sees it.
#[derive(Clone, Debug, PartialEq)]
pub enum FieldValue {
    /// Names, keys, summaries, numbers as text. Compared case-insensitively;
    /// numerically when both sides are numbers; by number within one project for
    /// issue keys (`DRIFT-9` < `DRIFT-10`).
    Text(String),
    /// `created`, `updated`, …
    Time(Timestamp),
    /// Multi-valued fields (`labels`): a term matches when any element does.
    List(Vec<String>),
}

impl FieldValue {
    pub fn text(s: impl Into<String>) -> Self {
        Self::Text(s.into())
    }

    fn is_empty(&self) -> bool {
        match self {
            Self::Text(s) => s.is_empty(),
            Self::Time(_) => false,
            Self::List(items) => items.is_empty(),
        }
    }
}

/// Clock and zone for date values in a query: Jira reads `"2024/01/15 10:30"` in
/// the searching user's time zone and `-5d` relative to now.
#[derive(Clone, Debug)]
pub struct EvalContext {
    pub now: Timestamp,
    pub time_zone: TimeZone,
}

impl Default for EvalContext {
    fn default() -> Self {
        Self { now: Timestamp::now(), time_zone: TimeZone::UTC }
    }
}

/// Read a JQL date value: `yyyy/MM/dd HH:mm`, `yyyy-MM-dd HH:mm`, `yyyy/MM/dd`,
/// `yyyy-MM-dd` (in `ctx.time_zone`), a full timestamp, or a relative offset such
/// as `-5d`, `-4h`, `-30m`, `-2w` (from `ctx.now`).
pub fn parse_date(value: &str, ctx: &EvalContext) -> Option<Timestamp> {
    let value = value.trim();
    if let Some(ts) = crate::wire::parse_timestamp(value) {
        return Some(ts);
    }
    if let Some(offset) = parse_relative(value) {
        return ctx.now.checked_add(offset).ok();
    }
    let normalized = value.replace('/', "-");
    let civil = if let Ok(dt) = DateTime::strptime("%Y-%m-%d %H:%M", &normalized) {
        dt
    } else {
        Date::strptime("%Y-%m-%d", &normalized).ok()?.to_datetime(jiff::civil::Time::midnight())
    };
    ctx.time_zone.to_ambiguous_timestamp(civil).compatible().ok()
}

fn parse_relative(value: &str) -> Option<jiff::SignedDuration> {
    let (sign, rest) = match value.as_bytes().first()? {
        b'-' => (-1i64, &value[1..]),
        b'+' => (1, &value[1..]),
        _ => (1, value),
    };
    let unit = rest.chars().last()?;
    let amount: i64 = rest[..rest.len() - unit.len_utf8()].parse().ok()?;
    let seconds = match unit {
        'm' => 60,
        'h' => 3600,
        'd' => 86_400,
        'w' => 7 * 86_400,
        _ => return None,
    };
    Some(jiff::SignedDuration::from_secs(sign.checked_mul(amount)?.checked_mul(seconds)?))
}

// ---------------------------------------------------------------------------
// evaluation

impl Clause {
    fn matches(&self, ctx: &EvalContext, get: &dyn Fn(&str) -> Option<FieldValue>) -> bool {
        match self {
            Self::And(clauses) => clauses.iter().all(|c| c.matches(ctx, get)),
            Self::Or(clauses) => clauses.iter().any(|c| c.matches(ctx, get)),
            Self::Not(inner) => !inner.matches(ctx, get),
            Self::Term(term) => term.matches(ctx, get(&term.field)),
        }
    }

    fn collect_fields<'a>(&'a self, out: &mut Vec<&'a str>) {
        match self {
            Self::And(cs) | Self::Or(cs) => cs.iter().for_each(|c| c.collect_fields(out)),
            Self::Not(inner) => inner.collect_fields(out),
            Self::Term(t) => out.push(&t.field),
        }
    }
}

impl Term {
    fn matches(&self, ctx: &EvalContext, value: Option<FieldValue>) -> bool {
        let empty = value.as_ref().is_none_or(FieldValue::is_empty);
        match (&self.op, &self.operand) {
            (Operator::Is | Operator::Eq, Operand::Empty) => return empty,
            (Operator::IsNot | Operator::NotEq, Operand::Empty) => return !empty,
            _ => {}
        }
        // Like Jira, a negated comparison does not match issues where the field is empty.
        let Some(value) = value.filter(|v| !v.is_empty()) else {
            return false;
        };
        match (&self.op, &self.operand) {
            (Operator::Eq, Operand::Value(lit)) => equals(ctx, &value, lit),
            (Operator::NotEq, Operand::Value(lit)) => !equals(ctx, &value, lit),
            (Operator::In, Operand::List(list)) => list.iter().any(|lit| equals(ctx, &value, lit)),
            (Operator::NotIn, Operand::List(list)) => !list.iter().any(|lit| equals(ctx, &value, lit)),
            (Operator::Contains, Operand::Value(lit)) => contains(&value, lit),
            (Operator::NotContains, Operand::Value(lit)) => !contains(&value, lit),
            (Operator::Gt, Operand::Value(lit)) => ordered(ctx, &value, lit, Ordering::is_gt),
            (Operator::Ge, Operand::Value(lit)) => ordered(ctx, &value, lit, Ordering::is_ge),
            (Operator::Lt, Operand::Value(lit)) => ordered(ctx, &value, lit, Ordering::is_lt),
            (Operator::Le, Operand::Value(lit)) => ordered(ctx, &value, lit, Ordering::is_le),
            // The parser never builds other combinations.
            _ => false,
        }
    }
}

fn equals(ctx: &EvalContext, value: &FieldValue, lit: &str) -> bool {
    match value {
        FieldValue::Text(s) => compare_text(s, lit) == Ordering::Equal,
        FieldValue::List(items) => items.iter().any(|s| compare_text(s, lit) == Ordering::Equal),
        FieldValue::Time(t) => parse_date(lit, ctx).is_some_and(|d| d == *t),
    }
}

fn contains(value: &FieldValue, lit: &str) -> bool {
    // `~ "\"exact phrase\""` asks for a phrase: the inner quotes are not part of it.
    let needle = lit.trim().trim_matches('"').to_lowercase();
    let hay = |s: &str| s.to_lowercase().contains(&needle);
    match value {
        FieldValue::Text(s) => hay(s),
        FieldValue::List(items) => items.iter().any(|s| hay(s)),
        FieldValue::Time(_) => false,
    }
}

fn ordered(ctx: &EvalContext, value: &FieldValue, lit: &str, want: fn(Ordering) -> bool) -> bool {
    match value {
        FieldValue::Time(t) => parse_date(lit, ctx).is_some_and(|d| want(t.cmp(&d))),
        FieldValue::Text(s) => want(compare_text(s, lit)),
        FieldValue::List(items) => items.iter().any(|s| want(compare_text(s, lit))),
    }
}

fn compare_values(a: &FieldValue, b: &FieldValue) -> Ordering {
    match (a, b) {
        (FieldValue::Time(x), FieldValue::Time(y)) => x.cmp(y),
        (FieldValue::Text(x), FieldValue::Text(y)) => compare_text(x, y),
        (FieldValue::List(x), FieldValue::List(y)) => {
            let first = |l: &[String]| l.first().cloned().unwrap_or_default();
            compare_text(&first(x), &first(y))
        }
        // Mixed kinds cannot come from one field; order them stably.
        (x, y) => rank(x).cmp(&rank(y)),
    }
}

fn rank(v: &FieldValue) -> u8 {
    match v {
        FieldValue::Text(_) => 0,
        FieldValue::Time(_) => 1,
        FieldValue::List(_) => 2,
    }
}

/// Numbers numerically, issue keys by project then number, all else case-insensitively.
fn compare_text(a: &str, b: &str) -> Ordering {
    if let (Ok(x), Ok(y)) = (a.trim().parse::<f64>(), b.trim().parse::<f64>()) {
        return x.partial_cmp(&y).unwrap_or(Ordering::Equal);
    }
    if let (Some((pa, na)), Some((pb, nb))) = (split_key(a), split_key(b)) {
        let by_project = pa.to_lowercase().cmp(&pb.to_lowercase());
        return by_project.then(na.cmp(&nb));
    }
    a.to_lowercase().cmp(&b.to_lowercase())
}

fn split_key(key: &str) -> Option<(&str, u64)> {
    let (project, number) = key.rsplit_once('-')?;
    if project.is_empty() || !project.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return None;
    }
    Some((project, number.parse().ok()?))
}

// ---------------------------------------------------------------------------
// lexing

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Word(String),
    Str(String),
    LParen,
    RParen,
    Comma,
    Op(Operator),
}

#[derive(Clone, Debug)]
struct Token {
    tok: Tok,
    at: usize,
}

fn is_word_char(c: char) -> bool {
    !c.is_whitespace() && !matches!(c, '(' | ')' | ',' | '=' | '!' | '~' | '<' | '>' | '"' | '\'')
}

fn lex(input: &str) -> Result<Vec<Token>, JqlError> {
    let mut tokens = Vec::new();
    let mut chars = input.char_indices().peekable();
    while let Some(&(at, c)) = chars.peek() {
        let simple = |tok| Token { tok, at };
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            '(' => {
                chars.next();
                tokens.push(simple(Tok::LParen));
            }
            ')' => {
                chars.next();
                tokens.push(simple(Tok::RParen));
            }
            ',' => {
                chars.next();
                tokens.push(simple(Tok::Comma));
            }
            '=' | '~' => {
                chars.next();
                let op = if c == '=' { Operator::Eq } else { Operator::Contains };
                tokens.push(simple(Tok::Op(op)));
            }
            '!' | '<' | '>' => {
                chars.next();
                let next = chars.peek().map(|&(_, n)| n);
                let op = match (c, next) {
                    ('!', Some('=')) => Some(Operator::NotEq),
                    ('!', Some('~')) => Some(Operator::NotContains),
                    ('<', Some('=')) => Some(Operator::Le),
                    ('>', Some('=')) => Some(Operator::Ge),
                    _ => None,
                };
                let op = match op {
                    Some(op) => {
                        chars.next();
                        op
                    }
                    None if c == '<' => Operator::Lt,
                    None if c == '>' => Operator::Gt,
                    None => {
                        return Err(JqlError {
                            position: at,
                            kind: JqlErrorKind::Unexpected { expected: "'!=' or '!~'".into(), found: "'!'".into() },
                        });
                    }
                };
                tokens.push(simple(Tok::Op(op)));
            }
            '"' | '\'' => {
                chars.next();
                let mut value = String::new();
                let mut closed = false;
                while let Some((_, ch)) = chars.next() {
                    match ch {
                        '\\' => match chars.next() {
                            Some((_, 'n')) => value.push('\n'),
                            Some((_, 't')) => value.push('\t'),
                            Some((_, 'r')) => value.push('\r'),
                            Some((_, other)) => value.push(other),
                            None => break,
                        },
                        ch if ch == c => {
                            closed = true;
                            break;
                        }
                        ch => value.push(ch),
                    }
                }
                if !closed {
                    return Err(JqlError { position: at, kind: JqlErrorKind::UnterminatedString });
                }
                tokens.push(simple(Tok::Str(value)));
            }
            _ => {
                let mut word = String::new();
                while let Some(&(_, ch)) = chars.peek() {
                    if !is_word_char(ch) {
                        break;
                    }
                    word.push(ch);
                    chars.next();
                }
                tokens.push(simple(Tok::Word(word)));
            }
        }
    }
    Ok(tokens)
}

const KEYWORDS: &[&str] = &["AND", "OR", "NOT", "IN", "IS", "EMPTY", "NULL", "ORDER", "BY", "ASC", "DESC"];

fn is_keyword(word: &str) -> bool {
    KEYWORDS.iter().any(|k| k.eq_ignore_ascii_case(word))
}

// ---------------------------------------------------------------------------
// parsing

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
    end: usize,
}

const OPERATORS: &str = "an operator (=, !=, ~, !~, <, <=, >, >=, IN, NOT IN, IS, IS NOT)";

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.tokens.get(self.pos).map(|t| &t.tok)
    }

    fn at(&self) -> usize {
        self.tokens.get(self.pos).map_or(self.end, |t| t.at)
    }

    fn bump(&mut self) -> Option<Tok> {
        let tok = self.tokens.get(self.pos).map(|t| t.tok.clone());
        self.pos += 1;
        tok
    }

    fn peek_keyword(&self, keyword: &str) -> bool {
        matches!(self.peek(), Some(Tok::Word(w)) if w.eq_ignore_ascii_case(keyword))
    }

    fn eat_keyword(&mut self, keyword: &str) -> bool {
        let found = self.peek_keyword(keyword);
        if found {
            self.pos += 1;
        }
        found
    }

    fn error(&self, expected: &str) -> JqlError {
        let found = match self.peek() {
            None => "the end of the query".to_owned(),
            Some(Tok::Word(w)) => format!("'{w}'"),
            Some(Tok::Str(s)) => format!("\"{s}\""),
            Some(Tok::LParen) => "'('".to_owned(),
            Some(Tok::RParen) => "')'".to_owned(),
            Some(Tok::Comma) => "','".to_owned(),
            Some(Tok::Op(op)) => format!("'{}'", op.as_str()),
        };
        JqlError { position: self.at(), kind: JqlErrorKind::Unexpected { expected: expected.to_owned(), found } }
    }

    fn query(&mut self) -> Result<Query, JqlError> {
        let filter = if self.peek().is_none() || self.peek_keyword("ORDER") { None } else { Some(self.or(0)?) };
        let mut order_by = Vec::new();
        if self.eat_keyword("ORDER") {
            if !self.eat_keyword("BY") {
                return Err(self.error("BY after ORDER"));
            }
            loop {
                let field = self.field()?;
                let descending = if self.eat_keyword("DESC") {
                    true
                } else {
                    self.eat_keyword("ASC");
                    false
                };
                order_by.push(SortKey { field, descending });
                if self.peek() == Some(&Tok::Comma) {
                    self.pos += 1;
                } else {
                    break;
                }
            }
        }
        if self.peek().is_some() {
            let expected = if order_by.is_empty() { "AND, OR or ORDER BY" } else { "',' or the end of the query" };
            return Err(self.error(expected));
        }
        Ok(Query { filter, order_by })
    }

    fn check_depth(&self, depth: usize) -> Result<(), JqlError> {
        if depth > MAX_DEPTH {
            Err(JqlError { position: self.at(), kind: JqlErrorKind::TooDeep { max: MAX_DEPTH } })
        } else {
            Ok(())
        }
    }

    fn or(&mut self, depth: usize) -> Result<Clause, JqlError> {
        let mut clauses = vec![self.and(depth)?];
        while self.eat_keyword("OR") {
            clauses.push(self.and(depth)?);
        }
        Ok(if clauses.len() == 1 { clauses.remove(0) } else { Clause::Or(clauses) })
    }

    fn and(&mut self, depth: usize) -> Result<Clause, JqlError> {
        let mut clauses = vec![self.not(depth)?];
        while self.eat_keyword("AND") {
            clauses.push(self.not(depth)?);
        }
        Ok(if clauses.len() == 1 { clauses.remove(0) } else { Clause::And(clauses) })
    }

    fn not(&mut self, depth: usize) -> Result<Clause, JqlError> {
        if self.eat_keyword("NOT") {
            self.check_depth(depth + 1)?;
            return Ok(Clause::Not(Box::new(self.not(depth + 1)?)));
        }
        if self.peek() == Some(&Tok::LParen) {
            self.check_depth(depth + 1)?;
            self.pos += 1;
            let inner = self.or(depth + 1)?;
            if self.peek() != Some(&Tok::RParen) {
                return Err(self.error("')' or AND, OR"));
            }
            self.pos += 1;
            return Ok(inner);
        }
        self.term().map(Clause::Term)
    }

    fn field(&mut self) -> Result<String, JqlError> {
        match self.peek() {
            Some(Tok::Str(s)) => {
                let s = s.clone();
                self.pos += 1;
                Ok(s)
            }
            Some(Tok::Word(w)) if !is_keyword(w) => {
                let w = w.clone();
                self.pos += 1;
                Ok(w)
            }
            _ => Err(self.error("a field name")),
        }
    }

    fn term(&mut self) -> Result<Term, JqlError> {
        let field = self.field()?;
        let op = match self.peek() {
            Some(Tok::Op(op)) => {
                let op = *op;
                self.pos += 1;
                op
            }
            Some(Tok::Word(w)) if w.eq_ignore_ascii_case("IN") => {
                self.pos += 1;
                Operator::In
            }
            Some(Tok::Word(w)) if w.eq_ignore_ascii_case("NOT") => {
                self.pos += 1;
                if !self.eat_keyword("IN") {
                    return Err(self.error("IN after NOT"));
                }
                Operator::NotIn
            }
            Some(Tok::Word(w)) if w.eq_ignore_ascii_case("IS") => {
                self.pos += 1;
                if self.eat_keyword("NOT") { Operator::IsNot } else { Operator::Is }
            }
            _ => return Err(self.error(OPERATORS)),
        };
        let operand = match op {
            Operator::In | Operator::NotIn => Operand::List(self.list()?),
            Operator::Is | Operator::IsNot => {
                if self.eat_keyword("EMPTY") || self.eat_keyword("NULL") {
                    Operand::Empty
                } else {
                    return Err(self.error("EMPTY or NULL"));
                }
            }
            Operator::Eq | Operator::NotEq => {
                if self.eat_keyword("EMPTY") || self.eat_keyword("NULL") {
                    Operand::Empty
                } else {
                    Operand::Value(self.value()?)
                }
            }
            _ => Operand::Value(self.value()?),
        };
        Ok(Term { field, op, operand })
    }

    fn value(&mut self) -> Result<String, JqlError> {
        match self.peek() {
            Some(Tok::Str(s)) => {
                let s = s.clone();
                self.pos += 1;
                Ok(s)
            }
            Some(Tok::Word(w)) if !is_keyword(w) => {
                let w = w.clone();
                self.pos += 1;
                Ok(w)
            }
            _ => Err(self.error("a value")),
        }
    }

    fn list(&mut self) -> Result<Vec<String>, JqlError> {
        if self.bump() != Some(Tok::LParen) {
            self.pos -= 1;
            return Err(self.error("'(' starting a list of values"));
        }
        let mut values = vec![self.value()?];
        loop {
            match self.peek() {
                Some(Tok::Comma) => {
                    self.pos += 1;
                    values.push(self.value()?);
                }
                Some(Tok::RParen) => {
                    self.pos += 1;
                    return Ok(values);
                }
                _ => return Err(self.error("',' or ')'")),
            }
        }
    }
}

// ---------------------------------------------------------------------------
// printing: every AST prints as JQL that parses back to the same AST.

/// Write `s` as a double-quoted JQL string.
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn write_field(f: &mut fmt::Formatter<'_>, field: &str) -> fmt::Result {
    let bare = !field.is_empty() && field.chars().all(is_word_char) && !is_keyword(field);
    if bare { f.write_str(field) } else { f.write_str(&quote(field)) }
}

impl fmt::Display for Query {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(clause) = &self.filter {
            write!(f, "{clause}")?;
            if !self.order_by.is_empty() {
                f.write_str(" ")?;
            }
        }
        if !self.order_by.is_empty() {
            f.write_str("ORDER BY ")?;
            for (i, key) in self.order_by.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                write_field(f, &key.field)?;
                f.write_str(if key.descending { " DESC" } else { " ASC" })?;
            }
        }
        Ok(())
    }
}

impl fmt::Display for Clause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::And(cs) | Self::Or(cs) => {
                let joiner = if matches!(self, Self::And(_)) { " AND " } else { " OR " };
                for (i, c) in cs.iter().enumerate() {
                    if i > 0 {
                        f.write_str(joiner)?;
                    }
                    // Nested AND/OR are parenthesised so the structure survives a round trip.
                    if matches!(c, Self::And(_) | Self::Or(_)) {
                        write!(f, "({c})")?;
                    } else {
                        write!(f, "{c}")?;
                    }
                }
                Ok(())
            }
            Self::Not(inner) => {
                if matches!(**inner, Self::And(_) | Self::Or(_)) {
                    write!(f, "NOT ({inner})")
                } else {
                    write!(f, "NOT {inner}")
                }
            }
            Self::Term(t) => write!(f, "{t}"),
        }
    }
}

impl fmt::Display for Term {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_field(f, &self.field)?;
        write!(f, " {} ", self.op.as_str())?;
        match &self.operand {
            Operand::Value(v) => f.write_str(&quote(v)),
            Operand::Empty => f.write_str("EMPTY"),
            Operand::List(values) => {
                f.write_str("(")?;
                for (i, v) in values.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    f.write_str(&quote(v))?;
                }
                f.write_str(")")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn term(field: &str, op: Operator, value: &str) -> Clause {
        Clause::Term(Term { field: field.into(), op, operand: Operand::Value(value.into()) })
    }

    #[test]
    fn parses_precedence_and_ordering() {
        let q = Query::parse(
            "project = DRIFT and (status = 'In Progress' OR status=Open) AND NOT priority in (Low, Lowest) order by updated desc, key",
        )
        .unwrap();
        assert_eq!(
            q.filter.unwrap(),
            Clause::And(vec![
                term("project", Operator::Eq, "DRIFT"),
                Clause::Or(vec![term("status", Operator::Eq, "In Progress"), term("status", Operator::Eq, "Open"),]),
                Clause::Not(Box::new(Clause::Term(Term {
                    field: "priority".into(),
                    op: Operator::In,
                    operand: Operand::List(vec!["Low".into(), "Lowest".into()]),
                }))),
            ])
        );
        assert_eq!(
            q.order_by,
            vec![
                SortKey { field: "updated".into(), descending: true },
                SortKey { field: "key".into(), descending: false },
            ]
        );
    }

    #[test]
    fn parses_custom_field_references_and_phrases() {
        let q = Query::parse(r#"cf[10042] ~ "\"INC-2026-000042\"" AND "Story Points" >= 3"#).unwrap();
        assert_eq!(q.fields(), vec!["cf[10042]", "Story Points"]);
        let Some(Clause::And(terms)) = &q.filter else { panic!("{q:?}") };
        assert_eq!(terms[0], term("cf[10042]", Operator::Contains, "\"INC-2026-000042\""));
    }

    #[test]
    fn errors_say_where_and_what() {
        let e = Query::parse("status = ").unwrap_err();
        assert_eq!(e.position, 9);
        assert_eq!(
            e.to_string(),
            "Error in the JQL Query: expected a value, found the end of the query (at position 9)"
        );
        let e = Query::parse("status foo").unwrap_err();
        assert_eq!(e.position, 7);
        assert!(e.to_string().contains("expected an operator"), "{e}");
        let e = Query::parse("status = \"open").unwrap_err();
        assert_eq!((e.position, e.kind), (9, JqlErrorKind::UnterminatedString));
        let e = Query::parse("a = b c = d").unwrap_err();
        assert!(e.to_string().contains("expected AND, OR or ORDER BY, found 'c'"), "{e}");
        let e = Query::parse("(a = b").unwrap_err();
        assert!(e.to_string().contains("expected ')'"), "{e}");
        assert!(Query::parse("a in b").is_err());
        assert!(Query::parse("a is 'x'").is_err());
        assert!(Query::parse("ORDER updated").is_err());
    }

    #[test]
    fn refuses_deep_and_long_input() {
        let deep = format!("{}a = b{}", "(".repeat(MAX_DEPTH + 1), ")".repeat(MAX_DEPTH + 1));
        assert_eq!(Query::parse(&deep).unwrap_err().kind, JqlErrorKind::TooDeep { max: MAX_DEPTH });
        let ok = format!("{}a = b{}", "(".repeat(MAX_DEPTH), ")".repeat(MAX_DEPTH));
        assert!(Query::parse(&ok).is_ok());
        let nots = format!("{}a = b", "NOT ".repeat(MAX_DEPTH + 1));
        assert!(matches!(Query::parse(&nots).unwrap_err().kind, JqlErrorKind::TooDeep { .. }));
        let long = "a = b AND ".repeat(MAX_QUERY_BYTES / 10 + 1);
        assert!(matches!(Query::parse(&long).unwrap_err().kind, JqlErrorKind::TooLong { .. }));
    }

    fn issue(field: &str) -> Option<FieldValue> {
        match field {
            "project" => Some(FieldValue::text("DRIFT")),
            "key" => Some(FieldValue::text("DRIFT-10")),
            "status" => Some(FieldValue::text("In Progress")),
            "summary" => Some(FieldValue::text("FMK down for Region H")),
            "labels" => Some(FieldValue::List(vec!["deskgate".into(), "p1".into()])),
            "updated" => Some(FieldValue::Time("2024-01-15T10:30:00Z".parse().unwrap())),
            "assignee" => None,
            _ => None,
        }
    }

    #[test]
    fn evaluates_like_jira() {
        let yes = [
            "project = drift",
            "status != Open",
            "summary ~ fmk",
            "summary ~ \"\\\"region h\\\"\"",
            "summary !~ sosi",
            "labels = p1",
            "labels in (x, deskgate)",
            "status not in (Open, Closed)",
            "assignee is empty",
            "assignee = null",
            "status is not empty",
            "updated >= \"2024/01/15 10:30\"",
            "updated > '2024-01-15'",
            "updated < \"2024/01/15 10:31\"",
            "key > DRIFT-9",
            "key <= DRIFT-10",
            "NOT status = Open AND (project = X OR project = DRIFT)",
            "ORDER BY key",
        ];
        for q in yes {
            assert!(Query::parse(q).unwrap().matches(issue), "{q}");
        }
        let no = [
            "project = other",
            "assignee != someone",
            "assignee not in (a)",
            "updated > \"2024/01/15 10:30\"",
            "labels = nope",
            "status = Open OR summary ~ nothing",
            "key < DRIFT-9",
        ];
        for q in no {
            assert!(!Query::parse(q).unwrap().matches(issue), "{q}");
        }
    }

    #[test]
    fn relative_dates_count_from_now() {
        let ctx = EvalContext { now: "2024-01-16T10:30:00Z".parse().unwrap(), time_zone: TimeZone::UTC };
        let q = Query::parse("updated >= -1d").unwrap();
        assert!(q.matches_with(&ctx, issue));
        let q = Query::parse("updated >= -23h").unwrap();
        assert!(!q.matches_with(&ctx, issue));
    }

    #[test]
    fn orders_by_keys() {
        let q = Query::parse("ORDER BY updated ASC, key DESC").unwrap();
        let t = |s: &str| FieldValue::Time(s.parse().unwrap());
        let a = |f: &str| match f {
            "updated" => Some(t("2024-01-01T00:00:00Z")),
            "key" => Some(FieldValue::text("D-2")),
            _ => None,
        };
        let b = |f: &str| match f {
            "updated" => Some(t("2024-01-01T00:00:00Z")),
            "key" => Some(FieldValue::text("D-10")),
            _ => None,
        };
        assert_eq!(q.compare(a, b), Ordering::Greater, "same time, D-10 first when DESC");
        assert_eq!(q.compare(|_| None, a), Ordering::Greater, "missing sorts last");
    }

    #[test]
    fn prints_canonical_jql() {
        let q = Query::parse("a=1 and (b = 2 or c in (x,'y z')) and not (d is empty and e ~ f) order by g").unwrap();
        assert_eq!(
            q.to_string(),
            r#"a = "1" AND (b = "2" OR c IN ("x", "y z")) AND NOT (d IS EMPTY AND e ~ "f") ORDER BY g ASC"#
        );
        assert_eq!(Query::parse(&q.to_string()).unwrap(), q);
        assert_eq!(quote("say \"hi\"\\\n"), r#""say \"hi\"\\\n""#);
    }
}
