//! ServiceNow encoded queries (`sysparm_query`): parser, evaluator, ordering.
//!
//! Used three ways: the outbound client builds its queries with [`EncodedQuery`]'s
//! `Display` (so values are escaped correctly), the simulator evaluates them against
//! its records, and the gateway's ServiceNow-compatible inbound API evaluates what its
//! callers send. The parser is therefore bounded ([`Limits`]) and every refusal says
//! which term failed and what was expected.
//!
//! # Grammar
//!
//! ```text
//! query     := group ( "^NQ" group )*          new query: OR of whole groups
//! group     := item ( "^" item )*
//! item      := clause | "ORDERBY" field | "ORDERBYDESC" field | "EQ"
//! clause    := condition ( "^OR" condition )*  OR binds tighter than AND
//! condition := field operator value?
//! field     := [a-z0-9_.]+
//! operator  := "=" | "!=" | "LIKE" | "NOT LIKE" | "STARTSWITH" | "ENDSWITH"
//!            | "IN" | "NOT IN" | "ISEMPTY" | "ISNOTEMPTY" | ">" | ">=" | "<" | "<="
//! ```
//!
//! So `active=true^priority=1^ORpriority=2` is `active = true AND (priority = 1 OR
//! priority = 2)`, as in ServiceNow. A literal `^` inside a value is written `^^`.
//! `IN` values are separated by commas (a value cannot contain one); a `>` or `<`
//! value cannot start with `=` (it would read as `>=`/`<=`). `EQ`, which the
//! ServiceNow UI appends to queries it builds, is accepted and means nothing.
//! Orderings apply to the whole result, wherever they appear.
//!
//! # Evaluation
//!
//! A field the record does not have reads as the empty string. `=` and `!=` compare
//! exactly; `LIKE`, `NOT LIKE`, `STARTSWITH` and `ENDSWITH` ignore ASCII case, like
//! ServiceNow. `>`, `>=`, `<`, `<=` compare numerically when both sides are numbers,
//! otherwise as strings — which orders ServiceNow dates (`YYYY-MM-DD HH:MM:SS`)
//! chronologically.

use std::cmp::Ordering;
use std::fmt;

/// Bounds on what [`EncodedQuery::parse_with`] accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Longest accepted query, in bytes.
    pub max_len: usize,
    /// Most conditions and orderings, counted together.
    pub max_terms: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self { max_len: 8 * 1024, max_terms: 100 }
    }
}

/// A parsed encoded query. The empty query matches every record.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EncodedQuery {
    /// Alternatives (`^NQ`): a record matches when any group matches. Empty: all match.
    pub groups: Vec<Group>,
    /// Sort keys, most significant first.
    pub order: Vec<OrderBy>,
}

/// Clauses that must all hold (joined by `^`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Group {
    pub clauses: Vec<Clause>,
}

/// Conditions of which one must hold (joined by `^OR`); never empty when parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Clause {
    pub any: Vec<Condition>,
}

/// `field operator value`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Condition {
    pub field: String,
    pub op: Operator,
}

/// A condition's operator with its operand.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Operator {
    Eq(String),
    NotEq(String),
    Like(String),
    NotLike(String),
    StartsWith(String),
    EndsWith(String),
    In(Vec<String>),
    NotIn(Vec<String>),
    IsEmpty,
    IsNotEmpty,
    Gt(String),
    Ge(String),
    Lt(String),
    Le(String),
}

/// One sort key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrderBy {
    pub field: String,
    pub descending: bool,
}

