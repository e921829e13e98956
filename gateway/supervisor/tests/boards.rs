//! Every shipped board profile parses and is consistent.

use std::path::Path;

use cordon_supervisor::Board;

#[test]
fn every_board_profile_parses() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../board");
    let mut seen = Vec::new();
    for entry in std::fs::read_dir(&root).unwrap() {
        let dir = entry.unwrap().path();
        let file = dir.join("board.toml");
        if !file.is_file() {
            continue;
        }
        let board = Board::load(&file).unwrap_or_else(|e| panic!("{e}"));
        let folder = dir.file_name().unwrap().to_str().unwrap().to_owned();
        assert_eq!(board.name, folder, "name matches the folder");
        println!(
            "{}: data cores {:?}, control core {}, {} MiB, watchdog {:?}",
            board.name,
            board.data_cores,
            board.control_core,
            board.memory_mib,
            board.watchdog_device
        );
        seen.push(folder);
    }
    seen.sort();
    assert_eq!(seen, ["qemu-virt-aarch64", "rpi4", "x86-dev"]);
}

#[test]
fn the_dev_board_matches_this_machine() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../board");
    let board = Board::load(&root.join("x86-dev/board.toml")).unwrap();
    assert_eq!(board.data_cores, [0, 1]);
    assert_eq!(board.watchdog_device, None);
}
