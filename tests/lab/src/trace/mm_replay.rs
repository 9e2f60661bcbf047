//! Replaying a recorded trace of the memory server `mm` (docs/labs/README.md,
//! "mm: the core's steps and its machine calls in the record").
//!
//! mm's replies depend on the machine: which frame a fault maps is the
//! buddy allocator's choice, whether a map succeeds is the kernel's, and
//! the ELF images it loads are boot modules. So a recording mm logs the
//! steps its server loop hands the core — `boot` over the recorded RAM
//! (`ram` lines), each `image` it maps (its ELF headers), `adopt`,
//! `exec`, `fork`, `fault`, every request the core answers (`req`, its
//! reply `now`), `exit`/`dead`, `device`, `shrinker`, `pagecache`, the
//! images released, the shrinkers signalled (`balance`), the file
//! server signalled and file faults completed (`filesignal`, `done`) —
//! each with its result (`ret <Debug>`), and between them every call the
//! core made of the machine (`mm::record`) and every block of pages mm's
//! own heap took from or gave back to the buddy allocator (`kalloc`,
//! `kfree`).
//!
//! [`replay_mm`] drives a fresh `Mm` through the same steps in the same
//! order, with a machine that answers each call from the record (a map's
//! recorded success or failure) and checks it is the recorded call; the
//! heap's blocks are taken and given back at their place in the record.
//! Frame contents are not modelled (the core never reads them back): an
//! image is its recorded headers and zeros, which changes only the bytes
//! `write` is given, and those are not compared. The first difference —
//! a call the record does not have, a recorded call left unmade, a heap
//! block the buddy allocator placed elsewhere, a result that differs — is
//! reported, with the step it happened in decoded.

use std::collections::HashMap;

use libsys::proto::mm::{Reply, Request};
use libsys::rpc::{self, LABEL_REPLY, LABEL_REQUEST};
use mm::record::MachineCall;
use mm::{ImageId, KernelPages, Machine, MachineError, Mm, SpaceId};

use super::{hex, show, show_request, Replayed};

/// One line (with its bytes) of an mm trace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MmEvent {
    /// The server (re)started: a fresh core.
    Start,
    /// A range of RAM given (`Give`), before `boot`.
    Ram {
        base: u64,
        pages: u64,
    },
    /// `Mm::new` over the RAM given.
    Boot,
    /// The share-token key (`Mm::seed_tokens`).
    Seed(u64),
    /// An image mapped by the server: its id, size and ELF headers.
    Image {
        id: ImageId,
        size: u64,
        bytes: Vec<u8>,
    },
    Adopt {
        id: SpaceId,
        image: ImageId,
        bytes: Vec<u8>,
    },
    Exec {
        id: SpaceId,
        image: ImageId,
        bytes: Vec<u8>,
    },
    Fork {
        parent: SpaceId,
        child: SpaceId,
    },
    Fault {
        space: SpaceId,
        addr: u64,
        error: u64,
    },
    /// A request the core answers (postcard bytes), from `badge`.
    Request {
        badge: u64,
        label: u32,
        bytes: Vec<u8>,
    },
    /// Its reply.
    Now {
        label: u32,
        bytes: Vec<u8>,
    },
    Exit(SpaceId),
    Dead(SpaceId),
    Device {
        phys: u64,
        pages: u64,
        space: SpaceId,
    },
    Shrinker {
        badge: u64,
        bit: u8,
        seeks: u32,
    },
    PageCache {
        badge: u64,
        pages: u64,
    },
    Release(ImageId),
    Released(ImageId),
    Balance {
        owner: SpaceId,
        bit: u8,
    },
    FileSignal(SpaceId),
    /// A file fault completed: its token and outcome (`Debug`).
    Done {
        token: u64,
        outcome: String,
    },
    /// The step's result (`Debug`).
    Ret(String),
    /// A call the core made of the machine.
    Call(MachineCall),
    /// mm's heap took a block of 2^order pages (`None`: none was free).
    Kalloc {
        order: u32,
        pfn: Option<u64>,
    },
    /// mm's heap gave a block back.
    Kfree {
        pfn: u64,
        order: u32,
    },
    /// The recording stopped here (`record=<lines>`).
    End,
}

impl MmEvent {
    /// Whether the event begins a step of the replay (what the server
    /// loop hands the core), not a part of one.
    fn begins_step(&self) -> bool {
        !matches!(
            self,
            MmEvent::Ret(_)
                | MmEvent::Call(_)
                | MmEvent::Now { .. }
                | MmEvent::Kalloc { .. }
                | MmEvent::Kfree { .. }
                | MmEvent::End
                | MmEvent::Ram { .. }
        )
    }

