//! Property-style tests: long seeded random runs (a plain xorshift, so a
//! failure replays exactly; no external crate needed).
//!
//! - Random processes doing everything (adopt, fork, exit, mmap, touch,
//!   munmap, mprotect, brk, share, accept) with little RAM: after every
//!   step mm's full invariant check holds (each frame's count is its
//!   number of mappings, a frame in two places is shared or copy-on-write
//!   everywhere, free + used == total) and the simulated page tables are
//!   exactly mm's page maps; at the end every frame is back.
//! - Memory contents against a model across forks, writes and unmaps.
//! - Thousands of random requests with garbage fields from random badges,
//!   and random faults: no panic, and the invariants still hold.

mod common;

use std::collections::HashMap;

use common::*;
use libsys::abi::{IPC_BUFFER_ADDR, USER_STACK_TOP};
use libsys::proto::mm::{
    Reply, Request, CONTROL_BADGE, PAGER_BADGE, PROT_EXEC, PROT_READ, PROT_WRITE,
};
use mm::layout::{MMAP_BASE, USER_END};
use mm::{AreaKind, FaultOutcome, SpaceId};

const RW: u8 = PROT_READ | PROT_WRITE;

/// A random live process.
fn pick(rng: &mut Rng, live: &[SpaceId]) -> SpaceId {
    live[rng.below(live.len() as u64) as usize]
}

/// A random address inside a random area of `id` (within its first 64
/// pages), with the area's kind.
fn somewhere(w: &World, rng: &mut Rng, id: SpaceId) -> Option<(u64, AreaKind)> {
    let areas: Vec<_> = w.mm.areas(id).collect();
    if areas.is_empty() {
        return None;
    }
    let area = areas[rng.below(areas.len() as u64) as usize];
    let page = rng.below(area.pages().min(64));
    Some((area.start + page * PAGE + rng.below(PAGE), area.kind))
}

/// A random page-aligned sub-range (start, pages) of a random area.
fn sub_range(w: &World, rng: &mut Rng, id: SpaceId) -> Option<(u64, u64)> {
    let (addr, _) = somewhere(w, rng, id)?;
    Some((addr & !(PAGE - 1), 1 + rng.below(4)))
}

/// A random run: the world, the generator, the live processes, the next
/// id to give, and the share tokens handed out.
struct Run {
    w: World,
    rng: Rng,
    live: Vec<SpaceId>,
    next: SpaceId,
    tokens: Vec<u64>,
}