/// Why a query was refused. Positions are byte offsets into the query; `term` counts
/// from 1 in the order terms appear.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    #[error("query is {len} bytes long; at most {max} are accepted")]
    TooLong { len: usize, max: usize },
    #[error("query has more than {max} terms; at most {max} are accepted")]
    TooManyTerms { max: usize },
    #[error("term {term} at byte {at} is empty: expected a condition such as `field=value`")]
    EmptyTerm { term: usize, at: usize },
    #[error("term {term} (`{text}`) at byte {at}: expected a field name (lowercase letters, digits, `_` or `.`) first")]
    MissingField { term: usize, at: usize, text: String },
    #[error(
        "term {term} (`{text}`) at byte {at}: expected an operator after field `{field}` (one of =, !=, LIKE, NOT LIKE, STARTSWITH, ENDSWITH, IN, NOT IN, ISEMPTY, ISNOTEMPTY, >, >=, <, <=)"
    )]
    MissingOperator { term: usize, at: usize, text: String, field: String },
    #[error("term {term} (`{text}`) at byte {at}: {operator} takes no value")]
    UnexpectedValue { term: usize, at: usize, text: String, operator: &'static str },
    #[error("term {term} at byte {at}: `^OR` needs a condition before it in the same group")]
    DanglingOr { term: usize, at: usize },
    #[error("term {term} at byte {at}: an ordering cannot be joined with `^OR`")]
    OrderInOr { term: usize, at: usize },
    #[error("term {term} (`{text}`) at byte {at}: expected a field name after {keyword}")]
    OrderWithoutField { term: usize, at: usize, text: String, keyword: &'static str },
}

/// How a term was joined to the one before it.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Join {
    First,
    And,
    Or,
    NewQuery,
}

impl EncodedQuery {
    /// Parse with the default [`Limits`].
    pub fn parse(input: &str) -> Result<Self, QueryError> {
        Self::parse_with(input, Limits::default())
    }

    pub fn parse_with(input: &str, limits: Limits) -> Result<Self, QueryError> {
        if input.len() > limits.max_len {
            return Err(QueryError::TooLong { len: input.len(), max: limits.max_len });
        }
        let mut query = EncodedQuery::default();
        if input.is_empty() {
            return Ok(query);
        }
        // A group is only kept when it has clauses, so a query of orderings alone
        // matches every record.
        let mut group = Group::default();
        for (index, (join, at, text)) in split_terms(input).into_iter().enumerate() {
            let term = index + 1;
            if term > limits.max_terms {
                return Err(QueryError::TooManyTerms { max: limits.max_terms });
            }
            if join == Join::NewQuery && !group.clauses.is_empty() {
                query.groups.push(std::mem::take(&mut group));
            }
            if text.is_empty() {
                return Err(QueryError::EmptyTerm { term, at });
            }
            if let Some(order) = parse_order(&text, term, at)? {
                if join == Join::Or {
                    return Err(QueryError::OrderInOr { term, at });
                }
                query.order.push(order);
                continue;
            }
            if text == "EQ" {
                if join == Join::Or {
                    return Err(QueryError::DanglingOr { term, at });
                }
                continue;
            }
            let condition = parse_condition(&text, term, at)?;
            match join {
                Join::Or => match group.clauses.last_mut() {
                    Some(clause) => clause.any.push(condition),
                    None => return Err(QueryError::DanglingOr { term, at }),
                },
                Join::First | Join::And | Join::NewQuery => {
                    group.clauses.push(Clause { any: vec![condition] });
                }
            }
        }
        if !group.clauses.is_empty() {
            query.groups.push(group);
        }
        Ok(query)
    }

    /// A query with no conditions and no ordering.
    pub fn all() -> Self {
        Self::default()
    }

    /// Add a condition that must hold in every group (AND). On a query without groups
    /// this starts the first group.
    pub fn and(mut self, field: impl Into<String>, op: Operator) -> Self {
        let clause = Clause { any: vec![Condition { field: field.into(), op }] };
        if self.groups.is_empty() {
            self.groups.push(Group::default());
        }
        for group in &mut self.groups {
            group.clauses.push(clause.clone());
        }
        self
    }

    /// Add an alternative group (`^NQ`).
    pub fn or_group(mut self, group: Group) -> Self {
        self.groups.push(group);
        self
    }

    pub fn order_by(mut self, field: impl Into<String>) -> Self {
        self.order.push(OrderBy { field: field.into(), descending: false });
        self
    }

    pub fn order_by_desc(mut self, field: impl Into<String>) -> Self {
        self.order.push(OrderBy { field: field.into(), descending: true });
        self
    }

