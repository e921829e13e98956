//! Messages for the tests: a made-up message of a given size, one with an attachment, and
//! its DATA form.

/// The DATA form of a message: dot-stuffed and terminated.
pub fn dot_stuff(message: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(message.len() + message.len() / 50 + 5);
    let mut at_start = true;
    for &b in message {
        if at_start && b == b'.' {
            out.push(b'.');
        }
        out.push(b);
        at_start = b == b'\n';
    }
    if !at_start {
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b".\r\n");
    out
}

/// A well-formed message of about `size` octets with 76-octet lines, some starting with a dot
/// (to exercise stuffing) and some 8-bit text.
pub fn make_message(size: usize, subject: &str) -> Vec<u8> {
    let mut m = format!(
        "From: Alice <alice@contoso.com>\r\nTo: Bob <bob@fabrikam.example>\r\nSubject: {subject}\r\nMessage-ID: <{}@contoso.com>\r\nDate: Sun, 22 Nov 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n",
        subject.replace(' ', ".")
    )
    .into_bytes();
    let mut i = 0u64;
    while m.len() < size {
        i += 1;
        let line = match i % 7 {
            0 => format!(".line {i} starts with a dot and must survive stuffing"),
            3 => format!("Zeile {i}: Grüße aus Köln, naïve café, 8-bit text for 8BITMIME"),
            _ => format!(
                "line {i:08} {}",
                "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJ"
            ),
        };
        m.extend_from_slice(line.as_bytes());
        m.extend_from_slice(b"\r\n");
    }
    m
}

/// `data` in base64, lines of 76 characters.
pub fn base64(data: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut s = String::new();
    for (i, c) in data.chunks(3).enumerate() {
        let v = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for k in 0..4 {
            if k <= c.len() {
                s.push(A[(v >> (18 - 6 * k)) as usize & 63] as char);
            } else {
                s.push('=');
            }
        }
        if i % 19 == 18 {
            s.push_str("\r\n");
        }
    }
    s
}

/// A message from Alice to Bob (`Message-ID: <SUBJECT@contoso.com>`) with a line of text and
/// `data` attached as `name` of type `ctype`, in base64.
pub fn with_attachment(subject: &str, name: &str, ctype: &str, data: &[u8]) -> Vec<u8> {
    format!(
        "From: Alice <alice@contoso.com>\r\nTo: Bob <bob@fabrikam.example>\r\nSubject: {subject}\r\nMessage-ID: <{subject}@contoso.com>\r\nDate: Sat, 05 Dec 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n--b1\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n--b1\r\nContent-Type: {ctype}; name=\"{name}\"\r\nContent-Disposition: attachment; filename=\"{name}\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{}\r\n--b1--\r\n",
        base64(data)
    )
    .into_bytes()
}
