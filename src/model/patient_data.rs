//! Refusing patient identifiers (DESIGN §2): no field of an incident — text or
//! identifier, in any dialect, from any path — may carry a Danish CPR number or a
//! Belgian national number (NISS). This module is the one detector every field goes
//! through.
//!
//! The text is first read the way a person would read it ([`normalise`]): percent-
//! encoding and HTML entities decoded, Unicode NFKC, format characters (zero-width
//! spaces, bidi controls, soft hyphens) dropped, every decimal digit folded to ASCII,
//! and every dash, slash, dot and space unified. Then a match needs the shape of how
//! these numbers are written *and* the number's own internal evidence — a real
//! calendar date for CPR, the mod-97 check for NISS — and must stand alone:
//!
//! - punctuation and separators are boundaries (`CPR-0102031047`, `cpr=…`, `#…`,
//!   `@…`, `…,`, `….X`, `…_`), and so is a prefix word such as `cpr` written against
//!   the digits;
//! - a digit run glued to letters (`INC0010001`, `SAMPL00000042`, sys_ids), to more
//!   digits, to a `+` (an international phone number) or to a decimal comma is part
//!   of something larger and is not a match;
//! - a Jira issue key (`DRIFT-1203991234`: an upper-case project key, one dash, a
//!   number without a leading zero, since Jira never pads) is exempt as a whole. A
//!   real key with ten digits is implausible, but issue keys are everywhere in desk
//!   text and a key-shaped CPR is written by nobody by accident; the exemption does
//!   not cover the prefix words (`CPR-…`, `NISS-…`) nor zero-padded numbers, which is
//!   how CPR numbers of the first nine days of a month start.
//!
//! Callers learn only *which kind* was found, never the value, so it cannot leak
//! into logs or error messages.

use jiff::civil::Date;
use unicode_normalization::UnicodeNormalization;

/// What kind of patient identifier was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PatientIdentifier {
    /// Danish personal identification number, DDMMYY-SSSS.
    Cpr,
    /// Belgian national register number, YY.MM.DD-SSS.CC.
    Niss,
}

impl PatientIdentifier {
    pub fn describe(self) -> &'static str {
        match self {
            PatientIdentifier::Cpr => "a Danish CPR number",
            PatientIdentifier::Niss => "a Belgian national register number (NISS)",
        }
    }
}

/// Refuse `text` as the value of `field` if it carries a patient identifier; the
/// error names the field and the kind, never the value.
pub fn check(field: &'static str, text: &str) -> Result<(), super::ModelError> {
    match find(text) {
        Some(kind) => Err(super::ModelError::PatientData { field, kind }),
        None => Ok(()),
    }
}

/// The first patient identifier in `text`, if any.
pub fn find(text: &str) -> Option<PatientIdentifier> {
    let normal = normalise(text);
    candidates(&normal).into_iter().find_map(|digits| classify(&digits))
}

/// Whether `c` is a Unicode format character (general category Cf): invisible,
/// and so never a reason for a digit run to end. The table is small and stable.
pub fn is_format(c: char) -> bool {
    matches!(c as u32,
        0x00AD | 0x0600..=0x0605 | 0x061C | 0x06DD | 0x070F | 0x0890..=0x0891 | 0x08E2 | 0x180E
        | 0x200B..=0x200F | 0x202A..=0x202E | 0x2060..=0x2064 | 0x2066..=0x206F | 0xFEFF
        | 0xFFF9..=0xFFFB | 0x110BD | 0x110CD | 0x13430..=0x1343F | 0x1BCA0..=0x1BCA3
        | 0x1D173..=0x1D17A | 0xE0001 | 0xE0020..=0xE007F)
}

/// Bidirectional embeddings, overrides and isolates (and the marks): they reorder
/// what a reader sees, so an id or title that carries one can show something else.
pub fn is_bidi_control(c: char) -> bool {
    matches!(c as u32, 0x061C | 0x200E | 0x200F | 0x202A..=0x202E | 0x2066..=0x2069)
}

