//! `rpinet node provision`: build a node's boot and root from an imported image.

pub mod copy;
pub mod customise;
pub mod edits;
pub mod identity;
pub mod keys;
pub mod report;
pub mod rootfs;
pub mod switch;
pub mod volume;

use std::io::Read;
use std::net::Ipv4Addr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use crate::bail;
use crate::error::{Context, Result};
use crate::system::fsys::Dir;
use crate::system::job::Job;
use crate::system::lock::StateLock;
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
    /// The address the node mounts its trees from: the router's, or the NFS server's.
    pub server_ip: Ipv4Addr,
    /// The storage path (router path); the tftp and nfs dirs are inside it.
    pub storage: PathBuf,
    /// The storage as the node names it on `server_ip`: the storage path, or the server's
    /// export (the same layout below it).
    pub node_storage: PathBuf,
    /// How the node reaches its container volume, when it has one.
    pub volume: Option<volume::Transport>,
    /// Fresh SSH host keys and machine-id instead of the old root's.
    pub new_identity: bool,
    /// `ssh_key`s to install (the main section's and the node's).
    pub ssh_keys: Vec<String>,
    /// A shared root: the image's root under the node's own changes, whose upper and work
    /// dirs go to `state_dir` (storage/roots/<node>); else a private copy in `nfs_dir`.
    pub shared: bool,
    pub state_dir: PathBuf,
}

impl ProvisionTarget {
    /// A router path under the storage as the node names it on `server_ip`.
    pub fn node_path(&self, p: &Path) -> String {
        match p.strip_prefix(&self.storage) {
            Ok(rel) => self.node_storage.join(rel),
            Err(_) => p.to_path_buf(),
        }
        .to_string_lossy()
        .into_owned()
    }
}

/// The file in a shared root's state dir that names its image (the lower layer).
pub const STATE_IMAGE: &[u8] = b"image";

#[derive(Debug, Clone, Default)]
pub struct ProvisionOptions {
    pub user: Option<String>,
    pub password_hash: Option<String>,
    pub job: Option<String>,
    /// `--volume-size`: recorded as the node's `volume_size`, the volume made or grown.
    pub volume_size: Option<String>,
    pub new_identity: bool,
    /// Keep the old trees beside the new ones as `.<leaf>.prev` (an image roll deletes
    /// them once the node is up, or `node rollback` swaps them back).
    pub keep_previous: bool,
}

pub use crate::plan::world::{kept_image_file, kept_name};

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

/// A node's new boot and root trees, built in staging directories beside the live ones and
/// not yet switched in.
pub struct Built {
    pub report: ProvisionReport,
    pub(crate) boot: Slot,
    /// The new root (copy), or the new mount point of a shared root.
    pub(crate) root: Slot,
    /// A shared root's new state dir (its upper and work dirs).
    pub(crate) state: Option<Slot>,
}

impl Built {
    /// Drop the new trees (a provision that is not switched in).
    pub(crate) fn discard(self) {
        for s in [Some(&self.boot), Some(&self.root), self.state.as_ref()]
            .into_iter()
            .flatten()
        {
            let _ = s.parent.remove_tree(&s.staging);
        }
    }
}

