//! `docs/process.md` tells the truth: every test it names exists, and its summary
//! counts the rows it lists.

use std::collections::BTreeMap;
use std::path::Path;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn sources(dir: &Path, out: &mut String) {
    for entry in std::fs::read_dir(dir).expect("a source folder") {
        let path = entry.expect("an entry").path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push_str(&std::fs::read_to_string(&path).expect("a source file"));
        }
    }
}

fn doc() -> String {
    std::fs::read_to_string(root().join("docs/process.md")).expect("docs/process.md")
}

#[test]
fn every_test_the_process_document_names_exists() {
    let doc = doc();
    let mut lib = String::new();
    sources(&root().join("src"), &mut lib);
    let mut missing = Vec::new();
    let mut named = 0;
    for quoted in doc.split('`').skip(1).step_by(2) {
        let (binary, path) = match quoted.split_once(' ') {
            Some((b @ ("it" | "deskgate"), p)) => (b, p),
            _ => continue,
        };
        let name = path.rsplit("::").next().unwrap_or(path);
        named += 1;
        let found = match binary {
            "it" => {
                let module = path.split("::").next().unwrap_or_default();
                let file = root().join("tests/it").join(format!("{module}.rs"));
                std::fs::read_to_string(&file).is_ok_and(|s| s.contains(&format!("fn {name}(")))
            }
            _ => lib.contains(&format!("fn {name}(")),
        };
        if !found {
            missing.push(format!("{binary} {path}"));
        }
    }
    assert!(named > 50, "the document names its tests ({named} found)");
    assert!(missing.is_empty(), "docs/process.md names tests that do not exist: {missing:#?}");
}

#[test]
fn the_process_summary_counts_the_rows() {
    let doc = doc();
    let (rules, summary) = doc.split_once("## Summary").expect("a summary section");
    let mut counted: BTreeMap<String, BTreeMap<String, usize>> = BTreeMap::new();
    let mut seed = String::new();
    for line in rules.lines() {
        if let Some(rest) = line.strip_prefix("## ") {
            seed = rest.chars().take(3).collect();
            continue;
        }
        let cells: Vec<&str> = line.trim().trim_matches('|').split('|').map(str::trim).collect();
        if cells.len() >= 6 && cells[0].parse::<u32>().is_ok() {
            *counted.entry(seed.clone()).or_default().entry(cells[3].to_owned()).or_default() += 1;
        }
    }
    let statuses = ["implemented", "partial", "left to people", "not implemented"];
    let mut checked = 0;
    for line in summary.lines() {
        let cells: Vec<&str> = line.trim().trim_matches('|').split('|').map(str::trim).collect();
        let Some(seed) = cells.first().and_then(|c| c.get(..3)).filter(|s| counted.contains_key(*s)) else {
            continue;
        };
        for (status, cell) in statuses.iter().zip(&cells[1..5]) {
            let listed = counted[seed].get(*status).copied().unwrap_or(0);
            assert_eq!(cell.parse::<usize>().ok(), Some(listed), "seed {seed}, {status}: the summary says {cell}");
        }
        checked += 1;
    }
    assert_eq!(checked, counted.len(), "every seed has its summary line");
    for (seed, by_status) in &counted {
        let unknown: Vec<_> = by_status.keys().filter(|s| !statuses.contains(&s.as_str())).collect();
        assert!(unknown.is_empty(), "seed {seed} has rows with an unknown status: {unknown:?}");
    }
}
