//! The rpcd exec-plugin protocol (docs/SPEC.md §4): /usr/libexec/rpcd/rpinet.
//!
//! rpcd runs `rpinet list` once at start and takes the method signatures from
//! the first JSON object on stdout (sample values give the argument types).
//! For each ubus call it runs `rpinet call METHOD`, writes the arguments as one
//! JSON object to stdin (cut at 65,536 bytes) and closes it, then replies
//! with the first JSON value on stdout; exit code and stderr are ignored, and
//! declared types are not enforced. So: every argument is checked here, stdin
//! of 64 KiB or more is refused, every answer is one JSON object (errors are
//! `{"error": "…"}`), and replies stay under [`MAX_REPLY`]. Work that takes
//! longer than rpcd's budget (image import, provisioning) runs as a detached
//! `rpinet` process whose state file /tmp/rpinet/jobs/<id>.json `job` reads.

use std::io::{Read, Write};

use serde_json::{Map, Value, json};

// Node names are checked by the config's own rule, the one `node add` and the UCI file obey.
use crate::api::view;
use crate::config::{check_image_name, valid_node_name};
use crate::error::{Context, Error, Result};
use crate::system::job::{self, JOBS_DIR};
use crate::system::root::Root;

/// rpcd cuts a request at this many bytes; a request this long is refused.
pub const MAX_REQUEST: usize = 64 * 1024;
/// Replies stay below this (ubusd drops rpcd's connection near 1 MiB).
pub const MAX_REPLY: usize = 256 * 1024;

/// Argument types, named by the sample value `list` prints.
#[derive(Clone, Copy)]
enum Ty {
    Str,
    Bool,
    /// A non-negative integer (sample 0).
    Int,
}

/// A method's arguments: (name, type, required).
type ArgSpec = &'static [(&'static str, Ty, bool)];

/// (method, arguments)
const METHODS: &[(&str, ArgSpec)] = &[
    (
        "status",
        &[
            ("offset", Ty::Int, false),
            ("limit", Ty::Int, false),
            ("filter", Ty::Str, false),
        ],
    ),
    (
        "node_add",
        &[
            ("name", Ty::Str, true),
            ("serial", Ty::Str, true),
            ("mac", Ty::Str, true),
            ("model", Ty::Str, false),
            ("boot_id", Ty::Str, false),
            ("boot_dir", Ty::Str, false),
            ("ip", Ty::Str, false),
            ("volume_size", Ty::Str, false),
        ],
    ),
    (
        "node_remove",
        &[("name", Ty::Str, true), ("purge", Ty::Bool, false)],
    ),
    // path OR url (an addition to docs/SPEC.md §4), and the optional checksum
    (
        "image_import",
        &[
            ("path", Ty::Str, false),
            ("url", Ty::Str, false),
            ("name", Ty::Str, false),
            ("sha256", Ty::Str, false),
        ],
    ),
    // an addition to docs/SPEC.md §4 (LuCI's images view uses it)
    ("image_delete", &[("name", Ty::Str, true)]),
    (
        "node_provision",
        &[
            ("name", Ty::Str, true),
            ("image", Ty::Str, true),
            ("volume_size", Ty::Str, false),
            ("new_identity", Ty::Bool, false),
            ("user", Ty::Str, false),
            ("password_hash", Ty::Str, false),
        ],
    ),
    ("job", &[("id", Ty::Str, true)]),
    ("images", &[]),
    ("discovered", &[]),
    ("doctor", &[]),
    // the fleet: images from the network, rolls, the Ansible inventory
    ("inventory", &[]),
    ("image_catalog", &[]),
    (
        "image_roll",
        &[
            ("image", Ty::Str, true),
            ("from", Ty::Str, false),
            ("nodes", Ty::Str, false),
            ("batch", Ty::Str, false),
        ],
    ),
    ("node_rollback", &[("name", Ty::Str, true)]),
    // storage on an NFS server: what that server must export
    ("storage_exports", &[]),
];

/// What `rpinet list` prints.
pub fn signatures() -> Value {
    let mut m = Map::new();
    for (name, args) in METHODS {
        let mut a = Map::new();
        for (arg, ty, _) in *args {
            a.insert(
                (*arg).into(),
                match ty {
                    Ty::Str => json!("str"),
                    Ty::Bool => json!(true),
                    Ty::Int => json!(0),
                },
            );
        }
        m.insert((*name).into(), Value::Object(a));
    }
    Value::Object(m)
}

/// Checked arguments of one call.
pub struct Args(Map<String, Value>);