    fn bytes_mut(&mut self) -> Option<&mut Vec<u8>> {
        match self {
            MmEvent::Image { bytes, .. }
            | MmEvent::Adopt { bytes, .. }
            | MmEvent::Exec { bytes, .. }
            | MmEvent::Request { bytes, .. }
            | MmEvent::Now { bytes, .. } => Some(bytes),
            _ => None,
        }
    }
}

/// A number, decimal or `0x` hexadecimal.
fn number(word: &str) -> Option<u64> {
    match word.strip_prefix("0x") {
        Some(h) => u64::from_str_radix(h, 16).ok(),
        None => word.parse().ok(),
    }
}

/// Parses a trace (or extracted lines) of `mm`. Blank and `#` lines are
/// skipped; an event's bytes must be complete before the next event.
pub fn parse_mm(text: &str) -> Result<Vec<MmEvent>, String> {
    let mut events: Vec<MmEvent> = Vec::new();
    let mut wanted = 0usize;
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let at = |why: String| format!("line {}: {why}", i + 1);
        let rest = line
            .strip_prefix("REC mm ")
            .ok_or_else(|| at("not a `REC mm ` line".into()))?;
        let words: Vec<&str> = rest.split_whitespace().collect();
        let num = |k: usize| -> Result<u64, String> {
            words
                .get(k)
                .and_then(|w| number(w))
                .ok_or_else(|| at(format!("word {} of {rest:?} is not a number", k + 1)))
        };
        let small = |k: usize| -> Result<u32, String> {
            u32::try_from(num(k)?).map_err(|_| at(format!("word {} out of range", k + 1)))
        };
        let byte = |k: usize| -> Result<u8, String> {
            u8::try_from(num(k)?).map_err(|_| at(format!("word {} out of range", k + 1)))
        };
        let ok = |k: usize| -> Result<bool, String> {
            match words.get(k) {
                Some(&"ok") => Ok(true),
                Some(&"err") => Ok(false),
                _ => Err(at(format!("word {} of {rest:?}: ok or err", k + 1))),
            }
        };
        if words.first() == Some(&"+") {
            let bytes = hex(words.get(1).copied().unwrap_or("")).map_err(at)?;
            let payload = events
                .last_mut()
                .and_then(MmEvent::bytes_mut)
                .ok_or_else(|| at("bytes after an event without any".into()))?;
            if payload.len() + bytes.len() > wanted {
                return Err(at("more bytes than announced".into()));
            }
            payload.extend(bytes);
            continue;
        }
        if let Some(bytes) = events.last_mut().and_then(MmEvent::bytes_mut) {
            if bytes.len() != wanted {
                return Err(at(format!(
                    "the event before has {} of its {wanted} bytes",
                    bytes.len()
                )));
            }
        }
        let mut with = |n: u64| {
            wanted = n as usize;
            Vec::new()
        };
        let event = match words.first().copied() {
            Some("start") => MmEvent::Start,
            Some("ram") => MmEvent::Ram {
                base: num(1)?,
                pages: num(2)?,
            },
            Some("boot") => MmEvent::Boot,
            Some("seed") => MmEvent::Seed(num(1)?),
            Some("image") => MmEvent::Image {
                id: small(1)?,
                size: num(2)?,
                bytes: with(num(3)?),
            },
            Some("adopt") => MmEvent::Adopt {
                id: num(1)?,
                image: small(2)?,
                bytes: with(num(3)?),
            },
            Some("exec") => MmEvent::Exec {
                id: num(1)?,
                image: small(2)?,
                bytes: with(num(3)?),
            },
            Some("fork") => MmEvent::Fork {
                parent: num(1)?,
                child: num(2)?,
            },
            Some("fault") => MmEvent::Fault {
                space: num(1)?,
                addr: num(2)?,
                error: num(3)?,
            },
            Some("req") => MmEvent::Request {
                badge: num(1)?,
                label: small(2)?,
                bytes: with(num(3)?),
            },
            Some("now") => MmEvent::Now {
                label: small(1)?,
                bytes: with(num(2)?),
            },
            Some("exit") => MmEvent::Exit(num(1)?),
            Some("dead") => MmEvent::Dead(num(1)?),
            Some("device") => MmEvent::Device {
                phys: num(1)?,
                pages: num(2)?,
                space: num(3)?,
            },
            Some("shrinker") => MmEvent::Shrinker {
                badge: num(1)?,
                bit: byte(2)?,
                seeks: small(3)?,
            },
            Some("pagecache") => MmEvent::PageCache {
                badge: num(1)?,
                pages: num(2)?,
            },
            Some("release") => MmEvent::Release(small(1)?),
            Some("released") => MmEvent::Released(small(1)?),
            Some("balance") => MmEvent::Balance {
                owner: num(1)?,
                bit: byte(2)?,
            },
            Some("filesignal") => MmEvent::FileSignal(num(1)?),
            Some("done") => MmEvent::Done {
                token: num(1)?,
                outcome: words[2..].join(" "),
            },
            Some("ret") => MmEvent::Ret(rest["ret".len()..].trim().to_string()),
            Some("map") => MmEvent::Call(MachineCall::Map {
                space: num(1)?,
                vaddr: num(2)?,
                pfn: num(3)?,
                prot: byte(4)?,
                replace: num(5)? != 0,
                ok: ok(6)?,
            }),
            Some("run") => MmEvent::Call(MachineCall::MapRun {
                space: num(1)?,
                vaddr: num(2)?,
                pfn: num(3)?,
                pages: num(4)?,
                prot: byte(5)?,
                ok: ok(6)?,
            }),
            Some("unmap") => MmEvent::Call(MachineCall::Unmap {
                space: num(1)?,
                vaddr: num(2)?,
                pages: num(3)?,
                ok: ok(4)?,
            }),
            Some("protect") => MmEvent::Call(MachineCall::Protect {
                space: num(1)?,
                vaddr: num(2)?,
                pages: num(3)?,
                prot: byte(4)?,
                ok: ok(5)?,
            }),
            Some("zero") => MmEvent::Call(MachineCall::Zero { pfn: num(1)? }),
            Some("copy") => MmEvent::Call(MachineCall::Copy {
                from: num(1)?,
                to: num(2)?,
            }),
            Some("write") => MmEvent::Call(MachineCall::Write {
                pfn: num(1)?,
                at: num(2)? as usize,
                len: num(3)? as usize,
            }),
            Some("kalloc") => MmEvent::Kalloc {
                order: small(1)?,
                pfn: match words.get(2) {
                    Some(&"none") => None,
                    _ => Some(num(2)?),
                },
            },
            Some("kfree") => MmEvent::Kfree {
                pfn: num(1)?,
                order: small(2)?,
            },
            Some("end") => MmEvent::End,
            _ => return Err(at(format!("unknown event {rest:?}"))),
        };
        events.push(event);
    }
    if let Some(bytes) = events.last_mut().and_then(MmEvent::bytes_mut) {
        if bytes.len() != wanted {
            return Err(format!(
                "the last event has {} of its {wanted} bytes",
                bytes.len()
            ));
        }
    }
    Ok(events)
}

