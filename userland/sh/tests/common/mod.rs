//! A fake system for the executor's tests: descriptors, pipes and files in
//! memory, and processes that are little filters run to completion once
//! their input is complete (every write end of their stdin pipe closed).
//! A process whose input can never complete makes `wait` fail with
//! `EDEADLK`, so a test also catches a shell that leaves pipe ends open.

#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};

use sh::glob::DirLister;
use sh::system::{
    Fd, FdAction, OpenMode, Pid, ProcessGroup, SpawnRequest, SysError, System, WaitStatus, SIGCONT,
    SIGSTOP, SIGTSTP,
};

const SHELL_PID: Pid = 1000;
const EDEADLK: i32 = 35;

#[derive(Debug, Clone, PartialEq)]
enum Kind {
    TermIn,
    TermOut,
    TermErr,
    File(String),
    PipeR(usize),
    PipeW(usize),
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum State {
    Pending,
    Stopped,
    Done(WaitStatus),
    Reaped,
}

#[derive(Debug)]
struct Proc {
    argv: Vec<String>,
    envp: Vec<String>,
    fds: BTreeMap<Fd, usize>,
    pgid: Pid,
    state: State,
    continued: bool,
}

pub struct Fake {
    pub files: BTreeMap<String, Vec<u8>>,
    pub dirs: BTreeSet<String>,
    pub cwd: String,
    kinds: Vec<Kind>,
    refs: Vec<usize>,
    fds: BTreeMap<Fd, usize>,
    pipes: Vec<Vec<u8>>,
    procs: BTreeMap<Pid, Proc>,
    next_pid: Pid,
    pub spawned: Vec<SpawnRequest>,
    pub out: Vec<u8>,
    pub err: Vec<u8>,
    pub foreground: Vec<Pid>,
    pub signals: Vec<(Pid, u32)>,
    /// `kill(pid, sig)` calls (the `kill` builtin on one process).
    pub killed: Vec<(Pid, u32)>,
    pub interrupt: bool,
}

const PROGRAMS: &[&str] = &[
    "cat", "echo", "upper", "wc", "grep", "true", "false", "status", "err", "sleep", "stopper",
    "ttou", "intr", "env", "args", "test",
];

impl Fake {
    pub fn new() -> Fake {
        let mut files = BTreeMap::new();
        for p in PROGRAMS {
            files.insert(format!("/bin/{p}"), b"\x7fELF".to_vec());
        }
        files.insert(
            "/etc/motd".into(),
            b"hello from motd\nsecond line\n".to_vec(),
        );
        let dirs = ["/", "/bin", "/etc", "/tmp", "/home", "/home/user"]
            .map(String::from)
            .into();
        Fake {
            files,
            dirs,
            cwd: "/".into(),
            kinds: vec![Kind::TermIn, Kind::TermOut, Kind::TermErr],
            refs: vec![1, 1, 1],
            fds: BTreeMap::from([(0, 0), (1, 1), (2, 2)]),
            pipes: Vec::new(),
            procs: BTreeMap::new(),
            next_pid: 100,
            spawned: Vec::new(),
            out: Vec::new(),
            err: Vec::new(),
            foreground: Vec::new(),
            signals: Vec::new(),
            killed: Vec::new(),
            interrupt: false,
        }
    }

    pub fn out(&self) -> String {
        String::from_utf8_lossy(&self.out).into_owned()
    }

    pub fn err(&self) -> String {
        String::from_utf8_lossy(&self.err).into_owned()
    }

    pub fn file(&self, path: &str) -> String {
        String::from_utf8_lossy(self.files.get(path).map_or(&[][..], |v| v)).into_owned()
    }

    /// The shell's open descriptors (a leak shows up here).
    pub fn open_fds(&self) -> Vec<Fd> {
        self.fds.keys().copied().collect()
    }

