//! Parsing one SMTP command line (without its CRLF) into a [`Command`].

use crate::address::{parse_params, parse_path, Param, Path, PathError};

/// RFC 3030: a BDAT size is a decimal number; 20 digits already exceed any message we accept.
const MAX_BDAT_DIGITS: usize = 20;

/// A command cordon understands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Ehlo(String),
    Helo(String),
    Mail { from: Path, params: Vec<Param> },
    Rcpt { to: Path, params: Vec<Param> },
    Data,
    Bdat { size: u64, last: bool },
    Rset,
    Noop,
    Quit,
    StartTls,
    Vrfy,
    Expn,
    Help,
    Auth,
}

/// Why a command line was refused; each maps to one reply.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommandError {
    #[error("command not recognized")]
    Unknown,
    #[error("syntax error in parameters: {0}")]
    Syntax(&'static str),
    #[error("bad sender address syntax: {0}")]
    BadSender(PathError),
    #[error("bad recipient address syntax: {0}")]
    BadRecipient(PathError),
    #[error("command is not valid UTF-8")]
    NotUtf8,
}

/// Parses a command line with the trailing CRLF already removed.
pub fn parse(line: &[u8]) -> Result<Command, CommandError> {
    let line = std::str::from_utf8(line).map_err(|_| CommandError::NotUtf8)?;
    let (verb, args) = match line.find(' ') {
        Some(i) => (&line[..i], &line[i + 1..]),
        None => (line, ""),
    };
    if verb.len() > 8 {
        return Err(CommandError::Unknown);
    }
    let verb = verb.to_ascii_uppercase();
    let no_args = |cmd: Command| {
        if args.trim().is_empty() {
            Ok(cmd)
        } else {
            Err(CommandError::Syntax("no parameters allowed"))
        }
    };
    match verb.as_str() {
        "EHLO" | "HELO" => {
            let domain = args.trim();
            if domain.is_empty() || domain.contains(' ') && verb == "HELO" {
                return Err(CommandError::Syntax("a domain name is required"));
            }
            let domain = domain.split(' ').next().unwrap_or("").to_string();
            Ok(if verb == "EHLO" {
                Command::Ehlo(domain)
            } else {
                Command::Helo(domain)
            })
        }
        "MAIL" => {
            let rest = strip_keyword(args, "FROM:")
                .ok_or(CommandError::Syntax("use MAIL FROM:<address>"))?;
            let (from, rest) =
                parse_path(rest.trim_start(), true).map_err(CommandError::BadSender)?;
            let params = parse_params(rest).map_err(|_| CommandError::Syntax("bad parameters"))?;
            Ok(Command::Mail { from, params })
        }
        "RCPT" => {
            let rest =
                strip_keyword(args, "TO:").ok_or(CommandError::Syntax("use RCPT TO:<address>"))?;
            let (to, rest) =
                parse_path(rest.trim_start(), false).map_err(CommandError::BadRecipient)?;
            let params = parse_params(rest).map_err(|_| CommandError::Syntax("bad parameters"))?;
            Ok(Command::Rcpt { to, params })
        }
        "BDAT" => {
            let mut words = args.split(' ').filter(|w| !w.is_empty());
            let size = words
                .next()
                .ok_or(CommandError::Syntax("BDAT needs a chunk size"))?;
            if size.len() > MAX_BDAT_DIGITS || !size.bytes().all(|b| b.is_ascii_digit()) {
                return Err(CommandError::Syntax("bad chunk size"));
            }
            let size = size
                .parse()
                .map_err(|_| CommandError::Syntax("bad chunk size"))?;
            let last = match words.next() {
                None => false,
                Some(w) if w.eq_ignore_ascii_case("LAST") => true,
                Some(_) => return Err(CommandError::Syntax("expected LAST")),
            };
            if words.next().is_some() {
                return Err(CommandError::Syntax("too many parameters"));
            }
            Ok(Command::Bdat { size, last })
        }
        "DATA" => no_args(Command::Data),
        "RSET" => no_args(Command::Rset),
        "QUIT" => no_args(Command::Quit),
        "STARTTLS" => no_args(Command::StartTls),
        // RFC 5321 allows a string argument on NOOP and HELP.
        "NOOP" => Ok(Command::Noop),
        "HELP" => Ok(Command::Help),
        "VRFY" => Ok(Command::Vrfy),
        "EXPN" => Ok(Command::Expn),
        "AUTH" => Ok(Command::Auth),
        _ => Err(CommandError::Unknown),
    }
}

fn strip_keyword<'a>(args: &'a str, kw: &str) -> Option<&'a str> {
    let head = args.get(..kw.len())?;
    head.eq_ignore_ascii_case(kw).then(|| &args[kw.len()..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mail_and_rcpt() {
        match parse(b"MAIL FROM:<a@b.example> SIZE=10 BODY=8BITMIME").unwrap() {
            Command::Mail { from, params } => {
                assert_eq!(from.address(), "a@b.example");
                assert_eq!(params.len(), 2);
            }
            c => panic!("{c:?}"),
        }
        assert!(matches!(
            parse(b"mail from: <>").unwrap(),
            Command::Mail { .. }
        ));
        assert!(matches!(
            parse(b"RCPT TO:<x@y.example>").unwrap(),
            Command::Rcpt { .. }
        ));
        assert_eq!(
            parse(b"RCPT TO:<>"),
            Err(CommandError::BadRecipient(PathError::LocalPart))
        );
        assert!(matches!(parse(b"MAIL <a@b>"), Err(CommandError::Syntax(_))));
    }

    #[test]
    fn bdat() {
        assert_eq!(
            parse(b"BDAT 100 LAST").unwrap(),
            Command::Bdat {
                size: 100,
                last: true
            }
        );
        assert_eq!(
            parse(b"bdat 0").unwrap(),
            Command::Bdat {
                size: 0,
                last: false
            }
        );
        let syntax = |why| Err(CommandError::Syntax(why));
        assert_eq!(parse(b"BDAT -1"), syntax("bad chunk size"));
        assert_eq!(parse(b"BDAT 1 FIRST"), syntax("expected LAST"));
        assert_eq!(
            parse(b"BDAT 123456789012345678901"),
            syntax("bad chunk size")
        );
        // 20 digits pass the length check but overflow u64.
        assert_eq!(
            parse(b"BDAT 99999999999999999999"),
            syntax("bad chunk size")
        );
        assert_eq!(parse(b"BDAT"), syntax("BDAT needs a chunk size"));
        assert_eq!(parse(b"BDAT 1 LAST x"), syntax("too many parameters"));
    }

    #[test]
    fn simple_verbs() {
        assert_eq!(parse(b"data").unwrap(), Command::Data);
        assert_eq!(
            parse(b"DATA now"),
            Err(CommandError::Syntax("no parameters allowed"))
        );
        assert_eq!(
            parse(b"EHLO client.example").unwrap(),
            Command::Ehlo("client.example".into())
        );
        assert_eq!(
            parse(b"EHLO"),
            Err(CommandError::Syntax("a domain name is required"))
        );
        assert_eq!(parse(b"NOOP hello").unwrap(), Command::Noop);
        assert_eq!(parse(b"XYZZY"), Err(CommandError::Unknown));
        assert_eq!(parse(b"\xff"), Err(CommandError::NotUtf8));
    }
}
