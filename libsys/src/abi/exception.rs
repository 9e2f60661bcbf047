//! Exceptions and signals: the message a user exception becomes, the
//! verdict that answers it, a thread's user registers as a type, and the
//! frame a signal upcall leaves on the user stack.
//!
//! ## The exception message
//! Every exception a user thread raises (divide error, int3, ud2, a
//! general-protection fault, …; a page fault only once the pager refused
//! it) is sent by the kernel, on the thread's behalf, as a call with label
//! [`LABEL_EXCEPTION`] to its process's exception endpoint
//! (`exception_set`). The six words are an [`ExceptionMessage`]. The
//! thread waits for the reply, whose label is the verdict:
//! [`EXCEPTION_RESUME`] (run on, with whatever registers the handler wrote
//! meanwhile with `thread_regs_write`) or anything else (kill the process,
//! as when there is no endpoint or its server is gone).
//!
//! ## Registers
//! [`UserRegs`] is what `thread_regs_read`/`thread_regs_write` move and
//! what a signal frame saves. It has no segment registers: a user thread's
//! CS and SS are the kernel's to set, so no write can name a kernel
//! segment. [`UserRegs::validate`] is the one check every write (and every
//! `sigreturn`) passes: RIP below [`USER_END`], RSP at most [`USER_END`],
//! RFLAGS only with bits user mode may set ([`RFLAGS_USER`]; IOPL, NT, VM
//! and the like are refused), IF and bit 1 always set on the way out.
//!
//! ## The signal frame
//! `signal_deliver` makes a thread run a handler the next time it returns
//! to user mode. The kernel writes a [`SignalFrame`] below the thread's
//! red zone, 16-byte aligned plus 8 (as right after a `call`), and enters
//! `handler(signo, &frame.info, &frame.regs)` with the frame's first word
//! — the return address — pointing at the caller-given restorer, which
//! calls `sigreturn(&frame.regs)`. There is no FPU/SSE state to save: user
//! programs cannot use those registers (CR0.EM, see the kernel's `cpu.rs`).

use super::args::{Args, Regs};
use super::ipc::Handle;
use super::memory::USER_END;
use super::SysError;

/// The label of an exception message (kernel-made, like the page fault's).
pub const LABEL_EXCEPTION: u32 = 0xffff_0002;
/// A verdict: run the thread again (with the registers it has now).
pub const EXCEPTION_RESUME: u32 = 0;
/// A verdict: kill the process.
pub const EXCEPTION_KILL: u32 = 1;

/// Word 0 flag: the exception is the kernel's failure to write a signal
/// frame (the stack is unmapped or full); `cr2` is the frame's address.
pub const EXCEPTION_UPCALL_FAULT: u64 = 1 << 40;
/// Word 0 flag: a page fault the pager answered `PAGER_BUS` (a bus error:
/// `SIGBUS`, not `SIGSEGV`); `cr2` is the address.
pub const EXCEPTION_BUS: u64 = 1 << 41;
/// The flags word 0 may carry.
const EXCEPTION_FLAGS: u64 = EXCEPTION_UPCALL_FAULT | EXCEPTION_BUS;

/// Words of signal information a `signal_deliver` passes to the handler.
pub const SIGINFO_WORDS: usize = 4;
/// Bytes below the interrupted RSP that a signal frame leaves alone (the
/// System V ABI's red zone).
pub const RED_ZONE: u64 = 128;

/// RFLAGS bits a user thread may set: CF, PF, AF, ZF, SF, TF, DF, OF, AC
/// and ID (what `popf` in ring 3 may change, minus IF and IOPL).
pub const RFLAGS_USER: u64 = 0x0000_0dd5 | (1 << 18) | (1 << 21);
/// RFLAGS bits a write may carry but does not set: bit 1 (always 1), IF
/// (always on in user mode) and RF (the CPU's).
const RFLAGS_IGNORED: u64 = 0x2 | 0x200 | (1 << 16);

/// What a user exception's message says (words 0–5 of a
/// [`LABEL_EXCEPTION`] call).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ExceptionMessage {
    /// The CPU's vector (0 divide error, 3 breakpoint, 6 invalid opcode,
    /// 13 general protection, 14 page fault, …).
    pub vector: u8,
    /// The CPU's error code (0 for vectors without one).
    pub error: u32,
    /// [`EXCEPTION_UPCALL_FAULT`], [`EXCEPTION_BUS`] or 0.
    pub flags: u64,
    pub rip: u64,
    pub rsp: u64,
    pub rflags: u64,
    /// The faulting address (page faults), else 0.
    pub cr2: u64,
    /// The thread's id and its process's pid.
    pub tid: u32,
    pub pid: u32,
}

