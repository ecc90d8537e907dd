//! `rpinet image import`: a Raspberry Pi OS disk image (.img, .img.xz, .img.gz) to
//! `images/<name>/{boot,root}` on the storage, in pure Rust — no mount, loop
//! device, kpartx or kernel filesystem module.
//!
//! The image is read once, front to back ([`source`]): the partition table
//! ([`partition`]), then the first FAT partition ([`fat`]) and the first ext4
//! partition ([`ext4`]) stream through their readers, which write file
//! content straight into scratch files and build a [`tree::Tree`]; the tree
//! writer then makes every entry through directory handles. All of it happens
//! in a staging directory beside the images, renamed into place at the end; a
//! failure removes the staging directory, so nothing half-imported remains.

pub mod blocks;
pub mod download;
pub mod ext4;
pub mod fat;
pub mod gzip;
pub mod le;
pub mod os_release;
pub mod partition;
pub mod sha256;
pub mod source;
pub mod tree;

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::bail;
use crate::error::{Context, Error, Result};
use crate::system::fsys::Dir;
use crate::system::job::Job;
use crate::system::root::Root;
use source::{SharedCount, Source};
use tree::{Counts, Skips, Tree};

/// What an import made.
#[derive(Debug, Clone)]
pub struct ImportReport {
    pub name: String,
    /// Router path of the image directory.
    pub path: PathBuf,
    pub boot: Counts,
    pub root: Counts,
    pub skipped: Skips,
    /// Peak bytes kept for blocks that arrived before their owner (memory + spill).
    pub pending_peak: u64,
    pub image_bytes: u64,
    pub input_bytes: u64,
    pub os: String,
}

impl ImportReport {
    pub fn summary(&self) -> String {
        format!(
            "imported {} ({}) to {}: boot {} files, root {} files, {} dirs, {} symlinks, {} special, {} hard links, {} MiB from {} MiB of image ({} MiB read); {} KiB held for out-of-order blocks; {} entries skipped",
            self.name,
            if self.os.is_empty() {
                "unknown OS"
            } else {
                &self.os
            },
            self.path.display(),
            self.boot.files,
            self.root.files,
            self.root.dirs + self.boot.dirs,
            self.root.symlinks,
            self.root.specials,
            self.root.hardlinks,
            (self.boot.bytes + self.root.bytes) >> 20,
            self.image_bytes >> 20,
            self.input_bytes >> 20,
            self.pending_peak >> 10,
            self.skipped.count
        )
    }
}

/// The default image name: the file name without .xz/.gz and .img.
pub fn name_from_file(file: &Path) -> String {
    let base = file
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut s = base.as_str();
    for ext in [".xz", ".gz", ".img"] {
        s = s.strip_suffix(ext).unwrap_or(s);
    }
    let mut out: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '-'
            }
        })
        .collect();
    while out.starts_with('.') {
        out.remove(0);
    }
    out.truncate(64);
    if out.is_empty() { "image".into() } else { out }
}

/// Where an image comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// A file (a path on this machine).
    File(PathBuf),
    /// An http(s) URL, fetched as it is read ([`download`]).
    Url(String),
    /// Standard input (`-`).
    Stdin,
}

impl Origin {
    /// `-`, a URL or a file: what `rpinet image import` was given.
    pub fn parse(arg: &str, file: impl FnOnce(&str) -> PathBuf) -> Result<Origin> {
        let lower = arg.to_ascii_lowercase();
        if arg == "-" {
            Ok(Origin::Stdin)
        } else if lower.starts_with("http://") || lower.starts_with("https://") {
            download::check_url(arg)?;
            Ok(Origin::Url(arg.to_string()))
        } else if arg.contains("://") {
            bail!(
                "'{}': only http:// and https:// URLs can be imported",
                arg.escape_debug()
            )
        } else {
            Ok(Origin::File(file(arg)))
        }
    }

    /// The name an image gets when none is given.
    fn default_name(&self) -> Result<String> {
        match self {
            Origin::File(f) => Ok(name_from_file(f)),
            Origin::Url(u) => Ok(download::name_from_url(u)),
            Origin::Stdin => bail!("an image read from stdin needs --name"),
        }
    }

