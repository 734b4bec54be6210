//! The backup format: the store's contents as typed records, one JSON line each.
//!
//! ```text
//! {"deskgate_backup":2,"created_at":"2026-11-23T17:00:00Z"}
//! {"incident":{"id":"INC-2026-000001",…}}
//! {"idempotency":{"desk":"region-h","key":"k-1","fingerprint":"…","incident":"INC-2026-000001"}}
//! {"outbox":{"seq":3,"incident":"INC-2026-000001","desk":"sds",…}}
//! {"dead_letter":{"item":{…},"failed_at":…}}
//! {"audit":{"seq":2,"entry":{…}}}
//! {"escalation":{"id":"INC-2026-000001/1",…}}
//! {"cursor":{"name":"poll/sds","value":"…"}}
//! {"content":{"sha256":"92a6…","base64":"iVBORw0…"}}
//! {"end":{"records":8,"sequences":{"incident":1,"item":17}}}
//! ```
//!
//! The records are what the store means, not how one engine lays it out: another
//! [`super::Store`] writes and reads the same file with [`Writer`] and [`read`].
//! What is derived is not written: the cross-references of every incident (its
//! `refs`) are indexed again on restore. The closing line counts the records, so a
//! truncated file is refused, and carries the sequences: the last incident number
//! issued and the next number for outbox items, dead letters and audit entries. A
//! restored store continues past both, so numbers are never reused.
//!
//! Format 1 (sled tree names and base64 keys, written before) is converted to these
//! records as it is read, so older backups still restore.
//!
//! A restore reads and checks every line before it writes anything: a corrupt line
//! is refused with its line number and the store is left as it was.

use std::collections::HashSet;
use std::io::{BufRead, Write};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use super::{AuditEntry, StoreError};
use crate::escalation::Escalation;
use crate::model::{DeskId, Incident, IncidentId};
use crate::outbox::{DeadLetter, OutboxItem};

/// The version written in the first line.
pub const FORMAT_VERSION: u32 = 2;

/// What a backup or restore covered.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BackupSummary {
    /// Records written or read, per kind (`incidents`, `audit`, …), in file order.
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

impl BackupSummary {
    fn count(&mut self, kind: &str) {
        match self.trees.iter_mut().find(|(t, _)| t == kind) {
            Some((_, n)) => *n += 1,
            None => self.trees.push((kind.to_owned(), 1)),
        }
        self.records += 1;
    }
}

/// An idempotency key a desk used, with what it was used for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdempotencyRecord {
    pub desk: DeskId,
    pub key: String,
    pub fingerprint: String,
    pub incident: IncidentId,
}

/// One audit entry with its place in the log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditRecord {
    pub seq: u64,
    pub entry: AuditEntry,
}

/// A named position ([`super::Store::cursor`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CursorRecord {
    pub name: String,
    pub value: String,
}

/// An attachment's content, under its SHA-256 ([`super::Store::put_content`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContentRecord {
    pub sha256: String,
    /// The bytes, base64 (standard alphabet, padded).
    pub base64: String,
}

/// One thing the store holds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Record {
    Incident(Box<Incident>),
    Idempotency(IdempotencyRecord),
    Outbox(OutboxItem),
    DeadLetter(DeadLetter),
    Audit(AuditRecord),
    Escalation(Box<Escalation>),
    Cursor(CursorRecord),
    Content(ContentRecord),
}

