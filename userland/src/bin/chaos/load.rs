//! The clients that load each server while `chaos` kills it: one thread
//! per server, each keeping a model of what the server's documented
//! promise says it must answer, and counting every request, every error
//! by kind and every answer the model says is wrong.
//!
//! Errors a client may see (documented): `PeerDied` from a call when the
//! server died before or while answering (`ClientError::peer_died`), and
//! `Unavailable` from the name service while it restarts. Anything else is
//! *undocumented* and fails the run, as a wrong answer does. A client
//! that stops making progress is a hang: the killer watches
//! [`Counters::progress_ms`].
//!
//! The models:
//! - `kv` keeps nothing across a restart (`kvtest`, `libsys::proto::kv`):
//!   the model is emptied at each `PeerDied`, and the first `Stats` of a
//!   new incarnation must say 0 keys; within one, every `Get`, `Stats` and
//!   `List` must match the model exactly.
//! - `timer`: `CLOCK_MONOTONIC` and jiffies never go backwards, across
//!   restarts too; a `Sleep` answered 0 (expired) never ends early, nor
//!   does `libsys::time::msleep` (which sleeps what is left on the next
//!   instance after a restart).
//! - `wait1` keeps nothing across a restart either: this is its only
//!   client, so what it reads is exactly the front of what it wrote since
//!   the last `PeerDied`, in order.
//! - `devmgr` enumerates the same machine each time: every device list is
//!   the one read at start.

use alloc::collections::{BTreeMap, VecDeque};
use alloc::string::String;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};

use libsys::names::NameError;
use libsys::proto::devmgr::Bus;
use libsys::proto::kv::{self, KvError};
use libsys::proto::timer::{self, CLOCK_MONOTONIC};
use libsys::proto::{devmgr, wait1};
use userland::fuzz::Rng;

/// What the killer can kill: a server registered under `name`, or (as
/// `spawned:kbd`) the keyboard driver devmgr spawns.
pub const TARGETS: [&str; 5] = ["kv", "timer", "wait1", "devmgr", "spawned:kbd"];
/// The targets that have a client thread (the keyboard driver has no
/// client in this boot: its restart is seen by its new pid).
pub const LOADED: usize = 4;

/// One target's counts.
pub struct Counters {
    pub requests: AtomicU64,
    /// Calls that failed with `PeerDied`.
    pub died: AtomicU64,
    /// Lookups answered `Unavailable` (restarting) or not found yet.
    pub restarting: AtomicU64,
    /// Errors no document promises: fail the run.
    pub undocumented: AtomicU64,
    pub wrong: AtomicU64,
    /// Uptime (ms) of the client's last finished call.
    pub progress_ms: AtomicU64,
    /// Set when the client has stopped.
    pub done: AtomicBool,
}

#[allow(clippy::declare_interior_mutable_const)]
const ZERO: Counters = Counters {
    requests: AtomicU64::new(0),
    died: AtomicU64::new(0),
    restarting: AtomicU64::new(0),
    undocumented: AtomicU64::new(0),
    wrong: AtomicU64::new(0),
    progress_ms: AtomicU64::new(0),
    done: AtomicBool::new(false),
};
pub static COUNTERS: [Counters; TARGETS.len()] = [ZERO; TARGETS.len()];
/// Set by the killer when the clients should stop.
pub static STOP: AtomicBool = AtomicBool::new(false);

pub fn now_ms() -> u64 {
    libsys::time::uptime_ns() / 1_000_000
}

impl Counters {
    fn request(&self) {
        self.requests.fetch_add(1, Relaxed);
        self.progress_ms.store(now_ms(), Relaxed);
    }

    fn wrong(&self, what: core::fmt::Arguments) {
        self.wrong.fetch_add(1, Relaxed);
        libsys::eprintln!("chaos: WRONG ANSWER: {what}");
    }

    /// A failed call: `PeerDied` (documented) or anything else.
    fn failed(&self, target: &str, died: bool, what: core::fmt::Arguments) {
        if died {
            self.died.fetch_add(1, Relaxed);
        } else {
            self.undocumented.fetch_add(1, Relaxed);
            libsys::eprintln!("chaos: {target}: undocumented error: {what}");
        }
    }
}

/// Connects to a server through `connect`, asking again while the name
/// service says it restarts (each such answer counted), until it answers
/// or the run stops.
fn connect<C>(c: &Counters, name: &str, connect: fn(u64) -> Result<C, NameError>) -> Option<C> {
    loop {
        if STOP.load(Relaxed) {
            return None;
        }
        match connect(100) {
            Ok(client) => return Some(client),
            Err(NameError::Unavailable | NameError::NotFound) => {
                c.restarting.fetch_add(1, Relaxed);
                c.progress_ms.store(now_ms(), Relaxed);
            }
            Err(e) => {
                c.failed(name, false, format_args!("lookup: {e}"));
                libsys::time::sleep_ms(10);
            }
        }
    }
}

