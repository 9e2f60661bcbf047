//! Which test programs a boot entry must run, and which ones the guest's
//! lines show did run.
//!
//! A suite's closing `N passed, 0 failed` says nothing about a program that
//! never started: its checks are simply not counted. So each boot entry the
//! harness runs to the end has its own list of programs ([`GUEST_SUITE`],
//! [`TEST_MONO`]), and a case fails if one of them left no sign of having
//! run. The signs are lines the guest prints anyway:
//!
//! - `<name>[<pid>]: exited with status <n>...` or
//!   `<name>[<pid>]: killed by ...`: the kernel's line when a process ends
//!   (the programs the kernel starts itself: `ktest`, `kfault`, `utest`,
//!   and `init`);
//! - `init[<pid>]: test <name> exited with status <n>: ...` (or `was
//!   killed by ...`): `init`'s line when a test of its manifest ends, after
//!   which it adds the test's checks to its tally.

use std::collections::BTreeSet;

/// The `test` entry: the kernel's user-mode tests, then `init` with
/// `manifest.test`.
pub const GUEST_SUITE: &[&str] = &[
    "ktest",
    "kfault",
    "utest",
    "init",
    "nstest",
    "kvtest",
    "mmtest",
    "meminfo",
    "synctest",
    "timertest",
    "wait1test",
    "devtest",
    "blktest",
    "hostile",
    "pidtest",
    "pidtest2",
    "contest",
    "granttest",
    "exctest",
    "spawntest",
    "spawntest2",
    "hoard",
    "edutest",
];

/// The `fuzz` entry: `init` with `manifest.fuzz`, the fuzzers and the
/// check after them.
pub const FUZZ: &[&str] = &["init", "sysfuzz", "msgfuzz", "fuzzcheck"];

/// The `chaos` entry: `init` with `manifest.chaos` and the restart
/// checker.
pub const CHAOS: &[&str] = &["init", "chaos"];

/// The `test-mono` entry: `init` with `manifest.mono` (the cores of kv and
/// wait1 in the kernel).
/// The `posix` entry: `init` with `manifest.posix`.
pub const POSIX: &[&str] = &[
    "init",
    "pidtest",
    "ttytest",
    "fstest",
    "proctest",
    "shtest",
    "procfstest",
    "servicetest",
    "ext2test",
    "mmaptest",
];

pub const TEST_MONO: &[&str] = &[
    "init",
    "nstest",
    "kvtest",
    "devtest",
    "wait1test",
    "pidtest",
    "pidtest2",
    "granttest",
    "exctest",
    // The timer core in the kernel (issue 21).
    "timertest",
];

/// The program whose end `line` reports, if it reports one (see the module
/// documentation for the two forms).
pub fn program_ended(line: &str) -> Option<&str> {
    let (process, text) = split_process(line.trim())?;
    if process == "init" {
        if let Some(test) = text.strip_prefix("test ") {
            let (name, rest) = test.split_once(' ')?;
            if rest.starts_with("exited with status ") || rest.starts_with("was killed by ") {
                return Some(name);
            }
        }
    }
    (text.starts_with("exited with status ") || text.starts_with("killed by ")).then_some(process)
}

/// Splits `<name>[<pid>]: <text>` into the name and the text.
fn split_process(line: &str) -> Option<(&str, &str)> {
    let (name, rest) = line.split_once('[')?;
    let (pid, text) = rest.split_once("]: ")?;
    let valid_name = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    let valid_pid = !pid.is_empty() && pid.chars().all(|c| c.is_ascii_digit());
    (valid_name && valid_pid).then_some((name, text))
}

/// The programs seen ending so far, fed one line at a time.
#[derive(Debug, Default)]
pub struct Ran(BTreeSet<String>);

impl Ran {
    pub fn new() -> Ran {
        Ran::default()
    }

