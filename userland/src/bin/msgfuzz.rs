//! `msgfuzz`: the message fuzzer. `n=<messages>` (default 20,000) calls,
//! shared out round-robin over every server it can look up through
//! `init`'s name service — `mm`, `timer`, `kv`, `wait1` — and the name
//! service itself, chosen by a xorshift generator seeded with `seed=<n>`
//! (default 1):
//!
//! - random labels (the request label, the reply and error labels, small
//!   numbers, random ones) with random payload bytes of random lengths;
//! - a valid request of the server's protocol (`libsys::proto`), encoded
//!   with postcard, then mutated: bits flipped, bytes replaced, truncated,
//!   extended, its variant tag changed;
//! - handle transfers (fresh endpoints and notifications of its own,
//!   copied or moved, and handle counts naming no handle), random message
//!   words, the `MOVE_HANDLES` flag.
//!
//! Every call has a 100 ms timeout. A call that times out is followed by
//! a real request (the server's statistics) with a 1 s timeout: if that
//! one fails too, the server has stopped answering — a failed check. A
//! server that dies (`PeerDied`) is a failed check too; the fuzzer looks
//! it up again (`init` restarts it) and carries on.
//!
//! It sends nothing that would legitimately harm itself or that a known
//! defect makes fatal for the system (`docs/reliability.md`): the
//! payload is decoded as the server would, and a request to unmap,
//! protect or move this process's memory, to fork, to offer shares, to
//! sleep or block for long, or to add a fast periodic timer is not sent
//! (counted as filtered). The kernel-only `NOTIFICATION` flag is never
//! set (`forge=1` sets it, for reproducing that defect).
#![no_std]
#![no_main]
// A fuzzer of the raw ABI, fenced: `unsafe` is denied here and allowed
// only on the one function that makes the raw call (it sends whatever
// registers it drew, grants included). Listed in docs/architecture.md,
// "`unsafe` stays in `libsys`".
#![deny(unsafe_code)]

extern crate alloc;

use alloc::vec::Vec;

use libsys::abi::ipc::{MAX_HANDLES, PAYLOAD_MAX};
use libsys::abi::{Handle, MsgInfo, SysError, Syscall};
use libsys::handle::{Endpoint, Notification};
use libsys::proto::{kv, mm, name, timer, wait1};
use libsys::rpc::{self, LABEL_BAD_REQUEST, LABEL_REPLY, LABEL_REQUEST, LABEL_SERVER_ERROR};
use libsys::syscall::raw::IpcRegs;
use libsys::{eprintln, println};
use userland::fuzz::{number_arg, Rng};
use userland::Tally;

libsys::entry!(main);

/// The servers, by the names they register.
const SERVERS: [&str; 5] = ["mm", "timer", "kv", "wait1", "ns"];
/// Each call's timeout: 100 ms.
const CALL_TIMEOUT: u64 = 100_000_000;
/// The probe's after a timeout: 1 s.
const PROBE_TIMEOUT: u64 = 1_000_000_000;

/// What happened to the messages sent to one server.
#[derive(Default)]
struct Counts {
    sent: u64,
    replies: u64,
    bad_request: u64,
    server_error: u64,
    other_label: u64,
    kernel_errors: u64,
    timeouts: u64,
    filtered: u64,
    deaths: u64,
    hung: u64,
}

struct Target {
    name: &'static str,
    endpoint: Option<Endpoint>,
    counts: Counts,
}