    /// Does the record whose fields `get` returns match? Missing fields read as "".
    pub fn matches<'a>(&self, get: impl Fn(&str) -> Option<&'a str>) -> bool {
        self.groups.is_empty() || self.groups.iter().any(|g| g.matches(&get))
    }

    /// Order two records by this query's sort keys (`Equal` when there are none).
    pub fn compare<'a, 'b>(
        &self,
        a: impl Fn(&str) -> Option<&'a str>,
        b: impl Fn(&str) -> Option<&'b str>,
    ) -> Ordering {
        for key in &self.order {
            let x = a(&key.field).unwrap_or("");
            let y = b(&key.field).unwrap_or("");
            let ord = compare_values(x, y);
            let ord = if key.descending { ord.reverse() } else { ord };
            if ord != Ordering::Equal {
                return ord;
            }
        }
        Ordering::Equal
    }
}

impl Group {
    pub fn new(clauses: Vec<Clause>) -> Self {
        Self { clauses }
    }

    fn matches<'a>(&self, get: &impl Fn(&str) -> Option<&'a str>) -> bool {
        self.clauses.iter().all(|c| c.any.iter().any(|cond| cond.matches(get)))
    }
}

impl Condition {
    pub fn new(field: impl Into<String>, op: Operator) -> Self {
        Self { field: field.into(), op }
    }

    /// Does this one condition hold for the record?
    pub fn matches<'a>(&self, get: &impl Fn(&str) -> Option<&'a str>) -> bool {
        let value = get(&self.field).unwrap_or("");
        match &self.op {
            Operator::Eq(v) => value == v,
            Operator::NotEq(v) => value != v,
            Operator::Like(v) => contains_ignore_case(value, v),
            Operator::NotLike(v) => !contains_ignore_case(value, v),
            Operator::StartsWith(v) => {
                value.len() >= v.len() && value.is_char_boundary(v.len()) && value[..v.len()].eq_ignore_ascii_case(v)
            }
            Operator::EndsWith(v) => {
                let cut = value.len().wrapping_sub(v.len());
                value.len() >= v.len() && value.is_char_boundary(cut) && value[cut..].eq_ignore_ascii_case(v)
            }
            Operator::In(vs) => vs.iter().any(|v| v == value),
            Operator::NotIn(vs) => vs.iter().all(|v| v != value),
            Operator::IsEmpty => value.is_empty(),
            Operator::IsNotEmpty => !value.is_empty(),
            Operator::Gt(v) => compare_values(value, v) == Ordering::Greater,
            Operator::Ge(v) => compare_values(value, v) != Ordering::Less,
            Operator::Lt(v) => compare_values(value, v) == Ordering::Less,
            Operator::Le(v) => compare_values(value, v) != Ordering::Greater,
        }
    }
}

fn contains_ignore_case(haystack: &str, needle: &str) -> bool {
    if needle.is_empty() {
        return true;
    }
    let (h, n) = (haystack.as_bytes(), needle.as_bytes());
    h.windows(n.len()).any(|w| w.eq_ignore_ascii_case(n))
}

/// Numbers compare as numbers, everything else as strings.
pub fn compare_values(a: &str, b: &str) -> Ordering {
    match (parse_number(a), parse_number(b)) {
        (Some(x), Some(y)) => x.partial_cmp(&y).unwrap_or(Ordering::Equal),
        _ => a.cmp(b),
    }
}

fn parse_number(s: &str) -> Option<f64> {
    // Only plain decimal numbers: "inf", "NaN" or "1e5" are text in a ticket.
    let body = s.strip_prefix('-').unwrap_or(s);
    let ok = !body.is_empty()
        && body.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && body.bytes().filter(|b| *b == b'.').count() <= 1
        && body.bytes().any(|b| b.is_ascii_digit());
    if ok { s.parse().ok() } else { None }
}

