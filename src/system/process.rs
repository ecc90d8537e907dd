//! Processes: work detached from the caller (rpcd waits for its plugin's stdout to close, so
//! a job or a slow delete must outlive the call without holding it), and whether a process
//! still runs.

use nix::unistd::{ForkResult, fork, setsid};

/// Run `work` in a detached child: its own session, standard streams on /dev/null (so rpcd,
/// which waits for stdout to close, answers at once), exiting when `work` returns. `work`
/// may `exec` another program. Returns the child's pid. Only called while rpinet runs one
/// thread (an rpcd call), which is what makes the fork sound.
pub fn detach(work: impl FnOnce()) -> std::io::Result<u32> {
    // SAFETY: rpinet is single-threaded whenever it detaches (rpcd calls start no threads),
    // so the child holds no lock another thread owned; it never returns into the parent's
    // state: it runs `work` and exits.
    match unsafe { fork() } {
        Ok(ForkResult::Child) => {
            let _ = setsid();
            if let Ok(null) = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .open("/dev/null")
            {
                let _ = nix::unistd::dup2_stdin(&null);
                let _ = nix::unistd::dup2_stdout(&null);
                let _ = nix::unistd::dup2_stderr(&null);
            }
            work();
            std::process::exit(0);
        }
        Ok(ForkResult::Parent { child }) => Ok(child.as_raw() as u32),
        Err(e) => Err(std::io::Error::from(e)),
    }
}

/// Whether a process runs (a zombie does not count). This is the machine's own /proc, not
/// a `--root` one: jobs are real processes here.
pub fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_some_and(|state| state != "Z" && state != "X"),
        Err(_) => false,
    }
}
