//! The backup format: the whole store as JSON lines, one line per key.
//!
//! ```text
//! {"deskgate_backup":1,"created_at":"2026-11-23T17:00:00Z"}
//! {"tree":"incidents","key":"SU5DLTIwMjYtMDAwMDAx","value":{"id":"INC-2026-000001",…}}
//! {"tree":"meta","key":"aW5jaWRlbnRfc2Vx","value_b64":"AAAAAAAAAAE="}
//! {"end":{"records":2,"next_id":17}}
//! ```
//!
//! Keys are base64 (they are binary: big-endian sequence numbers, `desk \0 id`).
//! A value that is JSON (incidents, audit entries, outbox items) is written as that
//! JSON, byte for byte, so a backup can be read and searched with ordinary tools;
//! any other value is base64 in `value_b64`. The last line counts the records, so a
//! truncated file is refused, and carries the store's id generator, which the
//! restored store is moved past so new sequence numbers never reuse restored keys.
//!
//! A restore reads and checks every line before it writes anything: a corrupt line
//! is refused with its line number and the store is left as it was.
//!
//! The format knows trees and bytes, not sled: another [`super::Store`] can write
//! and read it with [`Writer`] and [`read`].

use std::collections::HashSet;
use std::io::{BufRead, Write};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use super::StoreError;

/// The version written in the first line.
pub const FORMAT_VERSION: u32 = 1;

/// What a backup or restore covered.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BackupSummary {
    /// Keys written or read, per tree, in tree order.
    pub trees: Vec<(String, u64)>,
    pub records: u64,
}

impl std::fmt::Display for BackupSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} records", self.records)?;
        let parts: Vec<String> = self.trees.iter().map(|(t, n)| format!("{t} {n}")).collect();
        if !parts.is_empty() {
            write!(f, " ({})", parts.join(", "))?;
        }
        Ok(())
    }
}

#[derive(Serialize, Deserialize)]
struct Header {
    deskgate_backup: u32,
    created_at: String,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct End {
    records: u64,
    next_id: u64,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Trailer {
    end: End,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Line<'a> {
    tree: String,
    key: String,
    #[serde(borrow, skip_serializing_if = "Option::is_none")]
    value: Option<&'a RawValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    value_b64: Option<String>,
}

/// Writes a backup: header, then [`Writer::record`] per key, then [`Writer::finish`].
pub struct Writer<'w> {
    out: &'w mut dyn Write,
    summary: BackupSummary,
}

fn io(e: std::io::Error) -> StoreError {
    StoreError::Io(format!("writing the backup: {e}"))
}

impl<'w> Writer<'w> {
    pub fn start(out: &'w mut dyn Write) -> Result<Self, StoreError> {
        let header = Header { deskgate_backup: FORMAT_VERSION, created_at: jiff::Timestamp::now().to_string() };
        serde_json::to_writer(&mut *out, &header).map_err(|e| StoreError::Io(e.to_string()))?;
        out.write_all(b"\n").map_err(io)?;
        Ok(Self { out, summary: BackupSummary::default() })
    }

    pub fn record(&mut self, tree: &str, key: &[u8], value: &[u8]) -> Result<(), StoreError> {
        let raw = as_json(value);
        let line = Line {
            tree: tree.to_owned(),
            key: B64.encode(key),
            value: raw,
            value_b64: raw.is_none().then(|| B64.encode(value)),
        };
        serde_json::to_writer(&mut *self.out, &line).map_err(|e| StoreError::Io(e.to_string()))?;
        self.out.write_all(b"\n").map_err(io)?;
        match self.summary.trees.last_mut() {
            Some((t, n)) if t == tree => *n += 1,
            _ => self.summary.trees.push((tree.to_owned(), 1)),
        }
        self.summary.records += 1;
        Ok(())
    }