impl ExceptionMessage {
    /// The six message words: `vector | error << 8 | flags`, rip, rsp,
    /// rflags, cr2, `tid | pid << 32`.
    pub fn to_words(&self) -> [u64; 6] {
        [
            u64::from(self.vector) | (u64::from(self.error) << 8) | self.flags,
            self.rip,
            self.rsp,
            self.rflags,
            self.cr2,
            u64::from(self.tid) | (u64::from(self.pid) << 32),
        ]
    }

    /// The message in `words` (any words decode: the kernel wrote them).
    pub fn from_words(words: &[u64; 6]) -> ExceptionMessage {
        ExceptionMessage {
            vector: words[0] as u8,
            error: (words[0] >> 8) as u32,
            flags: words[0] & EXCEPTION_FLAGS,
            rip: words[1],
            rsp: words[2],
            rflags: words[3],
            cr2: words[4],
            tid: words[5] as u32,
            pid: (words[5] >> 32) as u32,
        }
    }
}

/// A user thread's general-purpose registers, RIP and RFLAGS.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C)]
pub struct UserRegs {
    pub rax: u64,
    pub rbx: u64,
    pub rcx: u64,
    pub rdx: u64,
    pub rsi: u64,
    pub rdi: u64,
    pub rbp: u64,
    pub rsp: u64,
    pub r8: u64,
    pub r9: u64,
    pub r10: u64,
    pub r11: u64,
    pub r12: u64,
    pub r13: u64,
    pub r14: u64,
    pub r15: u64,
    pub rip: u64,
    pub rflags: u64,
}

/// Words in a [`UserRegs`].
pub const USER_REGS_WORDS: usize = 18;

impl UserRegs {
    /// The registers as words, in field order.
    pub fn to_words(&self) -> [u64; USER_REGS_WORDS] {
        [
            self.rax,
            self.rbx,
            self.rcx,
            self.rdx,
            self.rsi,
            self.rdi,
            self.rbp,
            self.rsp,
            self.r8,
            self.r9,
            self.r10,
            self.r11,
            self.r12,
            self.r13,
            self.r14,
            self.r15,
            self.rip,
            self.rflags,
        ]
    }

    pub fn from_words(w: &[u64; USER_REGS_WORDS]) -> UserRegs {
        UserRegs {
            rax: w[0],
            rbx: w[1],
            rcx: w[2],
            rdx: w[3],
            rsi: w[4],
            rdi: w[5],
            rbp: w[6],
            rsp: w[7],
            r8: w[8],
            r9: w[9],
            r10: w[10],
            r11: w[11],
            r12: w[12],
            r13: w[13],
            r14: w[14],
            r15: w[15],
            rip: w[16],
            rflags: w[17],
        }
    }

    /// The registers as a write may set them: `InvalidArgument` for RIP
    /// at or above [`USER_END`], RSP above it, or RFLAGS with a bit user
    /// mode may not set (IOPL, NT, VM, VIF, VIP, reserved); else the same
    /// registers with RFLAGS reduced to [`RFLAGS_USER`] plus IF and bit 1.
    pub fn validate(&self) -> Result<UserRegs, SysError> {
        if self.rip >= USER_END || self.rsp > USER_END {
            return Err(SysError::InvalidArgument);
        }
        if self.rflags & !(RFLAGS_USER | RFLAGS_IGNORED) != 0 {
            return Err(SysError::InvalidArgument);
        }
        Ok(UserRegs {
            rflags: (self.rflags & RFLAGS_USER) | 0x202,
            ..*self
        })
    }
}

/// What a signal upcall leaves on the user stack, lowest address first.
/// The handler is entered with RSP at `return_address` (≡ 8 mod 16).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C)]
pub struct SignalFrame {
    /// The restorer: where the handler's `ret` goes.
    pub return_address: u64,
    pub signo: u64,
    /// The caller's signal information (the handler's second argument).
    pub info: [u64; SIGINFO_WORDS],
    /// The interrupted registers (the handler's third argument), restored
    /// by `sigreturn`.
    pub regs: UserRegs,
}

/// Words in a [`SignalFrame`].
pub const SIGNAL_FRAME_WORDS: usize = 2 + SIGINFO_WORDS + USER_REGS_WORDS;
/// Byte offsets of the frame's parts.
pub const SIGNAL_FRAME_INFO: u64 = 16;
pub const SIGNAL_FRAME_REGS: u64 = 16 + 8 * SIGINFO_WORDS as u64;

