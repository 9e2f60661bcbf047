//! The cases between processes and threads: the pipe and futex round
//! trips, `fork`, `fork` + `execve`, `posix_spawn`. `/bin/true` is the
//! initramfs's static `true` (src/bin/true.rs). A child that fails to
//! `execve` exits 127, which the parent counts as a failure.

use std::ffi::CString;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use crate::files::Fd;
use crate::{c_path, check, measure, Failure, Figures, Report};

/// Runs the process cases.
pub fn run(report: &Report) {
    report.case("pipe_rtt", pipe_rtt());
    report.case("futex_pingpong", futex_pingpong());
    report.case("fork_exit_wait", fork_exit_wait());
    report.case("fork_exec_wait", fork_exec_wait());
    report.case("spawn_true", spawn_true());
}

/// A pipe: (read end, write end).
pub fn pipe() -> Result<(Fd, Fd), Failure> {
    let mut fds = [0; 2];
    // SAFETY: `fds` has room for the two descriptors.
    check(unsafe { libc::pipe(fds.as_mut_ptr()) }, "pipe")?;
    Ok((Fd(fds[0]), Fd(fds[1])))
}

/// `fork`; the child runs `child` and exits with its status.
fn fork(child: impl FnOnce() -> i32) -> Result<libc::pid_t, Failure> {
    // SAFETY: this program is single-threaded whenever it forks (the futex
    // partner has been joined), so the child may run any code.
    let pid = check(unsafe { libc::fork() }, "fork")?;
    if pid == 0 {
        let status = child();
        // SAFETY: ends the child without running the parent's exit code.
        unsafe { libc::_exit(status) };
    }
    Ok(pid)
}

/// Waits for `pid`: true if it exited with status 0.
fn wait_ok(pid: libc::pid_t) -> bool {
    let mut status = 0;
    // SAFETY: `status` is writable during the call.
    let ret = unsafe { libc::waitpid(pid, &mut status, 0) };
    ret == pid && libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0
}

/// One byte to a child process and one byte back, over two pipes.
fn pipe_rtt() -> Result<Figures, Failure> {
    let (to_child, to_child_w) = pipe()?;
    let (to_parent, to_parent_w) = pipe()?;
    let child = fork(|| {
        // SAFETY: the parent's ends, which this child must not hold
        // open (the write end's close is how the parent stops it).
        unsafe {
            libc::close(to_child_w.0);
            libc::close(to_parent.0);
        }
        let mut byte = 0u8;
        // SAFETY: one byte of `byte`, valid during the call.
        while unsafe { libc::read(to_child.0, (&mut byte as *mut u8).cast(), 1) } == 1 {
            // SAFETY: as above, the byte back.
            unsafe { libc::write(to_parent_w.0, (&byte as *const u8).cast(), 1) };
        }
        0
    })?;
    drop(to_child);
    drop(to_parent_w);
    let mut lost = 0;
    let figures = measure(
        100,
        || {
            let mut byte = 1u8;
            // SAFETY: one byte of `byte` each way, valid during the calls.
            let ok = unsafe {
                libc::write(to_child_w.0, (&byte as *const u8).cast(), 1) == 1
                    && libc::read(to_parent.0, (&mut byte as *mut u8).cast(), 1) == 1
            };
            if !ok {
                lost += 1;
            }
        },
        1,
    );
    drop(to_child_w);
    match wait_ok(child) && lost == 0 {
        true => Ok(figures),
        false => Err(Failure::wrong("pipe", "a byte or the child was lost")),
    }
}

fn futex(word: &AtomicU32, op: libc::c_int, value: u32) {
    // SAFETY: a futex call on a live, aligned 32-bit word; no timeout.
    unsafe {
        libc::syscall(
            libc::SYS_futex,
            word.as_ptr(),
            op | libc::FUTEX_PRIVATE_FLAG,
            value,
            std::ptr::null::<libc::timespec>(),
        )
    };
}

