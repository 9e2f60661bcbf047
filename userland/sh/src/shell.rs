//! The shell's state and its entry points: variables (with the export
//! flag), positional parameters, `$?`, `$!`, the job table, and
//! [`Shell::run_script`], which parses and runs a line or a script and
//! reports a syntax error as bash does (status 2) without stopping.
//!
//! The walk over the tree is in `exec.rs`, pipelines and redirections in
//! `pipeline.rs`, the builtins in `builtins.rs`.

use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;

use crate::expand::{Environment, ExpandError};
use crate::jobs::{JobError, JobState, JobTable};
use crate::parser::parse;
use crate::system::{Pid, SysError, System, WaitStatus};

/// The exit status for a syntax error, as bash uses it.
pub const STATUS_SYNTAX: i32 = 2;
/// How deeply `source` may nest.
pub const MAX_SOURCE_DEPTH: usize = 16;

/// A shell variable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Var {
    pub value: String,
    pub exported: bool,
}

/// The control flow that unwinds out of everything: `exit N`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Exit(pub i32);

/// The result of running a piece of the tree: its status, or an `exit`.
pub type Run = Result<i32, Exit>;

/// A command that could not run, reported on stderr as `sh: ...`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExecError {
    CommandNotFound(String),
    Expand(ExpandError),
    /// Opening, duplicating or closing a descriptor failed.
    Redirect(String, SysError),
    /// `>&word` where word is neither a number nor `-`.
    AmbiguousRedirect(String),
    Spawn(String, SysError),
    Pipe(SysError),
    /// A builtin or compound command in a background job (it would need
    /// the shell to fork itself, which it does not do yet).
    NotInBackground,
    /// More than one builtin or compound command in one pipeline.
    TooManyInProcess,
    Job(JobError),
}

impl ExecError {
    /// The `$?` the failed command leaves.
    pub fn status(&self) -> i32 {
        match self {
            ExecError::CommandNotFound(_) => 127,
            ExecError::Spawn(_, SysError::NoEntry) => 127,
            ExecError::Spawn(_, _) => 126,
            _ => 1,
        }
    }
}

impl fmt::Display for ExecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExecError::CommandNotFound(c) => write!(f, "sh: {c}: command not found"),
            ExecError::Expand(e) => write!(f, "{e}"),
            ExecError::Redirect(t, e) => write!(f, "sh: {t}: {e}"),
            ExecError::AmbiguousRedirect(t) => write!(f, "sh: {t}: ambiguous redirect"),
            ExecError::Spawn(c, e) => write!(f, "sh: {c}: {e}"),
            ExecError::Pipe(e) => write!(f, "sh: pipe: {e}"),
            ExecError::NotInBackground => {
                write!(f, "sh: only programs can run in the background")
            }
            ExecError::TooManyInProcess => {
                write!(
                    f,
                    "sh: a pipeline may hold only one builtin or compound command"
                )
            }
            ExecError::Job(e) => write!(f, "sh: {e}"),
        }
    }
}

/// The shell.
pub struct Shell<S: System> {
    pub sys: S,
    pub(crate) vars: BTreeMap<String, Var>,
    pub(crate) positional: Vec<String>,
    pub(crate) script_name: String,
    pub(crate) last_status: i32,
    pub(crate) last_bg: Option<Pid>,
    pub(crate) jobs: JobTable,
    /// Job control: each job in its own process group, given the terminal.
    pub(crate) job_control: bool,
    /// Ctrl-C: the rest of the command line is skipped.
    pub(crate) interrupted: bool,
    pub(crate) source_depth: usize,
    exit_code: Option<i32>,
}

impl<S: System> Shell<S> {
    /// A shell over `sys` with the environment `env` (`NAME=value`
    /// strings, all exported); `job_control` for an interactive shell.
    pub fn new(sys: S, env: &[&str], job_control: bool) -> Self {
        let mut sh = Shell {
            sys,
            vars: BTreeMap::new(),
            positional: Vec::new(),
            script_name: String::from("sh"),
            last_status: 0,
            last_bg: None,
            jobs: JobTable::default(),
            job_control,
            interrupted: false,
            source_depth: 0,
            exit_code: None,
        };
        for kv in env {
            if let Some((k, v)) = kv.split_once('=') {
                sh.vars.insert(
                    k.to_string(),
                    Var {
                        value: v.to_string(),
                        exported: true,
                    },
                );
            }
        }
        let cwd = sh.sys.getcwd();
        sh.set_var("PWD", &cwd);
        sh
    }

    /// Sets `$0` and the positional parameters (`sh script.sh a b`).
    pub fn set_args(&mut self, name: &str, args: &[String]) {
        self.script_name = name.to_string();
        self.positional = args.to_vec();
    }

