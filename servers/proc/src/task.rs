//! The process descriptor (LKD's `task_struct`, ch. 3) as proc keeps it:
//! identity and family (pid, parent, children), state, exit status,
//! process group and session, credentials, command line, times, the
//! controlling terminal, signals, and the per-process resource records.

use alloc::vec::Vec;

use crate::cred::Credentials;
use crate::signal::SignalState;

/// A process id. The pid space is the kernel's (one pid per kernel
/// process): the table takes the pids it is given.
pub type Pid = u32;

/// The pid of `init`, which adopts orphans.
pub const INIT_PID: Pid = 1;

/// The longest command line kept for `ps` and `/proc/<pid>/cmdline`;
/// longer ones are cut (the full one lives only on the new stack).
pub const CMDLINE_MAX: usize = 4096;

/// A process's state, as `ps` shows it (LKD's `TASK_*`/`EXIT_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TaskState {
    /// Runnable or running (`R`).
    Running,
    /// Blocked in a call (`S`): proc holds its answer.
    Sleeping,
    /// Stopped by a stop signal until `SIGCONT` (`T`).
    Stopped,
    /// Exited, waiting for its parent's `wait` (`Z`, `EXIT_ZOMBIE`).
    Zombie,
    /// Reaped (`X`, `EXIT_DEAD`): the state a descriptor is handed back
    /// in when it leaves the table; never found in it.
    Dead,
}

impl TaskState {
    /// The letter `ps` and `/proc/<pid>/stat` print.
    pub const fn letter(self) -> char {
        match self {
            TaskState::Running => 'R',
            TaskState::Sleeping => 'S',
            TaskState::Stopped => 'T',
            TaskState::Zombie => 'Z',
            TaskState::Dead => 'X',
        }
    }
}

/// A change `wait` has yet to report (`WUNTRACED`, `WCONTINUED`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PendingReport {
    /// Stopped by this signal number.
    Stopped(u8),
    /// Resumed by `SIGCONT`.
    Continued,
}

/// Resource usage (`struct rusage`, the fields this system measures).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Rusage {
    /// Time in user mode, nanoseconds.
    pub utime_ns: u64,
    /// Time in the kernel and in servers on its behalf, nanoseconds.
    pub stime_ns: u64,
    /// Page faults served without I/O.
    pub minflt: u64,
    /// Page faults that needed I/O.
    pub majflt: u64,
}

impl Rusage {
    /// Adds `other` (saturating: a hostile count cannot wrap).
    pub fn add(&mut self, other: &Rusage) {
        self.utime_ns = self.utime_ns.saturating_add(other.utime_ns);
        self.stime_ns = self.stime_ns.saturating_add(other.stime_ns);
        self.minflt = self.minflt.saturating_add(other.minflt);
        self.majflt = self.majflt.saturating_add(other.majflt);
    }
}

/// A resource limit (`struct rlimit`): soft `cur`, hard `max`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rlimit {
    pub cur: u64,
    pub max: u64,
}

/// `RLIM_INFINITY`.
pub const RLIM_INFINITY: u64 = u64::MAX;

/// The process descriptor.
#[derive(Clone, Debug)]
pub struct TaskStruct {
    pub pid: Pid,
    /// The parent's pid (0 for init, which has none).
    pub parent: Pid,
    /// Children, living or zombie, oldest first.
    pub children: Vec<Pid>,
    pub state: TaskState,
    /// A zombie's wait status (see `crate::wait_status`).
    pub exit_status: i32,
    /// A stop or continue `wait` has not reported yet.
    pub report: Option<PendingReport>,
    pub pgid: Pid,
    pub sid: Pid,
    pub cred: Credentials,
    /// The command line, arguments separated by NULs, at most
    /// [`CMDLINE_MAX`] bytes.
    pub cmdline: Vec<u8>,
    /// This process's own usage.
    pub rusage: Rusage,
    /// Usage of its reaped children (and theirs): `RUSAGE_CHILDREN`.
    pub children_rusage: Rusage,
    /// When it was created, nanoseconds since boot.
    pub start_time_ns: u64,
    /// The controlling terminal (a tty number the tty server gave).
    pub tty: Option<u32>,
    pub signals: SignalState,
    /// Has it called `execve` since `fork` (then its parent may no longer
    /// `setpgid` it: `EACCES`).
    pub did_exec: bool,
    /// `alarm`'s deadline, nanoseconds since boot.
    pub alarm_ns: Option<u64>,
    /// `RLIMIT_NPROC`: how many processes its real uid may have.
    pub nproc: Rlimit,
    /// Taken in, not made ([`crate::ProcessTable::adopt`]): init, and the
    /// servers and programs init started. The server holds no handle to
    /// such a process and cannot end, stop or resume it, nor run a
    /// handler in it, so no signal's default action applies to it (as
    /// none does to Linux's kernel threads), and only init and the
    /// process itself may send it one.
    pub adopted: bool,
}

impl TaskStruct {
    pub(crate) fn new(
        pid: Pid,
        parent: Pid,
        cred: Credentials,
        cmdline: &[u8],
        now_ns: u64,
    ) -> Self {
        TaskStruct {
            pid,
            parent,
            children: Vec::new(),
            state: TaskState::Running,
            exit_status: 0,
            report: None,
            pgid: pid,
            sid: pid,
            cred,
            cmdline: cmdline[..cmdline.len().min(CMDLINE_MAX)].to_vec(),
            rusage: Rusage::default(),
            children_rusage: Rusage::default(),
            start_time_ns: now_ns,
            tty: None,
            signals: SignalState::new(),
            did_exec: false,
            alarm_ns: None,
            nproc: Rlimit {
                cur: RLIM_INFINITY,
                max: RLIM_INFINITY,
            },
            adopted: false,
        }
    }

    pub fn is_zombie(&self) -> bool {
        self.state == TaskState::Zombie
    }

    /// A session leader: its pid is its session id.
    pub fn is_session_leader(&self) -> bool {
        self.sid == self.pid
    }

    /// Replaces the command line, cut at [`CMDLINE_MAX`].
    pub fn set_cmdline(&mut self, cmdline: &[u8]) {
        self.cmdline.clear();
        self.cmdline
            .extend_from_slice(&cmdline[..cmdline.len().min(CMDLINE_MAX)]);
    }
}