    fn abs(&self, path: &str) -> String {
        let full = if path.starts_with('/') {
            path.to_string()
        } else {
            format!("{}/{path}", self.cwd)
        };
        let mut parts: Vec<&str> = Vec::new();
        for c in full.split('/') {
            match c {
                "" | "." => {}
                ".." => {
                    parts.pop();
                }
                c => parts.push(c),
            }
        }
        format!("/{}", parts.join("/"))
    }

    fn new_desc(&mut self, kind: Kind) -> usize {
        self.kinds.push(kind);
        self.refs.push(0);
        self.kinds.len() - 1
    }

    fn lowest_free(table: &BTreeMap<Fd, usize>, from: Fd) -> Fd {
        (from..).find(|fd| !table.contains_key(fd)).unwrap()
    }

    fn open_desc(&mut self, path: &str, mode: OpenMode) -> Result<usize, SysError> {
        let path = self.abs(path);
        if self.dirs.contains(&path) {
            return Err(SysError::IsDir);
        }
        let parent = path
            .rsplit_once('/')
            .map_or("/", |(p, _)| if p.is_empty() { "/" } else { p });
        match mode {
            OpenMode::Read if !self.files.contains_key(&path) => return Err(SysError::NoEntry),
            OpenMode::Write | OpenMode::Append if !self.dirs.contains(parent) => {
                return Err(SysError::NoEntry)
            }
            OpenMode::Write => {
                self.files.insert(path.clone(), Vec::new());
            }
            OpenMode::Append => {
                self.files.entry(path.clone()).or_default();
            }
            OpenMode::Read => {}
        }
        Ok(self.new_desc(Kind::File(path)))
    }

    fn drop_table(&mut self, table: BTreeMap<Fd, usize>) {
        for (_, d) in table {
            self.refs[d] -= 1;
        }
    }

    fn write_desc(&mut self, d: usize, bytes: &[u8]) -> Result<usize, SysError> {
        match self.kinds[d].clone() {
            Kind::TermOut => self.out.extend_from_slice(bytes),
            Kind::TermErr => self.err.extend_from_slice(bytes),
            Kind::File(p) => self.files.entry(p).or_default().extend_from_slice(bytes),
            Kind::PipeW(id) => self.pipes[id].extend_from_slice(bytes),
            _ => return Err(SysError::BadFd),
        }
        Ok(bytes.len())
    }

    fn read_desc(&mut self, d: Option<&usize>) -> Vec<u8> {
        match d.map(|&d| self.kinds[d].clone()) {
            Some(Kind::File(p)) => self.files.get(&p).cloned().unwrap_or_default(),
            Some(Kind::PipeR(id)) => std::mem::take(&mut self.pipes[id]),
            _ => Vec::new(),
        }
    }

    /// A pending process can run once its input is complete.
    fn ready(&self, pid: Pid) -> bool {
        let p = &self.procs[&pid];
        match p.fds.get(&0).map(|&d| &self.kinds[d]) {
            Some(Kind::PipeR(id)) => !self
                .kinds
                .iter()
                .enumerate()
                .any(|(d, k)| *k == Kind::PipeW(*id) && self.refs[d] > 0),
            _ => true,
        }
    }

    fn run(&mut self, pid: Pid) {
        let stdin = {
            let d = self.procs[&pid].fds.get(&0).copied();
            self.read_desc(d.as_ref())
        };
        let p = &self.procs[&pid];
        let (argv, envp) = (p.argv.clone(), p.envp.clone());
        let (out, err, status) = self.program(&argv, &envp, &stdin);
        let fds = std::mem::take(&mut self.procs.get_mut(&pid).unwrap().fds);
        for (fd, bytes) in [(1, out), (2, err)] {
            if let Some(&d) = fds.get(&fd) {
                let _ = self.write_desc(d, &bytes);
            }
        }
        self.drop_table(fds);
        self.procs.get_mut(&pid).unwrap().state = State::Done(status);
    }

