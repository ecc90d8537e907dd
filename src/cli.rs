//! The command line (docs/SPEC.md §3), parsed once by argh into typed values.

use argh::FromArgs;

/// What a lone `-` (stdin, as `image import -` takes it) is carried as: argh
/// reads a bare `-` as an unknown flag.
pub const STDIN: &str = "<stdin>";

/// The command line of this process, parsed as `argh::from_env` does.
pub fn from_env() -> Cli {
    let strings: Vec<String> = std::env::args_os()
        .map(|s| s.to_string_lossy().into_owned())
        .collect();
    let cmd = strings
        .first()
        .and_then(|s| s.rsplit('/').next())
        .unwrap_or("rpinet")
        .to_string();
    let args: Vec<&str> = strings
        .iter()
        .skip(1)
        .map(|s| if s == "-" { STDIN } else { s.as_str() })
        .collect();
    Cli::from_args(&[&cmd], &args).unwrap_or_else(|early| {
        std::process::exit(match early.status {
            Ok(()) => {
                println!("{}", early.output);
                0
            }
            Err(()) => {
                eprintln!("{}\nRun {cmd} --help for more information.", early.output);
                1
            }
        })
    })
}

/// rpinet: network-boot server for a Raspberry Pi cluster on OpenWrt.
#[derive(FromArgs, Debug)]
pub struct Cli {
    /// take every absolute path under DIR and touch no service (a lab or a test)
    #[argh(option)]
    pub root: Option<String>,

    #[argh(subcommand)]
    pub command: Command,
}

#[derive(FromArgs, Debug)]
#[argh(subcommand)]
pub enum Command {
    Apply(ApplyArgs),
    Status(StatusArgs),
    Node(NodeArgs),
    Image(ImageArgs),
    Doctor(DoctorArgs),
    List(ListArgs),
    Call(CallArgs),
    Event(EventArgs),
    Inventory(InventoryArgs),
    Storage(StorageArgs),
}

/// the storage on an NFS server
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "storage")]
pub struct StorageArgs {
    #[argh(subcommand)]
    pub command: StorageCommand,
}

#[derive(FromArgs, Debug)]
#[argh(subcommand)]
pub enum StorageCommand {
    Exports(StorageExportsArgs),
}

/// print what the NFS server (storage_server) must export, for Linux and for appliances
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "exports")]
pub struct StorageExportsArgs {}

/// every node for Ansible, grouped by model and by image
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "inventory")]
pub struct InventoryArgs {
    /// ini | yaml | json (default ini)
    #[argh(option, default = "String::from(\"ini\")")]
    pub format: String,
}

/// make the system match the config (idempotent)
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "apply")]
pub struct ApplyArgs {
    /// print the plan and change nothing
    #[argh(switch)]
    pub dry_run: bool,
    /// take back everything rpinet set up, as if disabled (package removal)
    #[argh(switch)]
    pub withdraw: bool,
}

/// health and every node's state
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "status")]
pub struct StatusArgs {
    /// print machine-readable JSON
    #[argh(switch)]
    pub json: bool,
}

/// add, remove, show or provision a node
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "node")]
pub struct NodeArgs {
    #[argh(subcommand)]
    pub command: NodeCommand,
}

#[derive(FromArgs, Debug)]
#[argh(subcommand)]
pub enum NodeCommand {
    Add(NodeAddArgs),
    Remove(NodeRemoveArgs),
    Show(NodeShowArgs),
    Provision(NodeProvisionArgs),
    Rollback(NodeRollbackArgs),
}

/// put a node back on the root an image roll kept for it
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "rollback")]
pub struct NodeRollbackArgs {
    /// node name
    #[argh(positional)]
    pub name: String,
}

/// register a Pi as a node
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "add")]
pub struct NodeAddArgs {
    /// node name: [a-z0-9_]{1,32}
    #[argh(positional)]
    pub name: String,
    /// board serial: 8 hex digits (the low 32 bits; 16 digits are cut to those)
    #[argh(option)]
    pub serial: String,
    /// the Ethernet MAC address, e.g. dc:a6:32:79:26:df
    #[argh(option)]
    pub mac: String,
    /// pi3 | pi4 | pi5 (default pi4)
    #[argh(option)]
    pub model: Option<String>,
    /// serial | mac | custom: the EEPROM TFTP_PREFIX (default serial)
    #[argh(option)]
    pub boot_id: Option<String>,
    /// the TFTP_PREFIX_STR when --boot-id custom
    #[argh(option)]
    pub boot_dir: Option<String>,
    /// fixed IPv4 address (a DHCP reservation)
    #[argh(option)]
    pub ip: Option<String>,
    /// size of the node's container volume, e.g. 32G (0: none; default: the main section's)
    #[argh(option)]
    pub volume_size: Option<String>,
}

