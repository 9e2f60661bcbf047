//! Host tests of signals between processes: kill's targets and
//! permissions, delivery of default actions, stop and continue with
//! WUNTRACED/WCONTINUED, orphaned process groups, faults, alarms.

use super::tests::{system, USER};
use super::*;
use crate::signal::action::{SA_NOCLDSTOP, SIG_IGN};
use crate::signal::{SigAction, SigSet};
use crate::wait_status::*;

fn pending(t: &ProcessTable, pid: Pid) -> SigSet {
    t.get(pid).unwrap().signals.pending()
}

/// A second user's shell (20, uid 2000) beside the first.
fn two_users() -> ProcessTable {
    let mut t = system();
    t.fork(1, 20, 0).unwrap();
    t.setuid(20, 2000).unwrap();
    t.setsid(20).unwrap();
    t.fork(10, 11, 0).unwrap();
    t.fork(20, 21, 0).unwrap();
    t.take_events();
    t
}

#[test]
fn kill_one_checks_range_existence_permission() {
    let mut t = two_users();
    assert_eq!(t.kill(10, 11, 65), Err(Errno::EINVAL));
    assert_eq!(t.kill(10, 99, 15), Err(Errno::ESRCH));
    assert_eq!(
        t.kill(10, 21, 15),
        Err(Errno::EPERM),
        "another user's process"
    );
    assert_eq!(t.kill(10, 21, 0), Err(Errno::EPERM), "signal 0 checks too");
    assert_eq!(t.kill(10, 11, 0), Ok(()));
    assert!(pending(&t, 11).is_empty(), "signal 0 sends nothing");
    t.kill(10, 11, 15).unwrap();
    assert!(pending(&t, 11).contains(Signal::SIGTERM));
    assert!(t.take_events().contains(&Event::SignalPending(11)));
    t.kill(1, 21, 15).unwrap(); // root may
    assert_eq!(t.kill(10, i32::MIN, 15), Err(Errno::ESRCH));
    // A zombie takes signals quietly.
    t.exit(11, 0).unwrap();
    assert_eq!(t.kill(10, 11, 9), Ok(()));
}

#[test]
fn sigcont_is_allowed_within_a_session() {
    let mut t = two_users();
    // 22: uid 3000 in shell 20's session.
    t.fork(1, 22, 0).unwrap();
    t.tasks.get_mut(&22).unwrap().sid = 20;
    t.setuid(22, 3000).unwrap();
    assert_eq!(t.kill(22, 21, 15), Err(Errno::EPERM));
    assert_eq!(t.kill(22, 21, Signal::SIGCONT.number() as u32), Ok(()));
    assert_eq!(
        t.kill(10, 21, Signal::SIGCONT.number() as u32),
        Err(Errno::EPERM)
    );
}

#[test]
fn kill_groups_and_everyone() {
    let mut t = two_users();
    t.fork(10, 12, 0).unwrap();
    t.setpgid(10, 11, 0).unwrap();
    t.setpgid(10, 12, 11).unwrap();
    t.kill(10, -11, 10).unwrap();
    assert!(pending(&t, 11).contains(Signal::SIGUSR1) && pending(&t, 12).contains(Signal::SIGUSR1));
    assert_eq!(t.kill(10, -77, 10), Err(Errno::ESRCH), "empty group");
    assert_eq!(
        t.kill(10, -20, 10),
        Err(Errno::EPERM),
        "a group of another user"
    );
    t.kill(11, 0, 12).unwrap();
    assert!(
        pending(&t, 12).contains(Signal::SIGUSR2),
        "0: the caller's group"
    );
    assert!(!pending(&t, 10).contains(Signal::SIGUSR2));
    // -1: everyone the sender may signal but init and itself.
    t.kill(10, -1, 15).unwrap();
    for pid in [11, 12] {
        assert!(pending(&t, pid).contains(Signal::SIGTERM));
    }
    assert!(
        !pending(&t, 10).contains(Signal::SIGTERM) && !pending(&t, 20).contains(Signal::SIGTERM)
    );
    assert!(!pending(&t, 1).contains(Signal::SIGTERM));
    let mut alone = ProcessTable::new(4);
    alone
        .adopt(1, 0, crate::cred::Credentials::new(0, 0), b"init", 0)
        .unwrap();
    assert_eq!(alone.kill(1, -1, 15), Err(Errno::ESRCH));
}

