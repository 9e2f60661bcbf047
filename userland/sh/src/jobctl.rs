//! The job-control builtins beside `jobs`, `fg` and `bg`: `kill`, which
//! takes job specs (`%1`, `%sleep`) as well as pids and lists the
//! signals (`kill -l`), and `wait`, which waits for background jobs.
//! Both are builtins because only the shell knows its jobs.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use crate::jobs::JobState;
use crate::shell::{ExecError, Shell};
use crate::system::{Pid, System, WaitStatus, SIGCONT};

/// The standard signals' names without `SIG`, by number − 1 (Linux's
/// x86_64 numbering, as `kill -l` lists them).
pub const SIGNAL_NAMES: [&str; 31] = [
    "HUP", "INT", "QUIT", "ILL", "TRAP", "ABRT", "BUS", "FPE", "KILL", "USR1", "SEGV", "USR2",
    "PIPE", "ALRM", "TERM", "STKFLT", "CHLD", "CONT", "STOP", "TSTP", "TTIN", "TTOU", "URG",
    "XCPU", "XFSZ", "VTALRM", "PROF", "WINCH", "IO", "PWR", "SYS",
];

/// A signal by number (1–64) or name (`TERM`, `SIGTERM`, any case).
pub fn signal_by_name(name: &str) -> Option<u32> {
    if let Ok(n) = name.parse::<u32>() {
        return (1..=64).contains(&n).then_some(n);
    }
    let upper = name.to_ascii_uppercase();
    let bare = upper.strip_prefix("SIG").unwrap_or(&upper);
    SIGNAL_NAMES
        .iter()
        .position(|n| *n == bare)
        .map(|i| i as u32 + 1)
}

/// `kill -l`: eight ` N) SIGNAME` columns a line.
pub fn signal_list() -> String {
    let mut out = String::new();
    for (i, name) in SIGNAL_NAMES.iter().enumerate() {
        out.push_str(&format!("{:2}) SIG{:<7}", i + 1, name));
        out.push(if (i + 1) % 8 == 0 { '\n' } else { ' ' });
    }
    let mut out = String::from(out.trim_end());
    out.push('\n');
    out
}

/// What `kill` was asked: list, or send `sig` to the operands.
#[derive(Debug, PartialEq, Eq)]
pub enum KillArgs<'a> {
    /// `kill -l [status]`: the names, or one status's signal name.
    List(Option<&'a str>),
    Send {
        sig: u32,
        targets: Vec<&'a str>,
    },
}

/// Parses `kill`'s arguments: `-l`, `-s SIG`, `-SIG`, `-n N`, `--`.
pub fn parse_kill<'a>(args: &[&'a str]) -> Result<KillArgs<'a>, String> {
    let mut sig = 15;
    let mut rest = args;
    match rest.first().copied() {
        Some("-l") | Some("-L") => return Ok(KillArgs::List(rest.get(1).copied())),
        Some("-s") | Some("-n") => {
            let name = rest.get(1).ok_or("kill: -s: option requires an argument")?;
            sig = signal_by_name(name).ok_or(format!("kill: {name}: invalid signal"))?;
            rest = &rest[2..];
        }
        Some(first) if first.starts_with('-') && first != "--" && first.len() > 1 => {
            // `-9` is a signal here, not a process group: as in bash,
            // a group needs `--` before it.
            let name = &first[1..];
            sig = signal_by_name(name).ok_or(format!("kill: {name}: invalid signal"))?;
            rest = &rest[1..];
        }
        _ => {}
    }
    if rest.first() == Some(&"--") {
        rest = &rest[1..];
    }
    if rest.is_empty() {
        return Err(String::from(
            "kill: usage: kill [-s sigspec | -sigspec] pid | %job ... or kill -l",
        ));
    }
    Ok(KillArgs::Send {
        sig,
        targets: rest.to_vec(),
    })
}

impl<S: System> Shell<S> {
    /// `kill [-SIG] target…`: `%job` signals the job's process group,
    /// a pid one process, `-pgid` (after `--`) a group.
    pub(crate) fn builtin_kill(&mut self, args: &[&str]) -> i32 {
        let (sig, targets) = match parse_kill(args) {
            Ok(KillArgs::List(None)) => {
                self.out(&signal_list());
                return 0;
            }
            Ok(KillArgs::List(Some(n))) => {
                let sig = n
                    .parse::<u32>()
                    .ok()
                    .map(|s| if s > 128 { s - 128 } else { s });
                return match sig.and_then(|s| SIGNAL_NAMES.get(s.wrapping_sub(1) as usize)) {
                    Some(name) => {
                        self.out(&format!("{name}\n"));
                        0
                    }
                    None => {
                        self.err(&format!("sh: kill: {n}: invalid signal specification\n"));
                        1
                    }
                };
            }
            Ok(KillArgs::Send { sig, targets }) => (sig, targets),
            Err(e) => {
                self.err(&format!("sh: {e}\n"));
                return 2;
            }
        };
        let mut status = 0;
        for target in targets {
            let sent = if target.starts_with('%') {
                match self.jobs.resolve(Some(target)) {
                    Ok(id) => self.kill_job(id, sig),
                    Err(e) => {
                        status = self.report(ExecError::Job(e));
                        continue;
                    }
                }
            } else {
                match target.parse::<i64>() {
                    Ok(n) if n < -1 => self.sys.kill_group(n.unsigned_abs() as Pid, sig),
                    Ok(n) if n > 0 => self.sys.kill(n as Pid, sig),
                    _ => {
                        self.err(&format!(
                            "sh: kill: {target}: arguments must be process or job IDs\n"
                        ));
                        status = 1;
                        continue;
                    }
                }
            };
            if let Err(e) = sent {
                self.err(&format!("sh: kill: ({target}) - {e}\n"));
                status = 1;
            }
        }
        status
    }

