//! The cost meter and the path trace from user space (`abi::meter`): start
//! them around an operation, stop and read where its instructions went.
//! Only a kernel built with the `meter` feature has them
//! ([`available`]).

use crate::abi::args::Args;
use crate::abi::meter::{MeterArgs, MeterReport};
use crate::abi::{SysError, Syscall};
use crate::syscall::call6;

/// Zeroes the counters and starts the meter (and with `trace`, the path
/// trace); this process is the client from now on.
pub fn start(trace: bool) -> Result<(), SysError> {
    call6(Syscall::Meter, MeterArgs::Start { trace }.encode().0).map(|_| ())
}

/// Stops the meter and returns what it counted since [`start`] (a trace
/// goes to the kernel's debug channel).
pub fn stop() -> Result<MeterReport, SysError> {
    let mut report = MeterReport::default();
    let at = &mut report as *mut MeterReport as u64;
    call6(Syscall::Meter, MeterArgs::Stop { out: at }.encode().0)?;
    Ok(report)
}

/// Whether the kernel has the meter (a start and a stop that succeed).
pub fn available() -> bool {
    start(false).is_ok() && stop().is_ok()
}

/// Prints the trace of the last [`start`]`(true)` … [`stop`] to the
/// kernel's debug channel (`TRACE` lines).
pub fn dump() -> Result<(), SysError> {
    call6(Syscall::Meter, MeterArgs::Dump.encode().0).map(|_| ())
}
