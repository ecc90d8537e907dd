//! `rpinet node provision` as a whole: the long copy without the lock, then the switch and
//! the config record under it, reported in the job.

use crate::bail;
use crate::error::Result;
use crate::provision::{ProvisionOptions, ProvisionReport, ProvisionTarget};
use crate::system::job::Job;
use crate::system::root::Root;

/// `rpinet node provision NAME --image IMAGE`: the node's target from the config; the new
/// trees built beside the old ones (no lock held: that takes minutes); then, under the state
/// lock, the boot and root switched together and the image recorded in the config. The job
/// says done only then. Only one provision of a node runs at a time, and the image cannot be
/// deleted while it is copied.
pub fn provision_node(
    root: &Root,
    name: &str,
    image: &str,
    opts: &ProvisionOptions,
) -> Result<ProvisionReport> {
    crate::system::job::run(
        root,
        opts.job.as_deref(),
        "node_provision",
        |job| provision_locked(root, name, image, opts, job),
        ProvisionReport::summary,
    )
}

fn provision_locked(
    root: &Root,
    name: &str,
    image: &str,
    opts: &ProvisionOptions,
    job: &mut Job,
) -> Result<ProvisionReport> {
    let world = crate::plan::world::load(root)?;
    let storage = world.storage.require_mounted(&world.config)?;
    let Some(node) = world.config.node(name) else {
        bail!("node '{name}' does not exist");
    };
    let image = crate::config::check_image_name(image)?;
    let size = crate::provision::volume_size(&world.config, node, opts.volume_size.as_deref())?;
    let volume = size
        .map(|size| crate::provision::ensure_volume(root, &world, node, size))
        .transpose()?;
    let (server_ip, node_storage) = world.storage_for_nodes(root)?;
    let target = ProvisionTarget {
        node: node.name.clone(),
        hostname: node.hostname(),
        model: node.model.as_str().to_string(),
        tftp_dir: storage.join("tftp").join(node.boot_dir()),
        nfs_dir: storage.join("nfs").join(&node.name),
        server_ip,
        storage: storage.clone(),
        node_storage: node_storage.into(),
        volume,
        new_identity: opts.new_identity,
        ssh_keys: world.config.ssh_keys_of(node),
        shared: world.config.root_mode_of(node) == crate::config::RootMode::Shared,
        state_dir: storage.join("roots").join(&node.name),
    };
    let image_dir = storage.join("images").join(&image);
    let _busy = crate::provision::switch::node_busy(root, name)?;
    let _in_use = crate::provision::switch::image_in_use(root, &image_dir)?;
    let built = crate::provision::build(root, &target, &image_dir, opts, job)?;
    job.update(
        built.report.bytes,
        built.report.bytes,
        built.report.files,
        "switching",
    );
    let lock = super::begin(root)?;
    // The config may have changed while the trees were copied.
    let (_, now) = crate::plan::world::load_config(root)?;
    let same = now
        .node(name)
        .is_some_and(|n| storage.join("tftp").join(n.boot_dir()) == target.tftp_dir);
    if !same {
        built.discard();
        bail!(
            "node '{name}' was removed or changed while it was provisioned; nothing was switched"
        );
    }
    let mut rep = crate::provision::switch::switch(
        root,
        &lock,
        &target,
        &image,
        opts.volume_size.as_deref(),
        opts.keep_previous,
        built,
    )?;
    rep.image = image;
    Ok(rep)
}
