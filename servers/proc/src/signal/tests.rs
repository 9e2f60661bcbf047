//! Host tests of one process's signal state: masks, default actions,
//! delivery order, stop/continue, exec and fork.

use super::action::*;
use super::state::*;
use super::*;
use crate::errno::Errno;

fn handler(address: u64, flags: u64, mask: SigSet) -> SigAction {
    SigAction {
        handler: SigHandler::Handler(address),
        flags,
        mask,
        restorer: 0,
    }
}

fn ignore() -> SigAction {
    SigAction {
        handler: SigHandler::Ignore,
        ..SigAction::default()
    }
}

fn send(state: &mut SignalState, sig: Signal) -> Generated {
    state.generate(SigInfo::user(sig, 7, 1000)).unwrap()
}

#[test]
fn sigprocmask_how_values() {
    let mut s = SignalState::new();
    let int_term = SigSet::of(Signal::SIGINT).union(SigSet::of(Signal::SIGTERM));
    assert_eq!(s.sigprocmask(SIG_BLOCK, Some(int_term)), Ok(SigSet::EMPTY));
    assert_eq!(s.blocked(), int_term);
    assert_eq!(
        s.sigprocmask(SIG_UNBLOCK, Some(SigSet::of(Signal::SIGINT))),
        Ok(int_term)
    );
    assert_eq!(s.blocked(), SigSet::of(Signal::SIGTERM));
    s.sigprocmask(SIG_SETMASK, Some(SigSet::FULL)).unwrap();
    assert_eq!(
        s.blocked(),
        SigSet::FULL.difference(SigSet::UNBLOCKABLE),
        "KILL/STOP never blocked"
    );
    assert_eq!(s.sigprocmask(3, Some(SigSet::EMPTY)), Err(Errno::EINVAL));
    assert_eq!(
        s.sigprocmask(99, None),
        Ok(s.blocked()),
        "how unread without a set"
    );
}

#[test]
fn kill_and_stop_cannot_be_caught() {
    let mut s = SignalState::new();
    for sig in [Signal::SIGKILL, Signal::SIGSTOP] {
        assert_eq!(s.sigaction(sig, Some(ignore())), Err(Errno::EINVAL));
        assert_eq!(
            s.sigaction(sig, Some(handler(0x1000, 0, SigSet::EMPTY))),
            Err(Errno::EINVAL)
        );
        assert_eq!(
            s.sigaction(sig, None),
            Ok(SigAction::default()),
            "reading is fine"
        );
    }
}

#[test]
fn default_actions_on_delivery() {
    let cases = [
        (
            Signal::SIGTERM,
            Some(Delivery::Terminate {
                info: SigInfo::user(Signal::SIGTERM, 7, 1000),
                core_dump: false,
            }),
        ),
        (
            Signal::SIGSEGV,
            Some(Delivery::Terminate {
                info: SigInfo::user(Signal::SIGSEGV, 7, 1000),
                core_dump: true,
            }),
        ),
        (
            Signal::SIGTSTP,
            Some(Delivery::Stop(SigInfo::user(Signal::SIGTSTP, 7, 1000))),
        ),
        (Signal::SIGCHLD, None),
        (Signal::SIGCONT, None),
        (Signal::SIGWINCH, None),
    ];
    for (sig, expected) in cases {
        let mut s = SignalState::new();
        send(&mut s, sig);
        assert_eq!(s.dequeue(), expected, "{}", sig.name());
        assert!(!s.has_deliverable());
    }
}

#[test]
fn ignored_signals_are_discarded_at_generation_unless_blocked() {
    let mut s = SignalState::new();
    s.sigaction(Signal::SIGUSR1, Some(ignore())).unwrap();
    assert_eq!(send(&mut s, Signal::SIGUSR1), Generated::Discarded);
    assert_eq!(
        send(&mut s, Signal::SIGCHLD),
        Generated::Discarded,
        "default-ignore"
    );
    assert!(s.pending().is_empty());
    s.sigprocmask(SIG_BLOCK, Some(SigSet::of(Signal::SIGUSR1)))
        .unwrap();
    assert_eq!(
        send(&mut s, Signal::SIGUSR1),
        Generated::Queued,
        "blocked: kept"
    );
    assert_eq!(s.sigpending(), SigSet::of(Signal::SIGUSR1));
    // Still ignored when unblocked: delivery skips it.
    s.sigprocmask(SIG_SETMASK, Some(SigSet::EMPTY)).unwrap();
    assert_eq!(s.dequeue(), None);
    // Setting SIG_IGN flushes a pending instance even while blocked.
    s.sigaction(Signal::SIGUSR2, Some(handler(0x1000, 0, SigSet::EMPTY)))
        .unwrap();
    s.sigprocmask(SIG_BLOCK, Some(SigSet::of(Signal::SIGUSR2)))
        .unwrap();
    send(&mut s, Signal::SIGUSR2);
    s.sigaction(Signal::SIGUSR2, Some(ignore())).unwrap();
    assert!(s.pending().is_empty());
}

