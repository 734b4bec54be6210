//! Property tests: the JQL parser never panics and round-trips what it prints;
//! ADF conversion round-trips every plain text.

use deskgate_jira::adf;
use deskgate_jira::jql::{self, Clause, JqlErrorKind, Operand, Operator, Query, SortKey, Term};
use deskgate_jira::wire::{ApiVersion, TextBody};
use proptest::prelude::*;

fn field() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[a-z][a-zA-Z0-9_]{0,10}",
        1 => Just("cf[10042]".to_owned()),
        // Anything at all: printed quoted.
        1 => any::<String>(),
        1 => prop_oneof![Just("AND".to_owned()), Just("order".to_owned()), Just("Story Points".to_owned())],
    ]
}

fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => "[A-Za-z0-9 _\\-/:.]{0,12}",
        1 => any::<String>(),
        1 => Just("EMPTY".to_owned()),
        1 => Just("say \"hi\" \\ \n\t".to_owned()),
    ]
}

fn term() -> impl Strategy<Value = Clause> {
    let single = prop_oneof![
        Just(Operator::Eq),
        Just(Operator::NotEq),
        Just(Operator::Contains),
        Just(Operator::NotContains),
        Just(Operator::Gt),
        Just(Operator::Ge),
        Just(Operator::Lt),
        Just(Operator::Le),
    ];
    prop_oneof![
        (field(), single, value()).prop_map(|(field, op, v)| Term { field, op, operand: Operand::Value(v) }),
        (field(), prop_oneof![Just(Operator::In), Just(Operator::NotIn)], prop::collection::vec(value(), 1..4))
            .prop_map(|(field, op, list)| Term { field, op, operand: Operand::List(list) }),
        (field(), prop_oneof![Just(Operator::Is), Just(Operator::IsNot), Just(Operator::Eq), Just(Operator::NotEq)])
            .prop_map(|(field, op)| Term { field, op, operand: Operand::Empty }),
    ]
    .prop_map(Clause::Term)
}

fn clause() -> impl Strategy<Value = Clause> {
    term().prop_recursive(5, 32, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 2..4).prop_map(Clause::And),
            prop::collection::vec(inner.clone(), 2..4).prop_map(Clause::Or),
            inner.prop_map(|c| Clause::Not(Box::new(c))),
        ]
    })
}

fn query() -> impl Strategy<Value = Query> {
    (
        prop::option::of(clause()),
        prop::collection::vec(
            (field(), any::<bool>()).prop_map(|(field, descending)| SortKey { field, descending }),
            0..3,
        ),
    )
        .prop_map(|(filter, order_by)| Query { filter, order_by })
}

/// Text made of JQL's own pieces, so random input reaches deep into the parser.
fn jql_soup() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("("),
        Just(")"),
        Just(","),
        Just("="),
        Just("!="),
        Just("~"),
        Just("!"),
        Just(">="),
        Just("<"),
        Just(" AND "),
        Just(" or "),
        Just(" NOT "),
        Just(" in "),
        Just(" is "),
        Just(" EMPTY "),
        Just(" ORDER BY "),
        Just(" DESC"),
        Just("\""),
        Just("'"),
        Just("\\"),
        Just("status"),
        Just("cf[1]"),
        Just(" x "),
        Just("é"),
    ];
    prop::collection::vec(piece, 0..40).prop_map(|v| v.concat())
}

proptest! {
    #[test]
    fn arbitrary_input_never_panics(input in any::<String>()) {
        let _ = Query::parse(&input);
    }

    #[test]
    fn jql_like_input_never_panics_and_errors_point_inside(input in jql_soup()) {
        match Query::parse(&input) {
            Ok(q) => {
                // Whatever parses prints as JQL that parses to the same thing.
                prop_assert_eq!(Query::parse(&q.to_string()).unwrap(), q);
            }
            Err(e) => prop_assert!(e.position <= input.len(), "{e} for {input:?}"),
        }
    }

    #[test]
    fn printed_queries_parse_back_to_themselves(q in query()) {
        let printed = q.to_string();
        let parsed = Query::parse(&printed);
        prop_assert_eq!(parsed, Ok(q), "printed as {}", printed);
    }

    #[test]
    fn evaluation_never_panics(q in query(), v in value()) {
        let _ = q.matches(|_| Some(jql::FieldValue::text(v.clone())));
        let _ = q.matches(|_| None);
    }

    #[test]
    fn deep_nesting_is_refused(depth in (jql::MAX_DEPTH + 1)..2_000usize) {
        let deep = format!("{}a = b{}", "(".repeat(depth), ")".repeat(depth));
        let err = Query::parse(&deep).unwrap_err();
        if deep.len() <= jql::MAX_QUERY_BYTES {
            prop_assert_eq!(err.kind, JqlErrorKind::TooDeep { max: jql::MAX_DEPTH });
        }
        let nots = format!("{}a = b", "not ".repeat(depth));
        prop_assert!(Query::parse(&nots).is_err());
    }

    #[test]
    fn huge_input_is_refused(extra in 1..10_000usize) {
        let huge = "x".repeat(jql::MAX_QUERY_BYTES + extra);
        let err = Query::parse(&huge).unwrap_err();
        let too_long = matches!(err.kind, JqlErrorKind::TooLong { .. });
        prop_assert!(too_long);
    }

    #[test]
    fn adf_round_trips_any_text(text in any::<String>()) {
        prop_assert_eq!(adf::to_text(&adf::from_text(&text)), text.clone());
        // And through JSON, as it travels.
        let wire = serde_json::to_string(&TextBody::for_version(&text, ApiVersion::V3)).unwrap();
        let back: TextBody = serde_json::from_str(&wire).unwrap();
        prop_assert_eq!(back.to_text(), text);
    }

    #[test]
    fn adf_never_has_empty_text_nodes(text in "[a\n ]{0,20}") {
        let doc = serde_json::to_value(adf::from_text(&text)).unwrap();
        let printed = doc.to_string();
        prop_assert!(!printed.contains(r#""text":"""#), "{}", printed);
    }
}
