//! `proc`, the process server: the process half of the POSIX-like
//! system-call surface as messages (LKD chapter 3), and the client stub.
//!
//! The caller is its badge (its pid). The server keeps the task list
//! (`procsrv::TaskStruct`s: parent and children, process group, session,
//! credentials, signal dispositions and masks, exit status) for every
//! process it started, and starts them from executable files it reads
//! through the VFS.
//!
//! Starting a program is `posix_spawn` in two steps, so that the file
//! actions can be any number: `Spawn` builds the child (its image read
//! and loaded, its stack laid out with `argv`, `envp` and the auxiliary
//! vector, its file table a copy of the caller's) but does not start it;
//! the caller then runs its file actions on the child's table
//! (`vfs::Request::ChildAction`, allowed to the parent of a child not yet
//! started) and sends `Start`. A child never started is the caller's:
//! counted against its children and removed when the caller exits.
//!
//! `Spawn` lends a read window holding `argc` arguments then `envc`
//! environment strings, each ending in a NUL (at most [`ARG_MAX`] bytes).
//!
//! | request | reply | notes |
//! | --- | --- | --- |
//! | `Spawn { path, argc, envc, pgroup }` + read grant | `Pid(pid)` | not started yet |
//! | `Start { pid }` | `Done` | the caller's child from `Spawn` |
//! | `Wait { pid, options }` | `Waited { pid, status }` or `NoChange` | `wait4`: `pid` −1 any child, > 0 that one, < −1 that group, 0 the caller's group; `WNOHANG`, `WUNTRACED`, `WCONTINUED`; answered later while nothing changed |
//! | `Exit { status }` | `Done` | the caller is about to exit with `status` (`_exit`); the server also sees deaths without it (killed, faulted) |
//! | `Kill { pid, sig }` | `Done` | `kill(2)`: `pid` < −1 a group, −1 every process the caller may signal; `sig` 0 checks only |
//! | `Setpgid { pid, pgid }` | `Done` | 0 means the caller / `pid` |
//! | `Getpgid { pid }` | `Value(pgid)` | |
//! | `Setsid` | `Value(sid)` | |
//! | `Sigaction { sig, action }` | `Action(old)` | `action` `None` only reads |
//! | `Sigprocmask { how, set }` | `Value(old mask)` | `SIG_BLOCK` 0, `SIG_UNBLOCK` 1, `SIG_SETMASK` 2 |
//! | `Sigpending` | `Value(set)` | |
//! | `Setuid { uid }`, `Setgid { gid }` | `Done` | |
//! | `List { after }` | `Tasks(tasks)` | up to [`LIST_MAX`] processes with pids above `after` (for `ps`) |
//! | `Cmdline { pid, from }` | `Cmdline { bytes, total }` | up to [`CMDLINE_CHUNK`] bytes of `pid`'s command line (arguments, each ending in a NUL) from byte `from`, and its whole length (`/proc/<pid>/cmdline`); `ESRCH` |
//! | `Fork` + an empty process the caller made (MAP, MANAGE) | `Forked { pid, ns, me }` | `fork`'s first half: the process becomes the caller's child (table entry, file table copied, `@ns` and `@self` in it: their numbers `ns`, `me`, `ns` 0 for none), not running; the caller then duplicates its space into it (`mm`'s `ForkAs`) and sends `ForkStart`; `EAGAIN` past `RLIMIT_NPROC` or the table, `EINVAL` for a process not empty |
//! | `ForkStart { pid, entry, stack, arg0, arg1 }` + the child's pager (from `ForkAs`) | `Done` | the child's first thread, made by the server (which keeps it) with those registers |
//! | `SetNprocLimit { cur, max }` | `Done` | `setrlimit(RLIMIT_NPROC)`: how many processes the caller's real uid may have (root is not held to it); `EPERM` to raise `max` without root, `EINVAL` for `cur > max` |
//! | `Execve { path, argc, envc }` + read grant (as `Spawn`) | none on success: the caller's thread goes on at the new program's entry | `execve`: `#!` followed, `ENOENT`, `EACCES`, `ENOEXEC`, `E2BIG`, `ELOOP`; the caller is unchanged on error. Only for processes the server made, from their first thread |
//! | `Sigreturn { mask }` | `Done` | a handler is done: the mask its frame saved comes back (libsys's handler entry sends it before the kernel's `sigreturn`) |
//! | `Sigsuspend { mask }` | `Error(EINTR)` | `sigsuspend`: `mask` until a handler runs; answered once one was delivered |
//! | `Alarm { seconds }` | `Value(seconds left of the previous alarm)` | `alarm(2)`: `SIGALRM` after `seconds` (0 cancels) |
//! | `Nanosleep { ns }` | `Done` or `Error(EINTR)` | sleeps `ns` in the server, so that a signal can interrupt it: `EINTR` when a handler ran, sleeping on otherwise |
//! | `KillServer { name, mode }` | `Value(pid it had)` | `service kill`/`service restart` ([`service`]): `EPERM` for anyone but root (checked first), `EBUSY` for `proc` itself; then the server asks `init`'s name service to kill the server registered as `name` (`spawned:<name>`: a spawned driver) and maps its answer: `ESRCH`, `EINVAL` (not restartable: the memory server), `EAGAIN` (restarting), `ENOSYS` (the manifest gave the server no `service` right) |
//! | `Reboot { magic1, magic2, cmd }` | none for a power-off, restart or halt that worked; `Done` for `CAD_ON`/`CAD_OFF` | `reboot(2)` ([`reboot`]): `EPERM` for anyone but root (checked first), `EINVAL` for a wrong magic number or an unknown command, `ENOSYS` if the server holds no power control (manifest `power`), `EIO` if the kernel's `power` call failed (the machine stays on). The caller syncs and unmounts first |
//! | `TtyFacts { pid, sig, foreground }` | `TtyFacts { pgid, same_session, ignored, orphaned }` | a terminal's job control (`tty::jobctl`): `pid`'s group; whether it shares a session with a live member of group `foreground`; whether it blocks or ignores `sig` (or, adopted, cannot be stopped); whether its group is orphaned. `ESRCH`, `EINVAL`. Anyone may ask (Linux shows the same in `/proc/<pid>/status`) |
//!
//! **The ids in registers.** `getpid`, `getppid`, `getpgrp`, `getsid`
//! and the uids and gids are one call that carries no payload: a message
//! labelled [`LABEL_GET_IDS`] with no words, answered [`LABEL_IDS`] with
//! the caller's [`Ids`] in the six message registers
//! ([`Ids::to_words`]), or [`LABEL_IDS_ERRNO`] with an errno in the
//! first (`ESRCH`, `EINVAL`, `EPERM`: a caller the server cannot name).
//! Nothing is encoded or decoded on either side, and both directions
//! are register-only messages, which the kernel's IPC fast path carries
//! (the server answers with `reply_recv`): the cost of `getppid` is
//! about one IPC round trip.
//!
//! A handler the server delivers (the kernel's signal upcall) gets as its
//! second argument the four [`SigInfo`] words ([`SigInfo::to_words`]).
//!
//! Errors are [`Errno`]s (`ECHILD`, `ESRCH`, `EPERM`, `EINVAL`,
//! `ENOENT`, `EACCES`, `ENOEXEC`, `E2BIG`, `EAGAIN`; for `Reboot`,
//! `ENOSYS` and `EIO`; for `KillServer`, `EBUSY` and `ENOSYS`).

