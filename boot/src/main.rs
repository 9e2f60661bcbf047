//! `BOOTX64.EFI`: the project's own loader for the Limine boot protocol.
//!
//! Limine's own binaries cannot be installed here, so this small UEFI
//! application stands in for them. It reads `/boot/limine/limine.conf` (the
//! same file a real Limine reads), lets the user pick an entry, loads the
//! kernel ELF and its modules, answers the kernel's Limine requests (base
//! revision 3), builds the page tables, exits boot services and jumps to the
//! kernel. The kernel cannot tell it from Limine for the features listed in
//! `boot/README.md`.
//!
//! Any failure prints one `boot: error: ...` line that says what went wrong
//! and with which file, and halts. The pure logic lives in `boot-core` and is
//! tested on the host.
#![no_std]
#![no_main]

extern crate alloc;

mod console;
mod files;
mod handoff;
mod ioapic;
mod menu;
mod paging;

use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use boot_core::config::{self, BootPath, Config};
use boot_core::elf::{self, KernelImage};
use boot_core::memmap::{self, EfiRegion, EFI_KERNEL_MEMORY_TYPE, PAGE_SIZE};
use boot_core::protocol::{Framebuffer, MemmapEntry, MemmapType, MEMORY_MODEL_RGB};
use boot_core::requests::{self, Requests};
use boot_core::responses::{self, Arena, BootFacts, FileSpec, MemmapSlot};
use uefi::boot::{self, MemoryType, OpenProtocolAttributes, OpenProtocolParams};
use uefi::mem::memory_map::MemoryMap;
use uefi::prelude::*;
use uefi::proto::console::gop::{GraphicsOutput, PixelFormat};
use uefi::proto::media::file::Directory;
use uefi::system;
use uefi::table::cfg::ConfigTableEntry;

use console::{fatal, fatal_late, say};

pub const LOADER_NAME: &str = "mkboot";
pub const LOADER_VERSION: &str = env!("CARGO_PKG_VERSION");
const CONFIG_PATH: &str = "/boot/limine/limine.conf";
/// The higher-half direct map starts here, as Limine's does with 4-level paging.
const HHDM_OFFSET: u64 = 0xffff_8000_0000_0000;
/// Limine's default kernel stack; a stack-size request can ask for more.
const DEFAULT_STACK: u64 = 64 * 1024;
/// The HHDM is mapped in pages of this size.
const HHDM_GRANULE: u64 = 2 * 1024 * 1024;

