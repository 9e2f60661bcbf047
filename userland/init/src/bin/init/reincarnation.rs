//! The reincarnation server (MINIX 3's RS): every process `init` starts
//! is watched with its own bit of the deaths notification. A server that
//! dies is logged, its name made `Unavailable`, and it is restarted after
//! a doubling delay until its budget is spent (`init::restart` decides);
//! a program's end is logged; a test's end adds its tally.
#![forbid(unsafe_code)]

use alloc::string::String;

use init::manifest::Kind;
use init::restart::Decision;
use libsys::abi::ProcessStatus;
use libsys::proto::name::KillMode;
use libsys::spawn::Child;
use libsys::{eprintln, println};

use crate::{Init, Run};

impl Init {
    /// The earliest restart due.
    pub(crate) fn next_restart(&self) -> Option<u64> {
        self.slots
            .iter()
            .filter_map(|s| match s.run {
                Run::RestartAt(at) => Some(at),
                _ => None,
            })
            .min()
    }

    /// Signals of the deaths notification: which watched processes died.
    pub(crate) fn deaths(&mut self, bits: u64) {
        if bits & crate::spawnservice::SPAWNED_BIT != 0 {
            self.spawned_deaths();
        }
        for i in 0..self.slots.len() {
            if bits & (1 << i) == 0 {
                continue;
            }
            let status = match &self.slots[i].run {
                Run::Running(child) => child.process.status(),
                _ => continue,
            };
            match status {
                Ok(ProcessStatus::Alive) => {}
                Ok(status) => self.died(i, status),
                Err(e) => eprintln!("status of {}: {e}", self.slots[i].entry.name),
            }
        }
    }

    /// Slot `i`'s process ended with `status`.
    fn died(&mut self, i: usize, status: ProcessStatus) {
        if let Run::Running(child) = core::mem::replace(&mut self.slots[i].run, Run::Done) {
            let Child {
                process,
                thread,
                pages,
            } = child;
            drop(thread);
            drop(process);
            for run in pages {
                self.mem.free(run);
            }
        }
        self.ended(i, Some(status));
    }

    /// Slot `i` is over (it died, or never started: `status` `None`).
    pub(crate) fn ended(&mut self, i: usize, status: Option<ProcessStatus>) {
        self.procs.reaped(self.slots[i].id);
        let slot = &mut self.slots[i];
        let name = slot.entry.name.clone();
        let why = describe(status);
        match slot.entry.kind {
            Kind::Server => {
                let dead = slot.id;
                if dead != 0 {
                    self.kill_children_of(dead);
                }
                let slot = &mut self.slots[i];
                // A restart someone asked for is not the server's
                // failure; a `Fail` (or a death of its own) counts.
                let decision = if slot.killed.take() == Some(KillMode::Restart) {
                    slot.restarts.killed()
                } else {
                    slot.restarts.died()
                };
                let given_up = decision == Decision::GiveUp;
                if let Some(registered) = &slot.entry.register {
                    // The registration it made closes when dropped.
                    drop(self.names.owner_died(registered, given_up));
                }
                match decision {
                    Decision::RestartAfter { ms, n } => {
                        eprintln!(
                            "server {name} {why}; restart {n} of {} in {ms} ms",
                            slot.restarts.budget
                        );
                        slot.run = Run::RestartAt(libsys::time::uptime_ns() + ms * 1_000_000);
                    }
                    Decision::GiveUp => {
                        eprintln!(
                            "server {name} {why}; failed after {} restarts, given up",
                            slot.restarts.used
                        );
                        slot.run = Run::Done;
                    }
                }
            }
            Kind::Program => println!("{name} {why}"),
            Kind::Test => {
                let (passed, failed) = match status {
                    Some(ProcessStatus::Exited(v)) => ((v >> 16) & 0xffff, v & 0xffff),
                    _ => (0, 1),
                };
                let verdict = if failed == 0 && passed > 0 {
                    "ok"
                } else {
                    "FAIL"
                };
                println!("test {name} {why}: {passed} passed, {failed} failed ({verdict})");
                self.passed += passed;
                self.failed += failed;
                if passed == 0 && failed == 0 {
                    self.failed += 1;
                }
            }
        }
    }

    /// Restarts the servers whose back-off has run out.
    pub(crate) fn restart_due(&mut self) {
        let now = libsys::time::uptime_ns();
        for i in 0..self.slots.len() {
            if matches!(self.slots[i].run, Run::RestartAt(at) if at <= now) {
                self.slots[i].run = Run::Waiting;
                self.start(i);
                if matches!(self.slots[i].run, Run::Running(_)) {
                    println!("restarted {}", self.slots[i].entry.name);
                }
            }
        }
    }

    /// Kills every process init started (when the tests are over).
    pub(crate) fn stop_all(&mut self) {
        for slot in &mut self.slots {
            if let Run::Running(child) = &slot.run {
                let _ = child.process.kill();
            }
        }
        for spawned in &self.spawned {
            let _ = spawned.child.process.kill();
        }
    }
}

/// How a process ended, for the log (`status` `None`: it never started).
fn describe(status: Option<ProcessStatus>) -> String {
    match status {
        None => "could not start".into(),
        Some(ProcessStatus::Exited(v)) => alloc::format!("exited with status {v}"),
        Some(ProcessStatus::Fault(v)) => alloc::format!("was killed by exception {v}"),
        Some(ProcessStatus::BusError(a)) => alloc::format!("was killed by a bus error at {a:#x}"),
        Some(ProcessStatus::Killed(by)) => alloc::format!("was killed by process {by}"),
        Some(ProcessStatus::Alive) => "is alive".into(),
    }
}
