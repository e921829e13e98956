//! `cordonctl exchange-setup`: the Exchange Online PowerShell that puts this appliance (or a
//! fleet of them) into the mail flow, built from the gateway's config and what the admin gives
//! on the command line. It follows Microsoft's pattern for an email add-on service (seed 004):
//! an outbound connector scoped to a transport rule, the rule that routes outbound mail to the
//! gateway, an inbound connector accepting the inspected mail back, and a moderation rule that
//! holds `Quarantine` mail for an approver. It departs from the pattern where the pattern can be
//! bypassed: the return leg is recognised by the gateway's egress address (which a user cannot
//! forge) rather than by the processed header (which any user can add).
//!
//! # Layout
//! - this file: the inputs ([`Extra`]), the names, and the script ([`script`], [`rollback`]).
//! - [`check`]: `--check`, what stops a config from working with Exchange Online.
//! - [`ps`]: a reader for the generated PowerShell (every invocation and its arguments).
//! - [`reference`]: the cmdlet reference table (`cmdlets.toml`) and the check against it.
//! - [`eval`]: an evaluator of the generated connectors and rules over sample messages.
//!
//! Nothing here does I/O: `main.rs` reads the config and the certificate and prints.

pub mod check;
pub mod eval;
pub mod ps;
pub mod reference;

use std::fmt::Write;

use cordon_config::Config;

use crate::CtlError;

/// Microsoft's documents the generated script cites in its step comments (each parameter's
/// own reference page is cited beside it, see `reference_url`).
pub mod docs {
    pub const SEED_004: &str = "https://learn.microsoft.com/exchange/mail-flow-best-practices/use-connectors-to-configure-mail-flow/integrate-office-365-with-an-email-add-on-service";
    pub const RULES: &str =
        "https://learn.microsoft.com/exchange/security-and-compliance/mail-flow-rules/mail-flow-rules";
    pub const NEW_INBOUND: &str =
        "https://learn.microsoft.com/powershell/module/exchangepowershell/new-inboundconnector";
    pub const NEW_RULE: &str =
        "https://learn.microsoft.com/powershell/module/exchangepowershell/new-transportrule";
    pub const VALIDATE: &str =
        "https://learn.microsoft.com/powershell/module/exchangepowershell/validate-outboundconnector";
    pub const ACCEPTED_DOMAIN: &str =
        "https://learn.microsoft.com/powershell/module/exchangepowershell/new-accepteddomain";
    pub const ENDPOINTS: &str =
        "https://learn.microsoft.com/microsoft-365/enterprise/urls-and-ip-address-ranges";
}

/// The inputs beyond the config.
#[derive(Debug, Clone, Default)]
pub struct Extra {
    /// Who approves quarantined mail (`--approver`): one mailbox.
    pub approver: Option<String>,
    /// The gateways' public egress addresses (`--sender-ip`, repeatable): what the rules
    /// recognise the return leg by, and in IP mode what the inbound connector accepts.
    pub sender_ips: Vec<String>,
    /// The gateways Exchange delivers to (`--gateway`, repeatable); empty: the config's
    /// hostname.
    pub gateways: Vec<String>,
    /// The certificate domain for the inbound connector (`--cert-domain`); default: the first
    /// DNS name of the relay client certificate.
    pub cert_domain: Option<String>,
    /// The DNS names read from the relay client certificate, or why it could not be read.
    /// `None` when the config has no client certificate.
    pub cert_names: Option<Result<Vec<String>, String>>,
    /// An external address for `Validate-OutboundConnector` (`--test-recipient`).
    pub test_recipient: Option<String>,
    /// A port-25 forwarder (NAT, load balancer) stands in front of the listener
    /// (`--port25-forwarder`).
    pub port25_forwarder: bool,
    /// Keep `X-Cordon-Rule` on mail leaving the organization (`--keep-rule-header`).
    pub keep_rule_header: bool,
}

/// How Exchange recognises the inbound connection from the gateway.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    /// The relay presents a client certificate carrying this name.
    Certificate(String),
    /// No client certificate: the gateways' public IPv4 addresses.
    Ip,
}

