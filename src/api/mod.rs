//! The API: what users and LuCI ask for, over the command line and ubus (rpcd), and the
//! jobs that carry out long requests.

pub mod catalog;
pub mod images;
pub mod inventory;
pub mod node;
pub mod roll;
pub mod rpcd;
pub mod view;