    /// Records the program `line` reports the end of, if any.
    pub fn see(&mut self, line: &str) {
        if let Some(name) = program_ended(line) {
            self.0.insert(name.to_string());
        }
    }

    /// Those of `expected` that were not seen, in the order given.
    pub fn missing<'a>(&self, expected: &[&'a str]) -> Vec<&'a str> {
        expected
            .iter()
            .copied()
            .filter(|name| !self.0.contains(*name))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_kernel_s_and_init_s_end_lines() {
        assert_eq!(
            program_ended("ktest[1]: exited with status 2359296; 39 frames freed"),
            Some("ktest")
        );
        assert_eq!(
            program_ended("kfault[8]: killed by page fault (vector 14, error 0x6) at rip 0x40038b"),
            Some("kfault")
        );
        assert_eq!(
            program_ended("utest-child[35]: exited with status 0; 7 frames freed"),
            Some("utest-child")
        );
        assert_eq!(
            program_ended(
                "init[48]: test nstest exited with status 655360: 10 passed, 0 failed (ok)"
            ),
            Some("nstest")
        );
        assert_eq!(
            program_ended(
                "init[48]: test mmtest was killed by exception 14: 0 passed, 1 failed (FAIL)"
            ),
            Some("mmtest")
        );
        assert_eq!(
            program_ended("init[48]: exited with status 4194304; 87 frames freed"),
            Some("init")
        );
    }

    #[test]
    fn other_lines_name_no_program() {
        for line in [
            "",
            "ok - user: init, the name service, kv and restarts (manifest.test)",
            "161 passed, 0 failed",
            "kfault[8]: committing fault \"stack-overflow\"",
            "init[48]: tests done: 64 passed, 0 failed",
            "init[48]: server crashy was killed by exception 14; restart 1 of 2 in 10 ms",
            "init[48]: test nstest started",
            "microkernel: init exited with status 851968; leaving",
            "[1]: exited with status 0",
            "x[]: exited with status 0",
            "x[1a]: exited with status 0",
            "a b[1]: exited with status 0",
        ] {
            assert_eq!(program_ended(line), None, "{line:?}");
        }
    }

    #[test]
    fn a_program_that_never_ended_is_missing() {
        let mut ran = Ran::new();
        for line in [
            "ktest[1]: exited with status 65536; 39 frames freed",
            "init[4]: test nstest exited with status 589824: 9 passed, 0 failed (ok)",
            "kvtest[5]: the kv server answers",
            "init[4]: tests done: 9 passed, 0 failed",
            "init[4]: exited with status 589824; 83 frames freed",
        ] {
            ran.see(line);
        }
        assert_eq!(
            ran.missing(TEST_MONO),
            [
                "kvtest",
                "devtest",
                "wait1test",
                "pidtest",
                "pidtest2",
                "granttest",
                "exctest",
                "timertest"
            ]
        );
        ran.see("init[4]: test kvtest exited with status 262144: 4 passed, 0 failed (ok)");
        ran.see("init[4]: test devtest exited with status 458752: 7 passed, 0 failed (ok)");
        ran.see("init[4]: test wait1test exited with status 393216: 6 passed, 0 failed (ok)");
        ran.see("init[4]: test pidtest exited with status 196608: 3 passed, 0 failed (ok)");
        ran.see("init[4]: test pidtest2 exited with status 196608: 3 passed, 0 failed (ok)");
        ran.see("init[4]: test granttest exited with status 1769472: 27 passed, 0 failed (ok)");
        ran.see("init[4]: test exctest exited with status 655360: 10 passed, 0 failed (ok)");
        ran.see("init[4]: test timertest exited with status 589824: 9 passed, 0 failed (ok)");
        assert!(ran.missing(TEST_MONO).is_empty());
        assert_eq!(ran.missing(&["ktest", "utest"]), ["utest"]);
        assert_eq!(Ran::new().missing(GUEST_SUITE), GUEST_SUITE);
    }
}
