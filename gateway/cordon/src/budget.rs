//! The memory budget of a config on a board: what `cordon supervise` checks before it starts
//! any worker and `cordon check-config --board` reports first, computed in one place.

use cordon_config::{Config, SlotClass};
use cordon_proxy::pool::Pool;

use crate::error::Error;

/// What `config` takes in memory on `board` (every worker's sessions, slot classes, incident
/// ring and EDM reserve), or [`Error::OverBudget`] when that exceeds the board's memory:
/// `cordon supervise` refuses to start, and `cordon check-config --board` says so first.
pub fn board_budget(config: &Config, board: &cordon_supervisor::Board) -> Result<u64, Error> {
    let workers = board.data_cores.len().max(1);
    let per_worker = config.gateway.max_sessions.div_ceil(workers);
    let classes = &config.gateway.slot_classes;
    let edm = crate::edm::worker_reserve(config);
    let budget: u64 = (0..workers)
        .map(|i| {
            let share = SlotClass::share(classes, i, workers);
            Pool::budget_for(per_worker, &share, config.policy.incident_ring) as u64 + edm
        })
        .sum();
    if budget > board.memory_mib * 1024 * 1024 {
        return Err(Error::OverBudget {
            budget_mib: budget >> 20,
            detail: format!(
                "{workers} workers, the first {}",
                Pool::describe_budget(
                    per_worker,
                    &SlotClass::share(classes, 0, workers),
                    config.policy.incident_ring
                ),
            ),
            board_mib: board.memory_mib,
        });
    }
    Ok(budget)
}
