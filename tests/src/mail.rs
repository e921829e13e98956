//! Messages for the tests: a made-up message of a given size, and its DATA form.

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
