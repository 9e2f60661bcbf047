//! Which processes `poweroff` and `reboot` stop before they unmount, as
//! sysvinit's `killall5 -15` then `killall5 -9` do at shutdown: from the
//! process list (`ps`'s), every living process but init (pid 1), the tool
//! itself and the processes it runs under (its parent, its parent's
//! parent, …: the shell that waits for it, which `killall5` spares by
//! sparing its own session). The system's servers and the programs init
//! started are not left out here: the process server refuses to signal
//! them (`EPERM`, as no signal could end them), and the tool drops them
//! then, as `killall5` passes kernel threads by.

use alloc::vec::Vec;

/// One process as the sweep sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Proc {
    pub pid: u64,
    pub ppid: u64,
    /// Exited, not yet reaped (`Z`): it holds nothing any more.
    pub zombie: bool,
}

/// Init's pid.
const INIT: u64 = 1;

/// The pids to send `SIGTERM` (then `SIGKILL`) to, in `procs`' order:
/// living processes but init, `me` and `me`'s ancestors.
pub fn targets(procs: &[Proc], me: u64) -> Vec<u64> {
    let mut spared = Vec::from([INIT, me]);
    let mut at = me;
    // At most one step per process: a loop in the list cannot hang it.
    for _ in 0..procs.len() {
        let Some(parent) = procs.iter().find(|p| p.pid == at).map(|p| p.ppid) else {
            break;
        };
        if parent == 0 || spared.contains(&parent) {
            break;
        }
        spared.push(parent);
        at = parent;
    }
    procs
        .iter()
        .filter(|p| !p.zombie && !spared.contains(&p.pid))
        .map(|p| p.pid)
        .collect()
}

/// Those of `signalled` still alive in `procs` (listed and not zombies).
pub fn remaining(procs: &[Proc], signalled: &[u64]) -> Vec<u64> {
    signalled
        .iter()
        .copied()
        .filter(|&pid| procs.iter().any(|p| p.pid == pid && !p.zombie))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(pid: u64, ppid: u64) -> Proc {
        Proc {
            pid,
            ppid,
            zombie: false,
        }
    }

    #[test]
    fn spares_init_itself_and_the_shells_it_runs_under() {
        // init 1; servers 2..4 and getty 5 under it; the shell 6 under
        // getty, a script's shell 7 under it, poweroff 8 under that; a
        // background job 9 of the shell, its child 10, an orphan 11.
        let procs = [
            p(1, 0),
            p(2, 1),
            p(3, 1),
            p(4, 1),
            p(5, 1),
            p(6, 5),
            p(7, 6),
            p(8, 7),
            p(9, 6),
            p(10, 9),
            p(11, 1),
        ];
        assert_eq!(targets(&procs, 8), [2, 3, 4, 9, 10, 11]);
        // Run straight from init's program list: only itself and init.
        assert_eq!(targets(&procs, 11), [2, 3, 4, 5, 6, 7, 8, 9, 10]);
    }

    #[test]
    fn zombies_and_loops() {
        let mut procs = [p(1, 0), p(5, 1), p(6, 5), p(9, 6)];
        procs[3].zombie = true;
        assert_eq!(
            targets(&procs, 6),
            Vec::<u64>::new(),
            "a zombie holds nothing"
        );
        // A list that is not a tree (taken while it changed) still ends.
        let odd = [p(1, 0), p(20, 21), p(21, 20), p(22, 1)];
        assert_eq!(targets(&odd, 20), [22]);
        // Not in the list at all: all but init and itself.
        assert_eq!(targets(&odd, 99), [20, 21, 22]);
    }

    #[test]
    fn what_remains() {
        let mut procs = [p(1, 0), p(9, 6), p(10, 9), p(12, 1)];
        procs[2].zombie = true;
        assert_eq!(remaining(&procs, &[9, 10, 11]), [9]);
        assert_eq!(remaining(&procs, &[]), Vec::<u64>::new());
    }
}
