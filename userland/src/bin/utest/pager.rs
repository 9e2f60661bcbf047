//! Pagers: page faults as messages to another process, which maps a page
//! and resumes the thread or answers "kill"; a new thread inherits its
//! maker's pager; a process killed before it first runs still dies.

use core::sync::atomic::{AtomicU64, Ordering};

use libsys::abi::ipc::{LABEL_PAGE_FAULT, PAGER_KILL, PAGER_RESUME};
use libsys::abi::{ProcessStatus, Protection, Rights, SysError, Syscall};
use libsys::format_text;
use libsys::handle::{Endpoint, Notification, Process};
use libsys::ipc::{self, Message};
use libsys::syscall::call6;

use crate::*;

pub(crate) fn pager(env: &mut Env) -> Result<(), Why> {
    const PAGES: u64 = 16;
    let pager = Endpoint::create().step("endpoint_create")?;
    let done = Notification::create().step("notification_create")?;
    // Bound to this thread by handle 0 (the calling thread).
    done.bind_current().step("bind")?;
    let child = env.partner(
        format_text!("touch {PAGES}").as_str(),
        done.raw(),
        Rights::SEND,
        Some(pager.raw()),
    )?;
    let mut faults = 0;
    let outcome = loop {
        let got = pager.recv(5_000_000_000).step("pager recv")?;
        if let Some(bits) = got.signals() {
            break bits;
        }
        let msg = got.msg;
        ensure!(
            msg.label() == LABEL_PAGE_FAULT,
            "the pager got label {:#x}",
            msg.label()
        );
        let (address, error) = (msg.words[0], msg.words[1]);
        ensure!(
            (DEMAND_BASE..DEMAND_BASE + PAGES * libsys::abi::PAGE_SIZE).contains(&address)
                && error & 4 != 0,
            "fault at {address:#x} error {error:#x}"
        );
        let page = env.mem.alloc(1).step("a page")?;
        env.mem
            .map_into(
                &child.process,
                address & !0xfff,
                page,
                Protection::READ | Protection::WRITE,
            )
            .step("map the page")?;
        faults += 1;
        ipc::reply(&Message::new(PAGER_RESUME)).step("resume")?;
    };
    ensure!(
        outcome == 1,
        "the child read back the wrong values (bits {outcome})"
    );
    ensure!(faults == PAGES, "{faults} faults for {PAGES} pages");
    let status = env.reap(&child.process)?;
    ensure!(
        status == ProcessStatus::Exited(0),
        "the touching child ended {status:?}"
    );
    Ok(())
}

/// A child is killed right after it is started, before it has run: its
/// first instruction faults (its stack is not even touched yet) or makes
/// a call. Either way it must die; a pager that still answers its fault
/// must not leave it blocked for good.
pub(crate) fn killed_before_running(env: &mut Env) -> Result<(), Why> {
    let pager = Endpoint::create().step("endpoint_create")?;
    let done = Notification::create().step("notification_create")?;
    let child = env.partner("touch 1", done.raw(), Rights::SEND, Some(pager.raw()))?;
    // A process that never had a thread dies when killed, too.
    let empty = Process::create("empty").step("process_create")?;
    empty.kill().step("kill an empty process")?;
    let status = empty.status().step("process_status")?;
    ensure!(
        matches!(status, ProcessStatus::Killed(_)),
        "an empty process killed is {status:?}"
    );

    child.process.kill().step("kill")?;
    // If the child ran before the kill and faulted, answer it: the reply
    // to a killed caller must let it go.
    if let Ok(got) = pager.recv(200_000_000) {
        if got.msg.label() == LABEL_PAGE_FAULT {
            let _ = ipc::reply(&Message::new(PAGER_RESUME));
        }
    }
    let status = env.reap(&child.process)?;
    ensure!(
        matches!(status, ProcessStatus::Killed(_)),
        "the child ended {status:?}, expected killed"
    );
    Ok(())
}

/// Where `pager_inherited`'s thread touches (nothing is mapped there).
pub(crate) const INHERIT_AT: u64 = 0x6100_0000_0000;
pub(crate) static INHERIT_SEEN: AtomicU64 = AtomicU64::new(0);

pub(crate) extern "C" fn inherit_toucher(_: u64, _: u64) -> ! {
    // SAFETY: nothing is mapped there: the write faults to the pager this
    // thread inherited, which maps a page and lets it go on.
    unsafe { (INHERIT_AT as *mut u64).write_volatile(0x1234) };
    // SAFETY: mapped now.
    let seen = unsafe { (INHERIT_AT as *const u64).read_volatile() };
    INHERIT_SEEN.store(seen, Ordering::Release);
    libsys::thread::exit()
}

