//! Structs the kernel fills in for user space. All `#[repr(C)]`, without
//! padding, so the kernel can copy them byte for byte.

/// What the `clock` call fills in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C)]
pub struct ClockInfo {
    /// Timer ticks since boot.
    pub jiffies: u64,
    /// Ticks per second.
    pub hz: u64,
    /// Time-stamp counter ticks per second (measured at boot).
    pub tsc_hz: u64,
    /// Nanoseconds since the tick started (from the TSC).
    pub uptime_ns: u64,
    /// Nanoseconds since the kernel was entered (the first instruction
    /// of `kmain`, from the TSC): `uptime_ns` plus the calibration and
    /// set-up before the tick; the firmware and the loader before the
    /// kernel are not counted. 0 before the TSC is calibrated.
    pub since_entry_ns: u64,
}

/// A thread's scheduling accounting (`thread_stats`), as Linux shows in
/// `/proc/<pid>/sched`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C)]
pub struct ThreadStats {
    /// 0 normal (CFS), 1 FIFO, 2 round-robin.
    pub policy: u64,
    /// The nice value (normal) or the real-time priority, as an i64.
    pub param: i64,
    /// 0 running, 1 runnable, 2 blocked.
    pub state: u64,
    /// Nanoseconds on the CPU.
    pub sum_exec_runtime: u64,
    pub vruntime: u64,
    pub nr_voluntary_switches: u64,
    pub nr_involuntary_switches: u64,
    pub nr_wakeups: u64,
}

/// What `process_info` says of a process: who it is and what the kernel
/// has mapped for it (the memory server's figures can be checked against
/// it).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C)]
pub struct ProcessInfo {
    pub pid: u64,
    /// Threads not yet ended.
    pub threads: u64,
    /// User pages mapped in its address space.
    pub mapped_pages: u64,
    /// Frames the kernel holds for it: page tables and pages it owns.
    pub kernel_frames: u64,
    /// Its name (NUL-padded).
    pub name: [u8; 32],
}

impl ProcessInfo {
    pub fn name(&self) -> &str {
        text(&self.name)
    }
}

/// Processes one `process_times` call reports at most.
pub const PROCESS_TIMES_MAX: usize = 16;

/// One process as `process_times` reports it: its CPU time (what
/// `/proc/<pid>/stat` shows as `utime`, `num_threads` and `starttime`),
/// whether it runs, and its name.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C)]
pub struct ProcessTime {
    pub pid: u64,
    /// Nanoseconds its threads have been on the CPU, those that ended
    /// included (user and kernel time together: the kernel does not
    /// split them).
    pub cpu_ns: u64,
    /// Threads not yet ended.
    pub threads: u64,
    /// Of those, the ones on the CPU or waiting for it (not blocked):
    /// 0 means the process sleeps (`S`), more that it runs (`R`).
    pub running: u64,
    /// When it was made, in nanoseconds since boot.
    pub start_ns: u64,
    /// Its name as the kernel knows it (the process's, NUL-padded, cut
    /// at 16 bytes).
    pub name: [u8; 16],
}

impl ProcessTime {
    pub fn name(&self) -> &str {
        text(&self.name)
    }
}

/// What `process_times` fills in: the first `count` of `entries`, in
/// ascending pid order.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C)]
pub struct ProcessTimes {
    pub count: u64,
    pub entries: [ProcessTime; PROCESS_TIMES_MAX],
}

// No padding: the kernel copies them byte for byte.
const _: () = assert!(core::mem::size_of::<ProcessTime>() == 56);
const _: () = assert!(core::mem::size_of::<ProcessTimes>() == 8 + 56 * PROCESS_TIMES_MAX);

impl ProcessTimes {
    /// The filled entries.
    pub fn entries(&self) -> &[ProcessTime] {
        let n = (self.count as usize).min(PROCESS_TIMES_MAX);
        &self.entries[..n]
    }
}

