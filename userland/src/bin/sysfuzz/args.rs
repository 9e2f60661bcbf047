//! `sysfuzz`'s arguments: for each call, handles, pointers, addresses,
//! lengths, rights, message-info words and timeouts, each mostly valid and
//! often not (see the crate documentation for the mix).

use alloc::vec::Vec;

use libsys::abi::ipc::{MAX_HANDLES, PAYLOAD_MAX};
use libsys::abi::{Handle, MsgInfo, ObjectType, Rights, Syscall, LOG_MAX};

use crate::{Fuzzer, PAGE, SCRATCH, SCRATCH_RW, TIMEOUT_MAX};

/// True for the calls [`Fuzzer::ipc_args`] makes arguments for.
fn is_ipc(call: Syscall) -> bool {
    use Syscall::*;
    matches!(
        call,
        Send | Call
            | Recv
            | ReplyRecv
            | Reply
            | ReplyTo
            | ReplyToRecv
            | Signal
            | Wait
            | Poll
            | NotificationBind
    )
}

impl Fuzzer {
    /// Arguments for a known call (see the module documentation).
    pub(crate) fn args(&mut self, call: Syscall) -> [u64; 6] {
        use Syscall::*;
        // Drawn first for every call, so a seed gives the same sequence
        // whichever call it picks.
        let bits = self.rng.next_u64();
        let mut a = [0u64; 6];
        match call {
            Null | Yield | EndpointCreate | NotificationCreate | ReplySave => {
                a = core::array::from_fn(|_| {
                    if self.rng.chance(20) {
                        self.rng.next_u64()
                    } else {
                        0
                    }
                });
            }
            // Never made (see `one`).
            Exit | ThreadExit => return [0; 6],
            Log => {
                // Mostly debug level, which the fuzz entry's loglevel=info
                // keeps off the console (the text is whatever the scratch
                // pages hold).
                a[0] = if self.rng.chance(95) {
                    7
                } else {
                    self.rng.around(8)
                };
                a[1] = self.pointer();
                a[2] = self.rng.around(LOG_MAX as u64).min(if self.rng.chance(90) {
                    48
                } else {
                    u64::MAX
                });
            }
            Clock => a[0] = self.pointer(),
            LogRead => {
                a[0] = self.rng.around(1 << 20);
                a[1] = self.pointer();
                a[2] = self.rng.around(libsys::abi::LOG_READ_MAX as u64);
            }
            HandleDup => {
                a[0] = self.handle(None, true);
                a[1] = self.rights();
                a[2] = self.rng.next_u64();
                a[3] = self.rng.around(1);
            }
            HandleClose => a[0] = self.handle(None, false),
            IrqGet | IrqBind | IrqAck | IrqInfo | IrqMsiAlloc | IoportGrant | IoportDerive
            | DeviceRegion | RegionDerive | RegionInfo => {
                a[0] = self.handle(None, matches!(call, IrqInfo | RegionInfo));
                a[1] = if matches!(call, IrqInfo | IrqMsiAlloc | RegionInfo) {
                    self.pointer()
                } else {
                    self.rng.around(256)
                };
                a[2] = self.rng.around(0x1_0000);
                a[3] = self.rights();
            }
            IpcBufferSet => a[0] = self.address(),
            HandleInfo => a[0] = self.handle(None, true),
            // Only addresses it cannot have: its FS base holds its IPC
            // buffer's address.
            TlsSet => a[0] = self.bad_address(),
            _ => {
                return if is_ipc(call) {
                    self.ipc_args(call, bits)
                } else {
                    self.task_args(call, bits)
                }
            }
        }
        a
    }