/// Whose turn it is: the timing thread's, the partner's, or stop.
const MAIN: u32 = 0;
const PARTNER: u32 = 1;
const STOP: u32 = 2;

/// Two threads handing a turn to each other with `FUTEX_WAKE` and
/// `FUTEX_WAIT`: one iteration is a wake and a wait by each.
fn futex_pingpong() -> Result<Figures, Failure> {
    let turn = Arc::new(AtomicU32::new(MAIN));
    let partner_turn = turn.clone();
    let partner = std::thread::spawn(move || loop {
        match partner_turn.load(Ordering::Acquire) {
            STOP => break,
            MAIN => futex(&partner_turn, libc::FUTEX_WAIT, MAIN),
            _ => {
                partner_turn.store(MAIN, Ordering::Release);
                futex(&partner_turn, libc::FUTEX_WAKE, 1);
            }
        }
    });
    let figures = measure(
        100,
        || {
            turn.store(PARTNER, Ordering::Release);
            futex(&turn, libc::FUTEX_WAKE, 1);
            while turn.load(Ordering::Acquire) == PARTNER {
                futex(&turn, libc::FUTEX_WAIT, PARTNER);
            }
        },
        1,
    );
    turn.store(STOP, Ordering::Release);
    futex(&turn, libc::FUTEX_WAKE, 1);
    match partner.join() {
        Ok(()) => Ok(figures),
        Err(_) => Err(Failure::wrong("futex", "the partner thread panicked")),
    }
}

/// Times `start_child` followed by waiting for the child, counting the
/// children that did not exit 0.
fn children(
    per_batch: u64,
    mut start_child: impl FnMut() -> Result<libc::pid_t, Failure>,
) -> Result<Figures, Failure> {
    let mut failures = 0;
    let figures = measure(
        per_batch,
        || match start_child() {
            Ok(pid) if wait_ok(pid) => {}
            _ => failures += 1,
        },
        1,
    );
    match failures {
        0 => Ok(figures),
        _ => Err(Failure::wrong("child", "a child failed")),
    }
}

/// `fork`, the child's `_exit(0)`, the parent's `waitpid`.
fn fork_exit_wait() -> Result<Figures, Failure> {
    children(10, || fork(|| 0))
}

/// `/bin/true`'s path, argv and an empty environment.
struct TrueCommand {
    path: CString,
    argv: [*const libc::c_char; 2],
    envp: [*const libc::c_char; 1],
}

impl TrueCommand {
    fn new(path: CString) -> TrueCommand {
        let argv = [path.as_ptr(), std::ptr::null()];
        TrueCommand {
            path,
            argv,
            envp: [std::ptr::null()],
        }
    }
}

/// `fork`, the child's `execve("/bin/true")`, the parent's `waitpid`.
fn fork_exec_wait() -> Result<Figures, Failure> {
    let command = TrueCommand::new(c_path("/bin/true"));
    children(2, || {
        fork(|| {
            // SAFETY: NUL-terminated path and NULL-terminated arrays of
            // NUL-terminated strings, all alive until the call replaces
            // this image.
            unsafe {
                libc::execve(
                    command.path.as_ptr(),
                    command.argv.as_ptr(),
                    command.envp.as_ptr(),
                )
            };
            127
        })
    })
}

/// `posix_spawn("/bin/true")` (musl: `clone(CLONE_VM | CLONE_VFORK)` and
/// `execve`) and `waitpid`.
fn spawn_true() -> Result<Figures, Failure> {
    let command = TrueCommand::new(c_path("/bin/true"));
    children(2, || {
        let mut pid = 0;
        // SAFETY: as for execve above; no file actions or attributes.
        let ret = unsafe {
            libc::posix_spawn(
                &mut pid,
                command.path.as_ptr(),
                std::ptr::null(),
                std::ptr::null(),
                command.argv.as_ptr() as *const *mut libc::c_char,
                command.envp.as_ptr() as *const *mut libc::c_char,
            )
        };
        match ret {
            0 => Ok(pid),
            _ => Err(Failure::wrong("posix_spawn", "failed")),
        }
    })
}
