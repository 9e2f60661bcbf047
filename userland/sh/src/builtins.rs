//! The builtins: commands that must change the shell itself (`cd`,
//! `exit`, `export`, `unset`, `source`, the job commands) or that are
//! cheaper inside it (`echo`, `pwd`, `type`, `true`, `false`, `:`).
//! Each writes through the shell's descriptors 1 and 2, so redirections
//! apply to it, and returns its status.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use crate::jobs::JobState;
use crate::lexer::is_name;
use crate::parser::{is_reserved, parse};
use crate::shell::{ExecError, Exit, Run, Shell, Var, MAX_SOURCE_DEPTH, STATUS_SYNTAX};
use crate::system::{System, SIGCONT};

const BUILTINS: [&str; 19] = [
    "cd", "pwd", "exit", "export", "unset", "echo", "type", "source", ".", "jobs", "fg", "bg",
    "true", "false", ":", "set", "kill", "wait", "exec",
];

/// True if `name` is a builtin.
pub fn is_builtin(name: &str) -> bool {
    BUILTINS.contains(&name)
}

impl<S: System> Shell<S> {
    /// Runs builtin `argv[0]`.
    pub(crate) fn run_builtin(&mut self, argv: &[String]) -> Run {
        let args: Vec<&str> = argv[1..].iter().map(String::as_str).collect();
        let status = match argv[0].as_str() {
            "cd" => self.builtin_cd(&args),
            "pwd" => {
                let cwd = self.sys.getcwd();
                self.out(&format!("{cwd}\n"));
                0
            }
            "exit" => return Err(Exit(self.builtin_exit(&args))),
            "export" => self.builtin_export(&args),
            "unset" => {
                for a in &args {
                    self.vars.remove(*a);
                }
                0
            }
            "echo" => self.builtin_echo(&args),
            "type" => self.builtin_type(&args),
            "source" | "." => return self.builtin_source(&args),
            "jobs" => self.builtin_jobs(),
            "fg" => self.builtin_fg(args.first().copied()),
            "bg" => self.builtin_bg(args.first().copied()),
            "true" | ":" => 0,
            "false" => 1,
            "set" => self.builtin_set(&args),
            "kill" => self.builtin_kill(&args),
            "wait" => self.builtin_wait(&args),
            "exec" => self.builtin_exec(&args),
            _ => 127,
        };
        Ok(status)
    }

    /// `exec cmd [arg…]`: the shell becomes `cmd` (same pid, the
    /// descriptors without close-on-exec). Returns only if that failed:
    /// 127 not found, 126 otherwise. `exec` alone does nothing (its
    /// redirections applying to the shell itself are not done).
    fn builtin_exec(&mut self, args: &[&str]) -> i32 {
        let Some(&name) = args.first() else {
            return 0;
        };
        let Some(path) = self.find_program(name) else {
            self.err(&format!("sh: exec: {name}: not found\n"));
            return 127;
        };
        let argv: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        let envp = self.environ();
        let e = self.sys.exec(&path, &argv, &envp);
        self.err(&format!("sh: exec: {name}: {e}\n"));
        if e == crate::system::SysError::NoEntry {
            127
        } else {
            126
        }
    }

    fn builtin_cd(&mut self, args: &[&str]) -> i32 {
        let target = match args.first() {
            None => self.var("HOME").unwrap_or("/").to_string(),
            Some(&"-") => match self.var("OLDPWD") {
                Some(old) => old.to_string(),
                None => {
                    self.err("sh: cd: OLDPWD not set\n");
                    return 1;
                }
            },
            Some(dir) => dir.to_string(),
        };
        let old = self.sys.getcwd();
        if let Err(e) = self.sys.chdir(&target) {
            self.err(&format!("sh: cd: {target}: {e}\n"));
            return 1;
        }
        let new = self.sys.getcwd();
        if args.first() == Some(&"-") {
            self.out(&format!("{new}\n"));
        }
        self.set_var("OLDPWD", &old);
        self.set_var("PWD", &new);
        0
    }

    fn builtin_exit(&mut self, args: &[&str]) -> i32 {
        match args.first() {
            None => self.last_status,
            Some(n) => match n.parse::<i64>() {
                Ok(v) => (v & 0xff) as i32,
                Err(_) => {
                    self.err(&format!("sh: exit: {n}: numeric argument required\n"));
                    STATUS_SYNTAX
                }
            },
        }
    }

    fn builtin_export(&mut self, args: &[&str]) -> i32 {
        if args.is_empty() {
            let lines: Vec<String> = self
                .vars
                .iter()
                .filter(|(_, v)| v.exported)
                .map(|(k, v)| format!("export {k}=\"{}\"\n", v.value))
                .collect();
            lines.iter().for_each(|l| self.out(l));
            return 0;
        }
        let mut status = 0;
        for a in args {
            let (name, value) = match a.split_once('=') {
                Some((n, v)) => (n, Some(v)),
                None => (*a, None),
            };
            if !is_name(name) {
                self.err(&format!("sh: export: '{a}': not a valid identifier\n"));
                status = 1;
                continue;
            }
            let old = self
                .vars
                .get(name)
                .map(|v| v.value.clone())
                .unwrap_or_default();
            let value = value.map_or(old, str::to_string);
            self.vars.insert(
                name.to_string(),
                Var {
                    value,
                    exported: true,
                },
            );
        }
        status
    }

