//! The fleet, in one test binary so the test image is built once:
//! images straight from the network and the catalog (`download`), SSH keys
//! at provision (`keys`), the Ansible inventory (`inventory`), and rolling an
//! image over nodes (`roll`).

#[path = "../common/mod.rs"]
mod common;
#[path = "../image_util/mod.rs"]
mod image_util;

mod download;
mod inventory;
mod keys;
mod roll;

/// `rpinet --root ROOT call METHOD` with `args` (JSON) on stdin: the reply.
pub fn call(root: &std::path::Path, method: &str, args: &str) -> serde_json::Value {
    use std::io::Write;
    use std::process::Stdio;
    let mut c = rpinet_at(root)
        .args(["call", method])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    c.stdin.take().unwrap().write_all(args.as_bytes()).unwrap();
    serde_json::from_slice(&c.wait_with_output().unwrap().stdout).unwrap()
}

/// `rpinet --root ROOT`, to add arguments to.
pub fn rpinet_at(root: &std::path::Path) -> std::process::Command {
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_rpinet"));
    c.arg("--root").arg(root);
    c
}

/// The command succeeded (else its stderr is the failure).
pub fn assert_ok(out: &std::process::Output) {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
