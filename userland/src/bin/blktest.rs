//! The block server's test (manifest.test): on `vda` (the virtio disk the
//! harness attaches) and `ram0` (the RAM disk) it writes patterns at 200
//! random places of 1–16 sectors each, in a random order, reads them back
//! in another and compares; moves 64 KiB at once; switches `vda` to the
//! deadline scheduler; checks the typed errors of bad requests; flushes;
//! and prints `/sys/block/<dev>/stat`. `vda`'s sector 0 ends up holding
//! [`SIGNATURE`], which the harness looks for in the image afterwards.
//! It also checks `driver-hal`'s DMA buffer and bounce pool on real DMA
//! memory from `mm` (the blk driver's own building blocks). Last, with
//! `kill=spawned:virtio-blk`, it kills the virtio-blk driver process while
//! a thread of it reads `vda` without pause: the block server keeps the
//! reads the dead driver held and gives them to the instance devmgr
//! restarts, so every read completes, with the data written before.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

extern crate alloc;

use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use libsys::handle::Process;
use libsys::println;
use libsys::proto::blk::{BlkError, Client, ClientError};
use userland::Tally;

libsys::entry!(main);

/// Places written per device.
const PLACES: u64 = 200;
/// Sectors between places (the most one place holds).
const STRIDE: u64 = 16;
/// What `vda`'s sector 0 holds after the run.
const SIGNATURE: &[u8] = b"blktest: virtio-blk sector 0 written through the block server";

/// xorshift64: the test's randomness, seeded, so a failure repeats.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            items.swap(i, self.below(i as u64 + 1) as usize);
        }
    }
}

/// The byte at `offset` of sector `sector` in round `round`.
fn pattern(sector: u64, offset: usize, round: u64) -> u8 {
    let x = sector.wrapping_mul(2_654_435_761) ^ (offset as u64).wrapping_mul(40_503) ^ round;
    (x ^ (x >> 11)) as u8
}

fn fill(sector: u64, count: u64, round: u64) -> Vec<u8> {
    let mut data = vec![0u8; (count * 512) as usize];
    for (i, b) in data.iter_mut().enumerate() {
        *b = pattern(sector + i as u64 / 512, i % 512, round);
    }
    data
}

/// Writes and reads back 200 random places of `dev`.
fn random_places(t: &mut Tally, blk: &Client, dev: &str, round: u64) {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ round);
    // Place i: STRIDE sectors from 1 + i * STRIDE (sector 0 is vda's
    // signature), 1 to 16 of them used.
    let mut places: Vec<(u64, u64)> = (0..PLACES)
        .map(|i| (1 + i * STRIDE, 1 + rng.below(STRIDE)))
        .collect();
    rng.shuffle(&mut places);
    let mut written = Ok(());
    for &(sector, count) in &places {
        if let Err(e) = blk.write(dev, sector, &fill(sector, count, round)) {
            written = Err(e);
            break;
        }
    }
    t.record(
        &alloc::format!("blktest: {dev}: {PLACES} random writes"),
        written,
    );
    rng.shuffle(&mut places);
    let mut bad = 0;
    let mut failed = None;
    for &(sector, count) in &places {
        let mut back = vec![0u8; (count * 512) as usize];
        match blk.read(dev, sector, &mut back) {
            Ok(()) if back == fill(sector, count, round) => {}
            Ok(()) => bad += 1,
            Err(e) => failed = Some(e),
        }
    }
    let name = alloc::format!("blktest: {dev}: {PLACES} reads back what was written");
    match failed {
        Some(e) => t.check(&name, Err(format_args!("{e}"))),
        None if bad > 0 => t.check(&name, Err(format_args!("{bad} places differ"))),
        None => t.check(&name, Ok(())),
    }
}