    fn program(
        &self,
        argv: &[String],
        envp: &[String],
        stdin: &[u8],
    ) -> (Vec<u8>, Vec<u8>, WaitStatus) {
        let name = argv[0].rsplit('/').next().unwrap_or("");
        let args = &argv[1..];
        let text = String::from_utf8_lossy(stdin);
        let ok = WaitStatus::Exited(0);
        match name {
            "cat" if !args.is_empty() => {
                let mut out = Vec::new();
                for a in args {
                    match self.files.get(&self.abs(a)) {
                        Some(c) => out.extend_from_slice(c),
                        None => {
                            return (
                                out,
                                format!("cat: {a}: No such file\n").into_bytes(),
                                WaitStatus::Exited(1),
                            )
                        }
                    }
                }
                (out, vec![], ok)
            }
            "cat" => (stdin.to_vec(), vec![], ok),
            "echo" => ((args.join(" ") + "\n").into_bytes(), vec![], ok),
            "upper" => (text.to_uppercase().into_bytes(), vec![], ok),
            "wc" => (
                format!("{}\n", text.lines().count()).into_bytes(),
                vec![],
                ok,
            ),
            "grep" => {
                let pat = args.first().cloned().unwrap_or_default();
                let lines: String = text
                    .lines()
                    .filter(|l| l.contains(&pat))
                    .map(|l| format!("{l}\n"))
                    .collect();
                let status = WaitStatus::Exited(if lines.is_empty() { 1 } else { 0 });
                (lines.into_bytes(), vec![], status)
            }
            "true" | "sleep" | "stopper" | "ttou" => (vec![], vec![], ok),
            "false" => (vec![], vec![], WaitStatus::Exited(1)),
            "status" => (vec![], vec![], WaitStatus::Exited(args[0].parse().unwrap())),
            "err" => (vec![], (args.join(" ") + "\n").into_bytes(), ok),
            "intr" => (vec![], vec![], WaitStatus::Signaled(2)),
            "env" => (
                envp.iter()
                    .map(|e| format!("{e}\n"))
                    .collect::<String>()
                    .into_bytes(),
                vec![],
                ok,
            ),
            "args" => (
                args.iter()
                    .map(|a| format!("<{a}>"))
                    .collect::<String>()
                    .into_bytes(),
                vec![],
                ok,
            ),
            "test" => {
                let r = match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
                    [a, "=", b] => a == b,
                    [a, "!=", b] => a != b,
                    [a] => !a.is_empty(),
                    _ => false,
                };
                (vec![], vec![], WaitStatus::Exited(if r { 0 } else { 1 }))
            }
            _ => (
                vec![],
                b"unknown program\n".to_vec(),
                WaitStatus::Exited(127),
            ),
        }
    }

    fn name(&self, pid: Pid) -> &str {
        self.procs[&pid].argv[0].rsplit('/').next().unwrap_or("")
    }
}

impl DirLister for Fake {
    fn list_dir(&self, path: &str) -> Option<Vec<String>> {
        let dir = self.abs(path);
        if !self.dirs.contains(&dir) {
            return None;
        }
        let prefix = if dir == "/" {
            "/".to_string()
        } else {
            format!("{dir}/")
        };
        let names = self.files.keys().chain(self.dirs.iter()).filter_map(|p| {
            let rest = p.strip_prefix(&prefix)?;
            (!rest.is_empty() && !rest.contains('/')).then(|| rest.to_string())
        });
        Some(names.collect())
    }
}