impl Args {
    pub fn str(&self, k: &str) -> &str {
        self.0.get(k).and_then(Value::as_str).unwrap_or("")
    }
    pub fn opt(&self, k: &str) -> Option<&str> {
        self.0.get(k).and_then(Value::as_str)
    }
    pub fn bool(&self, k: &str) -> bool {
        self.0.get(k).and_then(Value::as_bool).unwrap_or(false)
    }
    pub fn int(&self, k: &str) -> usize {
        self.0
            .get(k)
            .and_then(Value::as_u64)
            .map_or(0, |n| usize::try_from(n).unwrap_or(usize::MAX))
    }
}

/// Parse and check the request bytes for `method`.
pub fn parse_request(method: &str, input: &[u8]) -> Result<Args> {
    let Some((_, spec)) = METHODS.iter().find(|(m, _)| *m == method) else {
        return Err(Error::new(format!("unknown method '{method}'")));
    };
    if input.len() >= MAX_REQUEST {
        return Err(Error::new("request refused: 64 KiB or more of arguments"));
    }
    let text = std::str::from_utf8(input).map_err(|_| Error::new("arguments are not UTF-8"))?;
    let v: Value = if text.trim().is_empty() {
        Value::Object(Map::new())
    } else {
        serde_json::from_str(text)
            .map_err(|e| Error::new(format!("arguments are not JSON: {e}")))?
    };
    let Value::Object(mut obj) = v else {
        return Err(Error::new("arguments must be a JSON object"));
    };
    obj.remove("ubus_rpc_session");
    for (k, v) in &obj {
        let Some((_, ty, _)) = spec.iter().find(|(a, _, _)| a == k) else {
            return Err(Error::new(format!("{method}: unknown argument '{k}'")));
        };
        let ok = match ty {
            Ty::Str => v.as_str().is_some_and(|s| s.len() <= 4096),
            Ty::Bool => v.is_boolean() || v.as_u64().is_some_and(|n| n <= 1),
            Ty::Int => v.as_u64().is_some_and(|n| n <= u64::from(u32::MAX)),
        };
        if !ok {
            let want = match ty {
                Ty::Str => "a string",
                Ty::Bool => "a boolean",
                Ty::Int => "a non-negative integer",
            };
            return Err(Error::new(format!(
                "{method}: argument '{k}' must be {want}"
            )));
        }
    }
    // rpcd sends booleans of a declared bool as 0/1 when they come from JSON ints
    for (arg, ty, _) in *spec {
        if let (Ty::Bool, Some(n)) = (ty, obj.get(*arg).and_then(Value::as_u64)) {
            obj.insert((*arg).into(), Value::Bool(n == 1));
        }
    }
    for (arg, _, required) in *spec {
        if *required
            && obj
                .get(*arg)
                .and_then(Value::as_str)
                .is_none_or(str::is_empty)
        {
            return Err(Error::new(format!(
                "{method}: argument '{arg}' is required"
            )));
        }
    }
    Ok(Args(obj))
}

/// A reply that fits rpcd: the object, or an error if it would not fit.
pub fn encode_reply(v: &Value) -> String {
    let s =
        serde_json::to_string(v).unwrap_or_else(|_| r#"{"error":"reply not encodable"}"#.into());
    if s.len() >= MAX_REPLY {
        return json!({"error": format!("reply too large ({} bytes); use the command line", s.len())})
            .to_string();
    }
    s
}

fn error_reply(e: &Error) -> Value {
    json!({ "error": e.message() })
}

/// `rpinet list`.
pub fn list() -> Result<i32> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}", signatures()).ctx(|| "failed to write stdout".to_string())?;
    Ok(0)
}

/// `rpinet call METHOD`: one JSON object on stdout whatever happens.
pub fn call(root: &Root, method: &str) -> Result<i32> {
    let mut buf = Vec::with_capacity(4096);
    let read = std::io::stdin()
        .lock()
        .take(MAX_REQUEST as u64)
        .read_to_end(&mut buf);
    let reply = match read {
        Err(e) => error_reply(&Error::new(format!("failed to read stdin: {e}"))),
        Ok(_) => match parse_request(method, &buf).and_then(|a| dispatch(root, method, &a)) {
            Ok(v) => v,
            Err(e) => error_reply(&e),
        },
    };
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}", encode_reply(&reply)).ctx(|| "failed to write stdout".to_string())?;
    Ok(0)
}

