//! `rpinet image import` on real images made with sfdisk, mkfs.vfat + mtools
//! and `mkfs.ext4 -d` (1 KiB and 4 KiB blocks): the imported trees must equal
//! the staged ones entry by entry.

mod image_util;

use image_util::*;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

fn import_and_compare(name: &str, bs: u32, feat: &str, file: &str) {
    let work = scratch(name);
    let img = if bs == 4096 && feat.is_empty() {
        shared_image().to_path_buf()
    } else {
        let i = work.join("img");
        mkimage(&i, bs, feat);
        i
    };
    let root = work.join("root");
    router(&root);
    std::fs::copy(img.join(file), root.join(file)).unwrap();
    let out = rpinet(
        &root,
        &["image", "import", &format!("/{file}"), "--name", "os"],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("imported os (bookworm) to /mnt/rpinet/images/os"),
        "{stdout}"
    );
    assert!(stdout.contains("0 entries skipped"), "{stdout}{stderr}");
    let image = root.join("mnt/rpinet/images/os");
    // Root: every entry equal; the root dir and fill/ were changed by debugfs after staging.
    let d = diff(
        &img.join("tree"),
        &image.join("root"),
        &["", "fill"],
        &["lost+found"],
    );
    assert!(d.is_empty(), "{}", d.join("\n"));
    // Holes stay holes.
    let sparse = std::fs::metadata(image.join("root/sparse")).unwrap();
    assert_eq!(sparse.len(), 8 << 20);
    assert!(sparse.blocks() * 512 < 1 << 20, "sparse file was filled in");
    if bs == 4096 {
        let t = std::fs::metadata(image.join("root/tailhole")).unwrap();
        assert_eq!(t.len(), 5 << 20);
        assert!(t.blocks() * 512 <= 64 << 10);
    }
    // Hard links are links, not copies.
    let a = std::fs::metadata(image.join("root/etc/hostname")).unwrap();
    let b = std::fs::metadata(image.join("root/usr/hostname.hardlink2")).unwrap();
    assert_eq!(a.ino(), b.ino());
    assert_eq!(a.nlink(), 3);
    // Boot: names (long, Unicode, upper case) and content; FAT keeps no owners.
    let want = walk(&img.join("bootd"));
    let got = walk(&image.join("boot"));
    assert_eq!(
        want.keys().collect::<Vec<_>>(),
        got.keys().collect::<Vec<_>>()
    );
    for (k, w) in &want {
        let g = &got[k];
        assert_eq!(w.kind, g.kind, "{k}");
        assert_eq!(w.content, g.content, "{k}");
        if w.kind == "file" {
            assert!(
                (w.mtime - g.mtime).abs() <= 2,
                "{k}: mtime {} vs {}",
                w.mtime,
                g.mtime
            );
        }
    }
    // Nothing but the image itself is left in images/.
    let names: Vec<_> = std::fs::read_dir(root.join("mnt/rpinet/images"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, vec![std::ffi::OsString::from("os")]);
    let info: serde_json::Value =
        serde_json::from_slice(&std::fs::read(image.join("image.json")).unwrap()).unwrap();
    assert_eq!(info["os"], "bookworm");
    assert_eq!(info["name"], "os");
}

#[test]
fn xz_image_with_4k_blocks_imports_every_entry() {
    import_and_compare("import-4k", 4096, "", "disk.img.xz");
}

#[test]
fn xz_image_of_many_blocks_decoded_in_parallel_imports_every_entry() {
    import_and_compare("import-blocks", 4096, "", "disk-blocks.img.xz");
}

#[test]
fn gzip_image_imports_every_entry() {
    import_and_compare("import-gz", 4096, "", "disk.img.gz");
}

#[test]
fn raw_image_with_1k_blocks_and_inline_data_imports_every_entry() {
    import_and_compare("import-1k", 1024, "inline_data", "disk.img");
}

#[test]
fn job_file_reports_done() {
    let work = scratch("import-job");
    let img = shared_image();
    let root = work.join("root");
    router(&root);
    std::fs::copy(img.join("disk.img.xz"), root.join("d.img.xz")).unwrap();
    let out = rpinet(&root, &["image", "import", "/d.img.xz", "--job", "j42"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let j: serde_json::Value =
        serde_json::from_slice(&std::fs::read(root.join("tmp/rpinet/jobs/j42.json")).unwrap())
            .unwrap();
    assert_eq!(j["state"], "done");
    assert_eq!(j["progress"], 100);
    assert_eq!(j["kind"], "image_import");
    assert!(Path::new(&root.join("mnt/rpinet/images/d/root/etc/os-release")).exists());
    // A second import under the same name is refused and changes nothing.
    let out = rpinet(&root, &["image", "import", "/d.img.xz", "--name", "d"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("already exists"));
}

#[test]
fn nothing_is_imported_without_the_ssd() {
    let work = scratch("import-no-ssd");
    router(&work);
    std::fs::write(work.join("proc/mounts"), "/dev/root / squashfs ro 0 0\n").unwrap();
    std::fs::copy(shared_image().join("disk.img.xz"), work.join("d.img.xz")).unwrap();
    let out = rpinet(&work, &["image", "import", "/d.img.xz"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("is not mounted at /mnt/rpinet"), "{err}");
    assert_eq!(
        std::fs::read_dir(work.join("mnt/rpinet")).unwrap().count(),
        0
    );
}

#[test]
fn unprivileged_import_keeps_content_and_reports_what_it_cannot_make() {
    let work = scratch("import-unpriv");
    router(&work);
    std::fs::copy(shared_image().join("disk.img.xz"), work.join("d.img.xz")).unwrap();
    sh(&format!("chown -R 65534:65534 {}", work.display()));
    let out = std::process::Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(env!("CARGO_BIN_EXE_rpinet"))
        .arg("--root")
        .arg(&work)
        .args(["image", "import", "/d.img.xz"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("not running as root"), "{err}");
    let root = work.join("mnt/rpinet/images/d/root");
    assert_eq!(
        std::fs::read(root.join("random.bin")).unwrap(),
        std::fs::read(shared_image().join("tree/random.bin")).unwrap()
    );
    assert!(!root.join("dev/null2").exists());
    assert!(root.join("dev/fifo").exists());
}