impl System for Fake {
    fn spawn(&mut self, req: &SpawnRequest) -> Result<Pid, SysError> {
        self.spawned.push(req.clone());
        if !self.is_executable(&req.path) {
            return Err(SysError::NoEntry);
        }
        let mut fds = self.fds.clone();
        fds.values().for_each(|&d| self.refs[d] += 1);
        for a in &req.actions {
            let r = match a {
                FdAction::Dup2 { from, to } => match fds.get(from).copied() {
                    Some(d) => {
                        self.refs[d] += 1;
                        if let Some(old) = fds.insert(*to, d) {
                            self.refs[old] -= 1;
                        }
                        Ok(())
                    }
                    None => Err(SysError::BadFd),
                },
                FdAction::Close(fd) => {
                    if let Some(d) = fds.remove(fd) {
                        self.refs[d] -= 1;
                    }
                    Ok(())
                }
                FdAction::Open { fd, path, mode } => self.open_desc(path, *mode).map(|d| {
                    self.refs[d] += 1;
                    if let Some(old) = fds.insert(*fd, d) {
                        self.refs[old] -= 1;
                    }
                }),
            };
            if let Err(e) = r {
                self.drop_table(fds);
                return Err(e);
            }
        }
        let pid = self.next_pid;
        self.next_pid += 1;
        let pgid = match req.pgroup {
            ProcessGroup::Inherit => SHELL_PID,
            ProcessGroup::New => pid,
            ProcessGroup::Join(g) => g,
        };
        let proc = Proc {
            argv: req.argv.clone(),
            envp: req.envp.clone(),
            fds,
            pgid,
            state: State::Pending,
            continued: false,
        };
        self.procs.insert(pid, proc);
        Ok(pid)
    }

    fn wait(&mut self, pid: Pid, nohang: bool) -> Result<Option<WaitStatus>, SysError> {
        loop {
            let p = self.procs.get(&pid).ok_or(SysError::NoChild)?;
            match p.state {
                State::Reaped => return Err(SysError::NoChild),
                State::Done(st) => {
                    self.procs.get_mut(&pid).unwrap().state = State::Reaped;
                    return Ok(Some(st));
                }
                State::Stopped => {
                    return if nohang {
                        Ok(None)
                    } else {
                        Err(SysError::Other(EDEADLK))
                    }
                }
                State::Pending => {}
            }
            let name = self.name(pid).to_string();
            // `ttou`: a background writer with `stty tostop`, stopped by
            // `SIGTTOU` until continued, seen even without waiting (22: `SIGTTOU`).
            if name == "ttou" && !p.continued {
                self.procs.get_mut(&pid).unwrap().state = State::Stopped;
                return Ok(Some(WaitStatus::Stopped(22)));
            }
            if name == "stopper" && !p.continued && !nohang {
                self.procs.get_mut(&pid).unwrap().state = State::Stopped;
                return Ok(Some(WaitStatus::Stopped(SIGTSTP)));
            }
            if name == "sleep" {
                if nohang {
                    return Ok(None);
                }
                self.run(pid);
                continue;
            }
            // Run whatever can run (in pid order) until the target has.
            let next = self.procs.iter().find(|(&q, p)| {
                let special = match self.name(q) {
                    "sleep" => true,
                    "stopper" => !p.continued,
                    _ => false,
                };
                p.state == State::Pending && !special && self.ready(q)
            });
            match next.map(|(&q, _)| q) {
                Some(q) => self.run(q),
                None if nohang => return Ok(None),
                None => return Err(SysError::Other(EDEADLK)),
            }
        }
    }

