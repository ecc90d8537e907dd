//! `image_catalog`: the OS images a user can import with one click — the JSON
//! list Raspberry Pi Imager reads (UCI `catalog_url`), fetched by the router
//! and cached in /tmp/rpinet/catalog.json.
//!
//! [`parse`] (pure) flattens the list: every entry with an http(s) image URL
//! (`.img`, `.img.xz`, `.img.gz`), from the top level and the nested
//! `subitems`; lists behind `subitems_url` are not followed. rpcd's budget is
//! 2 s, the network's is not: a stale or missing cache is refreshed by a
//! detached `rpinet image catalog --refresh`, and the call answers with what
//! the cache holds after waiting for it at most [`WAIT`].

use std::time::Duration;

use serde_json::Value;

use crate::api::view::{CatalogImage, CatalogView};
use crate::bail;
use crate::error::{Context, Error, Result};
use crate::system::root::Root;

/// The cache (a router path).
pub const CACHE: &str = "/tmp/rpinet/catalog.json";
/// Why the last refresh failed (one line), for the ubus reply that started it detached.
const FAILED: &str = "/tmp/rpinet/catalog.failed";
/// A cache younger than this is served as it is.
pub const FRESH: u64 = 6 * 3600;
/// How long a call waits for a refresh before it answers.
pub const WAIT: Duration = Duration::from_millis(1500);
/// The largest list read (Imager's is ~100 KiB), and the most entries kept.
const MAX_BYTES: usize = 4 << 20;
const MAX_IMAGES: usize = 300;

/// The images of a catalog in Imager's format (`{"os_list": [...]}`).
pub fn parse(text: &[u8]) -> Result<Vec<CatalogImage>> {
    let v: Value = serde_json::from_slice(text)
        .map_err(|e| Error::new(format!("the catalog is not JSON: {e}")))?;
    let Some(list) = v.get("os_list").and_then(Value::as_array) else {
        bail!("the catalog has no os_list (not a Raspberry Pi Imager list)");
    };
    let mut out = Vec::new();
    walk(list, 0, &mut out);
    Ok(out)
}

fn walk(list: &[Value], depth: usize, out: &mut Vec<CatalogImage>) {
    let text = |e: &Value, k: &str, max: usize| -> String {
        let s = e.get(k).and_then(Value::as_str).unwrap_or("");
        s.chars().filter(|c| !c.is_control()).take(max).collect()
    };
    let num = |e: &Value, k: &str| e.get(k).and_then(Value::as_u64).unwrap_or(0);
    let hex = |e: &Value, k: &str| {
        let s = text(e, k, 64);
        if crate::image::check_sha256(&s).is_ok() {
            s.to_ascii_lowercase()
        } else {
            String::new()
        }
    };
    for e in list {
        if out.len() >= MAX_IMAGES {
            return;
        }
        if let Some(sub) = e.get("subitems").and_then(Value::as_array) {
            if depth < 4 {
                walk(sub, depth + 1, out);
            }
            continue;
        }
        let url = text(e, "url", 2048);
        let lower = url.to_ascii_lowercase();
        let is_image = [".img", ".img.xz", ".img.gz"]
            .iter()
            .any(|x| lower.ends_with(x));
        if !is_image || crate::config::check_url(&url).is_err() {
            continue;
        }
        out.push(CatalogImage {
            name: text(e, "name", 120),
            description: text(e, "description", 300),
            release_date: text(e, "release_date", 32),
            url,
            size: num(e, "image_download_size").max(num(e, "size")),
            extract_size: num(e, "extract_size"),
            sha256: Some(hex(e, "image_download_sha256"))
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| hex(e, "sha256")),
            extract_sha256: hex(e, "extract_sha256"),
        });
    }
}

/// The cache, if there is one that reads: our own reply, read back through
/// the same field rules as Imager's list (no second, derived reader).
fn cached(root: &Root) -> Option<CatalogView> {
    let text = std::fs::read(root.path(CACHE)).ok()?;
    let v: Value = serde_json::from_slice(&text).ok()?;
    let mut images = Vec::new();
    walk(v.get("images")?.as_array()?, 0, &mut images);
    Some(CatalogView {
        images,
        fetched: v.get("fetched")?.as_u64()?,
    })
}

/// Fetch the catalog now and cache it (`rpinet image catalog --refresh`).
pub fn refresh(root: &Root) -> Result<CatalogView> {
    let (_, cfg) = crate::plan::world::load_config(root)?;
    let url = &cfg.fleet.catalog_url;
    let body = crate::image::download::fetch(url, Duration::from_secs(20), MAX_BYTES)?;
    let images = parse(&body).ctx(|| url.to_string())?;
    let view = CatalogView {
        images,
        fetched: crate::observe::events::now(),
    };
    let path = root.path(CACHE);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).ctx(|| format!("failed to create {}", dir.display()))?;
    }
    crate::system::fs::replace(
        &path,
        &crate::api::view::json(&view).to_string(),
        0o644,
        false,
    )?;
    Ok(view)
}

