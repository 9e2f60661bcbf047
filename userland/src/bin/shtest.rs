//! The shell's in-guest test (posix entry, once vfs and proc serve):
//! runs `/bin/sh -c '…'` through `libsys::posix::spawn` with its output
//! on a pipe, and checks what comes back and the exit status — files in
//! /tmp, pipelines, `&&`, `cd`, the tools' error lines, the `exec`
//! builtin and a `#!/bin/sh` script run as a command. Exits with
//! `passed << 16 | failed`.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

extern crate alloc;

use alloc::string::String;
use libsys::errno::Errno;
use libsys::posix::{self, FileAction, Pgroup, WaitStatus};
use userland::Tally;

libsys::entry!(main);

/// The most output one command may give back.
const OUTPUT_MAX: usize = 64 * 1024;

/// Runs `sh -c command` with standard output and error on one pipe;
/// (what it printed, how it ended).
fn run(command: &str) -> Result<(String, WaitStatus), Errno> {
    let (r, w) = posix::pipe2(posix::O_CLOEXEC)?;
    let actions = [
        FileAction::Dup2 { from: w, to: 1 },
        FileAction::Dup2 { from: w, to: 2 },
        FileAction::Close { fd: w },
        FileAction::Close { fd: r },
    ];
    let argv = ["sh", "-c", command];
    let env = ["PATH=/bin", "HOME=/"];
    let spawned = posix::spawn("/bin/sh", &argv, &env, &actions, Pgroup::Inherit);
    let _ = posix::close(w);
    let pid = match spawned {
        Ok(pid) => pid,
        Err(e) => {
            let _ = posix::close(r);
            return Err(e);
        }
    };
    let output = posix::read_to_end(r, OUTPUT_MAX);
    let _ = posix::close(r);
    let (_, status) = posix::waitpid(pid as i64, 0)?.ok_or(Errno::ECHILD)?;
    Ok((
        String::from_utf8_lossy(&output?).into_owned(),
        WaitStatus::decode(status),
    ))
}

/// One check: `command` prints `want` and exits with `code`.
fn expect(t: &mut Tally, command: &str, want: &str, code: i32) {
    let name = alloc::format!("sh -c {command:?}");
    match run(command) {
        Ok((out, status)) => t.expect_eq(
            &name,
            (out.as_str(), status),
            (want, WaitStatus::Exited(code)),
        ),
        Err(e) => t.record(&name, Err(e)),
    }
}

fn main(_: &str) -> u64 {
    let mut t = Tally::new();
    // A process init starts has no descriptors: 0, 1 and 2 are taken on
    // /dev/null first, as a shell's are, so the pipe below is not 0 and 1
    // (closing its write end after dup2 would close standard output).
    for want in 0..3 {
        let got = posix::open("/dev/null", posix::O_RDWR, 0);
        t.expect_eq(&alloc::format!("fd {want} on /dev/null"), got, Ok(want));
    }
    expect(&mut t, "echo hi", "hi\n", 0);
    expect(&mut t, "echo hi > /tmp/x; cat /tmp/x | wc -c", "3\n", 0);
    expect(&mut t, "echo one two three | wc -w", "3\n", 0);
    expect(&mut t, "echo a >> /tmp/x; wc -l < /tmp/x", "2\n", 0);
    expect(&mut t, "false", "", 1);
    expect(&mut t, "false || echo rescued", "rescued\n", 0);
    expect(&mut t, "true && echo and", "and\n", 0);
    expect(&mut t, "x=5; echo $x $?", "5 0\n", 0);
    expect(
        &mut t,
        "cat /nope",
        "cat: /nope: No such file or directory\n",
        1,
    );
    expect(
        &mut t,
        "mkdir -p /tmp/d/e && cd /tmp/d && pwd && ls",
        "/tmp/d\ne\n",
        0,
    );
    expect(
        &mut t,
        "rm -r /tmp/d && ls /tmp/d",
        "ls: /tmp/d: No such file or directory\n",
        1,
    );
    expect(&mut t, "echo abc | cat | cat - | wc -c", "4\n", 0);
    expect(
        &mut t,
        "ls /bin | wc -l > /tmp/n; cat /tmp/n | wc -w",
        "1\n",
        0,
    );
    expect(&mut t, "uname", "Microkernel\n", 0);
    // devfs: a device shows its major, minor where a file shows its size.
    expect(
        &mut t,
        "ls -l /dev | grep null",
        "crw-rw-rw-  1    0    0   1,   3 null\n",
        0,
    );
    expect(
        &mut t,
        "ls -l /dev | grep vda",
        "brw-rw----  1    0    0 254,   0 vda\n",
        0,
    );
    expect(&mut t, "exit 7", "", 7);
    expect(
        &mut t,
        "nosuchcommand",
        "sh: nosuchcommand: command not found\n",
        127,
    );
    // fork and execve (issue 15): `exec` replaces the shell, and a
    // `#!/bin/sh` script runs as a command.
    expect(
        &mut t,
        "exec echo replaced; echo not reached",
        "replaced\n",
        0,
    );
    let script = posix::open(
        "/tmp/hello.sh",
        posix::O_WRONLY | posix::O_CREAT | posix::O_TRUNC,
        0o755,
    )
    .and_then(|fd| {
        let written = posix::write(fd, b"#!/bin/sh\necho from script $1\nexit 3\n");
        let _ = posix::close(fd);
        written
    });
    t.expect_eq("write /tmp/hello.sh (mode 755)", script.map(|_| ()), Ok(()));
    expect(&mut t, "/tmp/hello.sh one", "from script one\n", 3);
    expect(&mut t, "exec /tmp/hello.sh two", "from script two\n", 3);
    let _ = posix::unlink("/tmp/hello.sh");
    libsys::println!("shtest: {} passed, {} failed", t.passed, t.failed);
    t.status()
}
