//! Every input a fuzz target once failed on (fuzz/regressions/<target>/),
//! replayed through the real `rpinet image import`: an error or a finished
//! import, never a panic, never a stray file.

mod image_util;

use image_util::*;
use std::path::Path;

/// Wrap a partition's bytes in an MBR disk image beside a small FAT (or ext4) partition.
fn replay(target: &str, input: &Path, work: &Path) {
    let data = std::fs::read(input).unwrap();
    let part = work.join("part");
    std::fs::write(&part, &data).unwrap();
    let sectors = data.len().div_ceil(512).max(1);
    let root = work.join("r");
    let _ = std::fs::remove_dir_all(&root);
    router(&root);
    let img = root.join("f.img");
    let (other, other_type, this_type) = match target {
        "fat" => ("mkfs.ext4 -q -F -b 1024 other 256K", "83", "c"),
        _ => ("mkfs.vfat -C other 256 >/dev/null", "c", "83"),
    };
    let mut file = "/f.img";
    if target == "xz" {
        file = "/f.img.xz";
        std::fs::copy(input, root.join("f.img.xz")).unwrap();
    } else if target == "partition" {
        std::fs::copy(input, &img).unwrap();
    } else {
        sh(&format!(
            "cd {w} && rm -f other && {other} && truncate -s $(( (2048 + 512 + {sectors}) * 512 + 1048576 )) {i} \
             && printf 'label: dos\\nstart=2048, size=512, type={other_type}\\nstart=4096, size={sectors}, type={this_type}\\n' | sfdisk -q {i} \
             && dd if=other of={i} bs=512 seek=2048 conv=notrunc status=none \
             && dd if=part of={i} bs=512 seek=4096 conv=notrunc status=none",
            w = work.display(),
            i = img.display(),
        ));
    }
    let out = rpinet(&root, &["image", "import", file, "--name", "x"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "{}: {err}", input.display());
    if !out.status.success() {
        assert!(err.starts_with("rpinet: "), "{}: {err}", input.display());
    }
    let mut names: Vec<_> = std::fs::read_dir(root.join("mnt/rpinet"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["images"], "{}", input.display());
}

#[test]
fn fuzz_regressions_replay_cleanly() {
    let base = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/regressions");
    let work = scratch("fuzz-regress");
    let mut n = 0;
    for target in ["partition", "ext4", "fat", "xz"] {
        let Ok(rd) = std::fs::read_dir(base.join(target)) else {
            continue;
        };
        for e in rd {
            let p = e.unwrap().path();
            if p.is_file() {
                replay(target, &p, &work);
                n += 1;
            }
        }
    }
    eprintln!("replayed {n} regression inputs");
}