fn dispatch(root: &Root, method: &str, a: &Args) -> Result<Value> {
    match method {
        "status" => {
            let query = view::StatusQuery {
                offset: a.int("offset"),
                limit: a.int("limit"),
                filter: a.str("filter").to_string(),
            };
            view::read_status(root, &query).map(|v| view::json(&v.fit(MAX_REPLY - 4096)))
        }
        "node_add" => node_add(root, a),
        "node_remove" => node_remove(root, a.str("name"), a.bool("purge")),
        "image_import" => start_image_import(root, a),
        "node_provision" => start_node_provision(root, a),
        "job" => read_job(root, a.str("id")),
        "images" => crate::api::images::list(root),
        "image_delete" => crate::api::images::delete(root, a.str("name")),
        "discovered" => discovered(root),
        "doctor" => crate::observe::doctor::reply(root),
        "inventory" => crate::api::inventory::reply(root),
        "storage_exports" => crate::api::storage::reply(root),
        "image_catalog" => crate::api::catalog::reply(root),
        "image_roll" => start_image_roll(root, a),
        "node_rollback" => crate::api::roll::rollback(root, a.str("name"))
            .map(|_| json!({ "rolled_back": a.str("name") })),
        other => Err(Error::new(format!("unknown method '{other}'"))),
    }
}

/// `discovered`: the Pis that asked to boot and are no node.
fn discovered(root: &Root) -> Result<Value> {
    let (_, cfg) = crate::plan::world::load_config(root)?;
    let log = crate::observe::events::gather(root)?;
    let (_, found) = crate::observe::observe(root, &cfg, &log.events());
    let found: Vec<Value> = found.iter().map(|d| d.to_json()).collect();
    Ok(json!({ "discovered": found }))
}

/// `node_add`: the core's `node add` (what the command line runs), answered with the node
/// as `status` shows it. An empty optional argument counts as absent.
fn node_add(root: &Root, a: &Args) -> Result<Value> {
    let own = |k: &str| a.opt(k).filter(|s| !s.is_empty()).map(str::to_string);
    let req = crate::config::request::NodeRequest {
        name: a.str("name").into(),
        serial: a.str("serial").into(),
        mac: a.str("mac").into(),
        model: own("model"),
        boot_id: own("boot_id"),
        boot_dir: own("boot_dir"),
        ip: own("ip"),
        volume_size: own("volume_size"),
    };
    let added = crate::api::node::add(root, &req)?;
    Ok(json!({ "node": added }))
}

/// `node_remove`: the core's `node remove`.
fn node_remove(root: &Root, name: &str, purge: bool) -> Result<Value> {
    let purged = crate::api::node::remove(root, name, purge)?;
    Ok(json!({ "removed": name, "purged": purged }))
}

fn read_job(root: &Root, id: &str) -> Result<Value> {
    job::check_id(id)?;
    let path = root.path(format!("{JOBS_DIR}/{id}.json"));
    let text = match std::fs::read(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(Error::new(format!("no job '{id}'")));
        }
        Err(e) => {
            return Err(Error::new(format!(
                "failed to read {}: {e}",
                path.display()
            )));
        }
    };
    if text.len() >= MAX_REPLY {
        return Err(Error::new(format!("job '{id}': state file too large")));
    }
    let v: Value = serde_json::from_slice(&text)
        .map_err(|e| Error::new(format!("job '{id}': state file is not JSON: {e}")))?;
    let Value::Object(mut m) = v else {
        return Err(Error::new(format!(
            "job '{id}': state file is not an object"
        )));
    };
    m.insert("id".into(), json!(id));
    // a job whose process ended without writing a result did not finish
    if m.get("state").and_then(Value::as_str) == Some("running") {
        let pid = std::fs::read_to_string(root.path(format!("{JOBS_DIR}/{id}.pid")))
            .ok()
            .and_then(|t| t.trim().parse::<u32>().ok());
        if let Some(pid) = pid {
            if !crate::system::process::alive(pid) {
                m.insert("state".into(), json!("failed"));
                m.insert(
                    "message".into(),
                    json!("the job's process ended without reporting a result"),
                );
            }
        }
    }
    Ok(Value::Object(m))
}