use postcard::experimental::max_size::MaxSize;
use serde::{Deserialize, Serialize};

pub use crate::errno::Errno;
pub use crate::proto::vfs::{Path, PATH_MAX};

/// The name the server registers.
pub const NAME: &str = "proc";
/// Bytes of arguments and environment one `Spawn` lends at most.
pub const ARG_MAX: usize = 128 * 1024;
/// Processes one `List` reply holds.
pub const LIST_MAX: usize = 16;
/// Bytes of a command line one `Cmdline` reply holds (no more than a
/// `Tasks` reply takes, which sets the size of every `Reply`).
pub const CMDLINE_CHUNK: usize = 512;
/// `wait4`'s options.
pub const WNOHANG: u32 = 1;
pub const WUNTRACED: u32 = 2;
pub const WCONTINUED: u32 = 8;

/// Which process group a new process joins.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, MaxSize)]
pub enum Pgroup {
    /// The caller's.
    Inherit,
    /// A new group led by the child (`setpgid(0, 0)` in the child).
    New,
    /// That group (of the caller's session).
    Join(u64),
}

/// `struct sigaction`: the handler (`SIG_DFL` 0, `SIG_IGN` 1, or an
/// address), `SA_*` flags, the restorer and the mask during the handler.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, MaxSize)]
pub struct SigAction {
    pub handler: u64,
    pub flags: u64,
    pub restorer: u64,
    pub mask: u64,
}