    /// Arguments for the IPC and notification calls.
    fn ipc_args(&mut self, call: Syscall, bits: u64) -> [u64; 6] {
        use Syscall::*;
        let mut a = [0u64; 6];
        match call {
            Send | Call | Recv | ReplyRecv | Reply => {
                a[0] = self.handle(Some(ObjectType::Endpoint), false);
                a[1] = self.msg_info();
                a[2] = self.timeout(call == Call);
                a[3] = self.word();
                a[4] = self.word();
                a[5] = self.word();
            }
            ReplyTo => {
                a[0] = self.handle(Some(ObjectType::Reply), false);
                a[1] = self.msg_info();
            }
            ReplyToRecv => {
                a[0] = self.handle(Some(ObjectType::Endpoint), false)
                    | self.handle(Some(ObjectType::Reply), false) << 32;
                a[1] = self.msg_info();
                a[2] = self.timeout(false);
            }
            Signal => {
                a[0] = self.handle(Some(ObjectType::Notification), false);
                a[1] = bits;
            }
            Wait => {
                a[0] = self.handle(Some(ObjectType::Notification), false);
                a[1] = self.timeout(false);
            }
            Poll => a[0] = self.handle(Some(ObjectType::Notification), false),
            NotificationBind => {
                a[0] = self.handle(Some(ObjectType::Notification), false);
                a[1] = self.handle(Some(ObjectType::Thread), false);
            }
            _ => {}
        }
        a
    }

    /// Arguments for the process, thread and scheduling calls.
    fn task_args(&mut self, call: Syscall, bits: u64) -> [u64; 6] {
        use Syscall::*;
        let mut a = [0u64; 6];
        match call {
            ProcessCreate => {
                a[0] = self.pointer();
                a[1] = self.rng.around(32);
            }
            Map | Unmap | Protect => {
                a[0] = self.handle(Some(ObjectType::Process), false);
                a[1] = self.address();
                a[2] = if call == Map {
                    self.handle(None, false)
                } else {
                    self.rng.around(512)
                };
                a[3] = if call == Map {
                    self.rng.around(16)
                } else {
                    self.rng.around(8)
                };
                a[4] = self.rng.around(16);
                a[5] = self.rng.around(8);
            }
            ThreadCreate | Kill | ProcessStatus => {
                a[0] = self.handle(Some(ObjectType::Process), call == ProcessStatus)
            }
            ThreadStart => {
                a[0] = self.handle(Some(ObjectType::Thread), false);
                a[1] = self.address();
                a[2] = self.address();
                a[3] = self.rng.next_u64();
                a[4] = self.rng.next_u64();
            }
            SetSched => {
                a[0] = self.handle(Some(ObjectType::Thread), false);
                a[1] = self.rng.around(3);
                a[2] = self.rng.around(100);
            }
            ThreadStats => {
                a[0] = self.handle(Some(ObjectType::Thread), true);
                a[1] = self.pointer();
            }
            SetPager => {
                a[0] = self.handle(Some(ObjectType::Thread), false);
                a[1] = self.handle(Some(ObjectType::Endpoint), false);
            }
            HandleGive => {
                a[0] = self.handle(Some(ObjectType::Process), false);
                a[1] = self.handle(None, true);
                a[2] = self.rights();
            }
            ProcessWatch => {
                a[0] = self.handle(Some(ObjectType::Process), false);
                a[1] = self.handle(Some(ObjectType::Notification), false);
                a[2] = bits;
            }
            ProcessInfo => {
                a[0] = self.handle(Some(ObjectType::Process), true);
                a[1] = self.pointer();
            }
            // Limits of the processes it made (never its own: lowering
            // them would only stop the fuzzer).
            ProcessLimitsSet | ProcessLimits => {
                a[0] = self.handle(Some(ObjectType::Process), call == ProcessLimits);
                a[1] = self.pointer();
            }
            KernelStats => a[0] = self.pointer(),
            // Any pid to list after; the page written into its scratch
            // (or refused: a bad or read-only address).
            ProcessTimes => {
                a[0] = self.rng.around(64);
                a[1] = self.pointer();
            }
            SetSchedRt => {
                a[0] = self.handle(None, true);
                a[1] = self.handle(Some(ObjectType::Thread), false);
                a[2] = self.rng.around(3);
                a[3] = self.rng.around(100);
            }
            // The fuzzer never holds a power control (init gives it to
            // servers alone), so every call must fail on its handle.
            Power => {
                a[0] = self.handle(Some(ObjectType::PowerControl), true);
                a[1] = self.rng.around(3);
            }
            _ => {}
        }
        a
    }

