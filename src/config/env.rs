//! Where configuration values come from besides the file: the environment.
//! `DESKGATE_<SECTION>__<KEY>[__<KEY>…]` overrides one value (see the module docs of
//! `crate::config`); secrets named by `{ env = "NAME" }` are read through [`Env`].

use super::*;

/// Where environment variables come from: the process, or a map in tests and the demo.
pub trait Env {
    fn var(&self, name: &str) -> Option<String>;
    fn vars(&self) -> Vec<(String, String)>;
}

/// The process environment.
pub struct ProcessEnv;

impl Env for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }
    fn vars(&self) -> Vec<(String, String)> {
        std::env::vars().collect()
    }
}

/// Variables from a map, falling back to the process environment.
#[derive(Clone, Debug, Default)]
pub struct MapEnv {
    pub vars: HashMap<String, String>,
    pub inherit: bool,
}

impl MapEnv {
    pub fn new(inherit: bool) -> Self {
        Self { vars: HashMap::new(), inherit }
    }

    pub fn with(mut self, name: &str, value: impl Into<String>) -> Self {
        self.vars.insert(name.to_owned(), value.into());
        self
    }
}

impl Env for MapEnv {
    fn var(&self, name: &str) -> Option<String> {
        self.vars.get(name).cloned().or_else(|| self.inherit.then(|| std::env::var(name).ok()).flatten())
    }
    fn vars(&self) -> Vec<(String, String)> {
        let mut all: Vec<_> = if self.inherit { std::env::vars().collect() } else { Vec::new() };
        all.extend(self.vars.iter().map(|(k, v)| (k.clone(), v.clone())));
        all
    }
}

/// Replace values named by `DESKGATE_<SECTION>__<KEY>…` variables.
pub(super) fn apply_env_overrides(root: &mut toml::Table, env: &dyn Env, problems: &mut Vec<Problem>) {
    let mut vars = env.vars();
    vars.sort();
    for (name, value) in vars {
        let Some(rest) = name.strip_prefix("DESKGATE_") else { continue };
        let parts: Vec<&str> = rest.split("__").collect();
        let section = parts[0].to_ascii_lowercase();
        if parts.len() < 2 || !matches!(section.as_str(), "gateway" | "desks") {
            continue;
        }
        let mut table = &mut *root;
        let mut path = String::new();
        let mut ok = true;
        for (i, raw) in parts.iter().enumerate() {
            let key = match_key(table, raw, i == 1 && section == "desks");
            if !path.is_empty() {
                path.push('.');
            }
            path.push_str(&key);
            if i + 1 == parts.len() {
                table.insert(key, scalar(&value));
            } else {
                let entry = table.entry(key).or_insert_with(|| toml::Value::Table(toml::Table::new()));
                match entry {
                    toml::Value::Table(t) => table = t,
                    _ => {
                        problems.push(Problem {
                            path: path.clone(),
                            message: format!("{name} names a key inside a value that is not a table"),
                        });
                        ok = false;
                        break;
                    }
                }
            }
        }
        if ok {
            tracing::debug!(variable = %name, key = %path, "configuration value overridden from the environment");
        }
    }
}

/// The existing key `raw` names (case-insensitive, `_` matching `-`), or a new key:
/// a desk id when it sits directly under `desks` (ids use `-`), else a setting (`_`).
pub(super) fn match_key(table: &toml::Table, raw: &str, under_desks: bool) -> String {
    let norm = |s: &str| s.to_ascii_lowercase().replace('-', "_");
    table.keys().find(|k| norm(k) == norm(raw)).cloned().unwrap_or_else(|| {
        let key = raw.to_ascii_lowercase();
        if under_desks { key.replace('_', "-") } else { key }
    })
}

/// An override's value: a TOML number or boolean when it reads as one, else a string.
pub(super) fn scalar(value: &str) -> toml::Value {
    if let Ok(i) = value.parse::<i64>() {
        return toml::Value::Integer(i);
    }
    match value {
        "true" => toml::Value::Boolean(true),
        "false" => toml::Value::Boolean(false),
        _ => toml::Value::String(value.to_owned()),
    }
}
