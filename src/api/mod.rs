//! The API: what users and LuCI ask for, over the command line and ubus (rpcd), and the
//! jobs that carry out long requests.

pub mod images;
pub mod node;
pub mod provision;
pub mod rpcd;
pub mod view;

use crate::error::Result;
use crate::system::lock::StateLock;
use crate::system::root::Root;

/// Start a command that changes state: take the state lock, finish a config write and node
/// switches that killed runs began, then delete what dead runs left on the storage.
pub fn begin(root: &Root) -> Result<StateLock> {
    let lock = crate::plan::begin(root)?;
    if let Ok((_, config)) = crate::plan::world::load_config(root) {
        let storage = crate::system::storage::check(root, &config);
        if let Some(sp) = storage.mounted_path() {
            crate::provision::switch::recover(root, &lock, sp);
        }
        crate::system::sweep::sweep(root, &lock, storage.mounted_path());
    }
    Ok(lock)
}