    /// What image.json records as the source.
    fn label(&self) -> String {
        match self {
            Origin::File(f) => f
                .file_name()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default(),
            Origin::Url(u) => u.clone(),
            Origin::Stdin => "stdin".into(),
        }
    }
}

/// How to import: the name, the job to report in, the checksum to hold the
/// image to, and how long a download may stall.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    pub name: Option<String>,
    pub job: Option<String>,
    /// SHA-256 (64 hex digits) of the file as fetched or of the .img inside.
    pub sha256: Option<String>,
    pub stall: std::time::Duration,
}

/// A SHA-256 as given: 64 hex digits, any case.
pub fn check_sha256(v: &str) -> Result<String> {
    if v.len() != 64 || !v.bytes().all(|b| b.is_ascii_hexdigit()) {
        bail!(
            "'{}' is not a SHA-256 (64 hex digits)",
            v.chars().take(80).collect::<String>().escape_debug()
        );
    }
    Ok(v.to_ascii_lowercase())
}

/// Import `origin` as `images/<name>` under `storage` (a router path whose
/// filesystem the caller has checked is the SSD).
pub fn import(
    root: &Root,
    storage: &Path,
    origin: &Origin,
    opts: &ImportOptions,
) -> Result<ImportReport> {
    crate::system::job::run(
        root,
        opts.job.as_deref(),
        "image_import",
        |job| {
            let name = match &opts.name {
                Some(n) => n.clone(),
                None => origin.default_name()?,
            };
            crate::config::check_image_name(&name)?;
            if let Some(s) = &opts.sha256 {
                check_sha256(s)?;
            }
            import_inner(root, storage, origin, &name, opts, job)
        },
        ImportReport::summary,
    )
}

fn import_inner(
    root: &Root,
    storage: &Path,
    origin: &Origin,
    name: &str,
    opts: &ImportOptions,
    job: &mut Job,
) -> Result<ImportReport> {
    let images_router = storage.join("images");
    let images_path = root.path(&images_router);
    std::fs::create_dir_all(&images_path)
        .ctx(|| format!("failed to create {}", images_path.display()))?;
    let images =
        Dir::open_path(&images_path).ctx(|| format!("failed to open {}", images_path.display()))?;
    if images.lstat(name.as_bytes()).is_ok() {
        bail!(
            "image '{}' already exists in {}; remove it or pick another --name",
            name,
            images_router.display()
        );
    }
    let staging = format!(".import-{}-{}", name, std::process::id());
    let _ = images.remove_tree(staging.as_bytes());
    images
        .mkdir(staging.as_bytes(), 0o755)
        .ctx(|| format!("failed to create {}/{staging}", images_path.display()))?;
    let staging_path = images_path.join(&staging);
    let r = (|| {
        let stage = images
            .open_dir(staging.as_bytes())
            .ctx(|| format!("failed to open {}", staging_path.display()))?;
        let mut rep = stream_into(origin, opts, &stage, &staging_path, job)?;
        write_info(&stage, name, &origin.label(), &rep)?;
        // Make the tree durable before it appears under its name.
        if let Err(e) = nix::unistd::syncfs(&stage) {
            return Err(Error::new(format!(
                "failed to sync {}: {}",
                staging_path.display(),
                std::io::Error::from(e)
            )));
        }
        images
            .rename_noreplace(staging.as_bytes(), &images, name.as_bytes())
            .ctx(|| {
                format!(
                    "failed to rename the import to {}/{name}",
                    images_path.display()
                )
            })?;
        rep.name = name.to_string();
        rep.path = images_router.join(name);
        Ok(rep)
    })();
    if r.is_err() {
        let _ = images.remove_tree(staging.as_bytes());
    }
    r
}

fn write_info(stage: &Dir, name: &str, source: &str, rep: &ImportReport) -> Result<()> {
    let created = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let info = serde_json::json!({
        "name": name,
        "created": created,
        "size": rep.boot.bytes + rep.root.bytes,
        "os": rep.os,
        "source": source,
        "skipped": rep.skipped.count,
    });
    let mut f = stage
        .create_file(b"image.json")
        .ctx(|| "failed to create image.json".into())?;
    use std::io::Write;
    f.write_all(format!("{info}\n").as_bytes())
        .and_then(|_| f.set_permissions(std::os::unix::fs::PermissionsExt::from_mode(0o644)))
        .ctx(|| "failed to write image.json".into())
}

