//! Host tests of the process table: adoption, fork, the NPROC limit,
//! exit and zombies, reparenting, wait4 matching and status, automatic
//! reaping, sessions and process groups, times.

use super::*;
use crate::signal::action::{SA_NOCLDWAIT, SIG_IGN};
use crate::signal::SigAction;
use crate::task::RLIM_INFINITY;
use crate::wait_status::*;

pub(super) const ROOT: u32 = 0;
pub(super) const USER: u32 = 1000;

/// init (1) with a shell (10, uid 1000) in its own session.
pub(super) fn system() -> ProcessTable {
    let mut t = ProcessTable::new(64);
    t.adopt(1, 0, Credentials::new(ROOT, ROOT), b"init", 0)
        .unwrap();
    t.fork(1, 10, 5).unwrap();
    t.setuid(10, USER).unwrap();
    t.setsid(10).unwrap();
    t.take_events();
    t
}

fn child_of(t: &mut ProcessTable, parent: Pid, child: Pid) {
    t.fork(parent, child, 100).unwrap();
}

fn reaped(pid: Pid, status: i32) -> WaitOutcome {
    WaitOutcome::Child {
        pid,
        status,
        rusage: Rusage::default(),
    }
}

#[test]
fn adopt_rules() {
    let mut t = ProcessTable::new(4);
    assert_eq!(
        t.adopt(2, 0, Credentials::new(0, 0), b"x", 0),
        Err(Errno::EINVAL),
        "only init is parentless"
    );
    assert_eq!(
        t.adopt(1, 5, Credentials::new(0, 0), b"x", 0),
        Err(Errno::EINVAL),
        "init has no parent"
    );
    t.adopt(1, 0, Credentials::new(0, 0), b"init", 0).unwrap();
    assert_eq!(
        t.adopt(1, 0, Credentials::new(0, 0), b"init", 0),
        Err(Errno::EEXIST)
    );
    assert_eq!(
        t.adopt(3, 2, Credentials::new(0, 0), b"mm", 0),
        Err(Errno::ESRCH)
    );
    t.adopt(2, 1, Credentials::new(0, 0), b"mm", 0).unwrap();
    assert_eq!(t.getppid(2), Ok(1));
    assert_eq!((t.get(2).unwrap().pgid, t.get(2).unwrap().sid), (1, 1));
    assert_eq!(t.children(1), [2]);
}

#[test]
fn fork_inherits_and_refuses_duplicates() {
    let mut t = system();
    t.setpgid(10, 0, 0).unwrap_err(); // a session leader cannot move
    let sh = t.get(10).unwrap().clone();
    child_of(&mut t, 10, 11);
    let c = t.get(11).unwrap();
    assert_eq!(
        (c.parent, c.pgid, c.sid, c.cred.uid, c.tty),
        (10, sh.pgid, sh.sid, USER, sh.tty)
    );
    assert_eq!(c.start_time_ns, 100);
    assert_eq!(c.cmdline, sh.cmdline);
    assert_eq!(t.fork(10, 11, 0), Err(Errno::EEXIST), "pid in use");
    assert_eq!(t.fork(99, 12, 0), Err(Errno::ESRCH), "no such parent");
    assert_eq!(t.fork(10, 0, 0), Err(Errno::EINVAL));
    assert_eq!(t.children(10), [11]);
}

#[test]
fn nproc_limit_and_table_size() {
    let mut t = system();
    t.set_nproc_limit(10, Rlimit { cur: 3, max: 3 }).unwrap();
    assert_eq!(
        t.set_nproc_limit(10, Rlimit { cur: 3, max: 4 }),
        Err(Errno::EPERM)
    );
    assert_eq!(
        t.set_nproc_limit(10, Rlimit { cur: 4, max: 3 }),
        Err(Errno::EINVAL)
    );
    child_of(&mut t, 10, 11);
    child_of(&mut t, 11, 12); // the grandchild inherits the limit
    assert_eq!(
        t.fork(12, 13, 0),
        Err(Errno::EAGAIN),
        "three processes of uid 1000"
    );
    assert_eq!(t.fork(10, 13, 0), Err(Errno::EAGAIN));
    t.fork(1, 13, 0).unwrap(); // root is exempt and uid 0 is counted apart
                               // A zombie still counts until reaped.
    t.exit(12, 0).unwrap();
    assert_eq!(t.fork(10, 14, 0), Err(Errno::EAGAIN));
    assert!(matches!(
        t.wait4(11, -1, 0),
        Ok(WaitOutcome::Child { pid: 12, .. })
    ));
    t.fork(10, 14, 0).unwrap();

    let mut small = ProcessTable::new(2);
    small
        .adopt(1, 0, Credentials::new(0, 0), b"init", 0)
        .unwrap();
    small.fork(1, 2, 0).unwrap();
    assert_eq!(small.fork(1, 3, 0), Err(Errno::EAGAIN), "table full");
    assert_eq!(t.get(10).unwrap().nproc.max, 3);
    assert_eq!(t.get(1).unwrap().nproc.cur, RLIM_INFINITY);
}

