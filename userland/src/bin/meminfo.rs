//! `meminfo`: the memory server's figures in the shape of Linux's
//! `/proc/meminfo` and `/proc/buddyinfo`, the memory server's own slab
//! caches as `/proc/slabinfo`, and this process's memory as
//! `/proc/self/maps` and `/proc/self/status` show it (mm's `Maps` and
//! `Status`).
//!
//! It also checks that the figures agree with each other (the free blocks
//! of every order add up to `MemFree`, the zones to `MemTotal`). As a
//! program it exits 0 when they do and 1 when not; with the argument
//! `--tally` (`manifest.test` gives it) it exits with the tally, as a test
//! (`passed << 16 | failed`).
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use libsys::proto::mm::{MapKind, MmError, SystemStats, ZONES};
use libsys::{format_text, println};
use userland::Tally;

libsys::entry!(main);

const ZONE_NAMES: [&str; ZONES] = ["DMA", "DMA32", "Normal"];

fn main(args: &str) -> u64 {
    let mut t = Tally::new();
    show(&mut t);
    match args.split_whitespace().any(|word| word == "--tally") {
        true => t.status(),
        false => u64::from(t.failed > 0),
    }
}

/// Prints the figures, checking them into `t`.
fn show(t: &mut Tally) {
    let system = match libsys::mm::system_stats() {
        Ok(s) => s,
        Err(e) => {
            t.check("meminfo: mm answers SystemStats", Err(format_args!("{e}")));
            return;
        }
    };
    let kib = |pages: u64| pages * 4;
    println!("/proc/meminfo:");
    println!("MemTotal:       {:>8} kB", kib(system.total_pages));
    println!("MemFree:        {:>8} kB", kib(system.free_pages));
    println!("AnonPages:      {:>8} kB", kib(system.anon_pages));
    println!("Shmem:          {:>8} kB", kib(system.shared_pages));
    println!("DmaPinned:      {:>8} kB", kib(system.dma_pinned_pages));
    println!("MmHeap:         {:>8} kB", kib(system.mm_heap_pages));
    println!("Processes:      {:>8}", system.processes);
    println!("/proc/buddyinfo:");
    for (zone, name) in ZONE_NAMES.iter().enumerate() {
        if system.zone_pages[zone] == 0 {
            continue;
        }
        let mut line = format_text!("Node 0, zone {name:>8}");
        for count in system.buddy[zone] {
            let _ = core::fmt::Write::write_fmt(&mut line, format_args!(" {count:>6}"));
        }
        println!("{line}");
    }
    println!("/proc/zoneinfo (free pages and watermarks):");
    for (zone, name) in ZONE_NAMES.iter().enumerate() {
        if system.zone_pages[zone] == 0 {
            continue;
        }
        let [min, low, high] = system.watermarks[zone];
        println!(
            "Node 0, zone {name:>8}: free {} min {min} low {low} high {high} managed {}",
            system.zone_free[zone], system.zone_pages[zone]
        );
    }
    println!(
        "Shrinkers: {}, reclaimed {} pages; allocations refused: {}",
        system.shrinkers, system.reclaimed_pages, system.alloc_failures
    );
    println!("/proc/slabinfo (the memory server's own caches):");
    for line in libsys::heap::SLABINFO_HEADER.lines() {
        println!("{line}");
    }
    match libsys::mm::slabinfo() {
        Ok(caches) => {
            for cache in &caches {
                println!("{cache}");
            }
            // mm keeps its area and page records on its heap: with
            // processes to manage, some cache holds objects.
            let objects: u64 = caches.iter().map(|c| u64::from(c.active_objs)).sum();
            match objects > 0 && !caches.is_empty() {
                true => t.check("meminfo: mm's slab caches hold its records", Ok(())),
                false => t.check(
                    "meminfo: mm's slab caches hold its records",
                    Err(format_args!("{} caches, {objects} objects", caches.len())),
                ),
            }
        }
        Err(e) => t.check("meminfo: mm answers SlabInfo", Err(format_args!("{e}"))),
    }
    show_self(t);
    check(t, &system);
}

/// `/proc/self/maps` and `/proc/self/status`, checked against `Stats`.
fn show_self(t: &mut Tally) {
    println!("/proc/self/maps:");
    let (mut from, mut areas, mut heap, mut stack) = (0, 0u32, false, false);
    loop {
        match libsys::mm::maps(None, from) {
            Ok((lines, more)) => {
                for line in &lines {
                    println!("{line}");
                    heap |= line.kind == MapKind::Heap;
                    stack |= line.kind == MapKind::Stack;
                    from = line.end;
                }
                areas += lines.len() as u32;
                if !more {
                    break;
                }
            }
            Err(e) => {
                t.check("meminfo: mm answers Maps", Err(format_args!("{e}")));
                return;
            }
        }
    }
    let (status, me) = match (libsys::mm::status(None), libsys::mm::stats()) {
        (Ok(status), Ok(me)) => (status, me),
        (Err(e), _) | (_, Err(e)) => {
            t.check("meminfo: mm answers Status", Err(format_args!("{e}")));
            return;
        }
    };
    println!("/proc/self/status:");
    let mut text = libsys::rt::TextBuf::<512>::new();
    let _ = core::fmt::Write::write_fmt(&mut text, format_args!("{status}"));
    for line in text.as_str().lines() {
        println!("{line}");
    }
    t.expect_eq("meminfo: maps lists every area", areas, me.areas);
    match stack && status.vm_stk > 0 && status.vm_rss > 0 {
        true => t.check("meminfo: maps and status show the stack", Ok(())),
        false => t.check(
            "meminfo: maps and status show the stack",
            Err(format_args!(
                "stack {stack}, VmStk {}, heap {heap}",
                status.vm_stk
            )),
        ),
    }
    t.expect_eq(
        "meminfo: VmSize is the areas' size",
        status.vm_size,
        me.virtual_pages * 4,
    );
    // The other process's view is init's alone.
    match libsys::mm::maps(Some(1), 0) {
        Err(libsys::mm::Error::Mm(MmError::NotAllowed)) => {
            t.check("meminfo: another process's maps are refused", Ok(()))
        }
        other => t.check(
            "meminfo: another process's maps are refused",
            Err(format_args!("{:?}", other.map(|(_, more)| more))),
        ),
    }
}

/// The figures must agree: blocks of 2^order pages per order add up to
/// the free pages, the zones to the total, and nothing exceeds the total.
fn check(t: &mut Tally, system: &SystemStats) {
    let in_blocks: u64 = system
        .buddy
        .iter()
        .flat_map(|zone| zone.iter().enumerate())
        .map(|(order, &count)| u64::from(count) << order)
        .sum();
    // mm fills the figures in one request: they are one snapshot.
    t.expect_eq(
        "meminfo: buddyinfo's blocks add up to MemFree",
        in_blocks,
        system.free_pages,
    );
    t.expect_eq(
        "meminfo: the zones add up to MemTotal",
        system.zone_pages.iter().sum::<u64>(),
        system.total_pages,
    );
    let (free, anon, total) = (system.free_pages, system.anon_pages, system.total_pages);
    match free + anon <= total {
        true => t.check("meminfo: free and anonymous pages fit in MemTotal", Ok(())),
        false => t.check(
            "meminfo: free and anonymous pages fit in MemTotal",
            Err(format_args!(
                "{free} free + {anon} anonymous > {total} total"
            )),
        ),
    }
}