/// Split on `^`, `^OR` and `^NQ`, turning `^^` into a literal `^`.
fn split_terms(input: &str) -> Vec<(Join, usize, String)> {
    let bytes = input.as_bytes();
    let mut terms = Vec::new();
    let mut join = Join::First;
    let mut start = 0;
    let mut current = String::new();
    let mut i = 0;
    let mut run_start = 0;
    while i < bytes.len() {
        if bytes[i] != b'^' {
            i += 1;
            continue;
        }
        if bytes.get(i + 1) == Some(&b'^') {
            current.push_str(&input[run_start..i]);
            current.push('^');
            i += 2;
            run_start = i;
            continue;
        }
        current.push_str(&input[run_start..i]);
        terms.push((join, start, std::mem::take(&mut current)));
        let rest = &input[i + 1..];
        // `^OR`/`^NQ` are separators only when what follows cannot be read otherwise:
        // field names are lowercase, so an uppercase `OR` never starts a condition.
        // `ORDERBY…` is an ordering term joined by a plain `^`.
        (join, i) = if rest.starts_with("NQ") {
            (Join::NewQuery, i + 3)
        } else if rest.starts_with("OR") && !rest.starts_with("ORDERBY") {
            (Join::Or, i + 3)
        } else {
            (Join::And, i + 1)
        };
        start = i;
        run_start = i;
    }
    current.push_str(&input[run_start..]);
    terms.push((join, start, current));
    terms
}

fn parse_order(text: &str, term: usize, at: usize) -> Result<Option<OrderBy>, QueryError> {
    let (keyword, rest, descending) = if let Some(rest) = text.strip_prefix("ORDERBYDESC") {
        ("ORDERBYDESC", rest, true)
    } else if let Some(rest) = text.strip_prefix("ORDERBY") {
        ("ORDERBY", rest, false)
    } else {
        return Ok(None);
    };
    if rest.is_empty() || !rest.bytes().all(is_field_byte) {
        return Err(QueryError::OrderWithoutField { term, at, text: shorten(text), keyword });
    }
    Ok(Some(OrderBy { field: rest.to_owned(), descending }))
}

fn is_field_byte(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'.'
}

/// Builds an operator from its value text.
type MakeOperator = fn(String) -> Operator;

/// Operators by spelling, longest first where one is a prefix of another.
const OPERATORS: &[(&str, MakeOperator)] = &[
    ("!=", Operator::NotEq),
    (">=", Operator::Ge),
    ("<=", Operator::Le),
    ("=", Operator::Eq),
    (">", Operator::Gt),
    ("<", Operator::Lt),
    ("NOT LIKE", Operator::NotLike),
    ("NOT IN", |v| Operator::NotIn(split_list(&v))),
    ("LIKE", Operator::Like),
    ("STARTSWITH", Operator::StartsWith),
    ("ENDSWITH", Operator::EndsWith),
    ("IN", |v| Operator::In(split_list(&v))),
];

fn split_list(v: &str) -> Vec<String> {
    v.split(',').map(str::to_owned).collect()
}

fn parse_condition(text: &str, term: usize, at: usize) -> Result<Condition, QueryError> {
    let field_len = text.bytes().take_while(|b| is_field_byte(*b)).count();
    if field_len == 0 {
        return Err(QueryError::MissingField { term, at, text: shorten(text) });
    }
    // Field bytes are ASCII, so this split is on a char boundary.
    let (field, rest) = text.split_at(field_len);
    for (unary, op) in [("ISNOTEMPTY", Operator::IsNotEmpty), ("ISEMPTY", Operator::IsEmpty)] {
        if let Some(after) = rest.strip_prefix(unary) {
            if !after.is_empty() {
                return Err(QueryError::UnexpectedValue { term, at, text: shorten(text), operator: unary });
            }
            return Ok(Condition::new(field, op));
        }
    }
    for (spelling, make) in OPERATORS {
        if let Some(value) = rest.strip_prefix(spelling) {
            return Ok(Condition::new(field, make(value.to_owned())));
        }
    }
    Err(QueryError::MissingOperator { term, at, text: shorten(text), field: field.to_owned() })
}

