//! The `proc` client's methods.

use super::*;
use crate::grant::Grant;
use crate::rpc::RpcError;

fn unexpected<T>(_: Reply) -> Result<T, ClientError> {
    Err(ClientError::Rpc(RpcError::Decode))
}

fn done(reply: Reply) -> Result<(), ClientError> {
    match reply {
        Reply::Done => Ok(()),
        other => unexpected(other),
    }
}

fn value(reply: Reply) -> Result<u64, ClientError> {
    match reply {
        Reply::Value(v) => Ok(v),
        other => unexpected(other),
    }
}

impl Client {
    /// Builds a child running `path` with `argv` and `envp` (not started:
    /// run its file actions, then [`Client::start`]); its pid.
    pub fn spawn(
        &self,
        path: &[u8],
        argv: &[&[u8]],
        envp: &[&[u8]],
        pgroup: Pgroup,
    ) -> Result<u64, ClientError> {
        let path = crate::proto::vfs::path(path).map_err(ClientError::Proc)?;
        let (block, argc, envc) =
            pack_args(argv.iter().copied(), envp.iter().copied()).map_err(ClientError::Proc)?;
        let request = Request::Spawn {
            path,
            argc,
            envc,
            pgroup,
        };
        let reply = if block.is_empty() {
            self.call(&request)?
        } else {
            let grant = Grant::read(&block).map_err(|e| ClientError::Rpc(RpcError::Sys(e)))?;
            self.call_granted(&request, grant)?
        };
        match reply {
            Reply::Pid(pid) => Ok(pid),
            other => unexpected(other),
        }
    }

    /// `fork`'s first half: `child` (an empty process the caller made)
    /// becomes its child, not running yet. Its pid and the numbers of its
    /// `@ns` and `@self` (0: none).
    pub fn fork(&self, child: &crate::handle::Process) -> Result<(u64, u32, u32), ClientError> {
        match self.call_with(&Request::Fork, &[child.raw()])?.0 {
            Reply::Forked { pid, ns, me } => Ok((pid, ns, me)),
            other => unexpected(other),
        }
    }

    /// `fork`'s second half: the child's first thread, with `pager`
    /// (moved to the server) as its pager.
    pub fn fork_start(
        &self,
        pid: u64,
        regs: [u64; 4],
        pager: crate::abi::Handle,
    ) -> Result<(), ClientError> {
        let [entry, stack, arg0, arg1] = regs;
        let request = Request::ForkStart {
            pid,
            entry,
            stack,
            arg0,
            arg1,
        };
        done(self.call_with(&request, &[pager])?.0)
    }

    /// `execve`: returns only on failure (on success the calling thread
    /// runs the new program, and this call never comes back).
    pub fn execve(&self, path: &[u8], argv: &[&[u8]], envp: &[&[u8]]) -> Result<(), ClientError> {
        let path = crate::proto::vfs::path(path).map_err(ClientError::Proc)?;
        let (block, argc, envc) =
            pack_args(argv.iter().copied(), envp.iter().copied()).map_err(ClientError::Proc)?;
        let request = Request::Execve { path, argc, envc };
        let reply = if block.is_empty() {
            self.call(&request)?
        } else {
            let grant = Grant::read(&block).map_err(|e| ClientError::Rpc(RpcError::Sys(e)))?;
            self.call_granted(&request, grant)?
        };
        unexpected(reply)
    }

    /// `setrlimit(RLIMIT_NPROC, {cur, max})`.
    pub fn set_nproc_limit(&self, cur: u64, max: u64) -> Result<(), ClientError> {
        done(self.call(&Request::SetNprocLimit { cur, max })?)
    }

    /// `reboot(magic1, magic2, cmd)`: returns only if the machine stays
    /// on (`Done` for the Ctrl-Alt-Del commands, else the error).
    pub fn reboot(&self, magic1: u32, magic2: u32, cmd: u32) -> Result<(), ClientError> {
        done(self.call(&Request::Reboot {
            magic1,
            magic2,
            cmd,
        })?)
    }

    /// `KillServer`: has `init` kill the server `name` (root only); the
    /// pid it had.
    pub fn kill_server(
        &self,
        name: crate::proto::name::Name,
        mode: crate::proto::name::KillMode,
    ) -> Result<u64, ClientError> {
        value(self.call(&Request::KillServer { name, mode })?)
    }

    /// Starts a child built by [`Client::spawn`].
    pub fn start(&self, pid: u64) -> Result<(), ClientError> {
        done(self.call(&Request::Start { pid })?)
    }

    /// `wait4(pid, options)`: `Some((pid, status))`, or `None` under
    /// `WNOHANG` when no child changed state.
    pub fn wait(&self, pid: i64, options: u32) -> Result<Option<(u64, i32)>, ClientError> {
        match self.call(&Request::Wait { pid, options })? {
            Reply::Waited { pid, status } => Ok(Some((pid, status))),
            Reply::NoChange => Ok(None),
            other => unexpected(other),
        }
    }

    /// Tells the server the caller exits with `status` (then exit).
    pub fn exit(&self, status: i32) -> Result<(), ClientError> {
        done(self.call(&Request::Exit { status })?)
    }

    pub fn kill(&self, pid: i64, sig: u32) -> Result<(), ClientError> {
        done(self.call(&Request::Kill { pid, sig })?)
    }

