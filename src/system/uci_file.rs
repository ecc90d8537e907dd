//! Writing an /etc/config file so that rpinet and libuci (`uci commit`, LuCI's Save & Apply)
//! never lose each other's changes.
//!
//! How libuci writes (uci's file.c, `uci_file_commit`, and util.c, `uci_open_stream`): it
//! opens the config file and takes an exclusive `flock` on it, re-reads it through that same
//! descriptor, applies its changes, writes a temp file `.NAME.uci-XXXXXX`, releases the lock
//! and renames the temp file over the config. It never checks that the file it locked is
//! still the one under the name. So a writer that *renames* a new file over the config while
//! a `uci commit` waits for the lock makes that commit re-read the replaced, stale file and
//! write it back: the other writer's change is lost. rpinet therefore writes in place:
//!
//! 1. open the file, take the exclusive lock (waiting as `system::lock` does), and check that
//!    the name still leads to the locked file (libuci renames after unlocking: if it did so
//!    meanwhile, start again on the new file). libuci unlocks *before* it renames, so holding
//!    the lock on the file under the name is not enough: while its temp file `.NAME.uci-*` is
//!    there (fresh, not one a killed `uci` left), a commit is between unlock and rename, and
//!    rpinet lets go and waits for the rename;
//! 2. read it; the caller decides the new text from it (or that there is a conflict);
//! 3. write the new text to a journal `.NAME.rpinet-journal` (atomically, fsynced), holding the
//!    file's inode number; then overwrite the file in place (same inode: a waiting libuci
//!    re-reads rpinet's text) and fsync it; then remove the journal. If the name no longer
//!    leads to the file after all (a rename rpinet could not see coming), the write went to
//!    a file nobody reads: start again from step 1 on the file that replaced it.
//!
//! A run killed in step 3 leaves the journal; the next rpinet [`recover`]s it: when the file is
//! still that inode (nobody replaced it since), the journal's text is written again, else the
//! journal is stale and removed. The file's mode and owner are kept (an admin's 0600 stays).

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::error::{Context, Error, Result};
use crate::system::fsys::{self, Dir};
use crate::system::lock;

/// What the caller decided, given the file's text.
pub enum Edit {
    /// Write this text.
    Write(String),
    /// Leave the file as it is.
    Keep,
}

/// Read `path` under libuci's lock and write what `decide` makes of its text (None: the file
/// does not exist). Returns whether the file was written.
pub fn update(path: &Path, mut decide: impl FnMut(Option<&str>) -> Result<Edit>) -> Result<bool> {
    update_dyn(path, &mut decide)
}

fn update_dyn(path: &Path, decide: &mut dyn FnMut(Option<&str>) -> Result<Edit>) -> Result<bool> {
    recover(path)?;
    let start = std::time::Instant::now();
    while start.elapsed() < REPLACED_FOR {
        let existed = path.exists();
        let locked = lock::lock_file(path, "a writer of this file (uci or rpinet)")?;
        let mut file = locked.0;
        if !same_file(&file, path) {
            continue; // replaced between open and lock: lock the new one
        }
        if uci_commit_renaming(path) {
            drop(file); // let go, and wait for its rename
            std::thread::sleep(std::time::Duration::from_millis(2));
            continue;
        }
        let mut text = String::new();
        file.rewind()
            .ctx(|| format!("failed to read {}", path.display()))?;
        (&mut *file)
            .take(4 << 20)
            .read_to_string(&mut text)
            .ctx(|| format!("failed to read {}", path.display()))?;
        let current = (existed || !text.is_empty()).then_some(text.as_str());
        let Edit::Write(new) = decide(current)? else {
            if !existed && text.is_empty() {
                let _ = std::fs::remove_file(path); // the lock made it; it was not there
            }
            return Ok(false);
        };
        let ino = file.metadata().map(|m| m.ino()).unwrap_or(0);
        write_journal(path, ino, &new)?;
        write_in_place(&mut file, &new).ctx(|| format!("failed to write {}", path.display()))?;
        let _ = std::fs::remove_file(journal_path(path));
        if !same_file(&file, path) {
            continue; // a rename replaced it under us: decide again on the new text
        }
        return Ok(true);
    }
    Err(Error::new(format!(
        "{} kept being replaced while rpinet waited to write it",
        path.display()
    )))
}

/// How long rpinet keeps starting again on a file that keeps being replaced.
const REPLACED_FOR: std::time::Duration = std::time::Duration::from_secs(10);

/// A temp file younger than this is a `uci commit` between its unlock and its rename; an
/// older one was left by a killed `uci` and is ignored.
const UCI_TEMP_FRESH: std::time::Duration = std::time::Duration::from_secs(5);

/// Whether a `uci commit` of `path` has written its temp file `.NAME.uci-XXXXXX` (libuci's
/// file.c, `uci_file_commit`) and not yet renamed it over the file.
fn uci_commit_renaming(path: &Path) -> bool {
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
        return false;
    };
    let prefix = format!(".{}.uci-", name.to_string_lossy());
    let Ok(entries) = std::fs::read_dir(dir) else {
        return false;
    };
    entries.flatten().any(|e| {
        e.file_name().to_string_lossy().starts_with(&prefix)
            && e.metadata()
                .and_then(|m| m.modified())
                .is_ok_and(|t| t.elapsed().map_or(true, |age| age < UCI_TEMP_FRESH))
    })
}