/// Quote at most 60 characters of a term in an error.
fn shorten(text: &str) -> String {
    const MAX: usize = 60;
    match text.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

fn escape(f: &mut fmt::Formatter<'_>, value: &str) -> fmt::Result {
    for (i, part) in value.split('^').enumerate() {
        if i > 0 {
            f.write_str("^^")?;
        }
        f.write_str(part)?;
    }
    Ok(())
}

impl fmt::Display for Operator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (spelling, value) = match self {
            Operator::Eq(v) => ("=", v),
            Operator::NotEq(v) => ("!=", v),
            Operator::Like(v) => ("LIKE", v),
            Operator::NotLike(v) => ("NOT LIKE", v),
            Operator::StartsWith(v) => ("STARTSWITH", v),
            Operator::EndsWith(v) => ("ENDSWITH", v),
            Operator::Gt(v) => (">", v),
            Operator::Ge(v) => (">=", v),
            Operator::Lt(v) => ("<", v),
            Operator::Le(v) => ("<=", v),
            Operator::IsEmpty => return f.write_str("ISEMPTY"),
            Operator::IsNotEmpty => return f.write_str("ISNOTEMPTY"),
            Operator::In(vs) | Operator::NotIn(vs) => {
                f.write_str(if matches!(self, Operator::In(_)) { "IN" } else { "NOT IN" })?;
                return escape(f, &vs.join(","));
            }
        };
        f.write_str(spelling)?;
        escape(f, value)
    }
}

impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.field, self.op)
    }
}