/// Build `target`'s boot and root from the imported image at `image_dir` (a router path)
/// in staging directories beside the live trees; [`switch::switch`] puts them in place.
pub fn build(
    root: &Root,
    target: &ProvisionTarget,
    image_dir: &Path,
    opts: &ProvisionOptions,
    job: &mut Job,
) -> Result<Built> {
    // Everything that can be refused is refused before any write.
    for d in [&target.tftp_dir, &target.nfs_dir, &target.state_dir] {
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
    let lower = image_dir.join("root");
    let src = Source {
        boot: &img_boot,
        root: &img_root,
        lower: &lower,
        name: &image_name,
    };
    let mut built = build_trees(root, target, &src, user, total, job)?;
    built.report.image = image_name;
    Ok(built)
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
pub(crate) struct Slot {
    pub(crate) parent: Dir,
    pub(crate) leaf: Vec<u8>,
    pub(crate) staging: Vec<u8>,
    pub(crate) shown: String,
}

impl Slot {
    /// Router path of the staging directory.
    pub(crate) fn staging_path(&self) -> String {
        let parent = Path::new(&self.shown).parent().unwrap_or(Path::new("/"));
        format!(
            "{}/{}",
            parent.display(),
            String::from_utf8_lossy(&self.staging)
        )
    }

    /// Where a shared root's staging overlay is mounted.
    pub(crate) fn merged_path(&self) -> String {
        format!("{}/merged", self.staging_path())
    }
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

/// The imported image a node is built from.
struct Source<'a> {
    boot: &'a Dir,
    root: &'a Dir,
    /// Router path of its root tree: a shared root's lower layer.
    lower: &'a Path,
    name: &'a str,
}

fn build_trees(
    root: &Root,
    t: &ProvisionTarget,
    src: &Source,
    user: Option<(&str, &str)>,
    total: u64,
    job: &mut Job,
) -> Result<Built> {
    let mut slots: Vec<Slot> = Vec::new();
    let wanted = [
        Some(&t.tftp_dir),
        Some(&t.nfs_dir),
        t.shared.then_some(&t.state_dir),
    ];
    for dir in wanted.into_iter().flatten() {
        match slot(root, dir) {
            Ok(s) => slots.push(s),
            Err(e) => {
                for s in &slots {
                    let _ = s.parent.remove_tree(&s.staging);
                }
                return Err(e);
            }
        }
    }
    let state = (slots.len() == 3).then(|| slots.pop()).flatten();
    let (Some(rootfs), Some(boot)) = (slots.pop(), slots.pop()) else {
        bail!("internal: provision slots");
    };
    let (img_boot, img_root) = (src.boot, src.root);
    let mut reimaged = false;
    let r = (|| {
        let nb = boot
            .parent
            .open_dir(&boot.staging)
            .ctx(|| "staging".into())?;
        // A shared root is edited through an overlay of its own mounted in its state dir;
        // the edits land in its upper dir. A copy is edited where it is.
        let shared = match &state {
            Some(st) => Some(SharedStaging::mount(root, st, src)?),
            None => None,
        };
        let nr = match &shared {
            Some(sh) => sh.merged()?,
            None => rootfs
                .parent
                .open_dir(&rootfs.staging)
                .ctx(|| "staging".into())?,
        };
        let mut done_boot = 0u64;
        let mut progress = |bytes: u64, files: u64| {
            job.update(done_boot + bytes, total, files, "copying");
        };
        let sb = copy::copy_tree(img_boot, &nb, "boot", &mut progress)?;
        done_boot = sb.bytes;
        let mut progress = |bytes: u64, files: u64| {
            job.update(done_boot + bytes, total, sb.files + files, "copying");
        };
        let sr = match shared {
            Some(_) => copy::CopyStats::default(),
            None => copy::copy_tree(img_root, &nr, "root", &mut progress)?,
        };
        let os = crate::image::os_release::read_codename(&nr);
        let mut list = customise::apply(t, &nb, &nr, user, &os)?;
        let old_root = rootfs.parent.open_dir(&rootfs.leaf).ok();
        // A reimage replaces a root that booted or was provisioned (has an etc), not the
        // empty directory `node add` made.
        reimaged = old_root.as_ref().is_some_and(|d| d.lstat(b"etc").is_ok());
        if let (Some(old), false) = (&old_root, t.new_identity) {
            let c = identity::carry(old, &nr)?;
            if c.machine_id || c.host_keys > 0 {
                list.push(format!(
                    "identity kept ({}{} host keys)",
                    if c.machine_id { "machine-id, " } else { "" },
                    c.host_keys
                ));
            }
        }
        if t.model == "pi3" {
            customise::bootcode_at_tftp_root(&nb, &boot.parent)?;
        }
        for (d, what) in [(&nb, "boot"), (&nr, "root")] {
            if nix::unistd::syncfs(d).is_err() {
                bail!("failed to sync the new {what} tree");
            }
        }
        drop(nr);
        if let Some(sh) = shared {
            sh.unmount()?;
            list.push(format!("shared root over image '{}'", src.name));
        }
        Ok(ProvisionReport {
            node: t.node.clone(),
            image: String::new(),
            files: sb.files + sr.files,
            bytes: sb.bytes + sr.bytes,
            reimaged,
            os,
            edits: list,
        })
    })();
    let built = Built {
        report: ProvisionReport::default(),
        boot,
        root: rootfs,
        state,
    };
    match r {
        Ok(report) => Ok(Built { report, ..built }),
        Err(e) => {
            if let Some(st) = &built.state {
                let _ = crate::system::overlay::unmount(root, &st.merged_path());
            }
            built.discard();
            Err(e)
        }
    }
}

/// The overlay a shared root is edited through while it is built: the image's root under
/// the new state dir's upper, mounted on its `merged` dir.
struct SharedStaging<'a> {
    root: &'a Root,
    at: String,
    slot: &'a Slot,
}

impl<'a> SharedStaging<'a> {
    fn mount(root: &'a Root, slot: &'a Slot, src: &Source) -> Result<SharedStaging<'a>> {
        let d = slot
            .parent
            .open_dir(&slot.staging)
            .ctx(|| "staging".into())?;
        for sub in [&b"upper"[..], b"work", b"merged"] {
            d.mkdir(sub, 0o755)
                .ctx(|| format!("failed to create the overlay dirs in {}", slot.shown))?;
        }
        crate::system::fsys::replace(
            &d,
            STATE_IMAGE,
            format!("{}\n", src.name).as_bytes(),
            0o644,
            None,
            false,
        )
        .ctx(|| format!("failed to write the image name in {}", slot.shown))?;
        let at = slot.merged_path();
        let base = slot.staging_path();
        crate::system::overlay::mount(
            root,
            &src.lower.to_string_lossy(),
            &format!("{base}/upper"),
            &format!("{base}/work"),
            &at,
        )?;
        Ok(SharedStaging { root, at, slot })
    }

    fn merged(&self) -> Result<Dir> {
        Dir::open_path(&self.root.path(&self.at)).ctx(|| format!("failed to open {}", self.at))
    }

    /// Unmount it (every handle into it closed first) and remove its mount point.
    fn unmount(self) -> Result<()> {
        crate::system::overlay::unmount(self.root, &self.at)?;
        let d = self
            .slot
            .parent
            .open_dir(&self.slot.staging)
            .ctx(|| "staging".into())?;
        d.unlink(b"merged", true)
            .ctx(|| format!("failed to remove the mount point {}", self.at))
    }
}

