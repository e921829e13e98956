//! `exchange-setup --check`: what keeps a config (with the command-line inputs) from working
//! with Exchange Online, each with a reason an administrator can act on. Problems make
//! `--check` exit 1; warnings are printed and do not. No I/O: the caller reads the client
//! certificate and passes its names in [`Extra::cert_names`].

use std::net::Ipv4Addr;

use cordon_config::{Config, Direction, TlsMode};
use ipnet::IpNet;
use serde::Serialize;
use x509_parser::extensions::GeneralName;

use super::reference::{is_domain, sender_ipv4};
use super::{docs, Extra, Mode, Names};

/// Exchange Online's SMTP servers (Microsoft 365 endpoints, ID 10, `*.mail.protection.outlook.com`,
/// TCP 25): the addresses that deliver to the gateway. Source: https://learn.microsoft.com/microsoft-365/enterprise/urls-and-ip-address-ranges
/// (list version 2026081400 as quoted in public material, read 2026-12-04); the list changes,
/// so `--check` only warns.
pub const EXO_SMTP_RANGES: &[&str] = &[
    "40.92.0.0/15",
    "40.107.0.0/16",
    "52.100.0.0/14",
    "104.47.0.0/17",
    "2a01:111:f400::/48",
    "2a01:111:f403::/48",
];

/// The longest certificate domain the Microsoft 365 admin center accepts (seed 004 step 3:
/// "The value must be 48 characters or less").
pub const MAX_CERT_DOMAIN: usize = 48;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Problem,
    Warning,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub severity: Severity,
    pub reason: String,
}

fn problem(reason: String) -> Finding {
    Finding {
        severity: Severity::Problem,
        reason,
    }
}

fn warning(reason: String) -> Finding {
    Finding {
        severity: Severity::Warning,
        reason,
    }
}

/// What the script still needs from the admin (each is a `<placeholder>` in it).
pub fn missing(config: &Config, extra: &Extra) -> Vec<String> {
    let mut out = Vec::new();
    if extra.sender_ips.is_empty() {
        out.push(format!(
            "the gateway's public egress IPv4 address: give it with --sender-ip (once per \
             gateway). Transport rules recognise mail coming back from the gateway by this \
             address, the one thing a user cannot forge{}",
            if config.relay.client_auth.is_some() {
                " (rules cannot see the TLS certificate)"
            } else {
                ""
            }
        ));
    }
    if extra.approver.is_none() {
        out.push("no approver for quarantined mail: give one mailbox with --approver".into());
    }
    if config.relay.client_auth.is_some()
        && extra.cert_domain.is_none()
        && !matches!(&extra.cert_names, Some(Ok(n)) if !n.is_empty())
    {
        out.push(
            "the certificate domain of the relay client certificate: give it with \
             --cert-domain, or a readable copy of the certificate with --client-cert"
                .into(),
        );
    }
    if extra.test_recipient.is_none() {
        out.push(
            "an external address for Validate-OutboundConnector's test message: give it with \
             --test-recipient"
                .into(),
        );
    }
    out
}

/// Whether a certificate name (possibly `*.parent`) covers `name` (RFC 6125: the wildcard
/// stands for exactly one leftmost label).
pub fn covers(cert_name: &str, name: &str) -> bool {
    let (c, n) = (cert_name.to_ascii_lowercase(), name.to_ascii_lowercase());
    if c == n {
        return true;
    }
    match c.strip_prefix("*.") {
        Some(parent) => n
            .split_once('.')
            .is_some_and(|(first, rest)| !first.is_empty() && first != "*" && rest == parent),
        None => false,
    }
}

