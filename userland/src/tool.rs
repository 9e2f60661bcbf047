//! What the everyday tools (`ls`, `cat`, …) share: their arguments, the
//! error line (`ls: /x: No such file or directory`) and the exit through
//! the process server.

use alloc::string::String;
use alloc::vec::Vec;
use libsys::errno::Errno;

/// The arguments after the program's name (`argv[1..]`), owned.
pub fn args() -> Vec<String> {
    libsys::env::argv()
        .into_iter()
        .skip(1)
        .map(String::from)
        .collect()
}

/// Prints `tool: what: error` on stderr; status 1 for the caller.
pub fn fail(tool: &str, what: &str, e: Errno) -> i32 {
    libsys::errln!("{tool}: {what}: {e}");
    1
}

/// Prints `tool: message` on stderr; status 1 (a usage error is 2 by
/// the caller's choice).
pub fn complain(tool: &str, message: &str) -> i32 {
    libsys::errln!("{tool}: {message}");
    1
}

pub use libsys::posix::options;

/// Ends the program with `status` (through `libsys::posix::exit`).
pub fn exit(status: i32) -> ! {
    libsys::posix::exit(status)
}

/// The most a tool reads of one input into memory (`sort`, `diff`, …).
pub const INPUT_MAX: usize = 16 << 20;

/// Opens `name` for reading (`-` is standard input, left open).
pub fn open_input(name: &str) -> Result<i32, Errno> {
    if name == "-" {
        Ok(0)
    } else {
        libsys::posix::open(name, libsys::posix::O_RDONLY | libsys::posix::O_CLOEXEC, 0)
    }
}

/// Closes what [`open_input`] opened.
pub fn close_input(fd: i32) {
    if fd != 0 {
        let _ = libsys::posix::close(fd);
    }
}

/// All of `name` (or standard input for `-`), up to [`INPUT_MAX`].
pub fn slurp(name: &str) -> Result<Vec<u8>, Errno> {
    let fd = open_input(name)?;
    let data = libsys::posix::read_to_end(fd, INPUT_MAX);
    close_input(fd);
    data
}

/// `name`'s lines, without their newlines (invalid UTF-8 replaced).
pub fn lines(name: &str) -> Result<Vec<String>, Errno> {
    let data = slurp(name)?;
    Ok(split_lines(&data))
}

/// `data`'s lines without their newlines; a last line without one counts.
pub fn split_lines(data: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(data);
    let body = text.strip_suffix('\n').unwrap_or(&text);
    if data.is_empty() {
        return Vec::new();
    }
    body.split('\n').map(String::from).collect()
}

/// Writes all of `data` to descriptor `fd`.
pub fn write_all(fd: i32, mut data: &[u8]) -> Result<(), Errno> {
    while !data.is_empty() {
        let n = libsys::posix::write(fd, data)?;
        if n == 0 {
            return Err(Errno::EIO);
        }
        data = &data[n..];
    }
    Ok(())
}

/// Writes `lines`, each with its newline, to standard output in one go.
pub fn print_lines<S: AsRef<str>>(lines: &[S]) -> Result<(), Errno> {
    let mut out = String::new();
    for l in lines {
        out.push_str(l.as_ref());
        out.push('\n');
    }
    write_all(1, out.as_bytes())
}

/// Parses the arguments with `textutil::getopt` against `spec`; a bad
/// option is a usage error (status 2) with `usage` on stderr.
pub fn getopt(tool: &str, spec: &str, usage: &str) -> textutil::getopt::Parsed {
    help(usage);
    match textutil::getopt::parse(&args(), spec) {
        Ok(p) => p,
        Err(e) => {
            libsys::errln!("{tool}: {e}");
            libsys::errln!("usage: {usage}");
            exit(2)
        }
    }
}

