//! The imperative shell: files, mounts, processes and services. Thin on purpose; decisions
//! live in the pure modules (`config`, `plan::plan`, `render`, the observers' checks).

pub mod alloc;
pub mod dns;
pub mod dnsmasq;
pub mod fs;
pub mod fsys;
pub mod job;
pub mod lock;
pub mod logger;
pub mod nfs_mount;
pub mod overlay;
pub mod probe;
pub mod process;
pub mod root;
pub mod services;
pub mod storage;
pub mod sweep;
pub mod uci_file;
