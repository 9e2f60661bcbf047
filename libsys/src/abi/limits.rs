//! Per-process limits on kernel resources (Linux's `RLIMIT_*`, counted
//! the way cgroups count): the [`Resource`]s a program can make the kernel
//! hold, the [`Limits`] a process has on each, and the [`ResourceUsage`]
//! and [`KernelStats`] the kernel reports.
//!
//! Objects are charged to the process that **creates** them and to every
//! process above it (its creator, and so on up to the first process), so a
//! process's limit bounds everything it and its descendants hold: a
//! program cannot escape its limits by making children. A new process
//! starts with [`Limits::DEFAULT`], lowered to its creator's own limits;
//! the creator may set them to anything up to its own
//! (`process_limits_set`). `Handles` and `PageTables` are not charged up
//! the tree: they size the process's own handle table and page tables.
//! Reaching a limit is [`super::SysError::OutOfResources`].
//!
//! Also here: [`SetSchedRt`], the arguments of `set_sched_rt`, the one way
//! to a real-time class — it needs the scheduling-control capability
//! ([`super::ObjectType::SchedControl`]), which the kernel gives the first
//! process alone.

use super::args::{Args, Regs};
use super::{Handle, SysError};

/// What a limit counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u64)]
pub enum Resource {
    /// Processes made with `process_create`.
    Processes = 0,
    /// Threads made with `thread_create` (a kernel stack each).
    Threads = 1,
    Endpoints = 2,
    Notifications = 3,
    /// Saved reply rights (`reply_save`).
    Replies = 4,
    /// Memory-region handles made by `region_derive` and `device_region`.
    Regions = 5,
    /// Death watches (`process_watch`) it set on any process.
    Watches = 6,
    /// Handles its own table holds at once (not charged up the tree).
    Handles = 7,
    /// Frames its own address space owns — its page tables (and, for a
    /// program the kernel loads itself, its image and stack); not charged
    /// up the tree. Checked before each `map` into it: bounds the kernel
    /// memory sparse mappings cost (one call adds at most a table a page).
    PageTables = 8,
}

/// How many [`Resource`]s there are.
pub const RESOURCES: usize = 9;

impl Resource {
    pub const ALL: [Resource; RESOURCES] = [
        Resource::Processes,
        Resource::Threads,
        Resource::Endpoints,
        Resource::Notifications,
        Resource::Replies,
        Resource::Regions,
        Resource::Watches,
        Resource::Handles,
        Resource::PageTables,
    ];

    /// Whether a charge goes to the creator's ancestors too (everything
    /// but the sizes of the process's own tables).
    pub const fn hierarchical(self) -> bool {
        !matches!(self, Resource::Handles | Resource::PageTables)
    }

    /// Its name in a manifest's `limits=` and in reports.
    pub const fn name(self) -> &'static str {
        match self {
            Resource::Processes => "processes",
            Resource::Threads => "threads",
            Resource::Endpoints => "endpoints",
            Resource::Notifications => "notifications",
            Resource::Replies => "replies",
            Resource::Regions => "regions",
            Resource::Watches => "watches",
            Resource::Handles => "handles",
            Resource::PageTables => "pagetables",
        }
    }

    /// The resource named `name` ([`Resource::name`]).
    pub fn from_name(name: &str) -> Option<Resource> {
        Resource::ALL.into_iter().find(|r| r.name() == name)
    }
}

impl TryFrom<u64> for Resource {
    type Error = SysError;

    fn try_from(n: u64) -> Result<Self, SysError> {
        Resource::ALL
            .into_iter()
            .find(|r| *r as u64 == n)
            .ok_or(SysError::InvalidArgument)
    }
}

/// One limit per [`Resource`], indexed by its number.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C)]
pub struct Limits {
    pub max: [u64; RESOURCES],
}

impl Limits {
    /// The first process's (`init`'s, and each program the kernel starts
    /// itself): the whole system's, sized so that reaching all of them
    /// still leaves the kernel's pool (at least 32 MiB) room — 1,024
    /// threads' kernel stacks are 32 MiB.
    pub const ROOT: Limits = Limits {
        max: [256, 1024, 8192, 8192, 4096, 8192, 4096, 1024, 4096],
    };
    /// A new process's, before its creator lowers or raises them (never
    /// above the creator's own).
    pub const DEFAULT: Limits = Limits {
        max: [64, 256, 1024, 1024, 512, 1024, 512, 1024, 1024],
    };

