//! What `expand=` adds to an issue: `changelog` (the incident's history, in the
//! desk's names), `renderedFields` (text fields as HTML) and `names` (field names).

use super::*;

/// Add to `issue` what `expand` asks for; other expansions have nothing to add.
pub(super) fn expand_issue(state: &AppState, desk: &JiraDesk<'_>, i: &Incident, issue: &mut Value, expand: &[String]) {
    let wants = |name: &str| expand.iter().any(|e| e == name);
    if wants("changelog") {
        issue["changelog"] = changelog(state, desk, i);
    }
    if wants("renderedFields") {
        issue["renderedFields"] = rendered_fields(state, desk, i);
    }
    if wants("names") {
        issue["names"] = field_names();
    }
}

/// A history value in the desk's terms: status and priority by its mapping's names.
fn shown(desk: &JiraDesk<'_>, field: &str, value: Option<&str>) -> Value {
    let Some(value) = value else { return Value::Null };
    let named = match field {
        "status" => value.parse::<Status>().ok().map(|s| status_name(desk.mapping, s)),
        "priority" => value.parse::<Priority>().ok().map(|p| priority_name(desk.mapping, p)),
        _ => None,
    };
    json!(named.unwrap_or_else(|| value.to_owned()))
}

fn changelog(state: &AppState, desk: &JiraDesk<'_>, i: &Incident) -> Value {
    let histories: Vec<Value> = i
        .history
        .iter()
        .enumerate()
        .map(|(index, h)| {
            let field = if h.field == "kind" { "issuetype" } else { h.field.as_str() };
            json!({
                "id": (index + 1).to_string(),
                "author": user(state, desk, &h.actor),
                "created": jira_wire::format_timestamp(h.at),
                "items": [{
                    "field": field,
                    "fieldtype": "jira",
                    "from": h.from, "fromString": shown(desk, &h.field, h.from.as_deref()),
                    "to": h.to, "toString": shown(desk, &h.field, h.to.as_deref()),
                }],
            })
        })
        .collect();
    let total = histories.len();
    json!({"startAt": 0, "maxResults": total, "total": total, "histories": histories})
}

/// Plain text as Jira renders wiki text without markup: escaped, paragraphs and
/// line breaks kept.
fn html(text: &str) -> String {
    let escaped = text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;");
    escaped.split("\n\n").map(|p| format!("<p>{}</p>", p.replace('\n', "<br/>\n"))).collect::<Vec<_>>().join("\n")
}

fn rendered_fields(state: &AppState, desk: &JiraDesk<'_>, i: &Incident) -> Value {
    let mut comments = visible_comments(state, desk, i);
    let actor = desk.who.actor();
    let bodies = i.notes.iter().filter(|n| Incident::note_visible_to(n, &actor)).map(|n| html(n.body.as_str()));
    for (comment, body) in comments.iter_mut().zip(bodies) {
        comment["body"] = json!(body);
    }
    json!({
        "summary": html(i.title.as_str()),
        "description": html(i.description.as_str()),
        "created": jira_wire::format_timestamp(i.created_at),
        "updated": jira_wire::format_timestamp(i.updated_at),
        "comment": comment_page(comments),
    })
}