/// The first code point of every run of ten Unicode decimal digits (category Nd)
/// outside ASCII; NFKC already folds the fullwidth and mathematical ones.
const DIGIT_ZEROS: &[u32] = &[
    0x0660, 0x06F0, 0x07C0, 0x0966, 0x09E6, 0x0A66, 0x0AE6, 0x0B66, 0x0BE6, 0x0C66, 0x0CE6, 0x0D66, 0x0DE6, 0x0E50,
    0x0ED0, 0x0F20, 0x1040, 0x1090, 0x17E0, 0x1810, 0x1946, 0x19D0, 0x1A80, 0x1A90, 0x1B50, 0x1BB0, 0x1C40, 0x1C50,
    0xA620, 0xA8D0, 0xA900, 0xA9D0, 0xA9F0, 0xAA50, 0xABF0, 0xFF10, 0x104A0, 0x10D30, 0x11066, 0x110F0, 0x11136,
    0x111D0, 0x112F0, 0x11450, 0x114D0, 0x11650, 0x116C0, 0x11730, 0x118E0, 0x11950, 0x11C50, 0x11D50, 0x11DA0,
    0x16A60, 0x16AC0, 0x16B50, 0x1D7CE, 0x1D7D8, 0x1D7E2, 0x1D7EC, 0x1D7F6, 0x1E140, 0x1E2F0, 0x1E950, 0x1FBF0,
];

fn fold_digit(c: char) -> char {
    if c.is_ascii() || !c.is_numeric() {
        return c;
    }
    let cp = c as u32;
    DIGIT_ZEROS
        .iter()
        .find(|&&zero| (zero..zero + 10).contains(&cp))
        .and_then(|zero| char::from_digit(cp - zero, 10))
        .unwrap_or(c)
}

/// Every way of writing a dash, slash, dot or space, as one of `-`, `/`, `.`, ` `.
fn unify_separator(c: char) -> char {
    match c {
        '\u{2010}'..='\u{2015}'
        | '\u{2043}'
        | '\u{2212}'
        | '\u{2E3A}'
        | '\u{2E3B}'
        | '\u{FE58}'
        | '\u{FE63}'
        | '\u{FF0D}' => '-',
        '\u{2044}' | '\u{2215}' | '\u{FF0F}' => '/',
        '\u{2024}' | '\u{FF0E}' | '\u{3002}' => '.',
        c if c.is_whitespace() => ' ',
        c => c,
    }
}

fn is_separator(c: char) -> bool {
    matches!(c, '-' | '/' | '.' | ' ')
}

/// The text as the detector reads it (see the module docs). Decoding repeats, so a
/// doubly encoded value (`%2526%2348%253B`, `&amp;#48;`) is read too; it stops when
/// nothing changes, after a few rounds at most.
fn normalise(text: &str) -> Vec<char> {
    // Most fields are plain ASCII without `%` or `&`: nothing to decode, already in
    // NFKC, no format characters or non-ASCII digits; only separators can change.
    // NFKC is what a submission's scan spent most of its time on.
    if text.is_ascii() && !text.contains(['%', '&']) {
        return text.chars().map(unify_separator).collect();
    }
    read_as_written(text)
}

/// [`normalise`] without its shortcut for plain ASCII.
fn read_as_written(text: &str) -> Vec<char> {
    let mut decoded = text.to_owned();
    for _ in 0..4 {
        let next = decode_entities(&percent_decode(&decoded));
        if next == decoded {
            break;
        }
        decoded = next;
    }
    decoded.nfkc().filter(|c| !is_format(*c)).map(fold_digit).map(unify_separator).collect()
}

