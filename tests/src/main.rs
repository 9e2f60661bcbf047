//! The in-QEMU test harness (`make test` runs it after the host tests).
//!
//! Each case builds an ISO from a variant of `limine.cfg` (with
//! `scripts/mkiso.sh`), boots it in QEMU under OVMF with serial on a pipe
//! and the debug console (port 0xe9) in a file, and watches the lines. The
//! serial log of each case is kept in `build/test-logs/<case>.log`, the
//! debug channel's in `build/test-logs/<case>.debug.log`. Verdicts (the
//! tally, the programs that ran, panics) come from the debug channel, which
//! the kernel never hands to a user console driver, so a test that kills
//! that driver cannot hide a result; the loader's menu and errors come from
//! serial. A case fails on a timeout, a panic line, a
//! wrong exit code or a missing line. The run ends with one line,
//! `<N> passed, <M> failed`, counting the guest's own checks and the cases.
//! `HARNESS_CASES=a,b` runs only those cases.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::time::{Duration, Instant};
use std::{env, fs, thread};

use harness::*;

mod partdisk;
mod power;

const BOOT_TIMEOUT: Duration = Duration::from_secs(90);
/// The short fuzz run's (20,000 calls and messages under TCG).
const FUZZ_TIMEOUT: Duration = Duration::from_secs(240);
/// The short chaos run's (20 kills under TCG).
const CHAOS_TIMEOUT: Duration = Duration::from_secs(240);
const OVMF: &str = "/usr/share/ovmf/OVMF.fd";
/// The guest suite's virtio disk (`vda`): made empty before each run,
/// never committed. Not `build/disk.img`, which is `make run`'s ext2 disk.
const DISK: &str = "build/guest-disk.img";
/// Its size: 8 MiB, 16,384 sectors.
const DISK_BYTES: u64 = 8 << 20;
/// What blktest leaves in the disk's sector 0 (userland/src/bin/blktest.rs).
const DISK_SIGNATURE: &[u8] = b"blktest: virtio-blk sector 0 written through the block server";

/// What a case concluded, with the guest's check counts when it ran them.
struct Outcome {
    result: Result<String, String>,
    guest: Option<(u32, u32)>,
}

/// Where a line came from.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Channel {
    /// COM1: the loader, and the kernel until a console driver takes it.
    Serial,
    /// QEMU's debug console: every kernel log line, never handed over.
    Debug,
}

struct Qemu {
    child: Child,
    /// The serial log (the debug channel's is beside it).
    log: std::path::PathBuf,
    lines: Receiver<(Duration, Channel, String)>,
    started: Instant,
    /// The ISO it boots, removed when QEMU is gone.
    iso: Option<std::path::PathBuf>,
    /// QEMU's monitor (a case that types on the PS/2 keyboard asks for
    /// it with `-monitor unix:<path>,server,nowait`; see [`MONITOR`]):
    /// connected on first use.
    monitor: Option<std::os::unix::net::UnixStream>,
}

impl Qemu {
    /// Boots `iso` with `extra` QEMU arguments, logging serial to `log`
    /// and the debug channel to `log` with `.debug.log` for `.log`. With
    /// `exit_device`, the machine has QEMU's `isa-debug-exit` and
    /// `-no-reboot` (a reset ends QEMU); without (the power cases), QEMU
    /// ends only when the guest powers the machine off, or as `extra`
    /// says.
    fn boot(iso: &Path, log: &Path, extra: &[&str], exit_device: bool) -> Result<Qemu, String> {
        let log_path = log.to_path_buf();
        let debug_log = log.with_extension("debug.log");
        fs::File::create(&debug_log)
            .map_err(|e| format!("cannot create {}: {e}", debug_log.display()))?;
        let exit_args: &[&str] = if exit_device {
            &[
                "-no-reboot",
                "-device",
                "isa-debug-exit,iobase=0xf4,iosize=0x04",
            ]
        } else {
            &[]
        };
        let mut child = Command::new("qemu-system-x86_64")
            .args([
                "-machine", "q35", "-cpu", "max", "-m", "512M", "-accel", "tcg", "-bios", OVMF,
            ])
            .args(extra)
            .arg("-cdrom")
            .arg(iso)
            .args(["-serial", "stdio", "-display", "none"])
            .args(exit_args)
            .arg("-debugcon")
            .arg(format!("file:{}", debug_log.display()))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("cannot start qemu-system-x86_64: {e}"))?;
        let started = Instant::now();
        let stdout = child.stdout.take().expect("stdout is piped");
        let mut log =
            fs::File::create(log).map_err(|e| format!("cannot create {}: {e}", log.display()))?;
        let (send, lines) = mpsc::channel();
        let serial_done = Arc::new(AtomicBool::new(false));
        let debug = fs::File::open(&debug_log)
            .map_err(|e| format!("cannot open {}: {e}", debug_log.display()))?;
        let (debug_send, debug_done) = (send.clone(), serial_done.clone());
        thread::spawn(move || follow_debug(debug, started, debug_send, &debug_done));
        thread::spawn(move || {
            for line in BufReader::new(stdout).split(b'\n') {
                let Ok(line) = line else { break };
                let line = strip_ansi(&String::from_utf8_lossy(&line));
                let _ = writeln!(log, "{line}");
                if send
                    .send((started.elapsed(), Channel::Serial, line))
                    .is_err()
                {
                    break;
                }
            }
            serial_done.store(true, Ordering::Release);
        });
        Ok(Qemu {
            child,
            log: log_path,
            lines,
            started,
            iso: None,
            monitor: None,
        })
    }

    /// The next line from either channel, or `Err` with the exit status
    /// once QEMU is gone (`None` if it is still running at the deadline).
    fn next_line(&mut self, deadline: Instant) -> Result<(Duration, String), Option<i32>> {
        self.next_tagged(deadline).map(|(at, _, line)| (at, line))
    }

    /// The next line with the channel it came from.
    fn next_tagged(
        &mut self,
        deadline: Instant,
    ) -> Result<(Duration, Channel, String), Option<i32>> {
        let left = deadline.saturating_duration_since(Instant::now());
        match self.lines.recv_timeout(left) {
            Ok(line) => Ok(line),
            Err(RecvTimeoutError::Timeout) => Err(None),
            Err(RecvTimeoutError::Disconnected) => {
                let status = self.child.wait().ok().and_then(|s| s.code());
                Err(Some(status.unwrap_or(-1)))
            }
        }
    }

    /// Types `keys` at the guest: on the serial line, or, after a
    /// [`PS2`] prefix, on the PS/2 keyboard through QEMU's monitor.
    fn send_key(&mut self, key: &str) {
        if let Some(typed) = key.strip_prefix(PS2) {
            self.type_ps2(typed);
            return;
        }
        if let Some(stdin) = self.child.stdin.as_mut() {
            let _ = stdin.write_all(key.as_bytes());
            let _ = stdin.flush();
        }
    }
}

/// A step's keys that start with this are typed on the PS/2 keyboard.
const PS2: &str = "ps2:";
/// The monitor socket of a case that types on the PS/2 keyboard.
const MONITOR: &str = "build/test-monitor.sock";

impl Qemu {
    /// Types `text` on the guest's PS/2 keyboard, one `sendkey` per
    /// character (QEMU holds each key 100 ms; the next waits for that);
    /// `~` waits a second (a program starting). Characters without a key
    /// name here are skipped, with a note.
    fn type_ps2(&mut self, text: &str) {
        let Some(monitor) = self.monitor() else {
            eprintln!("harness: no QEMU monitor at {MONITOR}");
            return;
        };
        for c in text.chars() {
            if c == '~' {
                thread::sleep(Duration::from_secs(1));
                continue;
            }
            let Some(key) = qemu_key(c) else {
                eprintln!("harness: no PS/2 key for {c:?}");
                continue;
            };
            let _ = writeln!(monitor, "sendkey {key}");
            thread::sleep(Duration::from_millis(150));
        }
    }
}

impl Qemu {
    /// QEMU's monitor, connected on first use (waiting up to 5 s for
    /// the socket); `None` if the case has none.
    fn monitor(&mut self) -> Option<&mut std::os::unix::net::UnixStream> {
        if self.monitor.is_none() {
            for _ in 0..50 {
                if let Ok(s) = std::os::unix::net::UnixStream::connect(MONITOR) {
                    self.monitor = Some(s);
                    break;
                }
                thread::sleep(Duration::from_millis(100));
            }
        }
        self.monitor.as_mut()
    }

    /// The guest's screen now: QEMU's monitor `screendump` to `path`,
    /// read back once QEMU has written all of it (up to 5 s).
    fn screendump(&mut self, path: &Path) -> Result<screen::Image, String> {
        let _ = fs::remove_file(path);
        let absolute = env::current_dir().map_err(|e| e.to_string())?.join(path);
        let monitor = self
            .monitor()
            .ok_or_else(|| format!("no QEMU monitor at {MONITOR}"))?;
        writeln!(monitor, "screendump {}", absolute.display())
            .map_err(|e| format!("monitor: {e}"))?;
        let mut why = String::from("no file");
        for _ in 0..50 {
            thread::sleep(Duration::from_millis(100));
            match fs::read(path) {
                Ok(bytes) => match screen::Image::from_ppm(&bytes) {
                    Ok(image) => return Ok(image),
                    Err(e) => why = e,
                },
                Err(e) => why = e.to_string(),
            }
        }
        Err(format!("screendump {}: {why}", path.display()))
    }
}

/// Where the shell-session case keeps its last screendump.
const SCREENDUMP: &str = "build/test-logs/shell-session.ppm";