#[test]
fn fatal_default_action_ends_the_process() {
    let mut t = system();
    t.fork(10, 11, 0).unwrap();
    t.kill(10, 11, 11).unwrap(); // SIGSEGV by kill: core-dump default
    assert_eq!(t.deliver(11), Ok(None));
    let outcome = t.wait4(10, 11, 0).unwrap();
    let WaitOutcome::Child { status, .. } = outcome else {
        panic!()
    };
    assert!(wifsignaled(status) && wtermsig(status) == 11 && wcoredump(status));
    let info = t.get(10).unwrap().signals.pending();
    assert!(
        !info.contains(Signal::SIGCHLD),
        "default SIGCHLD is discarded at generation"
    );
}

#[test]
fn handler_delivery_returns_the_frame() {
    let mut t = system();
    t.fork(10, 11, 0).unwrap();
    let act = SigAction::from_raw(0x40_1000, 0, 0, 0).unwrap();
    t.tasks
        .get_mut(&11)
        .unwrap()
        .signals
        .sigaction(Signal::SIGINT, Some(act))
        .unwrap();
    t.kill(10, 11, 2).unwrap();
    let frame = t.deliver(11).unwrap().expect("a handler frame");
    assert_eq!(
        (frame.info.signo, frame.info.pid, frame.info.uid),
        (Signal::SIGINT, 10, USER)
    );
    assert_eq!(t.deliver(11), Ok(None));
}

#[test]
fn stop_and_continue_are_reported_to_wait() {
    let mut t = system();
    t.fork(10, 11, 0).unwrap();
    let chld = SigAction::from_raw(0x40_1000, 0, 0, 0).unwrap();
    t.tasks
        .get_mut(&10)
        .unwrap()
        .signals
        .sigaction(Signal::SIGCHLD, Some(chld))
        .unwrap();
    // A job in its own group, linked to the shell's session by the shell:
    // not orphaned, so a terminal stop stops it.
    t.setpgid(10, 11, 0).unwrap();
    t.kill(10, 11, Signal::SIGTSTP.number() as u32).unwrap();
    t.deliver(11).unwrap();
    assert_eq!(t.get(11).unwrap().state, TaskState::Stopped);
    let events = t.take_events();
    assert!(events.contains(&Event::Stopped(11)) && events.contains(&Event::ChildChanged(10)));
    assert!(pending(&t, 10).contains(Signal::SIGCHLD), "CLD_STOPPED");
    assert_eq!(
        t.wait4(10, 11, WNOHANG),
        Ok(WaitOutcome::NoneReady),
        "not without WUNTRACED"
    );
    let stopped_report = t.wait4(10, 11, WUNTRACED).unwrap();
    assert_eq!(
        stopped_report,
        WaitOutcome::Child {
            pid: 11,
            status: stopped(20),
            rusage: Rusage::default()
        }
    );
    assert_eq!(
        t.wait4(10, 11, WUNTRACED | WNOHANG),
        Ok(WaitOutcome::NoneReady),
        "reported once"
    );
    // SIGCONT resumes even when blocked.
    t.tasks
        .get_mut(&11)
        .unwrap()
        .signals
        .sigprocmask(0, Some(SigSet::FULL))
        .unwrap();
    t.kill(10, 11, Signal::SIGCONT.number() as u32).unwrap();
    assert_eq!(t.get(11).unwrap().state, TaskState::Running);
    assert!(t.take_events().contains(&Event::Continued(11)));
    assert_eq!(
        t.wait4(10, 11, WCONTINUED),
        Ok(WaitOutcome::Child {
            pid: 11,
            status: CONTINUED,
            rusage: Rusage::default()
        })
    );
    assert!(wifcontinued(CONTINUED));
}

