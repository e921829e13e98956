//! A reader for the PowerShell that `exchange-setup` writes: it finds every cmdlet invocation
//! (in statements, `if` conditions, pipelines and function bodies) and returns its named
//! arguments as typed values, so the reference table ([`super::reference`]) and the rule
//! evaluator ([`super::eval`]) work on what the administrator will actually run, not on the
//! generator's intentions. No I/O.
//!
//! It reads the subset the generator uses and refuses the rest instead of guessing:
//! `#` and `<# #>` comments, backtick line continuation, double-quoted strings with backtick
//! escapes (an unescaped `$` would expand a variable, so it is refused), single-quoted strings,
//! `$true`/`$false`/`$null`, comma lists, `-Name value` and `-Name:value` arguments, switches,
//! `if (...) { } else { }`, `throw`, `function Name { }`, and `$ErrorActionPreference = ...`.
//! A positional argument, any other variable or an unknown bare word in statement position
//! is an error.

use serde::Serialize;

use crate::CtlError;

/// A parameter's value as PowerShell binds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Value {
    Bool(bool),
    Int(i64),
    Str(String),
    List(Vec<String>),
    /// `$null`.
    Null,
    /// A switch given without a value (`-Confirm`).
    #[serde(serialize_with = "switch_json")]
    Switch,
}

fn switch_json<S: serde::Serializer>(s: S) -> Result<S::Ok, S::Error> {
    s.serialize_bool(true)
}

impl Value {
    /// The value as strings: a list's items, or one item. Booleans and numbers as written.
    pub fn items(&self) -> Vec<String> {
        match self {
            Value::Str(s) => vec![s.clone()],
            Value::List(v) => v.clone(),
            Value::Bool(b) => vec![if *b { "$true" } else { "$false" }.to_owned()],
            Value::Int(i) => vec![i.to_string()],
            Value::Null => vec!["$null".to_owned()],
            Value::Switch => vec!["$true".to_owned()],
        }
    }

    /// The single string, if this is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }
}

/// One cmdlet call found in the script.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Invocation {
    pub cmdlet: String,
    /// Named arguments in the order written (names without the dash).
    pub args: Vec<(String, Value)>,
    /// 1-based line of the cmdlet name.
    pub line: usize,
    /// The function whose body holds the call (the rollback function), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub function: Option<String>,
}

impl Invocation {
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.args
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Word(String),
    /// `-Name`, with `colon` for the `-Name:value` form.
    Param {
        name: String,
        colon: bool,
    },
    Str(String),
    Var(String),
    Open(char),
    Close(char),
    Pipe,
    Semi,
    Comma,
    Assign,
    Newline,
}

fn err(line: usize, reason: impl Into<String>) -> CtlError {
    CtlError::Script {
        line,
        reason: reason.into(),
    }
}

fn is_word_char(c: char) -> bool {
    !c.is_whitespace() && !"(){}|;,=\"'`#$".contains(c)
}