/// Starts the client thread of target `i` with its own generator.
pub fn start(i: usize, seed: u64) -> Result<libsys::thread::JoinHandle, libsys::abi::SysError> {
    let rng = Rng::new(seed ^ (0x1000 + i as u64).wrapping_mul(0x9e37_79b9));
    COUNTERS[i].progress_ms.store(now_ms(), Relaxed);
    libsys::thread::spawn(move || {
        match TARGETS[i] {
            "kv" => kv_client(&COUNTERS[i], rng),
            "timer" => timer_client(&COUNTERS[i], rng),
            "wait1" => wait1_client(&COUNTERS[i], rng),
            _ => devmgr_client(&COUNTERS[i], rng),
        }
        COUNTERS[i].done.store(true, Relaxed);
    })
}

const KV_KEYS: u64 = 16;

fn kv_key(i: u64) -> String {
    alloc::format!("k{i}")
}

/// The kv client: random puts, gets, deletes, lists and stats of 16 keys
/// against a model.
fn kv_client(c: &Counters, mut rng: Rng) {
    let mut model: BTreeMap<u64, Vec<u8>> = BTreeMap::new();
    let mut fresh = true;
    let Some(mut kv) = connect(c, "kv", kv::Client::connect_within) else {
        return;
    };
    while !STOP.load(Relaxed) {
        let k = rng.below(KV_KEYS);
        let key = kv_key(k);
        let result = match rng.below(if fresh { 1 } else { 10 }) {
            0 => {
                kv.stats().map(|(keys, bytes)| {
                    let want_bytes: usize =
                        model.iter().map(|(k, v)| kv_key(*k).len() + v.len()).sum();
                    if (keys as usize, bytes as usize) != (model.len(), want_bytes) {
                        c.wrong(format_args!(
                        "kv stats {keys} keys {bytes} bytes, model {} keys {want_bytes} bytes{}",
                        model.len(),
                        if fresh { " (a new instance must be empty)" } else { "" }
                    ));
                    }
                    fresh = false;
                })
            }
            1..=4 => {
                let value: Vec<u8> = (0..rng.below(65)).map(|_| rng.below(256) as u8).collect();
                kv.put(&key, &value).map(|()| {
                    model.insert(k, value);
                })
            }
            5..=7 => match kv.get(&key) {
                Ok(v) if model.get(&k).map(Vec::as_slice) == Some(&v[..]) => Ok(()),
                Err(kv::ClientError::Kv(KvError::NotFound)) if !model.contains_key(&k) => Ok(()),
                Err(e) if e.peer_died() => Err(e),
                other => {
                    c.wrong(format_args!(
                        "kv get {key}: {other:?}, model {:?}",
                        model.get(&k)
                    ));
                    Ok(())
                }
            },
            8 => match kv.delete(&key) {
                Ok(()) if model.remove(&k).is_some() => Ok(()),
                Err(kv::ClientError::Kv(KvError::NotFound)) if !model.contains_key(&k) => Ok(()),
                Err(e) if e.peer_died() => Err(e),
                other => {
                    c.wrong(format_args!("kv delete {key}: {other:?}"));
                    model.remove(&k);
                    Ok(())
                }
            },
            _ => kv.list(None).map(|keys| {
                let mut want: Vec<String> = model.keys().map(|&k| kv_key(k)).collect();
                want.sort();
                if keys.len() != want.len()
                    || keys
                        .iter()
                        .zip(&want)
                        .any(|(a, b)| a.as_str() != b.as_str())
                {
                    c.wrong(format_args!("kv list {keys:?}, model {want:?}"));
                }
            }),
        };
        c.request();
        if let Err(e) = result {
            c.failed("kv", e.peer_died(), format_args!("{e}"));
            // kv keeps nothing across a restart.
            model.clear();
            fresh = true;
            match connect(c, "kv", kv::Client::connect_within) {
                Some(next) => kv = next,
                None => return,
            }
        }
    }
}

