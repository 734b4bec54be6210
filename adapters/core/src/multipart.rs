//! `multipart/form-data` (RFC 7578), as far as file uploads need it: encoding one
//! request's parts, and reading the parts of a received body. Jira takes attachments
//! this way; the Jira adapter, the simulator and the gateway's Jira API share this.

use bytes::Bytes;

/// One part: a form field, or a file when `file_name` is set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Part {
    pub name: String,
    pub file_name: Option<String>,
    pub content_type: Option<String>,
    pub data: Bytes,
}

/// Why a body is not the multipart form its `Content-Type` says.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct MultipartError(pub String);

/// A boundary that does not occur in any of `parts`.
pub fn boundary(parts: &[Part]) -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut n = 0u64;
    loop {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u64(n);
        let candidate = format!("deskgate-{:016x}{:016x}", h.finish(), n);
        if !parts.iter().any(|p| contains(&p.data, candidate.as_bytes())) {
            return candidate;
        }
        n += 1;
    }
}

/// The `Content-Type` header value and the body of a form holding `parts`.
pub fn encode(parts: &[Part]) -> (String, Vec<u8>) {
    let boundary = boundary(parts);
    let mut body = Vec::new();
    for p in parts {
        body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        let mut disposition = format!("Content-Disposition: form-data; name=\"{}\"", quote(&p.name));
        if let Some(f) = &p.file_name {
            disposition.push_str(&format!("; filename=\"{}\"", quote(f)));
        }
        body.extend_from_slice(disposition.as_bytes());
        body.extend_from_slice(b"\r\n");
        if let Some(t) = &p.content_type {
            body.extend_from_slice(format!("Content-Type: {t}\r\n").as_bytes());
        }
        body.extend_from_slice(b"\r\n");
        body.extend_from_slice(&p.data);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// A quoted-string's content: quotes and line breaks percent-encoded, as browsers do.
fn quote(s: &str) -> String {
    s.replace('"', "%22").replace('\r', "%0D").replace('\n', "%0A")
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    find(haystack, needle, 0).is_some()
}

fn find(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    if needle.is_empty() || haystack.len() < needle.len() {
        return None;
    }
    (from..=haystack.len() - needle.len()).find(|&i| &haystack[i..i + needle.len()] == needle)
}

/// The boundary a `Content-Type` header names, when it is `multipart/form-data`.
pub fn boundary_of(content_type: &str) -> Result<String, MultipartError> {
    let mut params = content_type.split(';');
    let kind = params.next().unwrap_or_default().trim();
    if !kind.eq_ignore_ascii_case("multipart/form-data") {
        return Err(MultipartError(format!("expected Content-Type multipart/form-data, found {kind:?}")));
    }
    params
        .filter_map(|p| p.split_once('='))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("boundary"))
        .map(|(_, v)| v.trim().trim_matches('"').to_owned())
        .filter(|b| !b.is_empty() && b.len() <= 70)
        .ok_or_else(|| MultipartError("the multipart/form-data Content-Type has no boundary".into()))
}

/// The parts of a `multipart/form-data` body.
pub fn parse(content_type: &str, body: &Bytes) -> Result<Vec<Part>, MultipartError> {
    let boundary = boundary_of(content_type)?;
    let delimiter = format!("--{boundary}");
    let bad = |what: &str| MultipartError(format!("the multipart body is malformed: {what}"));
    let mut at = find(body, delimiter.as_bytes(), 0).ok_or_else(|| bad("no boundary line"))?;
    let next_delimiter = format!("\r\n--{boundary}");
    let mut parts = Vec::new();
    loop {
        let after = at + delimiter.len();
        if body.get(after..after + 2) == Some(b"--") {
            return Ok(parts);
        }
        let start =
            if body.get(after..after + 2) == Some(b"\r\n") { after + 2 } else { return Err(bad("boundary line")) };
        let headers_end = find(body, b"\r\n\r\n", start).ok_or_else(|| bad("part headers"))?;
        let headers = std::str::from_utf8(&body[start..headers_end]).map_err(|_| bad("part headers are not UTF-8"))?;
        let data_start = headers_end + 4;
        let end = find(body, next_delimiter.as_bytes(), data_start).ok_or_else(|| bad("a part is not closed"))?;
        let mut part =
            Part { name: String::new(), file_name: None, content_type: None, data: body.slice(data_start..end) };
        for line in headers.split("\r\n") {
            let Some((name, value)) = line.split_once(':') else { continue };
            if name.trim().eq_ignore_ascii_case("content-disposition") {
                for param in value.split(';').skip(1) {
                    let Some((k, v)) = param.split_once('=') else { continue };
                    let v = v.trim().trim_matches('"').replace("%22", "\"");
                    match k.trim().to_ascii_lowercase().as_str() {
                        "name" => part.name = v,
                        "filename" => part.file_name = Some(v),
                        _ => {}
                    }
                }
            } else if name.trim().eq_ignore_ascii_case("content-type") {
                part.content_type = Some(value.trim().to_owned());
            }
        }
        parts.push(part);
        at = end + 2;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoded_parts_are_read_back() {
        let parts = vec![Part {
            name: "file".into(),
            file_name: Some("screen \"1\".png".into()),
            content_type: Some("image/png".into()),
            data: Bytes::from_static(b"\x89PNG\r\n--not-a-boundary\r\n"),
        }];
        let (content_type, body) = encode(&parts);
        let back = parse(&content_type, &Bytes::from(body)).unwrap();
        assert_eq!(back, parts);
    }

    #[test]
    fn a_body_that_is_not_a_form_is_refused() {
        assert!(parse("application/json", &Bytes::from_static(b"{}")).is_err());
        assert!(parse("multipart/form-data; boundary=x", &Bytes::from_static(b"--x\r\nno end")).is_err());
        assert_eq!(parse("multipart/form-data; boundary=x", &Bytes::from_static(b"--x--\r\n")).unwrap(), vec![]);
    }
}