#[test]
fn sa_nocldstop_silences_stop_reports() {
    let mut t = system();
    t.fork(10, 11, 0).unwrap();
    let chld = SigAction::from_raw(0x40_1000, SA_NOCLDSTOP, 0, 0).unwrap();
    t.tasks
        .get_mut(&10)
        .unwrap()
        .signals
        .sigaction(Signal::SIGCHLD, Some(chld))
        .unwrap();
    t.kill(10, 11, Signal::SIGSTOP.number() as u32).unwrap();
    t.deliver(11).unwrap();
    assert!(!pending(&t, 10).contains(Signal::SIGCHLD));
    assert!(
        t.take_events().contains(&Event::ChildChanged(10)),
        "waiters still look"
    );
    t.kill(10, 11, 9).unwrap();
    assert_eq!(
        t.get(11).unwrap().state,
        TaskState::Running,
        "SIGKILL wakes a stopped process"
    );
    t.deliver(11).unwrap();
    assert!(
        pending(&t, 10).contains(Signal::SIGCHLD),
        "exit is still signalled"
    );
}

#[test]
fn orphaned_group_with_stopped_members_gets_hup_and_cont() {
    // Shell 10 (session 10) -> job leader 11 in group 11 -> 12 in group 11.
    let mut t = system();
    t.fork(10, 11, 0).unwrap();
    t.setpgid(10, 11, 0).unwrap();
    t.fork(11, 12, 0).unwrap();
    t.kill(10, 12, Signal::SIGSTOP.number() as u32).unwrap();
    t.deliver(12).unwrap();
    assert!(
        !t.is_orphaned_pgrp(11, None),
        "11's parent (10) links the group"
    );
    t.take_events();
    // 11 exits: 12 goes to init, group 11 is orphaned and has a stopped
    // member: SIGHUP then SIGCONT.
    t.exit(11, 0).unwrap();
    assert!(t.is_orphaned_pgrp(11, None));
    assert!(pending(&t, 12).contains(Signal::SIGHUP));
    assert_eq!(
        t.get(12).unwrap().state,
        TaskState::Running,
        "SIGCONT resumed it"
    );
    assert!(t.take_events().contains(&Event::Continued(12)));
    t.deliver(12).unwrap();
    assert!(t.get(12).unwrap().is_zombie(), "SIGHUP's default killed it");
}

#[test]
fn orphaned_group_without_stopped_members_is_left_alone() {
    let mut t = system();
    t.fork(10, 11, 0).unwrap();
    t.setpgid(10, 11, 0).unwrap();
    t.fork(11, 12, 0).unwrap();
    t.exit(11, 0).unwrap();
    assert!(pending(&t, 12).is_empty());
    // A terminal stop in the orphaned group is discarded; SIGSTOP is not.
    t.kill(10, 12, Signal::SIGTSTP.number() as u32).unwrap();
    t.deliver(12).unwrap();
    assert_eq!(t.get(12).unwrap().state, TaskState::Running);
    t.kill(10, 12, Signal::SIGSTOP.number() as u32).unwrap();
    t.deliver(12).unwrap();
    assert_eq!(t.get(12).unwrap().state, TaskState::Stopped);
}

#[test]
fn exiting_parent_orphans_a_childs_stopped_group() {
    // 10's child 11 is in group 11 with a stopped child 12 (also group 11):
    // 10 exits, 11 goes to init and group 11 loses its outside link.
    let mut t = system();
    t.fork(1, 30, 0).unwrap(); // a session leader whose child we use
    t.setsid(30).unwrap();
    t.fork(30, 31, 0).unwrap();
    t.fork(31, 32, 0).unwrap();
    t.setpgid(31, 0, 0).unwrap();
    t.setpgid(31, 32, 31).unwrap();
    t.kill(30, 32, Signal::SIGTSTP.number() as u32).unwrap();
    t.deliver(32).unwrap();
    assert_eq!(t.get(32).unwrap().state, TaskState::Stopped);
    t.setsid(30).unwrap_err();
    t.tasks
        .get_mut(&1)
        .unwrap()
        .signals
        .sigaction(
            Signal::SIGCHLD,
            Some(SigAction::from_raw(SIG_IGN, 0, 0, 0).unwrap()),
        )
        .unwrap();
    t.exit_with_status(30, signaled(9, false)).unwrap();
    assert!(t.get(30).is_none(), "init ignores SIGCHLD: reaped at once");
    assert!(pending(&t, 31).contains(Signal::SIGHUP) && pending(&t, 32).contains(Signal::SIGHUP));
    assert_eq!(t.get(32).unwrap().state, TaskState::Running);
}

