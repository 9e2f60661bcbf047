//! Pipelines: each command is planned (a program to spawn, or something
//! the shell runs itself), pipes are made, programs are spawned with their
//! descriptor actions (pipe ends, then redirections, in order) into one
//! process group, and the shell waits for the job in the foreground or
//! records it in the job table.
//!
//! A builtin inside a multi-stage or background pipeline is spawned as the
//! program of the same name (`/bin/echo`), as the shell cannot fork
//! itself yet; a compound command runs in the shell, after every program
//! of its pipeline has been spawned (so no pipe can fill up with nobody
//! reading), and a pipeline may hold only one.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use crate::ast::{Command, Pipeline, RedirOp, Redirect};
use crate::builtins::is_builtin;
use crate::exec::Saved;
use crate::expand::{expand_single, expand_words, Environment};
use crate::jobs::{Job, JobProcess, JobState};
use crate::shell::{ExecError, Exit, Run, Shell};
use crate::system::{Fd, FdAction, OpenMode, Pid, ProcessGroup, SpawnRequest, System, SIGINT};
use crate::system::{WaitStatus, SIGTSTP};

/// How one command of a pipeline runs.
enum Stage<'a> {
    Spawn(SpawnRequest),
    /// In the shell: a compound command, a builtin (with its argv), or
    /// assignments alone.
    InProcess(&'a Command, Option<Vec<String>>),
    /// Could not be started; its status.
    Failed(i32),
}

/// A redirection turned into a descriptor action (its word expanded).
pub(crate) fn resolve_redirect(r: &Redirect, env: &dyn Environment) -> Result<FdAction, ExecError> {
    let target = expand_single(&r.target, env).map_err(ExecError::Expand)?;
    let mode = match r.op {
        RedirOp::Read => OpenMode::Read,
        RedirOp::Write => OpenMode::Write,
        RedirOp::Append => OpenMode::Append,
        RedirOp::Dup if target == "-" => return Ok(FdAction::Close(r.fd)),
        RedirOp::Dup => {
            let from = target
                .parse::<Fd>()
                .map_err(|_| ExecError::AmbiguousRedirect(target))?;
            return Ok(FdAction::Dup2 { from, to: r.fd });
        }
    };
    Ok(FdAction::Open {
        fd: r.fd,
        path: target,
        mode,
    })
}

impl<S: System> Shell<S> {
    /// Finds a program: a name with a `/` is used as it is, others are
    /// looked up in `PATH` (default `/bin`).
    pub(crate) fn find_program(&self, name: &str) -> Option<String> {
        if name.contains('/') {
            return self.sys.is_executable(name).then(|| name.to_string());
        }
        let path = self.var("PATH").unwrap_or("/bin");
        path.split(':').find_map(|dir| {
            let dir = if dir.is_empty() { "." } else { dir };
            let candidate = format!("{}/{name}", dir.trim_end_matches('/'));
            self.sys.is_executable(&candidate).then_some(candidate)
        })
    }