fn large_transfer(t: &mut Tally, blk: &Client, dev: &str) {
    let sector = 1 + PLACES * STRIDE;
    let data = fill(sector, 128, 7);
    let mut back = vec![0u8; data.len()];
    let result = blk
        .write(dev, sector, &data)
        .and_then(|_| blk.read(dev, sector, &mut back));
    let name = alloc::format!("blktest: {dev}: a 64 KiB write and read");
    match result {
        Ok(()) if back == data => t.check(&name, Ok(())),
        Ok(()) => t.check(&name, Err(format_args!("the data differ"))),
        Err(e) => t.check(&name, Err(format_args!("{e}"))),
    }
}

fn bad_requests(t: &mut Tally, blk: &Client, dev: &str, sectors: u64) {
    let mut one = [0u8; 512];
    t.expect_eq(
        &alloc::format!("blktest: {dev}: a read past the end is OutOfRange"),
        blk.read(dev, sectors, &mut one),
        Err(ClientError::Blk(BlkError::OutOfRange)),
    );
    let mut big = vec![0u8; 129 * 512];
    t.expect_eq(
        &alloc::format!("blktest: {dev}: 129 sectors at once is BadCount"),
        blk.read(dev, 0, &mut big),
        Err(ClientError::Blk(BlkError::BadCount)),
    );
    t.expect_eq(
        &alloc::format!("blktest: {dev}: flush"),
        blk.flush(dev),
        Ok(()),
    );
}

fn stat(t: &mut Tally, blk: &Client, dev: &str) {
    match blk.stat(dev) {
        Ok(s) => {
            println!("blktest: /sys/block/{dev}/stat: {:?}", s.fields());
            let counted = s.read_ios >= PLACES && s.write_ios >= PLACES && s.in_flight == 0;
            let name = alloc::format!("blktest: {dev}: stat counts every request");
            match counted {
                true => t.check(&name, Ok(())),
                false => t.check(&name, Err(format_args!("{s:?}"))),
            }
        }
        Err(e) => t.record(&alloc::format!("blktest: {dev}: stat"), Err(e)),
    }
}

fn device(t: &mut Tally, blk: &Client, dev: &str, round: u64) {
    let info = match blk.info(dev) {
        Ok(i) => i,
        Err(e) => {
            t.record(&alloc::format!("blktest: {dev} is there"), Err(e));
            return;
        }
    };
    println!(
        "blktest: {dev}: {} sectors of {} bytes",
        info.sectors, info.sector_size
    );
    let big_enough = info.sectors >= 1 + (PLACES + 1) * STRIDE + 128;
    t.expect_eq(
        &alloc::format!("blktest: {dev} is there and large enough"),
        big_enough,
        true,
    );
    if !big_enough {
        return;
    }
    random_places(t, blk, dev, round);
    large_transfer(t, blk, dev);
    bad_requests(t, blk, dev, info.sectors);
}

fn main(_: &str) -> u64 {
    let mut t = Tally::new();
    let blk = match Client::connect() {
        Ok(c) => c,
        Err(e) => {
            t.check("blktest: blk is registered", Err(format_args!("{e}")));
            return t.status();
        }
    };
    match blk.list(0) {
        Ok((names, total)) => {
            let names: Vec<&str> = names.iter().map(|n| n.as_str()).collect();
            println!("blktest: {total} devices: {names:?}");
        }
        Err(e) => t.record("blktest: list", Err(e)),
    }
    t.expect_eq(
        "blktest: an unknown device is NoSuchDevice",
        blk.info("vdz").map(|_| ()),
        Err(ClientError::Blk(BlkError::NoSuchDevice)),
    );
    // vda under the deadline scheduler, ram0 under noop.
    t.expect_eq(
        "blktest: vda switches to the deadline scheduler",
        blk.scheduler("vda", Some("deadline"))
            .map(|s| s.as_str() == "noop [deadline]"),
        Ok(true),
    );
    device(&mut t, &blk, "vda", 1);
    device(&mut t, &blk, "ram0", 2);
    let mut sector0 = [0u8; 512];
    sector0[..SIGNATURE.len()].copy_from_slice(SIGNATURE);
    t.record(
        "blktest: vda: the signature written to sector 0",
        blk.write("vda", 0, &sector0).and_then(|_| blk.flush("vda")),
    );
    stat(&mut t, &blk, "vda");
    stat(&mut t, &blk, "ram0");
    driver_killed_mid_io(&mut t, &blk);
    t.record(
        "blktest: driver-hal DMA buffer: volatile accesses, bounds",
        dma_buffer(),
    );
    t.record(
        "blktest: driver-hal bounce pool: data through DMA memory, exhaustion, unknown addresses",
        bounce_pool(),
    );
    t.status()
}