#[test]
fn faults_become_signals() {
    let mut t = system();
    t.fork(10, 11, 0).unwrap();
    let info = SigInfo::fault(
        Signal::SIGSEGV,
        crate::signal::action::si_code::SEGV_MAPERR,
        0x10,
    );
    t.fault(11, info).unwrap();
    assert!(t.take_events().contains(&Event::SignalPending(11)));
    t.deliver(11).unwrap();
    let WaitOutcome::Child { status, .. } = t.wait4(10, 11, 0).unwrap() else {
        panic!()
    };
    assert_eq!(status, signaled(11, true));
}

#[test]
fn alarms() {
    let mut t = system();
    let s = 1_000_000_000;
    assert_eq!(t.alarm(10, 5, 0), Ok(0));
    assert_eq!(t.next_alarm(), Some(5 * s));
    assert_eq!(
        t.alarm(10, 10, 2 * s + 400_000_000),
        Ok(3),
        "2.6 s left rounds to 3"
    );
    assert_eq!(t.alarm(10, 1, 2 * s + 400_000_000), Ok(10));
    assert_eq!(
        t.alarm(10, 0, 3 * s + 300_000_000),
        Ok(1),
        "0.1 s left: at least 1"
    );
    assert_eq!(t.next_alarm(), None, "alarm(0) cancels");
    t.alarm(10, 1, 0).unwrap();
    t.fork(10, 11, 0).unwrap();
    assert_eq!(t.get(11).unwrap().alarm_ns, None, "not inherited by fork");
    t.expire_alarms(s - 1);
    assert!(pending(&t, 10).is_empty());
    t.expire_alarms(s);
    assert!(pending(&t, 10).contains(Signal::SIGALRM));
    assert_eq!(t.next_alarm(), None);
}

mod blocked_calls {
    use super::*;
    use crate::signal::action::SA_RESTART;
    use crate::signal::{BlockedCall, CallOutcome};

    /// Shell 10 with child 11 in its own group, handling SIGUSR1 with
    /// `flags`.
    fn with_handler(flags: u64) -> ProcessTable {
        let mut t = system();
        t.fork(10, 11, 0).unwrap();
        t.setpgid(10, 11, 0).unwrap();
        let act = SigAction::from_raw(0x40_1000, flags, 0, 0).unwrap();
        t.tasks
            .get_mut(&11)
            .unwrap()
            .signals
            .sigaction(Signal::SIGUSR1, Some(act))
            .unwrap();
        t
    }

    fn outcome(i: Interruption) -> Option<CallOutcome> {
        match i {
            Interruption::Handler { call, .. } => Some(call),
            _ => None,
        }
    }

    #[test]
    fn eintr_or_restart_by_call_and_flag() {
        let usr1 = Signal::SIGUSR1.number() as u32;
        let cases = [
            (0, BlockedCall::Restartable, CallOutcome::Eintr),
            (SA_RESTART, BlockedCall::Restartable, CallOutcome::Restart),
            (0, BlockedCall::NotAfterHandler, CallOutcome::Eintr),
            (SA_RESTART, BlockedCall::NotAfterHandler, CallOutcome::Eintr),
        ];
        for (flags, call, expected) in cases {
            let mut t = with_handler(flags);
            t.kill(10, 11, usr1).unwrap();
            assert_eq!(
                t.interrupt(11, call).map(outcome),
                Ok(Some(expected)),
                "{flags:#x} {call:?}"
            );
        }
    }

