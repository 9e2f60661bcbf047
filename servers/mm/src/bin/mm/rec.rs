//! Recording mm for replay on the host (docs/labs/README.md, "mm: the
//! core's steps and its machine calls in the record"): started with
//! `record` or `record=<lines>` in its arguments, the server logs each
//! step it hands the core (`boot`, `image`, `adopt`, `exec`, `fork`,
//! `fault`, a request as `req`/`now`, `exit`, …) with its result, and
//! every call the core makes of the machine during it
//! (`mm::record::Recording`), as `REC mm …` lines (`libsys::record`).
//! Not recording, each function here is one branch.
#![forbid(unsafe_code)]

use core::fmt;

use libsys::abi::ipc::PAYLOAD_MAX;
use libsys::proto::mm::{Reply, Request};
use libsys::record;
use libsys::rpc::{self, LABEL_REPLY, LABEL_REQUEST};
use mm::record::Recording;
use mm::{Machine, Mm};

use crate::real::Real;

/// Logs a step (or any event) without bytes when recording: built only
/// then (`rec!("fault {space} {address:#x}")`).
macro_rules! rec {
    ($($arg:tt)*) => {
        if $crate::rec::on() {
            libsys::record::line(format_args!($($arg)*));
        }
    };
}

/// Logs the result of the step just recorded (`ret <Debug>`) when
/// recording.
macro_rules! rec_ret {
    ($value:expr) => {
        if $crate::rec::on() {
            libsys::record::line(format_args!("ret {:?}", $value));
        }
    };
}

/// Whether mm records.
#[inline]
pub(crate) fn on() -> bool {
    record::enabled()
}

fn log(args: fmt::Arguments) {
    record::line(args);
}

/// Runs one step of the core on `real`: through a machine that logs its
/// calls when recording, on `real` itself (one branch) when not.
#[inline]
pub(crate) fn with_machine<R>(real: &mut Real, step: impl FnOnce(&mut dyn Machine) -> R) -> R {
    if on() {
        step(&mut Recording::new(real, Some(log)))
    } else {
        step(real)
    }
}

/// A step with bytes after it (`+` lines).
#[inline]
pub(crate) fn data(args: fmt::Arguments, bytes: &[u8]) {
    if on() {
        record::data(args, bytes);
    }
}

/// A request the core answers: recorded as a `req` (the request
/// encoded, with the caller's badge) and a `now` (the reply encoded).
pub(crate) fn request(core: &mut Mm, real: &mut Real, badge: u64, request: Request) -> Reply {
    if !on() {
        return core.request(badge, request, real);
    }
    let mut buffer = [0u8; PAYLOAD_MAX];
    let n = rpc::encode(&request, &mut buffer).unwrap_or(0);
    record::request(badge, LABEL_REQUEST, &buffer[..n]);
    let reply = core.request(badge, request, &mut Recording::new(real, Some(log)));
    let n = rpc::encode(&reply, &mut buffer).unwrap_or(0);
    record::now(LABEL_REPLY, &buffer[..n]);
    reply
}

/// The bytes of an ELF image the replay needs: its file header and
/// program headers (the rest is segment bytes, which only reach `write`).
pub(crate) fn elf_headers(image: &[u8]) -> &[u8] {
    let half = |at: usize| {
        image
            .get(at..at + 2)
            .map_or(0, |b| u16::from_le_bytes([b[0], b[1]]) as usize)
    };
    let phoff = image
        .get(0x20..0x28)
        .and_then(|b| b.try_into().ok())
        .map_or(0, |b| u64::from_le_bytes(b) as usize);
    let end = phoff
        .saturating_add(half(0x36).saturating_mul(half(0x38)))
        .max(64);
    &image[..end.min(image.len())]
}
