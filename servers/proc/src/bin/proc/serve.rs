//! The server loop and the requests: each request's reply right is saved
//! first (`ipc::save_reply`), because serving it may call the file server;
//! the reply goes through it, now or, for a `Wait` that must block, when
//! a child changes. Watch signals on the bound notification are deaths.

use alloc::vec::Vec;

use libsys::abi::ipc::PAYLOAD_MAX;
use libsys::abi::{ProcessStatus, SysError};
use libsys::errno::Errno;
use libsys::grant::{CallerGrant, GrantAccess};
use libsys::handle::{Endpoint, OwnedHandle};
use libsys::ipc::{self, Message, SavedReply};
use libsys::proto::name::{self, KillMode};
use libsys::proto::proc::{
    self, Ids, Pgroup, Reply, Request, SigAction, TaskInfo, CMDLINE_CHUNK, LIST_MAX,
};
use libsys::rpc::{self, LABEL_BAD_REQUEST, LABEL_REPLY, LABEL_REQUEST, LABEL_SERVER_ERROR};
use libsys::{eprintln, println};

use procsrv::signal::action::SigAction as CoreAction;
use procsrv::signal::SigSet;
use procsrv::table::Event;
use procsrv::{wait_status, Pid, WaitOutcome, INIT_PID};

use crate::build::{self, Spec};
use crate::{now, Kid, Proc, Waiter};

/// Errors of the core, as the protocol's errno.
pub(crate) fn errno(e: procsrv::Errno) -> Errno {
    Errno::from_i32(e as i32).unwrap_or(Errno::EIO)
}

fn pid32(pid: u64) -> Result<Pid, Errno> {
    Pid::try_from(pid).map_err(|_| Errno::ESRCH)
}

pub(crate) fn encode(reply: &Reply) -> Message {
    match rpc::encode_payload(reply) {
        Ok(length) => Message::new(LABEL_REPLY).with_payload(length),
        Err(_) => Message::new(LABEL_SERVER_ERROR),
    }
}

/// A process's ids (`getpid`, `getppid`, `getpgrp`, `getsid`, the uids
/// and gids).
fn ids_of(task: &procsrv::TaskStruct) -> Ids {
    Ids {
        pid: u64::from(task.pid),
        ppid: u64::from(task.parent),
        pgid: u64::from(task.pgid),
        sid: u64::from(task.sid),
        uid: task.cred.uid,
        euid: task.cred.euid,
        gid: task.cred.gid,
        egid: task.cred.egid,
    }
}

/// The register-only answer to the ids request.
fn ids_message(ids: Result<Ids, Errno>) -> Message {
    let (label, words) = proc::ids_answer(ids);
    Message::new(label).with_words(words)
}