impl Run {
    /// One random step of a random process. Returns what happened worth
    /// counting, so the test can check the run exercised it.
    fn step(&mut self) -> Option<&'static str> {
        let id = pick(&mut self.rng, &self.live);
        match self.rng.below(10) {
            0..=2 => self.birth_or_death(id),
            3 => self.mmap(id),
            4 | 5 => self.touch(id),
            6..=8 => self.change_area(id),
            _ => self.share_or_accept(id),
        }
    }

    fn birth_or_death(&mut self, id: SpaceId) -> Option<&'static str> {
        let n = self.live.len();
        match self.rng.below(3) {
            0 if n < 6 => {
                self.next += 1;
                self.w.adopt(self.next, "random");
                self.live.push(self.next);
                Some("adopt")
            }
            1 if n < 8 => {
                self.next += 1;
                self.w.mm.fork(id, self.next, &mut self.w.sim).ok()?;
                self.w.spaces.insert(self.next);
                self.live.push(self.next);
                Some("fork")
            }
            2 if n > 1 => {
                self.kill(id);
                Some("exit")
            }
            _ => None,
        }
    }

    fn kill(&mut self, id: SpaceId) {
        self.w.exit(id);
        self.live.retain(|&other| other != id);
    }

    fn mmap(&mut self, id: SpaceId) -> Option<&'static str> {
        let rng = &mut self.rng;
        let at = rng
            .chance(30)
            .then(|| 0x3000_0000_0000 + rng.below(64) * PAGE);
        let prot = [PROT_READ, RW, PROT_READ | PROT_EXEC][rng.below(3) as usize];
        let (pages, populate) = (1 + rng.below(8), rng.chance(20));
        let request = Request::Mmap {
            at,
            pages,
            prot,
            populate,
        };
        Some(match self.w.request(id, request) {
            Reply::Mapped(_) => "mmap",
            _ => "mmap refused",
        })
    }

    fn touch(&mut self, id: SpaceId) -> Option<&'static str> {
        let (addr, _) = somewhere(&self.w, &mut self.rng, id)?;
        let result = if self.rng.chance(50) {
            self.w.write(id, addr, self.rng.next() as u8)
        } else {
            self.w.read(id, addr).map(|_| ())
        };
        if result.is_err() && self.live.len() > 1 {
            // The kernel kills the process; init tells mm.
            self.kill(id);
            return Some("killed");
        }
        Some("touch")
    }

    fn change_area(&mut self, id: SpaceId) -> Option<&'static str> {
        let (at, pages) = sub_range(&self.w, &mut self.rng, id)?;
        let prot = [PROT_READ, RW, PROT_READ | PROT_EXEC][self.rng.below(3) as usize];
        let end = Some(0x40_4000 + self.rng.below(16) * 0x800);
        match self.rng.below(3) {
            0 => (self.w.request(id, Request::Munmap { at, pages }) == Reply::Done)
                .then_some("munmap"),
            1 => (self.w.request(id, Request::Mprotect { at, pages, prot }) == Reply::Done)
                .then_some("mprotect"),
            _ => matches!(self.w.request(id, Request::Brk { end }), Reply::Brk(_)).then_some("brk"),
        }
    }

    fn share_or_accept(&mut self, id: SpaceId) -> Option<&'static str> {
        if self.rng.chance(50) {
            let (at, pages) = sub_range(&self.w, &mut self.rng, id)?;
            let writable = self.rng.chance(50);
            let share = Request::Share {
                at,
                pages,
                writable,
            };
            let Reply::Token(token) = self.w.request(id, share) else {
                return None;
            };
            self.tokens.push(token);
            return Some("share");
        }
        let pick = self.rng.below(self.tokens.len() as u64 + 1) as usize;
        let &token = self.tokens.get(pick)?;
        let accepted = self.w.request(id, Request::Accept { token, at: None });
        matches!(accepted, Reply::Mapped(_)).then_some("accept")
    }
}

#[test]
fn random_processes_keep_every_invariant() {
    for seed in 1..=8u64 {
        let mut run = Run {
            w: World::new(160),
            rng: Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15)),
            live: vec![1, 2],
            next: 2,
            tokens: Vec::new(),
        };
        let total = run.w.mm.total_pages();
        run.w.adopt(1, "one");
        run.w.adopt(2, "two");
        let mut seen: HashMap<&str, u32> = HashMap::new();
        let mut cow_copies = 0;
        for _ in 0..1500 {
            if let Some(what) = run.step() {
                *seen.entry(what).or_default() += 1;
            }
            let copies = run.live.iter().map(|&id| run.w.stats(id).cow_copies);
            cow_copies = cow_copies.max(copies.sum());
            run.w.check();
        }
        let wanted = [
            "fork", "exit", "mmap", "touch", "munmap", "mprotect", "brk", "share", "accept",
            "killed",
        ];
        for what in wanted {
            assert!(
                seen.contains_key(what),
                "seed {seed}: no {what} in the run: {seen:?}"
            );
        }
        assert!(cow_copies > 0, "seed {seed}: no copy-on-write copy");
        let mut w = run.w;
        assert_eq!(w.mm.system_stats().processes as usize, run.live.len());
        for id in run.live {
            w.exit(id);
        }
        w.check();
        assert_eq!(w.mm.free_pages(), total, "seed {seed}: frames lost");
        assert!(w.sim.tables.is_empty());
    }
}