fn spill_maker(dir: &Path, tag: &str) -> Box<dyn FnMut() -> std::io::Result<std::fs::File>> {
    let p = dir.join(format!(".pending-{tag}"));
    Box::new(move || {
        let f = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&p)?;
        std::fs::remove_file(&p)?;
        Ok(f)
    })
}

/// Open `origin`, stream it into the stage, and hold it to the download's
/// outcome and the checksum: a failed download's own error is the one
/// reported, whatever the reader made of the bytes it got.
fn stream_into(
    origin: &Origin,
    opts: &ImportOptions,
    stage: &Dir,
    stage_path: &Path,
    job: &mut Job,
) -> Result<ImportReport> {
    let digest = opts.sha256.is_some();
    let (mut src, download) = match origin {
        Origin::File(f) => (Source::open(f, digest)?, None),
        Origin::Stdin => (
            Source::stream(Box::new(std::io::stdin()), SharedCount::default(), digest)?,
            None,
        ),
        Origin::Url(u) => {
            let (d, body) = download::Download::start(u, opts.stall)?;
            match Source::stream(Box::new(body), d.total.clone(), digest) {
                Ok(s) => (s, Some(d)),
                Err(e) => {
                    d.finish(true)?;
                    return Err(e);
                }
            }
        }
    };
    let r = extract(&mut src, &origin.label(), stage, stage_path, job);
    if let Some(d) = download {
        d.finish(r.is_err())?;
    }
    let rep = r?;
    if let (Some(want), Some(got)) = (&opts.sha256, src.digests()) {
        if !got.matches(want) {
            bail!(
                "checksum mismatch: expected SHA-256 {want}, the download is {} and the image inside {}; nothing imported",
                got.input,
                got.image
            );
        }
    }
    Ok(rep)
}