impl Proc {
    pub(crate) fn serve(&mut self, endpoint: &Endpoint) -> SysError {
        let mut input = [0u8; PAYLOAD_MAX];
        // The register-only answer to the last request (the ids), given
        // with the next receive in one `reply_recv`.
        // The thread keeps the reply right to that caller meanwhile:
        // `expire_timers` may call other servers but never receives, and
        // only a receive takes a new right.
        let mut answer: Option<Message> = None;
        loop {
            self.expire_timers();
            let timeout = self.next_timeout();
            let received = match answer.take() {
                Some(msg) => endpoint.reply_recv(&msg, timeout),
                None => endpoint.recv(timeout),
            };
            let mut received = match received {
                Ok(r) => r,
                Err(SysError::TimedOut) => continue,
                Err(e) => return e,
            };
            if let Some(bits) = received.signals() {
                self.deaths_signalled(bits);
                self.carry_out();
                continue;
            }
            // The ids: answered from the registers, before anything is
            // decoded or a reply right saved (`proto::proc`, "The ids in
            // registers").
            if received.msg.label() == proc::LABEL_GET_IDS
                && received.msg.info.length == 0
                && received.msg.info.handles == 0
            {
                answer = self.answer_ids(received.badge);
                continue;
            }
            let carried: Vec<OwnedHandle> = received.take_handles().collect();
            let msg = received.msg;
            let badge = received.badge;
            let n = ipc::read_payload(msg.info.length.into(), &mut input);
            let Ok(reply) = ipc::save_reply() else {
                eprintln!("proc: cannot keep a reply right");
                continue;
            };
            let request = (msg.label() == LABEL_REQUEST)
                .then(|| rpc::decode::<Request>(&input[..n]).ok())
                .flatten();
            let Some(request) = request else {
                let _ = reply.reply(&Message::new(LABEL_BAD_REQUEST));
                continue;
            };
            let outcome = match self.caller(badge) {
                Ok(caller) => match request {
                    Request::Fork | Request::ForkStart { .. } | Request::Execve { .. } => {
                        self.handle_fork_exec(caller, request, &msg, reply, carried)
                    }
                    request => self.handle(caller, request, &msg, reply),
                },
                Err(e) => Err((e, reply)),
            };
            // What the request made happen first (a handler's upcall
            // set, a thread stopped), then the reply: the reply wakes the
            // caller, which may run at once and return to user mode — a
            // `sigprocmask` that unblocked a pending signal returned
            // before its handler ran when the upcall came after (as
            // `signal_pending` says of an `EINTR` reply). Set before, the
            // handler runs on that very return.
            self.carry_out();
            match outcome {
                Ok(None) => {}
                Ok(Some((r, reply))) => {
                    let _ = reply.reply(&encode(&r));
                }
                Err((e, reply)) => {
                    let _ = reply.reply(&encode(&Reply::Error(e)));
                }
            }
        }
    }

    /// The ids request: the answer to give with the next receive, or
    /// `None` when it was given here. A caller not yet in the table is
    /// adopted first, which calls the credentials server: the reply right
    /// is saved before that call and answered through.
    fn answer_ids(&mut self, badge: u64) -> Option<Message> {
        let known = pid32(badge)
            .ok()
            .filter(|&pid| pid != 0)
            .and_then(|pid| self.table.get(pid));
        if let Some(task) = known {
            return Some(ids_message(Ok(ids_of(task))));
        }
        let Ok(reply) = ipc::save_reply() else {
            eprintln!("proc: cannot keep a reply right");
            return None;
        };
        let ids = self.caller(badge).and_then(|pid| {
            let task = self.table.get(pid).ok_or(Errno::ESRCH)?;
            Ok(ids_of(task))
        });
        let _ = reply.reply(&ids_message(ids));
        None
    }

    /// The caller's pid, adopting a process init started on its first
    /// request (as init's child, with its credentials from `cred`).
    fn caller(&mut self, badge: u64) -> Result<Pid, Errno> {
        let pid = pid32(badge).map_err(|_| Errno::EINVAL)?;
        if pid == 0 {
            return Err(Errno::EINVAL);
        }
        if self.table.get(pid).is_some() {
            return Ok(pid);
        }
        let cred = libsys::proto::cred::Client::connect()
            .ok()
            .and_then(|c| c.get(badge).ok())
            .ok_or(Errno::EPERM)?;
        let mut core = procsrv::cred::Credentials::new(cred.uid, cred.gid);
        core.euid = cred.euid;
        core.egid = cred.egid;
        self.table
            .adopt(pid, INIT_PID, core, b"", now())
            .map_err(errno)?;
        Ok(pid)
    }

    #[allow(clippy::type_complexity)]
    fn handle(
        &mut self,
        caller: Pid,
        request: Request,
        msg: &Message,
        reply: SavedReply,
    ) -> Result<Option<(Reply, SavedReply)>, (Errno, SavedReply)> {
        let outcome = match request {
            Request::Spawn {
                path,
                argc,
                envc,
                pgroup,
            } => {
                let mut block = Vec::new();
                let read = read_block(&mut CallerGrant::saved(msg, &reply), &mut block);
                read.and_then(|()| self.spawn(caller, &path, &block, argc, envc, pgroup))
                    .map(Reply::Pid)
            }
            Request::Wait { pid, options } => {
                return match self.wait(caller, pid, options) {
                    Ok(Some(r)) => Ok(Some((r, reply))),
                    Ok(None) => {
                        let pid = i32::try_from(pid).unwrap_or(i32::MIN);
                        self.waiters.push(Waiter {
                            caller,
                            pid,
                            options,
                            reply,
                        });
                        Ok(None)
                    }
                    Err(e) => Err((e, reply)),
                };
            }
            request @ (Request::Sigreturn { .. }
            | Request::Sigsuspend { .. }
            | Request::Nanosleep { .. }
            | Request::Alarm { .. }) => {
                return self.signal_request(caller, request, reply);
            }
            other => self.handle_simple(caller, other),
        };
        match outcome {
            Ok(r) => Ok(Some((r, reply))),
            Err(e) => Err((e, reply)),
        }
    }