/// The ubus `image_catalog`: the cache when fresh; else a detached refresh,
/// and the cache as it is after at most [`WAIT`].
pub fn reply(root: &Root) -> Result<Value> {
    let now = crate::observe::events::now();
    let old = cached(root);
    if let Some(v) = old
        .as_ref()
        .filter(|v| now.saturating_sub(v.fetched) < FRESH)
    {
        return Ok(crate::api::view::json(v));
    }
    let exe = std::env::current_exe().ctx(|| "failed to find the rpinet binary".into())?;
    let mut cmd = std::process::Command::new(exe);
    if !root.is_live() {
        cmd.arg("--root").arg(root.path("/"));
    }
    cmd.args(["image", "catalog", "--refresh"]);
    let pid = crate::system::process::detach(move || {
        let _ = std::os::unix::process::CommandExt::exec(&mut cmd);
    })
    .ctx(|| "failed to start the catalog download".into())?;
    let deadline = std::time::Instant::now() + WAIT;
    while std::time::Instant::now() < deadline && crate::system::process::alive(pid) {
        std::thread::sleep(Duration::from_millis(50));
    }
    match cached(root) {
        Some(v) => Ok(crate::api::view::json(&v)),
        // still fetching: an empty list, fetched 0; LuCI asks again
        None if crate::system::process::alive(pid) => {
            Ok(crate::api::view::json(&CatalogView::default()))
        }
        None => bail!(
            "the catalog could not be fetched from {}: {}",
            catalog_url(root),
            std::fs::read_to_string(root.path(FAILED))
                .map(|s| s.trim().to_string())
                .unwrap_or_else(|_| "the download ended without a list".into())
        ),
    }
}

/// `rpinet image catalog`: the cache when fresh (unless `refresh`), else fetched now.
pub fn command(root: &Root, refresh_now: bool) -> Result<CatalogView> {
    crate::plan::world::load_config(root)?;
    let now = crate::observe::events::now();
    match cached(root) {
        Some(v) if !refresh_now && now.saturating_sub(v.fetched) < FRESH => Ok(v),
        _ => {
            let r = refresh(root);
            let failed = root.path(FAILED);
            match &r {
                Ok(_) => drop(std::fs::remove_file(failed)),
                Err(e) => drop(std::fs::write(failed, e.to_string())),
            }
            r
        }
    }
}

impl CatalogView {
    /// The command line's table: name, date, download size, URL.
    pub fn human(&self) -> String {
        let mut s = String::new();
        for i in &self.images {
            s.push_str(&format!(
                "{}  {}  {} MiB\n  {}\n  sha256 {}\n",
                i.name,
                if i.release_date.is_empty() {
                    "-"
                } else {
                    &i.release_date
                },
                i.size >> 20,
                i.url,
                if i.sha256.is_empty() { "-" } else { &i.sha256 }
            ));
        }
        s
    }
}

fn catalog_url(root: &Root) -> String {
    crate::plan::world::load_config(root)
        .map(|(_, c)| c.fleet.catalog_url)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SUM: &str = "a5b5b1e2c0e7b8b3f6c1d5d1e8c1a4a2b1c7d3e4f5a6b7c8d9e0f1a2b3c4d5e6";

    #[test]
    fn the_list_is_flattened_to_importable_images() {
        let list = serde_json::json!({
            "imager": {"latest_version": "1.9.6"},
            "os_list": [
                {"name": "Raspberry Pi OS (64-bit)", "description": "A port of Debian\nwith desktop",
                 "url": "https://downloads.example/raspios_arm64/2025-05-13-raspios-bookworm-arm64.img.xz",
                 "release_date": "2025-05-13", "extract_size": 6000000000u64,
                 "extract_sha256": SUM, "image_download_size": 1200000000u64,
                 "image_download_sha256": SUM.to_uppercase()},
                {"name": "Raspberry Pi OS (other)", "subitems": [
                    {"name": "Raspberry Pi OS Lite (64-bit)",
                     "url": "https://downloads.example/lite.img.xz", "release_date": "2025-05-13",
                     "image_download_sha256": "not-a-sum"},
                    {"name": "Nested list", "subitems_url": "https://downloads.example/more.json"}
                ]},
                {"name": "Erase", "url": "internal://format"},
                {"name": "Misc utility images", "url": "ftp://x/y.img.xz"}
            ]
        });
        let got = parse(list.to_string().as_bytes()).unwrap();
        assert_eq!(got.len(), 2, "{got:?}");
        assert_eq!(got[0].name, "Raspberry Pi OS (64-bit)");
        assert_eq!(got[0].description, "A port of Debianwith desktop");
        assert_eq!((got[0].size, got[0].extract_size), (1200000000, 6000000000));
        assert_eq!(got[0].sha256, SUM);
        assert_eq!(got[1].name, "Raspberry Pi OS Lite (64-bit)");
        assert_eq!(got[1].sha256, "");
    }

    #[test]
    fn not_a_catalog_is_one_line() {
        assert!(parse(b"<html>").unwrap_err().message().contains("not JSON"));
        assert!(parse(b"{}").unwrap_err().message().contains("no os_list"));
    }
}
