//! Preparing a received message for the downstream leg: cordon's trace and stamp headers go on
//! top, and any header a sender wrote under one of cordon's names is dropped so that no sender can
//! forge a verdict. The body is never touched.

use cordon_config::Headers;
use cordon_smtp::header::for_each_field;

/// The prefix every cordon header name shares; copies from senders are removed even when the
/// configured names differ.
pub const OWN_PREFIX: &str = "X-Cordon-";
/// More forged cordon headers than this in one message is not a mistake; refuse it.
pub const MAX_REMOVED_FIELDS: usize = 64;

/// The message as it will be sent: `prefix` then the kept `segments` of the original.
#[derive(Debug)]
pub struct Prepared<'m> {
    pub prefix: Vec<u8>,
    pub segments: Vec<&'m [u8]>,
    /// How many sender-supplied cordon headers were dropped.
    pub removed: usize,
    /// Values of the inspected-stamp headers that arrived (for the loop guard).
    pub arrived_stamps: Vec<String>,
}

impl Prepared<'_> {
    pub fn parts(&self) -> Vec<&[u8]> {
        let mut v = Vec::with_capacity(self.segments.len() + 1);
        v.push(self.prefix.as_slice());
        v.extend(self.segments.iter().copied());
        v
    }

    pub fn len(&self) -> usize {
        self.prefix.len() + self.segments.iter().map(|s| s.len()).sum::<usize>()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Too many cordon headers arrived from the sender.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("more than {MAX_REMOVED_FIELDS} sender-supplied cordon headers")]
pub struct TooManyForgedHeaders;

fn is_ours(name: &[u8], headers: &Headers) -> bool {
    let prefix = OWN_PREFIX.as_bytes();
    (name.len() >= prefix.len() && name[..prefix.len()].eq_ignore_ascii_case(prefix))
        || headers
            .owned()
            .iter()
            .any(|h| name.eq_ignore_ascii_case(h.as_bytes()))
}

/// Splits `message` around the fields to drop and puts `prefix` in front.
pub fn prepare<'m>(
    message: &'m [u8],
    headers: &Headers,
    prefix: Vec<u8>,
) -> Result<Prepared<'m>, TooManyForgedHeaders> {
    let mut cuts = Vec::new();
    let mut stamps = Vec::new();
    let mut too_many = false;
    for_each_field(message, |f| {
        if is_ours(f.name, headers) {
            if f.is(&headers.inspected) && stamps.len() < MAX_REMOVED_FIELDS {
                stamps.push(f.unfolded());
            }
            if cuts.len() == MAX_REMOVED_FIELDS {
                too_many = true;
            } else {
                cuts.push(f.start..f.end);
            }
        }
    });
    if too_many {
        return Err(TooManyForgedHeaders);
    }
    let mut segments = Vec::with_capacity(cuts.len() + 1);
    let mut pos = 0;
    for c in &cuts {
        if c.start > pos {
            segments.push(&message[pos..c.start]);
        }
        pos = c.end;
    }
    if pos < message.len() {
        segments.push(&message[pos..]);
    }
    Ok(Prepared {
        prefix,
        segments,
        removed: cuts.len(),
        arrived_stamps: stamps,
    })
}

/// Appends one header field, folding nothing: callers pass single-line values.
pub fn push_field(out: &mut Vec<u8>, name: &str, value: &str) {
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b": ");
    // A value must never carry a line break into the header section.
    for b in value.bytes() {
        out.push(if b == b'\r' || b == b'\n' { b' ' } else { b });
    }
    out.extend_from_slice(b"\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers() -> Headers {
        Headers {
            inspected: "X-Cordon-Inspected".into(),
            action: "X-Cordon-Action".into(),
            rule: "X-Cordon-Rule".into(),
            original_recipients: "X-DLP-Original".into(),
        }
    }

    #[test]
    fn strips_forged_headers_and_keeps_body() {
        let msg = b"From: a\r\nX-Cordon-Action: Quarantine\r\nx-cordon-inspected: true;\r\n by=evil\r\nX-DLP-Original: x\r\nSubject: s\r\n\r\nX-Cordon-Action: body\r\n";
        let p = prepare(msg, &headers(), b"Received: x\r\n".to_vec()).unwrap();
        let mut out = Vec::new();
        for part in p.parts() {
            out.extend_from_slice(part);
        }
        assert_eq!(
            out,
            b"Received: x\r\nFrom: a\r\nSubject: s\r\n\r\nX-Cordon-Action: body\r\n"
        );
        assert_eq!(p.removed, 3);
        assert_eq!(p.arrived_stamps, vec!["true; by=evil".to_string()]);
        assert_eq!(p.len(), out.len());
    }

    #[test]
    fn nothing_to_strip_is_one_segment() {
        let msg = b"A: b\r\n\r\nbody";
        let p = prepare(msg, &headers(), Vec::new()).unwrap();
        assert_eq!(p.segments, vec![&msg[..]]);
    }

    #[test]
    fn too_many_forged_headers() {
        let msg = "X-Cordon-A: 1\r\n".repeat(MAX_REMOVED_FIELDS + 1);
        assert!(prepare(msg.as_bytes(), &headers(), Vec::new()).is_err());
    }

    #[test]
    fn field_values_cannot_inject_lines() {
        let mut out = Vec::new();
        push_field(&mut out, "X-Test", "a\r\nBcc: evil");
        assert_eq!(out, b"X-Test: a  Bcc: evil\r\n");
    }
}
