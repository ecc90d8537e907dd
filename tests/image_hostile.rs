//! Hostile images: crafted with debugfs and byte patches on copies of a
//! small real image. Each must give a clear error or reported skips — never
//! a panic, never a byte outside the target, never a half-made image.

mod image_util;

use image_util::*;
use std::path::{Path, PathBuf};

/// A small tree, its ext4 (4 KiB blocks, no checksums so patches stay
/// readable by debugfs) and a FAT, in `work`.
fn base(work: &Path) {
    sh(&format!(
        "cd {w} && mkdir -p t/a/b t/c t/etc && echo ok > t/etc/hostname \
         && for n in SLASHxNAME NULxNAME PATCHDD PATCHD1 PATCHE0 INODEBIG; do echo $n > t/c/$n; done \
         && head -c 20000 /dev/urandom > t/c/far && head -c 9000 /dev/urandom > t/c/huge \
         && ln -s /etc/shadow t/c/escape \
         && mkfs.ext4 -q -F -b 4096 -O ^metadata_csum -d t root.ext4 8M \
         && mkdir -p bootd && echo cmd > bootd/cmdline.txt && echo z > bootd/LongNameSlashX.txt \
         && mkfs.vfat -C boot.fat 4096 >/dev/null && mcopy -i boot.fat bootd/* ::/",
        w = work.display()
    ));
}

fn debugfs(fs: &Path, cmds: &str) {
    sh(&format!(
        "printf '{cmds}' > {f}.cmd && debugfs -w -f {f}.cmd {f} >/dev/null 2>&1",
        f = fs.display()
    ));
}

/// Replace the first occurrence of `from` (same length as `to`); returns its offset.
fn patch(file: &Path, from: &[u8], to: &[u8]) -> usize {
    let mut d = std::fs::read(file).unwrap();
    let at = d
        .windows(from.len())
        .position(|w| w == from)
        .unwrap_or_else(|| panic!("{} not found", String::from_utf8_lossy(from)));
    d[at..at + to.len()].copy_from_slice(to);
    std::fs::write(file, d).unwrap();
    at
}

/// Put `boot` and `root` into an MBR disk image at `out`.
fn disk(work: &Path, boot: &Path, root: &Path, out: &Path) {
    sh(&format!(
        "cd {w} && truncate -s 16M {o} && printf 'label: dos\\nstart=2048, size=8192, type=c\\nstart=10240, size=16384, type=83\\n' | sfdisk -q {o} \
         && dd if={b} of={o} bs=512 seek=2048 conv=notrunc status=none \
         && dd if={r} of={o} bs=512 seek=10240 conv=notrunc status=none",
        w = work.display(),
        o = out.display(),
        b = boot.display(),
        r = root.display()
    ));
}

struct Run {
    ok: bool,
    stderr: String,
    root: PathBuf,
}

/// `work/ok.img`: the base trees packed as a disk image with nothing hostile in it.
fn good_image(work: &Path) -> PathBuf {
    base(work);
    let img = work.join("ok.img");
    disk(work, &work.join("boot.fat"), &work.join("root.ext4"), &img);
    img
}