    /// `echo [-n] args`: the arguments, space-separated, and a newline
    /// unless `-n`.
    fn builtin_echo(&mut self, args: &[&str]) -> i32 {
        let (newline, args) = match args.first() {
            Some(&"-n") => (false, &args[1..]),
            _ => (true, args),
        };
        let mut line = args.join(" ");
        if newline {
            line.push('\n');
        }
        self.out(&line);
        0
    }

    fn builtin_type(&mut self, args: &[&str]) -> i32 {
        let mut status = 0;
        for name in args {
            let line = if is_reserved(name) {
                format!("{name} is a shell keyword\n")
            } else if is_builtin(name) {
                format!("{name} is a shell builtin\n")
            } else if let Some(path) = self.find_program(name) {
                format!("{name} is {path}\n")
            } else {
                status = 1;
                self.err(&format!("sh: type: {name}: not found\n"));
                continue;
            };
            self.out(&line);
        }
        status
    }

    /// `source FILE [ARGS]`: runs the file in this shell, with ARGS as
    /// the positional parameters while it runs.
    fn builtin_source(&mut self, args: &[&str]) -> Run {
        let Some(file) = args.first() else {
            self.err("sh: source: filename argument required\n");
            return Ok(STATUS_SYNTAX);
        };
        if self.source_depth >= MAX_SOURCE_DEPTH {
            self.err(&format!("sh: source: {file}: nested too deeply\n"));
            return Ok(1);
        }
        let path = if file.contains('/') {
            file.to_string()
        } else {
            self.find_program(file).unwrap_or_else(|| file.to_string())
        };
        let text = match self.sys.read_file(&path) {
            Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            Err(e) => {
                self.err(&format!("sh: {file}: {e}\n"));
                return Ok(1);
            }
        };
        let list = match parse(&text) {
            Ok(l) => l,
            Err(e) => {
                self.err(&format!("{e}\n"));
                return Ok(STATUS_SYNTAX);
            }
        };
        let new_args: Vec<String> = args[1..].iter().map(|s| s.to_string()).collect();
        let old_args =
            (!new_args.is_empty()).then(|| core::mem::replace(&mut self.positional, new_args));
        self.source_depth += 1;
        let result = self.run_list(&list);
        self.source_depth -= 1;
        if let Some(old) = old_args {
            self.positional = old;
        }
        result
    }

    /// `set -- args`: replaces the positional parameters.
    fn builtin_set(&mut self, args: &[&str]) -> i32 {
        match args.first() {
            Some(&"--") => {
                self.positional = args[1..].iter().map(|s| s.to_string()).collect();
                0
            }
            _ => {
                let lines: Vec<String> = self
                    .vars
                    .iter()
                    .map(|(k, v)| format!("{k}={}\n", v.value))
                    .collect();
                lines.iter().for_each(|l| self.out(l));
                0
            }
        }
    }

    fn builtin_jobs(&mut self) -> i32 {
        self.refresh_jobs();
        let current = self.jobs.current();
        let lines: Vec<String> = self
            .jobs
            .jobs()
            .iter()
            .map(|j| j.line(Some(j.id) == current))
            .collect();
        lines.iter().for_each(|l| self.out(l));
        self.jobs.remove_done();
        0
    }

    /// `fg [%job]`: continues the job in the foreground and waits for it.
    fn builtin_fg(&mut self, spec: Option<&str>) -> i32 {
        let id = match self.jobs.resolve(spec) {
            Ok(id) => id,
            Err(e) => return self.report(ExecError::Job(e)),
        };
        let Some(job) = self.jobs.get_mut(id) else {
            return 1;
        };
        let mut job = job.clone();
        self.out(&format!("{}\n", job.command));
        if job.state == JobState::Stopped {
            // The terminal first, then SIGCONT (bash's order): a job
            // stopped in a read or a write (`SIGTTIN`, `SIGTTOU`) makes
            // it again at once, and must find itself in the foreground.
            if self.job_control {
                let _ = self.sys.set_foreground(job.pgid);
            }
            if let Err(e) = self.sys.kill_group(job.pgid, SIGCONT) {
                self.err(&format!("sh: fg: {e}\n"));
                return 1;
            }
            continue_all(&mut job);
        }
        let status = self.wait_foreground(&mut job);
        if job.state == JobState::Stopped {
            self.keep_stopped(job);
        } else {
            self.jobs.remove(id);
        }
        status
    }

    /// `bg [%job]`: continues a stopped job in the background.
    fn builtin_bg(&mut self, spec: Option<&str>) -> i32 {
        let id = match self.jobs.resolve(spec) {
            Ok(id) => id,
            Err(e) => return self.report(ExecError::Job(e)),
        };
        let Some(job) = self.jobs.get_mut(id) else {
            return 1;
        };
        let (pgid, stopped) = (job.pgid, job.state == JobState::Stopped);
        if stopped {
            continue_all(job);
        }
        let line = format!("[{id}]+ {} &\n", job.command);
        if stopped {
            if let Err(e) = self.sys.kill_group(pgid, SIGCONT) {
                self.err(&format!("sh: bg: {e}\n"));
                return 1;
            }
        }
        self.out(&line);
        0
    }
}

/// Marks a job's stopped processes as running again (after SIGCONT).
fn continue_all(job: &mut crate::jobs::Job) {
    for p in &mut job.procs {
        if matches!(p.status, Some(crate::system::WaitStatus::Stopped(_))) {
            p.status = None;
        }
    }
    job.state = JobState::Running;
}
