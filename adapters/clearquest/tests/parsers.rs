//! Property tests for the RDF/XML reader/writer and the `oslc.where` parser.

use deskgate_clearquest::oslc::{
    self, CqRecord, Limits, NS_CQ, NS_RDF, RdfError, parse_error, parse_query, parse_record, write_record,
};
use deskgate_clearquest::oslc_where::{Literal, MAX_WHERE_BYTES, Op, Where, WhereError};
use proptest::prelude::*;

fn field_name() -> impl Strategy<Value = String> {
    "[A-Za-z_][A-Za-z0-9_.-]{0,20}".prop_map(|local| format!("cq:{local}"))
}

/// Text that XML 1.0 can carry, with the characters that need escaping over-represented.
fn xml_text() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            3 => any::<char>().prop_filter("XML Char", |c| {
                matches!(*c as u32, 0x9 | 0xA | 0xD | 0x20..=0xD7FF | 0xE000..=0xFFFD | 0x10000..)
            }),
            1 => prop::sample::select(vec!['<', '>', '&', '"', '\'', '\r', '\n', '\t', ' ', ']', 'é', '😀']),
        ],
        0..64,
    )
    .prop_map(|chars| chars.into_iter().collect())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let _ = parse_record(&bytes, Limits::default());
        let _ = parse_query(&bytes, Limits::default());
        let _ = parse_error(&bytes);
    }

    #[test]
    fn xml_looking_noise_never_panics(parts in proptest::collection::vec(prop_oneof![
        Just("<rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\">".to_owned()),
        Just("</rdf:RDF>".to_owned()),
        Just("<cq:Headline xmlns:cq=\"http://www.ibm.com/xmlns/prod/rational/clearquest/1.0/\">".to_owned()),
        Just("</cq:Headline>".to_owned()),
        Just("<rdf:Description rdf:about=\"x\">".to_owned()),
        Just("</rdf:Description>".to_owned()),
        Just("<![CDATA[".to_owned()),
        Just("]]>".to_owned()),
        Just("&amp;".to_owned()),
        Just("&#0;".to_owned()),
        Just("&bogus;".to_owned()),
        Just("<rdfs:member rdf:resource=\"u\"/>".to_owned()),
        "[a-z<>&\"'/= ]{0,8}",
    ], 0..40)) {
        let doc = parts.concat();
        let _ = parse_record(doc.as_bytes(), Limits::default());
        let _ = parse_query(doc.as_bytes(), Limits::default());
    }

    #[test]
    fn deep_nesting_is_refused(depth in 33usize..400) {
        let doc = format!("{}{}", "<a>".repeat(depth), "</a>".repeat(depth));
        let refused = matches!(
            parse_record(doc.as_bytes(), Limits::default()),
            Err(RdfError::TooDeep { .. })
        );
        prop_assert!(refused);
    }

    #[test]
    fn oversized_documents_are_refused(extra in 1usize..4096) {
        let limits = Limits { max_bytes: 1024, ..Limits::default() };
        let doc = format!("<a>{}</a>", "x".repeat(1024 + extra));
        let refused = matches!(parse_record(doc.as_bytes(), limits), Err(RdfError::TooLarge { .. }));
        prop_assert!(refused);
    }

    #[test]
    fn doctype_and_entity_declarations_are_refused(name in "[a-z]{1,8}", fanout in 1usize..12) {
        // Billion laughs: each entity expands to many copies of the previous one.
        let mut decls = format!("<!ENTITY {name}0 \"lol\">");
        for level in 1..8 {
            let body = format!("&{name}{};", level - 1).repeat(fanout);
            decls.push_str(&format!("<!ENTITY {name}{level} \"{body}\">"));
        }
        let doc = format!(
            "<?xml version=\"1.0\"?><!DOCTYPE lolz [{decls}]><rdf:RDF xmlns:rdf=\"{NS_RDF}\"><x>&{name}7;</x></rdf:RDF>"
        );
        prop_assert_eq!(parse_record(doc.as_bytes(), Limits::default()), Err(RdfError::DocType));
        prop_assert!(matches!(parse_query(doc.as_bytes(), Limits::default()), Err(RdfError::DocType)));
    }

    #[test]
    fn records_round_trip(
        fields in proptest::collection::btree_map(field_name(), xml_text(), 0..8),
        about in proptest::option::of(xml_text()),
    ) {
        let record = CqRecord { about, type_name: Some("cq:Defect".into()), props: fields };
        let xml = write_record(&record).unwrap();
        let back = parse_record(xml.as_bytes(), Limits::default()).unwrap();
        prop_assert_eq!(back, record);
    }

    #[test]
    fn any_text_survives_as_its_sanitized_form(text in any::<String>()) {
        let mut record = CqRecord::default();
        record.set("cq:Description", text.clone());
        let xml = write_record(&record).unwrap();
        let back = parse_record(xml.as_bytes(), Limits::default()).unwrap();
        let expected = oslc::sanitize(&text);
        prop_assert_eq!(back.get("cq:Description"), Some(expected.as_str()));
    }

    #[test]
    fn where_never_panics(input in any::<String>()) {
        let _ = Where::parse(&input);
    }

    #[test]
    fn where_round_trips(terms in proptest::collection::vec((
        field_name(),
        prop::sample::select(vec![Op::Eq, Op::Ne, Op::Lt, Op::Le, Op::Gt, Op::Ge]),
        prop_oneof![
            any::<String>().prop_map(Literal::string),
            (-1_000_000i64..1_000_000).prop_map(|n| Literal::Number(n.to_string())),
            any::<bool>().prop_map(Literal::Bool),
        ],
    ), 1..8)) {
        let mut w = Where::new();
        for (name, op, value) in terms {
            w = w.and(name, op, value);
        }
        let text = w.to_string();
        prop_assume!(text.len() <= MAX_WHERE_BYTES);
        prop_assert_eq!(Where::parse(&text).unwrap(), w);
    }
}

#[test]
fn huge_where_is_refused() {
    let input = format!("cq:a=\"{}\"", "x".repeat(MAX_WHERE_BYTES));
    assert!(matches!(Where::parse(&input), Err(WhereError::TooLong { .. })));
}

#[test]
fn too_many_elements_are_refused() {
    let limits = Limits { max_elements: 100, ..Limits::default() };
    let doc = format!(
        "<rdf:RDF xmlns:rdf=\"{NS_RDF}\" xmlns:cq=\"{NS_CQ}\"><cq:Defect rdf:about=\"u\">{}</cq:Defect></rdf:RDF>",
        "<cq:F>x</cq:F>".repeat(200)
    );
    assert!(matches!(parse_record(doc.as_bytes(), limits), Err(RdfError::TooManyElements { .. })));
}
