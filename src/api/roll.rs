//! Rolling an image over nodes: `rpinet image roll IMAGE` (ubus `image_roll`)
//! reimages every node running image `--from` — or the `--nodes` named — to
//! IMAGE, `--batch` nodes at a time (UCI `roll_batch`, default 2). Each node
//! is provisioned keeping its previous root beside the new one
//! (`.<node>.prev`, [`crate::provision::kept_name`]); when its boot trace
//! shows it up on the new root, the kept one is deleted. A node that does not
//! come up (a boot error, or no `up` within the boot timeout) stops the roll:
//! the job reports it with its boot trace, the nodes after it are left as
//! they are, and `rpinet node rollback NODE` (ubus `node_rollback`) puts it
//! back on its kept root.
//!
//! Deciding is pure: [`select`] (which nodes) and [`judge`] (what a boot says
//! since the switch). Node volumes live outside the node root, so a roll and
//! a rollback leave them alone.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::api::view::RollNode;
use crate::bail;
use crate::config::Config;
use crate::error::{Context, Error, Result};
use crate::observe::trace::{Boot, Stage};
use crate::provision::switch::{Journal, Side};
use crate::provision::{ProvisionOptions, kept_image_file, kept_name};
use crate::system::fsys::Dir;
use crate::system::job::Job;
use crate::system::root::Root;

/// What a roll was asked to do.
#[derive(Debug, Clone)]
pub struct RollRequest {
    pub image: String,
    pub from: Option<String>,
    pub nodes: Vec<String>,
    pub batch: Option<u32>,
    /// How long a node may take to report up on the new image.
    pub boot_timeout: Duration,
    pub job: Option<String>,
}

/// Node names as given: separated by spaces or commas.
pub fn split_names(v: &str) -> Vec<String> {
    v.split([' ', ','])
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}

/// The nodes a roll reimages, in config order: the ones named, or every node
/// whose image is `from`.
pub fn select(
    cfg: &Config,
    image: &str,
    from: Option<&str>,
    nodes: &[String],
) -> Result<Vec<String>> {
    crate::config::check_image_name(image)?;
    if !nodes.is_empty() {
        for n in nodes {
            if cfg.node(n).is_none() {
                bail!("image roll: no node '{}'", n.escape_debug());
            }
        }
        return Ok(cfg
            .nodes
            .iter()
            .filter(|n| nodes.contains(&n.name))
            .map(|n| n.name.clone())
            .collect());
    }
    let Some(from) = from else {
        bail!("image roll: name the nodes (--nodes) or the image they run (--from)");
    };
    crate::config::check_image_name(from)?;
    if from == image {
        bail!("image roll: the nodes already run '{image}'");
    }
    let picked: Vec<String> = cfg
        .nodes
        .iter()
        .filter(|n| n.image.as_deref() == Some(from))
        .map(|n| n.name.clone())
        .collect();
    if picked.is_empty() {
        bail!("image roll: no node runs image '{from}'");
    }
    Ok(picked)
}

/// What a node's last boot says, `since` the switch (Unix seconds), at `now`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Waiting(Stage),
    /// The node reported a healthy boot (`running`).
    Running,
    Failed(String),
}

pub fn judge(boot: &Boot, since: u64, now: u64, timeout: u64) -> Verdict {
    let late = now >= since.saturating_add(timeout);
    if boot.stage == Stage::None || boot.started < since {
        return if late {
            Verdict::Failed(format!("no boot seen within {timeout} s of the switch"))
        } else {
            Verdict::Waiting(Stage::None)
        };
    }
    match boot.stage {
        Stage::Running => return Verdict::Running,
        Stage::Degraded | Stage::Emergency => {
            return Verdict::Failed(format!(
                "its boot ended {}: {}",
                boot.stage.as_str(),
                boot.problems.join("; ")
            ));
        }
        _ => {}
    }
    if let Some(e) = &boot.error {
        return Verdict::Failed(e.clone());
    }
    if boot.stalled {
        return Verdict::Failed(match &boot.hint {
            Some(h) => format!("stalled at stage {}: {h}", boot.stage.as_str()),
            None => format!("stalled at stage {}", boot.stage.as_str()),
        });
    }
    if late {
        return Verdict::Failed(format!(
            "stopped at stage {} for {timeout} s",
            boot.stage.as_str()
        ));
    }
    Verdict::Waiting(boot.stage)
}

