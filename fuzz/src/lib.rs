//! The image readers of rpinet, compiled on their own for cargo-fuzz (the
//! source files are rpinet's own, included by path), and one driver per
//! reader that streams an input through it and writes the tree it yields
//! into a temporary directory.

#[path = "../../src/calendar.rs"]
pub mod calendar;
#[path = "../../src/provision/edits.rs"]
pub mod edits;
#[path = "../../src/error.rs"]
pub mod error;
pub mod image;
#[path = "../../src/system/fsys.rs"]
pub mod fsys;
/// The path the included sources name it by.
pub mod system {
    pub use super::fsys;
}

use std::path::{Path, PathBuf};

use system::fsys::Dir;
use image::tree::{Skips, Tree, write_tree};

/// A fresh work directory for one run: scratch/ and out/.
pub fn workdir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("rpinet-fuzz-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(d.join("scratch")).unwrap();
    std::fs::create_dir_all(d.join("out")).unwrap();
    d
}

/// A file opened for reading and writing whose name is gone already.
pub fn unlinked_file(p: &Path) -> std::io::Result<std::fs::File> {
    let f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(p)?;
    std::fs::remove_file(p)?;
    Ok(f)
}

fn spill(d: &Path) -> Box<dyn FnMut() -> std::io::Result<std::fs::File>> {
    let p = d.join("spill");
    Box::new(move || unlinked_file(&p))
}

fn write_out(d: &Path, tree: Tree) {
    let scratch = Dir::open_path(&d.join("scratch")).unwrap();
    let out = Dir::open_path(&d.join("out")).unwrap();
    let mut skips = Skips::default();
    let _ = write_tree(&tree, &scratch, out, "out:", &mut skips);
    // Nothing may appear beside out/ and scratch/.
    let mut names: Vec<_> = std::fs::read_dir(d)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["out", "scratch"], "wrote outside the target");
}

/// Stream `data` as an ext4 partition.
pub fn run_ext4(data: &[u8], d: &Path) {
    let Ok(sb) = image::ext4::parse_super(data, data.len() as u64) else {
        return;
    };
    let scratch = Dir::open_path(&d.join("scratch")).unwrap();
    let mut fs = image::ext4::Ext4::new(sb, scratch, spill(d));
    let bs = fs.block_size();
    for b in data.chunks_exact(bs) {
        if fs.feed(b).is_err() {
            return;
        }
    }
    if let Ok((tree, _, _)) = fs.finish() {
        write_out(d, tree);
    }
}

/// Stream `data` as a FAT partition.
pub fn run_fat(data: &[u8], d: &Path) {
    let Ok(bpb) = image::fat::parse_bpb(data, data.len() as u64) else {
        return;
    };
    let scratch = Dir::open_path(&d.join("scratch")).unwrap();
    let mut fs = image::fat::Fat::new(bpb, scratch, spill(d));
    let n = fs.sectors();
    let ss = fs.sector_size();
    for s in data.chunks_exact(ss).take(n as usize) {
        if fs.feed(s).is_err() {
            return;
        }
    }
    if let Ok((tree, _, _)) = fs.finish() {
        write_out(d, tree);
    }
}
