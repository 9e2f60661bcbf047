//! Recording the core's calls across its machine boundary, for replay on
//! the host (docs/labs/README.md, "Servers whose replies depend on more
//! than their requests", and its part on mm).
//!
//! mm's replies depend on the machine as much as on its requests: which
//! frame a fault maps is the buddy allocator's choice, and whether a map
//! succeeds is the kernel's. So what the core asked of the machine, and
//! what it answered, is recorded with the steps the server's loop hands
//! the core. [`Recording`] wraps the [`Machine`] the core is given for
//! one step and tells its `log` of every call, in order, one line each
//! (without the `REC mm ` prefix):
//!
//! ```text
//! map <space> <vaddr> <pfn> <prot> <replace 0|1> ok|err
//! run <space> <vaddr> <pfn> <pages> <prot> ok|err     map_run
//! unmap <space> <vaddr> <pages> ok|err
//! protect <space> <vaddr> <pages> <prot> ok|err
//! zero <pfn>
//! copy <from> <to>
//! write <pfn> <at> <len>                               the bytes are not kept
//! ```
//!
//! Reading an image (`Machine::image`) is not a call the record keeps:
//! the server records each image once, when it first maps it (its ELF
//! headers; the replay fills the rest with zeros, which only changes the
//! bytes `write` is given, and those are not compared).
//!
//! The replay (tests/lab, `lab replay mm`) gives a fresh core a machine
//! that answers each call from the record, in order, and reports the
//! first call the record does not have.

use core::fmt;

use crate::machine::{ImageId, Machine, MachineError, SpaceId};

/// A [`Machine`] that logs each call to `log` (when there is one) and
/// passes it to `inner`. Without a `log` it is `inner` behind one branch
/// per call: the server wraps its machine in it for every step, recording
/// or not.
pub struct Recording<'a> {
    inner: &'a mut dyn Machine,
    log: Option<fn(fmt::Arguments)>,
}

impl<'a> Recording<'a> {
    pub fn new(inner: &'a mut dyn Machine, log: Option<fn(fmt::Arguments)>) -> Recording<'a> {
        Recording { inner, log }
    }
}

/// `ok` or `err`: how a call's result is recorded.
pub fn outcome(result: Result<(), MachineError>) -> &'static str {
    match result {
        Ok(()) => "ok",
        Err(_) => "err",
    }
}

impl Machine for Recording<'_> {
    fn map(
        &mut self,
        space: SpaceId,
        vaddr: u64,
        pfn: u64,
        prot: u8,
        replace: bool,
    ) -> Result<(), MachineError> {
        let result = self.inner.map(space, vaddr, pfn, prot, replace);
        if let Some(log) = self.log {
            log(format_args!(
                "map {space} {vaddr:#x} {pfn:#x} {prot} {} {}",
                u8::from(replace),
                outcome(result)
            ));
        }
        result
    }

    fn map_run(
        &mut self,
        space: SpaceId,
        vaddr: u64,
        pfn: u64,
        pages: u64,
        prot: u8,
    ) -> Result<(), MachineError> {
        let result = self.inner.map_run(space, vaddr, pfn, pages, prot);
        if let Some(log) = self.log {
            log(format_args!(
                "run {space} {vaddr:#x} {pfn:#x} {pages} {prot} {}",
                outcome(result)
            ));
        }
        result
    }

    fn unmap(&mut self, space: SpaceId, vaddr: u64, pages: u64) -> Result<(), MachineError> {
        let result = self.inner.unmap(space, vaddr, pages);
        if let Some(log) = self.log {
            log(format_args!(
                "unmap {space} {vaddr:#x} {pages} {}",
                outcome(result)
            ));
        }
        result
    }

    fn protect(
        &mut self,
        space: SpaceId,
        vaddr: u64,
        pages: u64,
        prot: u8,
    ) -> Result<(), MachineError> {
        let result = self.inner.protect(space, vaddr, pages, prot);
        if let Some(log) = self.log {
            log(format_args!(
                "protect {space} {vaddr:#x} {pages} {prot} {}",
                outcome(result)
            ));
        }
        result
    }

    fn zero(&mut self, pfn: u64) {
        self.inner.zero(pfn);
        if let Some(log) = self.log {
            log(format_args!("zero {pfn:#x}"));
        }
    }

    fn copy(&mut self, from: u64, to: u64) {
        self.inner.copy(from, to);
        if let Some(log) = self.log {
            log(format_args!("copy {from:#x} {to:#x}"));
        }
    }

    fn write(&mut self, pfn: u64, at: usize, bytes: &[u8]) {
        self.inner.write(pfn, at, bytes);
        if let Some(log) = self.log {
            log(format_args!("write {pfn:#x} {at} {}", bytes.len()));
        }
    }

    fn image(&self, image: ImageId) -> &[u8] {
        self.inner.image(image)
    }
}