    /// Looks at every job's processes without waiting (`WNOHANG`), so
    /// that `jobs` shows a background job a signal stopped (`SIGTTIN`,
    /// `kill -STOP`) as Stopped; nothing is printed or removed.
    pub(crate) fn refresh_jobs(&mut self) {
        let ids: Vec<usize> = self.jobs.jobs().iter().map(|j| j.id).collect();
        for id in ids {
            let pending: Vec<Pid> = self
                .jobs
                .get_mut(id)
                .map(|j| {
                    j.procs
                        .iter()
                        .filter(|p| {
                            !matches!(
                                p.status,
                                Some(WaitStatus::Exited(_) | WaitStatus::Signaled(_))
                            )
                        })
                        .map(|p| p.pid)
                        .collect()
                })
                .unwrap_or_default();
            for pid in pending {
                if let Ok(Some(st)) = self.sys.wait(pid, true) {
                    if let Some(job) = self.jobs.get_mut(id) {
                        job.update(pid, st);
                    }
                }
            }
        }
    }

    /// Signals job `id`'s group; a `SIGCONT` marks it running again.
    fn kill_job(&mut self, id: usize, sig: u32) -> Result<(), crate::system::SysError> {
        let Some(job) = self.jobs.get_mut(id) else {
            return Ok(());
        };
        let pgid = job.pgid;
        self.sys.kill_group(pgid, sig)?;
        if sig == SIGCONT {
            if let Some(job) = self.jobs.get_mut(id) {
                for p in &mut job.procs {
                    if matches!(p.status, Some(WaitStatus::Stopped(_))) {
                        p.status = None;
                    }
                }
                if job.state == JobState::Stopped {
                    job.state = JobState::Running;
                }
            }
        }
        Ok(())
    }

    /// `wait [%job | pid …]`: waits for the given jobs (every running
    /// one without operands) to end or stop; the status of the last.
    pub(crate) fn builtin_wait(&mut self, args: &[&str]) -> i32 {
        let ids: Vec<usize> = if args.is_empty() {
            self.jobs.jobs().iter().map(|j| j.id).collect()
        } else {
            let mut ids = Vec::new();
            for a in args {
                let found = if a.starts_with('%') {
                    self.jobs.resolve(Some(a)).ok()
                } else {
                    a.parse::<Pid>().ok().and_then(|pid| {
                        self.jobs
                            .jobs()
                            .iter()
                            .find(|j| j.procs.iter().any(|p| p.pid == pid))
                            .map(|j| j.id)
                    })
                };
                match found {
                    Some(id) => ids.push(id),
                    None => {
                        self.err(&format!("sh: wait: {a}: no such job\n"));
                        return 127;
                    }
                }
            }
            ids
        };
        let mut status = 0;
        for id in ids {
            let Some(job) = self.jobs.get_mut(id) else {
                continue;
            };
            if job.state != JobState::Running {
                continue;
            }
            let pending: Vec<Pid> = job
                .procs
                .iter()
                .filter(|p| p.status.is_none())
                .map(|p| p.pid)
                .collect();
            for pid in pending {
                let st = loop {
                    if self.sys.take_interrupt() {
                        return 130;
                    }
                    match self.sys.wait(pid, false) {
                        Ok(Some(WaitStatus::Continued)) | Ok(None) => continue,
                        Ok(Some(st)) => break st,
                        Err(_) => break WaitStatus::Exited(127),
                    }
                };
                if let Some(job) = self.jobs.get_mut(id) {
                    job.update(pid, st);
                }
                if matches!(st, WaitStatus::Stopped(_)) {
                    break;
                }
            }
            status = match self.jobs.get_mut(id).map(|j| j.state) {
                Some(JobState::Done(s)) => {
                    self.jobs.remove(id);
                    s
                }
                Some(JobState::Stopped) => 128 + crate::system::SIGTSTP as i32,
                _ => 0,
            };
        }
        status
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signal_names() {
        assert_eq!(signal_by_name("STOP"), Some(19));
        assert_eq!(signal_by_name("sigcont"), Some(18));
        assert_eq!(signal_by_name("9"), Some(9));
        assert_eq!(signal_by_name("0"), None);
        assert_eq!(signal_by_name("BOGUS"), None);
        let list = signal_list();
        assert_eq!(list.lines().count(), 4);
        assert!(list.starts_with(" 1) SIGHUP "));
        assert!(list.contains("20) SIGTSTP"));
    }

    #[test]
    fn kill_arguments() {
        assert_eq!(parse_kill(&["-l"]), Ok(KillArgs::List(None)));
        assert_eq!(parse_kill(&["-l", "137"]), Ok(KillArgs::List(Some("137"))));
        assert_eq!(
            parse_kill(&["%1"]),
            Ok(KillArgs::Send {
                sig: 15,
                targets: alloc::vec!["%1"]
            })
        );
        assert_eq!(
            parse_kill(&["-STOP", "%1", "42"]),
            Ok(KillArgs::Send {
                sig: 19,
                targets: alloc::vec!["%1", "42"]
            })
        );
        assert_eq!(
            parse_kill(&["-s", "CONT", "--", "-7"]),
            Ok(KillArgs::Send {
                sig: 18,
                targets: alloc::vec!["-7"]
            })
        );
        assert!(parse_kill(&["-NOPE", "1"]).is_err());
        assert!(parse_kill(&["-9"]).is_err());
        assert!(parse_kill(&[]).is_err());
        assert!(parse_kill(&["-s"]).is_err());
    }
}