fn lex(text: &str) -> Result<Vec<(Tok, usize)>, CtlError> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    let mut line = 1;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '\n' => {
                out.push((Tok::Newline, line));
                line += 1;
                i += 1;
            }
            ' ' | '\t' | '\r' => i += 1,
            '`' => {
                // Line continuation: a backtick immediately before the newline.
                let mut j = i + 1;
                if chars.get(j) == Some(&'\r') {
                    j += 1;
                }
                if chars.get(j) != Some(&'\n') {
                    return Err(err(line, "a backtick outside a string must end the line"));
                }
                line += 1;
                i = j + 1;
            }
            '<' if chars.get(i + 1) == Some(&'#') => {
                let start = line;
                i += 2;
                loop {
                    match chars.get(i) {
                        None => return Err(err(start, "unterminated <# block comment")),
                        Some('#') if chars.get(i + 1) == Some(&'>') => {
                            i += 2;
                            break;
                        }
                        Some('\n') => {
                            line += 1;
                            i += 1;
                        }
                        Some(_) => i += 1,
                    }
                }
            }
            '#' => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
            }
            '"' => {
                let start = line;
                let mut s = String::new();
                i += 1;
                loop {
                    match chars.get(i) {
                        None => return Err(err(start, "unterminated double-quoted string")),
                        Some('"') => {
                            i += 1;
                            break;
                        }
                        Some('`') => {
                            let e = chars
                                .get(i + 1)
                                .ok_or_else(|| err(line, "backtick at the end of the script"))?;
                            s.push(match e {
                                'n' => '\n',
                                't' => '\t',
                                '0' => '\0',
                                other => *other,
                            });
                            i += 2;
                        }
                        Some('$') => {
                            return Err(err(
                                line,
                                "unescaped $ in a double-quoted string would expand a variable",
                            ))
                        }
                        Some(ch) => {
                            if *ch == '\n' {
                                line += 1;
                            }
                            s.push(*ch);
                            i += 1;
                        }
                    }
                }
                out.push((Tok::Str(s), start));
            }
            '\'' => {
                let start = line;
                let mut s = String::new();
                i += 1;
                loop {
                    match chars.get(i) {
                        None => return Err(err(start, "unterminated single-quoted string")),
                        Some('\'') if chars.get(i + 1) == Some(&'\'') => {
                            s.push('\'');
                            i += 2;
                        }
                        Some('\'') => {
                            i += 1;
                            break;
                        }
                        Some(ch) => {
                            if *ch == '\n' {
                                line += 1;
                            }
                            s.push(*ch);
                            i += 1;
                        }
                    }
                }
                out.push((Tok::Str(s), start));
            }
            '$' => {
                let mut j = i + 1;
                while j < chars.len() && (chars[j].is_ascii_alphanumeric() || chars[j] == '_') {
                    j += 1;
                }
                if j == i + 1 {
                    return Err(err(line, "a lone $"));
                }
                out.push((Tok::Var(chars[i + 1..j].iter().collect()), line));
                i = j;
            }
            '(' | '{' => {
                out.push((Tok::Open(c), line));
                i += 1;
            }
            ')' | '}' => {
                out.push((Tok::Close(c), line));
                i += 1;
            }
            '|' => {
                out.push((Tok::Pipe, line));
                i += 1;
            }
            ';' => {
                out.push((Tok::Semi, line));
                i += 1;
            }
            ',' => {
                out.push((Tok::Comma, line));
                i += 1;
            }
            '=' => {
                out.push((Tok::Assign, line));
                i += 1;
            }
            '-' if chars.get(i + 1).is_some_and(|n| n.is_ascii_alphabetic()) => {
                let mut j = i + 1;
                while j < chars.len() && chars[j].is_ascii_alphanumeric() {
                    j += 1;
                }
                let name: String = chars[i + 1..j].iter().collect();
                let colon = chars.get(j) == Some(&':');
                if colon {
                    j += 1;
                } else if chars.get(j).is_some_and(|&c| is_word_char(c)) {
                    return Err(err(line, format!("malformed parameter -{name}")));
                }
                out.push((Tok::Param { name, colon }, line));
                i = j;
            }
            _ => {
                let mut j = i;
                while j < chars.len() && is_word_char(chars[j]) {
                    j += 1;
                }
                if j == i {
                    return Err(err(line, format!("unexpected character {c:?}")));
                }
                out.push((Tok::Word(chars[i..j].iter().collect()), line));
                i = j;
            }
        }
    }
    Ok(out)
}

/// `Verb-Noun`, the shape of every cmdlet name.
fn is_cmdlet(w: &str) -> bool {
    let Some((verb, noun)) = w.split_once('-') else {
        return false;
    };
    let cap = |s: &str| {
        s.chars().next().is_some_and(|c| c.is_ascii_uppercase())
            && s.chars().all(|c| c.is_ascii_alphanumeric())
    };
    cap(verb) && cap(noun)
}

/// Operators that may stand where a statement or an `if` condition begins.
const OPERATORS: &[&str] = &["not", "eq", "ne", "and", "or", "like", "notlike"];

fn value_of(tok: &Tok, line: usize) -> Result<Value, CtlError> {
    Ok(match tok {
        Tok::Str(s) => Value::Str(s.clone()),
        Tok::Word(w) => match w.parse::<i64>() {
            Ok(n) => Value::Int(n),
            Err(_) => Value::Str(w.clone()),
        },
        Tok::Var(v) if v.eq_ignore_ascii_case("true") => Value::Bool(true),
        Tok::Var(v) if v.eq_ignore_ascii_case("false") => Value::Bool(false),
        Tok::Var(v) if v.eq_ignore_ascii_case("null") => Value::Null,
        Tok::Var(v) => return Err(err(line, format!("variable ${v} as an argument"))),
        other => return Err(err(line, format!("{other:?} is not a value"))),
    })
}

fn is_value(tok: &Tok) -> bool {
    matches!(tok, Tok::Str(_) | Tok::Word(_) | Tok::Var(_))
}

