//! Process-profile overrides in a mapping file: `[profiles.<name>…]` holds the same
//! sections as `[desks.<id>…]` and applies to every desk of the file's system while
//! the gateway runs the process profile `<name>` (`[gateway.process] name`). A desk's
//! own overrides win over its profile's. Without that profile the section is unused.
//!
//! It works on the file's text before it is compiled: the profile's rows become
//! each desk's overrides, so they are validated exactly like those.

use crate::model::DeskId;

/// `text` with the `profiles` section taken out and, when `profile` names one of its
/// entries, that entry merged under every desk of `desks`' overrides. Text that does
/// not parse is returned as it is, for the compiler to report.
pub fn overlay(text: &str, profile: Option<&str>, desks: &[DeskId]) -> String {
    let Ok(mut table) = text.parse::<toml::Table>() else { return text.to_owned() };
    let Some(profiles) = table.remove("profiles") else { return text.to_owned() };
    let chosen = profile.and_then(|p| profiles.get(p)).and_then(toml::Value::as_table).cloned();
    if let Some(chosen) = chosen {
        let per_desk = table.entry("desks").or_insert_with(|| toml::Value::Table(toml::Table::new()));
        if let Some(per_desk) = per_desk.as_table_mut() {
            for desk in desks {
                let own = per_desk.entry(desk.as_str()).or_insert_with(|| toml::Value::Table(toml::Table::new()));
                if let Some(own) = own.as_table_mut() {
                    merge_under(own, &chosen);
                }
            }
        }
    }
    toml::to_string(&table).unwrap_or_else(|_| text.to_owned())
}

/// Adds what `under` has and `top` lacks, table by table.
fn merge_under(top: &mut toml::Table, under: &toml::Table) {
    for (key, value) in under {
        match (top.get_mut(key), value) {
            (Some(toml::Value::Table(mine)), toml::Value::Table(theirs)) => merge_under(mine, theirs),
            (Some(_), _) => {}
            (None, v) => {
                top.insert(key.clone(), v.clone());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_profile_becomes_every_desks_overrides_and_the_desks_own_win() {
        let text = r#"
[status.outbound]
on_hold = { status = "3" }
[desks.a.status.outbound]
on_hold = { status = "own" }
[profiles.hd.status.outbound]
on_hold = { status = "profile" }
new = { status = "p-new" }
"#;
        let desks: Vec<DeskId> = ["a", "b"].iter().map(|d| d.parse().unwrap()).collect();
        let out: toml::Table = overlay(text, Some("hd"), &desks).parse().unwrap();
        assert_eq!(out["desks"]["a"]["status"]["outbound"]["on_hold"]["status"].as_str(), Some("own"));
        assert_eq!(out["desks"]["a"]["status"]["outbound"]["new"]["status"].as_str(), Some("p-new"));
        assert_eq!(out["desks"]["b"]["status"]["outbound"]["on_hold"]["status"].as_str(), Some("profile"));
        assert!(!out.contains_key("profiles"));
        let without: toml::Table = overlay(text, None, &desks).parse().unwrap();
        assert!(without["desks"].get("b").is_none() && !without.contains_key("profiles"));
    }
}