/// The DNS names of the first certificate in `pem` (its subjectAltName entries, or the
/// subject CN when it has none).
pub fn cert_dns_names(pem: &[u8]) -> Result<Vec<String>, String> {
    use rustls_pki_types::pem::PemObject;
    let der = rustls_pki_types::CertificateDer::pem_slice_iter(pem)
        .next()
        .ok_or("no PEM CERTIFICATE block")?
        .map_err(|e| format!("unreadable PEM: {e}"))?;
    let (_, cert) = x509_parser::parse_x509_certificate(&der)
        .map_err(|e| format!("the certificate does not parse: {e}"))?;
    let mut names = Vec::new();
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        for n in &san.value.general_names {
            if let GeneralName::DNSName(d) = n {
                names.push((*d).to_owned());
            }
        }
    }
    if names.is_empty() {
        for cn in cert.subject().iter_common_name() {
            if let Ok(s) = cn.as_str() {
                names.push(s.to_owned());
            }
        }
    }
    Ok(names)
}

/// A moderator Exchange can use: exactly one address (no list, no spaces).
fn single_mailbox(a: &str) -> bool {
    !a.contains([',', ';', ' ', '<', '>'])
        && a.split_once('@')
            .is_some_and(|(l, d)| !l.is_empty() && !d.contains('@') && is_domain(d))
}

/// Addresses no Exchange Online server sees as the gateway's: RFC 1918, loopback,
/// link-local, shared (RFC 6598), unspecified, broadcast and multicast.
fn not_public(a: Ipv4Addr) -> bool {
    let shared = IpNet::V4("100.64.0.0/10".parse().expect("literal"));
    a.is_private()
        || a.is_loopback()
        || a.is_link_local()
        || a.is_unspecified()
        || a.is_broadcast()
        || a.is_multicast()
        || shared.contains(&std::net::IpAddr::V4(a))
}