#[test]
fn exit_makes_a_zombie_until_waited() {
    let mut t = system();
    child_of(&mut t, 10, 11);
    t.exit(11, 3).unwrap();
    assert_eq!(t.get(11).unwrap().state, TaskState::Zombie);
    let events = t.take_events();
    assert!(events.contains(&Event::Exited(11)));
    assert!(events.contains(&Event::ChildChanged(10)));
    assert_eq!(
        t.exit(11, 0),
        Err(Errno::ESRCH),
        "a zombie cannot exit again"
    );
    let outcome = t.wait4(10, 11, 0).unwrap();
    assert_eq!(outcome, reaped(11, exited(3)));
    let WaitOutcome::Child { status, .. } = outcome else {
        unreachable!()
    };
    assert!(wifexited(status) && wexitstatus(status) == 3);
    assert!(t.get(11).is_none());
    assert!(t.take_events().contains(&Event::Reaped(11)));
    assert_eq!(t.wait4(10, -1, 0), Err(Errno::ECHILD));
    assert_eq!(t.exit(1, 0), Err(Errno::EPERM), "init does not exit");
}

#[test]
fn wait4_selectors_and_options() {
    let mut t = system();
    child_of(&mut t, 10, 11);
    child_of(&mut t, 10, 12);
    t.setpgid(10, 12, 12).unwrap();
    assert_eq!(t.wait4(10, -1, 0), Ok(WaitOutcome::WouldBlock));
    assert_eq!(t.wait4(10, -1, WNOHANG), Ok(WaitOutcome::NoneReady));
    assert_eq!(t.wait4(10, 13, 0), Err(Errno::ECHILD), "not a child");
    assert_eq!(t.wait4(10, -1, 4), Err(Errno::EINVAL), "unknown option");
    assert_eq!(t.wait4(10, i32::MIN, 0), Err(Errno::ESRCH));
    t.exit(12, 7).unwrap();
    assert_eq!(
        t.wait4(10, 0, WNOHANG),
        Ok(WaitOutcome::NoneReady),
        "12 left the caller's group"
    );
    assert_eq!(
        t.wait4(10, -11, 0),
        Err(Errno::ECHILD),
        "no child in group 11"
    );
    assert_eq!(t.wait4(10, -12, 0), Ok(reaped(12, exited(7))));
    t.exit(11, 0).unwrap();
    assert_eq!(
        t.wait4(10, 0, 0),
        Ok(reaped(11, exited(0))),
        "11 is in the caller's group"
    );
    assert_eq!(t.wait4(10, 0, 0), Err(Errno::ECHILD));
}

#[test]
fn orphans_go_to_init_and_zombie_orphans_are_reported_to_it() {
    let mut t = system();
    child_of(&mut t, 10, 11);
    child_of(&mut t, 11, 12);
    child_of(&mut t, 11, 13);
    t.exit(13, 1).unwrap();
    t.take_events();
    t.exit(11, 0).unwrap();
    assert_eq!(t.getppid(12), Ok(1));
    assert_eq!(t.get(13).unwrap().parent, 1);
    let events = t.take_events();
    assert!(
        events.contains(&Event::ChildChanged(1)),
        "init hears of the zombie it inherited"
    );
    assert!(
        t.get(13).unwrap().is_zombie(),
        "init's SIGCHLD is SIG_DFL, not SIG_IGN: no auto-reap"
    );
    assert_eq!(t.wait4(1, 13, 0), Ok(reaped(13, exited(1))));
    assert_eq!(t.wait4(10, 11, 0), Ok(reaped(11, exited(0))));
    t.exit(12, 0).unwrap();
    assert_eq!(
        t.wait4(1, -1, 0)
            .map(|o| matches!(o, WaitOutcome::Child { pid: 12, .. })),
        Ok(true)
    );
}