fn main(args: &str) -> u64 {
    let seed = number_arg(args, "seed").unwrap_or(1);
    let n = number_arg(args, "n").unwrap_or(20_000);
    let forge = number_arg(args, "forge") == Some(1);
    let mut t = Tally::new();
    let mut rng = Rng::new(seed);
    let mut targets: Vec<Target> = SERVERS
        .iter()
        .map(|&name| Target {
            name,
            endpoint: connect(name),
            counts: Counts::default(),
        })
        .collect();
    for target in &targets {
        if target.endpoint.is_none() {
            eprintln!("msgfuzz: cannot look up {}", target.name);
        }
    }
    println!("msgfuzz: seed={seed} n={n} to {} servers", targets.len());
    let start = libsys::time::Instant::now();
    for i in 0..n {
        if i % 1_000 == 0 {
            println!("msgfuzz: message {i} of {n} (seed={seed})");
        }
        let at = (i % targets.len() as u64) as usize;
        let target = &mut targets[at];
        one(&mut rng, target, forge, i);
    }
    let mut survived = true;
    for target in &targets {
        let c = &target.counts;
        println!(
            "msgfuzz: {:>5}: {} sent, {} replies, {} bad-request, {} server-error, {} other labels, {} kernel errors, {} timeouts, {} filtered, {} deaths, {} hung",
            target.name, c.sent, c.replies, c.bad_request, c.server_error, c.other_label,
            c.kernel_errors, c.timeouts, c.filtered, c.deaths, c.hung
        );
        survived &= c.deaths == 0 && c.hung == 0 && target.endpoint.is_some();
    }
    println!(
        "msgfuzz: {n} messages with seed {seed} in {} ms",
        start.elapsed().as_millis()
    );
    let name =
        "msgfuzz: malformed and hostile messages to every server; none dies or stops answering";
    if survived {
        t.check(name, Ok(()));
    } else {
        t.check(
            name,
            Err(format_args!("see the counts above (seed {seed})")),
        );
    }
    t.status()
}

/// A send handle to `name` (`ns`: a copy of the name service's).
fn connect(name: &str) -> Option<Endpoint> {
    if name == "ns" {
        let ns = libsys::names::service().ok()?;
        return ns
            .dup(libsys::abi::Rights::SEND | libsys::abi::Rights::GRANT, None)
            .ok();
    }
    libsys::names::lookup_wait(name, 5_000).ok()
}

/// One message to `target`, and what came of it.
fn one(rng: &mut Rng, target: &mut Target, forge: bool, i: u64) {
    let Some(endpoint) = target.endpoint.as_ref() else {
        return;
    };
    let (label, payload) = message(rng, target.name);
    if payload.len() <= PAYLOAD_MAX && !safe(target.name, label, &payload) {
        target.counts.filtered += 1;
        return;
    }
    let length = if rng.chance(5) {
        rng.around(PAYLOAD_MAX as u64) as usize
    } else {
        payload.len()
    };
    let written = libsys::ipc::write_payload(&payload[..payload.len().min(PAYLOAD_MAX)]);
    if written.is_err() {
        target.counts.filtered += 1;
        return;
    }
    let mut fresh = Vec::new();
    let mut words: [u64; 6] = core::array::from_fn(|_| rng.next_u64());
    let mut handles = 0u8;
    if rng.chance(20) {
        handles = 1 + rng.below(MAX_HANDLES as u64) as u8;
        for k in 0..handles as usize {
            let h = if rng.chance(50) {
                Endpoint::create().map(|e| e.0)
            } else {
                Notification::create().map(|n| n.0)
            };
            if let Ok(h) = h {
                words[6 - handles as usize + k] = u64::from(h.raw().0);
                fresh.push(h);
            }
        }
    } else if rng.chance(3) {
        handles = rng.below(MAX_HANDLES as u64 + 1) as u8;
    }
    let mut flags = if rng.chance(20) {
        MsgInfo::MOVE_HANDLES
    } else {
        0
    };
    if forge && rng.chance(10) {
        flags |= MsgInfo::NOTIFICATION;
    }
    let info = MsgInfo::new(label)
        .with_payload(length.min(0x1fff) as u16)
        .with_handles(handles);
    let regs = IpcRegs {
        info: info.encode() | u64::from(flags) << 48,
        rdx: CALL_TIMEOUT,
        words,
    };
    target.counts.sent += 1;
    let (status, out) = raw_call(endpoint.raw(), regs);
    if flags & MsgInfo::MOVE_HANDLES != 0 && status == 0 {
        // Moved: ours are closed already; forget them without closing.
        for h in fresh.drain(..) {
            let _ = h.into_raw();
        }
    }
    drop(fresh);
    match libsys::abi::decode_result(status, 0) {
        Ok(_) => answered(target, out, mmap_pages(target.name, label, &payload)),
        Err(SysError::TimedOut) => {
            target.counts.timeouts += 1;
            if !probe(target) {
                eprintln!(
                    "msgfuzz: {} stopped answering after message {i} (label {label:#x}, {} bytes)",
                    target.name,
                    payload.len()
                );
                target.counts.hung += 1;
                target.endpoint = None;
            }
        }
        Err(SysError::PeerDied) => {
            eprintln!(
                "msgfuzz: {} died at message {i} (label {label:#x}, {} bytes)",
                target.name,
                payload.len()
            );
            target.counts.deaths += 1;
            target.endpoint = connect(target.name);
        }
        Err(_) => target.counts.kernel_errors += 1,
    }
}

