//! `rpinet storage exports` and ubus `storage_exports`: what the NFS server holding the
//! storage (`storage_server`) must export, for the router and for each node
//! ([`crate::render::exports::for_server`] renders it).

use crate::bail;
use crate::error::Result;
use crate::system::root::Root;

/// The exports the server of this config must have.
pub fn server_exports(root: &Root) -> Result<String> {
    let world = crate::plan::world::load(root)?;
    let Some(server) = &world.config.server else {
        bail!("storage is not on an NFS server: set storage_server and storage_export first");
    };
    Ok(crate::render::exports::for_server(&world.inputs(), server))
}

/// The ubus reply: `{"exports": TEXT}`.
pub fn reply(root: &Root) -> Result<serde_json::Value> {
    let view = crate::api::view::StorageExportsView {
        exports: server_exports(root)?,
    };
    Ok(crate::api::view::json(&view))
}