/// The events without what follows an `end` in each process's part, nor
/// the step the `end` cut short.
fn before_end(events: &[MmEvent]) -> Vec<MmEvent> {
    let mut kept = Vec::new();
    let mut rest = events;
    while !rest.is_empty() {
        let next = rest[1..]
            .iter()
            .position(|e| *e == MmEvent::Start)
            .map_or(rest.len(), |k| k + 1);
        let part = &rest[..next];
        match part.iter().position(|e| *e == MmEvent::End) {
            None => kept.extend_from_slice(part),
            Some(end) => {
                let cut = part[..end]
                    .iter()
                    .rposition(|e| *e != MmEvent::Start && e.begins_step())
                    .unwrap_or(if part[0] == MmEvent::Start { 1 } else { 0 });
                kept.extend_from_slice(&part[..cut]);
            }
        }
        rest = &rest[next..];
    }
    kept
}

/// The heap's block operation at `event`, done on `pages`: `Err` if the
/// buddy allocator answers otherwise than it did in the recording.
fn heap_block(pages: Option<&KernelPages>, event: &MmEvent) -> Result<(), String> {
    let Some(pages) = pages else {
        return Err("mm's heap took pages before the core was made".into());
    };
    match *event {
        MmEvent::Kalloc { order, pfn } => {
            let got = pages.alloc(order);
            if got != pfn {
                return Err(format!(
                    "mm's heap took a block of order {order}: the buddy allocator gave {} where the recording has {}",
                    frame(got),
                    frame(pfn)
                ));
            }
        }
        MmEvent::Kfree { pfn, order } if !pages.free(pfn, order) => {
            return Err(format!(
                "mm's heap gave back the block of order {order} at frame {pfn:#x}: the buddy allocator refused it"
            ));
        }
        _ => {}
    }
    Ok(())
}

fn frame(pfn: Option<u64>) -> String {
    pfn.map_or("none".into(), |p| format!("frame {p:#x}"))
}

/// The machine the replayed core runs on: each call is the next one in
/// the record (heap blocks on the way are taken and given back), and
/// gets its recorded result. After the first difference it answers `Ok`
/// (the host simulator's success) and stops reading the record; the
/// difference is reported when the step ends.
struct Replayer<'a> {
    events: &'a [MmEvent],
    at: usize,
    images: &'a HashMap<ImageId, Vec<u8>>,
    pages: Option<&'a KernelPages>,
    wrong: Option<String>,
}

