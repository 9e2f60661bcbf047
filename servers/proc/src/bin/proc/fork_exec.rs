//! `fork` and `execve` (LKD chapter 3, "Process Creation").
//!
//! **fork** is three steps, because only the parent can ask the memory
//! server to duplicate its own space: the parent makes an empty process
//! and sends it with `Fork`; the server checks it is empty, enters the
//! child in the table (`EAGAIN` past `RLIMIT_NPROC`: the fork-bomb
//! bound), has vfs copy the file table (`ForkFiles`), gives the child
//! its `@ns` (badged with its pid) and `@self`, makes its first thread
//! (not started) and answers their numbers. The parent then calls `mm`'s
//! `ForkAs` (copy-on-write) and sends `ForkStart` with the pager it got
//! and the registers the child starts with (libsys's fork trampoline,
//! which restores the parent's callee-saved registers and returns 0);
//! the server sets the pager and starts the thread. A child never
//! started is killed when its parent asks (`Kill`) or exits.
//!
//! **execve** runs in the server while the caller waits in its call: the
//! file is resolved (`#!` followed, permission, `ENOEXEC`), planned and
//! its stack built (`build.rs`), then `mm`'s `Exec` replaces the space —
//! until then any error is answered and the caller goes on unchanged.
//! Past it, vfs closes the `O_CLOEXEC` descriptors (`ExecFiles`), the
//! table resets the signal handlers and the command line, and the
//! caller's thread, stopped on its way back to user mode
//! (`ThreadSuspend`, then the reply), gets the new program's registers
//! (`ThreadRegsWrite`: entry, stack, start-up string) and is resumed: the
//! same thread and pid run the new program. Only a process the server
//! made can `execve` (it holds its first thread), from that thread; a
//! failure past `mm`'s point of no return makes `mm` kill it, as Linux's
//! `begin_new_exec` sends `SIGKILL`; a thread that cannot be moved is
//! killed here.
//!
//! Known leak: each `execve` gives the process a new `@ns` and `@self`
//! and the old program's handles stay in its table (the kernel has no
//! call to close another process's handles); the kernel's handle limit
//! bounds it.

use alloc::vec::Vec;

use libsys::abi::exception::UserRegs;
use libsys::abi::{ObjectType, Rights, SysError};
use libsys::errno::Errno;
use libsys::handle::{Endpoint, OwnedHandle, Process};
use libsys::ipc::{Message, SavedReply};
use libsys::proto::proc::{self, Reply};
use libsys::spawn::{pid_of, Child, Prepared};
use libsys::{eprintln, exception};

use procsrv::{wait_status, Pid};

use crate::build::{self, Spec, StartState};
use crate::resolve::resolve;
use crate::{now, Kid, Proc};

fn sys(e: SysError) -> Errno {
    match e {
        SysError::NoMemory | SysError::OutOfResources => Errno::EAGAIN,
        _ => Errno::EINVAL,
    }
}

/// How many times the server yields waiting for an exec'ing thread to
/// stop before it gives up (and kills the process).
const STOP_TRIES: u32 = 10_000;

impl Proc {
    /// `Fork` with the carried handle (an empty process of the caller's):
    /// the child's pid and the numbers of its `@ns` and `@self`.
    pub(crate) fn fork(&mut self, caller: Pid, carried: Vec<OwnedHandle>) -> Result<Reply, Errno> {
        let [handle] = <[OwnedHandle; 1]>::try_from(carried).map_err(|_| Errno::EINVAL)?;
        match handle.info() {
            Ok((ObjectType::Process, rights)) if rights.contains(Rights::MAP | Rights::MANAGE) => {}
            _ => return Err(Errno::EINVAL),
        }
        let process = Process(handle);
        let pid = pid_of(process.raw()).map_err(sys)?;
        let child = Pid::try_from(pid).map_err(|_| Errno::EINVAL)?;
        if !is_empty(&process) || self.kids.contains_key(&pid) {
            return Err(Errno::EINVAL);
        }
        let t = &mut self.table;
        t.fork(caller, child, now()).map_err(crate::serve::errno)?;
        let undo = |s: &mut Proc| {
            let _ = s.table.exit(child, 127);
            let _ = s.table.take_events();
            let _ = s.table.wait4(caller, child as i32, wait_status::WNOHANG);
        };
        if let Some(vfs) = &self.vfs {
            if let Err(e) = vfs.fork_files(u64::from(caller), pid) {
                undo(self);
                return Err(e.errno());
            }
        }
        let made = build::give_ns_self(&process, pid, self.mint.as_ref())
            .and_then(|ids| Ok((ids, process.thread_create().map_err(sys)?)));
        let ((ns, me), thread) = match made {
            Ok(m) => m,
            Err(e) => {
                undo(self);
                if let Some(vfs) = &self.vfs {
                    let _ = vfs.exit_files(pid);
                }
                return Err(e);
            }
        };
        let bit = 1u64 << (pid % 64);
        if let Err(e) = process.watch(&self.deaths, bit) {
            eprintln!("proc: cannot watch {pid}: {e}");
        }
        let child_record = Child {
            process,
            thread,
            pages: Vec::new(),
        };
        self.kids.insert(
            pid,
            Kid {
                prepared: Prepared::from_parts(child_record, 0, 0, (0, 0)),
                started: false,
                said_exit: false,
                forked: true,
            },
        );
        Ok(Reply::Forked {
            pid,
            ns: ns.unwrap_or(0),
            me,
        })
    }