    #[test]
    fn blocked_ignored_stopped_and_fatal_signals() {
        let mut t = with_handler(0);
        t.tasks
            .get_mut(&11)
            .unwrap()
            .signals
            .sigprocmask(0, Some(SigSet::of(Signal::SIGUSR1)))
            .unwrap();
        t.kill(10, 11, Signal::SIGUSR1.number() as u32).unwrap();
        assert_eq!(
            t.interrupt(11, BlockedCall::Restartable),
            Ok(Interruption::KeepWaiting)
        );
        t.kill(10, 11, Signal::SIGTSTP.number() as u32).unwrap();
        assert_eq!(
            t.interrupt(11, BlockedCall::Restartable),
            Ok(Interruption::Stopped)
        );
        t.kill(10, 11, Signal::SIGTERM.number() as u32).unwrap();
        t.kill(10, 11, Signal::SIGCONT.number() as u32).unwrap();
        assert_eq!(
            t.interrupt(11, BlockedCall::Restartable),
            Ok(Interruption::Died)
        );
        assert_eq!(t.interrupt(11, BlockedCall::Restartable), Err(Errno::ESRCH));
    }

    #[test]
    fn sigsuspend_wakes_with_eintr_and_the_saved_mask() {
        let mut t = with_handler(SA_RESTART);
        let usr1 = SigSet::of(Signal::SIGUSR1);
        let signals = &mut t.tasks.get_mut(&11).unwrap().signals;
        signals.sigprocmask(0, Some(usr1)).unwrap();
        t.kill(10, 11, Signal::SIGUSR1.number() as u32).unwrap();
        t.tasks
            .get_mut(&11)
            .unwrap()
            .signals
            .sigsuspend(SigSet::EMPTY);
        let Ok(Interruption::Handler { frame, call }) =
            t.interrupt(11, BlockedCall::NotAfterHandler)
        else {
            panic!("handler expected")
        };
        assert_eq!(call, CallOutcome::Eintr, "sigsuspend always returns EINTR");
        assert_eq!(frame.restore_mask, usr1);
    }
}

#[test]
fn alarms_of_several_processes_keep_their_order() {
    let mut t = system();
    let s = 1_000_000_000;
    for child in [11, 12, 13, 14] {
        t.fork(10, child, 0).unwrap();
    }
    // Armed out of order; two with the same deadline.
    t.alarm(12, 3, 0).unwrap();
    t.alarm(11, 5, 0).unwrap();
    t.alarm(13, 1, 0).unwrap();
    t.alarm(14, 3, 0).unwrap();
    assert_eq!(t.next_alarm(), Some(s), "13's is first");
    // Re-arming moves an alarm: the old deadline is forgotten.
    t.alarm(13, 4, 0).unwrap();
    assert_eq!(t.next_alarm(), Some(3 * s));
    // Both alarms due at 3 s fire, the later ones stay armed.
    t.expire_alarms(3 * s);
    assert!(pending(&t, 12).contains(Signal::SIGALRM));
    assert!(pending(&t, 14).contains(Signal::SIGALRM));
    assert!(!pending(&t, 13).contains(Signal::SIGALRM));
    assert!(!pending(&t, 11).contains(Signal::SIGALRM));
    assert_eq!(t.get(12).unwrap().alarm_ns, None);
    assert_eq!(t.next_alarm(), Some(4 * s));
    // A process that exits is disarmed: its alarm never fires.
    t.exit(13, 0).unwrap();
    assert_eq!(t.get(13).unwrap().alarm_ns, None);
    assert_eq!(t.next_alarm(), Some(5 * s), "13's alarm left with it");
    // Cancelling the last one leaves none.
    assert_eq!(t.alarm(11, 0, 4 * s), Ok(1));
    assert_eq!(t.next_alarm(), None);
    t.expire_alarms(10 * s);
    assert!(!pending(&t, 11).contains(Signal::SIGALRM));
    assert!(!pending(&t, 13).contains(Signal::SIGALRM));
}

