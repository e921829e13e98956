//! What the session's input is at this moment. The ingest loop ([`super::ingest`]) reads once
//! per turn and hands the bytes to the step of the current [`State`]; the verbs only switch it
//! (DATA and BDAT to their body, a finished body back to commands), so no verb reads on its
//! own.

use super::*;

/// The explicit state of the upstream input (Stalwart's `State`, without SASL).
#[derive(Debug)]
pub(super) enum State {
    /// Command lines, each dispatched to its verb.
    Command,
    /// The rest of a command line longer than any command may be, skipped up to its LF; then
    /// `500 5.5.2` and back to [`State::Command`].
    SkipLine,
    /// DATA's message body until CRLF.CRLF, through its receiver into the slot.
    Data {
        rx: BodyReceiver,
        /// Octets read in this body, against [`DISCARD_FACTOR`] times the size limit.
        raw: usize,
    },
    /// The rest of a BDAT chunk (RFC 3030): `remaining` octets, into the transaction's
    /// receiver unless the chunk is read only to be refused with `refusal`.
    Bdat {
        size: u64,
        last: bool,
        remaining: usize,
        refusal: Option<Reply>,
    },
}

impl State {
    /// What a read in this state waits for: a command line's deadline, or the data phase's.
    pub(super) fn wait(&self) -> Wait {
        match self {
            State::Command | State::SkipLine => Wait::Command,
            State::Data { .. } | State::Bdat { .. } => Wait::Data,
        }
    }
}

/// What an ingest step needs next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Next {
    /// The buffered input may hold more for the (possibly new) state.
    Ingest,
    /// Everything buffered is used: read more.
    Read,
}
