//! The ubus client: connect, HELLO, LOOKUP, INVOKE; DATA and STATUS replies.

use crate::root::Root;

/// IPv4 addresses of a logical interface (`network.interface.<iface> status`).
pub fn interface_ipv4(_root: &Root, _iface: &str) -> Option<Vec<String>> {
    None
}