/// The region the restart check reads: 32 chunks of 64 KiB from here.
const KILL_BASE: u64 = 4096;
const KILL_CHUNKS: u64 = 32;
const CHUNK: u64 = 128;
const KILL_ROUND: u64 = 7;

/// What the reader thread saw.
#[derive(Default)]
struct Reads {
    stop: AtomicBool,
    done: AtomicU64,
    wrong: AtomicU64,
    failed: AtomicU64,
}

/// Kills the virtio-blk driver (`kill=spawned:virtio-blk`) while a
/// thread reads `vda`'s region over and over, one 64 KiB read after the
/// other: the read at the driver when it dies is re-submitted by the
/// block server to the restarted driver, and every read returns what was
/// written.
fn driver_killed_mid_io(t: &mut Tally, blk: &Client) {
    let Some(driver) = libsys::env::take_handle("kill").map(Process) else {
        t.check(
            "blktest: a handle to kill the virtio-blk driver (kill=spawned:virtio-blk)",
            Err(format_args!("none given")),
        );
        return;
    };
    for c in 0..KILL_CHUNKS {
        let sector = KILL_BASE + c * CHUNK;
        if let Err(e) = blk.write("vda", sector, &fill(sector, CHUNK, KILL_ROUND)) {
            t.check(
                "blktest: vda: the restart region written",
                Err(format_args!("{e}")),
            );
            return;
        }
    }
    let reads = Arc::new(Reads::default());
    let theirs = reads.clone();
    let worker = libsys::thread::spawn(move || {
        let Ok(c) = Client::connect() else {
            theirs.failed.fetch_add(1, Ordering::Relaxed);
            return;
        };
        let mut buf = vec![0u8; (CHUNK * 512) as usize];
        let mut i = 0;
        while !theirs.stop.load(Ordering::Relaxed) {
            let sector = KILL_BASE + (i % KILL_CHUNKS) * CHUNK;
            match c.read("vda", sector, &mut buf) {
                Ok(()) if buf == fill(sector, CHUNK, KILL_ROUND) => {}
                Ok(()) => {
                    theirs.wrong.fetch_add(1, Ordering::Relaxed);
                }
                Err(_) => {
                    theirs.failed.fetch_add(1, Ordering::Relaxed);
                }
            }
            theirs.done.fetch_add(1, Ordering::Relaxed);
            i += 1;
        }
    });
    let worker = match worker {
        Ok(w) => w,
        Err(e) => {
            t.check("blktest: a reader thread", Err(format_args!("{e}")));
            return;
        }
    };
    let wait_for = |n: u64, ms: u64| {
        let start = libsys::time::uptime_ns();
        while reads.done.load(Ordering::Relaxed) < n
            && libsys::time::uptime_ns() - start < ms * 1_000_000
        {
            libsys::time::sleep_ms(2);
        }
    };
    wait_for(4, 10_000);
    let before = reads.done.load(Ordering::Relaxed);
    t.record(
        "blktest: vda: the virtio-blk driver killed while reads run",
        driver.kill().map_err(|e| alloc::format!("{e}")),
    );
    // Two passes over the region after the kill: the restart happened.
    wait_for(before + 2 * KILL_CHUNKS, 30_000);
    reads.stop.store(true, Ordering::Relaxed);
    let _ = worker.join();
    let (done, wrong, failed) = (
        reads.done.load(Ordering::Relaxed),
        reads.wrong.load(Ordering::Relaxed),
        reads.failed.load(Ordering::Relaxed),
    );
    println!(
        "blktest: vda: {done} reads of 64 KiB, {before} before the driver was killed; {wrong} wrong, {failed} failed"
    );
    t.expect_eq(
        "blktest: vda: reads go on across the driver's restart, none failed",
        (done >= before + 2 * KILL_CHUNKS, failed),
        (true, 0),
    );
    t.expect_eq(
        "blktest: vda: every read across the restart returns the data written",
        wrong,
        0,
    );
}