#[test]
fn standard_signals_merge_realtime_ones_queue() {
    let mut s = SignalState::new();
    s.sigprocmask(SIG_BLOCK, Some(SigSet::FULL)).unwrap();
    assert_eq!(send(&mut s, Signal::SIGUSR1), Generated::Queued);
    assert_eq!(send(&mut s, Signal::SIGUSR1), Generated::AlreadyPending);
    let rt = Signal::new(40).unwrap();
    for _ in 0..RT_QUEUE_MAX {
        assert_eq!(send(&mut s, rt), Generated::Queued);
    }
    assert_eq!(s.generate(SigInfo::user(rt, 7, 1000)), Err(Errno::EAGAIN));
    s.sigaction(rt, Some(handler(0x1000, 0, SigSet::EMPTY)))
        .unwrap();
    s.sigaction(Signal::SIGUSR1, Some(handler(0x2000, 0, SigSet::EMPTY)))
        .unwrap();
    s.sigprocmask(SIG_SETMASK, Some(SigSet::EMPTY)).unwrap();
    let mut deliveries = 0;
    while let Some(Delivery::Handler(frame)) = s.dequeue() {
        deliveries += 1;
        s.sigreturn(frame.restore_mask);
    }
    assert_eq!(deliveries, 1 + RT_QUEUE_MAX);
}

#[test]
fn fault_signals_first_then_lowest_number() {
    let mut s = SignalState::new();
    s.sigprocmask(SIG_BLOCK, Some(SigSet::FULL)).unwrap();
    for sig in [
        Signal::SIGTERM,
        Signal::SIGSEGV,
        Signal::SIGHUP,
        Signal::SIGINT,
    ] {
        send(&mut s, sig);
    }
    s.sigprocmask(SIG_SETMASK, Some(SigSet::EMPTY)).unwrap();
    assert_eq!(s.next_signal(), Some(Signal::SIGSEGV));
    s.flush(SigSet::of(Signal::SIGSEGV));
    assert_eq!(s.next_signal(), Some(Signal::SIGHUP));
    s.flush(SigSet::of(Signal::SIGHUP));
    assert_eq!(s.next_signal(), Some(Signal::SIGINT));
}

#[test]
fn handler_masks_nodefer_and_resethand() {
    let mut s = SignalState::new();
    let act = handler(0x40_1000, SA_SIGINFO, SigSet::of(Signal::SIGTERM));
    s.sigaction(Signal::SIGINT, Some(act)).unwrap();
    send(&mut s, Signal::SIGINT);
    let Some(Delivery::Handler(frame)) = s.dequeue() else {
        panic!("handler expected")
    };
    assert_eq!(frame.action, act);
    assert_eq!(frame.restore_mask, SigSet::EMPTY);
    assert_eq!(
        s.blocked(),
        SigSet::of(Signal::SIGINT).union(SigSet::of(Signal::SIGTERM))
    );
    s.sigreturn(frame.restore_mask);
    assert_eq!(s.blocked(), SigSet::EMPTY);

    s.sigaction(
        Signal::SIGUSR1,
        Some(handler(0x40_2000, SA_NODEFER | SA_RESETHAND, SigSet::EMPTY)),
    )
    .unwrap();
    send(&mut s, Signal::SIGUSR1);
    assert!(matches!(s.dequeue(), Some(Delivery::Handler(_))));
    assert_eq!(s.blocked(), SigSet::EMPTY, "SA_NODEFER");
    assert_eq!(
        s.action(Signal::SIGUSR1),
        SigAction::default(),
        "SA_RESETHAND"
    );
}

#[test]
fn stop_and_continue_cancel_each_other() {
    let mut s = SignalState::new();
    s.sigprocmask(SIG_BLOCK, Some(SigSet::FULL)).unwrap();
    send(&mut s, Signal::SIGTSTP);
    send(&mut s, Signal::SIGTTIN);
    send(&mut s, Signal::SIGCONT);
    assert_eq!(
        s.pending(),
        SigSet::of(Signal::SIGCONT),
        "SIGCONT discards stops"
    );
    send(&mut s, Signal::SIGSTOP);
    assert_eq!(
        s.pending(),
        SigSet::of(Signal::SIGSTOP),
        "a stop discards SIGCONT"
    );
    assert_eq!(
        s.next_signal(),
        Some(Signal::SIGSTOP),
        "SIGSTOP cannot be blocked"
    );
}