fn import(work: &Path, img: &Path) -> Run {
    let root = work.join("r");
    let _ = std::fs::remove_dir_all(&root);
    router(&root);
    let before = walk(&root);
    let name = img.file_name().unwrap().to_string_lossy().into_owned();
    std::fs::copy(img, root.join(&name)).unwrap();
    let out = rpinet(
        &root,
        &["image", "import", &format!("/{name}"), "--name", "x"],
    );
    let r = Run {
        ok: out.status.success(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        root,
    };
    assert!(
        !r.stderr.contains("panicked"),
        "rpinet panicked: {}",
        r.stderr
    );
    // Nothing outside the images directory changed (but the state lock's file in the tmpfs
    // /var/lock); in it, only a finished image.
    let after = walk(&r.root);
    for (k, v) in &after {
        if k.is_empty()
            || k == "mnt/rpinet"
            || k.starts_with("mnt/rpinet/images")
            || k == &name
            || k.starts_with("var/lock")
            || k == "var"
        {
            continue;
        }
        assert_eq!(before.get(k), Some(v), "{k} changed: {}", r.stderr);
    }
    for k in before.keys() {
        assert!(after.contains_key(k), "{k} vanished");
    }
    let images: Vec<_> = std::fs::read_dir(r.root.join("mnt/rpinet/images"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    if r.ok {
        assert_eq!(images, vec!["x".to_string()]);
    } else {
        assert!(images.is_empty(), "left behind: {images:?}");
    }
    r
}

#[test]
fn hostile_names_links_and_block_numbers_are_skipped_and_reported() {
    let work = scratch("hostile-names");
    base(&work);
    let fs = work.join("root.ext4");
    // Hard link to a directory and a directory cycle.
    debugfs(&fs, "link /a /c/alias\\nlink /a /a/b/loop\\n");
    // Extent start beyond the filesystem; a size no filesystem holds.
    debugfs(
        &fs,
        "sif /c/far block[5] 0x7fffffff\\nsif /c/huge size 0x7fffffffffffffff\\n",
    );
    // Names: '/', NUL, "..", ".", empty (name_len patched before the name).
    patch(&fs, b"SLASHxNAME", b"SLASH/NAME");
    patch(&fs, b"NULxNAME", b"NUL\0NAME");
    for (name, len, to) in [
        (&b"PATCHDD"[..], 2u8, &b".."[..]),
        (b"PATCHD1", 1, b"."),
        (b"PATCHE0", 0, b""),
    ] {
        let mut d = std::fs::read(&fs).unwrap();
        let at = d.windows(name.len()).position(|w| w == name).unwrap();
        d[at - 2] = len;
        d[at..at + to.len()].copy_from_slice(to);
        std::fs::write(&fs, d).unwrap();
    }
    // A directory entry naming an inode beyond the inode count.
    {
        let mut d = std::fs::read(&fs).unwrap();
        let at = d.windows(8).position(|w| w == b"INODEBIG").unwrap();
        d[at - 8..at - 4].copy_from_slice(&0x7fff_fff0u32.to_le_bytes());
        std::fs::write(&fs, d).unwrap();
    }
    // FAT: a long name holding '/'.
    let fat = work.join("boot.fat");
    patch(&fat, b"X\0.\0t\0", b"/\0.\0t\0");
    let img = work.join("h.img");
    disk(&work, &fat, &fs, &img);
    let r = import(&work, &img);
    assert!(r.ok, "{}", r.stderr);
    for want in [
        "name holds '/'",
        "name holds NUL",
        "extra entry named ..",
        "extra entry named .",
        "empty name",
        "beyond the inode count",
        "second name (cycle or hard link to a directory)",
        "lie outside the filesystem",
        "cannot be set",
    ] {
        assert!(
            r.stderr.contains(want),
            "no report of '{want}' in:\n{}",
            r.stderr
        );
    }
    let root = r.root.join("mnt/rpinet/images/x/root");
    assert_eq!(
        std::fs::read_to_string(root.join("etc/hostname")).unwrap(),
        "ok\n"
    );
    // The symlink is stored as it is, never followed.
    assert_eq!(
        std::fs::read_link(root.join("c/escape")).unwrap(),
        Path::new("/etc/shadow")
    );
    assert!(root.join("a/b").is_dir());
    assert!(!root.join("a/b/loop").exists());
    assert!(!root.join("c/alias").exists());
    assert!(!root.join("c/huge").exists());
    assert!(r.root.join("mnt/rpinet/images/x/boot/cmdline.txt").exists());
}

#[test]
fn filesystem_bigger_than_its_partition_is_refused() {
    let work = scratch("hostile-size");
    base(&work);
    let fs = work.join("root.ext4");
    // s_blocks_count_lo at superblock offset 4.
    let mut d = std::fs::read(&fs).unwrap();
    d[1024 + 4..1024 + 8].copy_from_slice(&0x00ff_ffffu32.to_le_bytes());
    std::fs::write(&fs, d).unwrap();
    let img = work.join("big.img");
    disk(&work, &work.join("boot.fat"), &fs, &img);
    let r = import(&work, &img);
    assert!(!r.ok);
    assert!(
        r.stderr.contains("larger than its partition"),
        "{}",
        r.stderr
    );
}

#[test]
fn truncated_and_corrupt_xz_and_gz_fail_cleanly() {
    let work = scratch("hostile-xz");
    let img = good_image(&work);
    // Import a copy of `file` changed by `spoil`.
    let spoiled = |file: &str, spoil: &dyn Fn(&mut Vec<u8>)| {
        let mut d = std::fs::read(work.join(file)).unwrap();
        spoil(&mut d);
        let p = work.join(format!("bad-{file}"));
        std::fs::write(&p, &d).unwrap();
        import(&work, &p)
    };
    let cut = |d: &mut Vec<u8>| d.truncate(d.len() / 2);
    let flip_at = |at: fn(usize) -> usize| {
        move |d: &mut Vec<u8>| {
            let mid = at(d.len());
            for b in &mut d[mid..mid + 64] {
                *b ^= 0x5a;
            }
        }
    };
    let failed_decompressing = |r: &Run| {
        assert!(!r.ok);
        assert!(
            r.stderr.contains("decompress") || r.stderr.contains("ends early"),
            "{}",
            r.stderr
        );
    };
    sh(&format!("xz -k -T1 -1 {}", img.display()));
    failed_decompressing(&spoiled("ok.img.xz", &cut));
    let r = spoiled("ok.img.xz", &flip_at(|n| n / 3));
    assert!(!r.ok);
    assert!(r.stderr.contains("rpinet: "), "{}", r.stderr);
    // The same in a many-block file (decoded in parallel): the broken block is named.
    sh(&format!(
        "xz -c -T1 -1 --block-size=1MiB {} > {}",
        img.display(),
        work.join("blocks.img.xz").display()
    ));
    let r = spoiled("blocks.img.xz", &flip_at(|n| n / 2));
    assert!(!r.ok);
    assert!(
        r.stderr.contains("failed to decompress the image at byte")
            && r.stderr.contains("xz block"),
        "{}",
        r.stderr
    );
    // A .gz cut short.
    sh(&format!("gzip -k -1 {}", img.display()));
    failed_decompressing(&spoiled("ok.img.gz", &cut));
    // A raw image cut inside the root partition.
    let short = work.join("short.img");
    let d = std::fs::read(&img).unwrap();
    std::fs::write(&short, &d[..d.len() - (4 << 20)]).unwrap();
    let r = import(&work, &short);
    assert!(!r.ok);
    assert!(r.stderr.contains("ends early"), "{}", r.stderr);
}

/// Out of memory (here a `ulimit -v` too small for the import): one line that says so, exit
/// status 1, and the staging the dead run left is gone with the next command. The limit is
/// found, not guessed: the smallest address-space limit the binary starts under (it grows
/// with the build), plus a little, tried upward until an import runs out.
#[test]
fn out_of_memory_is_one_line_and_leaves_nothing() {
    let work = scratch("hostile-oom");
    let img = good_image(&work);
    sh(&format!("gzip -k -1 {}", img.display()));
    let root = work.join("r");
    router(&root);
    std::fs::copy(work.join("ok.img.gz"), root.join("ok.img.gz")).unwrap();
    let under = |kib: u64, args: &str| {
        std::process::Command::new("bash")
            .arg("-c")
            .arg(format!(
                "ulimit -v {kib} && exec {} --root {} {args}",
                env!("CARGO_BIN_EXE_rpinet"),
                root.display()
            ))
            .output()
            .unwrap()
    };
    // the smallest limit (in 256 KiB steps) under which `rpinet list` runs
    let mut start = 4096;
    while !under(start, "list").status.success() {
        start += 256;
        assert!(start < 1 << 20, "rpinet does not start under any limit");
    }
    let mut ran_out = false;
    for (i, extra) in [256, 512, 1024, 2048, 3072, 4096, 6144, 8192]
        .into_iter()
        .enumerate()
    {
        let out = under(
            start + extra,
            &format!("image import /ok.img.gz --name x{i}"),
        );
        if out.status.success() {
            break;
        }
        // Just above the start-up limit even the main stack cannot grow: the kernel kills
        // the process (SIGSEGV) before any code of rpinet's can say anything. Higher up,
        // running out is rpinet's to report.
        if out.status.code().is_none() {
            continue;
        }
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(
            err.starts_with("rpinet: out of memory: could not allocate "),
            "{err}"
        );
        ran_out = true;
    }
    assert!(
        ran_out,
        "no limit above {start} KiB made the import run out of memory"
    );
    let _ = rpinet(&root, &["status"]);
    let left: Vec<_> = std::fs::read_dir(root.join("mnt/rpinet/images"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .filter(|n| n.to_string_lossy().starts_with('.'))
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}

#[test]
fn garbage_is_refused() {
    let work = scratch("hostile-garbage");
    let g = work.join("g.img");
    std::fs::write(&g, vec![0x41u8; 100_000]).unwrap();
    let r = import(&work, &g);
    assert!(!r.ok);
    assert!(r.stderr.contains("MBR"), "{}", r.stderr);
    let e = work.join("e.img");
    std::fs::write(&e, b"").unwrap();
    let r = import(&work, &e);
    assert!(!r.ok);
}