/// After a passing session: the framebuffer console (the tty server's,
/// manifest option `framebuffer`) must show each of `texts` — the last
/// commands typed on the serial line, echoed, and their output —
/// pixel-exact as the console draws them (`harness::screen`) — and none
/// of `absent` (kernel chatter that must stay off the user's screen).
/// Drawing follows output by ~10 ms; a few screendumps are taken before
/// giving up.
fn screen_checked(qemu: &mut Qemu, outcome: Outcome, texts: &[&str], absent: &[&str]) -> Outcome {
    let Ok(done) = &outcome.result else {
        return outcome;
    };
    // What the last screendump lacked, or why there was none.
    let mut last = Err(String::from("no screendump taken"));
    for _ in 0..10 {
        match qemu.screendump(Path::new(SCREENDUMP)) {
            Ok(image) => {
                let missing: Vec<&str> = texts
                    .iter()
                    .copied()
                    .filter(|t| image.find_text(t).is_none())
                    .collect();
                let shown: Vec<&str> = absent
                    .iter()
                    .copied()
                    .filter(|t| image.find_text(t).is_some())
                    .collect();
                if !shown.is_empty() {
                    return Outcome {
                        result: Err(format!(
                            "the framebuffer console shows {shown:?}, which belongs in the kernel log only (screendump: {SCREENDUMP})"
                        )),
                        guest: outcome.guest,
                    };
                }
                if missing.is_empty() {
                    let (cols, rows) = image.grid();
                    return Outcome {
                        result: Ok(format!(
                            "{done}; the {}x{} screen ({cols}x{rows} cells) shows {} lines pixel-exact",
                            image.width,
                            image.height,
                            texts.len()
                        )),
                        guest: outcome.guest,
                    };
                }
                last = Ok(missing);
            }
            Err(e) => last = Err(e),
        }
        thread::sleep(Duration::from_millis(300));
    }
    let result = match last {
        Ok(missing) => Err(format!(
            "the framebuffer console does not show {missing:?} (last screendump: {SCREENDUMP})"
        )),
        Err(e) => Err(e),
    };
    Outcome {
        result,
        guest: outcome.guest,
    }
}

/// QEMU's `sendkey` name of the key (with modifiers) that types `c` on a
/// US keyboard.
fn qemu_key(c: char) -> Option<String> {
    let named = match c {
        'a'..='z' | '0'..='9' => return Some(c.to_string()),
        'A'..='Z' => return Some(format!("shift-{}", c.to_ascii_lowercase())),
        ' ' => "spc",
        '\n' => "ret",
        '-' => "minus",
        '=' => "equal",
        '.' => "dot",
        ',' => "comma",
        '/' => "slash",
        ';' => "semicolon",
        '>' => "shift-dot",
        '<' => "shift-comma",
        '|' => "shift-backslash",
        '\u{3}' => "ctrl-c",
        '\u{7f}' => "backspace",
        _ => return None,
    };
    Some(named.to_string())
}

/// Follows the debug channel's file as QEMU writes it, sending each whole
/// line, until serial has ended (QEMU is gone) and the file is read out.
fn follow_debug(
    file: fs::File,
    started: Instant,
    send: Sender<(Duration, Channel, String)>,
    serial_done: &AtomicBool,
) {
    let mut reader = BufReader::new(file);
    let mut pending = Vec::new();
    loop {
        let finished = serial_done.load(Ordering::Acquire);
        match reader.read_until(b'\n', &mut pending) {
            Ok(0) | Err(_) if finished => break,
            Ok(0) | Err(_) => thread::sleep(Duration::from_millis(10)),
            Ok(_) if pending.ends_with(b"\n") => {
                pending.pop();
                let line = String::from_utf8_lossy(&pending).trim_end().to_string();
                pending.clear();
                if send
                    .send((started.elapsed(), Channel::Debug, line))
                    .is_err()
                {
                    return;
                }
            }
            Ok(_) => {}
        }
    }
}

impl Drop for Qemu {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(iso) = &self.iso {
            let _ = fs::remove_file(iso);
        }
    }
}

/// Boots `config` and waits for QEMU to exit; checks the guest's result
/// line, and that every program of `expected` ran (see [`programs`]).
fn expect_exit(qemu: &mut Qemu, menu_key: Option<&str>, expected: &[&str]) -> Outcome {
    expect_exit_within(qemu, menu_key, expected, BOOT_TIMEOUT)
}

/// [`expect_exit`] with a deadline of `timeout` after QEMU started.
fn expect_exit_within(
    qemu: &mut Qemu,
    menu_key: Option<&str>,
    expected: &[&str],
    timeout: Duration,
) -> Outcome {
    expect_exit_typing(qemu, menu_key, &[], expected, timeout)
}

/// [`expect_exit_within`] that also types into COM1: for each
/// `(prompt, keys)` of `typing`, `keys` once, after the first line (of
/// either channel) that contains `prompt`.
fn expect_exit_typing(
    qemu: &mut Qemu,
    menu_key: Option<&str>,
    typing: &[(&str, &str)],
    expected: &[&str],
    timeout: Duration,
) -> Outcome {
    let deadline = qemu.started + timeout;
    let mut guest = None;
    let mut banner = None;
    let mut ran = programs::Ran::new();
    let mut typed = vec![false; typing.len()];
    loop {
        match qemu.next_tagged(deadline) {
            Ok((at, channel, line)) => {
                if is_panic(&line) {
                    return Outcome {
                        result: Err(format!("panic: {line}")),
                        guest,
                    };
                }
                for (done, (prompt, keys)) in typed.iter_mut().zip(typing) {
                    if !*done && line.contains(prompt) {
                        qemu.send_key(keys);
                        *done = true;
                    }
                }
                if channel == Channel::Serial {
                    if let (Some(key), true) = (menu_key, line.contains("boot: press 1-")) {
                        qemu.send_key(key);
                    }
                    continue;
                }
                if let Some(counts) = parse_result(&line) {
                    guest = Some(counts);
                }
                ran.see(&line);
                if line.starts_with("microkernel ") && banner.is_none() {
                    banner = Some(at);
                }
            }
            Err(None) => {
                return Outcome {
                    result: Err(format!("no exit within {} s", timeout.as_secs())),
                    guest,
                }
            }
            Err(Some(code)) => {
                let missing = ran.missing(expected);
                let result = match (code, guest) {
                    (33, Some((_, 0))) if !missing.is_empty() => {
                        Err(format!("these test programs never ran: {missing:?}"))
                    }
                    (33, Some((_, 0))) => Ok(format!(
                        "{:.1} s, banner {:.1} s after QEMU started",
                        qemu.started.elapsed().as_secs_f64(),
                        banner.map_or(0.0, |b| b.as_secs_f64())
                    )),
                    (33, None) => Err("exit 33 but no `N passed, M failed` line".into()),
                    (_, Some((_, failed))) if failed > 0 => {
                        Err(format!("{failed} in-guest check(s) failed (exit {code})"))
                    }
                    _ => Err(format!("QEMU exited with {code}")),
                };
                return Outcome { result, guest };
            }
        }
    }
}

/// The line `ttytest` logs before its blocking read of the console: the
/// harness then types `hello` and a newline into COM1.
const TTY_PROMPT: &str = "ttytest: type a line";
/// Then the one before a read that `^C` (typed by the harness) interrupts.
const TTY_PROMPT_INTR: &str = "ttytest: type ^C";

/// A passing `outcome` of the posix suite, failed unless the serial log
/// shows `ttytest`'s line written through the terminal server, the
/// prompt (a log line the server wrote), its echo of the typed line, and
/// the line written after the echo probe (the UART given back after its
/// loopback), with no stray probe byte on a line of its own.
fn echo_checked(qemu: &Qemu, outcome: Outcome) -> Outcome {
    let Ok(passed) = outcome.result else {
        return outcome;
    };
    let serial = fs::read_to_string(&qemu.log).unwrap_or_default();
    let written = serial.contains("ttytest: written through the terminal server");
    let prompted = serial.contains(TTY_PROMPT);
    let echoed = serial.lines().any(|l| l.trim_end() == "hello");
    let after_probe = serial.contains("ttytest: output after the probe");
    let result = match (written, prompted, echoed, after_probe) {
        (false, _, _, _) => Err("ttytest's write is not in the serial log".into()),
        (_, false, _, _) => Err("the prompt (a log line) is not in the serial log".into()),
        (_, _, false, _) => Err("no echo of the typed line in the serial log".into()),
        (_, _, _, false) => {
            Err("the line written after the echo probe is not in the serial log".into())
        }
        _ => Ok(passed),
    };
    Outcome { result, ..outcome }
}

/// A passing `outcome` of the guest suite, failed if the logs do not show
/// `contest`'s console hand-off (see `check_console_hand_off`).
fn console_checked(qemu: &Qemu, outcome: Outcome) -> Outcome {
    let Ok(passed) = outcome.result else {
        return outcome;
    };
    let read = |path: &Path| fs::read_to_string(path).unwrap_or_default();
    let serial = read(&qemu.log);
    let debug = read(&qemu.log.with_extension("debug.log"));
    let result = check_console_hand_off(&serial, &debug)
        .map(|()| passed)
        .map_err(|why| format!("console hand-off: {why}"));
    Outcome { result, ..outcome }
}

/// Waits for the kernel to fail on purpose: QEMU must exit with 35 (the
/// panic handler's failure code) and every needle must appear in some line.
fn expect_oops(qemu: &mut Qemu, needles: &[&str]) -> Outcome {
    expect_needles(qemu, needles, Some(35))
}

/// Waits until every needle has appeared in some line; then, with `exit`,
/// for QEMU to exit with that code; without, the system keeps running and
/// QEMU is stopped (and a panic line fails the case).
/// A session typed at the console: each step waits for a line (the
/// first step: a line containing its text; later steps: a line that is
/// exactly it, so a command's echo does not count as its output), then
/// types its keys; the case passes when every step's line was seen.
fn expect_session(qemu: &mut Qemu, steps: &[(&str, &str)]) -> Outcome {
    // The boot, then a few seconds a step (each runs a program or two).
    let deadline = qemu.started + BOOT_TIMEOUT + Duration::from_secs(3) * steps.len() as u32;
    let mut next = 0;
    let result = loop {
        match qemu.next_line(deadline) {
            Ok((at, line)) => {
                if is_panic(&line) {
                    break Err(format!("panic: {line}"));
                }
                let (want, keys) = steps[next];
                let seen = if next == 0 {
                    line.contains(want)
                } else {
                    line.trim_end() == want
                };
                if seen {
                    qemu.send_key(keys);
                    next += 1;
                    if next == steps.len() {
                        break Ok(format!(
                            "{} steps after {:.1} s",
                            steps.len(),
                            at.as_secs_f64()
                        ));
                    }
                }
            }
            Err(None) => {
                break Err(format!(
                    "never printed {:?} in {} s",
                    steps[next].0,
                    BOOT_TIMEOUT.as_secs()
                ))
            }
            Err(Some(code)) => {
                break Err(format!(
                    "QEMU exited with {code} before {:?}",
                    steps[next].0
                ))
            }
        }
    };
    Outcome {
        result,
        guest: None,
    }
}