/// Writes the canonical encoded form, escaping `^` in values, so that
/// `EncodedQuery::parse(&q.to_string()) == Ok(q)` for every query the parser can return.
impl fmt::Display for EncodedQuery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for (g, group) in self.groups.iter().enumerate() {
            for (c, clause) in group.clauses.iter().enumerate() {
                if g > 0 && c == 0 {
                    f.write_str("^NQ")?;
                } else if !first {
                    f.write_str("^")?;
                }
                for (i, condition) in clause.any.iter().enumerate() {
                    if i > 0 {
                        f.write_str("^OR")?;
                    }
                    write!(f, "{condition}")?;
                }
                first = false;
            }
        }
        for order in &self.order {
            if !first {
                f.write_str("^")?;
            }
            let keyword = if order.descending { "ORDERBYDESC" } else { "ORDERBY" };
            write!(f, "{keyword}{}", order.field)?;
            first = false;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn rec(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn hit(q: &str, r: &BTreeMap<String, String>) -> bool {
        EncodedQuery::parse(q).unwrap().matches(|f| r.get(f).map(String::as_str))
    }

    #[test]
    fn or_binds_tighter_than_and() {
        let q = EncodedQuery::parse("active=true^priority=1^ORpriority=2").unwrap();
        assert_eq!(q.groups.len(), 1);
        assert_eq!(q.groups[0].clauses.len(), 2);
        assert_eq!(q.groups[0].clauses[1].any.len(), 2);
        assert!(hit("active=true^priority=1^ORpriority=2", &rec(&[("active", "true"), ("priority", "2")])));
        assert!(!hit("active=true^priority=1^ORpriority=2", &rec(&[("active", "false"), ("priority", "2")])));
    }

    #[test]
    fn new_query_is_an_or_of_groups() {
        let q = "state=1^impact=1^NQstate=2";
        assert!(hit(q, &rec(&[("state", "1"), ("impact", "1")])));
        assert!(!hit(q, &rec(&[("state", "1"), ("impact", "2")])));
        assert!(hit(q, &rec(&[("state", "2")])));
    }

    #[test]
    fn every_operator_evaluates() {
        let r = rec(&[
            ("short_description", "Disk FULL on fmk-db01"),
            ("priority", "2"),
            ("sys_updated_on", "2026-03-01 10:00:00"),
            ("assigned_to", ""),
        ]);
        for (q, want) in [
            ("priority=2", true),
            ("priority!=2", false),
            ("short_descriptionLIKEdisk full", true),
            ("short_descriptionNOT LIKEdisk", false),
            ("short_descriptionSTARTSWITHdisk", true),
            ("short_descriptionENDSWITHDB01", true),
            ("short_descriptionENDSWITHdb02", false),
            ("priorityIN1,2,3", true),
            ("priorityNOT IN1,2", false),
            ("assigned_toISEMPTY", true),
            ("assigned_toISNOTEMPTY", false),
            ("missing_fieldISEMPTY", true),
            ("priority>10", false),
            ("priority<10", true),
            ("priority>=2", true),
            ("priority<=1", false),
            ("sys_updated_on>=2026-03-01 10:00:00", true),
            ("sys_updated_on>2026-03-01 10:00:00", false),
            ("sys_updated_on<2026-03-02 00:00:00", true),
            ("", true),
            ("ORDERBYpriority", true),
            ("priority=2^EQ", true),
        ] {
            assert_eq!(hit(q, &r), want, "{q}");
        }
    }

    #[test]
    fn carets_in_values_are_escaped() {
        let q = EncodedQuery::all().and("correlation_id", Operator::Eq("a^b^ORc".into()));
        assert_eq!(q.to_string(), "correlation_id=a^^b^^ORc");
        let parsed = EncodedQuery::parse(&q.to_string()).unwrap();
        assert_eq!(parsed, q);
        assert!(parsed.matches(|_| Some("a^b^ORc")));
    }

    #[test]
    fn ordering_sorts_numbers_numerically_and_descending() {
        let q = EncodedQuery::parse("ORDERBYDESCpriority^ORDERBYnumber").unwrap();
        let mut rows = [
            rec(&[("priority", "2"), ("number", "INC2")]),
            rec(&[("priority", "10"), ("number", "INC1")]),
            rec(&[("priority", "2"), ("number", "INC0")]),
        ];
        rows.sort_by(|a, b| q.compare(|f| a.get(f).map(String::as_str), |f| b.get(f).map(String::as_str)));
        let numbers: Vec<_> = rows.iter().map(|r| r["number"].as_str()).collect();
        assert_eq!(numbers, ["INC1", "INC0", "INC2"]);
    }

    #[test]
    fn errors_name_the_term_and_what_was_expected() {
        let e = EncodedQuery::parse("active=true^Priority=1").unwrap_err();
        assert_eq!(
            e.to_string(),
            "term 2 (`Priority=1`) at byte 12: expected a field name (lowercase letters, digits, `_` or `.`) first"
        );
        let e = EncodedQuery::parse("active=true^state~1").unwrap_err();
        assert!(matches!(e, QueryError::MissingOperator { term: 2, ref field, .. } if field == "state"), "{e}");
        assert!(matches!(EncodedQuery::parse("^ORa=1").unwrap_err(), QueryError::EmptyTerm { term: 1, at: 0 }));
        assert!(matches!(EncodedQuery::parse("a=1^^").unwrap(), EncodedQuery { .. }));
        assert!(matches!(EncodedQuery::parse("a=1^").unwrap_err(), QueryError::EmptyTerm { term: 2, at: 4 }));
        assert!(matches!(
            EncodedQuery::parse("a=1^NQb=2^ORDERBY").unwrap_err(),
            QueryError::OrderWithoutField { term: 3, .. }
        ));
        assert!(matches!(
            EncodedQuery::parse("aISEMPTYx").unwrap_err(),
            QueryError::UnexpectedValue { operator: "ISEMPTY", .. }
        ));
        assert!(matches!(EncodedQuery::parse("a=1^NQb=2").unwrap().groups.len(), 2));
    }

    #[test]
    fn or_at_the_start_of_a_group_is_refused() {
        assert!(matches!(EncodedQuery::parse("a=1^NQ^ORb=2").unwrap_err(), QueryError::EmptyTerm { term: 2, .. }));
        assert!(matches!(EncodedQuery::parse("ORDERBYa^ORb=2").unwrap_err(), QueryError::DanglingOr { term: 2, .. }));
    }

    #[test]
    fn limits_are_enforced() {
        let long = "a=".to_owned() + &"x".repeat(Limits::default().max_len);
        assert!(matches!(EncodedQuery::parse(&long).unwrap_err(), QueryError::TooLong { .. }));
        let many = vec!["a=1"; 101].join("^");
        assert_eq!(EncodedQuery::parse(&many).unwrap_err(), QueryError::TooManyTerms { max: 100 });
        let tight = Limits { max_len: 10, max_terms: 2 };
        assert!(EncodedQuery::parse_with("a=1^b=2", tight).is_ok());
        assert!(EncodedQuery::parse_with("a=1^b=2^c=3", tight).is_err());
    }
}
