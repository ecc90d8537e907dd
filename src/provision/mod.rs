//! `rpinet node provision`: build a node's boot and root from an imported image.

pub mod copy;
pub mod customise;
pub mod edits;
pub mod identity;
pub mod keys;

use std::io::Read;
use std::net::Ipv4Addr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use crate::bail;
use crate::error::{Context, Result};
use crate::system::fsys::Dir;
use crate::system::job::Job;
use crate::system::root::Root;

/// Where a node's trees go and what they must say (plain values from the config).
#[derive(Debug, Clone)]
pub struct ProvisionTarget {
    pub node: String,
    pub hostname: String,
    /// pi3 | pi4 | pi5
    pub model: String,
    /// Router paths: storage/tftp/<boot-id> and storage/nfs/<node>.
    pub tftp_dir: PathBuf,
    pub nfs_dir: PathBuf,
    pub server_ip: Ipv4Addr,
    /// The storage path (router path); the tftp and nfs dirs are inside it.
    pub storage: PathBuf,
    /// `ssh_key`s to install (the main section's and the node's).
    pub ssh_keys: Vec<String>,
}

#[derive(Debug, Clone, Default)]
pub struct ProvisionOptions {
    pub user: Option<String>,
    pub password_hash: Option<String>,
    pub job: Option<String>,
    /// Keep the old trees beside the new ones as `.<leaf>.prev` (an image
    /// roll deletes them once the node is up, or `node rollback` swaps them back).
    pub keep_previous: bool,
}

/// The name an old tree is kept under beside `leaf` while a roll waits for the node.
pub fn kept_name(leaf: &[u8]) -> Vec<u8> {
    [b".", leaf, b".prev"].concat()
}

#[derive(Debug, Clone, Default)]
pub struct ProvisionReport {
    pub node: String,
    pub image: String,
    pub files: u64,
    pub bytes: u64,
    pub reimaged: bool,
    pub os: String,
    pub edits: Vec<String>,
}

impl ProvisionReport {
    pub fn summary(&self) -> String {
        format!(
            "provisioned {} from {} ({}, {} files, {} MiB{}): {}",
            self.node,
            self.image,
            if self.os.is_empty() {
                "unknown OS"
            } else {
                &self.os
            },
            self.files,
            self.bytes >> 20,
            if self.reimaged { ", reimaged" } else { "" },
            self.edits.join(", ")
        )
    }
}

/// Build `target`'s boot and root from the imported image at `image_dir`
/// (a router path): copy beside the old trees, edit, then swap them in and
/// delete the old ones, so the node is never half provisioned.
pub fn provision(
    root: &Root,
    target: &ProvisionTarget,
    image_dir: &Path,
    opts: &ProvisionOptions,
) -> Result<ProvisionReport> {
    // Everything that can be refused is refused before any write.
    for d in [&target.tftp_dir, &target.nfs_dir] {
        if !d.starts_with(&target.storage) || d == &target.storage {
            bail!(
                "{} is not inside the storage path {}",
                d.display(),
                target.storage.display()
            );
        }
    }
    let user = match (&opts.user, &opts.password_hash) {
        (Some(u), Some(h)) => {
            edits::check_user(u)?;
            edits::check_hash(h)?;
            Some((u.as_str(), h.as_str()))
        }
        (None, None) => None,
        _ => bail!("--user and --password-hash go together"),
    };
    let image_name = image_dir
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let image_path = root.path(image_dir);
    let image = Dir::open_path(&image_path).ctx(|| {
        format!(
            "image '{image_name}' is not imported ({})",
            image_dir.display()
        )
    })?;
    let img_boot = image
        .open_dir(b"boot")
        .ctx(|| format!("image '{image_name}' has no boot tree"))?;
    let img_root = image
        .open_dir(b"root")
        .ctx(|| format!("image '{image_name}' has no root tree"))?;
    let total = image_size(&image);
    let mut job = Job::start(root, opts.job.as_deref(), "node_provision")?;
    let r = build_and_swap(root, target, &img_boot, &img_root, user, total, &mut job)
        .and_then(|(rep, slots)| finish_slots(&slots, opts.keep_previous).map(|_| rep));
    match r {
        Ok(mut rep) => {
            rep.image = image_name;
            job.finish(true, &rep.summary());
            Ok(rep)
        }
        Err(e) => {
            job.finish(false, e.message());
            Err(e)
        }
    }
}

fn image_size(image: &Dir) -> u64 {
    let Ok(f) = image.open_file(b"image.json", libc::O_RDONLY) else {
        return 0;
    };
    let mut s = String::new();
    if f.take(1 << 20).read_to_string(&mut s).is_err() {
        return 0;
    }
    serde_json::from_str::<serde_json::Value>(&s)
        .ok()
        .and_then(|v| v["size"].as_u64())
        .unwrap_or(0)
}

/// One side of a node: where it goes and its staging name.
struct Slot {
    parent: Dir,
    leaf: Vec<u8>,
    staging: Vec<u8>,
    shown: String,
}

fn slot(root: &Root, router: &Path) -> Result<Slot> {
    let (Some(parent), Some(leaf)) = (router.parent(), router.file_name()) else {
        bail!("{} is not a directory path", router.display());
    };
    let pp = root.path(parent);
    std::fs::create_dir_all(&pp).ctx(|| format!("failed to create {}", pp.display()))?;
    let parent = Dir::open_path(&pp).ctx(|| format!("failed to open {}", pp.display()))?;
    let leaf = leaf.as_bytes().to_vec();
    let mut staging = b".".to_vec();
    staging.extend_from_slice(&leaf);
    staging.extend_from_slice(format!(".new-{}", std::process::id()).as_bytes());
    let _ = parent.remove_tree(&staging);
    parent.mkdir(&staging, 0o755).ctx(|| {
        format!(
            "failed to create a staging directory beside {}",
            router.display()
        )
    })?;
    Ok(Slot {
        parent,
        leaf,
        staging,
        shown: router.display().to_string(),
    })
}

