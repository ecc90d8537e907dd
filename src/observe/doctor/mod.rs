//! `rpinet doctor`: every known cause of a failed netboot, each as a finding
//! with a level, a code, a message and the fix.
//!
//! Two halves: [`Snapshot::gather`] (`snapshot.rs`) reads what the system shows, the
//! services through the same gatherer as `status`; [`check`] (`checks.rs`) is pure, one
//! function a concern, so every finding is tested without a router.

mod checks;
mod snapshot;

use serde_json::{Value, json};

use crate::error::Result;
use crate::system::root::Root;

pub use checks::check;
pub use snapshot::Snapshot;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Error,
    Warning,
    Info,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Error => "error",
            Level::Warning => "warning",
            Level::Info => "info",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub level: Level,
    pub code: &'static str,
    pub node: String,
    pub message: String,
    pub fix: String,
}

impl Finding {
    pub fn to_json(&self) -> Value {
        json!({"level": self.level.as_str(), "code": self.code, "node": self.node,
               "message": self.message, "fix": self.fix})
    }
}

/// The EEPROM settings that carry a Pi through a boot storm (every Pi of the cluster powered
/// on at once), for `node show` and doctor.
pub const ROBUST_EEPROM: &str = "to ride out every Pi powering on at once: keep TFTP_FILE_TIMEOUT at 30000 or more (the 5000 minimum fails under load, and more so with initramfs8; 120000 when a hundred or more Pis start together), set NET_BOOT_MAX_RETRIES=-1 (retry the network boot forever), and end BOOT_ORDER in f (e.g. 0xf21: restart the boot order instead of halting)";

fn find(level: Level, code: &'static str, node: &str, message: String, fix: String) -> Finding {
    Finding {
        level,
        code,
        node: node.into(),
        message,
        fix,
    }
}

/// The `doctor` ubus method.
pub fn reply(root: &Root) -> Result<Value> {
    let f = check(&Snapshot::gather(root));
    Ok(json!({ "findings": f.iter().map(Finding::to_json).collect::<Vec<_>>() }))
}

/// `rpinet doctor [--json]`: exit 1 when anything is an error.
pub fn run(root: &Root, as_json: bool) -> Result<i32> {
    let f = check(&Snapshot::gather(root));
    if as_json {
        println!(
            "{}",
            json!({ "findings": f.iter().map(Finding::to_json).collect::<Vec<_>>() })
        );
    } else if f.is_empty() {
        println!("no problems found");
    } else {
        for x in &f {
            let who = if x.node.is_empty() {
                String::new()
            } else {
                format!(" [{}]", x.node)
            };
            println!(
                "{:<7} {}{}: {}\n        fix: {}",
                x.level.as_str(),
                x.code,
                who,
                x.message,
                x.fix
            );
        }
    }
    Ok(if f.iter().any(|x| x.level == Level::Error) {
        1
    } else {
        0
    })
}