    /// Parses and runs `src` (a line or a whole script). A syntax error is
    /// printed and gives status 2; the shell stays usable. Returns `$?`.
    pub fn run_script(&mut self, src: &str) -> i32 {
        let list = match parse(src) {
            Ok(l) => l,
            Err(e) => {
                self.err(&format!("{e}\n"));
                self.last_status = STATUS_SYNTAX;
                return STATUS_SYNTAX;
            }
        };
        let result = self.run_list(&list);
        self.interrupted = false;
        match result {
            Ok(s) => s,
            Err(Exit(code)) => {
                self.exit_code = Some(code);
                self.last_status = code;
                code
            }
        }
    }

    /// `Some(code)` once `exit` ran: the caller should end the shell.
    pub fn exit_requested(&self) -> Option<i32> {
        self.exit_code
    }

    /// `$?`.
    pub fn status(&self) -> i32 {
        self.last_status
    }

    /// A variable's value.
    pub fn var(&self, name: &str) -> Option<&str> {
        self.vars.get(name).map(|v| v.value.as_str())
    }

    /// Sets a variable, keeping its export flag.
    pub fn set_var(&mut self, name: &str, value: &str) {
        let exported = self.vars.get(name).is_some_and(|v| v.exported);
        self.vars.insert(
            name.to_string(),
            Var {
                value: value.to_string(),
                exported,
            },
        );
    }

    /// The prompt: `PS1` if set, else the working directory and `$ `.
    pub fn prompt(&self) -> String {
        match self.var("PS1") {
            Some(p) => p.to_string(),
            None => format!("{} $ ", self.sys.getcwd()),
        }
    }

    /// The exported variables as `NAME=value` (a child's environment).
    pub fn environ(&self) -> Vec<String> {
        self.vars
            .iter()
            .filter(|(_, v)| v.exported)
            .map(|(k, v)| format!("{k}={}", v.value))
            .collect()
    }

    /// Before a prompt: collects background jobs that changed state and
    /// prints `[1]+  Done  cmd` for those that ended and
    /// `[1]+  Stopped  cmd` for those a signal stopped since.
    pub fn notify_jobs(&mut self) {
        let ids: Vec<usize> = self.jobs.jobs().iter().map(|j| j.id).collect();
        let mut stopped = Vec::new();
        for id in ids {
            let Some(job) = self.jobs.get_mut(id) else {
                continue;
            };
            let before = job.state;
            // Stopped ones too: a stopped job killed (`kill -KILL %1`)
            // ends without running again.
            let pending: Vec<Pid> = job
                .procs
                .iter()
                .filter(|p| {
                    !matches!(
                        p.status,
                        Some(WaitStatus::Exited(_) | WaitStatus::Signaled(_))
                    )
                })
                .map(|p| p.pid)
                .collect();
            for pid in pending {
                if let Ok(Some(st)) = self.sys.wait(pid, true) {
                    if let Some(job) = self.jobs.get_mut(id) {
                        job.update(pid, st);
                    }
                }
            }
            let now = self.jobs.get_mut(id).map(|j| j.state);
            if before != JobState::Stopped && now == Some(JobState::Stopped) {
                stopped.push(id);
            }
        }
        let current = self.jobs.current();
        // A background job a signal stopped (`SIGTTIN`, `SIGTTOU` with
        // `stty tostop`, `kill -STOP`): said once, as bash does.
        for id in stopped {
            if let Some(job) = self.jobs.get_mut(id) {
                let line = job.line(Some(id) == current);
                self.err(&line);
            }
        }
        for job in self.jobs.remove_done() {
            let line = job.line(Some(job.id) == current);
            self.err(&line);
        }
    }

    pub(crate) fn out(&mut self, s: &str) {
        // A closed or full stdout is the reader's business, not the shell's.
        let _ = self.sys.write(1, s.as_bytes());
    }

    pub(crate) fn err(&mut self, s: &str) {
        let _ = self.sys.write(2, s.as_bytes());
    }

    /// Prints a failed command's error and returns its status.
    pub(crate) fn report(&mut self, e: ExecError) -> i32 {
        self.err(&format!("{e}\n"));
        e.status()
    }

    /// The view expansion reads parameters through.
    pub(crate) fn env(&self) -> EnvView<'_, S> {
        EnvView { sh: self }
    }
}

/// The shell's variables and special parameters as an [`Environment`].
pub(crate) struct EnvView<'a, S: System> {
    sh: &'a Shell<S>,
}

impl<S: System> Environment for EnvView<'_, S> {
    fn get(&self, name: &str) -> Option<String> {
        let sh = self.sh;
        match name {
            "?" => Some(sh.last_status.to_string()),
            "$" => Some(sh.sys.getpid().to_string()),
            "!" => sh.last_bg.map(|p| p.to_string()),
            "#" => Some(sh.positional.len().to_string()),
            "0" => Some(sh.script_name.clone()),
            "-" => Some(String::new()),
            _ if name.bytes().all(|b| b.is_ascii_digit()) => {
                let n: usize = name.parse().ok()?;
                sh.positional.get(n.checked_sub(1)?).cloned()
            }
            _ => sh.vars.get(name).map(|v| v.value.clone()),
        }
    }

    fn positional(&self) -> Vec<String> {
        self.sh.positional.clone()
    }
}
