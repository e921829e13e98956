//! The memory and `/data` budgets of a config on a board: what `cordon supervise` checks
//! before it starts any worker and `cordon check-config --board` reports first, computed in
//! one place.

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

/// What `/data` holds besides the incident journals and EDM tables: the config store's two
/// slots (at most 64 KiB of TOML each plus the stamp key), the TLS certificate and key, a file
/// config's stamp key, the reboot request: 4 MiB leaves room for all of them many times over.
pub const DATA_FIXED_BYTES: u64 = 4 << 20;

/// ext4 as `x-systemd.makefs` makes it keeps 5% for root (cordon is not root), about 2% for
/// inode tables and bitmaps, and a journal: what a config may use is 90% of the partition less
/// [`DATA_JOURNAL_BYTES`].
pub const DATA_USABLE_PERCENT: u64 = 90;

/// ext4's journal on partitions of 512 MiB to 1 GiB (mke2fs picks 16 MiB there).
pub const DATA_JOURNAL_BYTES: u64 = 16 << 20;

/// What a config puts on `/data` on a board, and how much of the board's partition it may use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataBudget {
    /// Bytes the config may write: every worker's journal, the EDM tables, the fixed files.
    pub need: u64,
    /// What each part is, for a person.
    pub detail: String,
    /// Bytes of the partition a config may use, with the board's `data_mib`; `None`: the board
    /// does not say (not checked).
    pub usable: Option<(u64, u64)>,
}

/// `/data` for `config` on `board`; [`Error::OverData`] when the board's partition is too small.
pub fn data_budget(config: &Config, board: &cordon_supervisor::Board) -> Result<DataBudget, Error> {
    let workers = board.data_cores.len().max(1) as u64;
    let journals = workers * config.incidents.total_bytes;
    let need = journals + config.edm.storage_bytes + DATA_FIXED_BYTES;
    let detail = format!(
        "{workers} incident journals of {} MiB, {} MiB of EDM tables, {} MiB of config store and TLS files",
        config.incidents.total_bytes >> 20,
        config.edm.storage_bytes >> 20,
        DATA_FIXED_BYTES >> 20
    );
    let usable = board.data_mib.map(|mib| {
        let bytes = mib << 20;
        (
            (bytes.saturating_mul(DATA_USABLE_PERCENT) / 100).saturating_sub(DATA_JOURNAL_BYTES),
            mib,
        )
    });
    if let Some((room, mib)) = usable {
        if need > room {
            return Err(Error::OverData {
                need_mib: need.div_ceil(1 << 20),
                detail,
                room_mib: room >> 20,
                data_mib: mib,
            });
        }
    }
    Ok(DataBudget {
        need,
        detail,
        usable,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn board() -> cordon_supervisor::Board {
        cordon_supervisor::Board::load(std::path::Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../board/qemu-virt-aarch64/board.toml"
        )))
        .unwrap()
    }

    fn config(extra: &str) -> Config {
        let text = format!(
            "[gateway]\nhostname = \"dlp1.contoso.com\"\nlisten = [\"127.0.0.1:2525\"]\n\n[relay]\nsmarthosts = [\"smtp://127.0.0.1:25\"]\ntls = \"none\"\n{extra}"
        );
        cordon_config::parse(&text, std::path::Path::new("/tmp/cordon.toml")).unwrap()
    }

    #[test]
    fn the_default_config_fits_the_qemu_boards_data_partition() {
        let d = data_budget(&config(""), &board()).unwrap();
        // Three 64 MiB journals, 256 MiB of EDM tables, 4 MiB fixed.
        assert_eq!(d.need, (3 * 64 + 256 + 4) << 20);
        let (room, mib) = d.usable.unwrap();
        assert_eq!(mib, 640);
        assert_eq!(room, (640u64 << 20) * 90 / 100 - (16 << 20));
        assert!(d.need <= room);
    }

    #[test]
    fn journals_that_do_not_fit_are_refused_with_the_sum() {
        let e =
            data_budget(&config("[incidents]\ntotal_bytes = \"128MiB\"\n"), &board()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "the /data budget (644 MiB: 3 incident journals of 128 MiB, 256 MiB of EDM tables, 4 MiB of config store and TLS files) exceeds the 560 MiB a config may use of the board's 640 MiB data partition (ext4 keeps the rest): lower incidents.total_bytes or edm.storage_bytes"
        );
    }

    #[test]
    fn a_board_without_data_mib_is_not_checked() {
        let mut b = board();
        b.data_mib = None;
        let d = data_budget(&config("[incidents]\ntotal_bytes = \"4GiB\"\n"), &b).unwrap();
        assert_eq!(d.usable, None);
    }
}
