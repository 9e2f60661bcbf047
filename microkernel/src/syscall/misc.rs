//! `null`, `log` and `clock`: the calls that touch no kernel object; and
//! the console hand-off and log watchers (`obj::console`).

use core::fmt::Write;

use libsys::abi::args::{Address, Log, LogNotify, LogRead, OneHandle};
use libsys::abi::meter::MeterArgs;
use libsys::abi::{ClockInfo, Rights, SysError, LOG_MAX, LOG_READ_MAX};

use super::caller;
use crate::arch::time;
use crate::arch::x86_64::trap::TrapFrame;
use crate::mem::usercopy::{UserPtr, UserSlice};
use crate::obj::console;
use crate::obj::handle::{lookup, ConsoleControl};
use crate::obj::notification::Notification;

/// `meter(operation, argument)`: the cost meter and the path trace
/// (`libsys::abi::meter`; `klog::meter`).
#[cfg(feature = "meter")]
pub fn meter(args: MeterArgs, frame: &mut TrapFrame) -> Result<u64, SysError> {
    use crate::klog::meter;
    use libsys::abi::meter::MeterReport;
    match args {
        MeterArgs::Start { trace } => {
            let tid = crate::sched::current_name_and_tid().map_or(0, |(_, tid)| u64::from(tid));
            meter::start(trace, tid);
        }
        MeterArgs::Stop { out } => {
            let report = meter::stop();
            let out = UserPtr::<MeterReport>::new(out)?;
            let process = caller()?;
            crate::ipc::pager::with_user(&process, frame.rip, |aspace| out.write(aspace, &report))?;
        }
        MeterArgs::Dump => meter::dump(),
    }
    Ok(0)
}

/// `meter`: a kernel built without the `meter` feature has no such call
/// (its arguments are still decoded first, as for every call).
#[cfg(not(feature = "meter"))]
pub fn meter(_: MeterArgs, _: &mut TrapFrame) -> Result<u64, SysError> {
    Err(SysError::UnknownSyscall)
}

/// Returns at once: what entering and leaving the kernel costs.
pub fn null(_: &mut TrapFrame) -> Result<u64, SysError> {
    Ok(0)
}

/// `log(level, text, len)`: one kernel log record per line of the text,
/// prefixed with the caller's name and pid. The text must be UTF-8.
pub fn log(args: Log, frame: &mut TrapFrame) -> Result<u64, SysError> {
    let text = UserSlice::new(args.text, args.len, LOG_MAX)?;
    let process = caller()?;
    let mut buffer = [0u8; LOG_MAX];
    let bytes = &mut buffer[..text.len()];
    crate::ipc::pager::with_user(&process, frame.rip, |aspace| text.read(aspace, bytes))?;
    let text = core::str::from_utf8(bytes).map_err(|_| SysError::InvalidArgument)?;
    for line in text.trim_end_matches('\n').split('\n') {
        crate::klog::printk(
            args.level,
            format_args!("{}[{}]: {line}", process.name, process.pid),
        );
    }
    crate::obj::console::signal_new_records();
    Ok(text.len() as u64)
}

/// `console_take(control)`: COM1 is the caller's process's.
pub fn console_take(args: OneHandle, _: &mut TrapFrame) -> Result<u64, SysError> {
    let process = caller()?;
    lookup::<ConsoleControl>(&process, args.handle, Rights::MANAGE)?;
    console::take(process.pid)?;
    Ok(0)
}

/// `console_give_back(control)`: the kernel takes COM1 back.
pub fn console_give_back(args: OneHandle, _: &mut TrapFrame) -> Result<u64, SysError> {
    let process = caller()?;
    lookup::<ConsoleControl>(&process, args.handle, Rights::MANAGE)?;
    console::give_back(process.pid)?;
    Ok(0)
}

/// `log_notify(notification or 0, bit)`: new log records signal `bit`.
pub fn log_notify(args: LogNotify, _: &mut TrapFrame) -> Result<u64, SysError> {
    let process = caller()?;
    let binding = match args.notification {
        Some(handle) => {
            let notification = lookup::<Notification>(&process, handle, Rights::SEND)?.object;
            Some((notification, 1u64 << args.bit))
        }
        None => None,
    };
    console::watch(process.pid, binding)?;
    Ok(0)
}

/// `log_read(since, buffer, len)`: whole `/dev/kmsg`-format lines of the
/// records from `since` on, as many as fit; returns the bytes written.
pub fn log_read(args: LogRead, frame: &mut TrapFrame) -> Result<u64, SysError> {
    let buffer = UserSlice::new(args.buffer, args.len, LOG_READ_MAX)?;
    let process = caller()?;
    crate::ipc::pager::with_user(&process, frame.rip, |aspace| buffer.check_writable(aspace))?;
    let mut text: heapless::String<LOG_READ_MAX> = heapless::String::new();
    let us_per_jiffy = 1_000_000 / time::HZ;
    crate::klog::read_since(args.since, |record| {
        let mut line: heapless::String<256> = heapless::String::new();
        let _ = writeln!(
            line,
            "{},{},{},-;{}",
            record.level as u64,
            record.seq,
            record.jiffies * us_per_jiffy,
            record.text()
        );
        text.len() + line.len() <= buffer.len() && text.push_str(&line).is_ok()
    });
    let out = UserSlice::new(args.buffer, text.len() as u64, LOG_READ_MAX)?;
    crate::ipc::pager::with_user(&process, frame.rip, |aspace| {
        out.write(aspace, text.as_bytes())
    })?;
    Ok(text.len() as u64)
}

/// `clock(info)`: fills a [`ClockInfo`].
pub fn clock(args: Address, frame: &mut TrapFrame) -> Result<u64, SysError> {
    let out = UserPtr::<ClockInfo>::new(args.address)?;
    let info = ClockInfo {
        jiffies: time::jiffies(),
        hz: time::HZ,
        tsc_hz: time::tsc_hz(),
        uptime_ns: time::now_ns(),
        since_entry_ns: time::tsc_to_ns(time::since_kernel_entry()),
    };
    crate::ipc::pager::with_user(&*caller()?, frame.rip, |aspace| out.write(aspace, &info))?;
    Ok(0)
}