/// Runs `argv` (found on `PATH`) as a child and waits for it: its exit
/// status (128 + the signal if a signal ended it, as the shell says),
/// 127 if it could not be run.
pub fn run(argv: &[&str]) -> Result<i32, Errno> {
    use libsys::posix::WaitStatus;
    let Some(&file) = argv.first() else {
        return Err(Errno::EINVAL);
    };
    let pid = libsys::posix::fork()?;
    if pid == 0 {
        let e = libsys::posix::execvp(file, argv);
        libsys::errln!("{file}: {e}");
        exit(if e == Errno::ENOENT { 127 } else { 126 });
    }
    loop {
        match libsys::posix::waitpid(pid as i64, 0)? {
            Some((_, status)) => {
                return Ok(match WaitStatus::decode(status) {
                    WaitStatus::Exited(code) => code,
                    WaitStatus::Signaled(sig) => 128 + sig as i32,
                    WaitStatus::Stopped(_) | WaitStatus::Continued => continue,
                })
            }
            None => continue,
        }
    }
}

/// `tool --help`: prints `usage: …` and exits 0; otherwise returns.
pub fn help(usage: &str) {
    if args().iter().any(|a| a == "--help") {
        libsys::outln!("usage: {usage}");
        exit(0);
    }
}

/// The operands, or `-` (standard input) if there are none.
pub fn inputs(parsed: &textutil::getopt::Parsed) -> Vec<String> {
    if parsed.operands.is_empty() {
        alloc::vec![String::from("-")]
    } else {
        parsed.operands.clone()
    }
}

/// `head`'s and `tail`'s `==> name <==` line before each of several
/// files (not with `-q`).
pub fn file_banner(parsed: &textutil::getopt::Parsed, files: &[String], i: usize) {
    if files.len() > 1 && !parsed.has('q') {
        let sep = if i > 0 { "\n" } else { "" };
        libsys::out!("{sep}==> {} <==\n", files[i]);
    }
}

/// `text` to standard output, or to the file `path` (created or
/// truncated): `sort -o`'s and `uniq`'s second operand.
pub fn write_output(path: Option<&str>, text: &[u8]) -> Result<(), Errno> {
    use libsys::posix::{close, open, O_CLOEXEC, O_CREAT, O_TRUNC, O_WRONLY};
    let Some(path) = path else {
        return write_all(1, text);
    };
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)?;
    let written = write_all(fd, text);
    let closed = close(fd);
    written.and(closed)
}

/// The two operands of `cmp` and `diff`, or exit 2 with `usage`.
pub fn two_operands<'a>(parsed: &'a textutil::getopt::Parsed, usage: &str) -> (&'a str, &'a str) {
    match parsed.operands.as_slice() {
        [a, b] => (a, b),
        _ => {
            libsys::errln!("usage: {usage}");
            exit(2)
        }
    }
}

/// All of `name`, or exit 2 with `tool: name: reason` (`cmp`'s and
/// `diff`'s trouble status).
pub fn slurp_or_exit2(tool: &str, name: &str) -> Vec<u8> {
    slurp(name).unwrap_or_else(|e| {
        fail(tool, name, e);
        exit(2)
    })
}

pub use textutil::tail::Count;

/// Parses `head`'s or `tail`'s arguments against `spec` (which has
/// `n:c:`): the options and the count (`-n N` lines, 10 by default; `-c N`
/// bytes; the old `-N`; `+N` from the N-th on), or exit 1 with the reason.
pub fn count_options(tool: &str, spec: &str, usage: &str) -> (textutil::getopt::Parsed, Count) {
    help(usage);
    let mut args = args();
    if let Some(n) = args.first().and_then(|a| textutil::getopt::old_count(a)) {
        args[0] = alloc::format!("-n{n}");
    }
    let p = match textutil::getopt::parse(&args, spec) {
        Ok(p) => p,
        Err(e) => exit(complain(tool, &alloc::format!("{e}"))),
    };
    let (text, bytes) = match (p.value('n'), p.value('c')) {
        (_, Some(c)) => (c, true),
        (Some(n), None) => (n, false),
        (None, None) => ("10", false),
    };
    let digits = text.strip_prefix('+');
    match digits.unwrap_or(text).parse::<usize>() {
        Ok(n) if !digits.is_some_and(|d| d.starts_with(['+', '-'])) => {
            let count = Count {
                n,
                bytes,
                from_start: digits.is_some(),
            };
            (p, count)
        }
        _ => exit(complain(tool, &alloc::format!("invalid number: '{text}'"))),
    }
}