/// Stream the image into `stage/boot` and `stage/root`.
fn extract(
    src: &mut Source,
    label: &str,
    stage: &Dir,
    stage_path: &Path,
    job: &mut Job,
) -> Result<ImportReport> {
    let mut head = vec![0u8; partition::HEAD];
    src.read_exact(&mut head)
        .ctx(|| format!("failed to read the partition table of {label}"))?;
    let parts = partition::parse(&head)?;
    let mut skips = Skips::default();
    let mut boot: Option<(Tree, u64)> = None;
    let mut rootfs: Option<(Tree, u64)> = None;
    for d in [&b"boot"[..], b"root", b".scratch-boot", b".scratch-root"] {
        stage
            .mkdir(d, 0o700)
            .ctx(|| format!("failed to create {}", String::from_utf8_lossy(d)))?;
    }
    let scratch_boot = stage.open_dir(b".scratch-boot").ctx(|| "scratch".into())?;
    let scratch_root = stage.open_dir(b".scratch-root").ctx(|| "scratch".into())?;
    let mut scratch_boot = Some(scratch_boot);
    let mut scratch_root = Some(scratch_root);
    for p in parts {
        if boot.is_some() && rootfs.is_some() {
            break;
        }
        src.skip_to(p.start)
            .ctx(|| format!("partition {}", p.number))?;
        let hl = p.len.min(4096) as usize;
        let mut phead = vec![0u8; hl];
        src.read_exact(&mut phead)
            .ctx(|| format!("partition {}", p.number))?;
        let is_ext4 = phead.get(1024 + 0x38..1024 + 0x3A) == Some(&[0x53, 0xEF][..]);
        if fat::probe(&phead) && boot.is_none() {
            let bpb = fat::parse_bpb(&phead, p.len).ctx(|| format!("partition {}", p.number))?;
            let Some(sd) = scratch_boot.take() else {
                continue;
            };
            let mut fs = fat::Fat::new(bpb, sd, spill_maker(stage_path, "boot"));
            let unit = fs.sector_size();
            let total = fs.sectors();
            feed_units(src, &phead, unit, total, job, "boot", |d| fs.feed(d))?;
            let (t, s, peak) = fs.finish()?;
            merge(&mut skips, s);
            boot = Some((t, peak));
        } else if is_ext4 && rootfs.is_none() {
            let sb = ext4::parse_super(&phead, p.len).ctx(|| format!("partition {}", p.number))?;
            let Some(sd) = scratch_root.take() else {
                continue;
            };
            let mut fs = ext4::Ext4::new(sb, sd, spill_maker(stage_path, "root"));
            let unit = fs.block_size();
            let total = fs.blocks();
            feed_units(src, &phead, unit, total, job, "root", |d| fs.feed(d))?;
            let (t, s, peak) = fs.finish()?;
            merge(&mut skips, s);
            rootfs = Some((t, peak));
        } else {
            skips.add(format!(
                "partition {}: neither the first FAT nor the first ext4 filesystem; not imported",
                p.number
            ));
        }
    }
    src.drain()?;
    let Some((boot_tree, boot_peak)) = boot else {
        bail!("the image has no FAT boot partition");
    };
    let Some((root_tree, root_peak)) = rootfs else {
        bail!("the image has no ext4 root partition");
    };
    let len = src.input_len.get().max(src.input_done.get());
    job.update(len, len, 0, "writing the tree");
    let sb = stage.open_dir(b".scratch-boot").ctx(|| "scratch".into())?;
    let boot_counts = tree::write_tree(
        &boot_tree,
        &sb,
        stage.open_dir(b"boot").ctx(|| "boot".into())?,
        "boot:",
        &mut skips,
    )?;
    drop(boot_tree);
    let sr = stage.open_dir(b".scratch-root").ctx(|| "scratch".into())?;
    let root_counts = tree::write_tree(
        &root_tree,
        &sr,
        stage.open_dir(b"root").ctx(|| "root".into())?,
        "root:",
        &mut skips,
    )?;
    drop(root_tree);
    for d in [&b".scratch-boot"[..], b".scratch-root"] {
        stage
            .remove_tree(d)
            .ctx(|| format!("failed to remove {}", String::from_utf8_lossy(d)))?;
    }
    let os = os_release::read_codename(&stage.open_dir(b"root").ctx(|| "root".into())?);
    Ok(ImportReport {
        name: String::new(),
        path: PathBuf::new(),
        boot: boot_counts,
        root: root_counts,
        skipped: skips,
        pending_peak: boot_peak.max(root_peak),
        image_bytes: src.pos,
        input_bytes: src.input_done.get(),
        os,
    })
}

fn merge(into: &mut Skips, from: Skips) {
    into.count += from.count.saturating_sub(from.messages.len() as u64);
    for m in from.messages {
        into.add(m);
    }
}

/// Feed `total` units of `unit` bytes to a reader: first from `head` (bytes
/// already read), then from the stream.
fn feed_units(
    src: &mut Source,
    head: &[u8],
    unit: usize,
    total: u64,
    job: &mut Job,
    what: &str,
    mut feed: impl FnMut(&[u8]) -> Result<()>,
) -> Result<()> {
    let mut buf = head.to_vec();
    let mut fed = 0u64;
    // Whole units inside the head.
    let mut at = 0usize;
    while at + unit <= buf.len() && fed < total {
        feed(&buf[at..at + unit])?;
        at += unit;
        fed += 1;
    }
    buf.drain(..at);
    if fed < total && !buf.is_empty() {
        let have = buf.len();
        buf.resize(unit, 0);
        src.read_exact(&mut buf[have..])?;
        feed(&buf)?;
        fed += 1;
    }
    // The rest, a batch at a time.
    const BATCH: usize = 1 << 20;
    let per = (BATCH / unit).max(1);
    let mut chunk = vec![0u8; per * unit];
    while fed < total {
        let n = source::span(total - fed, per);
        src.read_exact(&mut chunk[..n * unit])?;
        for u in chunk[..n * unit].chunks_exact(unit) {
            feed(u)?;
        }
        fed += n as u64;
        job.update(src.input_done.get(), src.input_len.get(), 0, what);
    }
    Ok(())
}