/// The label of the ids request (no words, no payload).
pub const LABEL_GET_IDS: u32 = 0x7072_0001;
/// The label of its answer: the [`Ids`] in the six words.
pub const LABEL_IDS: u32 = 0x7072_0002;
/// The label of its refusal: the errno in the first word.
pub const LABEL_IDS_ERRNO: u32 = 0x7072_0003;

/// A process's ids, as [`LABEL_IDS`] carries them in the message
/// registers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Ids {
    pub pid: u64,
    pub ppid: u64,
    pub pgid: u64,
    pub sid: u64,
    pub uid: u32,
    pub euid: u32,
    pub gid: u32,
    pub egid: u32,
}

impl Ids {
    /// The six message words: `pid`, `ppid`, `pgid`, `sid`,
    /// `uid | euid << 32`, `gid | egid << 32`.
    pub const fn to_words(&self) -> [u64; crate::abi::ipc::MSG_WORDS] {
        [
            self.pid,
            self.ppid,
            self.pgid,
            self.sid,
            self.uid as u64 | (self.euid as u64) << 32,
            self.gid as u64 | (self.egid as u64) << 32,
        ]
    }

    pub const fn from_words(w: &[u64; crate::abi::ipc::MSG_WORDS]) -> Ids {
        Ids {
            pid: w[0],
            ppid: w[1],
            pgid: w[2],
            sid: w[3],
            uid: w[4] as u32,
            euid: (w[4] >> 32) as u32,
            gid: w[5] as u32,
            egid: (w[5] >> 32) as u32,
        }
    }
}

/// The server's answer to the ids request, as a label and the six
/// words: [`LABEL_IDS`] and the ids, or [`LABEL_IDS_ERRNO`] and the errno
/// in the first word.
pub const fn ids_answer(ids: Result<Ids, Errno>) -> (u32, [u64; crate::abi::ipc::MSG_WORDS]) {
    match ids {
        Ok(ids) => (LABEL_IDS, ids.to_words()),
        Err(e) => (LABEL_IDS_ERRNO, [e.as_i32() as u32 as u64, 0, 0, 0, 0, 0]),
    }
}

/// What an answer to the ids request says (its label and words), for
/// the client: the ids, the server's errno, or `None` for a message that
/// is neither (another label; a refusal whose word is no errno).
pub fn ids_from_answer(
    label: u32,
    words: &[u64; crate::abi::ipc::MSG_WORDS],
) -> Option<Result<Ids, Errno>> {
    match label {
        LABEL_IDS => Some(Ok(Ids::from_words(words))),
        LABEL_IDS_ERRNO => i32::try_from(words[0])
            .ok()
            .and_then(|n| Errno::from_i32(n).ok())
            .map(Err),
        _ => None,
    }
}