    pub fn get(&self, resource: Resource) -> u64 {
        self.max[resource as usize]
    }

    pub fn set(&mut self, resource: Resource, max: u64) {
        self.max[resource as usize] = max;
    }

    /// Each limit the lower of the two.
    pub fn min(&self, other: &Limits) -> Limits {
        let mut out = *self;
        for (mine, theirs) in out.max.iter_mut().zip(other.max) {
            *mine = (*mine).min(theirs);
        }
        out
    }

    /// Whether no limit is above `ceiling`'s.
    pub fn within(&self, ceiling: &Limits) -> bool {
        self.max.iter().zip(ceiling.max).all(|(a, b)| *a <= b)
    }
}

/// What `process_limits` reports: the limits and what is charged now.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C)]
pub struct ResourceUsage {
    pub limits: Limits,
    /// Charged now: for hierarchical resources, the process's own objects
    /// and its descendants'; for `Handles` and `PageTables`, its own
    /// table's.
    pub used: [u64; RESOURCES],
}

/// What `kernel_stats` reports: the kernel's own memory, to check that
/// what a process made was all freed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C)]
pub struct KernelStats {
    /// Frames the kernel's frame allocator has free.
    pub free_frames: u64,
    /// Bytes of kernel heap in use.
    pub heap_used: u64,
    /// Bytes of kernel heap in all.
    pub heap_size: u64,
    /// Processes alive or not yet reaped.
    pub processes: u64,
    /// Kernel threads and user threads, started or not.
    pub threads: u64,
}

/// `set_sched_rt`: `rdi` the scheduling control (MANAGE), `rsi` the
/// thread (MANAGE), `rdx` policy (as `set_sched`'s), `r10` its parameter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SetSchedRt {
    pub control: Handle,
    pub thread: Handle,
    pub policy: u64,
    pub param: i64,
}

impl Args for SetSchedRt {
    fn decode(r: &Regs) -> Result<Self, SysError> {
        Ok(SetSchedRt {
            control: Handle::from_raw(r.0[0])?,
            thread: Handle::from_raw(r.0[1])?,
            policy: r.0[2],
            param: r.0[3] as i64,
        })
    }
    fn encode(&self) -> Regs {
        Regs([
            u64::from(self.control.0),
            u64::from(self.thread.0),
            self.policy,
            self.param as u64,
            0,
            0,
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_sched_rt_decodes_two_handles() {
        const H: u64 = 0x0001_0003;
        let good = Regs([H, H + 1, 1, -3i64 as u64, 0, 0]);
        let args = SetSchedRt::decode(&good).unwrap();
        assert_eq!((args.policy, args.param), (1, -3));
        assert_eq!(args.encode(), good);
        for bad in [[1 << 40, H, 1, 0, 0, 0], [H, 1 << 40, 1, 0, 0, 0]] {
            assert_eq!(SetSchedRt::decode(&Regs(bad)), Err(SysError::BadHandle));
        }
    }

    #[test]
    fn resources_round_trip_by_number_and_name() {
        for (i, r) in Resource::ALL.into_iter().enumerate() {
            assert_eq!(r as usize, i);
            assert_eq!(Resource::try_from(i as u64), Ok(r));
            assert_eq!(Resource::from_name(r.name()), Some(r));
        }
        assert_eq!(
            Resource::try_from(RESOURCES as u64),
            Err(SysError::InvalidArgument)
        );
        assert_eq!(Resource::from_name("pages"), None);
    }

    #[test]
    fn defaults_are_within_the_root_and_min_takes_the_lower() {
        assert!(Limits::DEFAULT.within(&Limits::ROOT));
        assert!(!Limits::ROOT.within(&Limits::DEFAULT));
        let mut low = Limits::ROOT;
        low.set(Resource::Threads, 3);
        let both = low.min(&Limits::DEFAULT);
        assert_eq!(both.get(Resource::Threads), 3);
        assert_eq!(both.get(Resource::Processes), 64);
    }
}