impl Replayer<'_> {
    /// Takes and gives back the heap blocks recorded next.
    fn heap(&mut self) {
        while let Some(event @ (MmEvent::Kalloc { .. } | MmEvent::Kfree { .. })) =
            self.events.get(self.at)
        {
            self.at += 1;
            if self.wrong.is_none() {
                if let Err(e) = heap_block(self.pages, event) {
                    self.wrong = Some(e);
                }
            }
        }
    }

    fn call(&mut self, made: MachineCall) -> Result<(), MachineError> {
        if self.wrong.is_some() {
            return Ok(());
        }
        self.heap();
        if self.wrong.is_some() {
            return Ok(());
        }
        match self.events.get(self.at) {
            Some(MmEvent::Call(recorded)) if recorded.asked() == made => {
                self.at += 1;
                recorded.result()
            }
            Some(MmEvent::Call(recorded)) => {
                self.wrong = Some(format!(
                    "the core made a {made} where the recording has a {recorded}"
                ));
                Ok(())
            }
            _ => {
                self.wrong = Some(format!(
                    "the core made a {made} where the recording has no more calls"
                ));
                Ok(())
            }
        }
    }
}

impl Machine for Replayer<'_> {
    fn map(
        &mut self,
        space: SpaceId,
        vaddr: u64,
        pfn: u64,
        prot: u8,
        replace: bool,
    ) -> Result<(), MachineError> {
        self.call(MachineCall::Map {
            space,
            vaddr,
            pfn,
            prot,
            replace,
            ok: true,
        })
    }

    fn map_run(
        &mut self,
        space: SpaceId,
        vaddr: u64,
        pfn: u64,
        pages: u64,
        prot: u8,
    ) -> Result<(), MachineError> {
        self.call(MachineCall::MapRun {
            space,
            vaddr,
            pfn,
            pages,
            prot,
            ok: true,
        })
    }

    fn unmap(&mut self, space: SpaceId, vaddr: u64, pages: u64) -> Result<(), MachineError> {
        self.call(MachineCall::Unmap {
            space,
            vaddr,
            pages,
            ok: true,
        })
    }

    fn protect(
        &mut self,
        space: SpaceId,
        vaddr: u64,
        pages: u64,
        prot: u8,
    ) -> Result<(), MachineError> {
        self.call(MachineCall::Protect {
            space,
            vaddr,
            pages,
            prot,
            ok: true,
        })
    }

    fn zero(&mut self, pfn: u64) {
        let _ = self.call(MachineCall::Zero { pfn });
    }

    fn copy(&mut self, from: u64, to: u64) {
        let _ = self.call(MachineCall::Copy { from, to });
    }

    fn write(&mut self, pfn: u64, at: usize, bytes: &[u8]) {
        let _ = self.call(MachineCall::Write {
            pfn,
            at,
            len: bytes.len(),
        });
    }

    fn image(&self, image: ImageId) -> &[u8] {
        self.images.get(&image).map_or(&[], Vec::as_slice)
    }
}

/// The replay's state: the core and what the server held for it.
#[derive(Default)]
struct State {
    core: Option<Mm>,
    pages: Option<KernelPages>,
    ram: Vec<(u64, u64)>,
    images: HashMap<ImageId, Vec<u8>>,
}