fn percent_decode(s: &str) -> String {
    if !s.contains('%') {
        return s.to_owned();
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Named entities a separator, digit or invisible character can hide behind.
const ENTITIES: &[(&str, char)] = &[
    ("nbsp", '\u{A0}'),
    ("ensp", '\u{2002}'),
    ("emsp", '\u{2003}'),
    ("thinsp", '\u{2009}'),
    ("numsp", '\u{2007}'),
    ("puncsp", '\u{2008}'),
    ("hairsp", '\u{200A}'),
    ("NonBreakingSpace", '\u{A0}'),
    ("ZeroWidthSpace", '\u{200B}'),
    ("zwsp", '\u{200B}'),
    ("zwj", '\u{200D}'),
    ("zwnj", '\u{200C}'),
    ("NoBreak", '\u{2060}'),
    ("shy", '\u{AD}'),
    ("lrm", '\u{200E}'),
    ("rlm", '\u{200F}'),
    ("Tab", '\t'),
    ("NewLine", '\n'),
    ("amp", '&'),
    ("AMP", '&'),
    ("lt", '<'),
    ("gt", '>'),
    ("quot", '"'),
    ("apos", '\''),
    ("ndash", '\u{2013}'),
    ("mdash", '\u{2014}'),
    ("minus", '\u{2212}'),
    ("hyphen", '\u{2010}'),
    ("dash", '\u{2010}'),
    ("horbar", '\u{2015}'),
    ("sol", '/'),
    ("period", '.'),
    ("comma", ','),
    ("num", '#'),
    ("commat", '@'),
    ("equals", '='),
    ("lowbar", '_'),
    ("UnderBar", '_'),
    ("colon", ':'),
    ("semi", ';'),
    ("plus", '+'),
    ("lpar", '('),
    ("rpar", ')'),
];

/// HTML numeric (`&#48;`, `&#x30;`, with or without the `;`) and named entities.
fn decode_entities(s: &str) -> String {
    if !s.contains('&') {
        return s.to_owned();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        let tail = &rest[at + 1..];
        match entity(tail) {
            Some((c, used)) => {
                out.push(c);
                rest = &tail[used..];
            }
            None => {
                out.push('&');
                rest = tail;
            }
        }
    }
    out.push_str(rest);
    out
}

/// The character an entity body (after `&`) names, and how many bytes it took.
fn entity(tail: &str) -> Option<(char, usize)> {
    if let Some(num) = tail.strip_prefix('#') {
        let (radix, digits_at) = if num.starts_with(['x', 'X']) { (16, 2) } else { (10, 1) };
        let digits: String = tail[digits_at..].chars().take_while(|c| c.is_digit(radix)).take(8).collect();
        if digits.is_empty() {
            return None;
        }
        let c = u32::from_str_radix(&digits, radix).ok().and_then(char::from_u32)?;
        let mut used = digits_at + digits.len();
        if tail[used..].starts_with(';') {
            used += 1;
        }
        return Some((c, used));
    }
    let name: &str = &tail[..tail.find(';').filter(|&end| end <= 32)?];
    ENTITIES.iter().find(|(n, _)| *n == name).map(|(_, c)| (*c, name.len() + 1))
}

/// The ways these numbers are written, as group lengths: CPR as 10 digits, 6-4,
/// 2-2-2-4 (and in pairs, 2-2-2-2-2, only as the whole run); NISS as 11 digits,
/// `YY.MM.DD-SSS.CC` or `YYMMDD-SSS-CC`. Any separator (run) between the groups.
const SHAPES: [&[usize]; 6] = [&[10], &[6, 4], &[2, 2, 2, 4], &[11], &[2, 2, 2, 3, 2], &[6, 3, 2]];
const PAIRS: &[usize] = &[2, 2, 2, 2, 2];

/// The longest run of separators that still joins two digit groups (` - `).
const MAX_SEPARATOR_RUN: usize = 3;

/// Words that announce a patient number: written straight against it (`CPR0102031047`)
/// or before a dash (`CPR-0102031047`), they are never part of an identifier.
const PREFIX_WORDS: &[&str] = &["cpr", "cprnr", "personnr", "personnummer", "niss", "inss", "rrn", "nn"];

/// Candidate numbers that stand alone in the normalised text, as their digits.
///
/// The text is cut into runs of digit groups joined by short separator runs; within
/// a run every window of consecutive groups shaped like a CPR or NISS number is a
/// candidate, so "version 2 010203-1234" still yields the CPR. A window at the start
/// of a run glued to what comes before (or at its end, to what follows) is not.
fn candidates(n: &[char]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < n.len() {
        if !n[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        let start = i;
        let mut groups: Vec<(usize, usize)> = Vec::new();
        let mut g = i;
        loop {
            while i < n.len() && n[i].is_ascii_digit() {
                i += 1;
            }
            let mut j = i;
            while j < n.len() && is_separator(n[j]) && j - i < MAX_SEPARATOR_RUN {
                j += 1;
            }
            if j > i && j < n.len() && n[j].is_ascii_digit() {
                groups.push((g, i));
                i = j;
                g = j;
            } else {
                groups.push((g, i));
                break;
            }
        }
        let glued_before = glued_before(n, start);
        let glued_after = glued_after(n, i);
        for w in 0..groups.len() {
            let shapes = SHAPES.iter().copied().chain((w == 0).then_some(PAIRS));
            for shape in shapes {
                let Some(window) = groups.get(w..w + shape.len()) else { continue };
                let whole = w == 0 && window.len() == groups.len();
                if (shape == PAIRS && !whole)
                    || !window.iter().map(|(a, b)| b - a).eq(shape.iter().copied())
                    || (w == 0 && glued_before)
                    || (w + shape.len() == groups.len() && glued_after)
                {
                    continue;
                }
                let digits =
                    window.iter().flat_map(|&(a, b)| n[a..b].iter()).map(|c| *c as u8 - b'0').collect::<Vec<u8>>();
                out.push(digits);
            }
        }
    }
    out
}

/// The alphabetic word ending just before `end`, lower-cased, and where it starts.
fn word_before(n: &[char], end: usize) -> (String, usize) {
    let mut s = end;
    while s > 0 && n[s - 1].is_alphabetic() {
        s -= 1;
    }
    (n[s..end].iter().collect::<String>().to_lowercase(), s)
}

fn glued_before(n: &[char], start: usize) -> bool {
    let Some(&prev) = start.checked_sub(1).and_then(|p| n.get(p)) else { return false };
    if prev.is_alphanumeric() {
        // `INC0010001`, a sys_id — unless the word is `cpr` and the like.
        let (word, _) = word_before(n, start);
        return !PREFIX_WORDS.contains(&word.as_str());
    }
    let before = start.checked_sub(2).and_then(|p| n.get(p)).copied();
    match prev {
        // An international phone number: `+45 33143900`.
        '+' => true,
        // A decimal: `1,0102031234`.
        ',' => before.is_some_and(|c| c.is_ascii_digit()),
        // An issue key `DRIFT-1203991234` (see the module docs).
        '-' => {
            let (word, word_start) = word_before(n, start - 1);
            let original: String = n[word_start..start - 1].iter().collect();
            let key_start = word_start == 0 || !n[word_start - 1].is_alphanumeric();
            original.len() >= 2
                && original.chars().all(|c| c.is_ascii_uppercase())
                && key_start
                && !PREFIX_WORDS.contains(&word.as_str())
                && n.get(start) != Some(&'0')
        }
        _ => false,
    }
}

fn glued_after(n: &[char], end: usize) -> bool {
    match n.get(end) {
        Some(c) if c.is_alphanumeric() => true,
        // A decimal: `0102031234,5`.
        Some(',') => n.get(end + 1).is_some_and(|c| c.is_ascii_digit()),
        _ => false,
    }
}

fn classify(d: &[u8]) -> Option<PatientIdentifier> {
    match d.len() {
        10 if is_cpr(d) => Some(PatientIdentifier::Cpr),
        11 if is_niss(d) => Some(PatientIdentifier::Niss),
        _ => None,
    }
}

fn num(d: &[u8]) -> u64 {
    d.iter().fold(0, |acc, &x| acc * 10 + u64::from(x))
}

/// DDMMYY-SSSS with a real date; the century follows from the 7th digit (the CPR
/// office's table), which matters for 29 February.
fn is_cpr(d: &[u8]) -> bool {
    let day = num(&d[0..2]) as i8;
    let month = num(&d[2..4]) as i8;
    let yy = num(&d[4..6]) as i16;
    let century = match d[6] {
        0..=3 => 1900,
        4 | 9 => {
            if yy <= 36 {
                2000
            } else {
                1900
            }
        }
        _ => {
            if yy <= 57 {
                2000
            } else {
                1800
            }
        }
    };
    Date::new(century + yy, month, day).is_ok()
}

/// 11 digits whose last two are 97 − (first nine mod 97); people born from 2000 on
/// have a `2` prefixed to the nine digits before the check.
fn is_niss(d: &[u8]) -> bool {
    let base = num(&d[0..9]);
    let check = num(&d[9..11]);
    let before_2000 = 97 - base % 97;
    let from_2000 = 97 - (2_000_000_000 + base) % 97;
    check == before_2000 || check == from_2000
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn finds_cpr_written_either_way() {
        assert_eq!(find("Borger 010203-1234 kan ikke se recepter"), Some(PatientIdentifier::Cpr));
        assert_eq!(find("cpr 0102031234"), Some(PatientIdentifier::Cpr));
        assert_eq!(find("(311299-4321)"), Some(PatientIdentifier::Cpr));
        assert_eq!(find("cpr: 290204 1234."), Some(PatientIdentifier::Cpr), "29 Feb 2004 is a real date");
        assert_eq!(find("version 2 010203-1234"), Some(PatientIdentifier::Cpr), "after another number");
    }

    #[test]
    fn cpr_needs_a_real_date() {
        assert_eq!(find("310204-1234"), None, "31 Feb");
        assert_eq!(find("001299-1234"), None, "day 0");
        assert_eq!(find("011399-1234"), None, "month 13");
        // 29 Feb 1900 did not exist (7th digit 0-3 → 1900s); 29 Feb 2000 did (4, yy ≤ 36).
        assert_eq!(find("290200-1234"), None);
        assert_eq!(find("290200-4234"), Some(PatientIdentifier::Cpr));
    }

    #[test]
    fn finds_niss_with_valid_check_digits() {
        // 85.07.30-033.28 is the standard textbook example with a valid check.
        assert_eq!(find("NISS 85.07.30-033.28"), Some(PatientIdentifier::Niss));
        assert_eq!(find("85073003328"), Some(PatientIdentifier::Niss));
        // born in 2000s: 97 - (2_000_000_000 + 000101001) mod 97
        let base: u64 = 100_101_001;
        let check = 97 - (2_000_000_000 + base % 1_000_000_000) % 97;
        let text = format!("{:09}{:02}", base % 1_000_000_000, check);
        assert_eq!(find(&text), Some(PatientIdentifier::Niss), "{text}");
        assert_eq!(find("85073003329"), None, "wrong check digits");
    }

    #[test]
    fn ticket_numbers_phones_dates_and_sys_ids_are_not_patient_data() {
        for text in [
            "INC0010001",
            "see INC0123456789 and SAMPL00000042",
            "DRIFT-1203991234",
            "call +45 33143900 or +4533143900",
            "+32 2 123 45 67",
            "on 2026-11-23 at 02:00",
            "23.11.2026 14:05",
            "sys_id 9d385017c611228701d22104cc95c371",
            "a0101901234b5f6e7d8c9b0a1f2e3d4c",
            "order 1234567890123",
            "amount 1,0102031234",
        ] {
            assert_eq!(find(text), None, "{text}");
        }
    }

    fn cpr_text() -> impl Strategy<Value = String> {
        (1u8..=28, 1u8..=12, 0u8..=99, 0u16..=9999, any::<bool>()).prop_map(|(d, m, y, s, dash)| {
            if dash { format!("{d:02}{m:02}{y:02}-{s:04}") } else { format!("{d:02}{m:02}{y:02}{s:04}") }
        })
    }

    proptest! {
        #[test]
        fn every_cpr_with_a_real_date_is_found(cpr in cpr_text(), before in "[a-z ]{0,20}", after in "[a-z ]{0,20}") {
            let text = format!("{before} {cpr} {after}");
            prop_assert_eq!(find(&text), Some(PatientIdentifier::Cpr));
        }

        #[test]
        fn servicenow_numbers_are_never_flagged(n in 0u64..10_000_000_000) {
            let text = format!("INC{n:07} PRB{n:010} SAMPL{n:08} DRIFT-{n}");
            prop_assert_eq!(find(&text), None);
        }

        #[test]
        fn sys_ids_are_never_flagged(id in "[0-9a-f]{32}") {
            prop_assert_eq!(find(&id), None);
        }

        #[test]
        fn danish_and_belgian_phone_numbers_are_never_flagged(
            a in 10u32..99, b in 10u32..99, c in 10u32..99, d in 10u32..99, e in 100u32..999
        ) {
            for text in [
                format!("+45 {a} {b} {c} {d}"),
                format!("+45 {a}{b}{c}{d}"),
                format!("tlf. {a}{b}{c}{d}"),
                format!("+32 2 {e} {a} {b}"),
                format!("0{a} {e} {b} {c}"),
            ] {
                prop_assert_eq!(find(&text), None, "{}", text);
            }
        }

        #[test]
        fn iso_dates_and_times_are_never_flagged(y in 1900i32..2100, m in 1u8..=12, d in 1u8..=28, h in 0u8..24, mi in 0u8..60) {
            let text = format!("{y:04}-{m:02}-{d:02} {h:02}:{mi:02}:00 and {d:02}.{m:02}.{y:04}");
            prop_assert_eq!(find(&text), None);
        }

        #[test]
        fn plain_ascii_reads_as_the_full_normalisation_reads_it(s in "[ -$'-~\t\n\r\x0b\x0c\x00-\x08\x1c-\x1f\x7f]{0,200}") {
            prop_assert_eq!(normalise(&s), read_as_written(&s));
        }

        #[test]
        fn arbitrary_text_never_panics(s in "\\PC{0,200}") {
            let _ = find(&s);
        }
    }
}

#[cfg(test)]
mod writings {
    //! Every ordinary (and some less ordinary) way of writing a patient number.
    use super::*;
    use proptest::prelude::*;

    /// A CPR number with a real date (days 1–28 exist in every month and century).
    fn cpr_digits() -> impl Strategy<Value = String> {
        (1u8..=28, 1u8..=12, 0u8..=99, 0u16..=9999).prop_map(|(d, m, y, s)| format!("{d:02}{m:02}{y:02}{s:04}"))
    }

    /// A NISS number with valid check digits, born before or from 2000.
    fn niss_digits() -> impl Strategy<Value = String> {
        (0u8..=99, 1u8..=12, 1u8..=28, 1u16..=997, any::<bool>()).prop_map(|(y, m, d, s, from_2000)| {
            let base: u64 = format!("{y:02}{m:02}{d:02}{s:03}").parse().unwrap_or_default();
            let check = if from_2000 { 97 - (2_000_000_000 + base) % 97 } else { 97 - base % 97 };
            format!("{base:09}{check:02}")
        })
    }

    const SEPARATORS: &[&str] =
        &["-", "\u{2013}", "\u{2014}", "\u{2011}", "\u{2212}", "/", ".", " ", "\u{a0}", " - ", "  ", "\t", "\n"];
    const BEFORE: &[&str] = &[
        "",
        "Borger ",
        "CPR-",
        "cpr-",
        "CPR=",
        "CPR#",
        "CPR:",
        "cpr",
        "#",
        "@",
        ",",
        "Borger,",
        "(",
        "?cpr=",
        "https://desk.example/p?id=",
        "NISS ",
        "mail ",
    ];
    const AFTER: &[&str] =
        &["", ",", ", kan ikke logge ind", ".X", "_", ".", ")", "&x=1", " kan ikke logge ind", "@x.dk"];

    /// Group lengths per kind, as people write them.
    fn shapes(len: usize) -> &'static [&'static [usize]] {
        if len == 10 {
            &[&[10], &[6, 4], &[2, 2, 2, 4], &[2, 2, 2, 2, 2]]
        } else {
            &[&[11], &[2, 2, 2, 3, 2], &[6, 3, 2]]
        }
    }

    /// One digit as something that reads as that digit.
    fn disguise(c: char, how: u8) -> String {
        let d = c as u32 - '0' as u32;
        match how {
            0 => c.to_string(),
            1 => format!("&#{};", c as u32),
            2 => format!("&#x{:x};", c as u32),
            3 => format!("%{:02X}", c as u32),
            4 => char::from_u32(0xFF10 + d).map(String::from).unwrap_or_default(),
            5 => char::from_u32(0x0660 + d).map(String::from).unwrap_or_default(),
            6 => format!("{c}\u{200b}"),
            7 => format!("{c}\u{2060}"),
            8 => format!("{c}\u{feff}"),
            _ => format!("{c}\u{ad}"),
        }
    }

    /// `digits` written in `shape` with `separator`, each digit disguised by `hows`.
    pub(super) fn write(digits: &str, shape: &[usize], separator: &str, hows: &[u8]) -> String {
        let mut out = String::new();
        let mut at = 0;
        for (g, len) in shape.iter().enumerate() {
            if g > 0 {
                out.push_str(separator);
            }
            for (k, c) in digits[at..at + len].chars().enumerate() {
                out.push_str(&disguise(c, hows.get(at + k).copied().unwrap_or(0)));
            }
            at += len;
        }
        out
    }

    fn writing() -> impl Strategy<Value = (String, PatientIdentifier)> {
        let number = prop_oneof![
            cpr_digits().prop_map(|d| (d, PatientIdentifier::Cpr)),
            niss_digits().prop_map(|d| (d, PatientIdentifier::Niss)),
        ];
        (
            number,
            any::<prop::sample::Index>(),
            prop::sample::select(SEPARATORS),
            prop::sample::select(BEFORE),
            prop::sample::select(AFTER),
            prop::collection::vec(prop_oneof![6 => Just(0u8), 4 => 1u8..10], 11),
            any::<bool>(),
        )
            .prop_map(|((digits, kind), shape, separator, before, after, hows, encode_separator)| {
                let shape = shape.get(shapes(digits.len()));
                let separator = match (encode_separator, separator) {
                    (true, " ") => "&nbsp;",
                    (true, "-") => "%2D",
                    (true, "\u{2013}") => "&ndash;",
                    (_, s) => s,
                };
                (format!("{before}{}{after}", write(&digits, shape, separator, &hows)), kind)
            })
    }

    #[test]
    fn the_reported_writings_are_found() {
        for text in [
            "010203-1047, kan ikke logge ind",
            "kan ikke logge ind,010203-1047",
            "CPR-0102031047",
            "cpr-010203-1047",
            "CPR=0102031047",
            "CPR#0102031047",
            "0102031047.X",
            "0102031047_",
            "010203/1047",
            "010203\u{2013}1047",
            "010203\u{a0}1047",
            "010203 - 1047",
            "010203  1047",
            "010203\t1047",
            "010203\n1047",
            "0102\u{200b}031047",
            "01-02-03-10-47",
            "01 02 03 10 47",
            "01 02 03 1047",
            "https://desk.example/ticket?cpr=0102031047&x=1",
            "mail @0102031047",
            "&#48;102031047",
            "&#x30;10203&ndash;1047",
            "010203&nbsp;1047",
            "%30102031047",
            "\u{ff10}\u{ff11}\u{ff10}\u{ff12}\u{ff10}\u{ff13}-\u{ff11}\u{ff10}\u{ff14}\u{ff17}",
            "&amp;#48;102031047",
            "cpr0102031047",
        ] {
            assert_eq!(find(text), Some(PatientIdentifier::Cpr), "{text:?}");
        }
        for text in ["85.07.30-033.28,", "NISS 850730-033-28, ok", "85 07 30 033 28", "85073003328_"] {
            assert_eq!(find(text), Some(PatientIdentifier::Niss), "{text:?}");
        }
    }

    #[test]
    fn known_key_formats_and_lookalikes_stay_exempt() {
        for text in [
            "DRIFT-1203991234",
            "see SDSJIRA-1203991234, then",
            "INC0102031047",
            "SAMPL0102031047",
            "b0102031047c",
            "1,0102031047",
            "0102031047,5",
            "+4501020310",
            "+45 01 02 03 10",
            "12345678901234",
        ] {
            assert_eq!(find(text), None, "{text:?}");
        }
        // The exemption is for keys, not for patient-number prefixes or padded numbers.
        assert_eq!(find("CPR-1203991234"), Some(PatientIdentifier::Cpr));
        assert_eq!(find("NISS-85073003328"), Some(PatientIdentifier::Niss));
        assert_eq!(find("DRIFT-0102031047"), Some(PatientIdentifier::Cpr));
        assert_eq!(find("drift-1203991234"), Some(PatientIdentifier::Cpr));
    }

    proptest! {
        #[test]
        fn every_writing_of_a_patient_number_is_found((text, kind) in writing()) {
            prop_assert_eq!(find(&text), Some(kind), "{:?}", text);
        }
    }
}