    /// A handle argument: mostly one it holds (of `kind`, if given), else
    /// a closed one, a random number, 0 or a value above 32 bits. The
    /// runtime's handles only where `read_only`.
    fn handle(&mut self, kind: Option<ObjectType>, read_only: bool) -> u64 {
        let choice = self.rng.below(100);
        let candidate = if choice < 60 {
            let matching: Vec<u32> = self
                .pool
                .iter()
                .filter(|h| kind.is_none_or(|k| k == h.kind) || self.rng.chance(10))
                .map(|h| h.handle)
                .collect();
            self.rng.pick(&matching).copied().map(u64::from)
        } else if choice < 70 && read_only {
            self.rng.pick(&self.protected).copied().map(u64::from)
        } else if choice < 78 {
            self.rng.pick(&self.stale).copied().map(u64::from)
        } else if choice < 90 {
            Some(u64::from(
                Handle::new(self.rng.below(70) as u16, self.rng.below(4) as u16).0,
            ))
        } else if choice < 95 {
            Some(0)
        } else {
            Some(self.rng.next_u64())
        };
        let value = candidate.unwrap_or(0);
        if !read_only && self.protected.contains(&(value as u32)) {
            // A call that could change or use it: not on the runtime's.
            return 0;
        }
        value
    }

    /// A pointer for the kernel to read or write: mostly into the scratch
    /// pages, else across their end, misaligned, read-only, unmapped, null,
    /// kernel or non-canonical.
    fn pointer(&mut self) -> u64 {
        let rw_end = SCRATCH + SCRATCH_RW * PAGE;
        match self.rng.below(12) {
            0..=4 => SCRATCH + self.rng.below(SCRATCH_RW * PAGE),
            5 => rw_end - self.rng.below(64),
            6 => rw_end + self.rng.below(PAGE),
            7 => rw_end + PAGE + self.rng.below(PAGE),
            8 => SCRATCH + 8 * self.rng.below(512) + 1 + self.rng.below(7),
            _ => self.bad_address(),
        }
    }

    /// An address in a process: the scratch window, elsewhere in user
    /// space, or one that is not a user address.
    fn address(&mut self) -> u64 {
        match self.rng.below(4) {
            0 => SCRATCH + PAGE * self.rng.below(8),
            1 => (self.rng.next_u64() & 0x0000_7fff_ffff_f000).max(PAGE),
            2 => self.rng.next_u64(),
            _ => self.bad_address(),
        }
    }

    /// An address no user call may accept.
    fn bad_address(&mut self) -> u64 {
        match self.rng.below(5) {
            0 => self.rng.below(PAGE),
            1 => 0xffff_8000_0000_0000 | self.rng.next_u64(),
            2 => 0x0000_8000_0000_0000 + self.rng.below(1 << 40),
            3 => u64::MAX - self.rng.below(PAGE),
            _ => 0xffff_ffff_8000_0000 + self.rng.below(1 << 20),
        }
    }

    /// Rights: a subset of the defined ones, or undefined bits.
    fn rights(&mut self) -> u64 {
        if self.rng.chance(85) {
            self.rng.next_u64() & u64::from(Rights::all().bits())
        } else {
            self.rng.next_u64()
        }
    }

    /// A message-info word: a well-formed one with random fields (never
    /// the kernel-only `NOTIFICATION` flag, a known defect when the
    /// receiver trusts it), or random bits.
    fn msg_info(&mut self) -> u64 {
        if self.rng.chance(20) {
            return self.rng.next_u64() & !(u64::from(MsgInfo::NOTIFICATION) << 48);
        }
        let length = self.rng.around(PAYLOAD_MAX as u64).min(0x1fff) as u16;
        let info = MsgInfo::new(self.rng.next_u64() as u32)
            .with_payload(length)
            .with_handles(self.rng.below(MAX_HANDLES as u64 + 2) as u8);
        let flags = if self.rng.chance(30) {
            MsgInfo::MOVE_HANDLES
        } else {
            0
        };
        info.encode() | u64::from(flags) << 48
    }

    /// A message word: a handle it holds (for a transfer) or random bits.
    pub(crate) fn word(&mut self) -> u64 {
        if self.rng.chance(50) {
            self.handle(None, false)
        } else {
            self.rng.next_u64()
        }
    }

    /// An IPC or wait timeout of at most [`TIMEOUT_MAX`]; never the poll
    /// timeout for `call` (a known defect: its receive phase may block).
    fn timeout(&mut self, call: bool) -> u64 {
        match self.rng.below(3) {
            0 if !call => 0,
            0 | 1 => 1 + self.rng.below(1_000),
            _ => 1 + self.rng.below(TIMEOUT_MAX),
        }
    }
}
