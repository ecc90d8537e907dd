//! A small, panic-free ubus client: the blob/blobmsg codec and the few calls
//! rpinet makes (`service list`, `network.interface.<iface> status`,
//! `block info`). Written in the project because the `ubus` crate 0.1.7
//! panics on malformed or merely large replies (research/cross-build.md §4).

pub mod client;
pub mod codec;