/// One line of `ps`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, MaxSize)]
pub struct TaskInfo {
    pub pid: u64,
    pub ppid: u64,
    pub pgid: u64,
    pub sid: u64,
    pub uid: u32,
    /// `R`, `S`, `T`, `Z` as Linux's `/proc/<pid>/stat` shows it.
    pub state: u8,
    /// The command (the executable's name, at most 15 bytes: `comm`).
    pub comm: heapless::String<15>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, MaxSize)]
pub enum Request {
    Spawn {
        path: Path,
        argc: u32,
        envc: u32,
        pgroup: Pgroup,
    },
    Start {
        pid: u64,
    },
    Wait {
        pid: i64,
        options: u32,
    },
    Exit {
        status: i32,
    },
    Kill {
        pid: i64,
        sig: u32,
    },
    Setpgid {
        pid: u64,
        pgid: u64,
    },
    Getpgid {
        pid: u64,
    },
    Setsid,
    Sigaction {
        sig: u32,
        action: Option<SigAction>,
    },
    Sigprocmask {
        how: u32,
        set: u64,
    },
    Sigpending,
    Setuid {
        uid: u32,
    },
    Setgid {
        gid: u32,
    },
    List {
        after: u64,
    },
    Cmdline {
        pid: u64,
        from: u32,
    },
    Sigreturn {
        mask: u64,
    },
    Sigsuspend {
        mask: u64,
    },
    Nanosleep {
        ns: u64,
    },
    Alarm {
        seconds: u32,
    },
    Fork,
    ForkStart {
        pid: u64,
        entry: u64,
        stack: u64,
        arg0: u64,
        arg1: u64,
    },
    Execve {
        path: Path,
        argc: u32,
        envc: u32,
    },
    /// `setrlimit(RLIMIT_NPROC, …)` (the only resource kept by proc).
    SetNprocLimit {
        cur: u64,
        max: u64,
    },
    /// `reboot(2)`: see [`reboot`].
    Reboot {
        magic1: u32,
        magic2: u32,
        cmd: u32,
    },
    /// `service kill`/`restart`: see [`service`].
    KillServer {
        name: crate::proto::name::Name,
        mode: crate::proto::name::KillMode,
    },
    /// A terminal's job-control check: see the table.
    TtyFacts {
        pid: u64,
        sig: u32,
        foreground: u32,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, MaxSize)]
pub enum Reply {
    Done,
    Pid(u64),
    Waited {
        pid: u64,
        status: i32,
    },
    NoChange,
    Value(u64),
    Action(SigAction),
    Tasks(heapless::Vec<TaskInfo, LIST_MAX>),
    Cmdline {
        bytes: heapless::Vec<u8, CMDLINE_CHUNK>,
        total: u32,
    },
    /// To `Fork`: the child's pid and the numbers of its `@ns` and
    /// `@self` handles (in its own table).
    Forked {
        pid: u64,
        ns: u32,
        me: u32,
    },
    /// To `TtyFacts`.
    TtyFacts {
        pgid: u64,
        same_session: bool,
        ignored: bool,
        orphaned: bool,
    },
    Error(Errno),
}

const _: () = assert!(crate::rpc::fits::<Request>() && crate::rpc::fits::<Reply>());

/// Words of signal information an upcall carries (the kernel's
/// `SIGINFO_WORDS`).
pub const SIGINFO_WORDS: usize = 4;

/// The signal information the server hands a handler, as four words:
/// `signo | code << 32`, `pid | uid << 32`, the value (a child's status
/// for `SIGCHLD`, the address for a fault), and the signal mask the
/// handler's return restores (`rt_sigreturn`'s `uc_sigmask`; libsys's
/// handler entry sends it back as `Sigreturn`). Like Linux's frame, it
/// is the process's own memory: a handler that changes the mask word
/// changes only its own mask, never `SIGKILL` or `SIGSTOP`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SigInfo {
    pub signo: u32,
    /// `si_code`: 0 `SI_USER` (from `kill`), 0x80 from the server itself,
    /// `CLD_*` for `SIGCHLD`, `SEGV_*` for a fault.
    pub code: i32,
    /// The sender's pid (the child's for `SIGCHLD`).
    pub pid: u32,
    /// The sender's real uid.
    pub uid: u32,
    /// `si_status` or `si_addr`.
    pub value: u64,
    /// The mask to restore when the handler returns.
    pub restore_mask: u64,
}