/// The pages of the `mm` area a request asks for, if it is an `Mmap`.
fn mmap_pages(server: &str, label: u32, payload: &[u8]) -> Option<u64> {
    if server != "mm" || label != LABEL_REQUEST {
        return None;
    }
    match rpc::decode::<mm::Request>(payload) {
        Ok(mm::Request::Mmap { pages, .. }) => Some(pages),
        _ => None,
    }
}

/// Counts a reply by its label and closes the handles it brought; an
/// area `mm` mapped (`pages` long) is unmapped again.
fn answered(target: &mut Target, out: IpcRegs, pages: Option<u64>) {
    let info = MsgInfo::decode(out.info).unwrap_or_default();
    let n = (info.handles as usize).min(MAX_HANDLES);
    for raw in &out.words[6 - n..] {
        let _ = libsys::syscall::call6(Syscall::HandleClose, [*raw, 0, 0, 0, 0, 0]);
    }
    match info.label {
        LABEL_REPLY => target.counts.replies += 1,
        LABEL_BAD_REQUEST => target.counts.bad_request += 1,
        LABEL_SERVER_ERROR => target.counts.server_error += 1,
        _ => target.counts.other_label += 1,
    }
    if let (Some(pages), LABEL_REPLY) = (pages, info.label) {
        let mut bytes = [0u8; 64];
        let len = libsys::ipc::read_payload(info.length as usize, &mut bytes);
        if let Ok(mm::Reply::Mapped(at)) = rpc::decode::<mm::Reply>(&bytes[..len]) {
            let _ = libsys::mm::munmap(at, pages);
        }
    }
}

/// A real request with a long timeout: does the server still answer?
fn probe(target: &Target) -> bool {
    let Some(endpoint) = target.endpoint.as_ref() else {
        return false;
    };
    let mut buffer = [0u8; 64];
    let len = match target.name {
        "mm" => rpc::encode(&mm::Request::Stats, &mut buffer),
        "timer" => rpc::encode(&timer::Request::Jiffies, &mut buffer),
        "kv" => rpc::encode(&kv::Request::Stats, &mut buffer),
        "wait1" => rpc::encode(&wait1::Request::Stats, &mut buffer),
        _ => rpc::encode(
            &name::Request::Lookup {
                name: "kv".try_into().unwrap_or_default(),
            },
            &mut buffer,
        ),
    };
    let Ok(len) = len else { return false };
    let Ok(length) = libsys::ipc::write_payload(&buffer[..len]) else {
        return false;
    };
    let msg = libsys::ipc::Message::new(LABEL_REQUEST).with_payload(length);
    match endpoint.call(&msg, PROBE_TIMEOUT) {
        Ok(reply) => {
            for raw in reply.handles() {
                let _ = libsys::syscall::call6(Syscall::HandleClose, [*raw, 0, 0, 0, 0, 0]);
            }
            true
        }
        Err(_) => false,
    }
}