impl SignalFrame {
    /// Where the frame goes for a thread interrupted with stack pointer
    /// `rsp`: below the red zone, with its start ≡ 8 (mod 16) as a
    /// function's RSP is right after a `call`. `None` if it would leave
    /// the user half (wrap below 0).
    pub fn place(rsp: u64) -> Option<u64> {
        let size = (SIGNAL_FRAME_WORDS * 8) as u64;
        let aligned = rsp.checked_sub(RED_ZONE + size)? & !0xf;
        aligned.checked_sub(8)
    }

    pub fn to_words(&self) -> [u64; SIGNAL_FRAME_WORDS] {
        let mut w = [0; SIGNAL_FRAME_WORDS];
        w[0] = self.return_address;
        w[1] = self.signo;
        w[2..2 + SIGINFO_WORDS].copy_from_slice(&self.info);
        w[2 + SIGINFO_WORDS..].copy_from_slice(&self.regs.to_words());
        w
    }
}

fn handle(raw: u64) -> Result<Handle, SysError> {
    Handle::from_raw(raw)
}

fn user_address(raw: u64) -> Result<u64, SysError> {
    if raw >= USER_END {
        return Err(SysError::BadAddress);
    }
    Ok(raw)
}

/// `exception_set`: `rdi` process (MANAGE), `rsi` endpoint (SEND; 0:
/// none). Its exceptions go to the endpoint with that handle's badge.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExceptionSet {
    pub process: Handle,
    pub endpoint: Option<Handle>,
}

impl Args for ExceptionSet {
    fn decode(r: &Regs) -> Result<Self, SysError> {
        Ok(ExceptionSet {
            process: handle(r.0[0])?,
            endpoint: match r.0[1] {
                0 => None,
                raw => Some(handle(raw)?),
            },
        })
    }
    fn encode(&self) -> Regs {
        let endpoint = self.endpoint.map_or(0, |h| u64::from(h.0));
        Regs([u64::from(self.process.0), endpoint, 0, 0, 0, 0])
    }
}

/// `thread_regs_read` / `thread_regs_write`: `rdi` thread (MANAGE), `rsi`
/// a user pointer to a [`UserRegs`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ThreadRegs {
    pub thread: Handle,
    pub regs: u64,
}

impl Args for ThreadRegs {
    fn decode(r: &Regs) -> Result<Self, SysError> {
        Ok(ThreadRegs {
            thread: handle(r.0[0])?,
            regs: user_address(r.0[1])?,
        })
    }
    fn encode(&self) -> Regs {
        Regs([u64::from(self.thread.0), self.regs, 0, 0, 0, 0])
    }
}

/// `signal_deliver`: `rdi` thread (MANAGE), `rsi` handler, `rdx` restorer,
/// `r10` signal number, `r8` a user pointer to [`SIGINFO_WORDS`] words (0:
/// zeros). Handler and restorer must be user addresses (`BadAddress`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SignalDeliver {
    pub thread: Handle,
    pub handler: u64,
    pub restorer: u64,
    pub signo: u64,
    pub info: u64,
}

impl Args for SignalDeliver {
    fn decode(r: &Regs) -> Result<Self, SysError> {
        Ok(SignalDeliver {
            thread: handle(r.0[0])?,
            handler: user_address(r.0[1])?,
            restorer: user_address(r.0[2])?,
            signo: r.0[3],
            info: user_address(r.0[4])?,
        })
    }
    fn encode(&self) -> Regs {
        Regs([
            u64::from(self.thread.0),
            self.handler,
            self.restorer,
            self.signo,
            self.info,
            0,
        ])
    }
}

/// `sigreturn`: `rdi` a user pointer to the [`UserRegs`] of a signal frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sigreturn {
    pub regs: u64,
}

