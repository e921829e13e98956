//! The context every reader of embedded files works in: the detectors, the
//! limits, the findings being accumulated, the text pipe that carries
//! extracted text to the detectors, and the message-wide inflate budget.
//!
//! It lives apart from the readers so that none of them depends on
//! another for it: the archive levels (`zip.rs`: ZIP, gzip, tar), the PDF
//! reader (`pdf/`) and the OLE reader (`ole/`) each take a `Ctx`, and the
//! dispatch that lends one reader to another lives with the archive levels.

use crate::detect::Detectors;
use crate::findings::Acc;
use crate::limits::Limits;
use crate::text::TextPipe;

/// What a reader needs from the rest of the engine while it reads.
pub(crate) struct Ctx<'a> {
    pub(crate) det: &'a Detectors,
    pub(crate) limits: &'a Limits,
    pub(crate) acc: &'a mut Acc,
    pub(crate) text: &'a mut TextPipe,
    /// Bytes inflated so far in this message (archives and PDF streams
    /// share one budget, [`Limits::max_inflated_bytes`]).
    pub(crate) inflated: &'a mut u64,
    /// Type refined from entry names of the outermost archive.
    pub(crate) detected: &'a mut &'static str,
}
