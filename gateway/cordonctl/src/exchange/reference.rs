//! The cmdlet reference table (`cmdlets.toml`, transcribed from Microsoft's ExchangePowerShell
//! reference with its source and date) and the check of parsed invocations against it: every
//! cmdlet must be listed and available in Exchange Online, every argument a documented
//! parameter of that cmdlet with a value of the documented type, the required parameters
//! present, and the documented ties between parameters respected. No I/O.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};

use ipnet::{IpNet, Ipv4Net};
use serde::Deserialize;

use super::ps::{Invocation, Value};
use crate::CtlError;

const TABLE: &str = include_str!("cmdlets.toml");

#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum ParamType {
    Named(String),
    Enum { r#enum: Vec<String> },
}

#[derive(Debug, Deserialize)]
pub struct Cmdlet {
    pub name: String,
    pub url: String,
    #[serde(default = "yes")]
    pub exchange_online: bool,
    #[serde(default)]
    pub required: Vec<String>,
    pub params: BTreeMap<String, ParamType>,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Deserialize)]
pub struct Constraint {
    pub cmdlets: Vec<String>,
    pub when: String,
    pub when_value: Option<String>,
    pub then: String,
    pub then_value: Option<String>,
    pub then_not_value: Option<String>,
    pub why: String,
}

#[derive(Debug, Deserialize)]
pub struct Table {
    pub common: BTreeMap<String, ParamType>,
    #[serde(rename = "cmdlet")]
    pub cmdlets: Vec<Cmdlet>,
    #[serde(rename = "constraint")]
    pub constraints: Vec<Constraint>,
}

impl Table {
    /// The table compiled into the binary.
    pub fn load() -> Result<Table, CtlError> {
        toml::from_str(TABLE).map_err(CtlError::Table)
    }

    pub fn cmdlet(&self, name: &str) -> Option<&Cmdlet> {
        self.cmdlets
            .iter()
            .find(|c| c.name.eq_ignore_ascii_case(name))
    }

    /// Every problem with `inv`, each as a sentence naming the cmdlet and parameter.
    pub fn check(&self, inv: &Invocation) -> Vec<String> {
        let mut out = Vec::new();
        let Some(cmdlet) = self.cmdlet(&inv.cmdlet) else {
            out.push(format!("{}: not in the cmdlet reference table", inv.cmdlet));
            return out;
        };
        if !cmdlet.exchange_online {
            out.push(format!(
                "{}: not available in Exchange Online ({})",
                cmdlet.name, cmdlet.url
            ));
        }
        for (name, value) in &inv.args {
            let ty = cmdlet
                .params
                .iter()
                .chain(self.common.iter())
                .find(|(p, _)| p.eq_ignore_ascii_case(name))
                .map(|(_, t)| t);
            match ty {
                None => out.push(format!(
                    "{}: no parameter -{name} ({})",
                    cmdlet.name, cmdlet.url
                )),
                // A `<placeholder>` the script's header tells the admin to replace.
                Some(_)
                    if value
                        .items()
                        .iter()
                        .any(|v| v.starts_with('<') && v.ends_with('>')) => {}
                Some(ty) => {
                    if let Err(why) = check_type(ty, value) {
                        out.push(format!("{} -{name}: {why}", cmdlet.name));
                    }
                }
            }
        }
        for r in &cmdlet.required {
            if inv.get(r).is_none() {
                out.push(format!("{}: required parameter -{r} missing", cmdlet.name));
            }
        }
        for c in self.constraints.iter().filter(|c| {
            c.cmdlets
                .iter()
                .any(|n| n.eq_ignore_ascii_case(&cmdlet.name))
        }) {
            let Some(when) = inv.get(&c.when) else {
                continue;
            };
            if c.when_value.as_ref().is_some_and(|v| !same(when, v)) {
                continue;
            }
            let then = inv.get(&c.then);
            let ok = match (then, &c.then_value, &c.then_not_value) {
                (None, _, Some(_)) => true,
                (None, _, None) => false,
                (Some(t), Some(v), _) => same(t, v),
                (Some(t), None, Some(v)) => !same(t, v),
                (Some(_), None, None) => true,
            };
            if !ok {
                out.push(format!(
                    "{}: -{} {} ({})",
                    cmdlet.name,
                    c.when,
                    match (&c.then_value, &c.then_not_value) {
                        (Some(v), _) => format!("needs -{} {v}", c.then),
                        (None, Some(v)) => format!("cannot go with -{} {v}", c.then),
                        (None, None) => format!("needs -{}", c.then),
                    },
                    c.why
                ));
            }
        }
        out
    }
}

