//! `Exec`: a process's address space replaced by a new program's (the
//! memory half of `execve`, Linux's `exec_mmap` after `bprm_execve` has
//! checked the file). The new space is laid out from the image as
//! `adopt` lays one out (segments demand-loaded from the image: text and
//! read-only data filled from the file on first touch, writable data a
//! private copy, `.bss` and the heap demand-zero), with the initial stack's
//! top pages given as bytes (lib/exec's System V layout: `argc`, `argv`,
//! `envp`, the auxiliary vector and the strings) and a fresh IPC buffer.
//!
//! Every check — the image, the stack bytes, enough free frames for the
//! pages populated now — comes before the old space is touched: a failed
//! `exec` leaves the caller's space as it was. Past that point (the old
//! areas dropped) only a machine error can fail, which means the process
//! is gone or broken; the space is then removed and `NoMemory` returned,
//! and the process server kills the process (Linux's "point of no
//! return" in `begin_new_exec`).

use buddy::PAGE_SIZE;
use libsys::abi::{IPC_BUFFER_ADDR, USER_STACK_TOP};
use libsys::proto::mm::{MmError, STACK_PAGES};

use crate::layout::USER_END;
use crate::machine::{ImageId, Machine, SpaceId};
use crate::mm::{drop_range, map_fresh, Mm};

/// The most bytes of initial stack `exec` takes: half the stack area, so
/// that the program has the other half to run in.
pub const EXEC_STACK_MAX: u64 = STACK_PAGES * PAGE_SIZE / 2;

impl Mm {
    /// Replaces the address space `id` (or makes it, for a process mm does
    /// not manage yet) with one running `image`, whose stack's top pages
    /// are `top` (whole pages ending at `USER_STACK_TOP`). Returns the
    /// entry point. Areas, DMA blocks, shares offered and shrinkers of the
    /// old space go, as at `exit`.
    ///
    /// Fails, leaving the old space as it was, with `InvalidArgument` (a
    /// bad id, `top` not whole pages or over [`EXEC_STACK_MAX`]),
    /// `BadImage` (the image does not pass `libsys::elf::check`, or a
    /// segment lies on the stack or IPC buffer) or `NoMemory` (not enough
    /// free frames for `top` and the IPC buffer). After the old space is
    /// dropped, a machine error removes the space and gives `NoMemory`.
    pub fn exec(
        &mut self,
        id: SpaceId,
        image: ImageId,
        top: &[u8],
        m: &mut dyn Machine,
    ) -> Result<u64, MmError> {
        if !self.manages(id) {
            self.check_new_id(id)?;
        }
        let len = top.len() as u64;
        if !len.is_multiple_of(PAGE_SIZE) || len > EXEC_STACK_MAX {
            return Err(MmError::InvalidArgument);
        }
        let (mut space, entry) = crate::process::lay_out(image, m)?;
        let needed = len / PAGE_SIZE + 1;
        if self.frames.free_pages() < needed {
            return Err(MmError::NoMemory);
        }
        // The point of no return: the new image is counted before the old
        // space lets go of its own (which may be the same image).
        self.use_image(image);
        self.exit(id, m);
        let bottom = USER_STACK_TOP - len;
        let mut populated = Ok(());
        for (i, page) in (bottom..USER_STACK_TOP)
            .step_by(PAGE_SIZE as usize)
            .enumerate()
        {
            let at = i * PAGE_SIZE as usize;
            populated = map_fresh(id, &mut space, &mut self.frames, page, m)
                .map(|pfn| m.write(pfn, 0, &top[at..at + PAGE_SIZE as usize]));
            if populated.is_err() {
                break;
            }
        }
        if populated.is_ok() {
            populated = map_fresh(id, &mut space, &mut self.frames, IPC_BUFFER_ADDR, m).map(|_| ());
        }
        if populated.is_err() {
            drop_range(id, &mut space, &mut self.frames, 0, USER_END, m);
            self.spaces.insert(id, space);
            self.exit(id, m);
            return Err(MmError::NoMemory);
        }
        self.spaces.insert(id, space);
        Ok(entry)
    }
}

impl Mm {
    /// Lets the server release `image` (through
    /// [`take_released_image`](Mm::take_released_image)) if no space uses
    /// it: an image registered for an `exec` that failed.
    pub fn release_if_unused(&mut self, image: ImageId) {
        if !self.images.contains_key(&image) && !self.released.contains(&image) {
            self.released.push(image);
        }
    }
}
