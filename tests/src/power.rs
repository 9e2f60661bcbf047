//! The power cases: `make run`'s entry with an ext2 disk on vda (mounted
//! on `/mnt` by `/etc/rc`), typed at through COM1 as a person would, and
//! ended by the guest itself.
//!
//! - `poweroff`: a file written on `/mnt`; `poweroff` from inside `/mnt`
//!   refuses (busy) and the machine stays on; then a background job
//!   started in `/mnt` (which keeps it busy) that saves a file there when
//!   `SIGTERM` comes (`procchild term`), and `poweroff` from `/`: its
//!   `SIGTERM` sweep ends the job, which writes its file, before the
//!   unmount. QEMU runs without `isa-debug-exit` and without
//!   `-no-reboot`, so it can only end with status 0 by the guest's ACPI
//!   power-off (a reset would boot again and time out). Then, on the
//!   host: the image's state is `clean` (`dumpe2fs -h`: the unmount
//!   happened), `e2fsck -fn` finds nothing, and `debugfs` reads both
//!   files back.
//! - `reboot`: `reboot` with `-no-reboot`, so the reset ends QEMU with 0;
//!   the image must be clean too.
//!
//! Each also needs the kernel's line for the path it took (`power:
//! power down`, `power: restart`) and the tool's `unmounted /mnt` (and
//! for `poweroff`, its `sent SIGTERM to 1 process`), and
//! fails on the kernel's line for a step that did nothing (`power: the
//! … did nothing`: the fallbacks must not be needed on QEMU). The
//! figures: QEMU start to exit, and typing the command to exit.

use std::time::{Duration, Instant};

use harness::{boot_entry_directly, is_panic};

use crate::{
    debugfs_cat, e2fs_tool, expect_session, fsck_clean, make_ext2_image, Case, Outcome, Qemu,
};

/// The cases this file adds (they boot without the exit device).
pub const CASES: &[&str] = &["poweroff", "reboot"];

/// Their disk: a fresh ext2 image each run, never committed.
pub const DISK: &str = "build/power-disk.img";
const DISK_KIB: u64 = 4096;
/// The file the `poweroff` case writes, as the guest and the image name
/// it, and what it holds (with `echo`'s newline).
const NOTE_GUEST: &str = "/mnt/note.txt";
const NOTE_IMAGE: &str = "/note.txt";
const NOTE_TEXT: &str = "written before poweroff";
/// The file the background job writes when `SIGTERM` comes, as the guest
/// and the image name it, and what it holds.
const TERM_GUEST: &str = "/mnt/term.txt";
const TERM_IMAGE: &str = "/term.txt";
const TERM_TEXT: &str = "caught SIGTERM\n";
/// The job's line once it waits for `SIGTERM`.
const JOB_READY: &str = "procchild: waiting for SIGTERM";
/// From the command typed to QEMU's exit, at most.
const STOP_TIMEOUT: Duration = Duration::from_secs(30);
/// What `poweroff` says when the shell works in `/mnt`.
const BUSY: &str = "poweroff: /mnt is busy (a process has a file open there or works in it); \
                    the machine stays on (-f skips the unmount)";
/// The line that says the shell runs (the first step waits for it).
const SHELL_UP: &str = "getty: running /bin/sh on /dev/console";

/// The QEMU arguments of `name`'s boot: the disk on vda (q35 slot 3, as
/// `make run` has it), and for `reboot`, `-no-reboot`.
pub fn extra_args(name: &str) -> &'static [&'static str] {
    match name {
        "poweroff" => &[
            "-drive",
            "file=build/power-disk.img,if=none,id=vda,format=raw",
            "-device",
            "virtio-blk-pci,drive=vda,addr=0x3",
        ],
        "reboot" => &[
            "-drive",
            "file=build/power-disk.img,if=none,id=vda,format=raw",
            "-device",
            "virtio-blk-pci,drive=vda,addr=0x3",
            "-no-reboot",
        ],
        _ => &[],
    }
}

/// A fresh [`DISK`] with a README.
pub fn fresh_disk() -> Result<(), String> {
    make_ext2_image(
        DISK,
        "build/power-disk-tree",
        DISK_KIB,
        &[("README", b"the disk of the power cases\n")],
    )
}