    fn handle_simple(&mut self, caller: Pid, request: Request) -> Result<Reply, Errno> {
        let t = &mut self.table;
        let reply = match request {
            Request::Start { pid } => {
                self.start(caller, pid)?;
                Reply::Done
            }
            Request::Exit { status } => {
                if let Some(kid) = self.kids.get_mut(&u64::from(caller)) {
                    kid.said_exit = true;
                }
                t.exit(caller, status as u8).map_err(errno)?;
                Reply::Done
            }
            Request::Kill { pid, sig } => {
                let pid = i32::try_from(pid).map_err(|_| Errno::ESRCH)?;
                t.kill(caller, pid, sig).map_err(errno)?;
                // Delivered (stopped, killed, a handler's upcall set)
                // before the sender hears back, as Linux's `kill`: the
                // terminal answers a background reader only after its
                // `SIGTTIN` stopped it.
                self.carry_out();
                Reply::Done
            }
            Request::Setpgid { pid, pgid } => {
                let pid = i32::try_from(pid).map_err(|_| Errno::ESRCH)?;
                let pgid = i32::try_from(pgid).map_err(|_| Errno::EINVAL)?;
                t.setpgid(caller, pid, pgid).map_err(errno)?;
                Reply::Done
            }
            Request::TtyFacts {
                pid,
                sig,
                foreground,
            } => {
                let pid = u32::try_from(pid).map_err(|_| Errno::ESRCH)?;
                let f = t.tty_facts(pid, sig, foreground).map_err(errno)?;
                Reply::TtyFacts {
                    pgid: u64::from(f.pgid),
                    same_session: f.same_session,
                    ignored: f.ignored,
                    orphaned: f.orphaned,
                }
            }
            Request::Getpgid { pid } => {
                let pid = i32::try_from(pid).map_err(|_| Errno::ESRCH)?;
                Reply::Value(u64::from(t.getpgid(caller, pid).map_err(errno)?))
            }
            Request::Setsid => Reply::Value(u64::from(t.setsid(caller).map_err(errno)?)),
            Request::Sigaction { sig, action } => {
                let new = match action {
                    Some(a) => Some(
                        CoreAction::from_raw(a.handler, a.flags, a.mask, a.restorer)
                            .map_err(errno)?,
                    ),
                    None => None,
                };
                let old = t.sigaction(caller, sig, new).map_err(errno)?;
                Reply::Action(SigAction {
                    handler: old.handler.raw(),
                    flags: old.flags,
                    restorer: old.restorer,
                    mask: old.mask.bits(),
                })
            }
            Request::Sigprocmask { how, set } => {
                let old = t
                    .sigprocmask(caller, how, Some(SigSet::from_bits(set)))
                    .map_err(errno)?;
                Reply::Value(old.bits())
            }
            Request::Sigpending => Reply::Value(t.sigpending(caller).map_err(errno)?.bits()),
            Request::Setuid { uid } => {
                t.setuid(caller, uid).map_err(errno)?;
                Reply::Done
            }
            Request::Setgid { gid } => {
                t.setgid(caller, gid).map_err(errno)?;
                Reply::Done
            }
            Request::List { after } => Reply::Tasks(self.list(after)),
            Request::Cmdline { pid, from } => self.cmdline_chunk(pid, from)?,
            Request::SetNprocLimit { cur, max } => {
                let limit = procsrv::task::Rlimit { cur, max };
                t.set_nproc_limit(caller, limit).map_err(errno)?;
                Reply::Done
            }
            Request::Reboot {
                magic1,
                magic2,
                cmd,
            } => {
                self.reboot(caller, magic1, magic2, cmd)?;
                Reply::Done
            }
            Request::KillServer { name, mode } => {
                Reply::Value(self.kill_server(caller, &name, mode)?)
            }
            Request::Spawn { .. }
            | Request::Wait { .. }
            | Request::Fork
            | Request::ForkStart { .. }
            | Request::Execve { .. }
            | Request::Sigreturn { .. }
            | Request::Sigsuspend { .. }
            | Request::Nanosleep { .. }
            | Request::Alarm { .. } => return Err(Errno::EINVAL),
        };
        Ok(reply)
    }

