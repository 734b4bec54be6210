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
        vec![SortKey { field: "updated".into(), descending: true }, SortKey { field: "key".into(), descending: false },]
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
    assert_eq!(e.to_string(), "Error in the JQL Query: expected a value, found the end of the query (at position 9)");
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