fn same(value: &Value, text: &str) -> bool {
    value.items().len() == 1 && value.items()[0].eq_ignore_ascii_case(text)
}

/// A DNS name (letters, digits, hyphens, dots; labels of 1..63), optionally `*.name`.
pub fn is_domain(s: &str) -> bool {
    let s = s.strip_prefix("*.").unwrap_or(s);
    !s.is_empty()
        && s.len() <= 253
        && s.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        })
        && s.contains('.')
}

fn is_address(s: &str) -> bool {
    s.split_once('@')
        .is_some_and(|(l, d)| !l.is_empty() && !l.contains(char::is_whitespace) && is_domain(d))
}

/// SenderIPAddresses: "Single IP address ... CIDR ... Valid subnet mask values are /24
/// through /32 ... IPv6 addresses are not supported."
pub fn sender_ipv4(s: &str) -> Result<Ipv4Net, String> {
    if let Ok(a) = s.parse::<Ipv4Addr>() {
        return Ok(Ipv4Net::from(a));
    }
    if s.parse::<IpAddr>().is_ok() || s.parse::<IpNet>().is_ok_and(|n| n.addr().is_ipv6()) {
        return Err(format!(
            "{s} is IPv6, which SenderIPAddresses does not support"
        ));
    }
    let net: Ipv4Net = s
        .parse()
        .map_err(|_| format!("{s} is not an IPv4 address or CIDR range"))?;
    if net.prefix_len() < 24 {
        return Err(format!(
            "{s} is wider than /24, the widest range SenderIPAddresses takes"
        ));
    }
    Ok(net)
}

fn ip_range(s: &str) -> bool {
    if s.parse::<IpAddr>().is_ok() || s.parse::<IpNet>().is_ok() {
        return true;
    }
    s.split_once('-').is_some_and(|(a, b)| {
        matches!(
            (a.parse::<IpAddr>(), b.parse::<IpAddr>()),
            (Ok(IpAddr::V4(_)), Ok(IpAddr::V4(_))) | (Ok(IpAddr::V6(_)), Ok(IpAddr::V6(_)))
        )
    })
}

fn header_name(s: &str) -> bool {
    // RFC 5322 3.6.8: printable US-ASCII except colon.
    !s.is_empty() && s.bytes().all(|b| (33..=126).contains(&b) && b != b':')
}

fn each(value: &Value, ok: impl Fn(&str) -> Result<(), String>) -> Result<(), String> {
    match value {
        Value::Str(_) | Value::List(_) => value.items().iter().try_for_each(|s| ok(s)),
        other => Err(format!("expected text, got {other:?}")),
    }
}