    /// `Cmdline`: a piece of `pid`'s command line as `/proc/<pid>/cmdline`
    /// shows it (each argument ending in a NUL); `ESRCH` if there is no
    /// such process.
    fn cmdline_chunk(&self, pid: u64, from: u32) -> Result<Reply, Errno> {
        let pid = Pid::try_from(pid).map_err(|_| Errno::ESRCH)?;
        let task = self.table.get(pid).ok_or(Errno::ESRCH)?;
        let mut line = task.cmdline.clone();
        if !line.is_empty() {
            line.push(0);
        }
        let start = (from as usize).min(line.len());
        let end = line.len().min(start + CMDLINE_CHUNK);
        let bytes = heapless::Vec::from_slice(&line[start..end]).map_err(|_| Errno::EINVAL)?;
        Ok(Reply::Cmdline {
            bytes,
            total: line.len() as u32,
        })
    }

    /// `reboot(2)`: Linux's checks (`EPERM`, then `EINVAL`), then the
    /// kernel's `power` with the server's power control (`ENOSYS`
    /// without one). Returns only if the machine stays on: `Ok` for the
    /// Ctrl-Alt-Del commands, `EIO` when the kernel call failed.
    fn reboot(&mut self, caller: Pid, magic1: u32, magic2: u32, cmd: u32) -> Result<(), Errno> {
        let euid = self.table.get(caller).ok_or(Errno::ESRCH)?.cred.euid;
        let cmd = proc::reboot::check(euid, magic1, magic2, cmd)?;
        let Some(action) = cmd.power() else {
            return Ok(());
        };
        let control = self.power.as_ref().ok_or(Errno::ENOSYS)?;
        println!("proc: {} requested by pid {caller}", action.name());
        match control.power(action) {
            Ok(()) => eprintln!("proc: {} returned; the machine stays on", action.name()),
            Err(e) => eprintln!("proc: {} failed: {e}; the machine stays on", action.name()),
        }
        Err(Errno::EIO)
    }

    /// `KillServer` (`service kill`/`restart`): root only, never this
    /// server; then `init`'s name service kills it, with this server's
    /// `service` right (`proc::service`). The pid it had.
    fn kill_server(&mut self, caller: Pid, name: &str, mode: KillMode) -> Result<u64, Errno> {
        let euid = self.table.get(caller).ok_or(Errno::ESRCH)?.cred.euid;
        proc::service::check(euid, name)?;
        let ns = libsys::names::service().map_err(|_| Errno::ENOSYS)?;
        let request = name::Request::Kill {
            name: name::Name::try_from(name).map_err(|_| Errno::ENAMETOOLONG)?,
            mode,
        };
        let (reply, _) = libsys::rpc::call_with::<name::Request, name::Reply>(&ns, &request, &[])
            .map_err(|_| Errno::EIO)?;
        let pid = proc::service::outcome(&reply)?;
        println!("proc: {name} (pid {pid}) killed for pid {caller} ({mode:?})");
        Ok(pid)
    }