/// A label and payload for `server`.
fn message(rng: &mut Rng, server: &str) -> (u32, Vec<u8>) {
    match rng.below(10) {
        0 | 1 => {
            let label = match rng.below(5) {
                0 => LABEL_REPLY,
                1 => LABEL_BAD_REQUEST + rng.below(3) as u32,
                2 => rng.below(16) as u32,
                _ => rng.next_u64() as u32,
            };
            (label, random_bytes(rng))
        }
        2 | 3 => (LABEL_REQUEST, random_bytes(rng)),
        4 => (LABEL_REQUEST, sample(rng, server)),
        _ => {
            let mut bytes = sample(rng, server);
            mutate(rng, &mut bytes);
            (LABEL_REQUEST, bytes)
        }
    }
}

fn random_bytes(rng: &mut Rng) -> Vec<u8> {
    let len = (rng.around(64) as usize).min(PAYLOAD_MAX + 8);
    (0..len).map(|_| rng.next_u64() as u8).collect()
}

/// Flips bits, replaces bytes, truncates, extends or changes the tag.
fn mutate(rng: &mut Rng, bytes: &mut Vec<u8>) {
    for _ in 0..1 + rng.below(3) {
        match rng.below(5) {
            0 if !bytes.is_empty() => {
                let at = rng.below(bytes.len() as u64) as usize;
                bytes[at] ^= 1 << rng.below(8);
            }
            1 if !bytes.is_empty() => {
                let at = rng.below(bytes.len() as u64) as usize;
                bytes[at] = rng.next_u64() as u8;
            }
            2 => bytes.truncate(rng.below(bytes.len() as u64 + 1) as usize),
            3 => bytes.extend((0..rng.below(16)).map(|_| rng.next_u64() as u8)),
            _ if !bytes.is_empty() => bytes[0] = rng.below(16) as u8,
            _ => bytes.push(rng.next_u64() as u8),
        }
    }
}

/// The most pages a fuzzed `Mmap` may ask for (and is unmapped after).
const MMAP_PAGES_MAX: u64 = 16;

/// A valid request of `server`'s protocol, encoded.
fn sample(rng: &mut Rng, server: &str) -> Vec<u8> {
    let mut buffer = alloc::vec![0u8; PAYLOAD_MAX];
    let word = rng.around(1 << 20);
    let text: name::Name = match rng.below(4) {
        0 => "kv".try_into().unwrap_or_default(),
        1 => "mm".try_into().unwrap_or_default(),
        2 => name::Name::new(),
        _ => "fuzz".try_into().unwrap_or_default(),
    };
    let encoded = match server {
        "mm" => rpc::encode(&mm_sample(rng, word), &mut buffer),
        "timer" => rpc::encode(&timer_sample(rng, word), &mut buffer),
        "kv" => {
            let key: kv::Key = text.as_str().try_into().unwrap_or_default();
            let request = match rng.below(5) {
                0 => kv::Request::Put {
                    key,
                    value: kv::Value::from_slice(&word.to_le_bytes()).unwrap_or_default(),
                },
                1 => kv::Request::Get { key },
                2 => kv::Request::Delete { key },
                3 => kv::Request::List { after: Some(key) },
                _ => kv::Request::Stats,
            };
            rpc::encode(&request, &mut buffer)
        }
        "wait1" => {
            let request = match rng.below(3) {
                0 => wait1::Request::Write {
                    bytes: wait1::Bytes::from_slice(b"fuzz").unwrap_or_default(),
                    nonblock: true,
                },
                1 => wait1::Request::Read {
                    max: word as u32,
                    nonblock: true,
                },
                _ => wait1::Request::Stats,
            };
            rpc::encode(&request, &mut buffer)
        }
        _ => {
            let name: name::Name = text;
            let request = match rng.below(2) {
                0 => name::Request::Register { name },
                _ => name::Request::Lookup { name },
            };
            rpc::encode(&request, &mut buffer)
        }
    };
    buffer.truncate(encoded.unwrap_or(0));
    buffer
}