/// An interrupt line's counters (`irq_info`), for `/proc/interrupts`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C)]
pub struct IrqInfo {
    /// The global system interrupt.
    pub gsi: u64,
    /// Interrupts taken on this line.
    pub count: u64,
    /// The CPU that took the last one.
    pub last_cpu: u64,
    /// Notifications bound to the line.
    pub handlers: u64,
    /// 1 while the line is masked (waiting for `irq_ack`, or unbound).
    pub masked: u64,
    /// The IDT vector it raises.
    pub vector: u64,
    /// 1 for a message-signalled interrupt (`irq_msi_alloc`; `gsi` is
    /// then 0 and meaningless), 0 for an I/O APIC input.
    pub msi: u64,
    /// 1 if it is level-triggered (an I/O APIC input so programmed), 0
    /// for an edge (every MSI).
    pub level: u64,
}

/// Message-signalled interrupts one process may hold (`irq_msi_alloc`).
pub const MSI_PER_PROCESS: usize = 16;
/// The kernel's pool of MSI vectors.
pub const MSI_VECTORS: usize = 32;

/// What a device writes to raise a message-signalled interrupt
/// (`irq_msi_alloc` fills it): the dword `data` to physical address
/// `address`, as programmed into its MSI capability.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C)]
pub struct MsiMessage {
    /// The IDT vector.
    pub vector: u64,
    /// `0xFEE0_0000 | destination APIC id << 12`.
    pub address: u64,
    /// The vector, fixed delivery, edge-triggered.
    pub data: u64,
}

/// A memory region the first process starts with.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C)]
pub struct RegionInfo {
    /// The region's handle (a [`super::Handle`]'s value).
    pub handle: u32,
    pub _reserved: u32,
    /// Physical address of its first byte.
    pub base: u64,
    pub pages: u64,
}

/// A boot module the first process is given, as a read-only memory
/// region.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(C)]
pub struct ModuleInfo {
    pub handle: u32,
    pub _reserved: u32,
    /// The file's size in bytes (the region is rounded up to pages).
    pub size: u64,
    /// The file name (the last part of its path), NUL-padded (cut at
    /// 24 bytes).
    pub name: [u8; 24],
    /// The `module_cmdline`, NUL-padded (cut at 56 bytes).
    pub cmdline: [u8; 56],
}

impl Default for ModuleInfo {
    fn default() -> Self {
        ModuleInfo {
            handle: 0,
            _reserved: 0,
            size: 0,
            name: [0; 24],
            cmdline: [0; 56],
        }
    }
}

fn text(bytes: &[u8]) -> &str {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    core::str::from_utf8(&bytes[..end]).unwrap_or("")
}

impl ModuleInfo {
    pub fn name(&self) -> &str {
        text(&self.name)
    }

    pub fn cmdline(&self) -> &str {
        text(&self.cmdline)
    }
}

/// Most memory regions and boot modules [`InitInfo`] lists. The bound is
/// the page [`InitInfo`] is mapped in (the assertion below the
/// structure): 16 regions of 24 bytes and 36 modules of 96 bytes (a
/// 24-byte name, a 56-byte command line) take 3,840 of its 4,096 bytes.
/// The free memory of a QEMU machine comes in well under 16 runs (the
/// kernel warns and leaves a run out past that); more programs than 36
/// come from the initramfs.
pub const REGIONS_MAX: usize = 16;
pub const MODULES_MAX: usize = 36;
/// Most in-kernel services [`InitInfo`] lists.
pub const SERVICES_MAX: usize = 4;

/// A server core placed inside the kernel, and a handle to call it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C)]
pub struct ServiceInfo {
    pub handle: u32,
    pub _reserved: u32,
    /// The name it registers as (NUL-padded).
    pub name: [u8; 16],
}

impl ServiceInfo {
    pub fn name(&self) -> &str {
        text(&self.name)
    }
}

