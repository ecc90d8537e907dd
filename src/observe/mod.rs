//! Observation: what the Pis and the services did, read from the system in one place, and
//! the pure decisions over it (boot traces, discovered Pis, status facts, doctor findings).

pub mod discover;
pub mod doctor;
pub mod events;
pub mod facts;
pub mod report;
pub mod trace;
pub mod ubus;

use crate::config::Config;
use crate::system::root::Root;
use events::Event;
use trace::Boot;

/// Each node's last boot (with its report and stall hint, as `status` shows it) and the Pis
/// that are not nodes, from `events`.
pub fn observe(
    root: &Root,
    cfg: &Config,
    events: &[Event],
) -> (Vec<(String, Boot)>, Vec<discover::Discovered>) {
    let keys = trace::node_keys(cfg);
    let tftp_root = trace::tftp_root(cfg);
    let boots = trace::boots(root, cfg, events);
    let macs: Vec<String> = keys.iter().map(|k| k.mac.clone()).collect();
    let dirs: Vec<String> = keys.iter().map(|k| k.boot_dir.clone()).collect();
    let disc = discover::discover(events, &macs, &dirs, tftp_root.as_deref());
    (boots, disc)
}
