//! `rpinet node provision`: build a node's boot and root from an imported image.

pub mod edits;

pub use edits::os_release_codename;

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use crate::bail;
use crate::error::Result;
use crate::root::Root;

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
    pub storage: PathBuf,
}

#[derive(Debug, Clone, Default)]
pub struct ProvisionOptions {
    pub user: Option<String>,
    pub password_hash: Option<String>,
    pub job: Option<String>,
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
            "provisioned {} from {} ({} files, {} MiB{}): {}",
            self.node,
            self.image,
            self.files,
            self.bytes >> 20,
            if self.reimaged { ", reimaged" } else { "" },
            self.edits.join(", ")
        )
    }
}

pub fn provision(
    _root: &Root,
    _target: &ProvisionTarget,
    _image_dir: &Path,
    _opts: &ProvisionOptions,
) -> Result<ProvisionReport> {
    bail!("node provision is not built yet")
}

/// Stand-in until main's config types are merged: the node's section of
/// /etc/config/rpinet read line by line.
pub fn target_stand_in(root: &Root, storage: &Path, name: &str) -> Result<ProvisionTarget> {
    let _ = (root, storage, name);
    bail!("node provision is not built yet")
}