    /// Write the closing line; `next_id` is the store's next generated id.
    pub fn finish(self, next_id: u64) -> Result<BackupSummary, StoreError> {
        let trailer = Trailer { end: End { records: self.summary.records, next_id } };
        serde_json::to_writer(&mut *self.out, &trailer).map_err(|e| StoreError::Io(e.to_string()))?;
        self.out.write_all(b"\n").map_err(io)?;
        self.out.flush().map_err(io)?;
        Ok(self.summary)
    }
}

/// `value` as JSON text when it is JSON that reads back as exactly these bytes.
fn as_json(value: &[u8]) -> Option<&RawValue> {
    if value.is_empty() || value.iter().any(|b| b.is_ascii_whitespace() && *b != b' ') {
        return None;
    }
    if value.first().is_some_and(u8::is_ascii_whitespace) || value.last().is_some_and(u8::is_ascii_whitespace) {
        return None;
    }
    serde_json::from_slice::<&RawValue>(value).ok().filter(|raw| raw.get().as_bytes() == value)
}

/// One key of a backup.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    pub tree: String,
    pub key: Vec<u8>,
    pub value: Vec<u8>,
}

/// A checked backup, ready to load.
#[derive(Debug, Default)]
pub struct Backup {
    pub records: Vec<Record>,
    /// The id generator must be moved to at least this before new writes.
    pub next_id: u64,
}

impl Backup {
    pub fn summary(&self) -> BackupSummary {
        let mut summary = BackupSummary { trees: Vec::new(), records: self.records.len() as u64 };
        for r in &self.records {
            match summary.trees.iter_mut().find(|(t, _)| *t == r.tree) {
                Some((_, n)) => *n += 1,
                None => summary.trees.push((r.tree.clone(), 1)),
            }
        }
        summary
    }
}

/// The highest id generator value a backup may carry: far beyond any real store,
/// low enough that moving a fresh generator there is bounded.
const MAX_NEXT_ID: u64 = 1 << 36;

