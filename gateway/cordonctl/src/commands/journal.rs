//! `incidents verify [--anchor wN:SEQ:TAG]`: each worker's journal checked on the appliance:
//! the range it holds, whether its chain verifies (or the first broken record), and the last
//! tag to export as the anchor that a later `--anchor` checks tail loss against.

use cordon_wire::{AnchorOutcome, JournalAnchor, JournalReport, Request, Response};
use cordonctl::CtlError;

use crate::port::{json, unexpected, Port};
use crate::time;

/// Hex of a tag, as printed and as `--anchor` takes it.
fn hex(tag: &[u8; 32]) -> String {
    tag.iter().map(|b| format!("{b:02x}")).collect()
}

/// `w0:40:<64 hex digits>` (or `40:<hex>` for worker 0).
pub(crate) fn parse_anchor(s: &str) -> Result<JournalAnchor, String> {
    let bad = || format!("{s:?} is not an anchor (w0:SEQ:TAG, as `incidents verify` prints it)");
    let (at, tag) = s.rsplit_once(':').ok_or_else(bad)?;
    let at = super::incidents::parse_id(at).map_err(|_| bad())?;
    if tag.len() != 64 || !tag.is_ascii() {
        return Err(bad());
    }
    let mut out = [0u8; 32];
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(&tag[2 * i..2 * i + 2], 16).map_err(|_| bad())?;
    }
    Ok(JournalAnchor {
        worker: at.worker,
        seq: at.seq,
        tag: out,
    })
}

/// One journal's report as text; the second value says whether it passes.
fn describe(r: &JournalReport) -> (String, bool) {
    let w = r.worker;
    let mut out = String::new();
    let mut ok = true;
    if let Some(e) = &r.error {
        return (format!("w{w}: cannot verify: {e}\n"), false);
    }
    match (r.first_seq, r.last_seq) {
        (Some(a), Some(b)) => {
            let t = |x: Option<u64>| x.map_or("-".to_owned(), time::rfc3339);
            out.push_str(&format!(
                "w{w}: records w{w}:{a}..w{w}:{b} ({} .. {})\n",
                t(r.first_time_unix),
                t(r.last_time_unix)
            ));
        }
        _ => out.push_str(&format!("w{w}: no records\n")),
    }
    match &r.broken {
        None => out.push_str(&format!("w{w}: chain verifies\n")),
        Some(b) => {
            ok = false;
            let found = b
                .found
                .map(|f| format!(" (found w{w}:{f})"))
                .unwrap_or_default();
            out.push_str(&format!(
                "w{w}: chain BROKEN at record w{w}:{}: {:?}{found}, {} byte {}\n",
                b.seq, b.kind, b.file, b.offset
            ));
        }
    }
    if r.torn_tail_bytes > 0 {
        out.push_str(&format!(
            "w{w}: {} bytes of an unfinished append at the end (never acknowledged)\n",
            r.torn_tail_bytes
        ));
    }
    if let (Some(last), Some(tag)) = (r.last_seq, r.last_tag) {
        out.push_str(&format!("w{w}: anchor w{w}:{last}:{}\n", hex(&tag)));
    }
    if let Some(a) = r.anchor {
        let text = match a {
            AnchorOutcome::Matches => "matches: no tail loss".to_owned(),
            AnchorOutcome::TailLost { last_held } => {
                ok = false;
                format!(
                    "TAIL LOST: the journal ends at {} before the anchor",
                    last_held.map_or("-".to_owned(), |s| format!("w{w}:{s}"))
                )
            }
            AnchorOutcome::TagDiffers => {
                ok = false;
                "TAG DIFFERS: the tail was rewritten".to_owned()
            }
            AnchorOutcome::BeforeRange => {
                "before the range held (dropped by retention): not checkable".to_owned()
            }
            AnchorOutcome::NotReached => {
                ok = false;
                "NOT REACHED: the chain breaks before it".to_owned()
            }
        };
        out.push_str(&format!("w{w}: exported anchor {text}\n"));
    }
    (out, ok)
}

pub(crate) async fn verify(
    port: &Port,
    as_json: bool,
    anchor: Option<JournalAnchor>,
) -> Result<(), CtlError> {
    let mut client = port.connect().await?;
    let mut worker = 0u16;
    let mut failed = Vec::new();
    let mut reports = Vec::new();
    loop {
        let report = match client
            .call(Request::VerifyIncidents { worker, anchor })
            .await?
        {
            Response::IncidentsVerified { report } => report,
            other => return Err(unexpected(other)),
        };
        let Some(r) = report else { break };
        let (text, ok) = describe(&r);
        if !ok {
            failed.push(format!("w{}", r.worker));
        }
        if as_json {
            let mut v = serde_json::to_value(&r).unwrap_or_default();
            if let Some(o) = v.as_object_mut() {
                o.insert("ok".into(), ok.into());
                o.insert("last_tag".into(), r.last_tag.map(|t| hex(&t)).into());
                if let (Some(s), Some(t)) = (r.last_seq, r.last_tag) {
                    let a = format!("w{}:{s}:{}", r.worker, hex(&t));
                    o.insert("anchor_to_export".into(), a.into());
                }
            }
            reports.push(v);
        } else {
            print!("{text}");
        }
        match r.next {
            Some(n) if n > r.worker => worker = n,
            _ => break,
        }
    }
    if as_json {
        json(&serde_json::Value::Array(reports));
    }
    if failed.is_empty() {
        Ok(())
    } else {
        Err(CtlError::Unverified(failed.join(", ")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_anchor_reads_back_as_printed() {
        let tag = [0xAB; 32];
        let a = parse_anchor(&format!("w2:40:{}", hex(&tag))).unwrap();
        assert_eq!((a.worker, a.seq, a.tag), (2, 40, tag));
        let a = parse_anchor(&format!("7:{}", hex(&tag))).unwrap();
        assert_eq!((a.worker, a.seq), (0, 7));
        assert!(parse_anchor("w0:40:abc")
            .unwrap_err()
            .contains("not an anchor"));
        assert!(parse_anchor(&format!("x0:40:{}", hex(&tag)))
            .unwrap_err()
            .contains("not an anchor"));
    }
}
