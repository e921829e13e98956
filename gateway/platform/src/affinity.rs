//! Core pinning. A data-plane worker runs on one core so its caches and its session state never
//! move; the supervisor pins each child right after spawn and reads the result back from
//! `/proc/<pid>/status` to prove it.

use std::path::PathBuf;

use nix::sched::{sched_setaffinity, CpuSet};
use nix::unistd::Pid;

use crate::Error;

/// Longest `Cpus_allowed_list` value accepted: far more than any board's core map, and it keeps a
/// corrupt or hostile `/proc` line from expanding into a huge list.
const MAX_LISTED_CORES: usize = 4096;

/// Builds the kernel's CPU set from core numbers.
pub fn cpu_set(cores: &[usize]) -> Result<CpuSet, Error> {
    let mut set = CpuSet::new();
    for &core in cores {
        set.set(core).map_err(|_| Error::CoreOutOfRange {
            core,
            max: CpuSet::count(),
        })?;
    }
    Ok(set)
}

/// Pins the calling thread to `cores` (threads it starts later inherit the set).
pub fn pin_current(cores: &[usize]) -> Result<(), Error> {
    pin_pid(0, cores)
}

/// Pins the process or thread `pid` (0: the calling thread) to `cores`.
pub fn pin_pid(pid: i32, cores: &[usize]) -> Result<(), Error> {
    let set = cpu_set(cores)?;
    sched_setaffinity(Pid::from_raw(pid), &set).map_err(|source| Error::Affinity {
        pid,
        cores: cores.to_vec(),
        source,
    })
}

/// The cores `pid` may run on (`None`: the calling thread), as the kernel reports them in
/// `Cpus_allowed_list`.
pub fn allowed_cpus(pid: Option<u32>) -> Result<Vec<usize>, Error> {
    let path = match pid {
        Some(p) => PathBuf::from(format!("/proc/{p}/status")),
        None => PathBuf::from("/proc/thread-self/status"),
    };
    let text = std::fs::read_to_string(&path).map_err(|source| Error::Read {
        path: path.clone(),
        source,
    })?;
    let value = text
        .lines()
        .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))
        .ok_or(Error::MissingField {
            path,
            field: "Cpus_allowed_list",
        })?;
    parse_cpu_list(value.trim())
}

/// Parses the kernel's list format: `0-3,5,7-8`.
pub fn parse_cpu_list(list: &str) -> Result<Vec<usize>, Error> {
    let bad = |reason| Error::CoreList {
        list: list.to_owned(),
        reason,
    };
    let mut cores = Vec::new();
    for part in list.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (lo, hi) = match part.split_once('-') {
            Some((a, b)) => (a, b),
            None => (part, part),
        };
        let lo: usize = lo.trim().parse().map_err(|_| bad("not a number"))?;
        let hi: usize = hi.trim().parse().map_err(|_| bad("not a number"))?;
        if hi < lo {
            return Err(bad("range runs backwards"));
        }
        if cores.len() + (hi - lo + 1) > MAX_LISTED_CORES {
            return Err(bad("too many cores"));
        }
        cores.extend(lo..=hi);
    }
    if cores.is_empty() {
        return Err(bad("empty"));
    }
    cores.sort_unstable();
    cores.dedup();
    Ok(cores)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_kernel_lists() {
        assert_eq!(parse_cpu_list("0-1").unwrap(), vec![0, 1]);
        assert_eq!(parse_cpu_list("0,2-3,7").unwrap(), vec![0, 2, 3, 7]);
        assert_eq!(parse_cpu_list("3").unwrap(), vec![3]);
        for (list, why) in [
            ("", "empty"),
            (" , ", "empty"),
            ("3-1", "range runs backwards"),
            ("0-100000", "too many cores"),
            ("x", "not a number"),
            ("1-y", "not a number"),
        ] {
            match parse_cpu_list(list) {
                Err(Error::CoreList { list: l, reason }) => {
                    assert_eq!((l.as_str(), reason), (list, why));
                }
                other => panic!("{list:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn pins_a_thread_and_reads_it_back() {
        // A thread of its own, so the test harness's other threads keep their sets.
        std::thread::spawn(|| {
            pin_current(&[0]).unwrap();
            assert_eq!(allowed_cpus(None).unwrap(), vec![0]);
        })
        .join()
        .unwrap();
    }

    #[test]
    fn rejects_impossible_cores() {
        assert!(matches!(
            cpu_set(&[1 << 20]),
            Err(Error::CoreOutOfRange { .. })
        ));
    }
}