fn expect_needles(qemu: &mut Qemu, needles: &[&str], exit: Option<i32>) -> Outcome {
    let deadline = qemu.started + BOOT_TIMEOUT;
    let mut missing: Vec<&str> = needles.to_vec();
    let result = loop {
        match qemu.next_line(deadline) {
            Ok((at, line)) => {
                if exit.is_none() && is_panic(&line) {
                    break Err(format!("panic: {line}"));
                }
                missing.retain(|needle| !line.contains(needle));
                if exit.is_none() && missing.is_empty() {
                    break Ok(format!(
                        "all of {needles:?} after {:.1} s",
                        at.as_secs_f64()
                    ));
                }
            }
            Err(None) => {
                break Err(format!(
                    "never printed {missing:?} nor exited in {} s",
                    BOOT_TIMEOUT.as_secs()
                ))
            }
            Err(Some(code)) if Some(code) == exit && missing.is_empty() => {
                break Ok(format!("all of {needles:?} printed"))
            }
            Err(Some(code)) => {
                break Err(format!(
                    "QEMU exited with {code}; never printed {missing:?}"
                ))
            }
        }
    };
    Outcome {
        result,
        guest: None,
    }
}

/// Waits for a loader error line containing every one of `needles`.
fn expect_boot_error(qemu: &mut Qemu, needles: &[&str]) -> Outcome {
    let deadline = qemu.started + BOOT_TIMEOUT;
    loop {
        match qemu.next_line(deadline) {
            Ok((at, line)) => {
                if line.contains("boot: error:") && needles.iter().all(|n| line.contains(n)) {
                    return Outcome {
                        result: Ok(format!("`{line}` after {:.1} s", at.as_secs_f64())),
                        guest: None,
                    };
                }
                if line.starts_with("microkernel ") {
                    return Outcome {
                        result: Err("the kernel started; the loader should have refused".into()),
                        guest: None,
                    };
                }
            }
            Err(None) => {
                return Outcome {
                    result: Err(format!("no `boot: error:` line naming {needles:?}")),
                    guest: None,
                }
            }
            Err(Some(code)) => {
                return Outcome {
                    result: Err(format!("QEMU exited ({code}) without the error line")),
                    guest: None,
                }
            }
        }
    }
}

/// Runs `command`, failing with its output's tail if it fails.
fn run(command: &mut Command, what: &str) -> Result<(), String> {
    let out = command
        .output()
        .map_err(|e| format!("{what}: cannot run: {e}"))?;
    if out.status.success() {
        return Ok(());
    }
    let text =
        String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout);
    let tail: Vec<&str> = text.lines().rev().take(15).collect();
    let tail: Vec<&str> = tail.into_iter().rev().collect();
    Err(format!("{what} failed:\n{}", tail.join("\n")))
}

/// The scaffold, end to end, in a temporary copy of the tree: `make
/// new-server NAME=demo`, the new crates' host tests, the build, and a boot
/// of the system entry, which must start `demo` and run `democtl` against
/// it. The copy reuses this tree's compiled dependencies (`target/user`,
/// and the host target directory for the host tests) and its kernel and
/// loader (a new server changes neither), so only the user crates build.
fn new_server_case() -> Outcome {
    let tmp = env::temp_dir().join(format!("microkernel-new-server-{}", std::process::id()));
    let _ = fs::remove_dir_all(&tmp);
    let result = scaffold_and_boot(&tmp);
    let _ = fs::remove_dir_all(&tmp);
    match result {
        Ok(outcome) => outcome,
        Err(why) => Outcome {
            result: Err(why),
            guest: None,
        },
    }
}

fn scaffold_and_boot(tmp: &Path) -> Result<Outcome, String> {
    let here = env::current_dir().map_err(|e| format!("current dir: {e}"))?;
    fs::create_dir_all(tmp).map_err(|e| format!("cannot create {}: {e}", tmp.display()))?;
    // The tree as git sees it: tracked and new files, not ignored ones
    // (nor tracked ones deleted meanwhile).
    let listed = Command::new("git")
        .args(["ls-files", "-z", "-co", "--exclude-standard"])
        .output()
        .map_err(|e| format!("git ls-files: {e}"))?;
    if !listed.status.success() {
        return Err("git ls-files failed: the harness copies the tree git knows".into());
    }
    for file in listed.stdout.split(|&b| b == 0).filter(|f| !f.is_empty()) {
        let file = Path::new(std::str::from_utf8(file).map_err(|_| "a non-UTF-8 path")?);
        if !file.is_file() {
            continue;
        }
        let to = tmp.join(file);
        if let Some(dir) = to.parent() {
            fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        }
        fs::copy(file, &to).map_err(|e| format!("copy {}: {e}", file.display()))?;
    }
    fs::create_dir_all(tmp.join("target/kernel/x86_64-unknown-none/release"))
        .and_then(|_| fs::create_dir_all(tmp.join("target/x86_64-unknown-uefi/release")))
        .map_err(|e| format!("target dirs: {e}"))?;
    for built in [
        "target/kernel/x86_64-unknown-none/release/microkernel",
        "target/x86_64-unknown-uefi/release/bootx64.efi",
    ] {
        fs::copy(built, tmp.join(built)).map_err(|e| format!("copy {built}: {e}"))?;
    }
    run(
        Command::new("cp")
            .args(["-r", "target/user"])
            .arg(tmp.join("target/user")),
        "copy target/user",
    )?;
    run(
        Command::new("make")
            .args(["-s", "new-server", "NAME=demo"])
            .current_dir(tmp),
        "make new-server NAME=demo",
    )?;
    run(
        Command::new("cargo")
            .args(["test", "-q", "-p", "demo", "-p", "libsys"])
            .env("CARGO_TARGET_DIR", here.join("target"))
            .current_dir(tmp),
        "cargo test -p demo -p libsys (host tests of the new server)",
    )?;
    run(
        Command::new("make")
            .args(["-s", "-o", "kernel", "-o", "loader", "tree"])
            .current_dir(tmp),
        "make tree (the user programs and servers, with demo)",
    )?;
    let config =
        fs::read_to_string(tmp.join("limine.cfg")).map_err(|e| format!("limine.cfg: {e}"))?;
    let config = boot_entry_directly(&config, "Microkernel");
    let config_path = tmp.join("build/new-server.cfg");
    fs::write(&config_path, config).map_err(|e| format!("write the config: {e}"))?;
    run(
        Command::new("scripts/mkiso.sh")
            .args(["build/new-server.iso", "build/new-server.cfg"])
            .current_dir(tmp),
        "scripts/mkiso.sh",
    )?;
    let mut qemu = Qemu::boot(
        &tmp.join("build/new-server.iso"),
        Path::new("build/test-logs/new-server.log"),
        &[],
        true,
    )?;
    Ok(expect_needles(
        &mut qemu,
        &[
            "init[1]: demo registered",
            "democtl: demo echoed \"hello from democtl\"",
            "democtl: 2 request(s) so far",
        ],
        None,
    ))
}

