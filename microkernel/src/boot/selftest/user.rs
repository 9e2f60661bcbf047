//! The user-mode tests: the test programs (`userland/src/bin/ktest.rs`,
//! `kfault.rs`), loaded from boot modules and run as processes.
//!
//! - `ktest syscalls` makes every system call with good and bad arguments
//!   and reports its own checks through its exit status;
//! - one `kfault` process per fault (null dereference, writes to read-only
//!   memory, execution from a non-executable page, `ud2`, division by zero,
//!   touching or jumping into the kernel, privileged instructions, ...):
//!   each must be killed by the expected exception, while `ktest tick`
//!   (which spins for a second and checks `jiffies`) runs alongside and
//!   must finish unharmed;
//! - the same batch runs twice, and after the second the free frames and
//!   the kernel heap must be exactly where they were before it: a dead
//!   process gives back everything;
//! - images that are not programs are refused with the loader's error.

use alloc::sync::Arc;
use alloc::vec::Vec;
use libsys::abi::PAGE_SIZE;

use super::{ensure, fail, Tally, Why};
use crate::arch::bootinfo::{BootFile, BootInfo};
use crate::mem::frames as memory;
use crate::mem::heap;
use crate::obj::process::{self, ExitReason, Process, SpawnError};

/// A fault, the vector that must kill it, and for page faults the error
/// code (P = 1, W = 2, U = 4, I = 16).
const FAULTS: &[(&str, u64, Option<u64>)] = &[
    ("null", 14, Some(0x4)),
    ("write-rodata", 14, Some(0x7)),
    ("exec-nx", 14, Some(0x15)),
    ("kernel-read", 14, Some(0x5)),
    ("kernel-jump", 14, Some(0x15)),
    ("stack-overflow", 14, Some(0x6)),
    ("ud2", 6, None),
    ("sse", 6, None),
    ("divide", 0, None),
    ("hlt", 13, None),
    ("cli", 13, None),
    ("cr3", 13, None),
    ("port-io", 13, None),
    ("int80", 13, None),
    ("non-canonical", 13, None),
];

/// The memory `utest` is given (64 MiB): the rest goes to `init`, which
/// runs after it (the kernel does not take memory regions back).
const UTEST_PAGES: u64 = 16384;

fn module<'a>(info: &'a BootInfo, name: &str) -> Option<&'a BootFile> {
    info.modules.iter().find(|m| m.name() == name)
}

fn spawn(file: &BootFile, args: &str) -> Result<Arc<Process>, Why> {
    match process::spawn(file.name(), file.bytes(), args, false, |_, _| Ok(())) {
        Ok(p) => Ok(p),
        Err(e) => fail!("cannot start {} {args}: {e}", file.name()),
    }
}

pub fn run(info: &BootInfo, tally: &mut Tally) {
    let (Some(ktest), Some(kfault)) = (module(info, "ktest"), module(info, "kfault")) else {
        tally.record(
            "test programs present",
            Err(Why::try_from("no ktest or kfault module").unwrap_or_default()),
        );
        return;
    };
    tally.record("a non-ELF module is refused", refuses_non_elf(info));
    let result = program(ktest, "syscalls", tally);
    tally.record(
        "user: every system call with good and bad arguments",
        result,
    );

    // The first batch lets the kernel's tables and lists reach their
    // working size; the second must leave memory exactly as it found it.
    fault_batch(ktest, kfault, tally, false);
    let frames = memory::free_frames();
    let heap_size = heap::usage().0;
    let heap_used = heap::usage().1;
    fault_batch(ktest, kfault, tally, true);
    tally.record(
        "user: dead processes give back every frame and heap byte",
        no_leak(frames, heap_size, heap_used),
    );
    // Last: it is given the first process's handles, all free memory
    // among them.
    match module(info, "utest") {
        Some(utest) => {
            let result = program_with(utest, "", tally, |p, t| {
                crate::boot::initproc::give(p, t, info, UTEST_PAGES)
            });
            tally.record(
                "user: IPC, handles, pagers, IRQs, ports and the scheduler (utest)",
                result,
            );
        }
        None => tally.record(
            "user: utest present",
            Err(Why::try_from("no utest module").unwrap_or_default()),
        ),
    }
    // Then the system proper: init with the test manifest (servers, the
    // name service, restarts; its tests' checks are added to the tally).
    match module(info, "init") {
        Some(init) => {
            let result = program_with(init, "", tally, |p, t| {
                crate::boot::initproc::give(p, t, info, u64::MAX)
            });
            tally.record(
                "user: init, the name service, kv and restarts (manifest.test)",
                result,
            );
        }
        None => tally.record(
            "user: init present",
            Err(Why::try_from("no init module").unwrap_or_default()),
        ),
    }
}