/// Start `rpinet [--root DIR] ARGS… --job ID` detached and return its id.
fn start_job(root: &Root, kind: &str, args: &[&str]) -> Result<Value> {
    let id = format!("j{}-{}", crate::observe::events::now(), std::process::id());
    job::write_state(root, &job::State::new(&id, kind, "running", "starting"))?;
    let exe = std::env::current_exe().ctx(|| "failed to find the rpinet binary".to_string())?;
    let mut cmd = std::process::Command::new(exe);
    if let Some(base) = root_base(root) {
        cmd.arg("--root").arg(base);
    }
    cmd.args(args).arg("--job").arg(&id);
    let run = || {
        let e = std::os::unix::process::CommandExt::exec(&mut cmd);
        job::fail(
            root,
            Some(&id),
            kind,
            &format!("failed to start {kind}: {e}"),
        );
    };
    match crate::system::process::detach(run) {
        Ok(pid) => {
            let pidfile = root.path(format!("{JOBS_DIR}/{id}.pid"));
            std::fs::write(&pidfile, format!("{pid}\n"))
                .ctx(|| format!("failed to write {}", pidfile.display()))?;
            Ok(json!({ "job": id }))
        }
        Err(e) => {
            let msg = format!("failed to start {kind}: {e}");
            job::fail(root, Some(&id), kind, &msg);
            Err(Error::new(msg))
        }
    }
}

/// The DIR of `--root DIR`, recovered from the mapping.
fn root_base(root: &Root) -> Option<std::path::PathBuf> {
    if root.is_live() {
        None
    } else {
        Some(root.path("/"))
    }
}

fn start_image_import(root: &Root, a: &Args) -> Result<Value> {
    let (path, url, name, sha) = (a.str("path"), a.str("url"), a.str("name"), a.str("sha256"));
    let source = match (path.is_empty(), url.is_empty()) {
        (true, true) => return Err(Error::new("image_import: give 'path' or 'url'")),
        (false, false) => return Err(Error::new("image_import: give 'path' or 'url', not both")),
        (true, false) => {
            crate::image::download::check_url(url)
                .map_err(|e| Error::new(format!("image_import: {e}")))?;
            url
        }
        (false, true) => {
            check_import_path(root, path)?;
            path
        }
    };
    if !name.is_empty() {
        check_image_name(name).map_err(|e| Error::new(format!("image_import: {e}")))?;
    }
    if !sha.is_empty() {
        crate::image::check_sha256(sha).map_err(|e| Error::new(format!("image_import: {e}")))?;
    }
    let mut args = vec!["image", "import", source];
    if !name.is_empty() {
        args.extend(["--name", name]);
    }
    if !sha.is_empty() {
        args.extend(["--sha256", sha]);
    }
    start_job(root, "image_import", &args)
}

/// A file `image_import` may read: absolute, no `..`, an image by its name, present.
fn check_import_path(root: &Root, path: &str) -> Result<()> {
    if !path.starts_with('/') || path.split('/').any(|c| c == "..") {
        return Err(Error::new(format!(
            "image_import: path '{path}' must be an absolute path without '..'"
        )));
    }
    let lower = path.to_ascii_lowercase();
    if ![".img", ".img.xz", ".img.gz"]
        .iter()
        .any(|e| lower.ends_with(e))
    {
        return Err(Error::new(format!(
            "image_import: '{path}' is not an .img, .img.xz or .img.gz file"
        )));
    }
    crate::api::images::check_import_path(root, path)
        .map_err(|e| Error::new(format!("image_import: {e}")))
}

/// `image_roll`: the selection and batch checked now, the roll run as a job.
fn start_image_roll(root: &Root, a: &Args) -> Result<Value> {
    let (image, from, nodes, batch) = (
        a.str("image"),
        a.str("from"),
        a.str("nodes"),
        a.str("batch"),
    );
    let (_, cfg) = crate::plan::world::load_config(root)?;
    let names = crate::api::roll::split_names(nodes);
    let from_opt = (!from.is_empty()).then_some(from);
    crate::api::roll::select(&cfg, image, from_opt, &names)?;
    if !batch.is_empty() && crate::config::parse_batch(batch).is_none() {
        return Err(Error::new(format!(
            "image_roll: batch '{}' is not a number from 1 to 64",
            batch.escape_debug()
        )));
    }
    let mut args = vec!["image", "roll", image];
    for (flag, v) in [("--from", from), ("--nodes", nodes), ("--batch", batch)] {
        if !v.is_empty() {
            args.extend([flag, v]);
        }
    }
    start_job(root, "image_roll", &args)
}