/// Replays `events` (a trace of mm) against fresh cores: see the module
/// documentation. The error names the first difference, in its step.
pub fn replay_mm(events: &[MmEvent]) -> Result<Replayed, String> {
    let events = before_end(events);
    let mut state = State::default();
    let (mut steps, mut compared) = (0, 0);
    let mut i = 0;
    while i < events.len() {
        let event = &events[i];
        i += 1;
        let begins = event.begins_step() && *event != MmEvent::Start;
        if begins {
            steps += 1;
        }
        let what = describe(event);
        let step = |why: String| format!("step #{steps} {what}: {why}");
        // The core, for the steps that need it.
        let need_core = |state: &mut State| -> Result<(), String> {
            if state.core.is_none() {
                return Err(step("there is no core yet (no `boot` before)".into()));
            }
            Ok(())
        };
        match event {
            MmEvent::Start => state = State::default(),
            MmEvent::End => break,
            MmEvent::Ram { base, pages } => state.ram.push((*base, *pages)),
            MmEvent::Boot => {
                let made = Mm::new(&state.ram);
                let got = format!("{:?}", made.as_ref().map(|core| core.total_pages()));
                expect_ret(&events, &mut i, &got).map_err(step)?;
                compared += 1;
                if let Ok(mut core) = made {
                    core.keep_reserve();
                    state.pages = Some(core.kernel_pages());
                    state.core = Some(core);
                }
            }
            MmEvent::Seed(key) => {
                need_core(&mut state)?;
                if let Some(core) = state.core.as_mut() {
                    core.seed_tokens(*key);
                }
            }
            MmEvent::Image { id, size, bytes } => {
                let mut image = vec![0u8; *size as usize];
                let n = bytes.len().min(image.len());
                image[..n].copy_from_slice(&bytes[..n]);
                state.images.insert(*id, image);
            }
            MmEvent::Kalloc { .. } | MmEvent::Kfree { .. } => {
                heap_block(state.pages.as_ref(), event)
                    .map_err(|e| format!("after step #{steps}: {e}"))?;
            }
            MmEvent::Released(image) => {
                need_core(&mut state)?;
                let got = state.core.as_mut().and_then(Mm::take_released_image);
                if got != Some(*image) {
                    return Err(step(format!(
                        "the core released image {got:?} where the recording has {image}"
                    )));
                }
                compared += 1;
            }
            MmEvent::Release(image) => {
                need_core(&mut state)?;
                if let Some(core) = state.core.as_mut() {
                    core.release_if_unused(*image);
                }
            }
            MmEvent::Balance { .. } => {
                need_core(&mut state)?;
                let mut recorded = Vec::new();
                let mut k = i - 1;
                while let Some(MmEvent::Balance { owner, bit }) = events.get(k) {
                    recorded.push((*owner, *bit));
                    k += 1;
                }
                i = k;
                let got = state.core.as_mut().map(Mm::balance).unwrap_or_default();
                if got != recorded {
                    return Err(step(format!(
                        "expected the shrinkers {recorded:?} signalled, got {got:?}"
                    )));
                }
                compared += 1;
            }
            MmEvent::FileSignal(space) => {
                need_core(&mut state)?;
                let got = state.core.as_mut().and_then(Mm::take_file_signal);
                if got != Some(*space) {
                    return Err(step(format!("expected Some({space}) got {got:?}")));
                }
                compared += 1;
            }
            MmEvent::Done { .. } => {
                need_core(&mut state)?;
                let mut recorded = Vec::new();
                let mut k = i - 1;
                while let Some(MmEvent::Done { token, outcome }) = events.get(k) {
                    recorded.push(format!("{token} {outcome}"));
                    k += 1;
                }
                i = k;
                let got: Vec<String> = state
                    .core
                    .as_mut()
                    .map(Mm::take_completions)
                    .unwrap_or_default()
                    .into_iter()
                    .map(|(token, outcome)| format!("{token} {outcome:?}"))
                    .collect();
                if got != recorded {
                    return Err(step(format!(
                        "expected the completions {recorded:?} got {got:?}"
                    )));
                }
                compared += 1;
            }
            MmEvent::Device { phys, pages, space } => {
                need_core(&mut state)?;
                let core = state.core.as_mut().expect("checked");
                let got = format!("{:?}", core.add_device(*phys, *pages, *space));
                expect_ret(&events, &mut i, &got).map_err(step)?;
                compared += 1;
            }
            MmEvent::Shrinker { badge, bit, seeks } => {
                need_core(&mut state)?;
                let core = state.core.as_mut().expect("checked");
                let got = format!("{:?}", core.register_shrinker(*badge, *bit, *seeks));
                expect_ret(&events, &mut i, &got).map_err(step)?;
                compared += 1;
            }
            MmEvent::PageCache { badge, pages } => {
                need_core(&mut state)?;
                let core = state.core.as_mut().expect("checked");
                let got = format!("{:?}", core.register_page_cache(*badge, *pages));
                expect_ret(&events, &mut i, &got).map_err(step)?;
                compared += 1;
            }
            MmEvent::Adopt { .. }
            | MmEvent::Exec { .. }
            | MmEvent::Fork { .. }
            | MmEvent::Fault { .. }
            | MmEvent::Request { .. }
            | MmEvent::Exit(_)
            | MmEvent::Dead(_) => {
                need_core(&mut state)?;
                let State {
                    core,
                    pages,
                    images,
                    ..
                } = &mut state;
                let core = core.as_mut().expect("checked");
                let mut m = Replayer {
                    events: &events,
                    at: i,
                    images,
                    pages: pages.as_ref(),
                    wrong: None,
                };
                let got = machine_step(core, event, &mut m).map_err(step)?;
                if let Some(wrong) = m.wrong {
                    return Err(step(wrong));
                }
                // The heap's blocks up to the result, then no call left.
                m.heap();
                if let Some(wrong) = m.wrong {
                    return Err(step(wrong));
                }
                if let Some(MmEvent::Call(left)) = events.get(m.at) {
                    return Err(step(format!(
                        "the core is done where the recording has a {left} next"
                    )));
                }
                i = m.at;
                match got {
                    Got::Debug(got) => expect_ret(&events, &mut i, &got).map_err(step)?,
                    Got::Reply(reply) => expect_now(&events, &mut i, &reply).map_err(step)?,
                }
                compared += 1;
            }
            MmEvent::Ret(_) | MmEvent::Now { .. } | MmEvent::Call(_) => {
                return Err(format!(
                    "after step #{steps}: a `{}` outside any step (a damaged trace)",
                    describe(event)
                ));
            }
        }
    }
    Ok(Replayed {
        requests: steps,
        replies: compared,
    })
}