pub fn cases() -> Vec<Case> {
    vec![
        ("poweroff", |cfg| {
            let cfg = boot_entry_directly(cfg, "Microkernel");
            let write = format!("echo '{NOTE_TEXT}' > {NOTE_GUEST}; cat {NOTE_GUEST}\n");
            let steps: Vec<(&'static str, String)> = vec![
                (
                    SHELL_UP,
                    "mount | grep -c '^/dev/vda /mnt ext2 rw'\n".into(),
                ),
                ("1", write),
                // The shell working in /mnt holds it: poweroff refuses,
                // and the machine stays on.
                (NOTE_TEXT, "cd /mnt; poweroff; echo status $?\n".into()),
                // A job in /mnt holds it too, until poweroff's SIGTERM
                // ends it (and it saves its file).
                (BUSY, format!("procchild term {TERM_GUEST} &\n")),
            ];
            (
                cfg,
                Box::new(move |q| {
                    let steps: Vec<(&str, &str)> =
                        steps.iter().map(|(w, k)| (*w, k.as_str())).collect();
                    let mut session = expect_session(q, &steps);
                    if session.result.is_ok() {
                        // The job's line shares the console with the
                        // kernel's and the prompt: a session of its own,
                        // whose first step is found within a line.
                        session = expect_session(q, &[(JOB_READY, "cd /; poweroff\n")]);
                    }
                    let lines = [
                        "power: power down",
                        "poweroff: sent SIGTERM to 1 process",
                        "poweroff: unmounted /mnt",
                    ];
                    stopped(q, session, &lines).and_disk(true)
                }),
            )
        }),
        ("reboot", |cfg| {
            let cfg = boot_entry_directly(cfg, "Microkernel");
            (
                cfg,
                Box::new(|q| {
                    let steps = [
                        (SHELL_UP, "mount | grep -c '^/dev/vda /mnt ext2 rw'\n"),
                        ("1", "reboot\n"),
                    ];
                    let session = expect_session(q, &steps);
                    stopped(q, session, &["power: restart", "reboot: unmounted /mnt"])
                        .and_disk(false)
                }),
            )
        }),
    ]
}

/// A power case's outcome before the host looks at the disk.
struct Stopped(Outcome);

/// After the session typed its last command: QEMU must exit with 0
/// within [`STOP_TIMEOUT`], having printed each of `needed` (the kernel's
/// line for the path, the tool's lines), and no panic.
fn stopped(qemu: &mut Qemu, session: Outcome, needed: &[&str]) -> Stopped {
    if session.result.is_err() {
        return Stopped(session);
    }
    let typed = Instant::now();
    let deadline = typed + STOP_TIMEOUT;
    let mut missing = needed.to_vec();
    let result = loop {
        match qemu.next_line(deadline) {
            Ok((_, line)) => {
                if is_panic(&line) {
                    break Err(format!("panic: {line}"));
                }
                // The kernel's lines when a step did not work ("power: the
                // ACPI reset register did nothing; …"): the case wants
                // the first way to work.
                if line.contains("power: the ") {
                    break Err(format!("a fallback was needed: {line}"));
                }
                missing.retain(|needle| !line.contains(needle));
            }
            Err(None) => {
                break Err(format!(
                    "QEMU still runs {} s after the command",
                    STOP_TIMEOUT.as_secs()
                ))
            }
            Err(Some(0)) if missing.is_empty() => {
                break Ok(format!(
                    "QEMU exited 0 {:.1} s after it started, {:.1} s after the command",
                    qemu.started.elapsed().as_secs_f64(),
                    typed.elapsed().as_secs_f64()
                ))
            }
            Err(Some(code)) => {
                break Err(format!(
                    "QEMU exited with {code}; never printed {missing:?}"
                ))
            }
        }
    };
    Stopped(Outcome {
        result,
        guest: None,
    })
}

impl Stopped {
    /// The host's checks of [`DISK`]: unmounted clean, `e2fsck -fn`
    /// clean, and with `note`, the file the session wrote and the one the
    /// job saved on `SIGTERM` read back.
    fn and_disk(self, note: bool) -> Outcome {
        let outcome = self.0;
        let Ok(detail) = outcome.result else {
            return outcome;
        };
        let result = state_clean(DISK)
            .and_then(|()| fsck_clean(DISK))
            .and_then(|()| {
                if !note {
                    return Ok(());
                }
                let note_text = format!("{NOTE_TEXT}\n");
                for (image, want) in [(NOTE_IMAGE, note_text.as_str()), (TERM_IMAGE, TERM_TEXT)] {
                    let read = debugfs_cat(DISK, image)?;
                    if read != want.as_bytes() {
                        return Err(format!(
                            "{DISK}: debugfs read {:?} from {image}, not {want:?}",
                            String::from_utf8_lossy(&read)
                        ));
                    }
                }
                Ok(())
            })
            .map(|()| {
                let read_back = if note {
                    ", the note and the job's file saved on SIGTERM read back"
                } else {
                    ""
                };
                format!("{detail}; the disk unmounted clean, e2fsck -fn clean{read_back}")
            });
        Outcome { result, ..outcome }
    }
}

/// `Ok` if `dumpe2fs -h` says the image was unmounted cleanly.
fn state_clean(image: &str) -> Result<(), String> {
    let out = std::process::Command::new(e2fs_tool("dumpe2fs"))
        .arg("-h")
        .arg(image)
        .output()
        .map_err(|e| format!("dumpe2fs: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    let state = text
        .lines()
        .find_map(|l| l.strip_prefix("Filesystem state:"))
        .map(str::trim);
    match state {
        Some("clean") => Ok(()),
        other => Err(format!(
            "{image}: the file system state is {other:?}, not clean: it was not unmounted"
        )),
    }
}
