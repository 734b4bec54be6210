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
        parse::query(input)
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

mod parse;
use parse::{is_keyword, is_word_char};

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
mod tests;