/// What a step answered: its `Debug` text, or a request's reply.
enum Got {
    Debug(String),
    Reply(Reply),
}

/// Runs a step that calls the machine.
fn machine_step(core: &mut Mm, event: &MmEvent, m: &mut Replayer) -> Result<Got, String> {
    Ok(match event {
        MmEvent::Adopt { id, image, bytes } => {
            let args = std::str::from_utf8(bytes).map_err(|_| "arguments not UTF-8")?;
            Got::Debug(format!("{:?}", core.adopt(*id, *image, args, m)))
        }
        MmEvent::Exec { id, image, bytes } => {
            Got::Debug(format!("{:?}", core.exec(*id, *image, bytes, m)))
        }
        MmEvent::Fork { parent, child } => {
            Got::Debug(format!("{:?}", core.fork(*parent, *child, m)))
        }
        MmEvent::Fault { space, addr, error } => {
            Got::Debug(format!("{:?}", core.fault(*space, *addr, *error, m)))
        }
        MmEvent::Exit(id) => Got::Debug(format!("{:?}", core.exit(*id, m))),
        MmEvent::Dead(id) => Got::Debug(format!("{:?}", core.exit_dead(*id, m))),
        MmEvent::Request {
            badge,
            label,
            bytes,
        } => {
            if *label != LABEL_REQUEST {
                return Err(format!("a request with label {label:#x}"));
            }
            let request: Request =
                rpc::decode(bytes).map_err(|_| "the request does not decode".to_string())?;
            Got::Reply(core.request(*badge, request, m))
        }
        _ => unreachable!("not a step with machine calls"),
    })
}

/// The next event must be the `ret` with `got`.
fn expect_ret(events: &[MmEvent], i: &mut usize, got: &str) -> Result<(), String> {
    match events.get(*i) {
        Some(MmEvent::Ret(recorded)) => {
            *i += 1;
            if recorded != got {
                return Err(format!("expected {recorded} got {got}"));
            }
            Ok(())
        }
        other => Err(format!(
            "the recording has no result here (next: {})",
            other.map_or("the end".into(), describe)
        )),
    }
}

/// The next event must be the `now` with `got` encoded.
fn expect_now(events: &[MmEvent], i: &mut usize, got: &Reply) -> Result<(), String> {
    match events.get(*i) {
        Some(MmEvent::Now { label, bytes }) => {
            *i += 1;
            let same =
                *label == LABEL_REPLY && rpc::decode::<Reply>(bytes).ok().as_ref() == Some(got);
            if !same {
                return Err(format!(
                    "expected {} got {got:?}",
                    show::<Reply>(*label, bytes)
                ));
            }
            Ok(())
        }
        other => Err(format!(
            "the recording has no reply here (next: {})",
            other.map_or("the end".into(), describe)
        )),
    }
}