/// Read and check a whole backup. Every problem names its line (1-based).
pub fn read(input: &mut dyn BufRead) -> Result<Backup, StoreError> {
    let refuse = |line: usize, why: String| StoreError::Restore(format!("line {line}: {why}"));
    let mut backup = Backup::default();
    let mut seen: HashSet<(String, Vec<u8>)> = HashSet::new();
    let mut ended = false;
    let mut text = String::new();
    let mut n = 0usize;
    loop {
        text.clear();
        let read = input.read_line(&mut text).map_err(|e| match e.kind() {
            std::io::ErrorKind::InvalidData => refuse(n + 1, "not UTF-8 text".into()),
            _ => StoreError::Io(format!("reading the backup: {e}")),
        })?;
        if read == 0 {
            break;
        }
        n += 1;
        let line = text.trim_end_matches(['\n', '\r']);
        if ended {
            return Err(refuse(n, "text after the closing line".into()));
        }
        if n == 1 {
            let header: Header =
                serde_json::from_str(line).map_err(|e| refuse(n, format!("not a deskgate backup header ({e})")))?;
            if header.deskgate_backup != FORMAT_VERSION {
                return Err(refuse(
                    n,
                    format!("backup format {} is not supported (expected {FORMAT_VERSION})", header.deskgate_backup),
                ));
            }
            continue;
        }
        if line.starts_with("{\"end\"") {
            let trailer: Trailer =
                serde_json::from_str(line).map_err(|e| refuse(n, format!("unreadable closing line: {e}")))?;
            if trailer.end.records != backup.records.len() as u64 {
                return Err(refuse(
                    n,
                    format!(
                        "the closing line counts {} records, the file has {}",
                        trailer.end.records,
                        backup.records.len()
                    ),
                ));
            }
            if trailer.end.next_id > MAX_NEXT_ID {
                return Err(refuse(n, format!("next_id {} is out of range", trailer.end.next_id)));
            }
            backup.next_id = trailer.end.next_id;
            ended = true;
            continue;
        }
        let record: Line<'_> = serde_json::from_str(line).map_err(|e| refuse(n, format!("not a record: {e}")))?;
        if record.tree.is_empty() {
            return Err(refuse(n, "tree: empty name".into()));
        }
        let key = B64.decode(&record.key).map_err(|e| refuse(n, format!("key: not base64 ({e})")))?;
        let value = match (record.value, record.value_b64) {
            (Some(json), None) => json.get().as_bytes().to_vec(),
            (None, Some(b64)) => B64.decode(&b64).map_err(|e| refuse(n, format!("value_b64: not base64 ({e})")))?,
            _ => return Err(refuse(n, "expected exactly one of value and value_b64".into())),
        };
        if !seen.insert((record.tree.clone(), key.clone())) {
            return Err(refuse(n, format!("key {} appears twice in tree {}", record.key, record.tree)));
        }
        backup.records.push(Record { tree: record.tree, key, value });
    }
    if n == 0 {
        return Err(StoreError::Restore("the file is empty".into()));
    }
    if !ended {
        return Err(refuse(n, "the file ends without its closing line (truncated?)".into()));
    }
    Ok(backup)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(records: &[(&str, &[u8], &[u8])], next_id: u64) -> String {
        let mut out = Vec::new();
        let mut w = Writer::start(&mut out).unwrap();
        for (t, k, v) in records {
            w.record(t, k, v).unwrap();
        }
        w.finish(next_id).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn round_trips_json_and_binary_values_byte_for_byte() {
        let records: Vec<(&str, &[u8], &[u8])> = vec![
            ("incidents", b"INC-2026-000001", br#"{"id":"INC-2026-000001","title":"a \"b\"\nc"}"#),
            ("meta", b"incident_seq", &[0, 0, 0, 0, 0, 0, 0, 7]),
            ("meta", b"cursor/x", b"12345"),
            ("meta", b"cursor/y", b" 1"),
            ("audit", &[0, 0, 0, 0, 0, 0, 0, 1], b"{\"a\": 1}"),
            ("xref", b"region-h\0INC1", b"INC-2026-000001"),
        ];
        let text = write(&records, 42);
        assert_eq!(text.lines().count(), records.len() + 2);
        assert!(text.contains(r#""value":{"id":"INC-2026-000001""#), "JSON stays readable: {text}");
        let back = read(&mut text.as_bytes()).unwrap();
        assert_eq!(back.next_id, 42);
        let got: Vec<(&str, &[u8], &[u8])> =
            back.records.iter().map(|r| (r.tree.as_str(), r.key.as_slice(), r.value.as_slice())).collect();
        assert_eq!(got, records);
        assert_eq!(back.summary().to_string(), "6 records (incidents 1, meta 3, audit 1, xref 1)");
    }

    #[test]
    fn a_corrupt_line_is_refused_naming_its_number() {
        let text = write(&[("incidents", b"a", b"{}"), ("incidents", b"b", b"{}"), ("meta", b"c", b"x")], 1);
        let mut lines: Vec<&str> = text.lines().collect();
        lines[2] = r#"{"tree":"incidents","key":"!!!","value":{}}"#;
        let err = read(&mut lines.join("\n").as_bytes()).unwrap_err().to_string();
        assert!(err.contains("line 3") && err.contains("key"), "{err}");

        lines[2] = r#"{"tree":"incidents","key":"Yg==","value":{"#;
        let err = read(&mut lines.join("\n").as_bytes()).unwrap_err().to_string();
        assert!(err.contains("line 3"), "{err}");

        lines[2] = r#"{"tree":"incidents","key":"YQ==","value":{}}"#;
        let err = read(&mut lines.join("\n").as_bytes()).unwrap_err().to_string();
        assert!(err.contains("line 3") && err.contains("twice"), "{err}");
    }

    #[test]
    fn truncated_and_foreign_files_are_refused() {
        let text = write(&[("incidents", b"a", b"{}"), ("incidents", b"b", b"{}")], 1);
        let truncated: Vec<&str> = text.lines().take(3).collect();
        let err = read(&mut truncated.join("\n").as_bytes()).unwrap_err().to_string();
        assert!(err.contains("line 3") && err.contains("closing line"), "{err}");

        let dropped: Vec<&str> = text.lines().enumerate().filter(|(i, _)| *i != 1).map(|(_, l)| l).collect();
        let err = read(&mut dropped.join("\n").as_bytes()).unwrap_err().to_string();
        assert!(err.contains("line 3") && err.contains("counts 2 records"), "{err}");

        let err = read(&mut "{\"hello\":1}\n".as_bytes()).unwrap_err().to_string();
        assert!(err.contains("line 1") && err.contains("header"), "{err}");
        assert!(read(&mut "".as_bytes()).unwrap_err().to_string().contains("empty"));
        let after = format!("{text}{{\"tree\":\"x\",\"key\":\"\",\"value\":1}}\n");
        assert!(read(&mut after.as_bytes()).unwrap_err().to_string().contains("line 5"));
    }
}
