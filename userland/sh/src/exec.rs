//! The executor's walk over the tree: lists, `&&`/`||`, `!`, `if`,
//! `for`, `while`/`until`, `{ }`, and commands that run inside the shell
//! (builtins, assignments, compound commands) with their redirections
//! applied to the shell's own descriptors and undone afterwards.
//!
//! Loops check for an interrupt at each turn (Ctrl-C, or a foreground job
//! killed by SIGINT) so that `while true; do :; done` can be stopped; after
//! one, nothing more of the command line runs (as in bash).

use alloc::string::String;
use alloc::vec::Vec;

use crate::ast::{AndOr, Command, Compound, Connector, List, Redirect, SimpleCommand};
use crate::expand::{expand_single, expand_words};
use crate::pipeline::resolve_redirect;
use crate::shell::{ExecError, Run, Shell};
use crate::system::{Fd, FdAction, System, SIGINT};

/// A descriptor saved before a redirection: its copy, or `None` if it was
/// closed (then restoring closes it again).
pub(crate) struct Saved {
    fd: Fd,
    copy: Option<Fd>,
}

impl<S: System> Shell<S> {
    pub(crate) fn run_list(&mut self, list: &List) -> Run {
        let mut status = self.last_status;
        for item in &list.items {
            status = if item.background {
                self.run_background(&item.and_or)?
            } else {
                self.run_and_or(&item.and_or)?
            };
            self.last_status = status;
            // After Ctrl-C the rest of the command line does not run.
            if self.interrupted {
                break;
            }
        }
        Ok(status)
    }

    fn run_background(&mut self, ao: &AndOr) -> Run {
        if !ao.rest.is_empty() {
            let status = self.report(ExecError::NotInBackground);
            return Ok(status);
        }
        self.run_pipeline(&ao.first, true)
    }

    fn run_and_or(&mut self, ao: &AndOr) -> Run {
        let mut status = self.run_pipeline(&ao.first, false)?;
        for (connector, p) in &ao.rest {
            self.last_status = status;
            let run = match connector {
                Connector::And => status == 0,
                Connector::Or => status != 0,
            };
            if run {
                status = self.run_pipeline(p, false)?;
            }
        }
        Ok(status)
    }

    /// True if the user interrupted (Ctrl-C reached the shell, or killed
    /// a foreground job): loops and lists stop until the command line ends.
    fn interrupted(&mut self) -> bool {
        if self.sys.take_interrupt() {
            self.interrupted = true;
        }
        self.interrupted
    }

    /// Runs a command inside the shell: a compound command, a builtin
    /// (with its expanded `argv`) or a bare assignment.
    pub(crate) fn run_in_process(&mut self, cmd: &Command, argv: Option<&[String]>) -> Run {
        match cmd {
            Command::Compound(c, redirects) => {
                self.with_redirects(redirects, |sh| sh.run_compound(c))
            }
            Command::Simple(sc) => {
                if let Err(e) = self.assign(sc) {
                    return Ok(self.report(e));
                }
                match argv {
                    Some(argv) if !argv.is_empty() => {
                        self.with_redirects(&sc.redirects, |sh| sh.run_builtin(argv))
                    }
                    _ => self.with_redirects(&sc.redirects, |_| Ok(0)),
                }
            }
        }
    }

    /// Sets the variables of a command's `NAME=value` prefix.
    fn assign(&mut self, sc: &SimpleCommand) -> Result<(), ExecError> {
        for a in &sc.assigns {
            let value = expand_single(&a.value, &self.env()).map_err(ExecError::Expand)?;
            self.set_var(&a.name, &value);
        }
        Ok(())
    }