/// Runs `name args` and adds the checks it reports to the tally.
fn program(file: &BootFile, args: &str, tally: &mut Tally) -> Result<(), Why> {
    program_with(file, args, tally, |_, _| Ok(()))
}

/// As [`program`], with `prepare` run before the process starts.
fn program_with(
    file: &BootFile,
    args: &str,
    tally: &mut Tally,
    prepare: impl FnOnce(&Arc<Process>, &Arc<crate::obj::thread::Thread>) -> Result<(), SpawnError>,
) -> Result<(), Why> {
    let process = match process::spawn(file.name(), file.bytes(), args, false, prepare) {
        Ok(p) => p,
        Err(e) => fail!("cannot start {} {args}: {e}", file.name()),
    };
    match process::wait(&process) {
        ExitReason::Exited(status) => {
            let (passed, failed) = (status >> 16 & 0xffff, status & 0xffff);
            tally.add(passed, failed);
            ensure!(
                failed == 0 && passed > 0,
                "{failed} of its {} checks failed",
                passed + failed
            );
            Ok(())
        }
        other => fail!("{} {args} {other}", file.name()),
    }
}

/// Starts `ktest tick`, then one process per fault; each fault must be
/// killed with its vector while `tick` keeps running and passes.
fn fault_batch(ktest: &BootFile, kfault: &BootFile, tally: &mut Tally, report_each: bool) {
    let ticker = spawn(ktest, "tick");
    let victims: Vec<_> = FAULTS.iter().map(|f| (f, spawn(kfault, f.0))).collect();
    for ((name, vector, error), victim) in victims {
        let result = victim.and_then(|p| match process::wait(&p) {
            ExitReason::Fault {
                vector: v,
                error: e,
                ..
            } if v == *vector && error.is_none_or(|want| e & 0x1f == want) => Ok(()),
            other => fail!("expected vector {vector} error {error:?}; {other}"),
        });
        if report_each || result.is_err() {
            let mut name_line = heapless::String::<80>::new();
            let _ = core::fmt::Write::write_fmt(
                &mut name_line,
                format_args!("user: kfault {name} is killed by vector {vector}"),
            );
            tally.record(&name_line, result);
        }
    }
    let result = ticker.and_then(|p| match process::wait(&p) {
        ExitReason::Exited(status) => {
            let (passed, failed) = (status >> 16 & 0xffff, status & 0xffff);
            if report_each {
                tally.add(passed, failed);
            }
            ensure!(
                failed == 0 && passed == 1,
                "tick reported {failed} failures"
            );
            Ok(())
        }
        other => fail!("tick {other}"),
    });
    if report_each || result.is_err() {
        tally.record(
            "user: ktest tick ran to the end beside the faulting processes",
            result,
        );
    }
}

fn no_leak(frames: u64, heap_size: u64, heap_used: u64) -> Result<(), Why> {
    let (size, used) = heap::usage();
    // Frames the heap took to grow are not a leak of a process's.
    let grown = (size - heap_size) / PAGE_SIZE;
    let now = memory::free_frames() + grown;
    ensure!(
        now == frames,
        "{} frames not given back",
        frames as i64 - now as i64
    );
    ensure!(
        used == heap_used,
        "{} heap bytes not given back",
        used as i64 - heap_used as i64
    );
    ensure!(
        process::count() == 0,
        "{} processes left in the table",
        process::count()
    );
    Ok(())
}

fn refuses_non_elf(info: &BootInfo) -> Result<(), Why> {
    let Some(motd) = module(info, "motd.txt") else {
        fail!("no motd.txt module")
    };
    let frames = memory::free_frames();
    match process::spawn("motd", motd.bytes(), "", false, |_, _| Ok(())) {
        Err(SpawnError::Load(e)) => {
            ensure!(
                memory::free_frames() == frames,
                "a refused image kept frames"
            );
            crate::printk!(Info, "motd.txt refused: {e}");
            Ok(())
        }
        Err(e) => fail!("refused with {e}, expected a loader error"),
        Ok(_) => fail!("a text file was started as a program"),
    }
}
