//! [`Posix`]: the shell's [`System`] on `libsys::posix` — programs run
//! with `fork` and `execve` (`forkexec.rs`), `waitpid`, process groups
//! and the terminal.

use alloc::string::String;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, Ordering};
use libsys::errno::Errno;
use libsys::posix;
use shell::glob::DirLister;
use shell::system::{Fd, OpenMode, Pid, SpawnRequest, SysError, System, WaitStatus};

/// Set by the `SIGINT` handler, taken by `take_interrupt`.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_interrupt(_: i32) {
    INTERRUPTED.store(true, Ordering::Release);
}

extern "C" fn on_job_control(_: i32) {}

/// An interactive shell's signals, as bash's: `SIGINT` only stops what
/// the shell itself runs; `SIGQUIT`, `SIGTSTP`, `SIGTTIN` and `SIGTTOU`
/// do nothing to it. Handlers rather than `SIG_IGN`, so that the
/// programs it starts get the default actions back at `execve`.
pub fn catch_signals() {
    let _ = posix::sigaction(
        posix::SIGINT,
        posix::Disposition::Handler(on_interrupt),
        0,
        0,
    );
    for sig in [
        posix::SIGQUIT,
        posix::SIGTSTP,
        posix::SIGTTIN,
        posix::SIGTTOU,
    ] {
        let _ = posix::sigaction(sig, posix::Disposition::Handler(on_job_control), 0, 0);
    }
}

/// The largest script `source` or `sh file` reads.
const SCRIPT_MAX: usize = 1024 * 1024;

/// The system as the shell sees it.
pub struct Posix {
    pub pid: Pid,
    pub pgrp: Pid,
}

/// The shell's name for an errno.
pub fn sys_error(e: Errno) -> SysError {
    match e {
        Errno::ENOENT => SysError::NoEntry,
        Errno::ENOTDIR => SysError::NotDir,
        Errno::EISDIR => SysError::IsDir,
        Errno::EACCES | Errno::EPERM => SysError::Access,
        Errno::EBADF => SysError::BadFd,
        Errno::ECHILD => SysError::NoChild,
        Errno::ESRCH => SysError::NoProcess,
        Errno::EMFILE | Errno::ENFILE => SysError::TooManyFiles,
        Errno::EAGAIN => SysError::Again,
        Errno::ENOEXEC => SysError::NoExec,
        Errno::EINTR => SysError::Interrupted,
        other => SysError::Other(other.as_i32()),
    }
}

/// `open` flags for a redirection.
pub fn open_flags(mode: OpenMode) -> u32 {
    match mode {
        OpenMode::Read => posix::O_RDONLY,
        OpenMode::Write => posix::O_WRONLY | posix::O_CREAT | posix::O_TRUNC,
        OpenMode::Append => posix::O_WRONLY | posix::O_CREAT | posix::O_APPEND,
    }
}

impl DirLister for Posix {
    fn list_dir(&self, path: &str) -> Option<Vec<String>> {
        let entries = posix::read_dir(path).ok()?;
        let mut names = Vec::new();
        for entry in entries {
            let entry = entry.ok()?;
            if entry.name != "." && entry.name != ".." {
                names.push(entry.name);
            }
        }
        Some(names)
    }
}

impl System for Posix {
    /// `fork`, then in the child its group, its descriptors and
    /// `execve` (see `forkexec.rs`); the parent puts the child in its
    /// group too (POSIX's way to avoid the race) and returns its pid.
    fn spawn(&mut self, req: &SpawnRequest) -> Result<Pid, SysError> {
        let pid = crate::forkexec::fork_exec(req).map_err(sys_error)?;
        Pid::try_from(pid).map_err(|_| SysError::Other(Errno::EOVERFLOW.as_i32()))
    }

    fn exec(&mut self, path: &str, argv: &[String], envp: &[String]) -> SysError {
        let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
        let envp: Vec<&str> = envp.iter().map(String::as_str).collect();
        sys_error(posix::execve(path, &argv, &envp))
    }