/// What the first process is given, mapped read-only at
/// [`super::INIT_INFO_ADDR`]: handles to itself, to all free physical
/// memory (as regions), to every interrupt line (through the IRQ control),
/// to the I/O port space, to device memory (through the device-memory
/// control), and to the other boot modules.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(C)]
pub struct InitInfo {
    /// [`InitInfo::MAGIC`].
    pub magic: u64,
    /// A handle to the process itself (to map into its own address space).
    pub self_process: u32,
    /// A handle to its first thread.
    pub self_thread: u32,
    /// The IRQ control handle: `irq_get` takes line handles from it.
    pub irq_control: u32,
    /// All 65536 I/O ports.
    pub io_ports: u32,
    /// The device-memory control: `device_region` takes regions of device
    /// memory (never RAM) from it.
    pub device_control: u32,
    /// The console control: `console_take` hands COM1 to its holder.
    pub console_control: u32,
    pub region_count: u32,
    pub module_count: u32,
    pub regions: [RegionInfo; REGIONS_MAX],
    pub modules: [ModuleInfo; MODULES_MAX],
    /// The servers placed inside the kernel (with `placement=mono` on the
    /// kernel command line; none otherwise).
    pub service_count: u32,
    /// The scheduling control: `set_sched_rt` puts threads in a real-time
    /// class with it (`abi::limits`).
    pub sched_control: u32,
    /// The power control: `power` turns the machine off or resets it
    /// with it (`abi::power`).
    pub power_control: u32,
    pub services: [ServiceInfo; SERVICES_MAX],
    /// The boot framebuffer's geometry (from the loader's framebuffer
    /// response; all zeros without one). `init` gives its memory to the
    /// entry with the manifest's `framebuffer` option.
    pub framebuffer: super::FramebufferInfo,
}

impl InitInfo {
    pub const MAGIC: u64 = 0x4f46_4e49_5449_4e49; // "INITINFO"

    pub fn regions(&self) -> &[RegionInfo] {
        &self.regions[..(self.region_count as usize).min(REGIONS_MAX)]
    }

    pub fn modules(&self) -> &[ModuleInfo] {
        &self.modules[..(self.module_count as usize).min(MODULES_MAX)]
    }

    /// The module named `name`.
    pub fn module(&self, name: &str) -> Option<&ModuleInfo> {
        self.modules().iter().find(|m| m.name() == name)
    }

    pub fn services(&self) -> &[ServiceInfo] {
        &self.services[..(self.service_count as usize).min(SERVICES_MAX)]
    }

    /// The in-kernel service registered as `name`.
    pub fn service(&self, name: &str) -> Option<&ServiceInfo> {
        self.services().iter().find(|s| s.name() == name)
    }

    /// The boot framebuffer, if the loader gave one (not yet checked:
    /// see [`super::FramebufferInfo::check`]).
    pub fn framebuffer(&self) -> Option<&super::FramebufferInfo> {
        self.framebuffer.is_present().then_some(&self.framebuffer)
    }
}

const _: () = assert!(core::mem::size_of::<InitInfo>() as u64 <= super::memory::PAGE_SIZE);

/// How a process ended, as `process_status` reports it in one word: the
/// kind in bits 56–63 (0 = still alive), the detail below.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProcessStatus {
    Alive,
    /// It called `exit` (the low 56 bits of the status).
    Exited(u64),
    /// A fault killed it: the exception vector.
    Fault(u64),
    /// Another process killed it: that process's id.
    Killed(u64),
    /// A page fault its pager called a bus error killed it (`PAGER_BUS`:
    /// a file page past the end of the file): the faulting address.
    BusError(u64),
}

impl ProcessStatus {
    const DETAIL: u64 = (1 << 56) - 1;

    pub const fn encode(self) -> u64 {
        match self {
            ProcessStatus::Alive => 0,
            ProcessStatus::Exited(v) => 1 << 56 | (v & Self::DETAIL),
            ProcessStatus::Fault(v) => 2 << 56 | (v & Self::DETAIL),
            ProcessStatus::Killed(v) => 3 << 56 | (v & Self::DETAIL),
            ProcessStatus::BusError(v) => 4 << 56 | (v & Self::DETAIL),
        }
    }

    pub const fn decode(raw: u64) -> ProcessStatus {
        let detail = raw & Self::DETAIL;
        match raw >> 56 {
            1 => ProcessStatus::Exited(detail),
            2 => ProcessStatus::Fault(detail),
            3 => ProcessStatus::Killed(detail),
            4 => ProcessStatus::BusError(detail),
            _ => ProcessStatus::Alive,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn process_status_round_trips() {
        for status in [
            ProcessStatus::Alive,
            ProcessStatus::Exited(0),
            ProcessStatus::Exited(65536),
            ProcessStatus::Fault(14),
            ProcessStatus::Killed(3),
            ProcessStatus::BusError(0x7000_1000),
        ] {
            assert_eq!(ProcessStatus::decode(status.encode()), status);
        }
    }
}
