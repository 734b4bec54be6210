use super::*;

fn sample() -> CqRecord {
    let mut r = CqRecord {
        about: Some("http://cq/cqweb/oslc/repo/r/db/SAMPL/record/16777224-33554433".into()),
        ..CqRecord::default()
    };
    r.set("cq:Headline", "Login <fails> & \"crashes\"")
        .set("cq:State", "Submitted")
        .set("dcterms:modified", "2026-03-01T10:00:00Z");
    r
}

#[test]
fn record_round_trips() {
    let r = sample();
    let xml = write_record(&r).unwrap();
    assert_eq!(
        parse_record(xml.as_bytes(), Limits::default()).unwrap(),
        CqRecord { type_name: Some("oslc_cm:ChangeRequest".into()), ..r }
    );
}

#[test]
fn foreign_prefixes_are_read_by_namespace() {
    let xml = format!(
        r#"<r:RDF xmlns:r="{NS_RDF}" xmlns:x="{NS_CQ}" xmlns:d="{NS_DCTERMS}">
             <x:Defect r:about="u1"><x:Headline>A &amp; B</x:Headline>
             <d:modified><![CDATA[2026-01-01T00:00:00Z]]></d:modified>
             <x:Owner r:resource="http://cq/user/alice"/></x:Defect></r:RDF>"#
    );
    let r = parse_record(xml.as_bytes(), Limits::default()).unwrap();
    assert_eq!(r.type_name.as_deref(), Some("cq:Defect"));
    assert_eq!(r.get("cq:Headline"), Some("A & B"));
    assert_eq!(r.get("dcterms:modified"), Some("2026-01-01T00:00:00Z"));
    assert_eq!(r.get("cq:Owner"), Some("http://cq/user/alice"));
}

#[test]
fn doctype_is_refused() {
    let xml = r#"<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">&lol2;</rdf:RDF>"#;
    assert_eq!(parse_record(xml.as_bytes(), Limits::default()), Err(RdfError::DocType));
}

#[test]
fn undeclared_entities_are_malformed() {
    let xml = format!(
        r#"<rdf:RDF xmlns:rdf="{NS_RDF}" xmlns:cq="{NS_CQ}"><cq:Defect rdf:about="u"><cq:Headline>&xxe;</cq:Headline></cq:Defect></rdf:RDF>"#
    );
    let err = parse_record(xml.as_bytes(), Limits::default()).unwrap_err();
    assert!(matches!(err, RdfError::Malformed { .. }), "{err:?}");
}

#[test]
fn depth_and_size_are_bounded() {
    let deep = format!("{}{}", "<a>".repeat(100), "</a>".repeat(100));
    assert!(matches!(parse_record(deep.as_bytes(), Limits::default()), Err(RdfError::TooDeep { .. })));
    let limits = Limits { max_bytes: 10, ..Limits::default() };
    assert!(matches!(parse_record(b"<a>0123456789</a>", limits), Err(RdfError::TooLarge { .. })));
}

#[test]
fn query_page_orders_by_member() {
    let mut a = sample();
    a.about = Some("u/a".into());
    let mut b = sample();
    b.about = Some("u/b".into());
    let xml =
        write_query_page("http://cq/q?oslc.where=x", &[b.clone(), a.clone()], 2, Some("http://cq/q?page=2")).unwrap();
    let page = parse_query(xml.as_bytes(), Limits::default()).unwrap();
    assert_eq!(page.total_count, Some(2));
    assert_eq!(page.next_page.as_deref(), Some("http://cq/q?page=2"));
    let abouts: Vec<_> = page.records.iter().map(|r| r.about.clone().unwrap()).collect();
    assert_eq!(abouts, ["u/b", "u/a"]);
    assert_eq!(page.records[0].get("cq:Headline"), a.get("cq:Headline"));
}

#[test]
fn an_empty_query_page_has_no_records() {
    let xml = write_query_page("http://cq/q?oslc.where=x", &[], 0, None).unwrap();
    let page = parse_query(xml.as_bytes(), Limits::default()).unwrap();
    assert_eq!(page.records, vec![]);
    assert_eq!(page.total_count, Some(0));
}

#[test]
fn atom_feed_is_read() {
    let mut a = sample();
    a.about = Some("u/a".into());
    let xml = write_atom_feed("http://cq/q", &[a.clone()]).unwrap();
    let page = parse_query(xml.as_bytes(), Limits::default()).unwrap();
    assert_eq!(page.records.len(), 1);
    assert_eq!(page.records[0].get("cq:State"), Some("Submitted"));
}

#[test]
fn error_bodies_are_read() {
    let xml = write_error(400, "Action \"Close\" is not <legal>");
    assert_eq!(
        parse_error(xml.as_bytes()),
        Some(ErrorBody { status: Some(400), message: "Action \"Close\" is not <legal>".into() })
    );
    let err = parse_record(xml.as_bytes(), Limits::default()).unwrap_err();
    assert!(err.to_string().contains("oslc:Error"), "{err}");
}

#[test]
fn bad_names_are_refused_on_write() {
    let mut r = CqRecord::default();
    r.set("Headline", "x");
    assert!(matches!(write_record(&r), Err(RdfError::Write { .. })));
    let mut r = CqRecord::default();
    r.set("cq:1bad", "x");
    assert!(write_record(&r).is_err());
}

#[test]
fn control_characters_become_replacement_characters() {
    let mut r = CqRecord::default();
    r.set("cq:Description", "a\u{1}b\r\nc");
    let xml = write_record(&r).unwrap();
    let back = parse_record(xml.as_bytes(), Limits::default()).unwrap();
    assert_eq!(back.get("cq:Description"), Some("a\u{FFFD}b\r\nc"));
}

#[test]
fn scoped_properties_are_written_as_nested_nodes_and_read_back_one_line_each() {
    let mut r = sample();
    r.set("cq:history{cq:action_timestamp}", "2026-03-01T10:00:00Z\n2026-03-02T11:00:00Z");
    let xml = write_record(&r).unwrap();
    assert_eq!(xml.matches("<cq:history>").count(), 2, "{xml}");
    let back = parse_record(xml.as_bytes(), Limits::default()).unwrap();
    assert_eq!(back.get("cq:history{cq:action_timestamp}"), Some("2026-03-01T10:00:00Z\n2026-03-02T11:00:00Z"));
    assert_eq!(back.get("cq:history"), None);
    assert!(check_property("cq:history{cq:action_timestamp}").is_ok());
    assert!(check_property("cq:history{action_timestamp}").is_err());
}

#[test]
fn catalog_descriptions_keep_repeated_properties_and_types() {
    let xml = format!(
        r#"<rdf:RDF xmlns:rdf="{NS_RDF}" xmlns:oslc="{NS_OSLC}" xmlns:dcterms="{NS_DCTERMS}">
             <rdf:Description rdf:about="c"><rdf:type rdf:resource="{NS_OSLC}ServiceProviderCatalog"/>
               <oslc:serviceProvider rdf:resource="p1"/><oslc:serviceProvider rdf:resource="p2"/></rdf:Description>
           </rdf:RDF>"#
    );
    let descs = parse_descriptions(xml.as_bytes(), Limits::default()).unwrap();
    assert!(descs[0].is_oslc("ServiceProviderCatalog"));
    assert_eq!(descs[0].values("oslc:serviceProvider").collect::<Vec<_>>(), ["p1", "p2"]);
}