/// The kept trees of a node: (parent dir, leaf) of its root, its boot dir and a shared
/// root's state dir.
fn node_slots(storage: &Path, cfg: &Config, name: &str) -> Result<[(PathBuf, String); 3]> {
    let Some(n) = cfg.node(name) else {
        bail!("no node '{}'", name.escape_debug());
    };
    Ok([
        (storage.join("nfs"), n.name.clone()),
        (storage.join("tftp"), n.boot_dir()),
        (storage.join("roots"), n.name.clone()),
    ])
}

/// Delete a node's kept trees (it is up on the new ones).
fn drop_kept(root: &Root, slots: &[(PathBuf, String); 3]) -> Result<()> {
    for (parent, leaf) in slots {
        let p = root.path(parent);
        let Ok(d) = Dir::open_path(&p) else {
            continue; // no shared roots yet: no roots/
        };
        d.remove_tree(&kept_name(leaf.as_bytes())).ctx(|| {
            format!(
                "failed to delete the kept tree of {}/{leaf}",
                parent.display()
            )
        })?;
        let _ = d.unlink(&kept_image_file(leaf), false);
    }
    Ok(())
}

/// `rpinet image roll`: reimage the selected nodes, a batch at a time.
pub fn run(root: &Root, req: &RollRequest) -> Result<String> {
    let mut job = Job::start(root, req.job.as_deref(), "image_roll")?;
    let r = roll(root, req, &mut job);
    match &r {
        Ok(m) => job.finish(true, m),
        Err(e) => job.finish(false, e.message()),
    }
    r
}

fn roll(root: &Root, req: &RollRequest, job: &mut Job) -> Result<String> {
    let world = crate::plan::world::load(root)?;
    let storage = world.storage.require_mounted(&world.config)?;
    let cfg = &world.config;
    let names = select(cfg, &req.image, req.from.as_deref(), &req.nodes)?;
    if !root.path(storage.join("images").join(&req.image)).is_dir() {
        bail!("image roll: no imported image '{}'", req.image);
    }
    let batch = req.batch.unwrap_or(cfg.fleet.roll_batch).clamp(1, 64) as usize;
    let timeout = req.boot_timeout.as_secs().max(1);
    let mut nodes: Vec<RollNode> = names
        .iter()
        .map(|n| RollNode {
            name: n.clone(),
            state: "pending",
            stage: "none",
            error: None,
            boot: None,
        })
        .collect();
    let show = |job: &mut Job, nodes: &[RollNode], msg: &str| {
        job.nodes(crate::api::view::json(&nodes), msg);
    };
    for (b, chunk) in (0..names.len())
        .collect::<Vec<_>>()
        .chunks(batch)
        .enumerate()
    {
        let mut switched = Vec::new();
        for &i in chunk {
            let name = names[i].clone();
            nodes[i].state = "provisioning";
            show(
                job,
                &nodes,
                &format!("batch {}: provisioning {name}", b + 1),
            );
            let slots = node_slots(&storage, cfg, &name)?;
            // the image the kept root came from, for a rollback
            if let Some(prev) = cfg.node(&name).and_then(|n| n.image.clone()) {
                let p = root.path(&slots[0].0);
                std::fs::create_dir_all(&p).ctx(|| format!("failed to create {}", p.display()))?;
                let d = Dir::open_path(&p).ctx(|| format!("failed to open {}", p.display()))?;
                crate::system::fsys::replace(
                    &d,
                    &kept_image_file(&slots[0].1),
                    prev.as_bytes(),
                    0o644,
                    None,
                    true,
                )
                .ctx(|| "failed to record the previous image".into())?;
            }
            let opts = ProvisionOptions {
                keep_previous: true,
                ..ProvisionOptions::default()
            };
            if let Err(e) = crate::api::provision::provision_node(root, &name, &req.image, &opts) {
                nodes[i].state = "failed";
                nodes[i].error = Some(e.message().to_string());
                show(job, &nodes, e.message());
                bail!("image roll stopped: {name} could not be provisioned: {e}");
            }
            nodes[i].state = "booting";
            switched.push((i, crate::observe::events::now(), slots));
        }
        while !switched.is_empty() {
            let waiting = format!(
                "batch {}: waiting for {} node(s) to come up",
                b + 1,
                switched.len()
            );
            show(job, &nodes, &waiting);
            std::thread::sleep(Duration::from_secs(1));
            let (_, cfg_now) = crate::plan::world::load_config(root)?;
            let log = crate::observe::events::gather(root)?;
            let boots = crate::observe::trace::boots(root, &cfg_now, &log.events());
            let now = crate::observe::events::now();
            let mut k = 0;
            while k < switched.len() {
                let (i, since, _) = &switched[k];
                let i = *i;
                let none = Boot::none();
                let boot = boots
                    .iter()
                    .find(|(n, _)| *n == names[i])
                    .map_or(&none, |(_, b)| b);
                nodes[i].stage = boot.stage.as_str();
                match judge(boot, *since, now, timeout) {
                    Verdict::Waiting(_) => k += 1,
                    Verdict::Running => {
                        let (_, _, slots) = switched.remove(k);
                        drop_kept(root, &slots)?;
                        nodes[i].state = "up";
                        show(job, &nodes, &format!("{} is up on {}", names[i], req.image));
                    }
                    Verdict::Failed(why) => {
                        nodes[i].state = "failed";
                        nodes[i].error = Some(why.clone());
                        nodes[i].boot = Some(boot.clone());
                        let msg = format!(
                            "image roll stopped: {} did not come up on {}: {why}; its previous root is kept (rpinet node rollback {})",
                            names[i], req.image, names[i]
                        );
                        show(job, &nodes, &msg);
                        return Err(Error::new(msg));
                    }
                }
            }
        }
    }
    Ok(format!(
        "rolled {} node(s) to {}: {}",
        names.len(),
        req.image,
        names.join(", ")
    ))
}