/// A call the core made of its machine, as recorded (addresses and
/// frames as numbers; `ok` whether it succeeded).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MachineCall {
    Map {
        space: SpaceId,
        vaddr: u64,
        pfn: u64,
        prot: u8,
        replace: bool,
        ok: bool,
    },
    MapRun {
        space: SpaceId,
        vaddr: u64,
        pfn: u64,
        pages: u64,
        prot: u8,
        ok: bool,
    },
    Unmap {
        space: SpaceId,
        vaddr: u64,
        pages: u64,
        ok: bool,
    },
    Protect {
        space: SpaceId,
        vaddr: u64,
        pages: u64,
        prot: u8,
        ok: bool,
    },
    Zero {
        pfn: u64,
    },
    Copy {
        from: u64,
        to: u64,
    },
    Write {
        pfn: u64,
        at: usize,
        len: usize,
    },
}

impl MachineCall {
    /// The same call, whatever its result: what the core asked.
    pub fn asked(self) -> MachineCall {
        let mut call = self;
        match &mut call {
            MachineCall::Map { ok, .. }
            | MachineCall::MapRun { ok, .. }
            | MachineCall::Unmap { ok, .. }
            | MachineCall::Protect { ok, .. } => *ok = true,
            _ => {}
        }
        call
    }

    /// The recorded result of a call that has one (`Ok` for the others).
    pub fn result(self) -> Result<(), MachineError> {
        match self {
            MachineCall::Map { ok, .. }
            | MachineCall::MapRun { ok, .. }
            | MachineCall::Unmap { ok, .. }
            | MachineCall::Protect { ok, .. }
                if !ok =>
            {
                Err(MachineError::Failed)
            }
            _ => Ok(()),
        }
    }
}

impl fmt::Display for MachineCall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            MachineCall::Map {
                space,
                vaddr,
                pfn,
                prot,
                replace,
                ..
            } => {
                let how = if replace { " replacing" } else { "" };
                write!(
                    f,
                    "map of frame {pfn:#x} at {vaddr:#x} in space {space} prot {prot}{how}"
                )
            }
            MachineCall::MapRun {
                space,
                vaddr,
                pfn,
                pages,
                prot,
                ..
            } => write!(
                f,
                "map of {pages} frames from {pfn:#x} at {vaddr:#x} in space {space} prot {prot}"
            ),
            MachineCall::Unmap {
                space,
                vaddr,
                pages,
                ..
            } => write!(f, "unmap of {pages} pages at {vaddr:#x} in space {space}"),
            MachineCall::Protect {
                space,
                vaddr,
                pages,
                prot,
                ..
            } => write!(
                f,
                "protect of {pages} pages at {vaddr:#x} in space {space} to prot {prot}"
            ),
            MachineCall::Zero { pfn } => write!(f, "zero of frame {pfn:#x}"),
            MachineCall::Copy { from, to } => write!(f, "copy of frame {from:#x} to {to:#x}"),
            MachineCall::Write { pfn, at, len } => {
                write!(f, "write of {len} bytes into frame {pfn:#x} at {at}")
            }
        }
    }
}