#[test]
fn processes_the_server_took_in_take_no_signal_from_others() {
    let mut t = system();
    // A server init started (root, like every server), and root's shell.
    t.adopt(5, 1, crate::cred::Credentials::new(0, 0), b"", 0)
        .unwrap();
    t.fork(1, 30, 0).unwrap();
    t.fork(30, 31, 0).unwrap();
    t.take_events();
    assert!(t.get(5).unwrap().adopted && !t.get(30).unwrap().adopted);
    // Not even root may signal it: nothing could end it.
    assert_eq!(t.kill(30, 5, 15), Err(Errno::EPERM));
    assert_eq!(t.kill(30, 5, 0), Err(Errno::EPERM));
    // It may signal itself, and init may signal it, but no default
    // action applies: it is not taken for dead.
    assert_eq!(t.kill(5, 5, 15), Ok(()));
    assert_eq!(t.kill(1, 5, 9), Ok(()));
    assert!(!t.get(5).unwrap().is_zombie());
    assert!(pending(&t, 5).is_empty());
    // kill(-1) from root passes it by (and init, and the sender).
    t.kill(30, -1, 15).unwrap();
    assert!(pending(&t, 31).contains(Signal::SIGTERM));
    assert!(pending(&t, 10).contains(Signal::SIGTERM));
    assert!(pending(&t, 5).is_empty() && pending(&t, 30).is_empty());
    assert!(t
        .take_events()
        .iter()
        .all(|e| !matches!(e, Event::Exited(5) | Event::SignalPending(5))));
    // With only taken-in processes beside it, there is no one: ESRCH.
    let mut alone = ProcessTable::new(8);
    alone
        .adopt(1, 0, crate::cred::Credentials::new(0, 0), b"init", 0)
        .unwrap();
    alone
        .adopt(5, 1, crate::cred::Credentials::new(0, 0), b"", 0)
        .unwrap();
    alone.fork(1, 30, 0).unwrap();
    assert_eq!(alone.kill(30, -1, 15), Err(Errno::ESRCH));
}

#[test]
fn tty_facts_for_job_control() {
    // Shell 10 (session and group 10, the terminal's foreground) and its
    // background job 11 in group 11.
    let mut t = system();
    t.fork(10, 11, 0).unwrap();
    t.setpgid(10, 11, 0).unwrap();
    let ttou = Signal::SIGTTOU.number() as u32;
    let facts = t.tty_facts(11, ttou, 10).unwrap();
    assert_eq!(
        facts,
        TtyFacts {
            pgid: 11,
            same_session: true,
            ignored: false,
            orphaned: false
        }
    );
    assert_eq!(t.tty_facts(10, ttou, 10).unwrap().pgid, 10);
    // Blocked, then ignored.
    let mask = SigSet::of(Signal::SIGTTOU);
    t.tasks
        .get_mut(&11)
        .unwrap()
        .signals
        .sigprocmask(0, Some(mask))
        .unwrap();
    assert!(t.tty_facts(11, ttou, 10).unwrap().ignored, "blocked");
    let ttin = Signal::SIGTTIN.number() as u32;
    assert!(!t.tty_facts(11, ttin, 10).unwrap().ignored);
    t.tasks
        .get_mut(&11)
        .unwrap()
        .signals
        .sigaction(
            Signal::SIGTTIN,
            Some(SigAction::from_raw(SIG_IGN, 0, 0, 0).unwrap()),
        )
        .unwrap();
    assert!(t.tty_facts(11, ttin, 10).unwrap().ignored, "ignored");
    // A foreground group with no live member is no session's.
    assert!(!t.tty_facts(11, ttou, 77).unwrap().same_session);
    // Another session's process is not the terminal's.
    t.fork(1, 20, 0).unwrap();
    t.setsid(20).unwrap();
    assert!(!t.tty_facts(20, ttou, 10).unwrap().same_session);
    // The job's group is orphaned once its link (the shell) is gone.
    t.fork(11, 12, 0).unwrap();
    t.exit(11, 0).unwrap();
    assert!(t.tty_facts(12, ttou, 10).unwrap().orphaned);
    assert_eq!(t.tty_facts(99, ttou, 10), Err(Errno::ESRCH));
    assert_eq!(t.tty_facts(12, 65, 10), Err(Errno::EINVAL));
}