impl Record {
    /// The kind, as the file names it.
    pub fn kind(&self) -> &'static str {
        match self {
            Record::Incident(_) => "incident",
            Record::Idempotency(_) => "idempotency",
            Record::Outbox(_) => "outbox",
            Record::DeadLetter(_) => "dead_letter",
            Record::Audit(_) => "audit",
            Record::Escalation(_) => "escalation",
            Record::Cursor(_) => "cursor",
            Record::Content(_) => "content",
        }
    }

    /// The kind, as a summary counts it (the plural of what the store holds).
    pub fn label(&self) -> &'static str {
        match self {
            Record::Incident(_) => "incidents",
            Record::Idempotency(_) => "idempotency",
            Record::Outbox(_) => "outbox",
            Record::DeadLetter(_) => "dead_letters",
            Record::Audit(_) => "audit",
            Record::Escalation(_) => "escalations",
            Record::Cursor(_) => "cursors",
            Record::Content(_) => "contents",
        }
    }

    /// What makes the record unique within its kind.
    fn identity(&self) -> String {
        match self {
            Record::Incident(i) => i.id.to_string(),
            Record::Idempotency(r) => format!("{} {:?}", r.desk, r.key),
            Record::Outbox(i) => i.seq.to_string(),
            Record::DeadLetter(d) => d.item.seq.to_string(),
            Record::Audit(a) => a.seq.to_string(),
            Record::Escalation(e) => e.id.clone(),
            Record::Cursor(c) => format!("{:?}", c.name),
            Record::Content(c) => c.sha256.clone(),
        }
    }

    /// The sequence number it holds (outbox items, dead letters, audit entries).
    fn seq(&self) -> Option<u64> {
        match self {
            Record::Outbox(i) => Some(i.seq),
            Record::DeadLetter(d) => Some(d.item.seq),
            Record::Audit(a) => Some(a.seq),
            _ => None,
        }
    }
}

/// Where the store's numbering stands.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sequences {
    /// The last incident number issued (0: none yet).
    pub incident: u64,
    /// The next number for an outbox item, dead letter or audit entry.
    pub item: u64,
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
    sequences: Sequences,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Trailer {
    end: End,
}

/// Writes a backup: header, then [`Writer::record`] per record, then [`Writer::finish`].
pub struct Writer<'w> {
    out: &'w mut (dyn Write + Send),
    summary: BackupSummary,
}

fn io(e: std::io::Error) -> StoreError {
    StoreError::Io(format!("writing the backup: {e}"))
}

impl<'w> Writer<'w> {
    pub fn start(out: &'w mut (dyn Write + Send)) -> Result<Self, StoreError> {
        let header = Header { deskgate_backup: FORMAT_VERSION, created_at: jiff::Timestamp::now().to_string() };
        serde_json::to_writer(&mut *out, &header).map_err(|e| StoreError::Io(e.to_string()))?;
        out.write_all(b"\n").map_err(io)?;
        Ok(Self { out, summary: BackupSummary::default() })
    }

    pub fn record(&mut self, record: &Record) -> Result<(), StoreError> {
        serde_json::to_writer(&mut *self.out, record).map_err(|e| StoreError::Io(e.to_string()))?;
        self.out.write_all(b"\n").map_err(io)?;
        self.summary.count(record.label());
        Ok(())
    }

    /// Write the closing line with where the store's numbering stands.
    pub fn finish(self, sequences: Sequences) -> Result<BackupSummary, StoreError> {
        let trailer = Trailer { end: End { records: self.summary.records, sequences } };
        serde_json::to_writer(&mut *self.out, &trailer).map_err(|e| StoreError::Io(e.to_string()))?;
        self.out.write_all(b"\n").map_err(io)?;
        self.out.flush().map_err(io)?;
        Ok(self.summary)
    }
}

/// A checked backup, ready to load.
#[derive(Debug, Default)]
pub struct Backup {
    pub records: Vec<Record>,
    /// Where numbering continues: at least past every number a record holds.
    pub sequences: Sequences,
}

impl Backup {
    pub fn summary(&self) -> BackupSummary {
        let mut summary = BackupSummary::default();
        for r in &self.records {
            summary.count(r.label());
        }
        summary
    }
}

/// The highest sequence a backup may carry: far beyond any real store, low enough
/// that moving a fresh generator there is bounded.
const MAX_NEXT_ID: u64 = 1 << 36;

fn refuse(line: usize, why: impl std::fmt::Display) -> StoreError {
    StoreError::Restore(format!("line {line}: {why}"))
}