/// The timer client: MONOTONIC and jiffies never backwards, sleeps never
/// short.
fn timer_client(c: &Counters, mut rng: Rng) {
    let (mut last_mono, mut last_jiffies) = ((0i64, 0u32), 0u64);
    let Some(mut timer) = connect(c, "timer", timer::Client::connect_within) else {
        return;
    };
    while !STOP.load(Relaxed) {
        let result = match rng.below(8) {
            0..=2 => timer.clock_gettime(CLOCK_MONOTONIC).map(|now| {
                if now < last_mono {
                    c.wrong(format_args!(
                        "MONOTONIC went back: {last_mono:?} -> {now:?}"
                    ));
                }
                last_mono = now;
            }),
            3..=4 => timer.jiffies().map(|j| {
                if j < last_jiffies {
                    c.wrong(format_args!("jiffies went back: {last_jiffies} -> {j}"));
                }
                last_jiffies = j;
            }),
            5..=6 => {
                let ns = (1 + rng.below(8)) * 1_000_000;
                let start = libsys::time::uptime_ns();
                timer.sleep(ns).map(|left| {
                    let slept = libsys::time::uptime_ns() - start;
                    if left == 0 && slept < ns {
                        c.wrong(format_args!("a {ns} ns sleep ended after {slept} ns"));
                    }
                })
            }
            _ => {
                // The transparent path: libsys re-asks a restarted server.
                let ms = 1 + rng.below(5);
                let start = libsys::time::uptime_ns();
                libsys::time::msleep(ms);
                let slept = libsys::time::uptime_ns() - start;
                if slept < ms * 1_000_000 {
                    c.wrong(format_args!("msleep({ms}) ended after {slept} ns"));
                }
                Ok(())
            }
        };
        c.request();
        if let Err(e) = result {
            c.failed("timer", e.peer_died(), format_args!("{e}"));
            match connect(c, "timer", timer::Client::connect_within) {
                Some(next) => timer = next,
                None => return,
            }
        }
    }
}

/// The wait1 client: writes numbered bytes, reads them back in order.
fn wait1_client(c: &Counters, mut rng: Rng) {
    let mut model: VecDeque<u8> = VecDeque::new();
    let mut next: u8 = 0;
    let Some(mut dev) = connect(c, "wait1", wait1::Client::connect_within) else {
        return;
    };
    while !STOP.load(Relaxed) {
        let room = wait1::CAPACITY - model.len();
        let result = if rng.chance(50) && room > 0 {
            let n = (1 + rng.below(200) as usize).min(room);
            let bytes: Vec<u8> = (0..n).map(|i| next.wrapping_add(i as u8)).collect();
            let nonblock = rng.chance(50);
            let sent = if nonblock {
                dev.write_nonblock(&bytes)
            } else {
                dev.write(&bytes)
            };
            sent.map(|took| {
                model.extend(&bytes[..took.min(n)]);
                next = next.wrapping_add(took as u8);
            })
        } else if !model.is_empty() {
            // Blocking or not: there are bytes, so it answers at once.
            let max = 1 + rng.below(300) as usize;
            let got = if rng.chance(50) {
                dev.read(max)
            } else {
                dev.read_nonblock(max)
            };
            got.map(|data| {
                let want: Vec<u8> = model.drain(..data.len().min(model.len())).collect();
                if data[..] != want[..] {
                    c.wrong(format_args!(
                        "wait1 read {} bytes not those written",
                        data.len()
                    ));
                    model.clear();
                }
            })
        } else {
            match dev.read_nonblock(16) {
                Err(wait1::ClientError::Wait1(wait1::Wait1Error::WouldBlock)) => Ok(()),
                Ok(data) => {
                    c.wrong(format_args!("wait1 gave {} bytes nobody wrote", data.len()));
                    Ok(())
                }
                Err(e) => Err(e),
            }
        };
        c.request();
        if let Err(e) = result {
            c.failed("wait1", e.peer_died(), format_args!("{e}"));
            // wait1 keeps nothing across a restart.
            model.clear();
            match connect(c, "wait1", wait1::Client::connect_within) {
                Some(d) => dev = d,
                None => return,
            }
        }
    }
}

/// The devmgr client: the PCI and platform device lists never change.
fn devmgr_client(c: &Counters, mut rng: Rng) {
    let mut baseline: [Option<(Vec<devmgr::Name>, u32)>; 2] = [None, None];
    let Some(mut dm) = connect(c, "devmgr", devmgr::Client::connect_within) else {
        return;
    };
    while !STOP.load(Relaxed) {
        let which = rng.below(2) as usize;
        let bus = if which == 0 { Bus::Pci } else { Bus::Platform };
        let listed = dm.list_devices(bus, 0);
        let result = listed
            .map(|(names, total)| (names.to_vec(), total))
            .map(|names| match &baseline[which] {
                Some(first) if *first != names => c.wrong(format_args!(
                    "devmgr {bus:?} devices {names:?}, at start {first:?}"
                )),
                Some(_) => {}
                None => baseline[which] = Some(names),
            });
        c.request();
        if let Err(e) = result {
            c.failed("devmgr", e.peer_died(), format_args!("{e}"));
            match connect(c, "devmgr", devmgr::Client::connect_within) {
                Some(d) => dm = d,
                None => return,
            }
        }
    }
}
