//! Pure edits of the files that make an image boot as an NFS root.

/// VERSION_CODENAME from os-release text ("" when absent).
pub fn os_release_codename(text: &str) -> String {
    for line in text.lines() {
        if let Some(v) = line.strip_prefix("VERSION_CODENAME=") {
            return v.trim().trim_matches('"').trim_matches('\'').to_string();
        }
    }
    String::new()
}
