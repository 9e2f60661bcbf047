//! `sh`: the shell on the console. `sh -c 'command' [name [arg…]]` runs
//! one command line; `sh script [arg…]` runs a file; `sh` alone reads
//! standard input — a terminal through the line editor (raw mode, with
//! history), prompt `# ` for root and `$ ` otherwise (or `$PS1`), with
//! job control; anything else read to its end and run as a script.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

extern crate alloc;

mod forkexec;
mod system;

use alloc::string::String;
use alloc::vec::Vec;
use libsys::posix;
use shell::editor::{LineEditor, Outcome};
use shell::Shell;
use system::Posix;

libsys::entry!(main);

/// The most standard input a non-interactive shell reads as its script.
const STDIN_MAX: usize = 1024 * 1024;

/// The shell over the real system; `interactive` turns on job control
/// (its own process group, in the terminal's foreground).
fn new_shell(interactive: bool) -> Shell<Posix> {
    let ids = posix::getpid().unwrap_or(0);
    if interactive {
        system::catch_signals();
        let _ = posix::setpgid(0, 0);
    }
    let pgrp = posix::getpgrp().unwrap_or(ids);
    if interactive {
        let _ = posix::tcsetpgrp(0, pgrp);
    }
    let env = libsys::env::environ();
    let sys = Posix {
        pid: ids as u32,
        pgrp: pgrp as u32,
    };
    let mut sh = Shell::new(sys, &env, interactive);
    if sh.var("PATH").is_none() {
        sh.set_var("PATH", "/bin");
    }
    if interactive && sh.var("PS1").is_none() {
        let root = posix::getuid().map_or(true, |uid| uid == 0);
        sh.set_var("PS1", if root { "# " } else { "$ " });
    }
    sh
}

/// The end status: what `exit` asked for, or the last command's.
fn finish(sh: &Shell<Posix>) -> ! {
    posix::exit(sh.exit_requested().unwrap_or(sh.status()))
}

/// Reads one line through the editor (the terminal in raw mode while it
/// does); `None` at the end of input. `first`: this is the shell's first
/// prompt, which [`note_first_prompt`] logs once written.
fn read_line(editor: &mut LineEditor, prompt: &str, first: bool) -> Option<String> {
    let _ = posix::write(1, &editor.start(prompt));
    if first {
        note_first_prompt();
    }
    let mut buf = [0u8; 64];
    loop {
        let n = match posix::read(0, &mut buf) {
            Ok(0) => return None,
            Ok(n) => n,
            Err(libsys::errno::Errno::EINTR) => continue,
            Err(_) => return None,
        };
        for &byte in &buf[..n] {
            let step = editor.feed(byte);
            if !step.echo.is_empty() {
                let _ = posix::write(1, &step.echo);
            }
            match step.outcome {
                Outcome::Pending => {}
                Outcome::Line(line) => return Some(line),
                Outcome::Cancel => return Some(String::new()),
                Outcome::Eof => return None,
            }
        }
    }
}

/// Logs how long after kernel entry this shell printed its first prompt
/// (the clock's `since_entry_ns`: from `kmain`'s first instruction; the
/// firmware and the loader are not counted), as systemd's "Startup
/// finished in …": `make bench` reads it (`boot_to_prompt_ms`) with
/// `dmesg`. At `debug`, so that it is in the log but not drawn over the
/// prompt on the console. Every interactive shell logs its own.
fn note_first_prompt() {
    let ns = libsys::time::since_kernel_entry_ns();
    libsys::rt::_print(
        libsys::abi::LogLevel::Debug,
        format_args!(
            "sh: first prompt after {} ms ({} us since kernel entry)",
            ns / 1_000_000,
            ns / 1_000
        ),
    );
}

/// The interactive loop: prompt, edit, run, until `exit` or end of input.
fn interactive() -> ! {
    let mut sh = new_shell(true);
    let mut editor = LineEditor::new();
    let mut first = true;
    loop {
        sh.notify_jobs();
        let prompt = sh.prompt();
        // The settings as the last command left them (`stty tostop`
        // stays), raw only while the line is edited, as readline does.
        let saved = posix::tcgetattr(0).ok();
        if let Some(t) = &saved {
            let _ = posix::tcsetattr(0, posix::TCSANOW, &posix::make_raw(t));
        }
        let line = read_line(&mut editor, &prompt, first);
        first = false;
        if let Some(t) = &saved {
            let _ = posix::tcsetattr(0, posix::TCSANOW, t);
        }
        let Some(line) = line else {
            let _ = posix::write(1, b"exit\n");
            finish(&sh);
        };
        if !line.trim().is_empty() {
            sh.run_script(&line);
        }
        if sh.exit_requested().is_some() {
            finish(&sh);
        }
    }
}

fn main(_: &str) -> u64 {
    let args: Vec<String> = libsys::env::argv()
        .into_iter()
        .skip(1)
        .map(String::from)
        .collect();
    match args.first().map(String::as_str) {
        Some("-c") => {
            let Some(command) = args.get(1) else {
                libsys::errln!("sh: -c: option requires an argument");
                posix::exit(2);
            };
            let mut sh = new_shell(false);
            let name = args.get(2).map_or("sh", String::as_str);
            sh.set_args(name, args.get(3..).unwrap_or(&[]));
            sh.run_script(command);
            finish(&sh)
        }
        Some(script) => {
            let mut sh = new_shell(false);
            let text =
                match posix::open(script, posix::O_RDONLY | posix::O_CLOEXEC, 0).and_then(|fd| {
                    let data = posix::read_to_end(fd, STDIN_MAX);
                    let _ = posix::close(fd);
                    data
                }) {
                    Ok(t) => t,
                    Err(e) => {
                        libsys::errln!("sh: {script}: {e}");
                        posix::exit(127);
                    }
                };
            sh.set_args(script, &args[1..]);
            sh.run_script(&String::from_utf8_lossy(&text));
            finish(&sh)
        }
        None if posix::isatty(0) => interactive(),
        None => {
            let mut sh = new_shell(false);
            match posix::read_to_end(0, STDIN_MAX) {
                Ok(text) => {
                    sh.run_script(&String::from_utf8_lossy(&text));
                }
                Err(e) => {
                    libsys::errln!("sh: standard input: {e}");
                    posix::exit(2);
                }
            }
            finish(&sh)
        }
    }
}