    fn wait(&mut self, pid: Pid, nohang: bool) -> Result<Option<WaitStatus>, SysError> {
        let options = posix::WUNTRACED | if nohang { posix::WNOHANG } else { 0 };
        let waited = posix::waitpid(i64::from(pid), options).map_err(sys_error)?;
        Ok(
            waited.map(|(_, status)| match posix::WaitStatus::decode(status) {
                posix::WaitStatus::Exited(c) => WaitStatus::Exited(c),
                posix::WaitStatus::Signaled(s) => WaitStatus::Signaled(s),
                posix::WaitStatus::Stopped(s) => WaitStatus::Stopped(s),
                posix::WaitStatus::Continued => WaitStatus::Continued,
            }),
        )
    }

    fn kill_group(&mut self, pgid: Pid, sig: u32) -> Result<(), SysError> {
        posix::kill(-i64::from(pgid), sig).map_err(sys_error)
    }

    fn kill(&mut self, pid: Pid, sig: u32) -> Result<(), SysError> {
        posix::kill(i64::from(pid), sig).map_err(sys_error)
    }

    /// `tcsetpgrp` with `SIGTTOU` blocked, as bash's `give_terminal_to`:
    /// the shell takes the terminal back while its job's group is the
    /// foreground one, and the terminal lets a caller that blocks
    /// `SIGTTOU` change it (else the shell's handler would run and the
    /// call fail `EINTR`).
    fn set_foreground(&mut self, pgid: Pid) -> Result<(), SysError> {
        let ttou = 1u64 << (posix::SIGTTOU - 1);
        let old = posix::sigprocmask(posix::SIG_BLOCK, ttou).map_err(sys_error)?;
        let result = posix::tcsetpgrp(0, u64::from(pgid)).map_err(sys_error);
        let _ = posix::sigprocmask(posix::SIG_SETMASK, old);
        result
    }

    fn pipe(&mut self) -> Result<(Fd, Fd), SysError> {
        let (r, w) = posix::pipe2(posix::O_CLOEXEC).map_err(sys_error)?;
        Ok((r as Fd, w as Fd))
    }

    fn open(&mut self, path: &str, mode: OpenMode) -> Result<Fd, SysError> {
        let fd = posix::open(path, open_flags(mode) | posix::O_CLOEXEC, 0o666);
        fd.map(|fd| fd as Fd).map_err(sys_error)
    }

    fn dup_high(&mut self, fd: Fd) -> Result<Fd, SysError> {
        let new = posix::fcntl(fd as i32, posix::F_DUPFD_CLOEXEC, 10).map_err(sys_error)?;
        Ok(new as Fd)
    }

    fn dup2(&mut self, from: Fd, to: Fd) -> Result<(), SysError> {
        posix::dup2(from as i32, to as i32)
            .map(|_| ())
            .map_err(sys_error)
    }

    fn close(&mut self, fd: Fd) -> Result<(), SysError> {
        posix::close(fd as i32).map_err(sys_error)
    }

    fn write(&mut self, fd: Fd, bytes: &[u8]) -> Result<usize, SysError> {
        posix::write(fd as i32, bytes).map_err(sys_error)
    }

    fn read_file(&mut self, path: &str) -> Result<Vec<u8>, SysError> {
        let fd = posix::open(path, posix::O_RDONLY | posix::O_CLOEXEC, 0).map_err(sys_error)?;
        let data = posix::read_to_end(fd, SCRIPT_MAX);
        let _ = posix::close(fd);
        data.map_err(sys_error)
    }

    fn is_executable(&self, path: &str) -> bool {
        posix::stat(path)
            .is_ok_and(|s| s.mode & posix::S_IFMT == posix::S_IFREG && s.mode & 0o111 != 0)
    }

    fn chdir(&mut self, path: &str) -> Result<(), SysError> {
        posix::chdir(path).map_err(sys_error)
    }

    fn getcwd(&self) -> String {
        posix::getcwd().unwrap_or_else(|_| String::from("/"))
    }

    fn getpid(&self) -> Pid {
        self.pid
    }

    fn getpgrp(&self) -> Pid {
        self.pgrp
    }

    fn take_interrupt(&mut self) -> bool {
        // At the prompt the editor sees ^C as a byte (raw mode), and a
        // job's ^C goes to the job's group; this is ^C while the shell
        // itself runs a loop of builtins in the foreground.
        INTERRUPTED.swap(false, Ordering::AcqRel)
    }
}