/// What a case checks once QEMU runs.
type Check = Box<dyn Fn(&mut Qemu) -> Outcome>;
/// A case: its name, and how it turns limine.cfg into its config and check.
type Case = (&'static str, fn(&str) -> (String, Check));

fn cases() -> Vec<Case> {
    let mut cases = base_cases();
    cases.extend(power::cases());
    cases
}

fn base_cases() -> Vec<Case> {
    vec![
        // The fuzz entry as limine.cfg has it: 20,000 calls and 20,000
        // messages from seed 1, then fuzzcheck.
        ("fuzz", |cfg| {
            let cfg = boot_entry_directly(cfg, "fuzz");
            (
                cfg,
                Box::new(|q| expect_exit_within(q, None, programs::FUZZ, FUZZ_TIMEOUT)),
            )
        }),
        // The chaos entry as limine.cfg has it: 20 kills from seed 1 while
        // a file is copied onto ext2; then e2fsck -fn on the disk and the
        // copy read back with debugfs.
        ("chaos", |cfg| {
            let cfg = boot_entry_directly(cfg, "chaos");
            (
                cfg,
                Box::new(|q| {
                    let outcome = expect_exit_within(q, None, programs::CHAOS, CHAOS_TIMEOUT);
                    chaos_disk_checked(q, outcome, CHAOS_DISK)
                }),
            )
        }),
        ("guest-suite", |cfg| {
            let cfg = boot_entry_directly(cfg, "test");
            (
                cfg,
                Box::new(|q| {
                    let outcome = expect_exit(q, None, programs::GUEST_SUITE);
                    disk_checked(q, console_checked(q, outcome))
                }),
            )
        }),
        // The modern-only virtio block device (1af4:1042,
        // `disable-legacy=on`): `make run`'s entry with an ext2 disk on it
        // mounted on /mnt, its README read, a file written, `reboot`
        // (which unmounts); then the host's `e2fsck -fn` and `debugfs`.
        ("blk-modern", |cfg| {
            let cfg = boot_entry_directly(cfg, "Microkernel");
            (
                cfg,
                Box::new(|q| {
                    let write = format!("echo '{MODERN_TEXT}' > /mnt{MODERN_FILE}; reboot\n");
                    let steps = [
                        (
                            "getty: running /bin/sh on /dev/console",
                            "mount | grep -c '^/dev/vda /mnt ext2 rw'\n",
                        ),
                        ("1", "cat /mnt/README\n"),
                        (MODERN_README_LINE, write.as_str()),
                    ];
                    let session = expect_session(q, &steps);
                    modern_disk_checked(q, session)
                }),
            )
        }),
        // The menu, by picking the test-mono entry: init's tests with kv's
        // core placed in the kernel (the same programs as in guest-suite).
        ("menu-test-mono", |cfg| {
            let key = entry_number(cfg, "test-mono").expect("limine.cfg has a `test-mono` entry");
            let cfg = set_global(&set_global(cfg, "timeout", "30"), "default_entry", "1");
            (
                cfg,
                Box::new(move |q| expect_exit(q, Some(&key.to_string()), programs::TEST_MONO)),
            )
        }),
        // The posix entry: the terminal, file and process servers and
        // their tests (manifest.posix).
        ("posix-suite", |cfg| {
            let cfg = boot_entry_directly(cfg, "posix");
            (
                cfg,
                Box::new(|q| {
                    let typing = &[(TTY_PROMPT, "hello\n"), (TTY_PROMPT_INTR, "\x03")];
                    let outcome =
                        expect_exit_typing(q, None, typing, programs::POSIX, BOOT_TIMEOUT);
                    ext2_checked(q, echo_checked(q, outcome))
                }),
            )
        }),
        // `make run`'s entry as a person uses it: the shell getty puts on
        // the console, typed at through COM1 and then on the PS/2
        // keyboard; each output is a line of its own on the screen.
        ("shell-session", |cfg| {
            let cfg = boot_entry_directly(cfg, "Microkernel");
            let steps: &[(&str, &str)] = &[
                ("getty: running /bin/sh on /dev/console", "cd /tmp; pwd\n"),
                ("/tmp", "echo hello > f; cat f | wc -c\n"),
                ("6", "mkdir d; cd d; pwd\n"),
                ("/tmp/d", "cat /etc/motd > m; echo done\n"),
                // Job control: Ctrl-Z stops the foreground job (a script
                // that prints, sleeps, prints), `fg` runs it to its end;
                // Ctrl-C kills a job and not the shell.
                (
                    "done",
                    "echo 'echo started; sleep 3; echo finished' > j.sh; sh j.sh\n",
                ),
                ("started", "\x1a"),
                ("[1]+  Stopped                 sh j.sh", "fg\n"),
                (
                    "finished",
                    "jobs; echo 'echo looping; sleep 60' > k.sh; sh k.sh\n",
                ),
                ("looping", "\x03echo alive\n"),
                // A background job reading the terminal is stopped
                // (SIGTTIN), and killed from the job table.
                ("alive", "cat & sleep 1; jobs\n"),
                (
                    "[1]+  Stopped                 cat",
                    "kill -KILL %1; wait; echo killed\n",
                ),
                // With `stty tostop` a background job writing to the
                // terminal is stopped (SIGTTOU) and the shell says so at
                // its next prompt; `fg` lets its write through. Without
                // it a background job writes; changing the terminal's
                // settings from the background stops it either way.
                ("killed", "stty tostop; echo tostop-out & sleep 1\n"),
                ("[1]+  Stopped                 echo tostop-out", "fg\n"),
                (
                    "tostop-out",
                    "stty -tostop; echo bg-free & wait; echo tostop-cleared\n",
                ),
                ("tostop-cleared", "stty tostop & sleep 1\n"),
                (
                    "[1]+  Stopped                 stty tostop",
                    "kill -KILL %1; wait; echo stty-killed\n",
                ),
                // The same shell, typed at on the PS/2 keyboard (QEMU's
                // monitor `sendkey`; the keyboard driver devmgr started
                // feeds tty line 0): a command with a capital, then ^C
                // stopping a long sleep (its echo, then the next command's
                // output, which a sleep that was not interrupted would
                // hold back past the case's deadline).
                ("stty-killed", "ps2:echo Typed on ps2\n"),
                ("Typed on ps2", "ps2:sleep 1000\n~~\u{3}~echo intr ok\n"),
                // The everyday tools (lib/textutil behind them), each
                // step's needle a whole line of the tool's own output.
                ("intr ok", "cd /tmp; printf '%s-%03d|%x\\n' abc 7 255\n"),
                ("abc-007|ff", "printf 'b\\na\\nc\\na\\n' > s.txt; sort s.txt | uniq -c | sort -rn | head -n 1\n"),
                ("      2 a", "grep -n '^c' s.txt; grep -q zzz s.txt || echo no-zzz\n"),
                ("no-zzz", "echo 'root:x:0:0' | cut -d: -f1,3\n"),
                ("root:0", "cp s.txt t.txt; cmp s.txt t.txt && echo same\n"),
                ("same", "echo z >> t.txt; diff s.txt t.txt\n"),
                ("> z", "mv t.txt u.txt; ln -s u.txt l; tail -n 1 l; ls | grep u.txt\n"),
                ("u.txt", "touch new; stat new | head -n 1\n"),
                ("  File: new", "mkdir -p x/y; find x -type d | sort -r | head -n 1\n"),
                ("x/y", "rmdir -p x/y; ls x || echo rmdir-ok\n"),
                ("rmdir-ok", "echo hi | tee tee.out | wc -c; cat tee.out | grep -c hi\n"),
                ("1", "printf 'hello, world\\n' | hexdump -C\n"),
                (
                    "00000000  68 65 6c 6c 6f 2c 20 77  6f 72 6c 64 0a           |hello, world.|",
                    "echo a b c | xargs -n 1 echo X | tail -n 1\n",
                ),
                ("X c", "env FOO=bar env | grep FOO\n"),
                ("FOO=bar", "date +%Y | cut -c 1-2\n"),
                // top from /proc (its columns; its own line, as root),
                // and service: kv's line in init's List, a restart (its
                // budget untouched) after which kv answers, a kill that
                // uses a restart of the budget, and the memory server
                // refused.
                ("20", "top -b -n 1\n"),
                (
                    "  PID USER     S  %CPU  %MEM     RES     TIME+ COMMAND",
                    "top -b -n 1 | grep ' top$' | cut -c 7-14\n",
                ),
                (
                    "root",
                    "service list; service list | grep '^kv ' | cut -c 23-\n",
                ),
                ("running    0/3", "service restart kv | cut -d' ' -f1,2\n"),
                ("kv: restarted", "kvctl 'put k v; get k'\n"),
                (
                    "kvctl: get k = \"v\"",
                    "service kill kv | cut -d' ' -f1-4; service list | grep '^kv ' | cut -c 23-\n",
                ),
                ("running    1/3", "service restart mm || echo mm-refused\n"),
                // top on the terminal: frames every half second until a
                // key, read without Enter (typed on the PS/2 keyboard,
                // a second before the next command): `q`, then Ctrl-C.
                ("mm-refused", "top -d 0.5\n"),
                (
                    "  PID USER     S  %CPU  %MEM     RES     TIME+ COMMAND",
                    "ps2:q~echo top quit\n",
                ),
                ("top quit", "top -d 0.5\n"),
                (
                    "  PID USER     S  %CPU  %MEM     RES     TIME+ COMMAND",
                    "ps2:\u{3}~echo top intr\n",
                ),
                ("top intr", "free | grep -q '^Mem:' && uptime | grep -q ' up ' && echo mem-up-ok\n"),
                ("mem-up-ok", "dmesg | head -n 1 | grep -q '^\\[' && echo dmesg-ok\n"),
                // stty: the window is the framebuffer console's grid
                // (182x50 at OVMF's 1280x800), `-a` as GNU prints it, and
                // a resize that `size` reads back.
                ("dmesg-ok", "stty size\n"),
                ("50 182", "stty -a | head -n 1\n"),
                (
                    "speed 38400 baud; rows 50; columns 182; line = 0;",
                    "stty cols 100; stty size; stty cols 182\n",
                ),
                ("50 100", "lsblk | grep ram0 | cut -c 1-4\n"),
                ("ram0", "cp -r /etc /mnt/etc2; ls -R /mnt/etc2 | grep -c motd\n"),
                ("1", "rm -r /mnt/etc2; ls /mnt | grep -c etc2\n"),
                ("0", "find /bin -name 'he*' | sort\n"),
                ("/bin/hexdump", "grep MemTotal /proc/meminfo | cut -c 1-9\n"),
                // The serial driver (the terminal server) killed as if
                // it crashed: init restarts it, the kernel's console
                // hand-off gives it COM1 again, and the console answers a
                // typed command (the shell, whose terminal died under
                // it, reads end of file and exits; getty starts another).
                (
                    "MemTotal:",
                    "service kill tty > /tmp/svc.out; cut -d' ' -f1,2 /tmp/svc.out\n",
                ),
                ("tty: killed", "echo console-back\n"),
                ("console-back", ""),
            ];
            // The last commands, echoed on the framebuffer console, and
            // their output (the tty server draws all it writes to COM1).
            // The restarted terminal server draws on the framebuffer
            // from a clear screen: the command typed after it, its
            // output, and the log line of the new shell's exit before.
            let on_screen = &["# exit", "# echo console-back", "console-back"];
            (
                cfg,
                Box::new(move |q| {
                    let outcome = expect_session(q, steps);
                    // Info records (a line per exiting process) stay in
                    // the log: on the screen they broke typed lines.
                    screen_checked(q, outcome, on_screen, &["frames freed"])
                }),
            )
        }),
        // The test entry on QEMU's default `pc` machine (i440FX, PIIX3):
        // devmgr must find its devices. devtest is the manifest's first
        // test; the case ends once it passed.
        ("devices-pc", |cfg| {
            let cfg = boot_entry_directly(cfg, "test");
            let needles = &[
                "00:01.1 IDE interface [0101]: Intel Corporation 82371SB PIIX3 IDE",
                "ok - devtest: pc machine: i440FX 8086:1237",
                "devtest: all checks passed",
                // devmgr programs edu's MSI capability; the driver binds it.
                "devmgr: 0000:00:04.0: MSI on, vector 0x",
                "edu 1.0 at 0x",
                ", MSI vector 0x",
            ];
            (cfg, Box::new(|q| expect_needles(q, needles, None)))
        }),
        ("oops-panic", |cfg| {
            let cfg = boot_entry_directly(cfg, "test");
            let cfg = replace_in_entry(&cfg, "test", "cmdline", "test crash=panic");
            let needles = &[
                "KERNEL PANIC: crash=panic on the command line",
                "backtrace:",
                "microkernel::crash+",
                "microkernel::kmain_on_kernel_stack+",
            ];
            (cfg, Box::new(|q| expect_oops(q, needles)))
        }),
        ("oops-pagefault", |cfg| {
            let cfg = boot_entry_directly(cfg, "test");
            let cfg = replace_in_entry(&cfg, "test", "cmdline", "test crash=pagefault");
            let needles = &[
                "KERNEL OOPS: page fault",
                "vector 14 (page fault) error 0x0",
                "cr2 0x00000000deadb000",
                "microkernel::crash+",
                "KERNEL PANIC: page fault in the kernel",
            ];
            (cfg, Box::new(|q| expect_oops(q, needles)))
        }),
        ("bad-config", |cfg| {
            let cfg = set_global(cfg, "frobnicate", "yes");
            let needles = &["limine.conf", "frobnicate"];
            (cfg, Box::new(|q| expect_boot_error(q, needles)))
        }),
        ("missing-module", |cfg| {
            let missing = "boot():/boot/no-such-module.bin";
            let cfg = add_to_entry(
                &boot_entry_directly(cfg, "test"),
                "test",
                "module_path",
                missing,
            );
            (
                cfg,
                Box::new(|q| expect_boot_error(q, &["/boot/no-such-module.bin"])),
            )
        }),
        ("missing-kernel", |cfg| {
            let missing = "boot():/boot/no-such-kernel";
            let cfg = replace_in_entry(
                &boot_entry_directly(cfg, "test"),
                "test",
                "kernel_path",
                missing,
            );
            (
                cfg,
                Box::new(|q| expect_boot_error(q, &["/boot/no-such-kernel"])),
            )
        }),
        ("not-a-kernel", |cfg| {
            let text_file = "boot():/boot/motd.txt";
            let cfg = replace_in_entry(
                &boot_entry_directly(cfg, "test"),
                "test",
                "kernel_path",
                text_file,
            );
            (
                cfg,
                Box::new(|q| expect_boot_error(q, &["/boot/motd.txt", "not an ELF file"])),
            )
        }),
    ]
}

/// Builds an ISO from `config` and boots it (serial log in
/// `build/test-logs/<name>.log`).
fn boot_config(name: &str, config: &str, extra: &[&str]) -> Result<Qemu, String> {
    let config_path = format!("build/test-{name}.cfg");
    let iso = format!("build/test-{name}.iso");
    fs::write(&config_path, config).map_err(|e| format!("cannot write {config_path}: {e}"))?;
    let built = Command::new("scripts/mkiso.sh")
        .args([&iso, &config_path])
        .stderr(Stdio::null())
        .status();
    if !built.is_ok_and(|s| s.success()) {
        return Err(format!("scripts/mkiso.sh {iso} {config_path} failed"));
    }
    let log = format!("build/test-logs/{name}.log");
    let exit_device = !power::CASES.contains(&name);
    let mut qemu = Qemu::boot(Path::new(&iso), Path::new(&log), extra, exit_device)?;
    qemu.iso = Some(iso.into());
    Ok(qemu)
}

/// QEMU arguments a case adds to the common ones: `-machine pc` (which
/// overrides the `q35` before it) and the `edu` device for the
/// `devices-pc` case; the virtio
/// disk for the guest suite (slot 3 of q35's root bus, the first free
/// one, whose resources manifest.test gives the block server) and QEMU's
/// `edu` device in slot 4 (edutest, the driver lab).
fn extra_args(name: &str) -> &'static [&'static str] {
    match name {
        // The edu device too: its driver takes an MSI on `pc` as well.
        "devices-pc" => &["-machine", "pc", "-device", "edu,addr=0x4"],
        // The PS/2 keyboard is typed at through QEMU's monitor.
        "shell-session" => &["-monitor", "unix:build/test-monitor.sock,server,nowait"],
        "guest-suite" => &[
            "-drive",
            "file=build/guest-disk.img,if=none,id=vda,format=raw",
            "-device",
            "virtio-blk-pci,drive=vda,addr=0x3",
            // QEMU's teaching device in slot 4 (INTA: GSI 20), for edutest.
            "-device",
            "edu,addr=0x4",
        ],
        // The chaos runs' ext2 disks (the copy under the kills).
        "chaos" => &[
            "-drive",
            "file=build/chaos-disk.img,if=none,id=vda,format=raw",
            "-device",
            "virtio-blk-pci,drive=vda,addr=0x3",
        ],
        "chaos-long" => &[
            "-drive",
            "file=build/chaos-long-disk.img,if=none,id=vda,format=raw",
            "-device",
            "virtio-blk-pci,drive=vda,addr=0x3",
        ],
        // The modern-only device (no legacy I/O BAR: PCI ID 1af4:1042).
        "blk-modern" => &[
            "-drive",
            "file=build/modern-disk.img,if=none,id=vda,format=raw",
            "-device",
            "virtio-blk-pci,drive=vda,addr=0x3,disable-legacy=on,disable-modern=off",
        ],
        // The posix suite's ext2 disk (ext2test; see `ext2_disk`) and its
        // partitioned one.
        "posix-suite" => &[
            "-drive",
            "file=build/posix-disk.img,if=none,id=vda,format=raw",
            "-device",
            "virtio-blk-pci,drive=vda,addr=0x3",
            // vdb: the partitioned disk (`partdisk`), for ext2test's
            // partition checks; in slot 5 (the modern interface's memory
            // BARs only, so no I/O window to give).
            "-drive",
            "file=build/part-disk.img,if=none,id=vdb,format=raw",
            "-device",
            "virtio-blk-pci,drive=vdb,addr=0x5",
        ],
        case if power::CASES.contains(&case) => power::extra_args(case),
        _ => &[],
    }
}

