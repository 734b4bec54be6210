//! Notes in ClearQuest's journal: the entries deskgate writes to the note entry
//! field (split to fit a multi-line value), and reading the notes log back into notes.

use deskgate_adapter::poll::fnv1a;
use deskgate_adapter::{AdapterError, RemoteNote};
use jiff::Timestamp;

/// Marker that identifies a journal entry written by deskgate.
pub(super) fn note_marker(note: &RemoteNote) -> String {
    let key = format!(
        "{}\u{1f}{}\u{1f}{}\u{1f}{}",
        note.author.as_deref().unwrap_or("deskgate"),
        note.public,
        note.at.map(|t| t.to_string()).unwrap_or_default(),
        note.body
    );
    format!("[dg:{:016x}]", fnv1a(key.as_bytes()))
}

/// The first line of an entry deskgate writes: who, when, visibility, the note's
/// fingerprint and, for a note split over several entries, which part.
const ENTRY_TAG: &str = "[deskgate] ";

fn entry_header(note: &RemoteNote, at: Timestamp, part: Option<(usize, usize)>) -> String {
    let mut header = format!(
        "{ENTRY_TAG}{} by: {} ({}) {}",
        at.strftime("%Y-%m-%d %H:%M:%S UTC"),
        note.author.as_deref().unwrap_or("deskgate"),
        if note.public { "public" } else { "internal" },
        note_marker(note),
    );
    if let Some((i, n)) = part {
        header.push_str(&format!(" ({i}/{n})"));
    }
    header
}

/// The entries that carry `note`, each at most `max_chars` characters (ClearQuest
/// silently truncates a longer multi-line value). A long note becomes several
/// entries numbered `(1/n)`; parts never start or end with a line break, which the
/// notes log would not keep.
pub(super) fn note_entries(note: &RemoteNote, max_chars: usize) -> Result<Vec<String>, AdapterError> {
    let at = note.at.unwrap_or_else(Timestamp::now);
    let single = entry_header(note, at, None);
    if single.chars().count() + 1 + note.body.chars().count() <= max_chars {
        return Ok(vec![format!("{single}\n{}", note.body)]);
    }
    let widest = entry_header(note, at, Some((9999, 9999))).chars().count() + 1;
    let budget = max_chars.saturating_sub(widest);
    if budget < 100 {
        return Err(AdapterError::permanent(format!(
            "a note entry holds at most {max_chars} characters: too few for deskgate's header and text"
        )));
    }
    let chars: Vec<char> = note.body.chars().collect();
    let mut parts = Vec::new();
    let mut start = 0;
    while start < chars.len() {
        let mut end = (start + budget).min(chars.len());
        while end < chars.len() && end > start + 1 && (chars[end - 1] == '\n' || chars[end] == '\n') {
            end -= 1;
        }
        parts.push(chars[start..end].iter().collect::<String>());
        start = end;
    }
    let n = parts.len();
    Ok(parts
        .into_iter()
        .enumerate()
        .map(|(i, text)| format!("{}\n{text}", entry_header(note, at, Some((i + 1, n)))))
        .collect())
}

/// Whether the notes log already holds part `i` of `n` of the note with `marker`.
pub(super) fn has_entry(log: &str, marker: &str, i: usize, n: usize) -> bool {
    if n == 1 { log.contains(marker) } else { log.contains(&format!("{marker} ({i}/{n})")) }
}

/// Read deskgate's entry header line, if `line` is one: author, visibility, time,
/// fingerprint and part.
/// Part `i` of `n` of a split note.
type Part = Option<(usize, usize)>;

fn read_entry_header(line: &str) -> Option<(RemoteNote, String, Part)> {
    let rest = line.strip_prefix(ENTRY_TAG)?;
    let at = rest
        .get(..23)
        .and_then(|s| jiff::civil::DateTime::strptime("%Y-%m-%d %H:%M:%S UTC", s).ok())
        .and_then(|dt| dt.to_zoned(jiff::tz::TimeZone::UTC).ok())
        .map(|z| z.timestamp());
    let (_, after) = rest.split_once(" by: ")?;
    let (author, after) = after.split_once(" (")?;
    let (visibility, after) = after.split_once(") ")?;
    let marker_end = after.find(']')? + 1;
    let marker = after[..marker_end].to_owned();
    let part = after[marker_end..].trim().strip_prefix('(').and_then(|p| p.strip_suffix(')')).and_then(|p| {
        let (i, n) = p.split_once('/')?;
        Some((i.parse().ok()?, n.parse().ok()?))
    });
    let note = RemoteNote { body: String::new(), public: visibility == "public", author: Some(author.to_owned()), at };
    Some((note, marker, part))
}

/// Split a Notes_Log into entries. Headers are `==== … ====` lines, as ClearQuest's
/// notes package writes them (`==== State: Opened by: alice on … ====`) and as
/// older deskgate versions wrote them. An entry whose text starts with deskgate's
/// own header line takes author, time and visibility from it, and the parts of a
/// split note are joined again. Entries whose header says neither public nor internal
/// are internal: ClearQuest notes are the desk's working notes.
pub fn parse_notes(log: &str) -> Vec<RemoteNote> {
    let mut notes: Vec<RemoteNote> = Vec::new();
    for line in log.lines() {
        let header = line.strip_prefix("==== ").and_then(|l| l.strip_suffix(" ===="));
        match header {
            Some(h) => {
                let author =
                    h.split_once("by: ").map(|(_, rest)| rest.split([' ', '(']).next().unwrap_or_default().to_owned());
                let at = h
                    .get(..23)
                    .and_then(|s| jiff::civil::DateTime::strptime("%Y-%m-%d %H:%M:%S UTC", s).ok())
                    .and_then(|dt| dt.to_zoned(jiff::tz::TimeZone::UTC).ok())
                    .map(|z| z.timestamp());
                notes.push(RemoteNote {
                    body: String::new(),
                    public: h.contains("(public)"),
                    author: author.filter(|a| !a.is_empty()),
                    at,
                });
            }
            None => {
                if let Some(note) = notes.last_mut() {
                    if !note.body.is_empty() {
                        note.body.push('\n');
                    }
                    note.body.push_str(line);
                }
            }
        }
    }
    // (marker, part count) of the split note being joined, and where it is in `out`.
    let mut joined: Vec<(String, usize, usize)> = Vec::new();
    let mut out: Vec<RemoteNote> = Vec::new();
    for mut note in notes {
        let trimmed = note.body.trim_end_matches('\n').len();
        note.body.truncate(trimmed);
        let (first, rest) = note.body.split_once('\n').unwrap_or((note.body.as_str(), ""));
        let Some((own, marker, part)) = read_entry_header(first) else {
            out.push(note);
            continue;
        };
        let own = RemoteNote { body: rest.to_owned(), ..own };
        match part {
            Some((_, n)) if n > 1 => match joined.iter().find(|(m, count, _)| *m == marker && *count == n) {
                Some((_, _, at)) => out[*at].body.push_str(&own.body),
                None => {
                    joined.push((marker, n, out.len()));
                    out.push(own);
                }
            },
            _ => out.push(own),
        }
    }
    out
}