#[entry]
fn main() -> Status {
    if uefi::helpers::init().is_err() {
        console::fatal_late("the UEFI helpers did not start");
    }
    console::init_serial();
    console::detect_console();
    // The firmware's watchdog would reset the machine while the menu waits.
    let _ = boot::set_watchdog_timer(0, 0x10000, None);
    say!("{LOADER_NAME} {LOADER_VERSION}, Limine protocol base revision 3");

    let mut root = files::boot_volume()
        .unwrap_or_else(|status| fatal(format_args!("cannot open the boot volume: {status:?}")));
    let config = read_config(&mut root);
    let index = menu::choose(&config);
    let entry = &config.entries[index];
    say!("booting entry {} \"{}\"", index + 1, entry.name);

    let kernel_file = files::load(&mut root, &entry.kernel_path)
        .unwrap_or_else(|e| fatal(format_args!("kernel {e}")));
    let kernel = elf::plan(kernel_file.bytes())
        .unwrap_or_else(|e| fatal(format_args!("{}: {e}", entry.kernel_path.as_str())));
    let modules: Vec<(files::LoadedFile, &config::ModuleSpec)> = entry
        .modules
        .iter()
        .map(|spec| match files::load(&mut root, &spec.path) {
            Ok(file) => (file, spec),
            Err(e) => fatal(format_args!("module {e}")),
        })
        .collect();
    drop(root);

    let (image_phys, image) = place_kernel(&kernel, kernel_file.bytes(), &entry.kernel_path);
    let requests = requests::scan(image)
        .unwrap_or_else(|e| fatal(format_args!("{}: {e}", entry.kernel_path.as_str())));
    responses::check(image, &requests)
        .unwrap_or_else(|e| fatal(format_args!("{}: {e}", entry.kernel_path.as_str())));

    let framebuffer = find_framebuffer();
    let stack_size = responses::requested_stack_size(image, &requests, DEFAULT_STACK)
        .next_multiple_of(PAGE_SIZE);
    let stack = files::allocate(stack_size, MemoryType::LOADER_DATA)
        .unwrap_or_else(|| fatal(format_args!("out of memory for the kernel stack")));
    let gdt_page = files::allocate(PAGE_SIZE, MemoryType::LOADER_DATA)
        .unwrap_or_else(|| fatal(format_args!("out of memory for the GDT")));
    // SAFETY: a fresh page of our own.
    let gdt = unsafe { core::slice::from_raw_parts_mut(gdt_page.as_ptr(), PAGE_SIZE as usize) };
    handoff::write_gdt(gdt, gdt_page.as_ptr() as u64 + HHDM_OFFSET);

    // Room for the memory map after exit: the current map plus what our own
    // allocations (page tables, the exit itself) may split off.
    let efi_entries = boot::memory_map(MemoryType::LOADER_DATA)
        .map(|map| map.len())
        .unwrap_or(256);
    let memmap_capacity = efi_entries * 2 + 128;
    let strings: usize = entry
        .modules
        .iter()
        .map(|m| m.path.as_str().len() + m.cmdline.len() + 2)
        .sum();
    let arena_size = (16 * 1024
        + strings
        + entry.modules.len() * 160
        + entry.cmdline.len()
        + memmap_capacity * 32) as u64;
    let arena_page = files::allocate(arena_size, MemoryType::LOADER_DATA)
        .unwrap_or_else(|| fatal(format_args!("out of memory for the boot responses")));
    // SAFETY: a fresh allocation of at least `arena_size` bytes, never freed.
    let arena_mem =
        unsafe { core::slice::from_raw_parts_mut(arena_page.as_ptr(), arena_size as usize) };
    let mut arena = Arena::new(arena_mem, arena_page.as_ptr() as u64 + HHDM_OFFSET);
    let memmap_slot = arena
        .reserve_memmap(memmap_capacity)
        .unwrap_or_else(|_| fatal(format_args!("out of memory for the memory map")));
    let mut final_map = vec![
        MemmapEntry {
            base: 0,
            length: 0,
            kind: MemmapType::Reserved
        };
        memmap_capacity
    ];

    let rsdp = find_rsdp();
    let masked = ioapic::mask_all(rsdp);
    let module_specs: Vec<FileSpec> = modules
        .iter()
        .map(|(file, spec)| FileSpec {
            phys: file.phys,
            size: file.size as u64,
            path: spec.path.as_str(),
            cmdline: &spec.cmdline,
        })
        .collect();
    let facts = BootFacts {
        loader_name: LOADER_NAME,
        loader_version: LOADER_VERSION,
        hhdm: HHDM_OFFSET,
        kernel_phys: image_phys,
        kernel_virt: kernel.virt_base,
        kernel_file: FileSpec {
            phys: kernel_file.phys,
            size: kernel_file.size as u64,
            path: entry.kernel_path.as_str(),
            cmdline: &entry.cmdline,
        },
        cmdline: &entry.cmdline,
        modules: &module_specs,
        rsdp,
        framebuffer,
    };
    responses::answer(image, &requests, &mut arena, &facts)
        .unwrap_or_else(|e| fatal(format_args!("{e}")));

    let fb_range = framebuffer.map(|fb| (fb.address, fb.pitch * fb.height));
    let pml4 = build_page_tables(&kernel, image_phys, fb_range);
    say!(
        "kernel {} ({} bytes, entry {:#x}), {} module(s), {} request(s) answered, {} I/O APIC(s) masked; starting it",
        entry.kernel_path.as_str(),
        kernel_file.size,
        kernel.entry,
        modules.len(),
        requests.found.iter().filter(|r| r.kind.is_answered()).count(),
        masked
    );

    // SAFETY: from here on nothing uses boot services, the UEFI allocator or
    // protocols; everything the kernel needs has been allocated above.
    let efi_map = unsafe { boot::exit_boot_services(None) };
    finish_memmap(
        &efi_map,
        fb_range,
        &mut final_map,
        &mut arena,
        memmap_slot,
        image,
        &requests,
    );
    core::mem::forget(efi_map);

    let handoff = handoff::Handoff {
        pml4,
        stack_top: stack.as_ptr() as u64 + stack_size + HHDM_OFFSET,
        entry: kernel.entry,
        gdtr: gdt_page.as_ptr() as u64 + handoff::GDTR_OFFSET as u64 + HHDM_OFFSET,
    };
    // SAFETY: boot services are gone, and the tables map the trampoline,
    // the kernel, its stack and the GDT (see build_page_tables).
    unsafe { handoff::enter_kernel(&handoff) }
}

fn read_config(root: &mut Directory) -> Config {
    let path = BootPath::parse(&alloc::format!("boot():{CONFIG_PATH}"))
        .unwrap_or_else(|_| fatal(format_args!("bad built-in path")));
    let bytes = files::read_to_vec(root, &path)
        .unwrap_or_else(|e| fatal(format_args!("configuration {e}")));
    let text = String::from_utf8(bytes)
        .unwrap_or_else(|_| fatal(format_args!("{CONFIG_PATH}: not UTF-8 text")));
    config::parse(&text).unwrap_or_else(|e| fatal(format_args!("{CONFIG_PATH} {e}")))
}