const APPROVER_PLACEHOLDER: &str = "<approver mailbox>";
const SENDER_IP_PLACEHOLDER: &str = "<gateway public IPv4>";
const CERT_PLACEHOLDER: &str = "<certificate domain>";
const TEST_RECIPIENT_PLACEHOLDER: &str = "<external test address>";

/// Everything derived from the config and [`Extra`] that the script and the checks share.
#[derive(Debug, Clone)]
pub struct Names {
    pub mode: Mode,
    pub gateways: Vec<String>,
    pub tls_domain: Result<String, String>,
    pub sender_ips: Vec<String>,
    pub approver: String,
    pub test_recipient: String,
    pub outbound: String,
    pub inbound: String,
    pub sanitise_rule: String,
    pub route_rule: String,
    pub moderate_rule: String,
    pub rule_header_rule: String,
    pub inspected: String,
    pub action: String,
    pub rule_header: String,
}

/// The one TLS domain an outbound connector can check for all `gateways`: the name itself for
/// one gateway, `*.parent` when every gateway is a direct child of the same parent.
pub fn tls_domain(gateways: &[String]) -> Result<String, String> {
    match gateways {
        [] => Err("no gateway".into()),
        [one] => Ok(one.clone()),
        [first, rest @ ..] => {
            let parent = |h: &str| h.split_once('.').map(|(_, p)| p.to_ascii_lowercase());
            let p = parent(first);
            if p.as_ref().is_some_and(|p| p.contains('.')) && rest.iter().all(|h| parent(h) == p) {
                Ok(format!("*.{}", p.unwrap_or_default()))
            } else {
                Err(format!(
                    "the gateways {} are not all directly under one parent domain, so one \
                     -TlsDomain (a name or *.parent) cannot cover their certificates",
                    gateways.join(", ")
                ))
            }
        }
    }
}

impl Names {
    pub fn new(config: &Config, extra: &Extra) -> Names {
        let host = &config.gateway.hostname;
        let h = &config.headers;
        let gateways = if extra.gateways.is_empty() {
            vec![host.clone()]
        } else {
            extra.gateways.clone()
        };
        let mode = if config.relay.client_auth.is_some() {
            let from_cert = extra
                .cert_names
                .as_ref()
                .and_then(|r| r.as_ref().ok())
                .and_then(|names| names.first().cloned());
            Mode::Certificate(
                extra
                    .cert_domain
                    .clone()
                    .or(from_cert)
                    .unwrap_or_else(|| CERT_PLACEHOLDER.to_owned()),
            )
        } else {
            Mode::Ip
        };
        let sender_ips = if extra.sender_ips.is_empty() {
            vec![SENDER_IP_PLACEHOLDER.to_owned()]
        } else {
            extra.sender_ips.clone()
        };
        Names {
            mode,
            tls_domain: tls_domain(&gateways),
            gateways,
            sender_ips,
            approver: extra
                .approver
                .clone()
                .unwrap_or_else(|| APPROVER_PLACEHOLDER.to_owned()),
            test_recipient: extra
                .test_recipient
                .clone()
                .unwrap_or_else(|| TEST_RECIPIENT_PLACEHOLDER.to_owned()),
            outbound: format!("cordon DLP {host} outbound"),
            inbound: format!("cordon DLP {host} inbound"),
            sanitise_rule: format!("cordon DLP: strip {} not set by {host}", h.inspected),
            route_rule: format!("cordon DLP: route outbound mail through {host}"),
            moderate_rule: format!("cordon DLP: hold quarantined mail for approval ({host})"),
            rule_header_rule: format!("cordon DLP: remove {} from mail leaving ({host})", h.rule),
            inspected: h.inspected.clone(),
            action: h.action.clone(),
            rule_header: h.rule.clone(),
        }
    }
}

