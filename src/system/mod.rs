//! The imperative shell: files, mounts and services. Thin on purpose; decisions live in the
//! pure modules and in `apply::plan`.

pub mod dnsmasq;
pub mod fs;
pub mod services;
pub mod storage;