/// Read and check a whole backup, of this format or format 1. Every problem names
/// its line (1-based).
pub fn read(input: &mut (dyn BufRead + Send)) -> Result<Backup, StoreError> {
    let mut lines = Lines { input, text: String::new(), n: 0 };
    let Some(first) = lines.next()? else {
        return Err(StoreError::Restore("the file is empty".into()));
    };
    let header: Header =
        serde_json::from_str(&first).map_err(|e| refuse(1, format!("not a deskgate backup header ({e})")))?;
    let backup = match header.deskgate_backup {
        FORMAT_VERSION => read_records(&mut lines)?,
        1 => v1::read(&mut lines)?,
        other => {
            return Err(refuse(1, format!("backup format {other} is not supported (expected {FORMAT_VERSION} or 1)")));
        }
    };
    check(backup)
}

/// The lines of a backup, numbered.
struct Lines<'a> {
    input: &'a mut (dyn BufRead + Send),
    text: String,
    n: usize,
}

impl Lines<'_> {
    fn next(&mut self) -> Result<Option<String>, StoreError> {
        self.text.clear();
        let read = self.input.read_line(&mut self.text).map_err(|e| match e.kind() {
            std::io::ErrorKind::InvalidData => refuse(self.n + 1, "not UTF-8 text"),
            _ => StoreError::Io(format!("reading the backup: {e}")),
        })?;
        if read == 0 {
            return Ok(None);
        }
        self.n += 1;
        Ok(Some(self.text.trim_end_matches(['\n', '\r']).to_owned()))
    }

    /// After the closing line: nothing may follow.
    fn expect_end(&mut self) -> Result<(), StoreError> {
        match self.next()? {
            None => Ok(()),
            Some(_) => Err(refuse(self.n, "text after the closing line")),
        }
    }
}

/// The numbered records of a checked file, before the sequences are checked.
struct Read {
    records: Vec<(usize, Record)>,
    sequences: Sequences,
}

fn read_records(lines: &mut Lines<'_>) -> Result<Read, StoreError> {
    let mut records = Vec::new();
    loop {
        let Some(line) = lines.next()? else {
            return Err(refuse(lines.n, "the file ends without its closing line (truncated?)"));
        };
        if line.starts_with("{\"end\"") {
            let trailer: Trailer =
                serde_json::from_str(&line).map_err(|e| refuse(lines.n, format!("unreadable closing line: {e}")))?;
            if trailer.end.records != records.len() as u64 {
                return Err(refuse(
                    lines.n,
                    format!("the closing line counts {} records, the file has {}", trailer.end.records, records.len()),
                ));
            }
            let n = lines.n;
            lines.expect_end()?;
            return Ok(Read { records, sequences: checked_sequences(n, trailer.end.sequences)? });
        }
        let record: Record = serde_json::from_str(&line).map_err(|e| refuse(lines.n, format!("not a record: {e}")))?;
        records.push((lines.n, record));
    }
}

fn checked_sequences(line: usize, s: Sequences) -> Result<Sequences, StoreError> {
    if s.item > MAX_NEXT_ID {
        return Err(refuse(line, format!("sequences.item {} is out of range", s.item)));
    }
    if s.incident > 999_999_999_999 {
        return Err(refuse(line, format!("sequences.incident {} is out of range", s.incident)));
    }
    Ok(s)
}