/// An event as the report names it.
fn describe(event: &MmEvent) -> String {
    match event {
        MmEvent::Request {
            badge,
            label,
            bytes,
        } => {
            format!("{} from {badge}", show_request::<Request>(*label, bytes))
        }
        MmEvent::Adopt { id, image, bytes } => format!(
            "Adopt {{ id: {id}, image: {image}, args: {:?} }}",
            String::from_utf8_lossy(bytes)
        ),
        MmEvent::Exec { id, image, bytes } => format!(
            "Exec {{ id: {id}, image: {image}, stack: {} bytes }}",
            bytes.len()
        ),
        MmEvent::Fault { space, addr, error } => {
            format!("Fault {{ space: {space}, addr: {addr:#x}, error: {error:#x} }}")
        }
        MmEvent::Image { id, size, bytes } => format!(
            "Image {{ id: {id}, size: {size}, headers: {} bytes }}",
            bytes.len()
        ),
        MmEvent::Now { label, bytes } => format!("reply {}", show::<Reply>(*label, bytes)),
        MmEvent::Call(call) => format!("call: {call}"),
        other => format!("{other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use libsys::proto::mm::PROT_READ;
    use libsys::proto::mm::PROT_WRITE;
    use mm::record::Recording;
    use std::cell::RefCell;
    use std::fmt::{self, Write};

    thread_local! {
        static LOG: RefCell<String> = const { RefCell::new(String::new()) };
    }

    /// One recorded line, as the server writes it.
    fn log(args: fmt::Arguments) {
        LOG.with(|l| writeln!(l.borrow_mut(), "mm[3]: REC mm {args}").unwrap());
    }

    /// An event with bytes.
    fn data(header: fmt::Arguments, bytes: &[u8]) {
        libsys::record::format_event("mm", header, bytes, |line| {
            LOG.with(|l| writeln!(l.borrow_mut(), "mm[3]: {line}").unwrap())
        });
    }

    fn ret(value: &dyn fmt::Debug) {
        log(format_args!("ret {value:?}"));
    }

    /// A machine that does everything asked (frames are not modelled).
    struct Accepting {
        image: Vec<u8>,
    }

    impl Machine for Accepting {
        fn map(&mut self, _: SpaceId, _: u64, _: u64, _: u8, _: bool) -> Result<(), MachineError> {
            Ok(())
        }
        fn unmap(&mut self, _: SpaceId, _: u64, _: u64) -> Result<(), MachineError> {
            Ok(())
        }
        fn protect(&mut self, _: SpaceId, _: u64, _: u64, _: u8) -> Result<(), MachineError> {
            Ok(())
        }
        fn zero(&mut self, _: u64) {}
        fn copy(&mut self, _: u64, _: u64) {}
        fn write(&mut self, _: u64, _: usize, _: &[u8]) {}
        fn image(&self, image: ImageId) -> &[u8] {
            if image == 0 {
                &self.image
            } else {
                &[]
            }
        }
    }

    const PF_PRESENT: u64 = 1;
    const PF_WRITE: u64 = 2;
    const PF_USER: u64 = 4;

    fn rec(real: &mut Accepting) -> Recording<'_> {
        Recording::new(real, Some(log))
    }

    /// A session recorded as the server records one: boot, an image, an
    /// adoption, demand faults, a request, a fork and both sides' writes
    /// to a shared copy-on-write page, a heap block, an exit.
    fn recorded() -> String {
        LOG.with(|l| l.borrow_mut().clear());
        let image = elfcheck::testing::elf(
            2,
            62,
            0x40_0000,
            &[(0x40_0000, 0x1000, 0x20, 5), (0x40_1000, 0x2000, 0x10, 6)],
        );
        let headers = image[..64 + 2 * 56].to_vec();
        let mut real = Accepting { image };
        log(format_args!("ram 0x100000 256"));
        log(format_args!("boot"));
        let mut core = Mm::new(&[(0x10_0000, 256)]).unwrap();
        ret(&Ok::<u64, MachineError>(core.total_pages()));
        core.keep_reserve();
        log(format_args!("seed 7"));
        core.seed_tokens(7);
        let size = real.image.len();
        data(format_args!("image 0 {size} {}", headers.len()), &headers);
        data(format_args!("adopt 1 0 4"), b"prog");
        ret(&core.adopt(1, 0, "prog", &mut rec(&mut real)));
        for (space, addr, error) in [(1, 0x40_0000, PF_USER), (1, 0x40_1000, PF_USER | PF_WRITE)] {
            log(format_args!("fault {space} {addr:#x} {error:#x}"));
            ret(&core.fault(space, addr, error, &mut rec(&mut real)));
        }
        let request = Request::Mmap {
            at: None,
            pages: 2,
            prot: PROT_READ | PROT_WRITE,
            populate: true,
        };
        let mut buffer = [0u8; 4096];
        let n = rpc::encode(&request, &mut buffer).unwrap();
        data(format_args!("req 1 {LABEL_REQUEST} {n}"), &buffer[..n]);
        let reply = core.request(1, request, &mut rec(&mut real));
        let n = rpc::encode(&reply, &mut buffer).unwrap();
        data(format_args!("now {LABEL_REPLY} {n}"), &buffer[..n]);
        log(format_args!("fork 1 2"));
        ret(&core.fork(1, 2, &mut rec(&mut real)));
        let pfn = core.kernel_pages().alloc(0).unwrap();
        log(format_args!("kalloc 0 {pfn:#x}"));
        // The parent copies the shared page; the child then has it alone.
        for space in [1, 2] {
            let error = PF_USER | PF_WRITE | PF_PRESENT;
            log(format_args!("fault {space} 0x401000 {error:#x}"));
            ret(&core.fault(space, 0x40_1000, error, &mut rec(&mut real)));
        }
        log(format_args!("exit 2"));
        ret(&core.exit(2, &mut rec(&mut real)));
        LOG.with(|l| l.borrow().clone())
    }

    /// The trace `lab extract` makes of `log`.
    fn trace(log: &str) -> String {
        super::super::extract(log, "mm").join("\n")
    }

    fn replayed(text: &str) -> Result<Replayed, String> {
        replay_mm(&parse_mm(text)?)
    }

    #[test]
    fn a_recorded_session_replays_with_every_result_matching() {
        let text = trace(&recorded());
        assert!(
            text.contains("REC mm copy "),
            "a copy-on-write copy:\n{text}"
        );
        assert!(text.contains("REC mm protect "), "a take-over:\n{text}");
        let r = replayed(&text).unwrap();
        // Steps: boot, seed, image, adopt, 2 faults, the request, fork, 2
        // faults, exit; results: all but the seed's and the image's.
        assert_eq!(r.requests, 11, "{text}");
        assert_eq!(r.replies, 9);
    }

    #[test]
    fn a_different_result_is_the_first_difference() {
        let text = trace(&recorded());
        let last_resume = text.rfind("REC mm ret Resume").unwrap();
        let mut tampered = text.clone();
        tampered.replace_range(
            last_resume..last_resume + "REC mm ret Resume".len(),
            "REC mm ret Kill(\"no memory\")",
        );
        let e = replayed(&tampered).unwrap_err();
        assert!(
            e.starts_with("step #10 Fault { space: 2, addr: 0x401000, error: 0x7 }: expected Kill(\"no memory\") got Resume"),
            "{e}"
        );
    }

    #[test]
    fn a_call_the_record_does_not_have_is_reported() {
        let text = trace(&recorded());
        let copy = text
            .lines()
            .rfind(|l| l.starts_with("REC mm copy "))
            .unwrap();
        let words: Vec<&str> = copy.split_whitespace().collect();
        let to = number(words[4]).unwrap();
        let tampered = text.replace(copy, &format!("REC mm copy {} {:#x}", words[3], to + 1));
        let e = replayed(&tampered).unwrap_err();
        assert!(
            e.starts_with("step #9 Fault { space: 1, addr: 0x401000, error: 0x7 }"),
            "{e}"
        );
        assert!(
            e.contains(&format!(
                "the core made a copy of frame {} to {to:#x} where the recording has a copy of frame {} to {:#x}",
                words[3],
                words[3],
                to + 1
            )),
            "{e}"
        );
        // A recorded call left unmade.
        let mut lines: Vec<&str> = text.lines().collect();
        let map = lines
            .iter()
            .rposition(|l| l.starts_with("REC mm protect "))
            .unwrap();
        let protect = lines[map];
        lines.insert(map + 1, protect);
        let e = replayed(&lines.join("\n")).unwrap_err();
        assert!(e.contains("the core is done where the recording has a protect of 1 pages at 0x401000 in space 2"), "{e}");
    }

    #[test]
    fn a_heap_block_placed_elsewhere_is_reported() {
        let text = trace(&recorded());
        let line = text
            .lines()
            .find(|l| l.starts_with("REC mm kalloc "))
            .unwrap();
        let e = replayed(&text.replace(line, "REC mm kalloc 0 0x1")).unwrap_err();
        assert!(
            e.starts_with(
                "after step #8: mm's heap took a block of order 0: the buddy allocator gave frame"
            ),
            "{e}"
        );
    }

    #[test]
    fn an_end_cuts_the_step_it_interrupts() {
        let text = trace(&recorded());
        // Cut in the middle of the fork's calls.
        let fork = text.find("REC mm fork ").unwrap();
        let cut = fork + text[fork..].find('\n').unwrap() + 1;
        assert!(
            !text[cut..].starts_with("REC mm ret"),
            "the fork calls the machine"
        );
        let cut_text = format!("{}REC mm end\n", &text[..cut]);
        let r = replayed(&cut_text).unwrap();
        assert_eq!(r.requests, 7, "{cut_text}");
        // And a damaged trace is an error, not a pass.
        let e = replayed(&text[..cut]).unwrap_err();
        assert!(e.contains("where the recording has no more calls"), "{e}");
    }

    #[test]
    fn bad_lines_are_refused() {
        assert!(parse_mm("REC mm frob 1")
            .unwrap_err()
            .contains("unknown event"));
        assert!(parse_mm("REC mm map 1 2 3 4 0 maybe")
            .unwrap_err()
            .contains("ok or err"));
        assert!(parse_mm("REC mm adopt 1 0 4\nREC mm + 01")
            .unwrap_err()
            .contains("1 of its 4 bytes"));
        assert!(replayed("REC mm fault 1 0x1000 0x4\nREC mm ret Resume")
            .unwrap_err()
            .contains("no core yet"));
    }
}
