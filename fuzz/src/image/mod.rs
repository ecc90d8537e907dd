//! rpinet's image reader modules, by path.
#[path = "../../../src/image/blocks.rs"]
pub mod blocks;
#[path = "../../../src/image/ext4.rs"]
pub mod ext4;
#[path = "../../../src/image/fat.rs"]
pub mod fat;
#[path = "../../../src/image/le.rs"]
pub mod le;
#[path = "../../../src/image/partition.rs"]
pub mod partition;
#[path = "../../../src/image/tree.rs"]
pub mod tree;