/// The node's volume size: `--volume-size` when given (checked as the option is), else
/// the config's. None: no volume.
pub(crate) fn volume_size(
    config: &crate::config::Config,
    node: &crate::config::Node,
    asked: Option<&str>,
) -> Result<Option<u64>> {
    match asked {
        None => Ok(config.volume_size_of(node)),
        Some(v) => match crate::config::parse_size(v) {
            Some(0) => Ok(None),
            Some(size) => Ok(Some(size)),
            None => bail!(
                "--volume-size '{}' is not a size like 32G (M, G or T; 256M to 16T, or 0 for none)",
                v.escape_debug()
            ),
        },
    }
}

/// Make or grow the node's volume file before its root names it, warn when the volumes
/// could outgrow the SSD, and say how the node reaches it.
pub(crate) fn ensure_volume(
    root: &Root,
    world: &crate::plan::world::World,
    node: &crate::config::Node,
    size: u64,
) -> Result<volume::Transport> {
    let storage = world.storage.require_mounted(&world.config)?;
    let storage = storage.to_string_lossy();
    let (server, node_storage) = world.storage_for_nodes(root)?;
    let dir = node.volume_dir(&storage);
    let ch = volume::ensure(root, &node.name, &dir, size)?;
    log::info!("volume of {}: {ch:?}", node.name);
    let held: Vec<(u64, u64)> = world
        .config
        .nodes
        .iter()
        .filter_map(|n| volume::stat(root, &n.volume_dir(&storage)))
        .collect();
    if let Some(w) = volume::free_bytes(root, &storage).and_then(|f| volume::overcommit(f, &held)) {
        log::warn!("{w}");
        eprintln!("rpinet: warning: {w}");
    }
    Ok(volume::Transport::NfsLoop {
        server,
        export: node.volume_dir(&node_storage),
    })
}

/// Record in /etc/config/rpinet that node `name` runs `image` (its `image`
/// option) and, when given, its `volume_size`, through the core's change (validated,
/// committed with its work: the volume's export goes in with it).
pub fn record_image(
    root: &Root,
    lock: &StateLock,
    name: &str,
    image: &str,
    volume_size: Option<&str>,
) -> Result<()> {
    crate::plan::change_config(root, lock, |pkg| {
        let mut pkg = pkg.clone();
        let Some(i) = pkg.find(name) else {
            bail!("node '{name}' vanished from the config while it was provisioned");
        };
        if let Some(sec) = pkg.sections.get_mut(i) {
            sec.set("image", image);
            if let Some(size) = volume_size.and_then(crate::config::parse_size) {
                sec.set("volume_size", &crate::config::size_text(size));
            }
        }
        Ok(pkg)
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A node on an NFS server names its trees under the export, in the storage's layout.
    #[test]
    fn a_node_names_its_trees_as_the_server_exports_them() {
        let mut t = ProvisionTarget {
            node: "lion".into(),
            hostname: "lion".into(),
            model: "pi4".into(),
            tftp_dir: "/mnt/rpinet/tftp/11111111".into(),
            nfs_dir: "/mnt/rpinet/nfs/lion".into(),
            server_ip: Ipv4Addr::new(10, 0, 0, 9),
            storage: "/mnt/rpinet".into(),
            node_storage: "/tank/rp".into(),
            volume: None,
            new_identity: false,
            ssh_keys: Vec::new(),
            shared: false,
            state_dir: "/mnt/rpinet/roots/lion".into(),
        };
        assert_eq!(t.node_path(&t.nfs_dir), "/tank/rp/nfs/lion");
        assert_eq!(t.node_path(&t.tftp_dir), "/tank/rp/tftp/11111111");
        t.node_storage = t.storage.clone();
        assert_eq!(t.node_path(&t.nfs_dir), "/mnt/rpinet/nfs/lion");
    }
}