fn start_node_provision(root: &Root, a: &Args) -> Result<Value> {
    let (name, image) = (a.str("name"), a.str("image"));
    let size = a.opt("volume_size").filter(|s| !s.is_empty());
    if !valid_node_name(name) {
        return Err(Error::new(format!(
            "node_provision: name '{name}' must be 1-32 of a-z 0-9 _"
        )));
    }
    check_image_name(image).map_err(|e| Error::new(format!("node_provision: {e}")))?;
    let (_, cfg) = crate::plan::world::load_config(root)?;
    if cfg.node(name).is_none() {
        return Err(Error::new(format!("node_provision: no node '{name}'")));
    }
    let storage = crate::system::storage::check(root, &cfg);
    let Some(sp) = storage.mounted_path() else {
        return Err(Error::new(format!(
            "node_provision: {}",
            storage.describe(&cfg)
        )));
    };
    let dir = root.path(format!("{sp}/images/{image}"));
    if !dir.is_dir() {
        return Err(Error::new(format!(
            "node_provision: no imported image '{image}'"
        )));
    }
    let mut args = vec!["node", "provision", name, "--image", image];
    if let Some(size) = size {
        crate::config::parse_size(size).ok_or_else(|| {
            Error::new(format!(
                "node_provision: volume_size '{}' is not a size like 32G",
                size.escape_debug()
            ))
        })?;
        args.extend(["--volume-size", size]);
    }
    if a.bool("new_identity") {
        args.push("--new-identity");
    }
    let own = |k: &str| a.opt(k).filter(|s| !s.is_empty());
    match (own("user"), own("password_hash")) {
        (Some(user), Some(hash)) => {
            crate::provision::edits::check_user(user)
                .and_then(|()| crate::provision::edits::check_hash(hash))
                .map_err(|e| Error::new(format!("node_provision: {e}")))?;
            args.extend(["--user", user, "--password-hash", hash]);
        }
        (None, None) => {}
        _ => {
            return Err(Error::new(
                "node_provision: user and password_hash go together".to_string(),
            ));
        }
    }
    start_job(root, "node_provision", &args)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_name_every_method_with_typed_samples() {
        let s = signatures();
        assert_eq!(s["node_remove"]["purge"], json!(true));
        assert_eq!(s["node_add"]["mac"], json!("str"));
        assert_eq!(
            s["status"],
            json!({"offset": 0, "limit": 0, "filter": "str"})
        );
        assert_eq!(s["storage_exports"], json!({}));
        assert_eq!(s.as_object().unwrap().len(), 15);
    }

    #[test]
    fn requests_are_checked() {
        assert!(parse_request("status", b"{\"ubus_rpc_session\":\"abc\"}").is_ok());
        assert!(parse_request("status", b"").is_ok());
        assert!(parse_request("status", b"[]").is_err());
        assert!(parse_request("status", b"{\"x\":1}").is_err());
        let a = parse_request(
            "status",
            b"{\"offset\":20,\"limit\":10,\"filter\":\"lion\"}",
        )
        .unwrap();
        assert_eq!(
            (a.int("offset"), a.int("limit"), a.str("filter")),
            (20, 10, "lion")
        );
        assert!(parse_request("status", b"{\"limit\":-1}").is_err());
        assert!(parse_request("status", b"{\"limit\":\"5\"}").is_err());
        assert!(parse_request("nope", b"{}").is_err());
        assert!(parse_request("job", b"{}").is_err());
        assert!(parse_request("job", b"{\"id\":5}").is_err());
        assert!(parse_request("node_remove", b"{\"name\":\"a\",\"purge\":\"yes\"}").is_err());
        let a = parse_request("node_remove", b"{\"name\":\"a\",\"purge\":1}").unwrap();
        assert!(a.bool("purge"));
        assert!(parse_request("status", &vec![b' '; MAX_REQUEST]).is_err());
        assert!(parse_request("status", b"{\"a\":").is_err());
        assert!(parse_request("status", &[0xff, 0xfe]).is_err());
    }

    #[test]
    fn names_and_ids_are_checked() {
        assert!(job::check_id("j1700000000-1234").is_ok());
        assert!(job::check_id("j1-../../etc/passwd").is_err());
        assert!(job::check_id("").is_err());
        assert!(valid_node_name("running_lion"));
        assert!(!valid_node_name("Running"));
        assert!(check_image_name("bookworm-lite.2024").is_ok());
        assert!(check_image_name("../x").is_err());
        assert!(check_image_name(".hidden").is_err());
    }

    #[test]
    fn oversized_replies_become_errors() {
        let big = json!({"x": "a".repeat(MAX_REPLY)});
        let r: Value = serde_json::from_str(&encode_reply(&big)).unwrap();
        assert!(r["error"].as_str().unwrap().contains("too large"));
    }
}
