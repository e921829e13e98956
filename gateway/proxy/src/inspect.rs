//! The inspection hook: where the DLP engine and the policies plug into the message path.
//!
//! A session owns one [`Inspector`] for its whole life and feeds it the message as it arrives,
//! so a verdict is ready when the last byte is in. The verdict may only add headers, change the
//! envelope or refuse the message: the body is relayed as received (DKIM and S/MIME survive).

use std::fmt::Debug;
use std::net::IpAddr;

use cordon_smtp::address::Path;
use cordon_smtp::reply::Reply;

/// What the session knows about a message when it asks for a verdict.
#[derive(Debug)]
pub struct Envelope<'a> {
    pub session: &'a str,
    pub client: IpAddr,
    pub helo: &'a str,
    pub mail_from: &'a Path,
    pub rcpts: &'a [Path],
    pub tls: bool,
}

/// What to do with a message, and a notification sent after it: the verdict function's own
/// types ([`cordon_policy::judge`]), so the session, the dry runs and the policy share one.
pub use cordon_policy::{Notification, Outcome as Verdict};

/// Per-session inspection state.
pub trait Inspector: Send + Debug {
    /// The next piece of the message as received (after dot-unstuffing).
    fn feed(&mut self, chunk: &[u8]);
    /// The whole message is in; decide.
    fn finish(&mut self, envelope: &Envelope<'_>, message: &[u8]) -> Verdict;
    /// The persistent incident log's answer for the last verdict's incidents, if it raised
    /// any; taken once. The session awaits it before relaying or refusing the message, and
    /// answers 451 4.3.0 when it is an error.
    fn journaled(&mut self) -> Option<tokio::sync::oneshot::Receiver<crate::incident_log::Ack>> {
        None
    }
    /// What the downstream finally answered for a message that was relayed.
    fn outcome(&mut self, _reply: &Reply) {}
    /// Notifications the last verdict asked for; taken once.
    fn notifications(&mut self) -> Vec<Notification> {
        Vec::new()
    }
    /// Forget the current message (RSET, or after the verdict).
    fn reset(&mut self);
}

/// Makes one [`Inspector`] per session.
pub trait InspectorFactory: Send + Sync + Debug {
    fn inspector(&self) -> Box<dyn Inspector>;
}