fn mm_sample(rng: &mut Rng, word: u64) -> mm::Request {
    match rng.below(8) {
        0 => mm::Request::Mmap {
            at: None,
            pages: 1 + word % MMAP_PAGES_MAX,
            prot: rng.below(8) as u8,
            populate: false,
        },
        1 => mm::Request::Accept {
            token: word,
            at: None,
        },
        2 => mm::Request::MapPhysical {
            phys: word << 12,
            pages: 1,
            at: None,
            writable: rng.chance(50),
        },
        3 => mm::Request::SystemStats,
        4 => mm::Request::SlabInfo,
        5 => mm::Request::Exit { id: word },
        6 => mm::Request::GiveDevice { id: word },
        _ => mm::Request::Stats,
    }
}

fn timer_sample(rng: &mut Rng, word: u64) -> timer::Request {
    let when = if rng.chance(50) {
        timer::Expiry::After(word)
    } else {
        timer::Expiry::At(word)
    };
    match rng.below(9) {
        0 => timer::Request::ClockGettime {
            clock: rng.below(4) as u32,
        },
        1 => timer::Request::Sleep {
            ns: word % 1_000_000,
        },
        2 => timer::Request::Bind,
        3 => timer::Request::AddTimer {
            when,
            period_ns: 0,
            bit: rng.below(70) as u8,
        },
        4 => timer::Request::ModTimer {
            id: rng.below(8),
            when,
        },
        5 => timer::Request::DelTimer { id: rng.below(8) },
        6 => timer::Request::Session,
        7 => timer::Request::Interrupt,
        _ => timer::Request::Jiffies,
    }
}

/// False for a request that would legitimately harm this process or
/// that a known defect makes fatal (see the module documentation); the
/// payload is decoded as the server decodes it.
fn safe(server: &str, label: u32, payload: &[u8]) -> bool {
    if label != LABEL_REQUEST {
        return true;
    }
    match server {
        "mm" => match rpc::decode::<mm::Request>(payload) {
            Ok(mm::Request::Mmap {
                pages,
                populate,
                at,
                ..
            }) => !populate && pages <= MMAP_PAGES_MAX && at.is_none(),
            Ok(
                mm::Request::Munmap { .. }
                | mm::Request::Mprotect { .. }
                | mm::Request::Brk { .. }
                | mm::Request::Share { .. }
                | mm::Request::ForkAs,
            ) => false,
            Ok(mm::Request::Accept { at, .. } | mm::Request::MapPhysical { at, .. }) => {
                at.is_none()
            }
            _ => true,
        },
        "timer" => match rpc::decode::<timer::Request>(payload) {
            Ok(timer::Request::Sleep { ns }) => ns <= 1_000_000,
            Ok(timer::Request::AddTimer { period_ns, .. }) => {
                period_ns == 0 || period_ns >= 1_000_000_000
            }
            _ => true,
        },
        "wait1" => match rpc::decode::<wait1::Request>(payload) {
            Ok(wait1::Request::Read { nonblock, .. } | wait1::Request::Write { nonblock, .. }) => {
                nonblock
            }
            _ => true,
        },
        _ => true,
    }
}

/// A `call` with registers of our choosing.
#[allow(unsafe_code)]
fn raw_call(endpoint: Handle, regs: IpcRegs) -> (u64, IpcRegs) {
    // SAFETY: the kernel checks every argument; the handles named are
    // this process's fresh ones (or numbers it may not hold), and the
    // reply lands in the IPC buffer, which no reference is held into.
    unsafe { libsys::syscall::raw::ipc(Syscall::Call as u64, u64::from(endpoint.0), regs) }
}
