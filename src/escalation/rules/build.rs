//! Reading a ruleset file into the typed model: the file as written, its checks, and `build`.

use super::*;

// ---------------------------------------------------------------------------
// The file as written. Every table refuses unknown keys; values that need
// parsing (zones, times, weekdays, durations) stay strings here so that a bad
// one is reported with its key path rather than as a bare serde message.

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRuleset {
    zone: String,
    calendar: String,
    ack_timeout: String,
    #[serde(default)]
    services: Vec<String>,
    #[serde(default)]
    calendars: BTreeMap<String, RawCalendar>,
    contacts: BTreeMap<String, RawContact>,
    #[serde(default)]
    chains: BTreeMap<String, Vec<String>>,
    staffing: RawStaffing,
    #[serde(default)]
    rules: Vec<RawRule>,
    default: RawDefault,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct RawCalendar {
    base: String,
    #[serde(default)]
    annual: Vec<RawNamedDate>,
    #[serde(default)]
    dates: Vec<RawNamedDate>,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct RawNamedDate {
    date: String,
    name: String,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct RawContact {
    name: String,
    role: String,
    email: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    phone: Option<String>,
    #[serde(default)]
    channels: Vec<Channel>,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct RawStaffing {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    calendar: Option<String>,
    staffed_by: String,
    otherwise: String,
    windows: Vec<RawWindow>,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    note: Option<String>,
    services: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    except: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    priorities: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    always: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    windows: Option<Vec<RawWindow>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    holidays: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    calendar: Option<String>,
    contact: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ack_timeout: Option<String>,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct RawWindow {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    days: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    time: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    from: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    to: Option<String>,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct RawDefault {
    contact: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ack_timeout: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    note: Option<String>,
}

/// Turn toml's byte span into line, column and a key path such as `rules[2].colour`.
pub(super) fn locate(src: &str, offset: usize) -> (usize, usize, String) {
    let offset = offset.min(src.len());
    let before = &src[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;

    let mut header = String::new();
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for l in src[..line_start].lines() {
        let t = l.trim();
        if let Some(name) = t.strip_prefix("[[").and_then(|r| r.split("]]").next()) {
            let name = name.trim().to_string();
            let n = counts.entry(name.clone()).or_insert(0);
            header = format!("{name}[{n}]");
            *n += 1;
        } else if let Some(name) = t.strip_prefix('[').and_then(|r| r.split(']').next()) {
            header = name.trim().to_string();
        }
    }
    let this_line = src[line_start..].lines().next().unwrap_or("");
    let t = this_line.trim_start();
    let key = match t.split_once('=') {
        Some((k, _)) if t.starts_with(|c: char| c.is_alphanumeric() || c == '"' || c == '_') => {
            let k = k.trim();
            if header.is_empty() { k.to_string() } else { format!("{header}.{k}") }
        }
        _ if header.is_empty() => "(top level)".to_string(),
        _ => header,
    };
    (line, column, key)
}

fn parse_duration(s: &str) -> Result<SignedDuration, String> {
    let d = SignedDuration::from_str(s.trim())
        .map_err(|e| format!("`{s}` is not a duration (want e.g. `15m`, `1h`): {e}"))?;
    if d <= SignedDuration::ZERO || d > SignedDuration::from_hours(24) {
        return Err(format!("`{s}` must be more than 0 and at most 24 hours"));
    }
    Ok(d)
}

/// Collects problems so the operator sees all of them at once.
struct Check {
    problems: Vec<RulesetProblem>,
}

impl Check {
    fn fail(&mut self, key: impl Into<String>, reason: impl Into<String>) {
        self.problems.push(RulesetProblem { key: key.into(), reason: reason.into() });
    }

    fn ok<T>(&mut self, key: impl Into<String>, r: Result<T, String>) -> Option<T> {
        r.map_err(|reason| self.fail(key, reason)).ok()
    }
}

fn parse_windows(check: &mut Check, key: &str, raw: &mut [RawWindow]) -> Vec<Window> {
    let mut out = Vec::new();
    for (i, w) in raw.iter_mut().enumerate() {
        let key = format!("{key}[{i}]");
        // Parse the parts first so that the error names the key at fault.
        let parsed = match (&w.days, &w.time, &w.from, &w.to) {
            (Some(days), time, None, None) => match DaySet::parse(days) {
                Err(e) => Err((format!("{key}.days"), e)),
                Ok(_) => Window::daily(days, time.as_deref()).map_err(|e| (format!("{key}.time"), e)),
            },
            (None, None, Some(from), Some(to)) => match (week_point(from), week_point(to)) {
                (Err(e), _) => Err((format!("{key}.from"), e)),
                (_, Err(e)) => Err((format!("{key}.to"), e)),
                _ => Window::span(from, to).map_err(|e| (key.clone(), e)),
            },
            _ => Err((key.clone(), "give either `days` (with optional `time`) or `from` and `to`".into())),
        };
        let parsed = parsed.map_err(|(k, e)| check.fail(k, e)).ok();
        if let Some(win) = parsed {
            // Normalise the spelling for the version hash.
            *w = match win {
                Window::Daily { days, start, end } => RawWindow {
                    days: Some(days.to_string()),
                    time: Some(format!("{start}-{end}")),
                    from: None,
                    to: None,
                },
                Window::Span { .. } => {
                    let text = win.to_string();
                    let (from, to) = text.split_once(" → ").unwrap_or((&text, ""));
                    RawWindow { days: None, time: None, from: Some(from.to_string()), to: Some(to.to_string()) }
                }
            };
            out.push(win);
        }
    }
    out
}

/// What a rule falls back to when it does not say.
struct Defaults {
    calendar: usize,
    ack_timeout: Option<SignedDuration>,
}

pub(super) fn build(mut raw: RawRuleset, file: &str) -> Result<Ruleset, LoadError> {
    let mut check = Check { problems: Vec::new() };

    let zone = check.ok(
        "zone",
        TimeZone::get(raw.zone.trim())
            .map_err(|e| format!("`{}` is not a known IANA time zone (e.g. Europe/Copenhagen): {e}", raw.zone)),
    );
    raw.zone = raw.zone.trim().to_string();
    let ack_timeout = check.ok("ack_timeout", parse_duration(&raw.ack_timeout));
    if let Some(d) = ack_timeout {
        raw.ack_timeout = d.to_string();
    }

    let calendars = build_calendars(&mut check, &mut raw.calendars);
    let default_calendar = calendar_index(&mut check, &calendars, "calendar", &raw.calendar);
    let contacts = build_contacts(&mut check, &raw.contacts);
    check_chains(&mut check, &contacts, &raw.chains);
    let staffing = build_staffing(&mut check, &calendars, default_calendar, &mut raw.staffing);

    let defaults = Defaults { calendar: default_calendar, ack_timeout };
    let mut rules: Vec<Rule> = Vec::new();
    let mut services: Vec<String> = Vec::new();
    for (i, r) in raw.rules.iter_mut().enumerate() {
        let rule = build_rule(&mut check, i, r, &rules, &mut services, &calendars, &contacts, &defaults);
        rules.push(rule);
    }
    for (i, s) in raw.services.iter_mut().enumerate() {
        let n = s.trim().to_uppercase();
        if n.is_empty() || n == "*" {
            check.fail(format!("services[{i}]"), "must name a service");
        } else if !services.contains(&n) {
            services.push(n.clone());
        }
        *s = n;
    }
    raw.services.sort();
    raw.services.dedup();

    known_contact(&mut check, &contacts, "default.contact", &raw.default.contact);
    let default_timeout = match &mut raw.default.ack_timeout {
        Some(t) => {
            let d = check.ok("default.ack_timeout", parse_duration(t));
            if let Some(d) = d {
                *t = d.to_string();
            }
            d
        }
        None => ack_timeout,
    };

    let zone = match zone {
        Some(z) if check.problems.is_empty() => z,
        _ => {
            return Err(LoadError::Invalid { file: file.to_string(), problems: check.problems });
        }
    };

    let canonical = toml::to_string(&raw).map_err(|e| LoadError::Invalid {
        file: file.to_string(),
        problems: vec![RulesetProblem {
            key: "(whole file)".into(),
            reason: format!("cannot normalise for hashing: {e}"),
        }],
    })?;
    let digest = Sha256::digest(canonical.as_bytes());
    let version = hex::encode(&digest[..8]);

    Ok(Ruleset {
        file: file.to_string(),
        version,
        zone_name: zone.iana_name().unwrap_or(raw.zone.as_str()).to_string(),
        zone,
        calendars,
        contacts,
        chains: raw.chains,
        services,
        rules,
        default: DefaultRule {
            contact: raw.default.contact,
            ack_timeout: default_timeout.unwrap_or(SignedDuration::from_mins(15)),
            note: raw.default.note,
        },
        staffing,
        warnings: Vec::new(),
    })
}

fn build_calendars(check: &mut Check, raw: &mut BTreeMap<String, RawCalendar>) -> Vec<Calendar> {
    let mut calendars = Vec::new();
    for (id, c) in raw.iter_mut() {
        let key = format!("calendars.{id}");
        let base = BaseCalendar::parse(&c.base).ok_or_else(|| {
            format!("`{}` is not a built-in calendar (want denmark, belgium-healthdata or none)", c.base)
        });
        let base = check.ok(format!("{key}.base"), base).unwrap_or(BaseCalendar::None);
        c.base = base.name().to_string();
        let mut annual = BTreeMap::new();
        for (i, a) in c.annual.iter_mut().enumerate() {
            let parsed = a
                .date
                .trim()
                .split_once('-')
                .and_then(|(m, d)| Some((m.parse::<i8>().ok()?, d.parse::<i8>().ok()?)))
                // 2024 is a leap year, so 02-29 is accepted.
                .filter(|&(m, d)| Date::new(2024, m, d).is_ok())
                .ok_or_else(|| format!("`{}` is not a month-day (want MM-DD, e.g. 12-24)", a.date));
            if let Some((m, d)) = check.ok(format!("{key}.annual[{i}].date"), parsed) {
                a.date = format!("{m:02}-{d:02}");
                if annual.insert((m, d), a.name.clone()).is_some() {
                    check.fail(format!("{key}.annual[{i}]"), "date listed twice");
                }
            }
        }
        let mut dates = BTreeMap::new();
        for (i, a) in c.dates.iter_mut().enumerate() {
            let parsed =
                Date::from_str(a.date.trim()).map_err(|e| format!("`{}` is not a date (want YYYY-MM-DD): {e}", a.date));
            if let Some(d) = check.ok(format!("{key}.dates[{i}].date"), parsed) {
                a.date = d.to_string();
                if dates.insert(d, a.name.clone()).is_some() {
                    check.fail(format!("{key}.dates[{i}]"), "date listed twice");
                }
            }
        }
        calendars.push(Calendar { id: id.clone(), base, annual, dates });
    }
    calendars
}

/// The index of calendar `id`, or a problem at `key` naming the known ones.
fn calendar_index(check: &mut Check, calendars: &[Calendar], key: &str, id: &str) -> usize {
    match calendars.iter().position(|c| c.id == id) {
        Some(i) => i,
        None => {
            let known: Vec<_> = calendars.iter().map(|c| c.id.as_str()).collect();
            check.fail(key, format!("no calendar `{id}` (known: {})", known.join(", ")));
            0
        }
    }
}

fn build_contacts(check: &mut Check, raw: &BTreeMap<String, RawContact>) -> BTreeMap<String, Contact> {
    let mut contacts = BTreeMap::new();
    for (id, c) in raw {
        let key = format!("contacts.{id}");
        if c.name.trim().is_empty() {
            check.fail(format!("{key}.name"), "must not be empty");
        }
        if !c.email.contains('@') {
            check.fail(format!("{key}.email"), format!("`{}` is not an e-mail address", c.email));
        }
        for (i, ch) in c.channels.iter().enumerate() {
            let key = format!("{key}.channels[{i}]");
            match ch {
                Channel::Email { address } if !address.contains('@') => {
                    check.fail(key, format!("`{address}` is not an e-mail address"))
                }
                Channel::Webhook { url } if !(url.starts_with("https://") || url.starts_with("http://")) => {
                    check.fail(key, format!("`{url}` is not an http(s) URL"))
                }
                Channel::Sms { number } | Channel::Phone { number }
                    if !number.trim_start_matches('+').chars().any(|c| c.is_ascii_digit()) =>
                {
                    check.fail(key, format!("`{number}` is not a phone number"))
                }
                _ => {}
            }
        }
        contacts.insert(
            id.clone(),
            Contact {
                id: id.clone(),
                name: c.name.clone(),
                role: c.role.clone(),
                email: c.email.clone(),
                phone: c.phone.clone(),
                channels: c.channels.clone(),
            },
        );
    }
    contacts
}

/// A problem at `key` unless contact `id` exists, naming the known ones.
fn known_contact(check: &mut Check, contacts: &BTreeMap<String, Contact>, key: &str, id: &str) {
    if !contacts.contains_key(id) {
        let known: Vec<_> = contacts.keys().map(String::as_str).collect();
        check.fail(key, format!("no contact `{id}` (known: {})", known.join(", ")));
    }
}

/// Chains: who comes next when a contact does not acknowledge.
fn check_chains(check: &mut Check, contacts: &BTreeMap<String, Contact>, chains: &BTreeMap<String, Vec<String>>) {
    for (from, next) in chains {
        let key = format!("chains.{from}");
        known_contact(check, contacts, &key, from);
        for (i, to) in next.iter().enumerate() {
            known_contact(check, contacts, &format!("{key}[{i}]"), to);
            if to == from || next[..i].contains(to) {
                check.fail(format!("{key}[{i}]"), format!("`{to}` already comes earlier in this chain"));
            }
        }
    }
}

fn build_staffing(
    check: &mut Check,
    calendars: &[Calendar],
    default_calendar: usize,
    raw: &mut RawStaffing,
) -> Staffing {
    let staffing_calendar = match &raw.calendar {
        Some(c) => calendar_index(check, calendars, "staffing.calendar", c),
        None => default_calendar,
    };
    for (field, value) in [("staffed_by", &raw.staffed_by), ("otherwise", &raw.otherwise)] {
        if value.trim().is_empty() {
            check.fail(format!("staffing.{field}"), "must name a desk");
        }
    }
    if raw.windows.is_empty() {
        check.fail("staffing.windows", "at least one staffed window is needed");
    }
    Staffing {
        calendar: staffing_calendar,
        staffed_by: raw.staffed_by.clone(),
        otherwise: raw.otherwise.clone(),
        windows: parse_windows(check, "staffing.windows", &mut raw.windows),
    }
}

/// One rule, checked; `rules` are those before it (ids must differ) and `services`
/// collects every service named.
#[allow(clippy::too_many_arguments)]
fn build_rule(
    check: &mut Check,
    i: usize,
    r: &mut RawRule,
    rules: &[Rule],
    services: &mut Vec<String>,
    calendars: &[Calendar],
    contacts: &BTreeMap<String, Contact>,
    defaults: &Defaults,
) -> Rule {
    let key = format!("rules[{i}]({})", r.id);
    if r.id.trim().is_empty() || r.id == "default" {
        check.fail(format!("{key}.id"), "must be non-empty and not `default`");
    }
    if rules.iter().any(|o| o.id == r.id) {
        check.fail(format!("{key}.id"), format!("rule id `{}` is used twice", r.id));
    }
    let mut names = |check: &mut Check, field: &str, list: &mut Vec<String>| {
        for n in list.iter_mut() {
            *n = n.trim().to_uppercase();
            if n.is_empty() || n == "*" {
                check.fail(format!("{key}.{field}"), "`*` must stand alone; names must not be empty");
            } else if !services.contains(n) {
                services.push(n.clone());
            }
        }
        list.clone()
    };
    let service_match = if r.services.iter().any(|s| s.trim() == "*") {
        if r.services.len() > 1 {
            check.fail(format!("{key}.services"), "`*` must stand alone");
        }
        ServiceMatch::Any { except: names(check, "except", &mut r.except) }
    } else {
        if r.services.is_empty() {
            check.fail(format!("{key}.services"), "name services, or `*` for any service");
        }
        if !r.except.is_empty() {
            check.fail(format!("{key}.except"), "`except` goes with `services = [\"*\"]`");
        }
        ServiceMatch::Named(names(check, "services", &mut r.services))
    };
    let mut priorities = [true; 4];
    if let Some(list) = &mut r.priorities {
        priorities = [false; 4];
        for (j, p) in list.iter_mut().enumerate() {
            match Priority::from_str(p) {
                Ok(p2) => {
                    priorities[p2.index()] = true;
                    *p = p2.to_string();
                }
                Err(_) => check
                    .fail(format!("{key}.priorities[{j}]"), format!("`{p}` is not a priority (want P1, P2, P3 or P4)")),
            }
        }
        if list.is_empty() {
            check.fail(format!("{key}.priorities"), "leave out for all priorities, or name some");
        }
    }
    let when = match (r.always, &mut r.windows) {
        (Some(true), None) => When::Always,
        (None | Some(false), Some(ws)) if !ws.is_empty() => {
            When::Windows(parse_windows(check, &format!("{key}.windows"), ws))
        }
        _ => {
            check.fail(key.clone(), "give either `always = true` or a non-empty `windows` list");
            When::Always
        }
    };
    let holidays = match &mut r.holidays {
        Some(h) => {
            let p = check.ok(format!("{key}.holidays"), HolidayPolicy::parse(h)).unwrap_or_default();
            *h = p.name().to_string();
            p
        }
        None => HolidayPolicy::default(),
    };
    let calendar = match &r.calendar {
        Some(c) => calendar_index(check, calendars, &format!("{key}.calendar"), c),
        None => defaults.calendar,
    };
    known_contact(check, contacts, &format!("{key}.contact"), &r.contact);
    let rule_timeout = match &mut r.ack_timeout {
        Some(t) => {
            let d = check.ok(format!("{key}.ack_timeout"), parse_duration(t));
            if let Some(d) = d {
                *t = d.to_string();
            }
            d
        }
        None => defaults.ack_timeout,
    };
    Rule {
        id: r.id.clone(),
        note: r.note.clone(),
        services: service_match,
        priorities,
        when,
        holidays,
        calendar,
        contact: r.contact.clone(),
        ack_timeout: rule_timeout.unwrap_or(SignedDuration::from_mins(15)),
    }
}
