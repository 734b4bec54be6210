//! Property tests for the encoded-query parser: it never panics, refuses what is too
//! big, and what it prints it reads back unchanged.

use deskgate_servicenow::query::{Clause, Condition, EncodedQuery, Group, Limits, Operator, OrderBy, QueryError};
use proptest::prelude::*;

fn field() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9_.]{0,8}"
}

/// Any text, `^` and operator spellings included.
fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[a-zA-Z0-9 ^=!<>,._-]{0,12}",
        Just("^".to_owned()),
        Just("^OR".to_owned()),
        Just("^NQ".to_owned()),
        Just(String::new()),
    ]
}

fn list() -> impl Strategy<Value = Vec<String>> {
    prop::collection::vec(value().prop_map(|v| v.replace(',', "")), 1..4)
}

/// `>`/`<` values cannot start with `=` (it would read as `>=`/`<=`).
fn ordered_value() -> impl Strategy<Value = String> {
    value().prop_map(|v| v.trim_start_matches('=').to_owned())
}

fn operator() -> impl Strategy<Value = Operator> {
    prop_oneof![
        value().prop_map(Operator::Eq),
        value().prop_map(Operator::NotEq),
        value().prop_map(Operator::Like),
        value().prop_map(Operator::NotLike),
        value().prop_map(Operator::StartsWith),
        value().prop_map(Operator::EndsWith),
        list().prop_map(Operator::In),
        list().prop_map(Operator::NotIn),
        Just(Operator::IsEmpty),
        Just(Operator::IsNotEmpty),
        ordered_value().prop_map(Operator::Gt),
        value().prop_map(Operator::Ge),
        ordered_value().prop_map(Operator::Lt),
        value().prop_map(Operator::Le),
    ]
}

fn query() -> impl Strategy<Value = EncodedQuery> {
    let condition = (field(), operator()).prop_map(|(field, op)| Condition { field, op });
    let clause = prop::collection::vec(condition, 1..4).prop_map(|any| Clause { any });
    let group = prop::collection::vec(clause, 1..4).prop_map(|clauses| Group { clauses });
    let order = (field(), any::<bool>()).prop_map(|(field, descending)| OrderBy { field, descending });
    (prop::collection::vec(group, 0..4), prop::collection::vec(order, 0..3))
        .prop_map(|(groups, order)| EncodedQuery { groups, order })
}

/// Text close to the grammar, to reach deep into the parser.
fn query_like() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            Just("^".to_owned()),
            Just("^^".to_owned()),
            Just("^OR".to_owned()),
            Just("^NQ".to_owned()),
            Just("ORDERBY".to_owned()),
            Just("ORDERBYDESC".to_owned()),
            Just("EQ".to_owned()),
            Just("=".to_owned()),
            Just("!=".to_owned()),
            Just(">=".to_owned()),
            Just("<".to_owned()),
            Just("LIKE".to_owned()),
            Just("NOT IN".to_owned()),
            Just("ISEMPTY".to_owned()),
            Just("ISNOTEMPTY".to_owned()),
            Just("STARTSWITH".to_owned()),
            Just("IN".to_owned()),
            Just(",".to_owned()),
            "[a-z_]{1,4}",
            "\\PC{0,3}",
        ],
        0..24,
    )
    .prop_map(|parts| parts.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_text_never_panics(input in any::<String>()) {
        if let Ok(q) = EncodedQuery::parse(&input) {
            let _ = q.matches(|f| Some(if f.len() % 2 == 0 { "x" } else { "" }));
        }
    }

    #[test]
    fn grammar_like_text_never_panics_and_reparses(input in query_like()) {
        if let Ok(q) = EncodedQuery::parse(&input) {
            let _ = q.matches(|_| Some("ü^x"));
            let _ = q.compare(|_| Some("1"), |_| None);
            // What the parser accepted, it prints in a form it reads back the same.
            prop_assert_eq!(EncodedQuery::parse(&q.to_string()), Ok(q));
        }
    }

    #[test]
    fn generated_queries_round_trip(q in query()) {
        let text = q.to_string();
        prop_assert_eq!(EncodedQuery::parse(&text), Ok(q), "text: {}", text);
    }

    #[test]
    fn oversized_input_is_refused(extra in 1usize..4096, fill in "[a-z=^]") {
        let max = Limits::default().max_len;
        let input = fill.repeat(max + extra);
        let refused = matches!(EncodedQuery::parse(&input), Err(QueryError::TooLong { len, max: m }) if len == max + extra && m == max);
        prop_assert!(refused);
    }

    #[test]
    fn too_many_terms_are_refused(n in 101usize..400) {
        let input = vec!["a=1"; n].join("^");
        prop_assert_eq!(EncodedQuery::parse(&input), Err(QueryError::TooManyTerms { max: 100 }));
    }
}

#[test]
fn huge_input_is_refused_without_scanning_it() {
    let input = "a=".to_owned() + &"^".repeat(50 * 1024 * 1024);
    assert!(matches!(EncodedQuery::parse(&input), Err(QueryError::TooLong { .. })));
}