/// Copies the kernel's segments into one block of "executable and modules"
/// pages and returns its physical address and the block as bytes.
fn place_kernel(kernel: &KernelImage, file: &[u8], path: &BootPath) -> (u64, &'static mut [u8]) {
    let block = files::allocate(kernel.span, MemoryType::custom(EFI_KERNEL_MEMORY_TYPE))
        .unwrap_or_else(|| fatal(format_args!("out of memory loading {}", path.as_str())));
    // SAFETY: a fresh, zeroed allocation of `span` bytes that is never freed
    // (it becomes the kernel), so a 'static slice over it is sound.
    let image = unsafe { core::slice::from_raw_parts_mut(block.as_ptr(), kernel.span as usize) };
    for segment in &kernel.segments {
        let at = kernel.offset_of(segment.vaddr) as usize;
        let from = segment.file_offset as usize;
        // elf::plan checked both ranges; .bss stays zero from the allocation.
        image[at..at + segment.file_size as usize]
            .copy_from_slice(&file[from..from + segment.file_size as usize]);
    }
    (block.as_ptr() as u64, image)
}

fn efi_regions(map: &impl MemoryMap) -> impl Iterator<Item = EfiRegion> + '_ {
    map.entries().map(|d| EfiRegion {
        efi_type: d.ty.0,
        base: d.phys_start,
        pages: d.page_count,
    })
}

fn build_page_tables(kernel: &KernelImage, kernel_phys: u64, fb: Option<(u64, u64)>) -> u64 {
    let map = boot::memory_map(MemoryType::LOADER_DATA)
        .unwrap_or_else(|e| fatal(format_args!("cannot read the memory map: {:?}", e.status())));
    let mut entries = vec![
        MemmapEntry {
            base: 0,
            length: 0,
            kind: MemmapType::Reserved
        };
        map.len() + 8
    ];
    let n = memmap::convert(efi_regions(&map), fb, &mut entries)
        .unwrap_or_else(|_| fatal(format_args!("memory map too large")));
    let mut ranges = vec![(0, 0); n];
    let r = memmap::hhdm_ranges(&entries[..n], HHDM_GRANULE, &mut ranges)
        .unwrap_or_else(|_| fatal(format_args!("memory map too large")));
    let trampoline = handoff::trampoline_pages();
    let layout = paging::Layout {
        hhdm: HHDM_OFFSET,
        hhdm_ranges: &ranges[..r],
        kernel,
        kernel_phys,
        identity_pages: &trampoline,
    };
    paging::build(&layout).unwrap_or_else(|e| fatal(format_args!("{e}")))
}

/// Converts the final memory map and answers the memory-map request. Runs
/// after ExitBootServices: it must not allocate.
fn finish_memmap(
    efi_map: &impl MemoryMap,
    fb: Option<(u64, u64)>,
    out: &mut [MemmapEntry],
    arena: &mut Arena,
    slot: MemmapSlot,
    image: &mut [u8],
    requests: &Requests,
) {
    let n = memmap::convert(efi_regions(efi_map), fb, out)
        .unwrap_or_else(|_| fatal_late("memory map larger than reserved"));
    let response = arena
        .fill_memmap(slot, &out[..n])
        .unwrap_or_else(|_| fatal_late("memory map larger than reserved"));
    responses::answer_memmap(image, requests, response);
}

fn find_rsdp() -> Option<u64> {
    system::with_config_table(|tables| {
        let find = |guid| {
            tables
                .iter()
                .find(|t: &&ConfigTableEntry| t.guid == guid)
                .map(|t| t.address as u64)
        };
        find(ConfigTableEntry::ACPI2_GUID).or_else(|| find(ConfigTableEntry::ACPI_GUID))
    })
}

/// The current GOP mode as a Limine framebuffer (address still physical).
fn find_framebuffer() -> Option<Framebuffer> {
    let handle = boot::get_handle_for_protocol::<GraphicsOutput>().ok()?;
    // SAFETY: GetProtocol does not take the GOP away from the console driver;
    // we only read the mode and the framebuffer address.
    let mut gop = unsafe {
        boot::open_protocol::<GraphicsOutput>(
            OpenProtocolParams {
                handle,
                agent: boot::image_handle(),
                controller: None,
            },
            OpenProtocolAttributes::GetProtocol,
        )
    }
    .ok()?;
    let mode = gop.current_mode_info();
    let (width, height) = mode.resolution();
    let (red, green, blue) = match mode.pixel_format() {
        PixelFormat::Rgb => ((8, 0), (8, 8), (8, 16)),
        PixelFormat::Bgr => ((8, 16), (8, 8), (8, 0)),
        PixelFormat::Bitmask => {
            let mask = mode.pixel_bitmask()?;
            let field = |m: u32| (m.count_ones() as u8, m.trailing_zeros() as u8);
            (field(mask.red), field(mask.green), field(mask.blue))
        }
        PixelFormat::BltOnly => return None,
    };
    let mut fb = gop.frame_buffer();
    Some(Framebuffer {
        address: fb.as_mut_ptr() as u64,
        width: width as u64,
        height: height as u64,
        pitch: mode.stride() as u64 * 4,
        bpp: 32,
        memory_model: MEMORY_MODEL_RGB,
        red_mask_size: red.0,
        red_mask_shift: red.1,
        green_mask_size: green.0,
        green_mask_shift: green.1,
        blue_mask_size: blue.0,
        blue_mask_shift: blue.1,
        ..Framebuffer::default()
    })
}
