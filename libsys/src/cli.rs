//! Command-line clients of servers (`kvctl`, `wait1`): a line of commands
//! separated by `;`, each run in order, each failure reported and counted.

use core::fmt;

use crate::eprintln;

/// Why one command failed: it was malformed (the usage line to print), or
/// the server (or the way to it) said no.
pub enum CommandError<E> {
    Usage(&'static str),
    Server(E),
}

impl<E: fmt::Display> fmt::Display for CommandError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CommandError::Usage(usage) => write!(f, "usage: {usage}"),
            CommandError::Server(e) => write!(f, "{e}"),
        }
    }
}

impl<E> From<E> for CommandError<E> {
    fn from(e: E) -> Self {
        CommandError::Server(e)
    }
}

/// Runs every `;`-separated command of `args` through `run`, in order;
/// prints `<program>: <command>: <why>` for each that fails. Returns how
/// many failed (the program's exit status).
pub fn run_commands<E: fmt::Display>(
    program: &str,
    args: &str,
    mut run: impl FnMut(&str) -> Result<(), CommandError<E>>,
) -> u64 {
    let mut failed = 0;
    for command in args.split(';').map(str::trim).filter(|c| !c.is_empty()) {
        if let Err(why) = run(command) {
            eprintln!("{program}: {command}: {why}");
            failed += 1;
        }
    }
    failed
}
