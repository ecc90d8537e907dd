//! The fleet (issue 15), in one test binary so the test image is built once:
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