/// `rpinet node rollback NAME` / ubus `node_rollback`: switch the node's kept trees back
/// in and record their image, through the same journal as a provision (a killed rollback is
/// finished by the next command); the newer trees are deleted.
pub fn rollback(root: &Root, name: &str) -> Result<String> {
    if !crate::config::valid_node_name(name) {
        bail!(
            "node rollback: '{}' is not a node name",
            name.escape_debug()
        );
    }
    let lock = crate::api::begin(root)?;
    let _busy = crate::provision::switch::node_busy(root, name)?;
    let world = crate::plan::world::load(root)?;
    let storage = world.storage.require_mounted(&world.config)?;
    let slots = node_slots(&storage, &world.config, name)?;
    let mut sides = Vec::new();
    let mut dirs = Vec::new();
    for (k, (parent, leaf)) in slots.iter().enumerate() {
        let p = root.path(parent);
        let kept = kept_name(leaf.as_bytes());
        if k == 2 {
            // The state dir: the kept one back (a shared root), else the live one away (the
            // kept root is a copy).
            let Ok(d) = Dir::open_path(&p) else {
                continue;
            };
            match d.lstat(&kept) {
                Ok(st) => sides.push(Side {
                    live: parent.join(leaf),
                    staging: String::from_utf8_lossy(&kept).into_owned(),
                    ino: st.st_ino,
                }),
                Err(_) if d.lstat(leaf.as_bytes()).is_ok() => {
                    sides.push(crate::provision::switch::removal(&parent.join(leaf)))
                }
                Err(_) => {}
            }
            continue;
        }
        let d = Dir::open_path(&p).ctx(|| format!("failed to open {}", p.display()))?;
        let Ok(st) = d.lstat(&kept) else {
            bail!(
                "node '{name}' has no kept root in {}: a root is kept only while an image roll waits for the node",
                parent.display()
            );
        };
        sides.push(Side {
            live: parent.join(leaf),
            staging: String::from_utf8_lossy(&kept).into_owned(),
            ino: st.st_ino,
        });
        dirs.push(d);
    }
    let prev = dirs[0]
        .open_file(&kept_image_file(&slots[0].1), libc::O_RDONLY)
        .ok()
        .and_then(|f| std::io::read_to_string(std::io::Read::take(f, 256)).ok())
        .map(|s| s.trim().to_string())
        .filter(|s| crate::config::check_image_name(s).is_ok());
    let journal = Journal {
        node: name.to_string(),
        image: prev.clone().unwrap_or_default(),
        volume_size: String::new(),
        keep: false,
        sides,
    };
    crate::provision::switch::carry_out(root, &lock, &dirs[0], &journal)?;
    let _ = dirs[0].unlink(&kept_image_file(&slots[0].1), false);
    Ok(match prev {
        Some(img) => format!("rolled {name} back to its kept root ({img})"),
        None => format!("rolled {name} back to its kept root"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::uci;

    fn cfg() -> Config {
        let text = "config rpinet 'main'\n\
            config node 'a'\n option serial '11111111'\n option mac '02:00:00:00:00:01'\n option image 'old'\n\
            config node 'b'\n option serial '22222222'\n option mac '02:00:00:00:00:02'\n option image 'other'\n\
            config node 'c'\n option serial '33333333'\n option mac '02:00:00:00:00:03'\n option image 'old'\n";
        crate::config::from_package(&uci::parse(text, "rpinet").unwrap()).unwrap()
    }

    #[test]
    fn selects_by_image_or_by_name_in_config_order() {
        let c = cfg();
        assert_eq!(select(&c, "new", Some("old"), &[]).unwrap(), ["a", "c"]);
        assert_eq!(
            select(&c, "new", None, &split_names("c, a")).unwrap(),
            ["a", "c"]
        );
        for (from, nodes, err) in [
            (None, "", "name the nodes"),
            (Some("old"), "x", "no node 'x'"),
            (Some("gone"), "", "no node runs image 'gone'"),
            (Some("new"), "", "already run"),
            (Some("../x"), "", "not an image name"),
        ] {
            let e = select(&c, "new", from, &split_names(nodes)).unwrap_err();
            assert!(e.message().contains(err), "{e}");
        }
    }

    fn boot(stage: Stage, started: u64, error: Option<&str>) -> Boot {
        Boot {
            stage,
            started,
            updated: started,
            ip: String::new(),
            stages: Vec::new(),
            error: error.map(String::from),
            stalled: false,
            hint: None,
            report: None,
            problems: Vec::new(),
            report_error: None,
        }
    }

    #[test]
    fn a_boot_is_judged_since_the_switch() {
        let since = 1000;
        assert_eq!(
            judge(&boot(Stage::Up, 999, None), since, 1010, 60),
            Verdict::Waiting(Stage::None),
            "a boot before the switch"
        );
        assert_eq!(
            judge(&boot(Stage::Kernel, 1001, None), since, 1010, 60),
            Verdict::Waiting(Stage::Kernel)
        );
        // up is not enough: the roll waits for the node's report of a healthy boot
        assert_eq!(
            judge(&boot(Stage::Up, 1001, None), since, 1010, 60),
            Verdict::Waiting(Stage::Up)
        );
        assert_eq!(
            judge(&boot(Stage::Running, 1001, None), since, 1010, 60),
            Verdict::Running
        );
        let degraded = Boot {
            problems: vec!["failed: resize2fs_once.service".into()],
            ..boot(Stage::Degraded, 1001, None)
        };
        assert_eq!(
            judge(&degraded, since, 1010, 60),
            Verdict::Failed("its boot ended degraded: failed: resize2fs_once.service".into())
        );
        assert!(
            matches!(judge(&boot(Stage::Firmware, 1001, Some("start4.elf not found")), since, 1010, 60), Verdict::Failed(e) if e.contains("start4.elf"))
        );
        assert!(
            matches!(judge(&Boot::none(), since, 1060, 60), Verdict::Failed(e) if e.contains("no boot seen within 60 s"))
        );
        let stalled = Boot {
            stalled: true,
            hint: Some("check the NFS export".into()),
            ..boot(Stage::Nfs, 1001, None)
        };
        assert!(
            matches!(judge(&stalled, since, 1010, 600), Verdict::Failed(e) if e == "stalled at stage nfs: check the NFS export")
        );
        assert!(
            matches!(judge(&boot(Stage::Nfs, 1001, None), since, 1061, 60), Verdict::Failed(e) if e.contains("stopped at stage nfs"))
        );
    }
}