type Why = libsys::rt::TextBuf<256>;

/// A page of DMA memory: words and bytes round-trip; accesses past the
/// end or misaligned are refused.
fn dma_buffer() -> Result<(), Why> {
    use driver_hal::dma::DmaBuffer;
    use driver_hal::AccessError;
    let mut page =
        DmaBuffer::alloc(1, 1 << 32).map_err(|e| libsys::format_text!("dma_alloc: {e}"))?;
    if page.phys() == 0 || page.phys() >= 1 << 32 || page.len() != 4096 {
        return Err(libsys::format_text!(
            "phys {:#x} len {}",
            page.phys(),
            page.len()
        ));
    }
    let zero = page.read_u32(0).map_err(|e| libsys::format_text!("{e}"))?;
    let _ = page.write_u32(8, 0xdead_beef);
    let data: Vec<u8> = (0..100u8).collect();
    let _ = page.copy_in(101, &data);
    let mut back = [0u8; 100];
    let _ = page.copy_out(101, &mut back);
    let word = page.read_u32(8).map_err(|e| libsys::format_text!("{e}"))?;
    let refused = (
        page.read_u32(4094),
        page.read_u16(9),
        page.copy_in(4000, &[0; 97]),
    );
    let want = (
        Err(AccessError::OutOfBounds),
        Err(AccessError::Misaligned),
        Err(AccessError::OutOfBounds),
    );
    if zero != 0 || word != 0xdead_beef || back[..] != data[..] || refused != want {
        return Err(libsys::format_text!(
            "zero {zero:#x} word {word:#x} refused {refused:?}"
        ));
    }
    Ok(())
}

/// A four-page bounce pool: a buffer shared for the device and unshared
/// comes back through DMA memory; a share that does not fit is refused;
/// an address no share gave is refused; nothing stays lent.
fn bounce_pool() -> Result<(), Why> {
    use driver_hal::bounce::{BounceError, BouncePool, Direction, PAGE};
    let mut pool = BouncePool::new(4, 1 << 32).map_err(|e| libsys::format_text!("pool: {e}"))?;
    let data: Vec<u8> = (0..5000u32).map(|i| (i * 7) as u8).collect();
    let phys = pool
        .share(&data, Direction::Both)
        .map_err(|e| libsys::format_text!("share: {e:?}"))?;
    if !phys.is_multiple_of(PAGE) {
        return Err(libsys::format_text!("shared at {phys:#x}"));
    }
    let too_big = pool.share(&[0; 3 * PAGE as usize], Direction::ToDevice);
    let mut back = vec![0u8; 5000];
    let unshared = pool.unshare(phys, &mut back, Direction::Both);
    let again = pool.unshare(phys, &mut back, Direction::Both);
    let stats = pool.stats();
    if too_big != Err(BounceError::Exhausted)
        || unshared != Ok(())
        || again != Err(BounceError::NotShared)
        || back != data
        || stats.in_use != 0
        || stats.exhausted != 1
    {
        return Err(libsys::format_text!(
            "too big {too_big:?} unshare {unshared:?} again {again:?} stats {stats:?}"
        ));
    }
    Ok(())
}