/// Every cmdlet invocation in `script`, in order.
pub fn parse(script: &str) -> Result<Vec<Invocation>, CtlError> {
    let toks = lex(script)?;
    let mut out = Vec::new();
    // Open braces, each with the function it opened (if any).
    let mut braces: Vec<Option<String>> = Vec::new();
    let mut parens = 0usize;
    let mut statement_start = true;
    let mut pending_function: Option<String> = None;
    let mut i = 0;
    while i < toks.len() {
        let (tok, line) = (&toks[i].0, toks[i].1);
        match tok {
            Tok::Newline | Tok::Semi | Tok::Pipe => {
                statement_start = true;
                i += 1;
            }
            Tok::Open('{') => {
                braces.push(pending_function.take());
                statement_start = true;
                i += 1;
            }
            Tok::Open(_) => {
                parens += 1;
                statement_start = true;
                i += 1;
            }
            Tok::Close('}') => {
                braces
                    .pop()
                    .ok_or_else(|| err(line, "unbalanced closing brace"))?;
                statement_start = true;
                i += 1;
            }
            Tok::Close(_) => {
                parens = parens
                    .checked_sub(1)
                    .ok_or_else(|| err(line, "unbalanced closing parenthesis"))?;
                statement_start = false;
                i += 1;
            }
            Tok::Word(w) if statement_start && is_cmdlet(w) => {
                let function = braces.iter().rev().find_map(|b| b.clone());
                let (inv, next) = command(&toks, i, function)?;
                out.push(inv);
                i = next;
                statement_start = false;
            }
            Tok::Word(w) if statement_start && w == "function" => {
                match toks.get(i + 1) {
                    Some((Tok::Word(name), _)) if is_cmdlet(name) => {
                        pending_function = Some(name.clone());
                    }
                    _ => return Err(err(line, "function needs a Verb-Noun name")),
                }
                i += 2;
                statement_start = false;
            }
            Tok::Word(w) if statement_start && (w == "if" || w == "else" || w == "throw") => {
                statement_start = w != "throw";
                i += 1;
            }
            Tok::Word(w) => {
                return Err(err(line, format!("unexpected word {w:?}")));
            }
            Tok::Param { name, .. } if OPERATORS.contains(&name.to_ascii_lowercase().as_str()) => {
                statement_start = true;
                i += 1;
            }
            Tok::Var(v) if statement_start && v == "ErrorActionPreference" => {
                // `$ErrorActionPreference = "Stop"`: stop the script at the first failure.
                match (toks.get(i + 1), toks.get(i + 2)) {
                    (Some((Tok::Assign, _)), Some((Tok::Str(_), _))) => i += 3,
                    _ => return Err(err(line, "$ErrorActionPreference must be set to a string")),
                }
                statement_start = false;
            }
            Tok::Str(_) => {
                // The operand of `throw` or of a comparison.
                statement_start = false;
                i += 1;
            }
            other => return Err(err(line, format!("unexpected {other:?}"))),
        }
    }
    if !braces.is_empty() {
        return Err(err(
            toks.last().map_or(1, |t| t.1),
            "unclosed brace at the end",
        ));
    }
    if parens != 0 {
        return Err(err(
            toks.last().map_or(1, |t| t.1),
            "unclosed parenthesis at the end",
        ));
    }
    Ok(out)
}

