//! What `cordon supervise` tells each worker through its environment. The supervisor side
//! ([`crate::boot`]) sets these and the config port ([`crate::config_port`]) reads them; both
//! import them from here, so neither imports the other for them.

/// Whom to ask for a fleet-wide reload (SIGHUP) or a rolling restart (SIGUSR1).
pub const SUPERVISOR_PID: &str = "CORDON_SUPERVISOR_PID";
/// How many workers there are.
pub const WORKERS: &str = "CORDON_WORKERS";
/// The descriptor of the shared counters region (`cordon_platform::shared`).
pub const METRICS_FD: &str = "CORDON_METRICS_FD";
/// The board profile's name.
pub const BOARD: &str = "CORDON_BOARD";