pub(crate) fn pager_inherited(env: &mut Env) -> Result<(), Why> {
    let before = process_info(env)?;
    ensure!(
        before.pid > 0
            && before.threads >= 1
            && before.mapped_pages > 0
            && before.name() == "utest",
        "process_info said {before:?}"
    );
    let bad = call6(
        Syscall::ProcessInfo,
        [u64::from(env.me.raw().0), 0xffff_8000_0000_0000, 0, 0, 0, 0],
    );
    ensure!(
        bad == Err(SysError::BadAddress),
        "process_info into the kernel: {bad:?}"
    );
    inherited_pager_serves(env)?;
    map_replaces(env, &before)
}

/// What `process_info` says about this process.
fn process_info(env: &Env) -> Result<libsys::abi::ProcessInfo, Why> {
    let mut out = libsys::abi::ProcessInfo::default();
    call6(
        Syscall::ProcessInfo,
        [
            u64::from(env.me.raw().0),
            &mut out as *mut _ as u64,
            0,
            0,
            0,
            0,
        ],
    )
    .step("process_info")?;
    Ok(out)
}

/// A thread made after the main thread's pager is set inherits it: its
/// fault reaches that pager, which maps the page and resumes it.
fn inherited_pager_serves(env: &mut Env) -> Result<(), Why> {
    // The main thread's pager is set; a thread made after that inherits it.
    let pager = Endpoint::create().step("endpoint_create")?;
    env.my_thread.set_pager(Some(&pager)).step("set_pager")?;
    let thread = libsys::thread::spawn_raw(&mut env.mem, &env.me, inherit_toucher, 0);
    let result = (|| -> Result<(), Why> {
        let _thread = thread.step("spawn the toucher")?;
        let got = pager.recv(5_000_000_000).step("pager recv")?;
        let (address, error) = (got.msg.words[0], got.msg.words[1]);
        ensure!(
            got.msg.label() == LABEL_PAGE_FAULT && address == INHERIT_AT && error & 2 != 0,
            "got label {:#x} address {address:#x} error {error:#x}",
            got.msg.label()
        );
        let page = env.mem.alloc(1).step("a page")?;
        env.mem
            .map_into(
                &env.me,
                INHERIT_AT,
                page,
                Protection::READ | Protection::WRITE,
            )
            .step("map")?;
        ipc::reply(&Message::new(PAGER_RESUME)).step("resume")?;
        for _ in 0..500 {
            if INHERIT_SEEN.load(Ordering::Acquire) != 0 {
                break;
            }
            libsys::time::sleep_ms(2);
        }
        let seen = INHERIT_SEEN.load(Ordering::Acquire);
        ensure!(seen == 0x1234, "the thread read back {seen:#x}");
        Ok(())
    })();
    env.my_thread.set_pager(None).step("clear set_pager")?;
    result
}

/// Maps another page over a mapped one: `Exists`, unless with
/// `MAP_REPLACE`; `before` is what `process_info` said before the test.
fn map_replaces(env: &mut Env, before: &libsys::abi::ProcessInfo) -> Result<(), Why> {
    // Map another page over the first: `Exists`, unless MAP_REPLACE.
    let other = env.mem.alloc_mapped(1).step("a second page")?;
    // SAFETY: the page was just mapped into this process, writable.
    unsafe { (other.1 as *mut u64).write_volatile(0x5678) };
    let rw = (Protection::READ | Protection::WRITE).bits();
    let args = |flags: u64| {
        [
            u64::from(env.me.raw().0),
            INHERIT_AT,
            u64::from(other.0.region.0),
            other.0.first,
            1,
            rw | flags,
        ]
    };
    let plain = call6(Syscall::Map, args(0));
    ensure!(
        plain == Err(SysError::Exists),
        "a second map gave {plain:?}"
    );
    call6(Syscall::Map, args(libsys::abi::MAP_REPLACE)).step("map with MAP_REPLACE")?;
    // SAFETY: mapped (the second page, now also at INHERIT_AT).
    let now = unsafe { (INHERIT_AT as *const u64).read_volatile() };
    ensure!(now == 0x5678, "after the replace the page reads {now:#x}");
    let after = process_info(env)?;
    ensure!(
        after.mapped_pages >= before.mapped_pages + 2,
        "mapped pages {} then {}",
        before.mapped_pages,
        after.mapped_pages
    );
    env.me.unmap(INHERIT_AT, 1).step("unmap")?;
    Ok(())
}

pub(crate) fn pager_kill(env: &mut Env) -> Result<(), Why> {
    let pager = Endpoint::create().step("endpoint_create")?;
    let done = Notification::create().step("notification_create")?;
    let child = env.partner("touch 1", done.raw(), Rights::SEND, Some(pager.raw()))?;
    let got = pager.recv(5_000_000_000).step("pager recv")?;
    ensure!(
        got.msg.label() == LABEL_PAGE_FAULT,
        "label {:#x}",
        got.msg.label()
    );
    ipc::reply(&Message::new(PAGER_KILL)).step("kill answer")?;
    let status = env.reap(&child.process)?;
    ensure!(
        status == ProcessStatus::Fault(14),
        "the child ended {status:?}, expected a page fault"
    );
    Ok(())
}