#[test]
fn sigsuspend_restores_the_old_mask_after_the_handler() {
    let mut s = SignalState::new();
    let usr1 = SigSet::of(Signal::SIGUSR1);
    s.sigaction(Signal::SIGUSR1, Some(handler(0x1000, 0, SigSet::EMPTY)))
        .unwrap();
    s.sigprocmask(SIG_SETMASK, Some(usr1)).unwrap();
    send(&mut s, Signal::SIGUSR1);
    assert!(!s.has_deliverable());
    s.sigsuspend(SigSet::EMPTY);
    assert!(s.has_deliverable(), "the suspend mask lets it through");
    let Some(Delivery::Handler(frame)) = s.dequeue() else {
        panic!("handler expected")
    };
    assert_eq!(
        frame.restore_mask, usr1,
        "sigreturn restores the pre-suspend mask"
    );
    assert_eq!(
        after_signal(BlockedCall::NotAfterHandler, Some(&frame.action)),
        CallOutcome::Eintr
    );
    s.sigreturn(frame.restore_mask);
    assert_eq!(s.blocked(), usr1);
}

#[test]
fn eintr_or_restart() {
    let plain = handler(0x1000, 0, SigSet::EMPTY);
    let restart = handler(0x1000, SA_RESTART, SigSet::EMPTY);
    use BlockedCall::*;
    assert_eq!(after_signal(Restartable, Some(&plain)), CallOutcome::Eintr);
    assert_eq!(
        after_signal(Restartable, Some(&restart)),
        CallOutcome::Restart
    );
    assert_eq!(after_signal(Restartable, None), CallOutcome::Restart);
    assert_eq!(
        after_signal(NotAfterHandler, Some(&restart)),
        CallOutcome::Eintr,
        "pause ignores SA_RESTART"
    );
    assert_eq!(after_signal(NotAfterHandler, None), CallOutcome::Restart);
}

#[test]
fn exec_resets_handlers_keeps_ignores_and_mask() {
    let mut s = SignalState::new();
    s.sigaction(
        Signal::SIGINT,
        Some(handler(0x1000, SA_RESTART, SigSet::of(Signal::SIGTERM))),
    )
    .unwrap();
    s.sigaction(
        Signal::SIGQUIT,
        Some(SigAction {
            flags: SA_RESTART,
            ..ignore()
        }),
    )
    .unwrap();
    s.sigprocmask(SIG_SETMASK, Some(SigSet::of(Signal::SIGUSR1)))
        .unwrap();
    send(&mut s, Signal::SIGUSR1);
    s.exec_reset();
    assert_eq!(s.action(Signal::SIGINT), SigAction::default());
    assert_eq!(
        s.action(Signal::SIGQUIT),
        ignore(),
        "ignored stays ignored, flags cleared"
    );
    assert_eq!(s.blocked(), SigSet::of(Signal::SIGUSR1));
    assert_eq!(
        s.pending(),
        SigSet::of(Signal::SIGUSR1),
        "pending survives exec"
    );
}

#[test]
fn fork_inherits_dispositions_and_mask_not_pending() {
    let mut s = SignalState::new();
    s.sigaction(Signal::SIGINT, Some(ignore())).unwrap();
    s.sigprocmask(SIG_SETMASK, Some(SigSet::of(Signal::SIGUSR1)))
        .unwrap();
    send(&mut s, Signal::SIGUSR1);
    let child = s.fork_copy();
    assert_eq!(child.action(Signal::SIGINT), ignore());
    assert_eq!(child.blocked(), SigSet::of(Signal::SIGUSR1));
    assert!(child.pending().is_empty());
}

#[test]
fn faults_override_block_and_ignore() {
    let mut s = SignalState::new();
    s.sigaction(Signal::SIGSEGV, Some(ignore())).unwrap();
    s.force(SigInfo::fault(
        Signal::SIGSEGV,
        si_code::SEGV_MAPERR,
        0xdead,
    ))
    .unwrap();
    assert!(matches!(
        s.dequeue(),
        Some(Delivery::Terminate {
            core_dump: true,
            ..
        })
    ));
    let mut s = SignalState::new();
    s.sigaction(Signal::SIGFPE, Some(handler(0x1000, 0, SigSet::EMPTY)))
        .unwrap();
    s.force(SigInfo::fault(Signal::SIGFPE, 1, 0x40_0000))
        .unwrap();
    assert!(matches!(s.dequeue(), Some(Delivery::Handler(f)) if f.info.addr == 0x40_0000));
}

#[test]
fn init_ignores_default_dispositions_even_sigkill() {
    let mut s = SignalState::new();
    s.set_unkillable(true);
    assert_eq!(send(&mut s, Signal::SIGKILL), Generated::Discarded);
    assert_eq!(send(&mut s, Signal::SIGTERM), Generated::Discarded);
    s.sigaction(Signal::SIGTERM, Some(handler(0x1000, 0, SigSet::EMPTY)))
        .unwrap();
    assert_eq!(
        send(&mut s, Signal::SIGTERM),
        Generated::Queued,
        "a handler sees it"
    );
    s.force(SigInfo::fault(Signal::SIGSEGV, 1, 0)).unwrap();
    assert!(
        matches!(s.dequeue(), Some(Delivery::Terminate { .. })),
        "a fault kills init too"
    );
}