    fn list(&self, after: u64) -> heapless::Vec<TaskInfo, LIST_MAX> {
        let mut tasks = heapless::Vec::new();
        for t in self.table.iter().filter(|t| u64::from(t.pid) > after) {
            let name = t.cmdline.split(|&b| b == 0).next().unwrap_or(&[]);
            let name = name.rsplit(|&b| b == b'/').next().unwrap_or(&[]);
            let mut comm = heapless::String::new();
            for c in core::str::from_utf8(name).unwrap_or("?").chars() {
                if comm.push(c).is_err() {
                    break;
                }
            }
            let mut state = t.state.letter() as u8;
            if state == b'R' || comm.is_empty() {
                // The kernel's view: whether a thread runs (else the
                // process sleeps), and the name of a process this server
                // did not start (a server, a test), whose command line
                // it never saw.
                if let Some(k) = kernel_view(t.pid) {
                    if state == b'R' && k.running == 0 {
                        state = b'S';
                    }
                    if comm.is_empty() {
                        for c in k.name().chars() {
                            if comm.push(c).is_err() {
                                break;
                            }
                        }
                    }
                }
            }
            let info = TaskInfo {
                pid: u64::from(t.pid),
                ppid: u64::from(t.parent),
                pgid: u64::from(t.pgid),
                sid: u64::from(t.sid),
                uid: t.cred.uid,
                state,
                comm,
            };
            if tasks.push(info).is_err() {
                break;
            }
        }
        tasks
    }

    /// `wait4`: `Some` reply now, `None` to keep the caller waiting.
    fn wait(&mut self, caller: Pid, pid: i64, options: u32) -> Result<Option<Reply>, Errno> {
        let pid = i32::try_from(pid).map_err(|_| Errno::ECHILD)?;
        match self.table.wait4(caller, pid, options).map_err(errno)? {
            WaitOutcome::Child { pid, status, .. } => Ok(Some(Reply::Waited {
                pid: u64::from(pid),
                status,
            })),
            WaitOutcome::NoneReady => Ok(Some(Reply::NoChange)),
            WaitOutcome::WouldBlock => Ok(None),
        }
    }

    fn spawn(
        &mut self,
        caller: Pid,
        path: &[u8],
        block: &[u8],
        argc: u32,
        envc: u32,
        pgroup: Pgroup,
    ) -> Result<u64, Errno> {
        let (argv, envp) = proc::unpack_args(block, argc, envc)?;
        let found = crate::resolve::resolve(self.images.as_mut(), path, &argv)?;
        let argv: Vec<&[u8]> = found.argv.iter().map(|a| a.as_slice()).collect();
        let path = found.path.as_slice();
        let me = self.table.get(caller).ok_or(Errno::ESRCH)?;
        let (uid, gid) = (me.cred.euid, me.cred.egid);
        let built = build::build(
            &mut self.mem,
            &mut self.cache,
            &Spec {
                image: &found.image,
                key: found.key,
                path,
                argv: &argv,
                envp: &envp,
                uid,
                gid,
                mint: self.mint.as_ref(),
            },
        )?;
        let pid = built.pid;
        let child = pid32(pid)?;
        let forget = |s: &mut Proc, built: build::Built| {
            build::free_pages(&mut s.mem, built.prepared.child.pages);
        };
        if let Err(e) = self.enter(caller, child, path, &argv, pgroup) {
            forget(self, built);
            return Err(e);
        }
        if let Some(vfs) = &self.vfs {
            if let Err(e) = vfs.fork_files(u64::from(caller), pid) {
                let _ = self.table.exit(child, 127);
                let _ = self.table.take_events();
                let _ = self.table.wait4(caller, child as i32, wait_status::WNOHANG);
                forget(self, built);
                return Err(e.errno());
            }
        }
        let bit = 1u64 << (pid % 64);
        if let Err(e) = built.prepared.child.process.watch(&self.deaths, bit) {
            eprintln!("proc: cannot watch {pid}: {e}");
        }
        self.kids.insert(
            pid,
            Kid {
                prepared: built.prepared,
                started: false,
                said_exit: false,
                forked: false,
            },
        );
        Ok(pid)
    }