/// Finish or drop the journal a killed run left beside `path`.
pub fn recover(path: &Path) -> Result<()> {
    let jp = journal_path(path);
    let Ok(journal) = std::fs::read_to_string(&jp) else {
        return Ok(());
    };
    let parsed = journal
        .strip_prefix("rpinet-journal ")
        .and_then(|rest| rest.split_once('\n'))
        .and_then(|(ino, text)| Some((ino.parse::<u64>().ok()?, text)));
    if let Some((ino, text)) = parsed {
        let locked = lock::lock_file(path, "a writer of this file (uci or rpinet)")?;
        let mut file = locked.0;
        let still = file.metadata().is_ok_and(|m| m.ino() == ino) && same_file(&file, path);
        if still {
            write_in_place(&mut file, text)
                .ctx(|| format!("failed to finish the write of {}", path.display()))?;
            log::info!(
                "finished the write of {} a killed run began",
                path.display()
            );
        }
    }
    let _ = std::fs::remove_file(&jp);
    Ok(())
}

fn journal_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.rpinet-journal"))
}

fn write_journal(path: &Path, ino: u64, text: &str) -> Result<()> {
    let jp = journal_path(path);
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = jp
        .file_name()
        .map(|n| n.as_encoded_bytes())
        .unwrap_or_default();
    Dir::open_router_path(dir)
        .and_then(|d| {
            fsys::replace(
                &d,
                name,
                format!("rpinet-journal {ino}\n{text}").as_bytes(),
                0o600,
                None,
                true,
            )
        })
        .ctx(|| format!("failed to write {}", jp.display()))
}

/// Overwrite the whole file with `text`: write, cut to length, fsync.
fn write_in_place(file: &mut File, text: &str) -> std::io::Result<()> {
    file.seek(SeekFrom::Start(0))?;
    file.write_all(text.as_bytes())?;
    file.set_len(text.len() as u64)?;
    file.sync_all()
}

/// Whether `path` still names the open `file`.
fn same_file(file: &File, path: &Path) -> bool {
    match (file.metadata(), std::fs::metadata(path)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn scratch(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("rpinet-ucifile-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn writes_in_place_keeping_inode_and_mode() {
        let d = scratch("inplace");
        let p = d.join("rpinet");
        std::fs::write(&p, "config rpinet 'main'\n").unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
        let ino = std::fs::metadata(&p).unwrap().ino();
        let wrote = update(&p, |old| {
            assert_eq!(old, Some("config rpinet 'main'\n"));
            Ok(Edit::Write("x\n".into()))
        })
        .unwrap();
        assert!(wrote);
        let m = std::fs::metadata(&p).unwrap();
        assert_eq!((m.ino(), m.permissions().mode() & 0o777), (ino, 0o600));
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "x\n");
        assert_eq!(
            std::fs::read_dir(&d).unwrap().count(),
            1,
            "no journal or temp left"
        );
        assert!(!update(&p, |_| Ok(Edit::Keep)).unwrap());
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn a_journal_is_finished_only_on_the_same_file() {
        let d = scratch("journal");
        let p = d.join("rpinet");
        std::fs::write(&p, "old and longer\n").unwrap();
        let ino = std::fs::metadata(&p).unwrap().ino();
        write_journal(&p, ino, "new\n").unwrap();
        recover(&p).unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "new\n");
        assert!(!journal_path(&p).exists());
        // The file was replaced (uci commit renames) after the journal: it is stale.
        write_journal(&p, ino, "stale\n").unwrap();
        std::fs::write(d.join("tmp"), "uci's\n").unwrap();
        std::fs::rename(d.join("tmp"), &p).unwrap();
        recover(&p).unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "uci's\n");
        assert!(!journal_path(&p).exists());
        std::fs::remove_dir_all(&d).unwrap();
    }

    /// libuci's commit, step by step: lock the file, write the temp, unlock, and only then
    /// rename. An rpinet write that gets the lock in that gap must not be lost to the rename.
    #[test]
    fn a_write_in_the_gap_between_uci_unlock_and_rename_is_not_lost() {
        let d = scratch("gap");
        let p = d.join("rpinet");
        std::fs::write(&p, "a\n").unwrap();
        let locked = lock::lock_file(&p, "test").unwrap();
        let temp = d.join(".rpinet.uci-Ab12Cd");
        std::fs::write(&temp, "a\nuci\n").unwrap();
        drop(locked);
        let (p2, temp2) = (p.clone(), temp.clone());
        let uci = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(150));
            std::fs::rename(&temp2, &p2).unwrap();
        });
        update(&p, |old| {
            Ok(Edit::Write(format!("{}rpinet\n", old.unwrap())))
        })
        .unwrap();
        uci.join().unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "a\nuci\nrpinet\n");
        // A temp a killed `uci` left long ago does not hold rpinet up.
        std::fs::write(&temp, "old").unwrap();
        let long_ago = std::time::SystemTime::now() - 2 * UCI_TEMP_FRESH;
        File::options()
            .write(true)
            .open(&temp)
            .unwrap()
            .set_modified(long_ago)
            .unwrap();
        assert!(!uci_commit_renaming(&p));
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn an_absent_file_left_alone_is_not_created() {
        let d = scratch("absent");
        let p = d.join("dhcp");
        assert!(
            !update(&p, |old| {
                assert_eq!(old, None);
                Ok(Edit::Keep)
            })
            .unwrap()
        );
        assert!(!p.exists());
        std::fs::remove_dir_all(&d).unwrap();
    }
}
