//! Signals (LKD ch. 3 and the signal half of the system-call surface):
//! numbers and default actions ([`number`]), `sigset_t` ([`set`]),
//! `struct sigaction` and `siginfo_t` ([`action`]), and a process's
//! pending/blocked state with generation and delivery ([`state`]).
//!
//! What needs more than one process — `kill` to a group or to everyone,
//! the permission check, stopping and continuing, `SIGCHLD` to the
//! parent — is the process table's (`crate::table`).

pub mod action;
pub mod number;
pub mod set;
pub mod state;
#[cfg(test)]
mod tests;

pub use action::{SigAction, SigHandler, SigInfo};
pub use number::{DefaultAction, Signal};
pub use set::SigSet;
pub use state::{
    after_signal, BlockedCall, CallOutcome, Delivery, Generated, HandlerFrame, SignalState,
};