impl Args for Sigreturn {
    fn decode(r: &Regs) -> Result<Self, SysError> {
        Ok(Sigreturn {
            regs: user_address(r.0[0])?,
        })
    }
    fn encode(&self) -> Regs {
        Regs([self.regs, 0, 0, 0, 0, 0])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn good() -> UserRegs {
        UserRegs {
            rip: 0x40_1000,
            rsp: 0x7fff_f000,
            rflags: 0x202,
            ..UserRegs::default()
        }
    }

    #[test]
    fn message_round_trips() {
        let m = ExceptionMessage {
            vector: 13,
            error: 0x1234_5678,
            flags: EXCEPTION_UPCALL_FAULT,
            rip: 1,
            rsp: 2,
            rflags: 3,
            cr2: 4,
            tid: 7,
            pid: 9,
        };
        assert_eq!(ExceptionMessage::from_words(&m.to_words()), m);
        let bus = ExceptionMessage {
            vector: 14,
            error: 0xffff_ffff,
            flags: EXCEPTION_BUS,
            ..m
        };
        assert_eq!(ExceptionMessage::from_words(&bus.to_words()), bus);
    }

    #[test]
    fn regs_round_trip_and_good_regs_pass() {
        let r = UserRegs {
            rax: 1,
            r15: 15,
            ..good()
        };
        assert_eq!(UserRegs::from_words(&r.to_words()), r);
        assert_eq!(r.validate(), Ok(r));
        let flags = UserRegs {
            rflags: 0x202 | 1 | (1 << 16) | (1 << 8),
            ..good()
        };
        assert_eq!(flags.validate().unwrap().rflags, 0x202 | 1 | (1 << 8));
        // IF cleared by the writer is set again.
        let no_if = UserRegs {
            rflags: 0,
            ..good()
        };
        assert_eq!(no_if.validate().unwrap().rflags, 0x202);
    }

    #[test]
    fn bad_regs_are_refused() {
        for bad in [
            UserRegs {
                rip: USER_END,
                ..good()
            },
            UserRegs {
                rip: 0xffff_8000_0000_0000,
                ..good()
            },
            UserRegs {
                rsp: USER_END + 8,
                ..good()
            },
            // IOPL 3.
            UserRegs {
                rflags: 0x3202,
                ..good()
            },
            // NT, VM, VIF.
            UserRegs {
                rflags: 0x202 | (1 << 14),
                ..good()
            },
            UserRegs {
                rflags: 0x202 | (1 << 17),
                ..good()
            },
            UserRegs {
                rflags: 0x202 | (1 << 19),
                ..good()
            },
            UserRegs {
                rflags: 0x202 | (1 << 40),
                ..good()
            },
        ] {
            assert_eq!(bad.validate(), Err(SysError::InvalidArgument), "{bad:?}");
        }
    }

    #[test]
    fn frame_layout() {
        assert_eq!(core::mem::size_of::<SignalFrame>(), SIGNAL_FRAME_WORDS * 8);
        assert_eq!(
            core::mem::offset_of!(SignalFrame, info) as u64,
            SIGNAL_FRAME_INFO
        );
        assert_eq!(
            core::mem::offset_of!(SignalFrame, regs) as u64,
            SIGNAL_FRAME_REGS
        );
        for rsp in [0x7fff_f000u64, 0x7fff_effb, 0x1000_0008, 0x1000_0001] {
            let at = SignalFrame::place(rsp).unwrap();
            assert_eq!(at % 16, 8, "{rsp:#x}");
            assert!(at + (SIGNAL_FRAME_WORDS * 8) as u64 <= rsp - RED_ZONE);
            assert!(at + (SIGNAL_FRAME_WORDS * 8) as u64 + 32 > rsp - RED_ZONE);
        }
        assert_eq!(SignalFrame::place(100), None);
        let f = SignalFrame {
            return_address: 5,
            signo: 11,
            info: [1, 2, 3, 4],
            regs: good(),
        };
        let w = f.to_words();
        assert_eq!((w[0], w[1], w[2], w[5]), (5, 11, 1, 4));
        assert_eq!(w[2 + SIGINFO_WORDS + 16], good().rip);
    }

    #[test]
    fn args_decode() {
        let h = 0x1_0002;
        assert_eq!(
            ExceptionSet::decode(&Regs([h, 0, 0, 0, 0, 0]))
                .unwrap()
                .endpoint,
            None
        );
        assert_eq!(
            ExceptionSet::decode(&Regs([1 << 40, 0, 0, 0, 0, 0])),
            Err(SysError::BadHandle)
        );
        assert_eq!(
            ThreadRegs::decode(&Regs([h, USER_END, 0, 0, 0, 0])),
            Err(SysError::BadAddress)
        );
        assert_eq!(
            SignalDeliver::decode(&Regs([h, 0x1000, USER_END, 11, 0, 0])),
            Err(SysError::BadAddress)
        );
        let d = SignalDeliver {
            thread: Handle(h as u32),
            handler: 0x1000,
            restorer: 0x2000,
            signo: 11,
            info: 0x3000,
        };
        assert_eq!(SignalDeliver::decode(&d.encode()), Ok(d));
        assert_eq!(
            Sigreturn::decode(&Regs([u64::MAX, 0, 0, 0, 0, 0])),
            Err(SysError::BadAddress)
        );
    }
}
