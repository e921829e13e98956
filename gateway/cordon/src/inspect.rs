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

/// A message the inspector wants sent downstream after the verdict, as its own transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    pub to: String,
    /// The whole RFC 5322 message.
    pub message: Vec<u8>,
}

/// What to do with a message. The headers include the inspected stamp, first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Relay it, adding these header fields (name, value) under the `Received:` line.
    Deliver { headers: Vec<(String, String)> },
    /// Relay it only to `to` (a compliance mailbox) instead of the envelope's recipients, adding
    /// these header fields.
    Redirect {
        to: String,
        headers: Vec<(String, String)>,
    },
    /// Refuse it with this reply; nothing goes downstream.
    Reject(Reply),
}

/// Per-session inspection state.
pub trait Inspector: Send + Debug {
    /// The next piece of the message as received (after dot-unstuffing).
    fn feed(&mut self, chunk: &[u8]);
    /// The whole message is in; decide.
    fn finish(&mut self, envelope: &Envelope<'_>, message: &[u8]) -> Verdict;
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