/// Reads the invocation starting at `toks[start]` (the cmdlet name); returns it and the index
/// of the token that ended it.
fn command(
    toks: &[(Tok, usize)],
    start: usize,
    function: Option<String>,
) -> Result<(Invocation, usize), CtlError> {
    let (Tok::Word(cmdlet), line) = &toks[start] else {
        unreachable!("called on a word");
    };
    let mut inv = Invocation {
        cmdlet: cmdlet.clone(),
        args: Vec::new(),
        line: *line,
        function,
    };
    let mut i = start + 1;
    loop {
        let Some((tok, line)) = toks.get(i) else {
            return Ok((inv, i));
        };
        match tok {
            Tok::Newline | Tok::Semi | Tok::Pipe | Tok::Open(_) | Tok::Close(_) => {
                return Ok((inv, i))
            }
            Tok::Param { name, colon } => {
                if inv.get(name).is_some() {
                    return Err(err(*line, format!("-{name} given twice")));
                }
                i += 1;
                let takes_value = *colon || toks.get(i).is_some_and(|(t, _)| is_value(t));
                if !takes_value {
                    inv.args.push((name.clone(), Value::Switch));
                    continue;
                }
                let (first, l) = toks
                    .get(i)
                    .ok_or_else(|| err(*line, format!("-{name}: value missing")))?;
                let mut value = value_of(first, *l)?;
                i += 1;
                while let Some((Tok::Comma, l)) = toks.get(i) {
                    let (next, l2) = toks
                        .get(i + 1)
                        .ok_or_else(|| err(*l, "a comma ends the script"))?;
                    let item = value_of(next, *l2)?;
                    let Value::Str(b) = item else {
                        return Err(err(*l, format!("-{name}: a list holds strings only")));
                    };
                    value = match value {
                        Value::Str(a) => Value::List(vec![a, b]),
                        Value::List(mut v) => {
                            v.push(b);
                            Value::List(v)
                        }
                        _ => return Err(err(*l, format!("-{name}: a list holds strings only"))),
                    };
                    i += 2;
                }
                inv.args.push((name.clone(), value));
            }
            other => {
                return Err(err(
                    *line,
                    format!(
                        "{}: positional argument {other:?} (the generator names every argument)",
                        inv.cmdlet
                    ),
                ))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(script: &str) -> Invocation {
        let v = parse(script).unwrap();
        assert_eq!(v.len(), 1, "{v:?}");
        v.into_iter().next().unwrap()
    }

    #[test]
    fn reads_named_arguments_of_every_kind() {
        let inv = one(concat!(
            "New-TransportRule -Name \"a `\"b`\" `$x\" `\n",
            "    -Priority 0 <# why: https://example.invalid #> `\n",
            "    -Enabled $false -SenderIpRanges 192.0.2.1, '198.51.100.0/24' `\n",
            "    -Confirm:$false -WhatIf\n",
        ));
        assert_eq!(inv.cmdlet, "New-TransportRule");
        assert_eq!(inv.line, 1);
        assert_eq!(
            inv.args,
            vec![
                ("Name".into(), Value::Str("a \"b\" $x".into())),
                ("Priority".into(), Value::Int(0)),
                ("Enabled".into(), Value::Bool(false)),
                (
                    "SenderIpRanges".into(),
                    Value::List(vec!["192.0.2.1".into(), "198.51.100.0/24".into()])
                ),
                ("Confirm".into(), Value::Bool(false)),
                ("WhatIf".into(), Value::Switch),
            ]
        );
    }

    #[test]
    fn finds_commands_in_conditions_branches_pipelines_and_functions() {
        let script = concat!(
            "$ErrorActionPreference = \"Stop\"\n",
            "# a comment with New-Fake -X 1\n",
            "if (Get-InboundConnector -Identity x -ErrorAction SilentlyContinue) {\n",
            "    Set-InboundConnector -Identity x -Enabled $true\n",
            "} else {\n",
            "    New-InboundConnector -Name x -SenderDomains *\n",
            "}\n",
            "if (-not (Get-Mailbox -Identity a@b.example)) { throw \"no mailbox\" }\n",
            "Get-TransportRule -Identity r | Format-List -Property Name,Priority\n",
            "if ((Read-Host -Prompt \"go?\") -eq \"yes\") { Enable-TransportRule -Identity r }\n",
            "function Undo-Thing {\n",
            "    Remove-TransportRule -Identity r -Confirm:$false\n",
            "}\n",
        );
        let v = parse(script).unwrap();
        let names: Vec<(&str, Option<&str>)> = v
            .iter()
            .map(|i| (i.cmdlet.as_str(), i.function.as_deref()))
            .collect();
        assert_eq!(
            names,
            [
                ("Get-InboundConnector", None),
                ("Set-InboundConnector", None),
                ("New-InboundConnector", None),
                ("Get-Mailbox", None),
                ("Get-TransportRule", None),
                ("Format-List", None),
                ("Read-Host", None),
                ("Enable-TransportRule", None),
                ("Remove-TransportRule", Some("Undo-Thing")),
            ]
        );
        assert_eq!(
            v[5].get("property"),
            Some(&Value::List(vec!["Name".into(), "Priority".into()]))
        );
        assert_eq!(v[2].line, 6);
    }

    fn refused(script: &str) -> String {
        match parse(script) {
            Err(CtlError::Script { reason, .. }) => reason,
            other => panic!("expected a script error, got {other:?}"),
        }
    }

    #[test]
    fn refuses_what_it_cannot_read_exactly() {
        assert!(refused("New-TransportRule x").contains("positional"));
        assert!(refused("New-TransportRule -Name \"$x\"").contains("expand a variable"));
        assert!(refused("New-TransportRule -Name $x").contains("variable $x"));
        assert!(refused("New-TransportRule -Name a -Name b").contains("given twice"));
        assert!(refused("New-TransportRule -Name a `  \n").contains("backtick"));
        assert!(refused("Get-Thing -Identity x }").contains("unbalanced"));
        assert!(refused("if (Get-Thing -Identity x {").contains("unclosed"));
        assert!(refused("frobnicate -Identity x").contains("unexpected word"));
        assert!(refused("New-X -Name \"open").contains("unterminated"));
    }
}