/// The posix suite's virtio disk: a fresh ext2 image (`mke2fs -t ext2 -d`)
/// each run, which vfs mounts on `/mnt` from `/etc/fstab`.
const EXT2_DISK: &str = "build/posix-disk.img";
/// Its size: 4 MiB (ext2test fills it up to `ENOSPC`).
const EXT2_DISK_KIB: u64 = 4096;
/// What the image's `/README` holds (userland/src/bin/ext2test.rs).
const EXT2_README: &[u8] = b"ext2 disk of the posix suite\n";
/// The file ext2test leaves, and its bytes (the same as ext2test's).
const EXT2_WRITTEN: &str = "/guest/kept/written.txt";
const EXT2_CONTENT: &[u8] = b"written by ext2test in the guest, renamed, synced\n";
/// The file mmaptest wrote only through a `MAP_SHARED` mapping and
/// `msync` (userland/src/bin/mmaptest.rs), and its bytes.
const EXT2_MAPPED: &str = "/mmap/mapped.txt";
const EXT2_MAPPED_CONTENT: &[u8] = b"written through MAP_SHARED by mmaptest, msynced\n";

/// An e2fsprogs tool: in PATH, or in /usr/sbin or /sbin (a non-root PATH
/// may lack them).
fn e2fs_tool(name: &str) -> std::path::PathBuf {
    ["/usr/sbin", "/sbin", "/usr/bin", "/bin"]
        .iter()
        .map(|d| Path::new(d).join(name))
        .find(|p| p.is_file())
        .unwrap_or_else(|| std::path::PathBuf::from(name))
}

/// Makes [`EXT2_DISK`]: 1 KiB blocks, `/README` from a scratch tree.
fn fresh_ext2_disk() -> Result<(), String> {
    fresh_ext2_image(
        Path::new(EXT2_DISK),
        EXT2_DISK_KIB,
        "posix-disk-tree",
        EXT2_README,
    )
}

/// A fresh ext2 image of `kib` KiB at `image` holding `/README` with
/// `readme`, made from `build/<tree>`.
fn fresh_ext2_image(image: &Path, kib: u64, tree: &str, readme: &[u8]) -> Result<(), String> {
    let image = image.to_str().ok_or("a non-UTF-8 image path")?;
    make_ext2_image(image, &format!("build/{tree}"), kib, &[("README", readme)])
}

/// A fresh ext2 image of `kib` KiB at `image` (1 KiB blocks) holding
/// `files` (name, bytes), made with the host's `mke2fs -d` from a
/// scratch tree at `tree`.
fn make_ext2_image(
    image: &str,
    tree: &str,
    kib: u64,
    files: &[(&str, &[u8])],
) -> Result<(), String> {
    let tree = Path::new(tree);
    let _ = fs::remove_dir_all(tree);
    fs::create_dir_all(tree).map_err(|e| format!("{}: {e}", tree.display()))?;
    for (name, bytes) in files {
        fs::write(tree.join(name), bytes).map_err(|e| e.to_string())?;
    }
    let _ = fs::remove_file(image);
    let out = std::process::Command::new(e2fs_tool("mke2fs"))
        .args(["-q", "-F", "-t", "ext2", "-b", "1024", "-d"])
        .arg(tree)
        .arg(image)
        .arg(format!("{kib}k"))
        .output()
        .map_err(|e| format!("mke2fs: {e} (make deps installs e2fsprogs)"))?;
    if !out.status.success() {
        return Err(format!("mke2fs: {}", String::from_utf8_lossy(&out.stderr)));
    }
    Ok(())
}

/// The host's `e2fsck -fn` on `image`: `Err` with its report unless it
/// found nothing wrong.
fn fsck_clean(image: &str) -> Result<(), String> {
    match std::process::Command::new(e2fs_tool("e2fsck"))
        .arg("-fn")
        .arg(image)
        .output()
    {
        Ok(o) if o.status.success() => Ok(()),
        Ok(o) => Err(format!(
            "{image}: e2fsck -fn found errors:\n{}",
            String::from_utf8_lossy(&o.stdout)
        )),
        Err(e) => Err(format!("e2fsck: {e}")),
    }
}

/// The bytes of `path` inside `image`, read by the host's `debugfs`.
fn debugfs_cat(image: &str, path: &str) -> Result<Vec<u8>, String> {
    std::process::Command::new(e2fs_tool("debugfs"))
        .args(["-R", &format!("cat {path}")])
        .arg(image)
        .output()
        .map(|o| o.stdout)
        .map_err(|e| format!("debugfs: {e}"))
}

/// After the posix suite (QEMU has exited): the host's `e2fsck -fn` must
/// find the image the guest wrote clean, and `debugfs` must read back the
/// file ext2test left.
fn ext2_checked(qemu: &mut Qemu, outcome: Outcome) -> Outcome {
    let _ = qemu.child.wait();
    if outcome.result.is_err() {
        return outcome;
    }
    let result = fsck_clean(EXT2_DISK)
        .and_then(|()| {
            [
                (EXT2_WRITTEN, EXT2_CONTENT),
                (EXT2_MAPPED, EXT2_MAPPED_CONTENT),
            ]
            .iter()
            .try_for_each(|&(file, content)| debugfs_reads(file, content))
        })
        .and(outcome.result);
    Outcome { result, ..outcome }
}

/// `debugfs` reads `content` from `file` on [`EXT2_DISK`].
fn debugfs_reads(file: &str, content: &[u8]) -> Result<(), String> {
    let read = debugfs_cat(EXT2_DISK, file)?;
    if read == content {
        Ok(())
    } else {
        Err(format!(
            "{EXT2_DISK}: debugfs read {:?} from {file}",
            String::from_utf8_lossy(&read)
        ))
    }
}