/// Every finding for `config` with `extra`.
pub fn check(config: &Config, extra: &Extra) -> Vec<Finding> {
    let names = Names::new(config, extra);
    let mut out: Vec<Finding> = missing(config, extra)
        .into_iter()
        .map(|m| problem(format!("missing: {m}")))
        .collect();

    if !config.gateway.listen.iter().any(|a| a.port() == 25) && !extra.port25_forwarder {
        let ports: Vec<String> = config
            .gateway
            .listen
            .iter()
            .map(|a| a.port().to_string())
            .collect();
        out.push(problem(format!(
            "[gateway] listen has no address on port 25 (it listens on {}): Exchange Online \
             delivers to a connector's smart hosts on port 25 only, so mail would queue and \
             bounce. Listen on port 25, or pass --port25-forwarder if a NAT or load balancer \
             forwards port 25 to this listener",
            if ports.is_empty() {
                "no plain port".to_owned()
            } else {
                ports.join(", ")
            }
        )));
    }
    if config.gateway.tls.is_none() {
        out.push(problem(format!(
            "[gateway.tls] is not configured: the outbound connector requires TLS with a \
             certificate from a public CA naming {} (TlsSettings DomainValidation)",
            names.tls_domain.as_deref().unwrap_or("the gateways")
        )));
    }
    if let Err(e) = &names.tls_domain {
        out.push(problem(e.clone()));
    }
    for g in &names.gateways {
        if !is_domain(g) || g.starts_with("*.") {
            out.push(problem(format!(
                "--gateway {g} is not a host name (the connector checks the certificate by name)"
            )));
        }
    }

    if let Mode::Certificate(name) = &names.mode {
        match config.relay.tls {
            TlsMode::None => out.push(problem(format!(
                "[relay] tls = \"none\" with a client certificate: the certificate is only \
                 presented inside TLS, so Exchange never matches the connector for {name} and \
                 the inspected mail is not attributed to the organization. Set tls = \"required\""
            ))),
            TlsMode::Opportunistic => out.push(warning(format!(
                "[relay] tls = \"opportunistic\": if STARTTLS fails the gateway relays in plain \
                 text without its certificate, and Exchange no longer matches the connector \
                 for {name}; \"required\" makes that a retry instead"
            ))),
            TlsMode::Required => {}
        }
        match &extra.cert_names {
            Some(Err(e)) => out.push(problem(format!(
                "cannot read the relay client certificate to check its names: {e} (give a \
                 local copy with --client-cert FILE)"
            ))),
            Some(Ok(cert)) if !name.starts_with('<') && !cert.iter().any(|c| covers(c, name)) => {
                out.push(problem(format!(
                    "the relay client certificate names {} but the inbound connector \
                     expects {name} (TlsSenderCertificateName): Exchange would not \
                     attribute the gateway's mail to the connector",
                    if cert.is_empty() {
                        "nothing".to_owned()
                    } else {
                        cert.join(", ")
                    }
                )));
            }
            _ => {}
        }
        if name.len() > MAX_CERT_DOMAIN {
            out.push(problem(format!(
                "the certificate domain {name} is longer than {MAX_CERT_DOMAIN} characters, the \
                 most the Microsoft 365 admin center accepts as a domain (seed 004 step 3)"
            )));
        }
        if !name.starts_with('<') && !is_domain(name) {
            out.push(problem(format!("--cert-domain {name} is not a domain")));
        }
    }

    for ip in &extra.sender_ips {
        match sender_ipv4(ip) {
            Err(e) => out.push(problem(format!(
                "--sender-ip {e}: the inbound connector and the rules take public IPv4 \
                 addresses or ranges from /24 to /32"
            ))),
            Ok(net) if not_public(net.addr()) => out.push(problem(format!(
                "--sender-ip {ip} is not a public address: Exchange Online sees the gateway's \
                 public (NAT) address; give that"
            ))),
            Ok(_) => {}
        }
    }

    if let Some(a) = &extra.approver {
        if !single_mailbox(a) {
            out.push(problem(format!(
                "--approver {a:?} is not a single mailbox address: ModerateMessageByUser \
                 cannot use a distribution group, and one approver is given"
            )));
        }
    }

    for r in &config.rules {
        let dir = match r.direction {
            Direction::Inbound => "inbound",
            Direction::Internal => "internal",
            Direction::Outbound | Direction::Any => continue,
        };
        out.push(warning(format!(
            "rule {:?} has direction = \"{dir}\" and never fires: this routing sends the \
             gateway only mail from the organization to outside recipients",
            r.name
        )));
    }

    let allowed = &config.gateway.allowed_clients;
    for range in EXO_SMTP_RANGES {
        let net: IpNet = range.parse().expect("literal");
        if !allowed
            .iter()
            .any(|a| a.contains(&net.network()) && a.contains(&net.broadcast()))
        {
            out.push(warning(format!(
                "[gateway] allowed_clients does not cover Exchange Online's {range} ({} ID 10): \
                 connections from those servers are refused",
                docs::ENDPOINTS
            )));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_cover_one_label() {
        assert!(covers("gw.contoso.com", "GW.contoso.com"));
        assert!(covers("*.contoso.com", "gw.contoso.com"));
        assert!(!covers("*.contoso.com", "a.gw.contoso.com"));
        assert!(!covers("*.contoso.com", "contoso.com"));
        assert!(!covers("gw.contoso.com", "*.contoso.com"));
    }

    #[test]
    fn moderators_are_one_address() {
        assert!(single_mailbox("dlp-approver@contoso.com"));
        for bad in [
            "a@contoso.com,b@contoso.com",
            "approvers",
            "a b@contoso.com",
            "@contoso.com",
        ] {
            assert!(!single_mailbox(bad), "{bad}");
        }
    }

    #[test]
    fn private_and_shared_addresses_are_not_public() {
        for a in [
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "100.64.0.1",
            "127.0.0.1",
        ] {
            assert!(not_public(a.parse().unwrap()), "{a}");
        }
        assert!(!not_public("20.1.2.3".parse().unwrap()));
    }

    #[test]
    fn reads_san_names_from_a_real_certificate() {
        let ca = cordon_control::fake::TestCa::new("test CA");
        let leaf = ca.leaf("relay.dlp.contoso.com", None);
        assert_eq!(
            cert_dns_names(leaf.cert_pem.as_bytes()).unwrap(),
            vec!["relay.dlp.contoso.com".to_owned()]
        );
        assert_eq!(
            cert_dns_names(b"not a pem"),
            Err("no PEM CERTIFICATE block".into())
        );
        let garbled = leaf.cert_pem.replace("MII", "MIZ");
        let e = cert_dns_names(garbled.as_bytes()).unwrap_err();
        assert!(e.starts_with("the certificate does not parse: "), "{e}");
    }
}