    /// `ForkStart`: the forked child's first thread, with the carried
    /// pager, started with the registers given.
    pub(crate) fn fork_start(
        &mut self,
        caller: Pid,
        pid: u64,
        regs: [u64; 4],
        carried: Vec<OwnedHandle>,
    ) -> Result<Reply, Errno> {
        let [pager] = <[OwnedHandle; 1]>::try_from(carried).map_err(|_| Errno::EINVAL)?;
        match pager.info() {
            Ok((ObjectType::Endpoint, rights)) if rights.contains(Rights::SEND) => {}
            _ => return Err(Errno::EINVAL),
        }
        let task = self
            .table
            .get(Pid::try_from(pid).map_err(|_| Errno::ESRCH)?)
            .ok_or(Errno::ESRCH)?;
        let kid = self.kids.get_mut(&pid).ok_or(Errno::ESRCH)?;
        if task.parent != caller || !kid.forked || kid.started {
            return Err(Errno::ESRCH);
        }
        let pager = Endpoint(pager);
        let thread = &kid.prepared.child.thread;
        thread.set_pager(Some(&pager)).map_err(sys)?;
        let [entry, stack, arg0, arg1] = regs;
        thread.start(entry, stack, arg0, arg1).map_err(sys)?;
        kid.started = true;
        Ok(Reply::Done)
    }

    /// `Execve`: answers the caller itself (an error, or on success the
    /// reply its stopped thread never sees as such).
    pub(crate) fn execve(
        &mut self,
        caller: Pid,
        path: &[u8],
        block: &[u8],
        counts: (u32, u32),
        reply: SavedReply,
    ) -> Result<(), (Errno, SavedReply)> {
        let start = match self.exec_image(caller, path, block, counts) {
            Ok(start) => start,
            Err(e) => return Err((e, reply)),
        };
        let key = u64::from(caller);
        let Some(kid) = self.kids.get(&key) else {
            return Err((Errno::ESRCH, reply));
        };
        let thread = &kid.prepared.child.thread;
        // Stopped on its way back from the call, then moved.
        let moved = exception::suspend(thread).ok().and_then(|()| {
            let _ = reply.reply(&Message::new(libsys::rpc::LABEL_REPLY));
            let mut regs = None;
            for _ in 0..STOP_TRIES {
                match exception::regs(thread) {
                    Ok(r) => {
                        regs = Some(r);
                        break;
                    }
                    Err(SysError::WouldBlock) => libsys::syscall::yield_now(),
                    Err(_) => break,
                }
            }
            let old = regs?;
            let new = UserRegs {
                rip: start.entry,
                rsp: start.sp,
                rdi: start.args.0,
                rsi: start.args.1,
                rflags: old.rflags,
                ..UserRegs::default()
            };
            exception::set_regs(thread, &new).ok()?;
            exception::resume(thread).ok()
        });
        if moved.is_none() {
            eprintln!("proc: execve of {caller}: the thread could not be moved: killed");
            let _ = kid.prepared.child.process.kill();
        }
        Ok(())
    }

    /// Everything of `execve` up to the thread's move: the new image in
    /// place, the descriptors and signal state of the new program.
    fn exec_image(
        &mut self,
        caller: Pid,
        path: &[u8],
        block: &[u8],
        (argc, envc): (u32, u32),
    ) -> Result<StartState, Errno> {
        let key = u64::from(caller);
        match self.kids.get(&key) {
            Some(kid) if kid.started => {}
            // A process the server did not make (init's servers): it does
            // not hold its thread.
            _ => return Err(Errno::ENOSYS),
        }
        let (argv, envp) = proc::unpack_args(block, argc, envc)?;
        let found = resolve(self.images.as_mut(), path, &argv)?;
        let plan = build::plan(&found.image)?;
        let me = self.table.get(caller).ok_or(Errno::ESRCH)?;
        let (uid, gid) = (me.cred.euid, me.cred.egid);
        let argv: Vec<&[u8]> = found.argv.iter().map(|a| a.as_slice()).collect();
        let spec = Spec {
            image: &found.image,
            key: found.key,
            path: &found.path,
            argv: &argv,
            envp: &envp,
            uid,
            gid,
            mint: self.mint.as_ref(),
        };
        let kid = self.kids.get(&key).ok_or(Errno::ESRCH)?;
        let process = &kid.prepared.child.process;
        let handles = build::give_handles(process, key, self.mint.as_ref())?;
        let execed = build::exec_into(
            &mut self.mem,
            &mut self.cache,
            process,
            key,
            &spec,
            &plan,
            &handles,
        );
        // On an error past mm's point of no return, mm has killed the
        // process; before it, the caller goes on in its old image.
        let (start, pager) = execed?;
        let _ = kid.prepared.child.thread.set_pager(Some(&pager));
        if let Some(vfs) = &self.vfs {
            if let Err(e) = vfs.exec_files(key) {
                eprintln!("proc: ExecFiles {caller}: {e}");
            }
        }
        let cmdline = crate::serve::cmdline(&found.path, &argv);
        let _ = self.table.exec(caller, &cmdline);
        Ok(start)
    }
}

/// A process made by the caller and nothing else yet: no thread, no page.
fn is_empty(process: &Process) -> bool {
    process
        .info()
        .is_ok_and(|info| info.threads == 0 && info.mapped_pages == 0)
}
