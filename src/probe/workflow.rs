//! A workflow as the probe learns it: which statuses each status's transitions lead
//! to. Statuses compare without regard to case (as Jira and the mapping compare
//! them). Only statuses whose transitions were read are "explored"; a verdict about
//! reachability is certain only where every status on the way was explored.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

#[derive(Debug, Default)]
pub struct Graph {
    /// Status (lower case) → (transition name, target status as named) of each transition.
    edges: BTreeMap<String, Vec<(String, String)>>,
    /// How each status is named, by its lower-case key.
    names: BTreeMap<String, String>,
}

fn key(s: &str) -> String {
    s.trim().to_lowercase()
}

/// What reachability from one mapped status found.
#[derive(Debug, PartialEq, Eq)]
pub struct Unreached {
    pub from: String,
    pub to: Vec<String>,
    /// Whether every status reachable from `from` was explored (the verdict is certain).
    pub certain: bool,
}

impl Graph {
    /// Record the transitions read at `status`: `(name, target)` each.
    pub fn explored(&mut self, status: &str, transitions: Vec<(String, String)>) {
        self.names.entry(key(status)).or_insert_with(|| status.to_owned());
        for (_, to) in &transitions {
            self.names.entry(key(to)).or_insert_with(|| to.clone());
        }
        self.edges.insert(key(status), transitions);
    }

    pub fn is_explored(&self, status: &str) -> bool {
        self.edges.contains_key(&key(status))
    }

    /// The transitions read at `status`.
    pub fn transitions(&self, status: &str) -> &[(String, String)] {
        self.edges.get(&key(status)).map_or(&[], Vec::as_slice)
    }

    /// Every status reachable from `from` through the known transitions, `from` included.
    fn reachable(&self, from: &str) -> BTreeSet<String> {
        let mut seen = BTreeSet::from([key(from)]);
        let mut queue = VecDeque::from([key(from)]);
        while let Some(s) = queue.pop_front() {
            for (_, to) in self.edges.get(&s).into_iter().flatten() {
                if seen.insert(key(to)) {
                    queue.push_back(key(to));
                }
            }
        }
        seen
    }

    /// The transitions to take from `from` to `to` (shortest chain), if known.
    pub fn path(&self, from: &str, to: &str) -> Option<Vec<(String, String)>> {
        let mut back: BTreeMap<String, (String, String, String)> = BTreeMap::new();
        let mut queue = VecDeque::from([key(from)]);
        let mut seen = BTreeSet::from([key(from)]);
        while let Some(s) = queue.pop_front() {
            if s == key(to) {
                let mut steps = Vec::new();
                let mut at = s;
                while let Some((prev, name, target)) = back.get(&at) {
                    steps.push((name.clone(), target.clone()));
                    at = prev.clone();
                }
                steps.reverse();
                return Some(steps);
            }
            for (name, target) in self.edges.get(&s).into_iter().flatten() {
                if seen.insert(key(target)) {
                    back.insert(key(target), (s.clone(), name.clone(), target.clone()));
                    queue.push_back(key(target));
                }
            }
        }
        None
    }

    /// The nearest status reachable from `from` whose transitions were not read yet.
    pub fn nearest_unexplored(&self, from: &str) -> Option<String> {
        let mut queue = VecDeque::from([key(from)]);
        let mut seen = BTreeSet::from([key(from)]);
        while let Some(s) = queue.pop_front() {
            if !self.edges.contains_key(&s) {
                return Some(self.names.get(&s).cloned().unwrap_or(s));
            }
            for (_, target) in self.edges.get(&s).into_iter().flatten() {
                if seen.insert(key(target)) {
                    queue.push_back(key(target));
                }
            }
        }
        None
    }

    /// For each mapped status, the mapped statuses it cannot reach (chains allowed).
    pub fn unreached(&self, mapped: &[String]) -> Vec<Unreached> {
        mapped
            .iter()
            .filter_map(|from| {
                let reach = self.reachable(from);
                let to: Vec<String> = mapped.iter().filter(|m| !reach.contains(&key(m))).cloned().collect();
                let certain = reach.iter().all(|s| self.edges.contains_key(s));
                (!to.is_empty()).then(|| Unreached { from: from.clone(), to, certain })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graph(edges: &[(&str, &[&str])]) -> Graph {
        let mut g = Graph::default();
        for (from, tos) in edges {
            g.explored(from, tos.iter().map(|t| (format!("to {t}"), (*t).to_owned())).collect());
        }
        g
    }

    #[test]
    fn chains_count_and_a_dead_end_is_named_with_what_it_cannot_reach() {
        let mapped: Vec<String> = ["Open", "Done", "Closed"].map(str::to_owned).to_vec();
        let g = graph(&[("Open", &["In Progress"]), ("In Progress", &["Done", "open"]), ("Done", &["Closed"])]);
        let found = g.unreached(&mapped);
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(found.iter().all(|u| !u.certain), "Closed was never read, so nothing past it is certain: {found:?}");
        let mut g = g;
        g.explored("Closed", vec![]);
        assert_eq!(
            g.unreached(&mapped),
            vec![
                Unreached { from: "Done".into(), to: vec!["Open".into()], certain: true },
                Unreached { from: "Closed".into(), to: vec!["Open".into(), "Done".into()], certain: true },
            ]
        );
        assert_eq!(g.path("Open", "Closed").map(|p| p.len()), Some(3));
    }

    #[test]
    fn the_nearest_unexplored_status_is_found_through_known_transitions() {
        let g = graph(&[("Open", &["In Progress"]), ("In Progress", &["Resolved", "Open"])]);
        assert_eq!(g.nearest_unexplored("Open").as_deref(), Some("Resolved"));
        assert!(g.is_explored("open"));
    }
}