    fn kill_group(&mut self, pgid: Pid, sig: u32) -> Result<(), SysError> {
        self.signals.push((pgid, sig));
        let members: Vec<Pid> = self
            .procs
            .iter()
            .filter(|(_, p)| p.pgid == pgid)
            .map(|(&q, _)| q)
            .collect();
        if members.is_empty() {
            return Err(SysError::NoProcess);
        }
        for q in members {
            let p = self.procs.get_mut(&q).unwrap();
            match (sig, p.state) {
                (SIGCONT, State::Stopped) => {
                    p.state = State::Pending;
                    p.continued = true;
                }
                (SIGCONT, _) => {}
                (s, State::Pending | State::Stopped) => {
                    p.state = State::Done(WaitStatus::Signaled(s));
                    let fds = std::mem::take(&mut p.fds);
                    self.drop_table(fds);
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn kill(&mut self, pid: Pid, sig: u32) -> Result<(), SysError> {
        self.killed.push((pid, sig));
        let p = self.procs.get_mut(&pid).ok_or(SysError::NoProcess)?;
        match (sig, p.state) {
            (SIGCONT, State::Stopped) => {
                p.state = State::Pending;
                p.continued = true;
            }
            (SIGCONT, _) => {}
            (SIGSTOP, State::Pending) => p.state = State::Stopped,
            (s, State::Pending | State::Stopped) => {
                p.state = State::Done(WaitStatus::Signaled(s));
                let fds = std::mem::take(&mut p.fds);
                self.drop_table(fds);
            }
            _ => {}
        }
        Ok(())
    }

    fn set_foreground(&mut self, pgid: Pid) -> Result<(), SysError> {
        self.foreground.push(pgid);
        Ok(())
    }

    fn pipe(&mut self) -> Result<(Fd, Fd), SysError> {
        self.pipes.push(Vec::new());
        let id = self.pipes.len() - 1;
        let r = self.new_desc(Kind::PipeR(id));
        let w = self.new_desc(Kind::PipeW(id));
        let rfd = Self::lowest_free(&self.fds, 0);
        self.fds.insert(rfd, r);
        let wfd = Self::lowest_free(&self.fds, 0);
        self.fds.insert(wfd, w);
        self.refs[r] += 1;
        self.refs[w] += 1;
        Ok((rfd, wfd))
    }

    fn open(&mut self, path: &str, mode: OpenMode) -> Result<Fd, SysError> {
        let d = self.open_desc(path, mode)?;
        let fd = Self::lowest_free(&self.fds, 0);
        self.fds.insert(fd, d);
        self.refs[d] += 1;
        Ok(fd)
    }

    fn dup_high(&mut self, fd: Fd) -> Result<Fd, SysError> {
        let d = *self.fds.get(&fd).ok_or(SysError::BadFd)?;
        let new = Self::lowest_free(&self.fds, 10);
        self.fds.insert(new, d);
        self.refs[d] += 1;
        Ok(new)
    }

    fn dup2(&mut self, from: Fd, to: Fd) -> Result<(), SysError> {
        let d = *self.fds.get(&from).ok_or(SysError::BadFd)?;
        if from != to {
            self.refs[d] += 1;
            if let Some(old) = self.fds.insert(to, d) {
                self.refs[old] -= 1;
            }
        }
        Ok(())
    }

    fn close(&mut self, fd: Fd) -> Result<(), SysError> {
        let d = self.fds.remove(&fd).ok_or(SysError::BadFd)?;
        self.refs[d] -= 1;
        Ok(())
    }

    fn write(&mut self, fd: Fd, bytes: &[u8]) -> Result<usize, SysError> {
        let d = *self.fds.get(&fd).ok_or(SysError::BadFd)?;
        self.write_desc(d, bytes)
    }

    fn read_file(&mut self, path: &str) -> Result<Vec<u8>, SysError> {
        self.files
            .get(&self.abs(path))
            .cloned()
            .ok_or(SysError::NoEntry)
    }

    fn is_executable(&self, path: &str) -> bool {
        let p = self.abs(path);
        p.starts_with("/bin/") && self.files.contains_key(&p)
    }

    fn chdir(&mut self, path: &str) -> Result<(), SysError> {
        let p = self.abs(path);
        if self.dirs.contains(&p) {
            self.cwd = p;
            Ok(())
        } else if self.files.contains_key(&p) {
            Err(SysError::NotDir)
        } else {
            Err(SysError::NoEntry)
        }
    }

    fn getcwd(&self) -> String {
        self.cwd.clone()
    }

    fn getpid(&self) -> Pid {
        SHELL_PID
    }

    fn getpgrp(&self) -> Pid {
        SHELL_PID
    }

    fn take_interrupt(&mut self) -> bool {
        std::mem::take(&mut self.interrupt)
    }
}