#[test]
fn memory_contents_follow_a_model_across_forks_and_unmaps() {
    for seed in 1..=4u64 {
        let mut rng = Rng(seed.wrapping_mul(0x2545_F491_4F6C_DD1D));
        let mut w = World::new(4096);
        let total = w.mm.total_pages();
        // What each process should read at each byte it wrote.
        let mut model: HashMap<SpaceId, HashMap<u64, u8>> = HashMap::new();
        let (mut live, mut next) = (vec![1], 1);
        w.adopt(1, "");
        model.insert(1, HashMap::new());
        for _ in 0..3000 {
            let id = pick(&mut rng, &live);
            let anon: Vec<_> =
                w.mm.areas(id)
                    .filter(|a| a.kind == AreaKind::Anon)
                    .collect();
            match rng.below(12) {
                0 if live.len() < 6 => {
                    next += 1;
                    w.fork(id, next);
                    let copy = model[&id].clone();
                    model.insert(next, copy);
                    live.push(next);
                }
                1 if live.len() > 1 => {
                    w.exit(id);
                    model.remove(&id);
                    live.retain(|&other| other != id);
                }
                2 if anon.len() < 12 => {
                    w.mmap(id, None, 1 + rng.below(6), RW);
                }
                3 if !anon.is_empty() => {
                    let area = anon[rng.below(anon.len() as u64) as usize];
                    let at = area.start + rng.below(area.pages()) * PAGE;
                    let pages = 1 + rng.below((area.end - at) / PAGE);
                    assert_eq!(w.request(id, Request::Munmap { at, pages }), Reply::Done);
                    model
                        .get_mut(&id)
                        .unwrap()
                        .retain(|&addr, _| !(at..at + pages * PAGE).contains(&addr));
                }
                _ if !anon.is_empty() => {
                    let area = anon[rng.below(anon.len() as u64) as usize];
                    let addr = area.start + rng.below(area.end - area.start);
                    if rng.chance(50) {
                        let byte = rng.next() as u8;
                        w.write(id, addr, byte).unwrap();
                        model.get_mut(&id).unwrap().insert(addr, byte);
                    } else {
                        let expected = model[&id].get(&addr).copied().unwrap_or(0);
                        assert_eq!(w.read(id, addr), Ok(expected), "seed {seed}, {addr:#x}");
                    }
                }
                _ => {}
            }
        }
        w.check();
        for (&id, bytes) in &model {
            for (&addr, &byte) in bytes {
                assert_eq!(w.read(id, addr), Ok(byte));
            }
        }
        for id in live {
            w.exit(id);
        }
        assert_eq!(w.mm.free_pages(), total);
    }
}

/// An address worth trying: valid ones near what exists, and garbage.
fn address(rng: &mut Rng) -> u64 {
    let choices = [
        0,
        1,
        PAGE,
        MMAP_BASE + rng.below(32) * PAGE,
        MMAP_BASE + rng.below(32) * PAGE + 1 + rng.below(PAGE - 1),
        TEXT_AT,
        DATA_AT,
        0x40_4000 + rng.below(8) * PAGE,
        IPC_BUFFER_ADDR,
        USER_STACK_TOP - PAGE,
        USER_END - PAGE,
        USER_END,
        0xffff_8000_0000_0000,
        u64::MAX,
        !(PAGE - 1),
        0xfee0_0000 + rng.below(20) * PAGE,
        rng.next(),
        rng.next() & !(PAGE - 1),
    ];
    choices[rng.below(choices.len() as u64) as usize]
}

/// A page count worth trying.
fn pages(rng: &mut Rng) -> u64 {
    let choices = [
        0,
        1,
        2,
        1 + rng.below(16),
        1 << 20,
        1 << 35,
        USER_END / PAGE,
        u64::MAX / PAGE,
        u64::MAX / PAGE + 1,
        u64::MAX,
        rng.next(),
    ];
    choices[rng.below(choices.len() as u64) as usize]
}

