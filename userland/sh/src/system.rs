//! What the shell needs from the system, as a trait: the executor makes
//! every system call through [`System`], so the host tests run it against
//! a fake and the real binary (later) against `libsys`.
//!
//! The model is POSIX's: descriptors, pipes, `posix_spawn`-like process
//! creation with a list of descriptor actions run in the child, process
//! groups for job control, and `waitpid` with `WUNTRACED`/`WNOHANG`.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use crate::glob::DirLister;

/// A process id (also a process-group id).
pub type Pid = u32;
/// A file descriptor number.
pub type Fd = u32;

/// Linux's signal numbers the shell sends or reports.
pub const SIGINT: u32 = 2;
pub const SIGQUIT: u32 = 3;
pub const SIGKILL: u32 = 9;
pub const SIGTERM: u32 = 15;
pub const SIGCONT: u32 = 18;
pub const SIGTSTP: u32 = 20;
pub const SIGSTOP: u32 = 19;

/// How a file is opened for a redirection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenMode {
    /// `<`: read only.
    Read,
    /// `>`: write, create, truncate.
    Write,
    /// `>>`: write, create, append.
    Append,
}

/// One step of descriptor set-up in a new process, run in order after
/// the process inherits the shell's descriptors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FdAction {
    /// `dup2(from, to)`.
    Dup2 { from: Fd, to: Fd },
    /// `close(fd)`.
    Close(Fd),
    /// Open `path` and make it descriptor `fd`.
    Open {
        fd: Fd,
        path: String,
        mode: OpenMode,
    },
}

/// Which process group a new process joins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProcessGroup {
    /// Stay in the shell's group (non-interactive shells).
    Inherit,
    /// Lead a new group whose id is the new pid (first stage of a job).
    New,
    /// Join an existing job's group.
    Join(Pid),
}

/// Everything needed to start one program.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpawnRequest {
    /// The resolved path of the program.
    pub path: String,
    pub argv: Vec<String>,
    /// `NAME=value` strings.
    pub envp: Vec<String>,
    pub actions: Vec<FdAction>,
    pub pgroup: ProcessGroup,
}

/// How a waited-for process changed state (the cases of Linux's wait
/// status word).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitStatus {
    Exited(i32),
    Signaled(u32),
    Stopped(u32),
    Continued,
}

impl WaitStatus {
    /// The `$?` a shell reports for it (128 + signal for a signal).
    pub fn shell_status(self) -> i32 {
        match self {
            WaitStatus::Exited(c) => c & 0xff,
            WaitStatus::Signaled(s) | WaitStatus::Stopped(s) => 128 + s as i32,
            WaitStatus::Continued => 0,
        }
    }
}

/// Errors from the system, as Linux names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SysError {
    NoEntry,
    NotDir,
    IsDir,
    Access,
    BadFd,
    NoChild,
    NoProcess,
    TooManyFiles,
    Again,
    NoExec,
    Interrupted,
    /// Anything else, with its errno.
    Other(i32),
}

impl fmt::Display for SysError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            SysError::NoEntry => "No such file or directory",
            SysError::NotDir => "Not a directory",
            SysError::IsDir => "Is a directory",
            SysError::Access => "Permission denied",
            SysError::BadFd => "Bad file descriptor",
            SysError::NoChild => "No child processes",
            SysError::NoProcess => "No such process",
            SysError::TooManyFiles => "Too many open files",
            SysError::Again => "Resource temporarily unavailable",
            SysError::NoExec => "Exec format error",
            SysError::Interrupted => "Interrupted system call",
            SysError::Other(e) => return write!(f, "error {e}"),
        };
        f.write_str(s)
    }
}

/// The system calls the executor makes.
pub trait System: DirLister {
    /// Starts a program; returns its pid.
    fn spawn(&mut self, req: &SpawnRequest) -> Result<Pid, SysError>;
    /// `waitpid(pid, WUNTRACED | (nohang ? WNOHANG : 0))`: `None` if
    /// `nohang` and the process has not changed state.
    fn wait(&mut self, pid: Pid, nohang: bool) -> Result<Option<WaitStatus>, SysError>;
    /// `kill(-pgid, sig)`: signals a whole process group.
    fn kill_group(&mut self, pgid: Pid, sig: u32) -> Result<(), SysError>;
    /// `kill(pid, sig)`: signals one process (the `kill` builtin).
    fn kill(&mut self, pid: Pid, sig: u32) -> Result<(), SysError>;
    /// `tcsetpgrp` on the shell's terminal.
    fn set_foreground(&mut self, pgid: Pid) -> Result<(), SysError>;
    /// `pipe()`: (read end, write end).
    fn pipe(&mut self) -> Result<(Fd, Fd), SysError>;
    fn open(&mut self, path: &str, mode: OpenMode) -> Result<Fd, SysError>;
    /// `fcntl(fd, F_DUPFD_CLOEXEC, 10)`: a copy above the user's range.
    fn dup_high(&mut self, fd: Fd) -> Result<Fd, SysError>;
    fn dup2(&mut self, from: Fd, to: Fd) -> Result<(), SysError>;
    fn close(&mut self, fd: Fd) -> Result<(), SysError>;
    fn write(&mut self, fd: Fd, bytes: &[u8]) -> Result<usize, SysError>;
    /// Reads a whole file (for `source`).
    fn read_file(&mut self, path: &str) -> Result<Vec<u8>, SysError>;
    /// True if `path` names an executable file.
    fn is_executable(&self, path: &str) -> bool;
    fn chdir(&mut self, path: &str) -> Result<(), SysError>;
    fn getcwd(&self) -> String;
    fn getpid(&self) -> Pid;
    /// The shell's own process group (given back the terminal after a job).
    fn getpgrp(&self) -> Pid;
    /// True (once) if SIGINT arrived for the shell since the last call:
    /// loops that run no program check it so Ctrl-C can stop them.
    fn take_interrupt(&mut self) -> bool;
    /// `execve(path, argv, envp)` of the shell itself (the `exec`
    /// builtin): returns only on failure, with why. A system that cannot
    /// replace the shell's image says `Other(ENOSYS)`.
    fn exec(&mut self, path: &str, argv: &[String], envp: &[String]) -> SysError {
        let _ = (path, argv, envp);
        SysError::Other(38)
    }
}