    /// The table's side of `Spawn`: `fork` then `execve` of the child.
    fn enter(
        &mut self,
        caller: Pid,
        child: Pid,
        path: &[u8],
        argv: &[&[u8]],
        pgroup: Pgroup,
    ) -> Result<(), Errno> {
        let t = &mut self.table;
        t.fork(caller, child, now()).map_err(errno)?;
        let grouped = match pgroup {
            Pgroup::Inherit => Ok(()),
            Pgroup::New => t.setpgid(child, 0, 0),
            Pgroup::Join(g) => match i32::try_from(g) {
                Ok(g) => t.setpgid(caller, child as i32, g),
                Err(_) => Err(procsrv::Errno::EPERM),
            },
        };
        let done = grouped.and_then(|()| t.exec(child, &cmdline(path, argv)));
        if let Err(e) = done {
            let _ = t.exit(child, 127);
            let _ = t.wait4(caller, child as i32, wait_status::WNOHANG);
            let _ = t.take_events();
            return Err(errno(e));
        }
        Ok(())
    }

    fn start(&mut self, caller: Pid, pid: u64) -> Result<(), Errno> {
        let task = self.table.get(pid32(pid)?).ok_or(Errno::ESRCH)?;
        let kid = self.kids.get_mut(&pid).ok_or(Errno::ESRCH)?;
        if task.parent != caller || kid.started || kid.forked {
            return Err(Errno::ESRCH);
        }
        if let Some(vfs) = &self.vfs {
            vfs.exec_files(pid).map_err(|e| e.errno())?;
        }
        kid.prepared.run().map_err(|_| Errno::EAGAIN)?;
        kid.started = true;
        Ok(())
    }

    /// Children whose watch bit is in `bits`: those the kernel says died.
    fn deaths_signalled(&mut self, bits: u64) {
        let dead: Vec<(u64, ProcessStatus)> = self
            .kids
            .iter()
            .filter(|(pid, _)| bits & (1 << (**pid % 64)) != 0)
            .filter_map(|(pid, kid)| match kid.prepared.child.process.status() {
                Ok(ProcessStatus::Alive) | Err(_) => None,
                Ok(status) => Some((*pid, status)),
            })
            .collect();
        for (pid, status) in dead {
            let Some(kid) = self.kids.remove(&pid) else {
                continue;
            };
            let Ok(p) = pid32(pid) else { continue };
            let alive = self.table.get(p).is_some_and(|t| !t.is_zombie());
            if alive && !kid.said_exit {
                let word = match status {
                    ProcessStatus::Exited(v) => wait_status::exited(v as u8),
                    ProcessStatus::Fault(vector) => {
                        wait_status::signaled(fault_signal(vector), false)
                    }
                    // SIGBUS, as Linux's VM_FAULT_SIGBUS.
                    ProcessStatus::BusError(_) => wait_status::signaled(7, false),
                    _ => wait_status::signaled(9, false),
                };
                if let Err(e) = self.table.exit_with_status(p, word) {
                    eprintln!("proc: the death of {pid}: {e:?}");
                }
            }
            build::free_pages(&mut self.mem, kid.prepared.child.pages);
        }
    }

    /// Does what the table's events say.
    pub(crate) fn carry_out(&mut self) {
        for _ in 0..64 {
            let events = self.table.take_events();
            if events.is_empty() {
                return;
            }
            for event in events {
                self.event(event);
            }
        }
    }

    fn event(&mut self, event: Event) {
        match event {
            Event::SignalPending(pid) => self.signal_pending(pid),
            Event::ChildChanged(parent) => self.retry_waiters(parent),
            Event::Exited(pid) => {
                self.drop_calls(pid);
                if let Some(task) = self.table.get(pid) {
                    self.log_core(pid, task.exit_status);
                }
                let key = u64::from(pid);
                if let Some(kid) = self.kids.get(&key) {
                    if !kid.said_exit {
                        let _ = kid.prepared.child.process.kill();
                    }
                }
                if let Some(vfs) = &self.vfs {
                    if let Err(e) = vfs.exit_files(key) {
                        eprintln!("proc: ExitFiles {pid}: {e}");
                    }
                }
            }
            Event::Stopped(pid) => self.stop_threads(pid),
            Event::Continued(pid) => self.continue_threads(pid),
            Event::Reaped(_) => {}
        }
    }