impl SigInfo {
    pub const fn to_words(&self) -> [u64; SIGINFO_WORDS] {
        [
            self.signo as u64 | ((self.code as u32 as u64) << 32),
            self.pid as u64 | ((self.uid as u64) << 32),
            self.value,
            self.restore_mask,
        ]
    }

    pub const fn from_words(w: &[u64; SIGINFO_WORDS]) -> SigInfo {
        SigInfo {
            signo: w[0] as u32,
            code: (w[0] >> 32) as u32 as i32,
            pid: w[1] as u32,
            uid: (w[1] >> 32) as u32,
            value: w[2],
            restore_mask: w[3],
        }
    }
}

/// Packs `argv` then `envp` as `Spawn` lends them: each string and its
/// NUL. `E2BIG` past [`ARG_MAX`], `EINVAL` for a string holding a NUL.
pub fn pack_args<'a>(
    argv: impl IntoIterator<Item = &'a [u8]>,
    envp: impl IntoIterator<Item = &'a [u8]>,
) -> Result<(alloc::vec::Vec<u8>, u32, u32), Errno> {
    let mut block = alloc::vec::Vec::new();
    let mut counts = [0u32; 2];
    for (i, list) in [
        argv.into_iter().collect::<alloc::vec::Vec<_>>(),
        envp.into_iter().collect(),
    ]
    .into_iter()
    .enumerate()
    {
        for s in list {
            if s.contains(&0) {
                return Err(Errno::EINVAL);
            }
            if block.len() + s.len() + 1 > ARG_MAX {
                return Err(Errno::E2BIG);
            }
            block.extend_from_slice(s);
            block.push(0);
            counts[i] += 1;
        }
    }
    Ok((block, counts[0], counts[1]))
}

/// Arguments and environment strings, borrowed from a `Spawn` block.
pub type Unpacked<'a> = (alloc::vec::Vec<&'a [u8]>, alloc::vec::Vec<&'a [u8]>);

/// Splits a `Spawn` block back into `argc` arguments and `envc`
/// environment strings; `EINVAL` if the counts do not match the NULs.
pub fn unpack_args(block: &[u8], argc: u32, envc: u32) -> Result<Unpacked<'_>, Errno> {
    if block.len() > ARG_MAX {
        return Err(Errno::E2BIG);
    }
    let total = argc as usize + envc as usize;
    if block.is_empty() {
        return if total == 0 {
            Ok((alloc::vec::Vec::new(), alloc::vec::Vec::new()))
        } else {
            Err(Errno::EINVAL)
        };
    }
    if block.last() != Some(&0) {
        return Err(Errno::EINVAL);
    }
    let strings: alloc::vec::Vec<&[u8]> = block[..block.len() - 1].split(|&b| b == 0).collect();
    if strings.len() != total {
        return Err(Errno::EINVAL);
    }
    let (argv, envp) = strings.split_at(argc as usize);
    Ok((argv.to_vec(), envp.to_vec()))
}

client_stub! {
    /// The client stub: the process calls as methods.
    server: "proc", error: Proc
}

client_error! {
    /// Why a `proc` call failed: the server's errno, or the call itself.
    Proc(Errno),
}

impl ClientError {
    /// The errno a POSIX caller sees (`EIO` when the call itself failed).
    pub fn errno(&self) -> Errno {
        match self {
            ClientError::Proc(e) => *e,
            ClientError::Rpc(_) => Errno::EIO,
        }
    }
}

#[cfg(target_os = "none")]
mod client;
pub mod reboot;
pub mod service;

#[cfg(test)]
mod tests;
