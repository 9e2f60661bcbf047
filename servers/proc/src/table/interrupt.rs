//! What a signal does to a process blocked in a call (LKD ch. 3 with the
//! signal half of the system-call surface): the server holds the call's
//! answer ("reply later"); when `Event::SignalPending` names the
//! process, [`ProcessTable::interrupt`] delivers and says what becomes of
//! the call — Linux's `-ERESTARTSYS`/`-ERESTARTNOHAND` handling:
//!
//! | what delivery did | `read`, `wait4` (`Restartable`) | `pause`, `sigsuspend` (`NotAfterHandler`) |
//! | --- | --- | --- |
//! | nothing (ignored) | keeps waiting | keeps waiting |
//! | stopped the process | keeps waiting, resumes on `SIGCONT` | keeps waiting |
//! | ran a handler with `SA_RESTART` | restarted after the handler | `EINTR` |
//! | ran a handler without it | `EINTR` | `EINTR` |
//! | killed the process | dropped | dropped |

use super::ProcessTable;
use crate::errno::Errno;
use crate::signal::{after_signal, BlockedCall, CallOutcome, HandlerFrame};
use crate::task::{Pid, TaskState};

/// What happened to a blocked call when its process got a signal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Interruption {
    /// Nothing was delivered (ignored, or still blocked): keep waiting.
    KeepWaiting,
    /// The process stopped; the call waits on and carries on when the
    /// process is continued.
    Stopped,
    /// The process died of the signal: drop the call, answer nobody.
    Died,
    /// A handler runs: answer the call `EINTR` (or its partial count) or
    /// restart it once the handler returns, then build the frame.
    Handler {
        frame: HandlerFrame,
        call: CallOutcome,
    },
}

impl ProcessTable {
    /// Delivers `pid`'s pending signals while it is blocked in a call of
    /// kind `call`, and says what becomes of the call (table above).
    /// `ESRCH` if `pid` is not a living process.
    pub fn interrupt(&mut self, pid: Pid, call: BlockedCall) -> Result<Interruption, Errno> {
        let frame = self.deliver(pid)?;
        let Some(task) = self.tasks.get(&pid).filter(|t| !t.is_zombie()) else {
            return Ok(Interruption::Died);
        };
        Ok(match frame {
            Some(frame) => Interruption::Handler {
                frame,
                call: after_signal(call, Some(&frame.action)),
            },
            None if task.state == TaskState::Stopped => Interruption::Stopped,
            None => Interruption::KeepWaiting,
        })
    }
}