fn check_type(ty: &ParamType, value: &Value) -> Result<(), String> {
    // `$null` clears a property (Set- cmdlets); it binds to any reference-typed parameter.
    if *value == Value::Null {
        return match ty {
            ParamType::Named(t) if matches!(t.as_str(), "Boolean" | "Int32" | "Switch") => {
                Err(format!("{t} cannot be $null"))
            }
            _ => Ok(()),
        };
    }
    let ty = match ty {
        ParamType::Enum { r#enum } => {
            return match value {
                Value::Str(s) if r#enum.iter().any(|v| v.eq_ignore_ascii_case(s)) => Ok(()),
                other => Err(format!("{other:?} is not one of {}", r#enum.join(", "))),
            };
        }
        ParamType::Named(t) => t.as_str(),
    };
    let single = |v: &Value| match v {
        Value::List(_) => Err("takes a single value, not a list".to_owned()),
        _ => Ok(()),
    };
    match ty {
        "Boolean" => match value {
            Value::Bool(_) => Ok(()),
            other => Err(format!("expects $true or $false, got {other:?}")),
        },
        "Switch" => match value {
            Value::Switch | Value::Bool(_) => Ok(()),
            other => Err(format!("is a switch, got {other:?}")),
        },
        "Int32" => match value {
            Value::Int(n) if i32::try_from(*n).is_ok() => Ok(()),
            other => Err(format!("expects a 32-bit integer, got {other:?}")),
        },
        "String" => single(value).and_then(|_| each(value, |_| Ok(()))),
        "HeaderName" => single(value).and_then(|_| {
            each(value, |s| {
                header_name(s)
                    .then_some(())
                    .ok_or(format!("{s:?} is not a header field name"))
            })
        }),
        "Domain" => single(value).and_then(|_| {
            each(value, |s| {
                is_domain(s)
                    .then_some(())
                    .ok_or(format!("{s:?} is not a domain"))
            })
        }),
        "DomainList" => each(value, |s| {
            (s == "*" || is_domain(s))
                .then_some(())
                .ok_or(format!("{s:?} is not a domain or *"))
        }),
        "SmartHostList" => each(value, |s| {
            (is_domain(s) || s.parse::<Ipv4Addr>().is_ok() || s.parse::<Ipv4Net>().is_ok())
                .then_some(())
                .ok_or(format!("{s:?} is not an FQDN, IPv4 address or CIDR range"))
        }),
        "SenderIpv4List" => each(value, |s| sender_ipv4(s).map(|_| ())),
        "IpRangeList" => each(value, |s| {
            ip_range(s)
                .then_some(())
                .ok_or(format!("{s:?} is not an IP address, range or CIDR"))
        }),
        "PatternList" => each(value, |s| {
            regex::Regex::new(s)
                .map(|_| ())
                .map_err(|e| format!("{s:?} is not a regular expression: {e}"))
        }),
        "AddressList" => each(value, |s| {
            is_address(s)
                .then_some(())
                .ok_or(format!("{s:?} is not an email address"))
        }),
        "PropertyList" => each(value, |s| {
            (!s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric()))
                .then_some(())
                .ok_or(format!("{s:?} is not a property name"))
        }),
        other => Err(format!("cmdlets.toml names an unknown type {other}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exchange::ps::parse;

    fn problems(script: &str) -> Vec<String> {
        let table = Table::load().unwrap();
        parse(script)
            .unwrap()
            .iter()
            .flat_map(|i| table.check(i))
            .collect()
    }

    #[test]
    fn the_table_loads_and_every_type_it_names_is_known() {
        let table = Table::load().unwrap();
        for c in &table.cmdlets {
            assert!(
                c.url.starts_with("https://learn.microsoft.com/"),
                "{}",
                c.name
            );
            for (p, ty) in c.params.iter().chain(table.common.iter()) {
                if let ParamType::Named(t) = ty {
                    let probe = check_type(ty, &Value::List(vec![]));
                    assert!(
                        !probe.as_ref().is_err_and(|e| e.contains("unknown type")),
                        "{} -{p}: {t}",
                        c.name
                    );
                }
            }
            for r in &c.required {
                assert!(
                    c.params.contains_key(r),
                    "{}: required {r} not listed",
                    c.name
                );
            }
        }
        for k in &table.constraints {
            for name in &k.cmdlets {
                let c = table
                    .cmdlet(name)
                    .expect("constraint names a listed cmdlet");
                assert!(c.params.contains_key(&k.when) && c.params.contains_key(&k.then));
            }
        }
    }

    #[test]
    fn a_valid_command_passes() {
        assert_eq!(
            problems(
                "New-OutboundConnector -Name x -ConnectorType OnPremises -UseMXRecord $false \
                 -SmartHosts a.example.com,b.example.com -TlsSettings DomainValidation \
                 -TlsDomain *.example.com -CloudServicesMailEnabled $true"
            ),
            Vec::<String>::new()
        );
    }

    #[test]
    fn typos_types_and_combinations_are_refused() {
        let cases: &[(&str, &str)] = &[
            ("New-OutboundConnector -Name x -SmartHost a.example.com", "no parameter -SmartHost"),
            ("New-OutboundConnector -Name x -UseMXRecord $false", "needs -SmartHosts"),
            ("New-OutboundConnector -Name x -UseMXRecord false", "expects $true or $false"),
            ("New-OutboundConnector -Name x -TlsSettings Strict", "is not one of"),
            (
                "New-OutboundConnector -Name x -TlsDomain a.example.com -TlsSettings EncryptionOnly",
                "needs -TlsSettings DomainValidation",
            ),
            ("New-InboundConnector -Name x", "required parameter -SenderDomains missing"),
            (
                "New-InboundConnector -Name x -SenderDomains * -ConnectorType OnPremises -RequireTls $true",
                "needs -ConnectorType Partner",
            ),
            (
                "New-InboundConnector -Name x -SenderDomains * -SenderIPAddresses 2001:db8::1",
                "IPv6",
            ),
            (
                "New-InboundConnector -Name x -SenderDomains * -SenderIPAddresses 203.0.113.0/23",
                "wider than /24",
            ),
            (
                "New-InboundConnector -Name x -SenderDomains * -ConnectorType OnPremises \
                 -CloudServicesMailEnabled $true -TreatMessagesAsInternal $true",
                "cannot go with -CloudServicesMailEnabled $true",
            ),
            ("New-TransportRule -Name x -SetHeaderName X-A", "needs -SetHeaderValue"),
            ("New-TransportRule -Name x -HeaderMatchesPatterns a", "needs -HeaderMatchesMessageHeader"),
            ("New-TransportRule -Name x -Priority high", "32-bit integer"),
            ("New-TransportRule -Name x -RemoveHeader \"X A\"", "not a header field name"),
            ("New-TransportRule -Name x -ModerateMessageByUser approvers", "not an email address"),
            ("New-TransportRule -Name x -SenderIpRanges 10.0.0.0/33", "not an IP address"),
            ("New-TransportRule -Name x -Enabled $false -Priority 0 -Frobnicate 1", "no parameter -Frobnicate"),
            ("Set-TransportRule -Identity x -Enabled $false", "no parameter -Enabled"),
            ("New-AcceptedDomain -Name x -DomainName x.example.com", "not available in Exchange Online"),
            ("Send-MailMessage -To a@b.example", "not in the cmdlet reference table"),
        ];
        for (script, expected) in cases {
            let p = problems(script);
            assert!(
                p.iter().any(|m| m.contains(expected)),
                "{script}: expected {expected:?} in {p:?}"
            );
        }
    }

    /// The reviewed golden scripts (tests/cli.rs writes them from the real binary) read back
    /// command by command: every cmdlet and parameter is in the table with a value of its type.
    #[test]
    fn every_golden_script_checks_out_against_the_reference() {
        let table = Table::load().unwrap();
        for (name, text) in [
            (
                "ip",
                include_str!("../../tests/golden/exchange-setup-ip.ps1"),
            ),
            (
                "certificate",
                include_str!("../../tests/golden/exchange-setup-certificate.ps1"),
            ),
            (
                "gateways",
                include_str!("../../tests/golden/exchange-setup-gateways.ps1"),
            ),
        ] {
            let invs = parse(text).unwrap();
            assert!(invs.len() > 20, "{name}: {} commands", invs.len());
            for inv in &invs {
                assert_eq!(
                    table.check(inv),
                    Vec::<String>::new(),
                    "{name} line {}",
                    inv.line
                );
            }
            // A one-letter typo in any parameter name is caught.
            let typo = text.replace("-IsTransportRuleScoped", "-IsTransportRuleScope");
            let found: Vec<String> = parse(&typo)
                .unwrap()
                .iter()
                .flat_map(|i| table.check(i))
                .collect();
            assert!(
                found
                    .iter()
                    .any(|p| p.contains("no parameter -IsTransportRuleScope ")),
                "{name}: {found:?}"
            );
        }
    }
}