/// No record twice; numbering continues past every restored number.
fn check(read: Read) -> Result<Backup, StoreError> {
    let mut seen: HashSet<(&'static str, String)> = HashSet::new();
    let mut sequences = read.sequences;
    for (n, r) in &read.records {
        if !seen.insert((r.kind(), r.identity())) {
            return Err(refuse(*n, format!("{} {} appears twice", r.kind(), r.identity())));
        }
        if let Some(seq) = r.seq() {
            if seq >= MAX_NEXT_ID {
                return Err(refuse(*n, format!("{}: seq {seq} is out of range", r.kind())));
            }
            sequences.item = sequences.item.max(seq + 1);
        }
        if let Record::Incident(i) = r {
            // Ids are `INC-yyyy-n…`, checked when the record was read.
            let number = i.id.as_str().rsplit('-').next().and_then(|n| n.parse().ok()).unwrap_or(0);
            sequences.incident = sequences.incident.max(number);
        }
    }
    Ok(Backup { records: read.records.into_iter().map(|(_, r)| r).collect(), sequences })
}

/// Format 1: one line per sled key, `{"tree","key"(base64),"value"|"value_b64"}`,
/// closed by `{"end":{"records","next_id"}}`. Read and turned into records.
mod v1 {
    use super::*;

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct End {
        records: u64,
        next_id: u64,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Trailer {
        end: End,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Line<'a> {
        tree: String,
        key: String,
        #[serde(borrow)]
        value: Option<&'a RawValue>,
        value_b64: Option<String>,
    }

    #[derive(Deserialize)]
    struct Idempotency {
        fingerprint: String,
        incident: IncidentId,
    }

    pub(super) fn read(lines: &mut Lines<'_>) -> Result<Read, StoreError> {
        let mut records = Vec::new();
        let mut keys = 0u64;
        let mut incident_seq = 0u64;
        let mut seen: HashSet<(String, Vec<u8>)> = HashSet::new();
        loop {
            let Some(text) = lines.next()? else {
                return Err(refuse(lines.n, "the file ends without its closing line (truncated?)"));
            };
            let n = lines.n;
            if text.starts_with("{\"end\"") {
                let trailer: Trailer =
                    serde_json::from_str(&text).map_err(|e| refuse(n, format!("unreadable closing line: {e}")))?;
                if trailer.end.records != keys {
                    return Err(refuse(
                        n,
                        format!("the closing line counts {} records, the file has {keys}", trailer.end.records),
                    ));
                }
                if trailer.end.next_id > MAX_NEXT_ID {
                    return Err(refuse(n, format!("next_id {} is out of range", trailer.end.next_id)));
                }
                lines.expect_end()?;
                let sequences = Sequences { incident: incident_seq, item: trailer.end.next_id };
                return Ok(Read { records, sequences: checked_sequences(n, sequences)? });
            }
            let line: Line<'_> = serde_json::from_str(&text).map_err(|e| refuse(n, format!("not a record: {e}")))?;
            if line.tree.is_empty() {
                return Err(refuse(n, "tree: empty name"));
            }
            let key = B64.decode(&line.key).map_err(|e| refuse(n, format!("key: not base64 ({e})")))?;
            let value = match (line.value, line.value_b64) {
                (Some(json), None) => json.get().as_bytes().to_vec(),
                (None, Some(b64)) => B64.decode(&b64).map_err(|e| refuse(n, format!("value_b64: not base64 ({e})")))?,
                _ => return Err(refuse(n, "expected exactly one of value and value_b64")),
            };
            if !seen.insert((line.tree.clone(), key.clone())) {
                return Err(refuse(n, format!("key {} appears twice in tree {}", line.key, line.tree)));
            }
            keys += 1;
            let typed = |what: &str| -> Result<serde_json::Value, StoreError> {
                serde_json::from_slice(&value).map_err(|e| refuse(n, format!("{what}: not JSON ({e})")))
            };
            let seq = || -> Result<u64, StoreError> {
                Ok(u64::from_be_bytes(
                    key.as_slice()
                        .try_into()
                        .map_err(|_| refuse(n, format!("{}: key is not a sequence number", line.tree)))?,
                ))
            };
            let record = match line.tree.as_str() {
                "incidents" => Some(Record::Incident(parse(n, "incident", typed("incident")?)?)),
                "outbox" => Some(Record::Outbox(parse(n, "outbox item", typed("outbox item")?)?)),
                "dead_letters" => Some(Record::DeadLetter(parse(n, "dead letter", typed("dead letter")?)?)),
                "escalations" => Some(Record::Escalation(parse(n, "escalation", typed("escalation")?)?)),
                "audit" => Some(Record::Audit(AuditRecord {
                    seq: seq()?,
                    entry: parse(n, "audit entry", typed("audit entry")?)?,
                })),
                "idempotency" => {
                    let Some(split) = key.iter().position(|b| *b == 0) else {
                        return Err(refuse(n, "idempotency: key is not desk \\0 key"));
                    };
                    let desk = String::from_utf8_lossy(&key[..split])
                        .parse()
                        .map_err(|e| refuse(n, format!("idempotency: desk: {e}")))?;
                    let stored: Idempotency = parse(n, "idempotency", typed("idempotency")?)?;
                    Some(Record::Idempotency(IdempotencyRecord {
                        desk,
                        key: String::from_utf8_lossy(&key[split + 1..]).into_owned(),
                        fingerprint: stored.fingerprint,
                        incident: stored.incident,
                    }))
                }
                // Derived from the incidents' refs, indexed again on restore.
                "xref" => None,
                "meta" if key == b"incident_seq" => {
                    incident_seq = u64::from_be_bytes(
                        value
                            .as_slice()
                            .try_into()
                            .map_err(|_| refuse(n, "meta incident_seq: not a sequence number"))?,
                    );
                    None
                }
                "meta" => match key.strip_prefix(b"cursor/") {
                    Some(name) => Some(Record::Cursor(CursorRecord {
                        name: String::from_utf8_lossy(name).into_owned(),
                        value: String::from_utf8_lossy(&value).into_owned(),
                    })),
                    None => return Err(refuse(n, format!("meta: unknown key {}", line.key))),
                },
                other => return Err(refuse(n, format!("tree {other:?} is not one deskgate writes"))),
            };
            if let Some(record) = record {
                records.push((n, record));
            }
        }
    }

    fn parse<T: for<'de> Deserialize<'de>>(n: usize, what: &str, v: serde_json::Value) -> Result<T, StoreError> {
        serde_json::from_value(v).map_err(|e| refuse(n, format!("{what}: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cursor(name: &str, value: &str) -> Record {
        Record::Cursor(CursorRecord { name: name.into(), value: value.into() })
    }

    fn audit(seq: u64, reason: &str) -> Record {
        Record::Audit(AuditRecord {
            seq,
            entry: AuditEntry::new(jiff::Timestamp::UNIX_EPOCH, super::super::AuditKind::Updated, reason)
                .with_desk("region-h"),
        })
    }

    fn write(records: &[Record], sequences: Sequences) -> String {
        let mut out = Vec::new();
        let mut w = Writer::start(&mut out).unwrap();
        for r in records {
            w.record(r).unwrap();
        }
        w.finish(sequences).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn typed_records_round_trip_and_stay_readable() {
        let records = vec![audit(3, "a \"b\"\nc"), audit(9, "d"), cursor("poll/sds", " 1\n")];
        let text = write(&records, Sequences { incident: 4, item: 42 });
        assert_eq!(text.lines().count(), records.len() + 2);
        assert!(text.starts_with("{\"deskgate_backup\":2,"), "{text}");
        assert!(text.contains(r#"{"cursor":{"name":"poll/sds","value":" 1\n"}}"#), "readable: {text}");
        let back = read(&mut text.as_bytes()).unwrap();
        assert_eq!(back.records, records);
        assert_eq!(back.sequences, Sequences { incident: 4, item: 42 });
        assert_eq!(back.summary().to_string(), "3 records (audit 2, cursors 1)");
    }

    #[test]
    fn numbering_continues_past_every_restored_number() {
        // A closing line behind its own records (hand-edited, or an older writer).
        let text = write(&[audit(70, "late")], Sequences { incident: 0, item: 5 });
        assert_eq!(read(&mut text.as_bytes()).unwrap().sequences.item, 71);
    }

    #[test]
    fn a_corrupt_line_is_refused_naming_its_number() {
        let text = write(&[audit(1, "a"), audit(2, "b"), cursor("c", "x")], Sequences::default());
        let mut lines: Vec<&str> = text.lines().collect();
        lines[2] = r#"{"audit":{"seq":"two","entry":{}}}"#;
        let err = read(&mut lines.join("\n").as_bytes()).unwrap_err().to_string();
        assert!(err.contains("line 3") && err.contains("not a record"), "{err}");

        lines[2] = r#"{"tree":"incidents","key":"Yg==","value":{}}"#;
        let err = read(&mut lines.join("\n").as_bytes()).unwrap_err().to_string();
        assert!(err.contains("line 3"), "a format-1 line in a format-2 file: {err}");

        let twice = text.lines().nth(1).unwrap().to_owned();
        lines[2] = &twice;
        let err = read(&mut lines.join("\n").as_bytes()).unwrap_err().to_string();
        assert!(err.contains("line 3") && err.contains("twice"), "{err}");
    }

    #[test]
    fn truncated_and_foreign_files_are_refused() {
        let text = write(&[audit(1, "a"), audit(2, "b")], Sequences::default());
        let truncated: Vec<&str> = text.lines().take(3).collect();
        let err = read(&mut truncated.join("\n").as_bytes()).unwrap_err().to_string();
        assert!(err.contains("line 3") && err.contains("closing line"), "{err}");

        let dropped: Vec<&str> = text.lines().enumerate().filter(|(i, _)| *i != 1).map(|(_, l)| l).collect();
        let err = read(&mut dropped.join("\n").as_bytes()).unwrap_err().to_string();
        assert!(err.contains("line 3") && err.contains("counts 2 records"), "{err}");

        let err = read(&mut "{\"hello\":1}\n".as_bytes()).unwrap_err().to_string();
        assert!(err.contains("line 1") && err.contains("header"), "{err}");
        let err = read(&mut "{\"deskgate_backup\":3,\"created_at\":\"x\"}\n".as_bytes()).unwrap_err().to_string();
        assert!(err.contains("line 1") && err.contains("format 3"), "{err}");
        assert!(read(&mut "".as_bytes()).unwrap_err().to_string().contains("empty"));
        let after = format!("{text}{{\"cursor\":{{\"name\":\"x\",\"value\":\"y\"}}}}\n");
        assert!(read(&mut after.as_bytes()).unwrap_err().to_string().contains("line 5"));
    }

    /// A backup written by the format-1 store: sled trees and base64 keys.
    const V1: &str = include_str!("../../tests/fixtures/backup/v1.jsonl");

    #[test]
    fn a_format_1_backup_is_read_as_records() {
        let back = read(&mut V1.as_bytes()).unwrap();
        // 14 keys: the 3 cross-references are derived from the incidents, the
        // incident counter is a sequence; the rest are records.
        assert_eq!(
            back.summary().to_string(),
            "10 records (audit 3, dead_letters 1, escalations 1, idempotency 1, incidents 2, cursors 1, outbox 1)"
        );
        assert_eq!(back.sequences, Sequences { incident: 2, item: 6 });
        assert!(back.records.contains(&cursor("poll/sds", "watermark-1")));
        let idem = back.records.iter().find_map(|r| match r {
            Record::Idempotency(i) => Some(i),
            _ => None,
        });
        assert_eq!(
            idem.map(|i| (i.desk.as_str(), i.key.as_str(), i.incident.as_str())),
            Some(("region-h", "k-1", "INC-2026-000001"))
        );
        let seqs: Vec<u64> = back.records.iter().filter_map(Record::seq).collect();
        assert_eq!(seqs, [2, 4, 5, 1, 3], "audit, dead letter and outbox numbers kept");
    }

    #[test]
    fn a_format_1_backup_with_an_unknown_tree_is_refused_by_line() {
        let mut lines: Vec<String> = V1.lines().map(str::to_owned).collect();
        lines[1] = lines[1].replace(r#""tree":"audit""#, r#""tree":"stray""#);
        let err = read(&mut lines.join("\n").as_bytes()).unwrap_err().to_string();
        assert!(err.contains("line 2") && err.contains("stray"), "{err}");
    }
}