    /// As [`Client::kill`], giving up after `timeout_ns`
    /// (`ClientError::Rpc(Sys(TimedOut))`).
    pub fn kill_within(&self, pid: i64, sig: u32, timeout_ns: u64) -> Result<(), ClientError> {
        let request = Request::Kill { pid, sig };
        match crate::rpc::call_within::<Request, Reply>(self.endpoint(), &request, &[], timeout_ns)
        {
            Ok((Reply::Done, _)) => Ok(()),
            Ok((Reply::Error(e), _)) => Err(ClientError::Proc(e)),
            Ok((other, _)) => unexpected(other),
            Err(e) => Err(ClientError::Rpc(e)),
        }
    }

    /// The caller's ids: a register-only call (no payload either way,
    /// see the module's documentation), which the kernel's fast path
    /// carries.
    pub fn ids(&self) -> Result<Ids, ClientError> {
        let request = crate::ipc::Message::new(LABEL_GET_IDS);
        let reply = self
            .endpoint
            .call(&request, crate::abi::ipc::FOREVER)
            .map_err(|e| ClientError::Rpc(RpcError::Sys(e)))?;
        let registers_only = reply.info.length == 0 && reply.info.handles == 0;
        let answer = registers_only
            .then(|| ids_from_answer(reply.label(), &reply.words))
            .flatten();
        match answer {
            Some(Ok(ids)) => Ok(ids),
            Some(Err(e)) => Err(ClientError::Proc(e)),
            None if reply.label() == crate::rpc::LABEL_BAD_REQUEST => {
                Err(ClientError::Rpc(RpcError::BadRequest))
            }
            None => Err(ClientError::Rpc(RpcError::UnexpectedLabel(reply.label()))),
        }
    }

    pub fn setpgid(&self, pid: u64, pgid: u64) -> Result<(), ClientError> {
        done(self.call(&Request::Setpgid { pid, pgid })?)
    }

    pub fn getpgid(&self, pid: u64) -> Result<u64, ClientError> {
        value(self.call(&Request::Getpgid { pid })?)
    }

    /// A terminal's job-control facts about `pid` (see the table):
    /// `(pgid, same_session, ignored, orphaned)`. Gives up after
    /// `timeout_ns` (`ClientError::Rpc(Sys(TimedOut))`).
    pub fn tty_facts(
        &self,
        pid: u64,
        sig: u32,
        foreground: u32,
        timeout_ns: u64,
    ) -> Result<(u64, bool, bool, bool), ClientError> {
        let request = Request::TtyFacts {
            pid,
            sig,
            foreground,
        };
        match crate::rpc::call_within::<Request, Reply>(self.endpoint(), &request, &[], timeout_ns)
        {
            Ok((
                Reply::TtyFacts {
                    pgid,
                    same_session,
                    ignored,
                    orphaned,
                },
                _,
            )) => Ok((pgid, same_session, ignored, orphaned)),
            Ok((Reply::Error(e), _)) => Err(ClientError::Proc(e)),
            Ok((other, _)) => unexpected(other),
            Err(e) => Err(ClientError::Rpc(e)),
        }
    }

    pub fn setsid(&self) -> Result<u64, ClientError> {
        value(self.call(&Request::Setsid)?)
    }

    /// Sets (or with `None` reads) `sig`'s action; the old one.
    pub fn sigaction(&self, sig: u32, action: Option<SigAction>) -> Result<SigAction, ClientError> {
        match self.call(&Request::Sigaction { sig, action })? {
            Reply::Action(old) => Ok(old),
            other => unexpected(other),
        }
    }

    pub fn sigprocmask(&self, how: u32, set: u64) -> Result<u64, ClientError> {
        value(self.call(&Request::Sigprocmask { how, set })?)
    }

    pub fn sigpending(&self) -> Result<u64, ClientError> {
        value(self.call(&Request::Sigpending)?)
    }

    pub fn setuid(&self, uid: u32) -> Result<(), ClientError> {
        done(self.call(&Request::Setuid { uid })?)
    }

    pub fn setgid(&self, gid: u32) -> Result<(), ClientError> {
        done(self.call(&Request::Setgid { gid })?)
    }

    /// Up to [`LIST_MAX`] processes with pids above `after`, in order.
    pub fn list(&self, after: u64) -> Result<heapless::Vec<TaskInfo, LIST_MAX>, ClientError> {
        match self.call(&Request::List { after })? {
            Reply::Tasks(tasks) => Ok(tasks),
            other => unexpected(other),
        }
    }
}

/// The signal calls that return or block in the server.
impl Client {
    /// A handler is done: `mask` (its frame's) becomes the mask again.
    pub fn sigreturn(&self, mask: u64) -> Result<(), ClientError> {
        done(self.call(&Request::Sigreturn { mask })?)
    }

    /// `sigsuspend(mask)`: always ends in `EINTR` (a handler ran).
    pub fn sigsuspend(&self, mask: u64) -> Result<(), ClientError> {
        done(self.call(&Request::Sigsuspend { mask })?)
    }

    /// `alarm(seconds)`: the seconds the previous alarm had left.
    pub fn alarm(&self, seconds: u32) -> Result<u64, ClientError> {
        value(self.call(&Request::Alarm { seconds })?)
    }

    /// Sleeps `ns` nanoseconds in the server (`EINTR` if a handler ran).
    pub fn nanosleep(&self, ns: u64) -> Result<(), ClientError> {
        done(self.call(&Request::Nanosleep { ns })?)
    }
}