fn random_request(rng: &mut Rng, tokens: &[u64]) -> Request {
    let maybe = |rng: &mut Rng| rng.chance(50).then(|| address(rng));
    let prot = |rng: &mut Rng| {
        if rng.chance(80) {
            rng.below(8) as u8
        } else {
            rng.next() as u8
        }
    };
    match rng.below(14) {
        0 => Request::Brk { end: maybe(rng) },
        1 | 2 => Request::Mmap {
            at: maybe(rng),
            pages: pages(rng),
            prot: prot(rng),
            populate: rng.chance(30),
        },
        3 => Request::Munmap {
            at: address(rng),
            pages: pages(rng),
        },
        4 => Request::Mprotect {
            at: address(rng),
            pages: pages(rng),
            prot: prot(rng),
        },
        5 => Request::Share {
            at: address(rng),
            pages: pages(rng),
            writable: rng.chance(50),
        },
        6 => Request::Accept {
            token: tokens
                .get(rng.below(tokens.len() as u64 + 1) as usize)
                .copied()
                .unwrap_or(rng.next()),
            at: maybe(rng),
        },
        7 => Request::MapPhysical {
            phys: address(rng),
            pages: pages(rng),
            at: maybe(rng),
            writable: rng.chance(50),
        },
        8 => Request::Stats,
        9 => Request::SystemStats,
        10 => Request::ForkAs,
        11 => Request::Adopt {
            id: rng.below(8),
            image_size: rng.next(),
            args: "x".try_into().unwrap(),
        },
        12 if rng.chance(50) => Request::Give,
        12 => Request::GiveDevice { id: rng.below(8) },
        _ => Request::Exit { id: rng.below(8) },
    }
}

#[test]
fn random_requests_and_faults_never_panic() {
    let mut rng = Rng(0xDEAD_BEEF_CAFE_F00D);
    let mut w = World::new(256);
    let total = w.mm.total_pages();
    for id in 1..=3 {
        w.mm.add_device(0xfee0_0000, 16, id).unwrap();
    }
    for id in 1..=3 {
        w.adopt(id, "fuzz");
    }
    let mut tokens = Vec::new();
    let mut replies: HashMap<String, u32> = HashMap::new();
    for round in 0..6000 {
        let from = [
            CONTROL_BADGE,
            1,
            2,
            3,
            1,
            2,
            3,
            4,
            PAGER_BADGE | 2,
            rng.next(),
        ][rng.below(10) as usize];
        if rng.chance(25) {
            let error = rng.below(32);
            let outcome = w.mm.fault(from, address(&mut rng), error, &mut w.sim);
            assert!(matches!(
                outcome,
                FaultOutcome::Resume | FaultOutcome::Kill(_)
            ));
        } else {
            let request = random_request(&mut rng, &tokens);
            let reply = w.request(from, request.clone());
            if let Reply::Token(token) = reply {
                tokens.push(token);
            }
            let kind = format!("{reply:?}");
            *replies
                .entry(kind[..kind.find('(').unwrap_or(kind.len())].to_string())
                .or_default() += 1;
            if let Reply::Error(e) = reply {
                *replies.entry(format!("{e:?}")).or_default() += 1;
            }
            let control = matches!(
                request,
                Request::Adopt { .. }
                    | Request::Give
                    | Request::GiveDevice { .. }
                    | Request::Exit { .. }
            );
            if control && from & !PAGER_BADGE != CONTROL_BADGE {
                assert_eq!(reply, Reply::Error(libsys::proto::mm::MmError::NotAllowed));
            }
        }
        // Keep someone alive to torment.
        for id in 1..=3 {
            if !w.mm.manages(id) && rng.chance(10) {
                w.adopt(id, "again");
            }
        }
        if round % 7 == 0 {
            w.check();
        }
    }
    w.check();
    for kind in [
        "Mapped",
        "Done",
        "Token",
        "Brk",
        "Stats",
        "System",
        "InvalidArgument",
        "NotAllowed",
        "NoMemory",
        "NotMapped",
        "Overlap",
        "BadToken",
        "NoSpace",
    ] {
        assert!(replies.contains_key(kind), "no {kind} reply: {replies:?}");
    }
    for id in 1..=3 {
        if w.mm.manages(id) {
            w.exit(id);
        }
    }
    assert_eq!(w.mm.free_pages(), total);
    assert!(w.sim.tables.is_empty());
}