/// The server's init ignores SIGCHLD (it never waits through proc, see
/// `bin/proc/main.rs`): an orphan that dies, or one already a zombie when
/// its parent dies, leaves the table at once, and stops counting
/// against its owner's RLIMIT_NPROC.
#[test]
fn orphans_of_an_init_that_ignores_sigchld_leave_the_table() {
    let mut t = system();
    let ignore = SigAction::from_raw(SIG_IGN, 0, 0, 0).unwrap();
    t.sigaction(1, Signal::SIGCHLD.number() as u32, Some(ignore))
        .unwrap();
    t.set_nproc_limit(10, Rlimit { cur: 4, max: 4 }).unwrap();
    child_of(&mut t, 10, 11);
    child_of(&mut t, 11, 12);
    child_of(&mut t, 11, 13);
    assert_eq!(
        t.fork(11, 14, 100),
        Err(Errno::EAGAIN),
        "4 processes of uid 1000"
    );
    t.exit(13, 1).unwrap();
    t.exit(11, 0).unwrap();
    assert!(t.get(13).is_none(), "a zombie orphan is released at once");
    assert_eq!(t.getppid(12), Ok(1));
    t.exit(12, 0).unwrap();
    assert!(
        t.get(12).is_none(),
        "an orphan that dies is released at once"
    );
    assert_eq!(t.wait4(10, 11, 0), Ok(reaped(11, exited(0))));
    child_of(&mut t, 10, 14);
    child_of(&mut t, 14, 15);
    child_of(&mut t, 14, 16);
    assert_eq!(
        t.fork(14, 17, 100),
        Err(Errno::EAGAIN),
        "the limit again, not before"
    );
}

#[test]
fn sigchld_ignored_or_nocldwait_reaps_automatically() {
    for (handler, flags) in [(SIG_IGN, 0), (0x40_1000, SA_NOCLDWAIT)] {
        let mut t = system();
        let act = SigAction::from_raw(handler, flags, 0, 0).unwrap();
        t.tasks
            .get_mut(&10)
            .unwrap()
            .signals
            .sigaction(Signal::SIGCHLD, Some(act))
            .unwrap();
        child_of(&mut t, 10, 11);
        child_of(&mut t, 10, 12);
        assert_eq!(t.wait4(10, -1, 0), Ok(WaitOutcome::WouldBlock));
        t.exit(11, 0).unwrap();
        assert!(t.get(11).is_none(), "no zombie");
        let events = t.take_events();
        assert!(events.contains(&Event::Reaped(11)) && events.contains(&Event::ChildChanged(10)));
        let sigchld_sent = t
            .get(10)
            .unwrap()
            .signals
            .pending()
            .contains(Signal::SIGCHLD);
        assert_eq!(
            sigchld_sent,
            handler != SIG_IGN,
            "SA_NOCLDWAIT with a handler still signals"
        );
        assert_eq!(t.wait4(10, -1, 0), Ok(WaitOutcome::WouldBlock), "12 lives");
        t.exit(12, 0).unwrap();
        assert_eq!(t.wait4(10, -1, 0), Err(Errno::ECHILD), "all gone: ECHILD");
    }
}

#[test]
fn reaping_accumulates_usage() {
    let mut t = system();
    child_of(&mut t, 10, 11);
    child_of(&mut t, 11, 12);
    let ms = |n: u64| n * 1_000_000;
    t.account(
        12,
        &Rusage {
            utime_ns: ms(30),
            stime_ns: ms(10),
            minflt: 5,
            majflt: 0,
        },
    )
    .unwrap();
    t.account(
        11,
        &Rusage {
            utime_ns: ms(20),
            stime_ns: ms(40),
            minflt: 1,
            majflt: 1,
        },
    )
    .unwrap();
    t.exit(12, 0).unwrap();
    t.wait4(11, 12, 0).unwrap();
    t.exit(11, 0).unwrap();
    let WaitOutcome::Child { rusage, .. } = t.wait4(10, 11, 0).unwrap() else {
        panic!()
    };
    assert_eq!(
        rusage,
        Rusage {
            utime_ns: ms(50),
            stime_ns: ms(50),
            minflt: 6,
            majflt: 1
        }
    );
    assert_eq!(
        t.times(10),
        Ok(Tms {
            utime: 0,
            stime: 0,
            cutime: 5,
            cstime: 5
        })
    );
    assert_eq!(t.getrusage(10, RUSAGE_CHILDREN), Ok(rusage));
    assert_eq!(t.getrusage(10, 1), Err(Errno::EINVAL));
}

