//! The server's own bounds. The protocol's bounds (frame and blob sizes) are in
//! `cordon_wire::limits`.

use std::time::Duration;

/// Connections served at once per listener. Each may stage a blob up to its kind's limit
/// (a 50 MiB message to scan at worst), so this bounds the config port's memory; an admin
/// port needs a handful of sessions, not hundreds. Further clients wait in the backlog.
pub const MAX_CONNECTIONS: usize = 4;

/// Bytes read from the transport per call: a third of a frame, small enough to stay on the
/// task's stack, large enough that a full chunk upload takes only a few reads.
pub const READ_LEN: usize = 4096;

/// A connection silent for this long (and not following incidents) is closed, so an
/// abandoned client cannot keep one of the [`MAX_CONNECTIONS`] slots forever. Long enough
/// for an admin reading a status table before typing the next command on the console.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(15 * 60);

/// A TLS client must finish its handshake within this time, or its slot is freed.
pub const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// A stalled peer (a full socket buffer, a serial line with flow control stuck) may block a
/// write for this long before the connection is dropped.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(30);

/// Pause before reopening a serial device that reported EOF or an error (a PTY whose other
/// end closed, a USB adapter unplugged), so a dead device does not spin the CPU.
pub const SERIAL_REOPEN_DELAY: Duration = Duration::from_secs(1);

/// Incidents fetched per backlog page while catching a follower up; the wire page bound.
pub const FOLLOW_PAGE: usize = cordon_wire::limits::MAX_INCIDENTS_PER_PAGE;