/// A PowerShell argument: bare when it is a plain word (host names, addresses, header names),
/// else double-quoted with PowerShell's backtick escapes.
fn ps(value: &str) -> String {
    let plain = !value.is_empty()
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-._@*/:".contains(c))
        && !value.starts_with('-');
    if plain {
        return value.to_owned();
    }
    let mut out = String::from("\"");
    for c in value.chars() {
        if matches!(c, '"' | '`' | '$') {
            out.push('`');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// One argument as written, with the reason it has this value (a comment beside it).
#[derive(Debug, Clone)]
struct Arg {
    name: &'static str,
    text: String,
    note: Option<String>,
}

/// One cmdlet call under construction.
#[derive(Debug, Clone)]
struct Cmd {
    cmdlet: &'static str,
    args: Vec<Arg>,
}

impl Cmd {
    fn new(cmdlet: &'static str) -> Cmd {
        Cmd {
            cmdlet,
            args: Vec::new(),
        }
    }
    fn raw(mut self, name: &'static str, text: String, note: Option<&str>) -> Cmd {
        self.args.push(Arg {
            name,
            text,
            note: note.map(str::to_owned),
        });
        self
    }
    fn s(self, name: &'static str, value: &str) -> Cmd {
        self.raw(name, ps(value), None)
    }
    fn s_why(self, name: &'static str, value: &str, why: &str) -> Cmd {
        self.raw(name, ps(value), Some(why))
    }
    fn list(self, name: &'static str, values: &[String], why: Option<&str>) -> Cmd {
        let text = values.iter().map(|v| ps(v)).collect::<Vec<_>>().join(", ");
        self.raw(name, text, why)
    }
    fn b(self, name: &'static str, value: bool, why: Option<&str>) -> Cmd {
        self.raw(name, if value { "$true" } else { "$false" }.into(), why)
    }
    fn n(self, name: &'static str, value: i32, why: Option<&str>) -> Cmd {
        self.raw(name, value.to_string(), why)
    }
    /// Drops the argument `name` (New- and Set- differ in a few).
    fn without(mut self, name: &str) -> Cmd {
        self.args.retain(|a| a.name != name);
        self
    }
    fn with_first(mut self, name: &'static str, value: &str) -> Cmd {
        self.args.insert(
            0,
            Arg {
                name,
                text: ps(value),
                note: None,
            },
        );
        self
    }

    /// The call at `indent`: one line when no argument carries a note, else one argument a
    /// line with backtick continuations and the note as an inline `<# #>` comment.
    fn render(&self, indent: &str) -> String {
        let arg = |a: &Arg| format!("-{} {}", a.name, a.text);
        if self.args.iter().all(|a| a.note.is_none()) {
            let args: Vec<String> = self.args.iter().map(arg).collect();
            return format!("{indent}{} {}\n", self.cmdlet, args.join(" "));
        }
        let mut s = format!("{indent}{} `\n", self.cmdlet);
        for (i, a) in self.args.iter().enumerate() {
            let _ = write!(s, "{indent}    {}", arg(a));
            if let Some(note) = &a.note {
                let _ = write!(
                    s,
                    " <# {}; {} #>",
                    note.replace("#>", "# >"),
                    reference_url(self.cmdlet, a.name)
                );
            }
            s.push_str(if i + 1 == self.args.len() {
                "\n"
            } else {
                " `\n"
            });
        }
        s
    }
}

/// Where Microsoft's reference documents `param` of `cmdlet`: the cmdlet's page, anchored at
/// the parameter (Microsoft Learn anchors each parameter as `#-name`, lower case).
fn reference_url(cmdlet: &str, param: &str) -> String {
    format!(
        "https://learn.microsoft.com/powershell/module/exchangepowershell/{}#-{}",
        cmdlet.to_ascii_lowercase(),
        param.to_ascii_lowercase()
    )
}

/// `# text` lines wrapped at about 96 columns.
fn comment(s: &mut String, text: &str) {
    for para in text.split('\n') {
        let mut line = String::from("#");
        for word in para.split(' ') {
            if line.len() + word.len() > 96 && line.len() > 2 {
                let _ = writeln!(s, "{line}");
                line = String::from("#  ");
            }
            line.push(' ');
            line.push_str(word);
        }
        let _ = writeln!(s, "{line}");
    }
}

/// `if (Get-X -Identity n) { Set-X -Identity n ... } else { New-X -Name n ... }`: a re-run
/// updates what exists instead of failing on the name.
fn ensure(s: &mut String, get: &'static str, set: Cmd, new: Cmd, name: &str) {
    let _ = writeln!(
        s,
        "if ({get} -Identity {} -ErrorAction SilentlyContinue) {{",
        ps(name)
    );
    s.push_str(&set.with_first("Identity", name).render("    "));
    s.push_str("} else {\n");
    s.push_str(&new.with_first("Name", name).render("    "));
    s.push_str("}\n\n");
}

/// The setup script. `source` names the config it came from, for the header comment.
pub fn script(config: &Config, extra: &Extra, source: &str) -> String {
    let n = Names::new(config, extra);
    let host = &config.gateway.hostname;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "# Exchange Online mail flow for the cordon DLP gateway {host}."
    );
    let _ = writeln!(
        s,
        "# Generated by `cordonctl exchange-setup` from {source}."
    );
    comment(
        &mut s,
        "Run in Exchange Online PowerShell (Connect-ExchangeOnline) as an Exchange \
         administrator. Safe to run again: each object is looked up first and updated if it \
         exists. Nothing routes mail to the gateway until the last step, which asks first.",
    );
    let missing = check::missing(config, extra);
    if !missing.is_empty() {
        let _ = writeln!(s, "#\n# BEFORE RUNNING, replace the <placeholders>:");
        for m in &missing {
            comment(&mut s, &format!("  - {m}"));
        }
    }
    let gw_ranges = n.sender_ips.clone();
    s.push_str("\n$ErrorActionPreference = \"Stop\"\n\n");

    // 1. Pre-flight.
    comment(
        &mut s,
        &format!(
            "1. Pre-flight. A distribution group cannot moderate (ModerateMessageByUser: \
             \"You can't use a distribution group as a moderator\", {}), so the approver must \
             be a mailbox.",
            docs::NEW_RULE
        ),
    );
    let _ = writeln!(
        s,
        "if (-not (Get-Mailbox -Identity {} -ErrorAction SilentlyContinue)) {{ throw {} }}",
        ps(&n.approver),
        ps(&format!(
            "{} is not a mailbox: quarantined mail needs a mailbox to approve it",
            n.approver
        ))
    );
    if let Mode::Certificate(name) = &n.mode {
        let domain = name.trim_start_matches("*.");
        comment(
            &mut s,
            &format!(
                "Seed 004 step 3: the certificate domain {name} must be an accepted domain of \
                 this organization before Exchange attributes the gateway's connections to the \
                 inbound connector. New-AcceptedDomain exists only in on-premises Exchange \
                 ({}); in Exchange Online add and verify the domain in the Microsoft 365 admin \
                 center (Settings > Domains; at most 48 characters), then run this again.",
                docs::ACCEPTED_DOMAIN
            ),
        );
        let _ = writeln!(
            s,
            "if (-not (Get-AcceptedDomain -Identity {} -ErrorAction SilentlyContinue)) {{ throw {} }}",
            ps(domain),
            ps(&format!(
                "add {domain} as a domain in the Microsoft 365 admin center first (seed 004 step 3)"
            ))
        );
    }
    s.push('\n');

    // 2. Outbound connector.
    let tls_domain = n
        .tls_domain
        .clone()
        .unwrap_or_else(|_| "<one TLS domain for every gateway>".to_owned());
    comment(
        &mut s,
        &format!(
            "2. Outbound connector to the gateway{}: used only when a transport rule selects it, \
             delivering to the smart hosts on port 25 (the only port Exchange Online uses) with \
             TLS and a certificate from a public CA for {tls_domain}.",
            if n.gateways.len() > 1 { "s" } else { "" }
        ),
    );
    let outbound = Cmd::new("New-OutboundConnector")
        .s("ConnectorType", "OnPremises")
        .b(
            "IsTransportRuleScoped",
            true,
            Some("only mail the route rule selects uses it"),
        )
        .b(
            "UseMXRecord",
            false,
            Some("deliver to SmartHosts, not to the recipients' MX"),
        )
        .list(
            "SmartHosts",
            &n.gateways,
            Some(if n.gateways.len() > 1 {
                "every gateway: the connector may deliver to any of them"
            } else {
                "the gateway; add more with --gateway for failover"
            }),
        )
        .s_why(
            "TlsSettings",
            "DomainValidation",
            "TLS, CA chain and the name in TlsDomain are all checked",
        )
        .s_why(
            "TlsDomain",
            &tls_domain,
            "the name the gateways' certificates must carry (a name or *.parent)",
        )
        .b(
            "CloudServicesMailEnabled",
            true,
            Some(&format!(
                "keeps the organization headers on the way out, as seed 004 recommends ({})",
                docs::SEED_004
            )),
        );
    let set_outbound = Cmd {
        cmdlet: "Set-OutboundConnector",
        args: outbound.args.clone(),
    };
    ensure(
        &mut s,
        "Get-OutboundConnector",
        set_outbound,
        outbound,
        &n.outbound,
    );

    // 3. Inbound connector.
    let mut inbound = Cmd::new("New-InboundConnector")
        .s_why(
            "ConnectorType",
            "OnPremises",
            "mail from it is the organization's own, relayed back after inspection",
        )
        .s("SenderDomains", "*");
    match &n.mode {
        Mode::Certificate(name) => {
            comment(
                &mut s,
                &format!(
                    "3. Inbound connector for the inspected mail coming back. The gateway \
                     presents its relay client certificate for {name}; Exchange attributes a \
                     connection to this connector only when that certificate is presented \
                     over TLS. RequireTls and RestrictDomainsToCertificate are not set: the \
                     reference says they apply only to Partner connectors ({}).",
                    docs::NEW_INBOUND
                ),
            );
            inbound = inbound.s_why(
                "TlsSenderCertificateName",
                name,
                "the relay client certificate's name, not the gateway's hostname",
            );
        }
        Mode::Ip => {
            comment(
                &mut s,
                &format!(
                    "3. Inbound connector for the inspected mail coming back, recognised by the \
                     gateways' public IPv4 addresses (no relay client certificate is \
                     configured). RequireTls and RestrictDomainsToIPAddresses are not set: \
                     the reference says they apply only to Partner connectors ({}), so they would \
                     promise a TLS check that does not happen. The relay's own tls setting \
                     decides whether this leg is encrypted.",
                    docs::NEW_INBOUND
                ),
            );
            inbound = inbound.list(
                "SenderIPAddresses",
                &n.sender_ips,
                Some("public IPv4, /24 to /32; IPv6 is not supported"),
            );
        }
    }
    inbound = inbound.b(
        "CloudServicesMailEnabled",
        true,
        Some("returning mail is trusted as internal and keeps its organization headers; seed 004"),
    );
    let mut set_inbound = Cmd {
        cmdlet: "Set-InboundConnector",
        args: inbound.args.clone(),
    };
    // A re-run that changes mode must not leave the other mode's recognition behind.
    set_inbound = match &n.mode {
        Mode::Certificate(_) => set_inbound.raw("SenderIPAddresses", "$null".into(), None),
        Mode::Ip => set_inbound.raw("TlsSenderCertificateName", "$null".into(), None),
    };
    ensure(
        &mut s,
        "Get-InboundConnector",
        set_inbound,
        inbound,
        &n.inbound,
    );

    // 4-7. Rules, in priority order so each -Priority is valid when it is created.
    comment(
        &mut s,
        &format!(
            "4. Priority 0: remove {} from every message that does not come from the \
             gateway's address. The gateway's stamp is signed, but Exchange cannot check the \
             signature, so a copy a user adds (SMTP AUTH, Graph sendMail headers, an add-in) \
             must not survive to any later rule or system that reads it. SenderIpRanges is \
             evaluated on the last hop before Exchange Online ({}), which a user cannot choose. \
             One header per rule (RemoveHeader takes one name); the other {} headers decide \
             nothing here: moderation reads {} only from the gateway's address, and the gateway \
             removes every copy a sender supplies.",
            n.inspected,
            docs::NEW_RULE,
            n.inspected.split('-').take(2).collect::<Vec<_>>().join("-") + "-*",
            n.action
        ),
    );
    let sanitise = Cmd::new("New-TransportRule")
        .n(
            "Priority",
            0,
            Some("before every other rule; a new rule would otherwise go last"),
        )
        .list(
            "ExceptIfSenderIpRanges",
            &gw_ranges,
            Some("the gateways' egress addresses: the return leg keeps its stamp"),
        )
        .s("RemoveHeader", &n.inspected);
    rule(&mut s, &n.sanitise_rule, sanitise);

    comment(
        &mut s,
        &format!(
            "5. Priority 1: route mail from the organization to outside recipients through the \
             gateway, except mail coming back from the gateway's address. There is no exception \
             on the {} header: exceptions are OR'd ({}), so a header exception would let any \
             user who adds the header skip inspection. StopRuleProcessing keeps later rules \
             (redirects, encryption, other rules' StopRuleProcessing) from acting before \
             inspection; they run when the message comes back. Created disabled: the last step \
             enables it, after the return leg is verified.",
            n.inspected,
            docs::RULES
        ),
    );
    let route = Cmd::new("New-TransportRule")
        .n(
            "Priority",
            1,
            Some("after the sanitiser, before any rule of the organization"),
        )
        .s("FromScope", "InOrganization")
        .s("SentToScope", "NotInOrganization")
        .list(
            "ExceptIfSenderIpRanges",
            &gw_ranges,
            Some("the return leg: the last hop is the gateway itself"),
        )
        .s("RouteMessageOutboundConnector", &n.outbound)
        .b("StopRuleProcessing", true, None);
    let route_set = route
        .clone()
        // A script of an earlier version added a header exception; a re-run removes it.
        .raw(
            "ExceptIfHeaderMatchesMessageHeader",
            "$null".into(),
            Some("clears the forgeable header exception earlier versions added"),
        )
        .raw("ExceptIfHeaderMatchesPatterns", "$null".into(), None);
    let route_new = route.b(
        "Enabled",
        false,
        Some("enabled last, once connectors and moderation are in place"),
    );
    let _ = writeln!(
        s,
        "if (Get-TransportRule -Identity {} -ErrorAction SilentlyContinue) {{",
        ps(&n.route_rule)
    );
    s.push_str(
        &Cmd {
            cmdlet: "Set-TransportRule",
            args: route_set.args,
        }
        .with_first("Identity", &n.route_rule)
        .render("    "),
    );
    s.push_str("} else {\n");
    s.push_str(&route_new.with_first("Name", &n.route_rule).render("    "));
    s.push_str("}\n\n");

    comment(
        &mut s,
        &format!(
            "6. Priority 2: hold mail the gateway marked `{}: Quarantine` until {} approves it; \
             rejected or unanswered mail goes back to the sender. Scoped to the gateway's \
             address, so internet mail carrying the header is not held (an outsider cannot fill \
             the approver's queue). The pattern is anchored: an unanchored \"Quarantine\" \
             matches any value containing the word.",
            n.action, n.approver
        ),
    );
    let moderate = Cmd::new("New-TransportRule")
        .n("Priority", 2, None)
        .list(
            "SenderIpRanges",
            &gw_ranges,
            Some("only the gateway's verdict counts"),
        )
        .s("HeaderMatchesMessageHeader", &n.action)
        .s_why(
            "HeaderMatchesPatterns",
            "^Quarantine$",
            "a regular expression; anchored to the whole value",
        )
        .s_why(
            "ModerateMessageByUser",
            &n.approver,
            "one mailbox; a distribution group cannot moderate",
        );
    rule(&mut s, &n.moderate_rule, moderate);

    let mut step = 7;
    if !extra.keep_rule_header {
        comment(
            &mut s,
            &format!(
                "{step}. Priority 3: remove {} (the policy rule's name) from inspected mail \
                 leaving the organization, so external recipients do not learn policy names. \
                 (--keep-rule-header leaves it.)",
                n.rule_header
            ),
        );
        let strip = Cmd::new("New-TransportRule")
            .n("Priority", 3, None)
            .list("SenderIpRanges", &gw_ranges, None)
            .s("SentToScope", "NotInOrganization")
            .s("RemoveHeader", &n.rule_header);
        rule(&mut s, &n.rule_header_rule, strip);
        step += 1;
    }

    comment(
        &mut s,
        &format!(
            "{step}. Verify before any mail is routed. Rules take up to 30 minutes to apply \
             ({}). Validate-OutboundConnector connects to each smart host and sends a test \
             message through the connector ({}).",
            docs::RULES,
            docs::VALIDATE
        ),
    );
    let _ = writeln!(
        s,
        "Get-OutboundConnector -Identity {} | Format-List -Property Name,Enabled,ConnectorType,IsTransportRuleScoped,UseMXRecord,SmartHosts,TlsSettings,TlsDomain,CloudServicesMailEnabled",
        ps(&n.outbound)
    );
    let recognition = match n.mode {
        Mode::Certificate(_) => "TlsSenderCertificateName",
        Mode::Ip => "SenderIPAddresses",
    };
    let _ = writeln!(
        s,
        "Get-InboundConnector -Identity {} | Format-List -Property Name,Enabled,ConnectorType,SenderDomains,{recognition},CloudServicesMailEnabled",
        ps(&n.inbound)
    );
    let mut rules = vec![&n.sanitise_rule, &n.route_rule, &n.moderate_rule];
    if !extra.keep_rule_header {
        rules.push(&n.rule_header_rule);
    }
    for r in &rules {
        let _ = writeln!(
            s,
            "Get-TransportRule -Identity {} | Format-List -Property Name,Priority,State,Mode,Description",
            ps(r)
        );
    }
    let _ = writeln!(
        s,
        "Validate-OutboundConnector -Identity {} -Recipients {}",
        ps(&n.outbound),
        ps(&n.test_recipient)
    );
    s.push('\n');
    step += 1;

    comment(
        &mut s,
        &format!(
            "{step}. Start routing. Before answering, send the forged-header test of \
             docs/exchange.md (\"Verify that mail cannot skip the gateway\"): a message from a \
             user carrying `{}: true; by={host}` must still reach the gateway. From here on \
             the route rule decides: if every gateway is down, Exchange queues outbound mail \
             and retries (fail-closed). Break-glass (fail-open, mail leaves uninspected): \
             Disable-TransportRule -Identity {}",
            n.inspected,
            ps(&n.route_rule)
        ),
    );
    let _ = writeln!(
        s,
        "if ((Read-Host -Prompt \"Type ENABLE to route outbound mail through the gateway\") -eq \"ENABLE\") {{"
    );
    let _ = writeln!(
        s,
        "    Enable-TransportRule -Identity {}",
        ps(&n.route_rule)
    );
    s.push_str("}\n\n");

    comment(
        &mut s,
        "ROLLBACK. Dot-source this script (. .\\setup.ps1) or paste this function, then run \
         Undo-CordonDlpSetup. It disables the route rule first, so mail stops going to the \
         gateway before anything it relies on is removed; let mail already at the gateway \
         come back (its queue empties) before running it, or quarantined mail in flight is \
         delivered unheld.",
    );
    let _ = writeln!(s, "function Undo-CordonDlpSetup {{");
    let _ = writeln!(
        s,
        "    Disable-TransportRule -Identity {} -Confirm:$false",
        ps(&n.route_rule)
    );
    let mut undo_rules = vec![&n.route_rule, &n.moderate_rule];
    if !extra.keep_rule_header {
        undo_rules.push(&n.rule_header_rule);
    }
    undo_rules.push(&n.sanitise_rule);
    for r in undo_rules {
        let _ = writeln!(
            s,
            "    Remove-TransportRule -Identity {} -Confirm:$false",
            ps(r)
        );
    }
    let _ = writeln!(
        s,
        "    Remove-InboundConnector -Identity {} -Confirm:$false",
        ps(&n.inbound)
    );
    let _ = writeln!(
        s,
        "    Remove-OutboundConnector -Identity {} -Confirm:$false",
        ps(&n.outbound)
    );
    s.push_str("}\n");
    s
}

/// A transport rule created or updated in place (`Set-TransportRule` takes the same
/// conditions and actions; `-Enabled` exists only on `New-TransportRule`).
fn rule(s: &mut String, name: &str, new: Cmd) {
    let set = Cmd {
        cmdlet: "Set-TransportRule",
        args: new.clone().without("Enabled").args,
    };
    ensure(s, "Get-TransportRule", set, new, name);
}

/// The script's commands as JSON: what `--json` prints. Built by reading the script back, so
/// the JSON and the PowerShell cannot disagree.
pub fn json(config: &Config, extra: &Extra, source: &str) -> Result<serde_json::Value, CtlError> {
    let text = script(config, extra, source);
    let commands = ps::parse(&text)?;
    let names = Names::new(config, extra);
    Ok(serde_json::json!({
        "source": source,
        "mode": match &names.mode {
            Mode::Certificate(n) => serde_json::json!({ "certificate": n }),
            Mode::Ip => serde_json::json!({ "ip": names.sender_ips }),
        },
        "gateways": names.gateways,
        "missing": check::missing(config, extra),
        "commands": commands.iter().map(|c| serde_json::json!({
            "cmdlet": c.cmdlet,
            "parameters": c.args.iter().map(|(k, v)| (k.clone(), serde_json::to_value(v).unwrap_or_default())).collect::<serde_json::Map<_, _>>(),
            "line": c.line,
            "function": c.function,
        })).collect::<Vec<_>>(),
    }))
}

/// Every problem the reference table finds in the script (empty: all commands check out).
pub fn validate(text: &str) -> Result<Vec<String>, CtlError> {
    let table = reference::Table::load()?;
    Ok(ps::parse(text)?
        .iter()
        .flat_map(|inv| {
            table
                .check(inv)
                .into_iter()
                .map(move |p| format!("line {}: {p}", inv.line))
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_tls_domain_covers_every_gateway_or_none_is_given() {
        let g = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            tls_domain(&g(&["dlp1.contoso.com"])),
            Ok("dlp1.contoso.com".into())
        );
        assert_eq!(
            tls_domain(&g(&["dlp1.contoso.com", "DLP2.Contoso.com"])),
            Ok("*.contoso.com".into())
        );
        let apart = |list: &str| {
            Err(format!(
                "the gateways {list} are not all directly under one parent domain, so one \
                 -TlsDomain (a name or *.parent) cannot cover their certificates"
            ))
        };
        assert_eq!(
            tls_domain(&g(&["dlp1.contoso.com", "dlp.fabrikam.net"])),
            apart("dlp1.contoso.com, dlp.fabrikam.net")
        );
        // A wildcard one label below a public suffix would be no check at all.
        assert_eq!(
            tls_domain(&g(&["contoso.com", "fabrikam.com"])),
            apart("contoso.com, fabrikam.com")
        );
        assert_eq!(tls_domain(&[]), Err("no gateway".into()));
    }

    #[test]
    fn arguments_are_quoted_so_powershell_reads_them_back_unchanged() {
        for value in [
            "dlp1.contoso.com",
            "a b",
            "^Quarantine$",
            "say \"hi\"",
            "back`tick",
            "-x",
        ] {
            let line = format!("Get-Mailbox -Identity {}", ps(value));
            let inv = ps::parse(&line).unwrap();
            assert_eq!(
                inv[0].get("Identity"),
                Some(&ps::Value::Str(value.into())),
                "{line}"
            );
        }
        assert_eq!(ps("dlp1.contoso.com"), "dlp1.contoso.com");
        assert_eq!(ps("^Quarantine$"), "\"^Quarantine`$\"");
    }
}