#[test]
fn setpgid_rules() {
    let mut t = system();
    child_of(&mut t, 10, 11);
    child_of(&mut t, 10, 12);
    child_of(&mut t, 11, 13);
    assert_eq!(t.setpgid(10, 11, -1), Err(Errno::EINVAL));
    assert_eq!(t.setpgid(10, 13, 13), Err(Errno::ESRCH), "a grandchild");
    assert_eq!(t.setpgid(10, 99, 0), Err(Errno::ESRCH));
    assert_eq!(t.setpgid(10, 0, 0), Err(Errno::EPERM), "session leader");
    assert_eq!(
        t.setpgid(10, 11, 77),
        Err(Errno::EPERM),
        "no group 77 in the session"
    );
    t.setpgid(10, 11, 0).unwrap();
    assert_eq!(t.getpgid(10, 11), Ok(11));
    t.setpgid(10, 12, 11).unwrap();
    assert_eq!(t.getpgid(12, 0), Ok(11), "joined an existing group");
    t.setpgid(12, 0, 0).unwrap();
    assert_eq!(t.getpgid(10, 12), Ok(12), "a process moves itself");
    t.exec(12, b"ls").unwrap();
    assert_eq!(t.setpgid(10, 12, 11), Err(Errno::EACCES), "after exec");
    t.setsid(13).unwrap();
    assert_eq!(t.setpgid(11, 13, 11), Err(Errno::EPERM), "another session");
    assert_eq!(t.getpgid(10, 99), Err(Errno::ESRCH));
    assert_eq!(t.getpgid(10, -1), Err(Errno::ESRCH));
}

#[test]
fn setsid_rules() {
    let mut t = system();
    assert_eq!(t.setsid(10), Err(Errno::EPERM), "a group leader");
    child_of(&mut t, 10, 11);
    t.set_controlling_tty(10, 4).unwrap();
    assert_eq!(t.set_controlling_tty(10, 5), Err(Errno::EPERM), "has one");
    child_of(&mut t, 10, 12);
    assert_eq!(t.get(12).unwrap().tty, Some(4));
    assert_eq!(
        t.set_controlling_tty(12, 4),
        Err(Errno::EPERM),
        "not a leader"
    );
    assert_eq!(t.setsid(12), Ok(12));
    let c = t.get(12).unwrap();
    assert_eq!((c.sid, c.pgid, c.tty), (12, 12, None));
    assert_eq!(t.getsid(10, 12), Ok(12));
    assert_eq!(t.getsid(12, 0), Ok(12));
    // A group with the caller's pid outlives its leader's move.
    child_of(&mut t, 10, 13);
    t.setpgid(10, 13, 0).unwrap();
    child_of(&mut t, 13, 14);
    t.setpgid(14, 0, 0).unwrap();
    assert_eq!(t.setsid(13), Err(Errno::EPERM));
}

#[test]
fn exec_marks_and_resets() {
    let mut t = system();
    child_of(&mut t, 10, 11);
    let act = SigAction::from_raw(0x40_1000, 0, 0, 0).unwrap();
    t.tasks
        .get_mut(&11)
        .unwrap()
        .signals
        .sigaction(Signal::SIGINT, Some(act))
        .unwrap();
    t.exec(11, b"/bin/ls\0-l").unwrap();
    let c = t.get(11).unwrap();
    assert!(c.did_exec);
    assert_eq!(c.cmdline, b"/bin/ls\0-l");
    assert_eq!(c.signals.action(Signal::SIGINT), SigAction::default());
    t.exec(11, &[b'a'; 10_000]).unwrap();
    assert_eq!(t.get(11).unwrap().cmdline.len(), crate::task::CMDLINE_MAX);
}

#[test]
fn states_for_ps() {
    let mut t = system();
    t.set_sleeping(10, true).unwrap();
    assert_eq!(t.get(10).unwrap().state.letter(), 'S');
    t.set_sleeping(10, false).unwrap();
    assert_eq!(t.get(10).unwrap().state.letter(), 'R');
    assert_eq!(t.set_sleeping(42, true), Err(Errno::ESRCH));
}

#[test]
fn a_pid_still_naming_a_group_is_not_reused() {
    let mut t = system();
    child_of(&mut t, 10, 11);
    t.setpgid(10, 11, 0).unwrap();
    child_of(&mut t, 11, 12); // in group 11
    t.exit(11, 0).unwrap();
    t.wait4(10, 11, 0).unwrap();
    assert!(t.get(11).is_none() && t.pid_in_use(11));
    assert_eq!(
        t.fork(10, 11, 0),
        Err(Errno::EEXIST),
        "group 11 lives on in 12"
    );
    assert_eq!(t.fork(10, 10, 0), Err(Errno::EEXIST));
    assert_eq!(
        t.adopt(12, 1, Credentials::new(0, 0), b"x", 0),
        Err(Errno::EEXIST)
    );
}
