//! The job table: pipelines started in the background or stopped with
//! Ctrl-Z, numbered from 1 as bash numbers them (`%1`), each Running,
//! Stopped or Done. The table holds no system state; the executor updates
//! it from [`WaitStatus`]es and prints what [`Job::line`] formats.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use crate::system::{Pid, WaitStatus};

/// The most jobs the table holds at once.
pub const MAX_JOBS: usize = 64;

/// A job's state as `jobs` shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobState {
    Running,
    Stopped,
    /// Every process ended; the `$?` of the last one.
    Done(i32),
}

impl fmt::Display for JobState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JobState::Running => f.write_str("Running"),
            JobState::Stopped => f.write_str("Stopped"),
            JobState::Done(0) => f.write_str("Done"),
            JobState::Done(s) => write!(f, "Exit {s}"),
        }
    }
}

/// One process of a job and whether it has ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JobProcess {
    pub pid: Pid,
    pub status: Option<WaitStatus>,
}

/// A pipeline under job control.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    pub id: usize,
    pub pgid: Pid,
    pub procs: Vec<JobProcess>,
    pub command: String,
    pub state: JobState,
}

impl Job {
    /// Records a state change of one of the job's processes and
    /// recomputes the job's state.
    pub fn update(&mut self, pid: Pid, status: WaitStatus) {
        if let Some(p) = self.procs.iter_mut().find(|p| p.pid == pid) {
            p.status = match status {
                WaitStatus::Continued => None,
                s => Some(s),
            };
        }
        let ended = |s: &Option<WaitStatus>| {
            matches!(s, Some(WaitStatus::Exited(_) | WaitStatus::Signaled(_)))
        };
        self.state = if self.procs.iter().all(|p| ended(&p.status)) {
            let last = self.procs.last().and_then(|p| p.status);
            JobState::Done(last.map_or(0, WaitStatus::shell_status))
        } else if self
            .procs
            .iter()
            .any(|p| matches!(p.status, Some(WaitStatus::Stopped(_))))
        {
            JobState::Stopped
        } else {
            JobState::Running
        };
    }

    /// The job's line as `jobs` prints it: `[1]+  Running    sleep 9 &`.
    pub fn line(&self, current: bool) -> String {
        let mark = if current { '+' } else { '-' };
        let state = format!("{}", self.state);
        let amp = if self.state == JobState::Running {
            " &"
        } else {
            ""
        };
        format!("[{}]{mark}  {state:<24}{}{amp}\n", self.id, self.command)
    }
}

/// Why a job operation failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobError {
    /// No job matches the spec (`%7`, `%foo`).
    NoSuchJob(String),
    /// The table already holds [`MAX_JOBS`] jobs.
    TableFull,
}

impl fmt::Display for JobError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JobError::NoSuchJob(s) => write!(f, "{s}: no such job"),
            JobError::TableFull => write!(f, "too many jobs"),
        }
    }
}

/// The shell's jobs, oldest first.
#[derive(Debug, Default)]
pub struct JobTable {
    jobs: Vec<Job>,
}

impl JobTable {
    /// Adds a job and returns its number (one more than the highest in use).
    pub fn add(&mut self, pgid: Pid, pids: &[Pid], command: String) -> Result<usize, JobError> {
        if self.jobs.len() == MAX_JOBS {
            return Err(JobError::TableFull);
        }
        let id = self.jobs.iter().map(|j| j.id).max().unwrap_or(0) + 1;
        let procs = pids
            .iter()
            .map(|&pid| JobProcess { pid, status: None })
            .collect();
        self.jobs.push(Job {
            id,
            pgid,
            procs,
            command,
            state: JobState::Running,
        });
        Ok(id)
    }

    pub fn jobs(&self) -> &[Job] {
        &self.jobs
    }

    pub fn get_mut(&mut self, id: usize) -> Option<&mut Job> {
        self.jobs.iter_mut().find(|j| j.id == id)
    }

    /// The current job (`%+`): the newest.
    pub fn current(&self) -> Option<usize> {
        self.jobs.last().map(|j| j.id)
    }

    /// Resolves a job spec: `%N`, `%%`, `%+`, `%-`, `%prefix`, or none
    /// (the current job).
    pub fn resolve(&self, spec: Option<&str>) -> Result<usize, JobError> {
        let none = || JobError::NoSuchJob(String::from(spec.unwrap_or("current")));
        let spec_body = match spec {
            None | Some("%%") | Some("%+") | Some("%") => return self.current().ok_or_else(none),
            Some(s) => s.strip_prefix('%').unwrap_or(s),
        };
        if spec_body == "-" {
            let n = self.jobs.len();
            return self
                .jobs
                .get(n.wrapping_sub(2))
                .map(|j| j.id)
                .ok_or_else(none);
        }
        if let Ok(id) = spec_body.parse::<usize>() {
            return self
                .jobs
                .iter()
                .find(|j| j.id == id)
                .map(|j| j.id)
                .ok_or_else(none);
        }
        self.jobs
            .iter()
            .rev()
            .find(|j| j.command.starts_with(spec_body))
            .map(|j| j.id)
            .ok_or_else(none)
    }

    /// Takes the finished jobs out of the table.
    pub fn remove_done(&mut self) -> Vec<Job> {
        let (done, keep) = self
            .jobs
            .drain(..)
            .partition(|j| matches!(j.state, JobState::Done(_)));
        self.jobs = keep;
        done
    }

    /// Removes a job (after `fg` ran it to the end).
    pub fn remove(&mut self, id: usize) -> Option<Job> {
        let i = self.jobs.iter().position(|j| j.id == id)?;
        Some(self.jobs.remove(i))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbering_states_and_specs() {
        let mut t = JobTable::default();
        assert_eq!(t.add(10, &[10, 11], "a | b".into()), Ok(1));
        assert_eq!(t.add(20, &[20], "sleep 100".into()), Ok(2));
        assert_eq!(t.resolve(None), Ok(2));
        assert_eq!(t.resolve(Some("%1")), Ok(1));
        assert_eq!(t.resolve(Some("%-")), Ok(1));
        assert_eq!(t.resolve(Some("%sl")), Ok(2));
        assert!(t.resolve(Some("%9")).is_err());
        let j = t.get_mut(1).unwrap();
        j.update(10, WaitStatus::Exited(0));
        assert_eq!(j.state, JobState::Running);
        j.update(11, WaitStatus::Stopped(20));
        assert_eq!(j.state, JobState::Stopped);
        j.update(11, WaitStatus::Exited(3));
        assert_eq!(j.state, JobState::Done(3));
        assert_eq!(j.line(false), "[1]-  Exit 3                  a | b\n");
        assert_eq!(t.remove_done().len(), 1);
        assert_eq!(t.add(30, &[30], "x".into()), Ok(3));
    }
}
