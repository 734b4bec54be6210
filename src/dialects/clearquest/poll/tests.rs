/// Process step 15 (NSP): the supplier resolves, and deskgate writes "resolved"
/// to the national desk's ClearQuest. A poll of that ClearQuest applies what it
/// read one record after the other; one that read the record before deskgate's
/// write was answered still shows it assigned. That is the past, not the national
/// desk reopening the incident: it is not applied, nor remembered as what the
/// record holds. Read after the write (or pushed, with no reading time), the same
/// report is the national desk's own change.
#[test]
fn step_15_a_poll_read_before_deskgates_latest_write_does_not_undo_it() {
    use crate::config::testing::{GATEWAY, NATIONAL_ON_CLEARQUEST, env, region_h};
    use crate::model::testing::{desk, incident, ticket};
    use crate::model::{DialectId, Ref};
    let supplier = "[desks.drift]\nname = \"Drift\"\nrole = \"supplier\"\nsystem = \"native\"\nservices = [\"*\"]\n";
    let federation = format!("{GATEWAY}{NATIONAL_ON_CLEARQUEST}{}{supplier}", region_h("native"));
    let config = crate::config::Config::from_toml(&federation, std::path::Path::new("."), &env()).expect("it loads");
    let mappings = crate::dialects::mappings(&config).expect("the mappings load");
    let sds = desk("sds");
    let mapping = mappings.desk(&sds).expect("the national desk's mapping");
    let answered = jiff::Timestamp::now();
    let mut resolved = incident("region-h", DialectId::Native, "t-1");
    resolved.status = crate::model::Status::Resolved;
    resolved.assignee = Some(desk("drift"));
    let mut copy = Ref::new(sds.clone(), DialectId::Clearquest, ticket("cq-1"), "SDS00000001");
    copy.written =
        crate::model::Written { status: Some(crate::model::Status::Resolved), priority: None, at: Some(answered) };
    resolved.refs.push(copy);
    let still_assigned = crate::gateway::inbound::RemoteUpdate {
        fields: deskgate_adapter::TicketFields { status: Some("Assigned".into()), ..Default::default() },
        notes: Vec::new(),
    };
    let read = |at: Option<jiff::Timestamp>| {
        crate::gateway::inbound::read_with_outbox(&config, mapping, &resolved, &sds, &still_assigned, &[], at)
            .expect("it reads")
    };

    let before = read(Some(answered - jiff::SignedDuration::from_millis(5)));
    assert_eq!(before.change.status, None, "a reading older than deskgate's write undid it: {before:?}");
    assert_eq!(before.reported, crate::model::Written::default(), "an old reading is not what the record holds");
    assert!(before.echoes.iter().any(|e| e.contains("read before")), "{:?}", before.echoes);

    let after = read(Some(answered + jiff::SignedDuration::from_millis(5)));
    assert_eq!(
        after.change.status,
        Some(crate::model::Status::Assigned),
        "read after the write, it is the desk's own change"
    );
    assert_eq!(read(None).change.status, Some(crate::model::Status::Assigned), "a push carries no reading time");
}