    fn plan<'a>(&mut self, cmd: &'a Command, spawn_builtins: bool) -> Result<Stage<'a>, ExecError> {
        let Command::Simple(sc) = cmd else {
            return Ok(Stage::InProcess(cmd, None));
        };
        let argv = expand_words(&sc.words, &self.env(), &self.sys).map_err(ExecError::Expand)?;
        let Some(name) = argv.first() else {
            return Ok(Stage::InProcess(cmd, None));
        };
        if is_builtin(name) && !spawn_builtins {
            return Ok(Stage::InProcess(cmd, Some(argv)));
        }
        let path = self
            .find_program(name)
            .ok_or_else(|| ExecError::CommandNotFound(name.clone()))?;
        let mut envp = self.environ();
        for a in &sc.assigns {
            let value = expand_single(&a.value, &self.env()).map_err(ExecError::Expand)?;
            envp.retain(|kv| kv.split_once('=').map(|(k, _)| k) != Some(a.name.as_str()));
            envp.push(format!("{}={value}", a.name));
        }
        let actions = sc
            .redirects
            .iter()
            .map(|r| resolve_redirect(r, &self.env()))
            .collect::<Result<Vec<_>, _>>()?;
        let pgroup = ProcessGroup::Inherit;
        Ok(Stage::Spawn(SpawnRequest {
            path,
            argv,
            envp,
            actions,
            pgroup,
        }))
    }

    /// Runs a pipeline in the foreground, or starts it in the background.
    pub(crate) fn run_pipeline(&mut self, p: &Pipeline, background: bool) -> Run {
        let status = self.run_pipeline_inner(p, background)?;
        Ok(if p.bang { (status == 0) as i32 } else { status })
    }

    fn run_pipeline_inner(&mut self, p: &Pipeline, background: bool) -> Run {
        let n = p.commands.len();
        let mut stages = Vec::with_capacity(n);
        for cmd in &p.commands {
            match self.plan(cmd, n > 1 || background) {
                Ok(stage) => stages.push(stage),
                Err(e) => {
                    let status = self.report(e);
                    stages.push(Stage::Failed(status));
                }
            }
        }
        let in_process = stages
            .iter()
            .filter(|s| matches!(s, Stage::InProcess(..)))
            .count();
        if n == 1 && in_process == 1 && !background {
            let Stage::InProcess(cmd, argv) = &stages[0] else {
                return Ok(1);
            };
            return self.run_in_process(cmd, argv.as_deref());
        }
        if background && in_process > 0 {
            return Ok(self.report(ExecError::NotInBackground));
        }
        if in_process > 1 {
            return Ok(self.report(ExecError::TooManyInProcess));
        }
        let pipes = match self.make_pipes(n - 1) {
            Ok(pipes) => pipes,
            Err(e) => return Ok(self.report(e)),
        };
        let (pids, pgid, statuses) = self.spawn_stages(&mut stages, &pipes);
        let mut last_status = statuses[n - 1];
        if let Some(status) = self.run_inner_stage(&stages, &pipes)? {
            if matches!(stages[n - 1], Stage::InProcess(..)) {
                last_status = Some(status);
            }
        }
        let Some(pgid) = pgid else {
            return Ok(last_status.unwrap_or(0));
        };
        let command = format!("{p}");
        if background {
            return Ok(self.start_background(pgid, &pids, command));
        }
        let procs = pids
            .iter()
            .map(|&pid| JobProcess { pid, status: None })
            .collect();
        let mut job = Job {
            id: 0,
            pgid,
            procs,
            command,
            state: JobState::Running,
        };
        let job_status = self.wait_foreground(&mut job);
        if job.state == JobState::Stopped {
            self.keep_stopped(job);
        }
        // The last stage's status, unless it was the shell's own or failed.
        Ok(last_status.unwrap_or(job_status))
    }

    /// `count` pipes; on failure none stays open.
    fn make_pipes(&mut self, count: usize) -> Result<Vec<(Fd, Fd)>, ExecError> {
        let mut pipes = Vec::with_capacity(count);
        for _ in 0..count {
            match self.sys.pipe() {
                Ok(pair) => pipes.push(pair),
                Err(e) => {
                    self.close_all(&pipes, None);
                    return Err(ExecError::Pipe(e));
                }
            }
        }
        Ok(pipes)
    }

    /// Closes the shell's pipe ends and runs the in-process stage, if
    /// any, on the ends it needs; returns its status.
    fn run_inner_stage(
        &mut self,
        stages: &[Stage<'_>],
        pipes: &[(Fd, Fd)],
    ) -> Result<Option<i32>, Exit> {
        let inner = stages
            .iter()
            .position(|s| matches!(s, Stage::InProcess(..)));
        let fds = inner.map(|i| {
            (
                i.checked_sub(1).map(|j| pipes[j].0),
                pipes.get(i).map(|p| p.1),
            )
        });
        self.close_all(pipes, fds);
        match (inner.map(|i| &stages[i]), fds) {
            (Some(Stage::InProcess(cmd, argv)), Some(fds)) => {
                self.run_with_pipe_ends(cmd, argv.as_deref(), fds).map(Some)
            }
            _ => Ok(None),
        }
    }

    /// Spawns every program stage; returns the pids, the job's process
    /// group and, per stage, the status known now (`None` for a spawned
    /// program, which the wait gives).
    fn spawn_stages(
        &mut self,
        stages: &mut [Stage<'_>],
        pipes: &[(Fd, Fd)],
    ) -> (Vec<Pid>, Option<Pid>, Vec<Option<i32>>) {
        let n = stages.len();
        let mut pids = Vec::new();
        let mut pgid = None;
        let mut statuses = Vec::with_capacity(n);
        for (i, stage) in stages.iter_mut().enumerate() {
            let req = match stage {
                Stage::Spawn(req) => req,
                Stage::Failed(s) => {
                    statuses.push(Some(*s));
                    continue;
                }
                Stage::InProcess(..) => {
                    statuses.push(None);
                    continue;
                }
            };
            let mut actions = Vec::new();
            if i > 0 {
                actions.push(FdAction::Dup2 {
                    from: pipes[i - 1].0,
                    to: 0,
                });
            }
            if i + 1 < n {
                actions.push(FdAction::Dup2 {
                    from: pipes[i].1,
                    to: 1,
                });
            }
            actions.extend(
                pipes
                    .iter()
                    .flat_map(|&(r, w)| [FdAction::Close(r), FdAction::Close(w)]),
            );
            actions.append(&mut req.actions);
            req.actions = actions;
            req.pgroup = match (self.job_control, pgid) {
                (false, _) => ProcessGroup::Inherit,
                (true, None) => ProcessGroup::New,
                (true, Some(g)) => ProcessGroup::Join(g),
            };
            match self.sys.spawn(req) {
                Ok(pid) => {
                    pgid.get_or_insert(pid);
                    pids.push(pid);
                    statuses.push(None);
                }
                Err(e) => {
                    let name = req.argv.first().cloned().unwrap_or_default();
                    statuses.push(Some(self.report(ExecError::Spawn(name, e))));
                }
            }
        }
        (pids, pgid, statuses)
    }

    /// Closes the pipe ends, except those an in-process stage still needs.
    fn close_all(&mut self, pipes: &[(Fd, Fd)], keep: Option<(Option<Fd>, Option<Fd>)>) {
        let (keep_in, keep_out) = keep.unwrap_or((None, None));
        for &(r, w) in pipes {
            for fd in [r, w] {
                if Some(fd) != keep_in && Some(fd) != keep_out {
                    let _ = self.sys.close(fd);
                }
            }
        }
    }

    /// Runs the in-process stage of a pipeline with its pipe ends as
    /// stdin and stdout, then closes them (the readers see end of file).
    fn run_with_pipe_ends(
        &mut self,
        cmd: &Command,
        argv: Option<&[String]>,
        (input, output): (Option<Fd>, Option<Fd>),
    ) -> Run {
        let mut saved: Vec<Saved> = Vec::new();
        let mut ok = true;
        for (end, to) in [(input, 0), (output, 1)] {
            if let Some(fd) = end {
                ok &= self
                    .apply_action(&FdAction::Dup2 { from: fd, to }, &mut saved)
                    .is_ok();
                let _ = self.sys.close(fd);
            }
        }
        let result = if ok {
            self.run_in_process(cmd, argv)
        } else {
            Ok(1)
        };
        self.restore(saved);
        result
    }

    fn start_background(&mut self, pgid: Pid, pids: &[Pid], command: String) -> i32 {
        match self.jobs.add(pgid, pids, command) {
            Ok(id) => {
                self.last_bg = pids.last().copied();
                let line = format!("[{id}] {}\n", pids.last().copied().unwrap_or(pgid));
                self.err(&line);
                0
            }
            Err(e) => self.report(ExecError::Job(e)),
        }
    }

    /// Gives the job the terminal and waits until it ends or stops; takes
    /// the terminal back. Returns the job's `$?`.
    pub(crate) fn wait_foreground(&mut self, job: &mut Job) -> i32 {
        if self.job_control {
            let _ = self.sys.set_foreground(job.pgid);
        }
        let pending: Vec<Pid> = job
            .procs
            .iter()
            .filter(|p| p.status.is_none())
            .map(|p| p.pid)
            .collect();
        for pid in pending {
            let status = loop {
                match self.sys.wait(pid, false) {
                    Ok(Some(WaitStatus::Continued)) | Ok(None) => continue,
                    Ok(Some(st)) => break st,
                    // A child that cannot be waited for counts as failed.
                    Err(_) => break WaitStatus::Exited(127),
                }
            };
            job.update(pid, status);
            if status == WaitStatus::Signaled(SIGINT) {
                self.interrupted = true;
            }
            if matches!(status, WaitStatus::Stopped(_)) {
                break;
            }
        }
        if self.job_control {
            let me = self.sys.getpgrp();
            let _ = self.sys.set_foreground(me);
        }
        match job.state {
            JobState::Done(s) => s,
            JobState::Stopped => 128 + SIGTSTP as i32,
            JobState::Running => 0,
        }
    }

    /// Files a job stopped by Ctrl-Z in the job table and says so.
    pub(crate) fn keep_stopped(&mut self, job: Job) {
        let id = if job.id != 0 && self.jobs.get_mut(job.id).is_some() {
            job.id
        } else {
            match self.jobs.add(job.pgid, &[], job.command.clone()) {
                Ok(id) => id,
                Err(e) => {
                    self.report(ExecError::Job(e));
                    return;
                }
            }
        };
        let current = self.jobs.current() == Some(id);
        if let Some(slot) = self.jobs.get_mut(id) {
            slot.procs = job.procs;
            slot.state = JobState::Stopped;
            let line = slot.line(current);
            self.err(&format!("\n{line}"));
        }
    }
}
