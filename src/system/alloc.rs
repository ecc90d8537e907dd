//! Running out of memory ends rpinet with one line, not an abort and a backtrace. A router
//! has little RAM, and an import or a provision can meet the limit (or a `ulimit -v` an
//! admin set): the standard library's answer to a failed allocation prints
//! "memory allocation of N bytes failed", a backtrace, and aborts.
//!
//! The global allocator is the system's, with one change: an allocation that fails writes
//! `rpinet: out of memory: …` naming the size to stderr and exits with status 1 at once
//! (`_exit`: no destructor or buffer flush that could allocate). Fallible allocations
//! (`try_reserve`, as the xz decoder grows its dictionary) end the same way; rpinet has no
//! fallback for them anyway, and the message is as clear. What the dead run leaves — an
//! import's or provision's staging, a job that says running — the next command sweeps, and
//! `job` reports the job failed ([`crate::system::sweep`]).

use std::alloc::{GlobalAlloc, Layout, System};

pub struct ExitOnOom;

// SAFETY: every call is passed to `System` unchanged; only a null result is acted on, by
// writing a message and exiting, which never returns to the caller.
unsafe impl GlobalAlloc for ExitOnOom {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract for `alloc` is passed on as it is.
        checked(unsafe { System.alloc(layout) }, layout.size())
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as for `alloc`.
        checked(unsafe { System.alloc_zeroed(layout) }, layout.size())
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as for `alloc`; `ptr` came from this allocator, which is `System`.
        checked(unsafe { System.realloc(ptr, layout, new_size) }, new_size)
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from this allocator, which is `System`.
        unsafe { System.dealloc(ptr, layout) }
    }
}

fn checked(p: *mut u8, size: usize) -> *mut u8 {
    if p.is_null() {
        out_of_memory(size);
    }
    p
}

/// The line for a failed allocation of `size` bytes, written into `buf` without allocating.
fn message(size: usize, buf: &mut [u8; 160]) -> usize {
    let mut n = 0;
    let mut put = |s: &[u8], n: &mut usize| {
        buf[*n..*n + s.len()].copy_from_slice(s);
        *n += s.len();
    };
    put(b"rpinet: out of memory: could not allocate ", &mut n);
    let (value, unit): (usize, &[u8]) = if size >= 1 << 20 {
        (size.div_ceil(1 << 20), b" MiB")
    } else if size >= 1 << 10 {
        (size.div_ceil(1 << 10), b" KiB")
    } else {
        (size, b" bytes")
    };
    let mut digits = [0u8; 20];
    let mut k = digits.len();
    let mut v = value;
    loop {
        k -= 1;
        digits[k] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    put(&digits[k..], &mut n);
    put(unit, &mut n);
    put(b"; free memory on the router and run it again\n", &mut n);
    n
}

/// Start a thread, or end with the out-of-memory line when the system cannot give it one
/// (its stack is memory too: under a small `ulimit -v` the spawn fails where an allocation
/// would, and the standard `thread::spawn` would panic).
pub fn thread<F, T>(name: &str, f: F) -> std::thread::JoinHandle<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    /// The standard library's default stack for a new thread.
    const STACK: usize = 2 << 20;
    match std::thread::Builder::new().name(name.into()).spawn(f) {
        Ok(h) => h,
        Err(_) => out_of_memory(STACK),
    }
}

fn out_of_memory(size: usize) -> ! {
    // Threads that run out together (an import's decoder and its writer) say it once: the
    // first writes the line and ends the process; the others wait for that end.
    static SAID: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    if SAID.swap(true, std::sync::atomic::Ordering::SeqCst) {
        loop {
            // SAFETY: pause(2) only waits; the first thread's _exit ends this one too.
            unsafe { libc::pause() };
        }
    }
    let mut buf = [0u8; 160];
    let n = message(size, &mut buf);
    // SAFETY: writes `n` initialised bytes of `buf` to stderr, then ends the process without
    // running anything that could allocate.
    unsafe {
        libc::write(2, buf.as_ptr().cast(), n);
        libc::_exit(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_names_the_size() {
        let line = |size| {
            let mut buf = [0u8; 160];
            let n = message(size, &mut buf);
            String::from_utf8(buf[..n].to_vec()).unwrap()
        };
        assert_eq!(
            line(1 << 20),
            "rpinet: out of memory: could not allocate 1 MiB; free memory on the router and run it again\n"
        );
        assert!(line(262_144).contains(" 256 KiB;"));
        assert!(line(100).contains(" 100 bytes;"));
        assert!(line(64 << 20 | 1).contains(" 65 MiB;"));
        assert!(line(usize::MAX).len() < 160);
    }
}