/// The `blk-modern` case's disk (a fresh [`fresh_ext2_image`] each run),
/// its README, and the file the guest writes on it.
const MODERN_DISK: &str = "build/modern-disk.img";
const MODERN_README: &[u8] = b"ext2 disk on the modern-only virtio-blk device\n";
const MODERN_README_LINE: &str = "ext2 disk on the modern-only virtio-blk device";
const MODERN_FILE: &str = "/modern.txt";
const MODERN_TEXT: &str = "written through virtio-blk 1af4:1042";
/// The driver's start line on that device.
const MODERN_DRIVER_LINE: &str = "1af4:1042 through virtio-drivers (modern PCI interface)";

/// After the `blk-modern` session typed `reboot`: QEMU exits 0 (the reset
/// under `-no-reboot`) within 60 s, the driver said it drove 1af4:1042,
/// and on the host the image is clean (`e2fsck -fn`) and holds the file
/// (`debugfs`).
fn modern_disk_checked(qemu: &mut Qemu, session: Outcome) -> Outcome {
    if session.result.is_err() {
        return session;
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    let stopped = loop {
        match qemu.next_line(deadline) {
            Ok((_, line)) if is_panic(&line) => break Err(format!("panic: {line}")),
            Ok(_) => {}
            Err(Some(0)) => break Ok(()),
            Err(Some(code)) => break Err(format!("QEMU exited with {code}")),
            Err(None) => break Err("QEMU still runs 60 s after `reboot`".into()),
        }
    };
    let log = fs::read_to_string("build/test-logs/blk-modern.log").unwrap_or_default();
    let result = stopped
        .and_then(|()| {
            if log.contains(MODERN_DRIVER_LINE) {
                Ok(())
            } else {
                Err(format!("the driver never said {MODERN_DRIVER_LINE:?}"))
            }
        })
        .and_then(|()| fsck_clean(MODERN_DISK))
        .and_then(|()| {
            let read = debugfs_cat(MODERN_DISK, MODERN_FILE)?;
            if read == format!("{MODERN_TEXT}\n").as_bytes() {
                Ok(())
            } else {
                Err(format!(
                    "{MODERN_DISK}: debugfs read {:?} from {MODERN_FILE}",
                    String::from_utf8_lossy(&read)
                ))
            }
        })
        .and(session.result)
        .map(|done| format!("{done}; 1af4:1042 driven, e2fsck -fn clean, the file read back"));
    Outcome {
        result,
        guest: session.guest,
    }
}

/// The chaos runs' ext2 disks (a fresh [`fresh_ext2_image`] each run):
/// the short run's, and `make chaos`'s (which may run beside it).
const CHAOS_DISK: &str = "build/chaos-disk.img";
const CHAOS_LONG_DISK: &str = "build/chaos-long-disk.img";
/// Where `chaos` leaves its last copy of itself, and what it copied.
const CHAOS_COPY: &str = "/chaos-copy";
const CHAOS_BINARY: &str = "target/user/x86_64-unknown-none/release/chaos";

/// After a chaos run: `e2fsck -fn` finds the disk clean, and the copy
/// `chaos` left on it (read with `debugfs`) is the built binary.
fn chaos_disk_checked(qemu: &mut Qemu, outcome: Outcome, disk: &str) -> Outcome {
    let _ = qemu.child.wait();
    if outcome.result.is_err() {
        return outcome;
    }
    let result = (|| {
        let fsck = std::process::Command::new(e2fs_tool("e2fsck"))
            .arg("-fn")
            .arg(disk)
            .output()
            .map_err(|e| format!("e2fsck: {e}"))?;
        if !fsck.status.success() {
            return Err(format!(
                "{disk}: e2fsck -fn found errors:\n{}",
                String::from_utf8_lossy(&fsck.stdout)
            ));
        }
        let cat = std::process::Command::new(e2fs_tool("debugfs"))
            .args(["-R", &format!("cat {CHAOS_COPY}")])
            .arg(disk)
            .output()
            .map_err(|e| format!("debugfs: {e}"))?;
        let built = fs::read(CHAOS_BINARY).map_err(|e| format!("{CHAOS_BINARY}: {e}"))?;
        if cat.stdout != built {
            return Err(format!(
                "{disk}:{CHAOS_COPY} ({} bytes) is not {CHAOS_BINARY} ({} bytes)",
                cat.stdout.len(),
                built.len()
            ));
        }
        outcome
            .result
            .clone()
            .map(|d| format!("{d}; e2fsck -fn clean, the copy equals the binary"))
    })();
    Outcome { result, ..outcome }
}

/// An empty disk image of [`DISK_BYTES`] at [`DISK`].
fn fresh_disk() -> Result<(), String> {
    fs::File::create(DISK)
        .and_then(|f| f.set_len(DISK_BYTES))
        .map_err(|e| format!("cannot make {DISK}: {e}"))
}

/// After the guest suite: QEMU has exited, so the image holds what the
/// guest wrote; blktest's signature must be in sector 0 (what the virtio
/// driver wrote reached the host's file).
fn disk_checked(qemu: &mut Qemu, outcome: Outcome) -> Outcome {
    let _ = qemu.child.wait();
    if outcome.result.is_err() {
        return outcome;
    }
    let sector0 = fs::read(DISK).map(|d| d.get(..DISK_SIGNATURE.len()).map(<[u8]>::to_vec));
    match sector0 {
        Ok(Some(s)) if s == DISK_SIGNATURE => outcome,
        _ => Outcome {
            result: Err(format!(
                "{DISK}: sector 0 does not hold blktest's signature"
            )),
            guest: outcome.guest,
        },
    }
}

fn run_case(name: &str, make: fn(&str) -> (String, Check), base: &str) -> Outcome {
    let (config, check) = make(base);
    // Each disk case's disk, fresh.
    let disk = match name {
        "posix-suite" => fresh_ext2_disk().and_then(|()| partdisk::fresh(make_ext2_image)),
        "chaos" => fresh_ext2_image(
            Path::new(CHAOS_DISK),
            EXT2_DISK_KIB,
            "chaos-disk-tree",
            EXT2_README,
        ),
        "guest-suite" => fresh_disk(),
        "blk-modern" => fresh_ext2_image(
            Path::new(MODERN_DISK),
            EXT2_DISK_KIB,
            "modern-disk-tree",
            MODERN_README,
        ),
        _ if power::CASES.contains(&name) => power::fresh_disk(),
        _ => Ok(()),
    };
    if let Err(e) = disk {
        return Outcome {
            result: Err(e),
            guest: None,
        };
    }
    match boot_config(name, &config, extra_args(name)) {
        Ok(mut qemu) => check(&mut qemu),
        Err(e) => Outcome {
            result: Err(e),
            guest: None,
        },
    }
}

/// The bench entry's virtio disk: a fresh 8 MiB ext2 image each run,
/// which vfs mounts on `/mnt` (`read_4k_cached_ext2`) and the block
/// server reads (`blk_read_4k_vda`).
const BENCH_DISK: &str = "build/bench-disk.img";
const BENCH_DISK_ARGS: [&str; 4] = [
    "-drive",
    "file=build/bench-disk.img,if=none,id=vda,format=raw",
    "-device",
    "virtio-blk-pci,drive=vda,addr=0x3",
];

/// Boots the bench entry once: `placement` on the kernel command line,
/// `module_args` on the bench program's, `accel_args` to QEMU; calls
/// `each` with every line of the debug channel. `run` names the log
/// (`build/test-logs/bench-<run>.log`).
fn bench_boot(
    base: &str,
    run: &str,
    placement: &str,
    accel_args: &[&str],
    module_args: &str,
    mut each: impl FnMut(&str),
) -> Result<(), String> {
    fresh_ext2_image(
        Path::new(BENCH_DISK),
        8192,
        "bench-disk-tree",
        b"bench disk\n",
    )?;
    let config = boot_entry_directly(base, "bench");
    let config = replace_in_entry(
        &config,
        "bench",
        "cmdline",
        &format!("oneshot placement={placement} loglevel=info"),
    );
    let config = replace_module_cmdline(&config, "bench", "boot():/boot/bench", module_args);
    let mut extra: Vec<&str> = accel_args.to_vec();
    extra.extend(BENCH_DISK_ARGS);
    let mut qemu = boot_config(&format!("bench-{run}"), &config, &extra)?;
    // A run takes 3-4 minutes on an idle machine; under -icount a loaded
    // host slows it down without changing a figure. BENCH_TIMEOUT
    // (seconds) overrides the bound.
    let limit = env::var("BENCH_TIMEOUT")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(900);
    let deadline = qemu.started + Duration::from_secs(limit);
    loop {
        match qemu.next_tagged(deadline) {
            Ok((_, Channel::Serial, _)) => {}
            Ok((_, Channel::Debug, line)) => each(&line),
            Err(None) => {
                return Err(format!(
                    "the {run} run did not finish in {limit} s (BENCH_TIMEOUT; log: build/test-logs/bench-{run}.log)"
                ))
            }
            Err(Some(33)) => return Ok(()),
            Err(Some(code)) => {
                return Err(format!(
                    "the {run} run ended with QEMU status {code} (log: build/test-logs/bench-{run}.log)"
                ))
            }
        }
    }
}

/// Boots of `make run`'s entry `boot_to_prompt` takes the median of.
const BOOT_TO_PROMPT_BOOTS: usize = 3;

/// `boot_to_prompt_ms` (the `boot-tcg` run): boots `make run`'s entry
/// (the servers in their own processes) under TCG, without icount, as a
/// person would, [`BOOT_TO_PROMPT_BOOTS`] times; each time types
/// `dmesg | grep` for the line the shell logs at its first prompt (the
/// kernel's clock since `kmain`'s first instruction: OVMF and the loader
/// before it are not counted) and reads the figure. Wall-clock time of
/// an emulated machine: it varies with the host's load.
fn boot_to_prompt(base: &str) -> Result<Bench, String> {
    let config = boot_entry_directly(base, "Microkernel");
    let mut figures = Vec::new();
    for boot in 0..BOOT_TO_PROMPT_BOOTS {
        let name = format!("bench-boot-tcg-{boot}");
        let mut qemu = boot_config(&name, &config, &[])?;
        let deadline = qemu.started + BOOT_TIMEOUT;
        let mut typed = false;
        let ms = loop {
            match qemu.next_line(deadline) {
                Ok((_, line)) => {
                    if let Some(ms) = parse_first_prompt_ms(&line) {
                        break ms;
                    }
                    if !typed && line.contains("getty: running /bin/sh on /dev/console") {
                        qemu.send_key("dmesg | grep 'first prompt after'\n");
                        typed = true;
                    }
                }
                Err(None) => {
                    return Err(format!(
                        "boot_to_prompt: no first-prompt line in {} s (log: build/test-logs/{name}.log)",
                        BOOT_TIMEOUT.as_secs()
                    ))
                }
                Err(Some(code)) => {
                    return Err(format!(
                        "boot_to_prompt: QEMU ended with status {code} (log: build/test-logs/{name}.log)"
                    ))
                }
            }
        };
        println!("bench: boot {boot}: first prompt after {ms} ms");
        figures.push(ms);
    }
    let (median, min) = median_min(&figures).ok_or("boot_to_prompt: no boot")?;
    Ok(Bench {
        case: "boot_to_prompt_ms".into(),
        placement: "micro".into(),
        accel: "tcg".into(),
        median,
        min,
        n: figures.len() as u64,
    })
}

/// The runs `BENCH_RUNS` names (`micro-icount,mono-tcg`…), or all.
fn bench_runs() -> Option<Vec<String>> {
    env::var("BENCH_RUNS")
        .ok()
        .map(|v| v.split(',').map(|s| s.trim().to_string()).collect())
}

const ICOUNT: [&str; 2] = ["-icount", "shift=0,sleep=off"];

/// `make bench`: boots the `bench` entry with each placement of the
/// servers (`placement=micro`, `placement=mono` on the kernel command
/// line), each under TCG and under `-icount shift=0`, and prints the
/// guest's `BENCH` lines and a table.
fn bench(base: &str) -> i32 {
    let accels: [(&str, &[&str]); 2] = [("tcg", &[]), ("icount", &ICOUNT)];
    let mut results = Vec::new();
    // `BENCH_RUNS=micro-icount,mono-icount` boots only those runs.
    let runs = bench_runs();
    for placement in ["micro", "mono"] {
        for (accel, extra) in accels {
            let run = format!("{placement}-{accel}");
            if runs.as_ref().is_some_and(|r| !r.contains(&run)) {
                continue;
            }
            let booted = bench_boot(
                base,
                &run,
                placement,
                extra,
                &format!("accel={accel}"),
                |line| {
                    if let Some(bench) = parse_bench(line) {
                        println!("{}", &line[line.find("BENCH").unwrap_or(0)..]);
                        results.push(bench);
                    } else if line.contains("first user instruction")
                        || is_panic(line)
                        || (line.contains("bench: ")
                            && (line.contains("no ") || line.contains("fail")))
                    {
                        println!("{line}");
                    }
                },
            );
            if let Err(e) = booted {
                eprintln!("bench: {e}");
                return 1;
            }
        }
    }
    if runs
        .as_ref()
        .is_none_or(|r| r.iter().any(|r| r == "boot-tcg"))
    {
        match boot_to_prompt(base) {
            Ok(bench) => {
                println!(
                    "BENCH {} placement={} accel={} median={} min={} n={}",
                    bench.case, bench.placement, bench.accel, bench.median, bench.min, bench.n
                );
                results.push(bench);
            }
            Err(e) => {
                eprintln!("bench: {e}");
                return 1;
            }
        }
    }
    println!();
    print!("{}", bench_table(&results));
    println!();
    print!("{}", placement_ratios(&results));
    println!();
    write_bench_summary(&results)
}

/// `make bench-breakdown`: boots the bench entry on the metered kernel
/// (the ISO root `make` put it in, `ISO_ROOT`) under icount with the
/// bench program's `meter` argument, in each placement `BENCH_RUNS`
/// names under icount (both without it); prints the `BREAKDOWN` lines and
/// their table, and appends the table to `build/bench.md`.
fn breakdown(base: &str) -> i32 {
    use harness::benchtable;
    let runs = bench_runs();
    let mut all = Vec::new();
    let mut raw = String::new();
    for placement in ["micro", "mono"] {
        let run = format!("{placement}-icount");
        if runs.as_ref().is_some_and(|r| !r.contains(&run)) {
            continue;
        }
        let booted = bench_boot(
            base,
            &format!("meter-{placement}"),
            placement,
            &ICOUNT,
            "accel=icount meter",
            |line| {
                if let Some(b) = benchtable::parse_breakdown(line) {
                    let text = &line[line.find("BREAKDOWN").unwrap_or(0)..];
                    println!("{text}");
                    raw += text;
                    raw.push('\n');
                    all.push(b);
                } else if is_panic(line) || line.contains("no cost meter") {
                    println!("{line}");
                }
            },
        );
        if let Err(e) = booted {
            eprintln!("bench-breakdown: {e}");
            return 1;
        }
    }
    if all.is_empty() {
        eprintln!("bench-breakdown: no BREAKDOWN lines (log: build/test-logs/bench-meter-*.log)");
        return 1;
    }
    let md = benchtable::breakdown_markdown(&all);
    println!();
    print!("{md}");
    let section = format!("\n## Where the instructions go (the cost meter)\n\n{md}");
    let appended = fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open("build/bench.md")
        .and_then(|mut f| f.write_all(section.as_bytes()));
    if let Err(e) = appended.and_then(|()| fs::write("build/bench-breakdown.txt", raw)) {
        eprintln!("bench-breakdown: cannot write build/bench.md: {e}");
        return 1;
    }
    println!("(also in build/bench.md; the lines in build/bench-breakdown.txt)");
    0
}

/// `make trace OP=<case>`: boots the bench entry on the metered kernel
/// under icount with `trace=<case>` in each placement, and writes the
/// kernel's trace of one iteration of the case as Chrome trace JSON to
/// `build/trace-<placement>.json` (checked: it parses, spans nest).
fn trace(base: &str, op: &str) -> i32 {
    use harness::trace as tr;
    for placement in ["micro", "mono"] {
        let mut text = String::new();
        let booted = bench_boot(
            base,
            &format!("trace-{placement}"),
            placement,
            &ICOUNT,
            &format!("accel=icount trace={op}"),
            |line| {
                if line.contains("TRACE") {
                    text += line;
                    text.push('\n');
                } else if is_panic(line) || line.contains("no cost meter") {
                    println!("{line}");
                }
            },
        );
        if let Err(e) = booted {
            eprintln!("trace: {e}");
            return 1;
        }
        let events = tr::parse(&text);
        if events.is_empty() {
            eprintln!("trace: no TRACE lines for `{op}` with placement={placement} (is it a case of bench.rs? log: build/test-logs/bench-trace-{placement}.log)");
            return 1;
        }
        let _ = fs::write(format!("build/trace-{placement}.txt"), &text);
        let title = format!("{op}, placement={placement}, one iteration (icount)");
        let (json, summary) = match tr::chrome_json(&events, &title) {
            Ok(j) => j,
            Err(e) => {
                eprintln!("trace: {e}");
                return 1;
            }
        };
        if let Err(e) = tr::check_nesting(&json) {
            eprintln!("trace: the JSON does not nest: {e}");
            return 1;
        }
        let path = format!("build/trace-{placement}.json");
        if let Err(e) = fs::write(&path, json) {
            eprintln!("trace: cannot write {path}: {e}");
            return 1;
        }
        let span = events.last().map_or(0, |l| l.tsc - events[0].tsc);
        println!(
            "trace: {path}: {} events over {span} instructions ({} span ends from before the start left out, {} spans closed at the end)",
            summary.events, summary.dropped_leading, summary.closed_trailing
        );
    }
    println!("open them in https://ui.perfetto.dev or chrome://tracing");
    0
}

/// The one table (`harness::benchtable`): printed, and written to
/// `build/bench.md` and `build/bench.json`, with Linux's figures from
/// `build/bench-linux.txt` (a `make bench-linux` run here) or else the
/// checked-in `tests/fixtures/linux-bench.txt`.
fn write_bench_summary(results: &[harness::Bench]) -> i32 {
    use harness::benchtable;
    const OWN: &str = "build/bench-linux.txt";
    const CHECKED_IN: &str = "tests/fixtures/linux-bench.txt";
    let (source, text) = match fs::read_to_string(OWN) {
        Ok(text) => (
            format!("{OWN}, from make bench-linux on this machine"),
            text,
        ),
        Err(_) => match fs::read_to_string(CHECKED_IN) {
            Ok(text) => (
                format!("{CHECKED_IN}, make bench-linux of 2026-12-04"),
                text,
            ),
            Err(e) => {
                eprintln!("bench: cannot read {CHECKED_IN}: {e}");
                return 1;
            }
        },
    };
    let rows = benchtable::rows(results, &benchtable::parse_lines(&text));
    let md = benchtable::markdown(&rows, &source);
    print!("{md}");
    for (path, body) in [
        ("build/bench.md", md),
        ("build/bench.json", benchtable::json(&rows, &source)),
    ] {
        if let Err(e) = fs::write(path, body) {
            eprintln!("bench: cannot write {path}: {e}");
            return 1;
        }
    }
    println!("(also in build/bench.md and build/bench.json)");
    0
}

/// `make fuzz`: boots the `fuzz` entry with `FUZZ_N` calls and messages
/// from seed `FUZZ_SEED` (the fuzzers' module command lines), waits up to
/// `FUZZ_TIMEOUT` seconds (default 6 hours) and reports as a case does.
/// `FUZZ_ARGS` is added to both fuzzers' arguments.
fn fuzz(base: &str) -> i32 {
    let var = |key: &str, default: &str| env::var(key).unwrap_or_else(|_| default.to_string());
    let (n, seed) = (var("FUZZ_N", "1000000"), var("FUZZ_SEED", "1"));
    // More arguments for both fuzzers: `trace=<i>`, `known=1`, `forge=1`.
    let extra = var("FUZZ_ARGS", "");
    let timeout = var("FUZZ_TIMEOUT", "21600").parse().unwrap_or(21_600);
    let mut config = boot_entry_directly(base, "fuzz");
    for program in ["sysfuzz", "msgfuzz"] {
        config = replace_module_cmdline(
            &config,
            "fuzz",
            &format!("boot():/boot/{program}"),
            format!("seed={seed} n={n} {extra}").trim_end(),
        );
    }
    let started = Instant::now();
    println!("fuzz: n={n} seed={seed}, log in build/test-logs/fuzz-long.log");
    let outcome = match boot_config("fuzz-long", &config, &[]) {
        Ok(mut qemu) => expect_exit_within(
            &mut qemu,
            None,
            programs::FUZZ,
            Duration::from_secs(timeout),
        ),
        Err(e) => Outcome {
            result: Err(e),
            guest: None,
        },
    };
    let took = started.elapsed().as_secs_f64();
    let (passed, failed) = outcome.guest.unwrap_or((0, 0));
    match outcome.result {
        Ok(detail) => {
            println!("PASS fuzz n={n} seed={seed} ({took:.1} s): {detail}; {passed} passed, {failed} failed");
            0
        }
        Err(why) => {
            println!("FAIL fuzz n={n} seed={seed} ({took:.1} s): {why} -- log: build/test-logs/fuzz-long.log");
            1
        }
    }
}

/// `make chaos`: boots the `chaos` entry with `CHAOS_N` kills from seed
/// `CHAOS_SEED` (the chaos program's command line), waits up to
/// `CHAOS_TIMEOUT` seconds (default 2 hours), checks the disk as the
/// short run's case does, and reports as a case does; the per-target
/// `CHAOS` lines are printed.
fn chaos(base: &str) -> i32 {
    let var = |key: &str, default: &str| env::var(key).unwrap_or_else(|_| default.to_string());
    let (n, seed) = (var("CHAOS_N", "1000"), var("CHAOS_SEED", "1"));
    let timeout = var("CHAOS_TIMEOUT", "7200").parse().unwrap_or(7_200);
    let config = replace_module_cmdline(
        &boot_entry_directly(base, "chaos"),
        "chaos",
        "boot():/boot/chaos",
        &format!("seed={seed} kills={n}"),
    );
    if let Err(e) = fresh_ext2_image(
        Path::new(CHAOS_LONG_DISK),
        EXT2_DISK_KIB,
        "chaos-long-disk-tree",
        EXT2_README,
    ) {
        eprintln!("chaos: {e}");
        return 1;
    }
    let started = Instant::now();
    println!("chaos: kills={n} seed={seed}, log in build/test-logs/chaos-long.log");
    let outcome = match boot_config("chaos-long", &config, extra_args("chaos-long")) {
        Ok(mut qemu) => {
            let outcome = expect_exit_within(
                &mut qemu,
                None,
                programs::CHAOS,
                Duration::from_secs(timeout),
            );
            chaos_disk_checked(&mut qemu, outcome, CHAOS_LONG_DISK)
        }
        Err(e) => Outcome {
            result: Err(e),
            guest: None,
        },
    };
    let took = started.elapsed().as_secs_f64();
    if let Ok(log) = fs::read_to_string("build/test-logs/chaos-long.debug.log") {
        log.lines()
            .filter_map(|l| l.split_once("CHAOS ").map(|(_, rest)| rest))
            .for_each(|l| println!("  {l}"));
    }
    let (passed, failed) = outcome.guest.unwrap_or((0, 0));
    match outcome.result {
        Ok(detail) => {
            println!("PASS chaos kills={n} seed={seed} ({took:.1} s): {detail}; {passed} passed, {failed} failed");
            0
        }
        Err(why) => {
            println!("FAIL chaos kills={n} seed={seed} ({took:.1} s): {why} -- log: build/test-logs/chaos-long.log");
            1
        }
    }
}

/// `make traces`: the test entry with `kv`, `wait1`, `timer` and `mm`
/// recording their requests and replies (the timer its hardware calls,
/// mm its core's steps and machine calls) (`record` on their modules' command lines, which
/// init appends to their arguments: libsys::record); the REC lines land
/// in build/test-logs/record.debug.log for `lab extract`; then vfs in
/// the posix entry ([`record_vfs`]).
fn record(base: &str) -> i32 {
    let mut config = boot_entry_directly(base, "test");
    // The timer serves every sleeper and timer of the suite: its first
    // 2,000 lines of each instance (whole steps) are a trace to ship.
    for (module, word) in [
        ("kv", "record"),
        ("wait1d", "record"),
        ("timer", "record=2000"),
        // mm's first 12,400 lines: boot, the adoptions and faults of the
        // servers and first tests, and mmtest's first fork with its
        // copy-on-write faults (about 370 KB).
        ("mm", "record=12400"),
    ] {
        let line = format!("module_path: boot():/boot/{module}\n");
        config = config.replace(&line, &format!("{line}    module_cmdline: {word}\n"));
    }
    // The guest suite's disk, as in its case (blktest writes vda).
    if let Err(e) = fresh_disk() {
        eprintln!("record: {e}");
        return 1;
    }
    let outcome = match boot_config("record", &config, extra_args("guest-suite")) {
        Ok(mut qemu) => expect_exit(&mut qemu, None, programs::GUEST_SUITE),
        Err(e) => Outcome {
            result: Err(e),
            guest: None,
        },
    };
    let test = match outcome.result {
        Ok(detail) => {
            println!("PASS record: {detail} (log: build/test-logs/record.debug.log)");
            0
        }
        Err(why) => {
            println!("FAIL record: {why} -- log: build/test-logs/record.log");
            1
        }
    };
    test | record_vfs(base)
}

/// `make traces`' second boot: the posix entry (the posix suite's case)
/// with vfs recording its first 8,000 lines (`record=8000` added to its
/// manifest line: its start, then the suite's first requests), into
/// build/test-logs/record-vfs.debug.log.
fn record_vfs(base: &str) -> i32 {
    let manifest = "build/iso_root/boot/manifest.posix";
    let recording = "build/iso_root/boot/manifest.posix-record";
    let text = match fs::read_to_string(manifest) {
        Ok(text) => text,
        Err(e) => {
            eprintln!("record-vfs: {manifest}: {e} (make tree first)");
            return 1;
        }
    };
    let vfs_line = text.lines().find(|l| l.starts_with("server vfs "));
    let Some(vfs_line) = vfs_line.filter(|l| l.contains(" -- ")) else {
        eprintln!("record-vfs: {manifest} has no `server vfs … -- …` line");
        return 1;
    };
    let text = text.replace(vfs_line, &format!("{vfs_line} record=8000"));
    if let Err(e) = fs::write(recording, text) {
        eprintln!("record-vfs: {recording}: {e}");
        return 1;
    }
    let config = boot_entry_directly(base, "posix").replace(
        "boot():/boot/manifest.posix\n",
        "boot():/boot/manifest.posix-record\n",
    );
    if let Err(e) = fresh_ext2_disk() {
        eprintln!("record-vfs: {e}");
        return 1;
    }
    let outcome = match boot_config("record-vfs", &config, extra_args("posix-suite")) {
        Ok(mut q) => {
            let typing = &[(TTY_PROMPT, "hello\n"), (TTY_PROMPT_INTR, "\x03")];
            expect_exit_typing(&mut q, None, typing, programs::POSIX, BOOT_TIMEOUT)
        }
        Err(e) => Outcome {
            result: Err(e),
            guest: None,
        },
    };
    let _ = fs::remove_file(recording);
    match outcome.result {
        Ok(detail) => {
            println!("PASS record-vfs: {detail} (log: build/test-logs/record-vfs.debug.log)");
            0
        }
        Err(why) => {
            println!("FAIL record-vfs: {why} -- log: build/test-logs/record-vfs.log");
            1
        }
    }
}

fn main() {
    let base = fs::read_to_string("limine.cfg")
        .expect("run the harness from the repository root (make test)");
    fs::create_dir_all("build/test-logs").expect("cannot create build/test-logs");
    match (env::args().nth(1).as_deref(), env::args().nth(2)) {
        (Some("bench"), _) => std::process::exit(bench(&base)),
        (Some("breakdown"), _) => std::process::exit(breakdown(&base)),
        (Some("trace"), Some(op)) => std::process::exit(trace(&base, &op)),
        (Some("fuzz"), _) => std::process::exit(fuzz(&base)),
        (Some("chaos"), _) => std::process::exit(chaos(&base)),
        (Some("record"), _) => std::process::exit(record(&base)),
        (Some("new-server"), Some(name)) => {
            match scaffold::create(Path::new("."), &name) {
                Ok(done) => {
                    for line in done {
                        println!("{line}");
                    }
                    println!("next: make run (boots with {name} registered and runs {name}ctl once); see docs/writing-a-server.md");
                }
                Err(why) => {
                    eprintln!("make new-server: {why}");
                    std::process::exit(1);
                }
            }
            return;
        }
        (Some("new-server"), None) => {
            eprintln!("usage: make new-server NAME=<name>");
            std::process::exit(2);
        }
        _ => {}
    }
    let only: Option<Vec<String>> = env::var("HARNESS_CASES")
        .ok()
        .map(|v| v.split(',').map(str::to_string).collect());

    let (mut passed, mut failed) = (0, 0);
    for (name, make) in cases() {
        if only
            .as_ref()
            .is_some_and(|only| !only.iter().any(|o| o == name))
        {
            continue;
        }
        let started = Instant::now();
        let outcome = run_case(name, make, &base);
        if let Some((p, f)) = outcome.guest {
            passed += p;
            failed += f;
        }
        match outcome.result {
            Ok(detail) => {
                passed += 1;
                println!(
                    "PASS {name} ({:.1} s): {detail}",
                    started.elapsed().as_secs_f64()
                );
            }
            Err(why) => {
                failed += 1;
                println!("FAIL {name}: {why} -- log: build/test-logs/{name}.log");
            }
        }
    }
    if only
        .as_ref()
        .is_none_or(|only| only.iter().any(|o| o == "new-server"))
    {
        let started = Instant::now();
        match new_server_case().result {
            Ok(detail) => {
                passed += 1;
                println!(
                    "PASS new-server ({:.1} s): {detail}",
                    started.elapsed().as_secs_f64()
                );
            }
            Err(why) => {
                failed += 1;
                println!("FAIL new-server: {why} -- log: build/test-logs/new-server.log");
            }
        }
    }
    if passed + failed == 0 {
        eprintln!("harness: no case ran (HARNESS_CASES={only:?} names none)");
        std::process::exit(1);
    }
    println!("{passed} passed, {failed} failed");
    std::process::exit(if failed == 0 { 0 } else { 1 });
}