    fn run_compound(&mut self, c: &Compound) -> Run {
        match c {
            Compound::If { arms, otherwise } => {
                for (cond, body) in arms {
                    if self.run_list(cond)? == 0 {
                        return self.run_list(body);
                    }
                }
                match otherwise {
                    Some(body) => self.run_list(body),
                    None => Ok(0),
                }
            }
            Compound::For { var, words, body } => {
                let items = match words {
                    None => self.positional.clone(),
                    Some(ws) => match expand_words(ws, &self.env(), &self.sys) {
                        Ok(items) => items,
                        Err(e) => return Ok(self.report(ExecError::Expand(e))),
                    },
                };
                let mut status = 0;
                for item in items {
                    if self.interrupted() {
                        return Ok(128 + SIGINT as i32);
                    }
                    self.set_var(var, &item);
                    status = self.run_list(body)?;
                }
                Ok(status)
            }
            Compound::While { cond, body, until } => {
                let mut status = 0;
                loop {
                    if self.interrupted() {
                        return Ok(128 + SIGINT as i32);
                    }
                    if (self.run_list(cond)? == 0) == *until {
                        return Ok(status);
                    }
                    status = self.run_list(body)?;
                }
            }
            Compound::Group(list) => self.run_list(list),
        }
    }

    /// Applies redirections to the shell's descriptors, runs `f`, and
    /// restores the descriptors whatever `f` did (even `exit`).
    pub(crate) fn with_redirects(
        &mut self,
        redirects: &[Redirect],
        f: impl FnOnce(&mut Self) -> Run,
    ) -> Run {
        let mut saved = Vec::new();
        if let Err(e) = self.apply_redirects(redirects, &mut saved) {
            self.restore(saved);
            return Ok(self.report(e));
        }
        let result = f(self);
        self.restore(saved);
        result
    }

    fn apply_redirects(
        &mut self,
        redirects: &[Redirect],
        saved: &mut Vec<Saved>,
    ) -> Result<(), ExecError> {
        for r in redirects {
            let action = resolve_redirect(r, &self.env())?;
            self.apply_action(&action, saved)?;
        }
        Ok(())
    }

    /// Performs one descriptor action on the shell itself, saving the
    /// descriptor it changes first.
    pub(crate) fn apply_action(
        &mut self,
        action: &FdAction,
        saved: &mut Vec<Saved>,
    ) -> Result<(), ExecError> {
        let fd = match action {
            FdAction::Dup2 { to, .. } => *to,
            FdAction::Close(fd) | FdAction::Open { fd, .. } => *fd,
        };
        if !saved.iter().any(|s| s.fd == fd) {
            let copy = self.sys.dup_high(fd).ok();
            saved.push(Saved { fd, copy });
        }
        let fail = |e| ExecError::Redirect(fd_name(action), e);
        match action {
            FdAction::Dup2 { from, to } => self.sys.dup2(*from, *to).map_err(fail),
            FdAction::Close(fd) => {
                // Closing a closed descriptor is not an error (`2>&-` twice).
                let _ = self.sys.close(*fd);
                Ok(())
            }
            FdAction::Open { fd, path, mode } => {
                let new = self.sys.open(path, *mode).map_err(fail)?;
                if new != *fd {
                    let r = self.sys.dup2(new, *fd).map_err(fail);
                    let _ = self.sys.close(new);
                    r?;
                }
                Ok(())
            }
        }
    }

    /// Puts saved descriptors back, newest first.
    pub(crate) fn restore(&mut self, saved: Vec<Saved>) {
        for s in saved.into_iter().rev() {
            match s.copy {
                Some(copy) => {
                    let _ = self.sys.dup2(copy, s.fd);
                    let _ = self.sys.close(copy);
                }
                None => {
                    let _ = self.sys.close(s.fd);
                }
            }
        }
    }
}

/// What an error message names for a failed descriptor action.
fn fd_name(action: &FdAction) -> String {
    match action {
        FdAction::Open { path, .. } => path.clone(),
        FdAction::Dup2 { from, .. } => alloc::format!("{from}"),
        FdAction::Close(fd) => alloc::format!("{fd}"),
    }
}
