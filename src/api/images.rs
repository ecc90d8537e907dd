//! The imported OS images under storage_path/images/: the `images` list and `image_delete`
//! (docs/api.md). Only the mounted SSD is looked at: with no storage configured, or the SSD
//! not mounted, there are no images (the core's guard, `system::storage::check`, decides).

use serde_json::{Value, json};

use crate::api::view;
use crate::config;
use crate::error::{Context, Error, Result};
use crate::image::{self, ImportOptions, ImportReport, Origin};
use crate::plan::world;
use crate::system::root::Root;
use crate::system::storage;

/// `rpinet image import`: the SSD guard first (a failure is the job's too), then the import.
pub fn import(root: &Root, origin: &Origin, opts: &ImportOptions) -> Result<ImportReport> {
    let guard = world::load_config(root)
        .and_then(|(_, config)| storage::check(root, &config).require_mounted(&config));
    let storage = match guard {
        Ok(s) => s,
        Err(e) => {
            crate::system::job::fail(root, opts.job.as_deref(), "image_import", e.message());
            return Err(e);
        }
    };
    image::import(root, &storage, origin, opts)
}

/// At most this many entries of images/ are read.
const MAX_IMAGES: usize = 1024;

/// `images`: the imported images, by name.
pub fn list(root: &Root) -> Result<Value> {
    let (_, config) = world::load_config(root)?;
    let mut out = Vec::new();
    if let Some(sp) = storage::check(root, &config).mounted_path() {
        if let Ok(rd) = std::fs::read_dir(root.path(format!("{sp}/images"))) {
            for e in rd.flatten().take(MAX_IMAGES) {
                let name = e.file_name().to_string_lossy().into_owned();
                if name.starts_with('.') || !e.path().is_dir() {
                    continue;
                }
                out.push(view::image(&config, &name, &e.path()));
            }
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(json!({ "images": out }))
}

/// `image_delete`: take an unused image out of images/ at once (a rename, so
/// it is gone from `images` and nothing half-deleted is ever listed), then
/// delete its files in a detached child: a root tree takes longer than rpcd's
/// budget. Leftovers of an interrupted delete are swept by the next one.
pub fn delete(root: &Root, name: &str) -> Result<Value> {
    config::check_image_name(name).map_err(|e| Error::new(format!("image_delete: {e}")))?;
    let _lock = crate::api::begin(root)?;
    let (_, core) = world::load_config(root)?;
    let storage = storage::check(root, &core);
    let Some(sp) = storage.mounted_path() else {
        return Err(Error::new(format!(
            "image_delete: {}",
            storage.describe(&core)
        )));
    };
    let users: Vec<&str> = core
        .nodes
        .iter()
        .filter(|n| n.image.as_deref() == Some(name))
        .map(|n| n.name.as_str())
        .collect();
    if !users.is_empty() {
        return Err(Error::new(format!(
            "image '{name}' is used by node {}: provision them from another image first",
            users.join(", ")
        )));
    }
    // A shared root's lower layer may never change nor go (docs/facts.md §3.5): the image of
    // every state dir, kept ones and those of removed nodes included.
    let mut layered = Vec::new();
    if let Ok(rd) = std::fs::read_dir(root.path(format!("{sp}/roots"))) {
        for e in rd.flatten() {
            if std::fs::read_to_string(e.path().join("image")).is_ok_and(|s| s.trim() == name) {
                let leaf = e.file_name().to_string_lossy().into_owned();
                layered.push(
                    match leaf.strip_prefix('.').and_then(|l| l.strip_suffix(".prev")) {
                        Some(node) => format!("{node} (its root kept for a rollback)"),
                        None => leaf,
                    },
                );
            }
        }
    }
    if !layered.is_empty() {
        return Err(Error::new(format!(
            "image '{name}' is the shared root of node {}: provision them from another image first",
            layered.join(", ")
        )));
    }
    let images = root.path(format!("{sp}/images"));
    let dir = images.join(name);
    if !dir.is_dir() {
        return Err(Error::new(format!("no imported image '{name}'")));
    }
    if crate::provision::switch::image_busy(&dir) {
        return Err(Error::new(format!(
            "image '{name}' is being copied to a node by a running provision: delete it when that job has ended"
        )));
    }
    let trash = images.join(format!(".deleting-{name}-{}", std::process::id()));
    std::fs::rename(&dir, &trash).ctx(|| format!("failed to move {} aside", dir.display()))?;
    sweep_detached(&images);
    Ok(json!({ "deleted": name }))
}

/// Delete every `.deleting-*` directory under `images` in a detached child.
fn sweep_detached(images: &std::path::Path) {
    let sweep = || {
        if let Ok(rd) = std::fs::read_dir(images) {
            for e in rd.flatten() {
                if e.file_name().to_string_lossy().starts_with(".deleting-") {
                    let _ = std::fs::remove_dir_all(e.path());
                }
            }
        }
    };
    if let Err(e) = crate::system::process::detach(sweep) {
        log::warn!("image_delete: cannot start the deleting process: {e}");
    }
}

/// Where ubus `image_import` may read an image (it runs as root for any LuCI user with the
/// write ACL): a regular file, not a symlink, under the mounted storage path but not in its
/// tftp/ or nfs/ trees (the nodes write there, as root of their own NFS root), or under /tmp
/// (where LuCI uploads land). The command line, run by root at a shell, may read any file.
pub fn check_import_path(root: &Root, path: &str) -> Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let (_, config) = world::load_config(root)?;
    let storage = storage::check(root, &config);
    let under = |dir: &str| {
        path.strip_prefix(dir)
            .is_some_and(|rest| rest.starts_with('/') && rest.len() > 1)
    };
    let allowed = match storage.mounted_path() {
        Some(sp) => under(sp) && !under(&format!("{sp}/nfs")) && !under(&format!("{sp}/tftp")),
        None => false,
    } || under("/tmp");
    if !allowed {
        return Err(Error::new(format!(
            "'{path}' is not under the storage path (outside its tftp/ and nfs/) or /tmp"
        )));
    }
    let f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(root.path(path))
        .map_err(|e| match e.raw_os_error() {
            Some(libc::ELOOP) => Error::new(format!("'{path}' is a symlink")),
            Some(libc::ENOENT) => Error::new(format!("no file '{path}'")),
            _ => Error::new(format!("cannot open '{path}': {e}")),
        })?;
    if !f.metadata().is_ok_and(|m| m.is_file()) {
        return Err(Error::new(format!("'{path}' is not a regular file")));
    }
    Ok(())
}
