//! Refusing patient identifiers (DESIGN §2): incident text must never carry a Danish
//! CPR number or a Belgian national number (NISS).
//!
//! A match needs the exact shape *and* the number's own internal evidence — a real
//! calendar date for CPR, the mod-97 check for NISS — and must stand alone: a digit
//! run glued to letters, other digits or a `+` (ticket numbers like `INC0010001`,
//! `SAMPL00000042`, sys_ids, international phone numbers) is never a match.
//! Callers learn only *which kind* was found, never the value, so it cannot leak
//! into logs or error messages.

use jiff::civil::Date;

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

/// The first patient identifier in `text`, if any.
pub fn find(text: &str) -> Option<PatientIdentifier> {
    candidates(text).find_map(|digits| classify(&digits))
}

/// Candidate numbers that stand alone in the text, as their digits.
///
/// The text is cut into runs of digit groups joined by single separators (`-`, `.`,
/// space); within a run, every window of consecutive groups written the way CPR or
/// NISS numbers are written is a candidate, so "version 2 010203-1234" still yields
/// the CPR. A run glued to letters or a `+` at either end is skipped whole.
fn candidates(text: &str) -> impl Iterator<Item = Vec<u8>> + '_ {
    let bytes = text.as_bytes();
    let mut i = 0;
    let mut pending: Vec<Vec<u8>> = Vec::new();
    std::iter::from_fn(move || {
        loop {
            if let Some(c) = pending.pop() {
                return Some(c);
            }
            // Next run of digit groups.
            while i < bytes.len() && !bytes[i].is_ascii_digit() {
                i += 1;
            }
            if i >= bytes.len() {
                return None;
            }
            let start = i;
            let mut groups: Vec<&[u8]> = Vec::new();
            let mut g = i;
            while i < bytes.len() {
                if bytes[i].is_ascii_digit() {
                    i += 1;
                } else if matches!(bytes[i], b'-' | b'.' | b' ')
                    && i + 1 < bytes.len()
                    && bytes[i + 1].is_ascii_digit()
                    && i > g
                {
                    groups.push(&bytes[g..i]);
                    i += 1;
                    g = i;
                } else {
                    break;
                }
            }
            groups.push(&bytes[g..i]);
            // `DRIFT-1203991234`, `v1.0102031234`: a separator with an identifier behind it glues too.
            let glued_before = start > 0
                && (is_glue(bytes[start - 1])
                    || (matches!(bytes[start - 1], b'-' | b'.')
                        && start > 1
                        && bytes[start - 2].is_ascii_alphanumeric()));
            let glued_after = i < bytes.len()
                && (is_glue(bytes[i])
                    || (matches!(bytes[i], b'-' | b'.')
                        && i + 1 < bytes.len()
                        && bytes[i + 1].is_ascii_alphanumeric()));
            if glued_before || glued_after {
                continue;
            }
            for w in 0..groups.len() {
                for shape in SHAPES {
                    if let Some(window) = groups.get(w..w + shape.len()) {
                        if window.iter().map(|g| g.len()).eq(shape.iter().copied()) {
                            pending.push(window.concat().iter().map(|b| b - b'0').collect());
                        }
                    }
                }
            }
            pending.reverse();
        }
    })
}

/// Only the ways these numbers are actually written: CPR as 10 digits or 6-4; NISS
/// as 11 digits, `YY.MM.DD-SSS.CC` or `YYMMDD-SSS-CC`.
const SHAPES: [&[usize]; 5] = [&[10], &[6, 4], &[11], &[2, 2, 2, 3, 2], &[6, 3, 2]];

/// Characters that make a digit run part of something larger (an identifier, a
/// phone number with country code, a decimal number).
fn is_glue(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'+' | b'_' | b'/' | b'#' | b'@' | b'=' | b',')
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
        fn arbitrary_text_never_panics(s in "\\PC{0,200}") {
            let _ = find(&s);
        }
    }
}
