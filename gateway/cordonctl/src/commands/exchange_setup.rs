//! `exchange-setup`: the Exchange Online PowerShell that routes mail through this gateway
//! (or fleet), from a config file or the running config. The generator, its reader, the
//! cmdlet reference and the rule evaluator are the library's [`cordonctl::exchange`]; this
//! module gathers their inputs and decides what is printed.

use std::path::{Path, PathBuf};

use cordonctl::{exchange, CtlError};

use crate::port::{json, read, Port};

#[derive(Debug, Clone, clap::Args)]
pub(crate) struct ExchangeArgs {
    /// The config to describe; without it, the running config is fetched.
    #[arg(long, value_name = "FILE")]
    pub(crate) config: Option<PathBuf>,
    /// The one mailbox that approves quarantined mail (a distribution group cannot).
    #[arg(long, value_name = "ADDRESS")]
    pub(crate) approver: Option<String>,
    /// A gateway's public egress IPv4 address (repeat for each gateway): the return leg is
    /// recognised by it.
    #[arg(long = "sender-ip", value_name = "IP")]
    pub(crate) sender_ips: Vec<String>,
    /// A gateway host Exchange delivers to (repeat for each gateway; default: the config's
    /// hostname).
    #[arg(long = "gateway", value_name = "HOST")]
    pub(crate) gateways: Vec<String>,
    /// The certificate domain the inbound connector expects (default: the first DNS name of
    /// the relay client certificate).
    #[arg(long, value_name = "NAME")]
    pub(crate) cert_domain: Option<String>,
    /// A local copy of the relay client certificate (default: the path in the config).
    #[arg(long, value_name = "FILE")]
    pub(crate) client_cert: Option<PathBuf>,
    /// An external address for Validate-OutboundConnector's test message.
    #[arg(long, value_name = "ADDRESS")]
    pub(crate) test_recipient: Option<String>,
    /// A NAT or load balancer forwards port 25 to the gateway's listener.
    #[arg(long)]
    pub(crate) port25_forwarder: bool,
    /// Keep the policy rule's name header on mail leaving the organization.
    #[arg(long)]
    pub(crate) keep_rule_header: bool,
    /// Only check that the config and inputs can work with Exchange Online (exit 1 if not).
    #[arg(long)]
    pub(crate) check: bool,
}

/// Prints the script (or, with `--check`, what stops this config from working with Exchange
/// Online), from `--config` or the running config.
pub(crate) async fn exchange_setup(
    port: &Port,
    as_json: bool,
    args: &ExchangeArgs,
) -> Result<(), CtlError> {
    let (text, source) = match &args.config {
        Some(path) => (
            String::from_utf8(read(path)?).map_err(|source| CtlError::NotUtf8 {
                path: path.clone(),
                source,
            })?,
            // The file name only: the script does not depend on where it was run.
            path.file_name().map_or_else(
                || path.display().to_string(),
                |n| n.to_string_lossy().into_owned(),
            ),
        ),
        None => {
            let mut client = port.connect().await?;
            let (generation, text) = client.get_config().await?;
            (
                text,
                format!("the running config (generation {generation})"),
            )
        }
    };
    let parsed = match cordon_config::parse(&text, Path::new(&source)) {
        Ok(c) => c,
        Err(e) => {
            eprint!("{}", e.report());
            return Err(CtlError::Config(e));
        }
    };
    let cert_names = parsed.relay.client_auth.as_ref().map(|auth| {
        let path = args.client_cert.as_ref().unwrap_or(&auth.certificate.path);
        std::fs::read(path)
            .map_err(|e| format!("{}: {e}", path.display()))
            .and_then(|pem| exchange::check::cert_dns_names(&pem))
    });
    let extra = exchange::Extra {
        approver: args.approver.clone(),
        sender_ips: args.sender_ips.clone(),
        gateways: args.gateways.clone(),
        cert_domain: args.cert_domain.clone(),
        cert_names,
        test_recipient: args.test_recipient.clone(),
        port25_forwarder: args.port25_forwarder,
        keep_rule_header: args.keep_rule_header,
    };
    let script = exchange::script(&parsed, &extra, &source);
    // The script is read back and checked against the cmdlet reference before anyone sees it.
    let script_problems = exchange::validate(&script)?;
    // With every value known, the evaluator runs the generated rules over forged headers: a
    // script that would let a user's message out uninspected is never printed.
    let mut rule_problems = Vec::new();
    if exchange::check::missing(&parsed, &extra).is_empty() {
        let names = exchange::Names::new(&parsed, &extra);
        let cert = match &names.mode {
            exchange::Mode::Certificate(c) => Some(c.clone()),
            exchange::Mode::Ip => None,
        };
        let gateways: Vec<(std::net::IpAddr, Option<String>)> = args
            .sender_ips
            .iter()
            .filter_map(|ip| ip.split('/').next()?.parse().ok())
            .map(|ip| (ip, cert.clone()))
            .collect();
        let invs = exchange::ps::parse(&script)?;
        // A value the evaluator cannot read (an unparsable --sender-ip) is a finding too.
        rule_problems = exchange::eval::bypass_check(&invs, &names, &gateways)
            .unwrap_or_else(|e| vec![e.to_string()]);
    }
    if args.check {
        let mut findings = exchange::check::check(&parsed, &extra);
        findings.extend(
            script_problems
                .into_iter()
                .map(|p| exchange::check::Finding {
                    severity: exchange::check::Severity::Problem,
                    reason: format!("generated script: {p}"),
                }),
        );
        findings.extend(rule_problems.iter().map(|p| exchange::check::Finding {
            severity: exchange::check::Severity::Problem,
            reason: format!("generated rules: {p}"),
        }));
        let problems = findings
            .iter()
            .filter(|f| f.severity == exchange::check::Severity::Problem)
            .count();
        if as_json {
            json(&serde_json::json!({ "ok": problems == 0, "findings": findings }));
        } else {
            for f in &findings {
                let tag = match f.severity {
                    exchange::check::Severity::Problem => "problem",
                    exchange::check::Severity::Warning => "warning",
                };
                println!("{tag}: {}", f.reason);
            }
            if problems == 0 {
                println!("ok: this config can work with Exchange Online");
            }
        }
        return if problems == 0 {
            Ok(())
        } else {
            Err(CtlError::Incomplete)
        };
    }
    if let Some(first) = script_problems.first() {
        return Err(CtlError::Script {
            line: 0,
            reason: first.clone(),
        });
    }
    if let Some(first) = rule_problems.first() {
        return Err(CtlError::Evaluate(first.clone()));
    }
    if as_json {
        json(&exchange::json(&parsed, &extra, &source)?);
    } else {
        print!("{script}");
    }
    Ok(())
}