    /// Tries the kept `Wait`s of `parent` again.
    pub(crate) fn retry_waiters(&mut self, parent: Pid) {
        let mut i = 0;
        while i < self.waiters.len() {
            if self.waiters[i].caller != parent {
                i += 1;
                continue;
            }
            let w = &self.waiters[i];
            let answer = match self.table.wait4(w.caller, w.pid, w.options) {
                Ok(WaitOutcome::Child { pid, status, .. }) => Some(Reply::Waited {
                    pid: u64::from(pid),
                    status,
                }),
                Ok(WaitOutcome::NoneReady) => Some(Reply::NoChange),
                Ok(WaitOutcome::WouldBlock) => None,
                Err(e) => Some(Reply::Error(errno(e))),
            };
            match answer {
                Some(r) => {
                    let w = self.waiters.swap_remove(i);
                    let _ = w.reply.reply(&encode(&r));
                }
                None => i += 1,
            }
        }
    }
}

impl Proc {
    /// `Fork`, `ForkStart`, `Execve` (`fork_exec.rs`), with the handles
    /// the request carried.
    #[allow(clippy::type_complexity)]
    fn handle_fork_exec(
        &mut self,
        caller: Pid,
        request: Request,
        msg: &Message,
        reply: SavedReply,
        carried: Vec<OwnedHandle>,
    ) -> Result<Option<(Reply, SavedReply)>, (Errno, SavedReply)> {
        let outcome = match request {
            Request::Fork => self.fork(caller, carried),
            Request::ForkStart {
                pid,
                entry,
                stack,
                arg0,
                arg1,
            } => self.fork_start(caller, pid, [entry, stack, arg0, arg1], carried),
            Request::Execve { path, argc, envc } => {
                let mut block = Vec::new();
                if let Err(e) = read_block(&mut CallerGrant::saved(msg, &reply), &mut block) {
                    return Err((e, reply));
                }
                return self
                    .execve(caller, &path, &block, (argc, envc), reply)
                    .map(|()| None);
            }
            _ => Err(Errno::EINVAL),
        };
        match outcome {
            Ok(r) => Ok(Some((r, reply))),
            Err(e) => Err((e, reply)),
        }
    }
}

/// The command line the table keeps: the arguments NUL-separated (the
/// path when there are none).
pub(crate) fn cmdline(path: &[u8], argv: &[&[u8]]) -> Vec<u8> {
    let mut cmdline: Vec<u8> = Vec::new();
    for (i, a) in argv.iter().enumerate() {
        if i > 0 {
            cmdline.push(0);
        }
        cmdline.extend_from_slice(a);
    }
    if argv.is_empty() {
        cmdline.extend_from_slice(path);
    }
    cmdline
}

/// The signal a fault vector stands for (as Linux's traps do).
fn fault_signal(vector: u64) -> u8 {
    match vector {
        0 | 16 | 19 => 8, // #DE, #MF, #XM: SIGFPE
        6 => 4,           // #UD: SIGILL
        1 | 3 => 5,       // #DB, #BP: SIGTRAP
        17 => 7,          // #AC: SIGBUS
        _ => 11,          // #GP, #PF and the rest: SIGSEGV
    }
}

/// Copies the `Spawn` block out of the caller's window (none: empty).
fn read_block(grant: &mut CallerGrant, block: &mut Vec<u8>) -> Result<(), Errno> {
    let Some(window) = grant.window() else {
        return Ok(());
    };
    let len = usize::try_from(window.length).map_err(|_| Errno::E2BIG)?;
    if len > proc::ARG_MAX {
        return Err(Errno::E2BIG);
    }
    block.resize(len, 0);
    grant.read(0, block).map_err(|_| Errno::EFAULT)
}

/// What the kernel says of process `pid` (`process_times`: one pid space).
fn kernel_view(pid: Pid) -> Option<libsys::abi::ProcessTime> {
    let times = libsys::syscall::process_times(u64::from(pid).checked_sub(1)?).ok()?;
    let first = *times.entries().first()?;
    (first.pid == u64::from(pid)).then_some(first)
}
