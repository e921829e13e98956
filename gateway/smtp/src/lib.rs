//! Sans-IO SMTP for cordon: bytes in, events out. Nothing here touches a socket, a timer or a
//! task; the gateway's session layer owns those and drives these types.
//!
//! # Layout
//! - [`line`]: finds complete command lines in a buffer, with the RFC 5321 length limit and the
//!   bare CR / bare LF checks that stop SMTP smuggling.
//! - [`command`]: parses one command line into a [`command::Command`].
//! - [`address`]: envelope paths (`<local@domain>`), source routes and ESMTP parameters.
//! - [`reply`]: SMTP replies: an incremental parser for the downstream leg and a formatter that
//!   always carries an enhanced status code (RFC 3463).
//! - [`dsn`]: the DSN parameters of MAIL and RCPT (RFC 3461), validated before they are passed on.
//! - [`ehlo`]: the capabilities a server announces in its EHLO reply.
//! - [`negotiate`]: what a client may use against what the gateway and its smart host offer:
//!   the EHLO keywords and the MAIL and RCPT parameters, as pure decisions.
//! - [`data`]: the DATA receiver (dot-unstuffing, end-of-data detection, size and line limits)
//!   and the body checker used for BDAT chunks.
//! - [`stuff`]: dot-stuffing for the downstream DATA leg.
//! - [`header`]: finds the header section of a message and the fields cordon must strip or read.

#![forbid(unsafe_code)]

pub mod address;
pub mod command;
pub mod data;
pub mod dsn;
pub mod ehlo;
pub mod header;
pub mod line;
pub mod negotiate;
pub mod reply;
pub mod stuff;

/// RFC 5321 section 4.5.3.1.4: a command line is at most 512 octets including CRLF.
pub const MAX_COMMAND_LINE: usize = 512;
/// RFC 3461 section 5 (DSN): a RCPT command line may be 500 octets longer (ORCPT carries a
/// whole address, xtext-encoded), and a MAIL line 100 longer (ENVID).
pub const MAX_RCPT_LINE: usize = MAX_COMMAND_LINE + 500;
/// See [`MAX_RCPT_LINE`].
pub const MAX_MAIL_LINE: usize = MAX_COMMAND_LINE + 100;

/// The longest line `line` (without its CRLF) may be for its verb: MAIL and RCPT get the
/// room RFC 3461 adds, every other command [`MAX_COMMAND_LINE`].
pub fn command_line_limit(line: &[u8]) -> usize {
    let verb = line.get(..5).unwrap_or(line);
    if verb.eq_ignore_ascii_case(b"RCPT ") {
        MAX_RCPT_LINE
    } else if verb.eq_ignore_ascii_case(b"MAIL ") {
        MAX_MAIL_LINE
    } else {
        MAX_COMMAND_LINE
    }
}
/// RFC 5321 section 4.5.3.1.6: a text line is at most 1000 octets including CRLF.
pub const MAX_TEXT_LINE: usize = 1000;
/// RFC 5321 section 4.5.3.1.5: a reply line is at most 512 octets; servers in the wild exceed it,
/// so the downstream parser allows this much before it calls the reply malformed.
pub const MAX_REPLY_LINE: usize = 2048;
/// A multi-line reply longer than this is treated as hostile (EHLO replies have ~15 lines).
pub const MAX_REPLY_LINES: usize = 64;
