//! The API: what users and LuCI ask for, over the command line and ubus (rpcd), and the
//! jobs that carry out long requests.

pub mod catalog;
pub mod images;
pub mod inventory;
pub mod node;
pub mod provision;
pub mod roll;
pub mod rpcd;
pub mod storage;
pub mod view;

use crate::error::Result;
use crate::system::lock::StateLock;
use crate::system::root::Root;

/// Start a command that changes state: take the state lock, finish a config write and node
/// switches that killed runs began, then delete what dead runs left.
pub fn begin(root: &Root) -> Result<StateLock> {
    let lock = crate::plan::begin(root)?;
    clean_up(root, &lock, true);
    Ok(lock)
}

/// What a command that only reads does first: the same clean-up when no other command holds
/// the lock (else that one does it), so leftovers go with the next command of any kind.
pub fn tidy(root: &Root) {
    if let Some(lock) = StateLock::try_acquire(root) {
        let _ = crate::plan::finish_config_writes(root, &lock);
        clean_up(root, &lock, false);
    }
}

/// Finish killed switches and sweep dead runs' leftovers: on the storage and in /etc always;
/// in dnsmasq's conf-dir and hosts dir (tiny temp files; finding them reads the dnsmasq
/// setup) only when `all`.
fn clean_up(root: &Root, lock: &StateLock, all: bool) {
    let Ok(config) = crate::plan::world::load_main(root) else {
        return;
    };
    let storage = crate::system::storage::check(root, &config);
    let mut dirs = vec!["/etc".to_string(), "/etc/config".to_string()];
    if let Some(sp) = storage.mounted_path() {
        crate::provision::switch::recover(root, lock, sp);
        dirs.extend(["images", "tftp", "nfs", "roots", "volumes"].map(|d| format!("{sp}/{d}")));
        dirs.push(sp.to_string());
    }
    if all {
        if let Ok(instance) = crate::plan::world::load_instance(root) {
            dirs.push(crate::render::hosts_dir(&instance.conf_dir));
            dirs.push(instance.conf_dir);
        }
    }
    crate::system::sweep::sweep(root, lock, &dirs);
}