/// unregister a node
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "remove")]
pub struct NodeRemoveArgs {
    /// node name
    #[argh(positional)]
    pub name: String,
    /// also delete its boot and root directories and its volume on the SSD
    #[argh(switch)]
    pub purge: bool,
}

/// print a node's settings and the EEPROM config it needs
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "show")]
pub struct NodeShowArgs {
    /// node name
    #[argh(positional)]
    pub name: String,
    /// print machine-readable JSON
    #[argh(switch)]
    pub json: bool,
}

/// (re)build a node's boot and root from an imported image
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "provision")]
pub struct NodeProvisionArgs {
    /// node name
    #[argh(positional)]
    pub name: String,
    /// name of an imported image
    #[argh(option)]
    pub image: String,
    /// first user to create on the node
    #[argh(option)]
    pub user: Option<String>,
    /// crypt(3) hash of that user's password (never a plaintext password)
    #[argh(option)]
    pub password_hash: Option<String>,
    /// report progress in this job's state file (used by the ubus API)
    #[argh(option)]
    pub job: Option<String>,
    /// size of the node's container volume, e.g. 32G (grows it; volumes never shrink)
    #[argh(option)]
    pub volume_size: Option<String>,
    /// give the node new SSH host keys and machine-id instead of keeping its old ones
    #[argh(switch)]
    pub new_identity: bool,
}

/// manage OS images
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "image")]
pub struct ImageArgs {
    #[argh(subcommand)]
    pub command: ImageCommand,
}

#[derive(FromArgs, Debug)]
#[argh(subcommand)]
pub enum ImageCommand {
    Import(ImageImportArgs),
    Catalog(ImageCatalogArgs),
    Roll(ImageRollArgs),
}

/// reimage nodes to IMAGE a batch at a time, keeping each previous root until the node is up
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "roll")]
pub struct ImageRollArgs {
    /// the image to roll out
    #[argh(positional)]
    pub image: String,
    /// reimage every node running this image
    #[argh(option)]
    pub from: Option<String>,
    /// reimage these nodes instead (names separated by spaces or commas)
    #[argh(option)]
    pub nodes: Option<String>,
    /// how many nodes at a time (default: UCI roll_batch, else 2)
    #[argh(option)]
    pub batch: Option<u32>,
    /// seconds a node may take to come up on the new image (default 900)
    #[argh(option, default = "900")]
    pub boot_timeout: u64,
    /// report progress in this job's state file (used by the ubus API)
    #[argh(option)]
    pub job: Option<String>,
}

/// the OS images of the catalog (UCI catalog_url: Raspberry Pi Imager's list)
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "catalog")]
pub struct ImageCatalogArgs {
    /// fetch the list now, even if the cached one is fresh
    #[argh(switch)]
    pub refresh: bool,
    /// print machine-readable JSON
    #[argh(switch)]
    pub json: bool,
}

/// import a Raspberry Pi OS disk image (.img, .img.xz, .img.gz) from a file, an http(s) URL or - (stdin)
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "import")]
pub struct ImageImportArgs {
    /// the image file, an http:// or https:// URL, or - for stdin
    #[argh(positional)]
    pub file: String,
    /// name to import it as (default: from the file name or URL)
    #[argh(option)]
    pub name: Option<String>,
    /// SHA-256 of the file (as fetched) or of the .img inside; a mismatch imports nothing
    #[argh(option)]
    pub sha256: Option<String>,
    /// seconds a download may receive nothing before it fails (default 30)
    #[argh(option, default = "30")]
    pub stall_timeout: u64,
    /// report progress in this job's state file (used by the ubus API)
    #[argh(option)]
    pub job: Option<String>,
}

/// diagnose every known cause of a failed netboot
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "doctor")]
pub struct DoctorArgs {
    /// print machine-readable JSON
    #[argh(switch)]
    pub json: bool,
}

/// rpcd exec plugin: print the method signatures
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "list")]
pub struct ListArgs {}

/// rpcd exec plugin: run METHOD with JSON arguments on stdin
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "call")]
pub struct CallArgs {
    /// the ubus method
    #[argh(positional)]
    pub method: String,
}

/// record a boot event (called by the dhcp and tftp hotplug hooks)
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "event")]
pub struct EventArgs {
    /// dhcp | tftp
    #[argh(positional)]
    pub kind: String,
}