fn build_and_swap(
    root: &Root,
    t: &ProvisionTarget,
    img_boot: &Dir,
    img_root: &Dir,
    user: Option<(&str, &str)>,
    total: u64,
    job: &mut Job,
) -> Result<(ProvisionReport, [Slot; 2])> {
    let boot = slot(root, &t.tftp_dir)?;
    let rootfs = match slot(root, &t.nfs_dir) {
        Ok(s) => s,
        Err(e) => {
            let _ = boot.parent.remove_tree(&boot.staging);
            return Err(e);
        }
    };
    let r = (|| {
        let nb = boot
            .parent
            .open_dir(&boot.staging)
            .ctx(|| "staging".into())?;
        let nr = rootfs
            .parent
            .open_dir(&rootfs.staging)
            .ctx(|| "staging".into())?;
        let mut done_boot = 0u64;
        let mut progress = |bytes: u64, files: u64| {
            job.update(done_boot + bytes, total, files, "copying");
        };
        let sb = copy::copy_tree(img_boot, &nb, "boot", &mut progress)?;
        done_boot = sb.bytes;
        let mut progress = |bytes: u64, files: u64| {
            job.update(done_boot + bytes, total, sb.files + files, "copying");
        };
        let sr = copy::copy_tree(img_root, &nr, "root", &mut progress)?;
        let os = crate::image::os_release::read_codename(&nr);
        let list = customise::apply(t, &nb, &nr, user, &os)?;
        if t.model == "pi3" {
            customise::bootcode_at_tftp_root(&nb, &boot.parent)?;
        }
        for (d, what) in [(&nb, "boot"), (&nr, "root")] {
            if nix::unistd::syncfs(d).is_err() {
                bail!("failed to sync the new {what} tree");
            }
        }
        Ok(ProvisionReport {
            node: t.node.clone(),
            image: String::new(),
            files: sb.files + sr.files,
            bytes: sb.bytes + sr.bytes,
            reimaged: false,
            os,
            edits: list,
        })
    })();
    let mut rep = match r {
        Ok(rep) => rep,
        Err(e) => {
            let _ = boot.parent.remove_tree(&boot.staging);
            let _ = rootfs.parent.remove_tree(&rootfs.staging);
            return Err(e);
        }
    };
    // Swap: root first, then boot; the old trees are deleted after.
    for s in [&rootfs, &boot] {
        if s.parent.lstat(&s.leaf).is_ok() {
            s.parent
                .exchange(&s.staging, &s.parent, &s.leaf)
                .ctx(|| format!("failed to swap in the new {}", s.shown))?;
            rep.reimaged = true;
        } else {
            s.parent
                .rename_noreplace(&s.staging, &s.parent, &s.leaf)
                .ctx(|| format!("failed to move the new tree to {}", s.shown))?;
        }
    }
    Ok((rep, [rootfs, boot]))
}

/// After the swap the staging names hold the old trees: delete them, or keep them aside.
fn finish_slots(slots: &[Slot; 2], keep: bool) -> Result<()> {
    for s in slots {
        if keep && s.parent.lstat(&s.staging).is_ok() {
            let kept = kept_name(&s.leaf);
            let _ = s.parent.remove_tree(&kept);
            s.parent
                .rename(&s.staging, &s.parent, &kept)
                .ctx(|| format!("failed to keep the old tree of {}", s.shown))?;
        } else {
            s.parent
                .remove_tree(&s.staging)
                .ctx(|| format!("failed to delete the old tree of {}", s.shown))?;
        }
    }
    Ok(())
}

/// `rpinet node provision NAME --image IMAGE`: the node's target from the config, then
/// [`provision`], then the record of the image in the config. A failure is also the job's.
pub fn provision_node(
    root: &Root,
    name: &str,
    image: &str,
    opts: &ProvisionOptions,
) -> Result<ProvisionReport> {
    let r = (|| {
        let world = crate::plan::world::load(root)?;
        let storage = world.storage.require_mounted(&world.config)?;
        let Some(node) = world.config.node(name) else {
            bail!("node '{name}' does not exist");
        };
        let target = ProvisionTarget {
            node: node.name.clone(),
            hostname: node.hostname(),
            model: node.model.as_str().to_string(),
            tftp_dir: storage.join("tftp").join(node.boot_dir()),
            nfs_dir: storage.join("nfs").join(&node.name),
            server_ip: world.net.server,
            storage: storage.clone(),
            ssh_keys: world.config.ssh_keys_of(node),
        };
        let image = crate::config::check_image_name(image)?;
        let image_dir = storage.join("images").join(&image);
        let rep = provision(root, &target, &image_dir, opts)?;
        record_image(root, name, &image)?;
        Ok(rep)
    })();
    if let Err(e) = &r {
        crate::system::job::fail(root, opts.job.as_deref(), "node_provision", e.message());
    }
    r
}

/// Record in /etc/config/rpinet that node `name` runs `image` (its `image`
/// option), through the core's commit (validated, atomic, applied).
pub fn record_image(root: &Root, name: &str, image: &str) -> Result<()> {
    let (mut pkg, _) = crate::plan::world::load_config(root)?;
    let Some(i) = pkg.find(name) else {
        bail!("node '{name}' vanished from the config while it was provisioned");
    };
    if let Some(sec) = pkg.sections.get_mut(i) {
        sec.set("image", image);
    }
    let config = crate::config::from_package(&pkg)?;
    crate::plan::commit_and_run(root, &pkg, config)?;
    Ok(())
}
