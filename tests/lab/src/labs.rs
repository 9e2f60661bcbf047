//! The labs: each one's text, where its markers are, and what its grader
//! checks for how many points (docs/labs/).

/// How a part is checked.
#[derive(Clone, Copy, Debug)]
pub enum Check {
    /// Host tests: every test of the lab's `cargo test` run whose
    /// `<binary>::<path>` contains one of these passes, and at least one
    /// ran.
    Tests(&'static [&'static str]),
    /// A shipped trace replayed against the server's core: every reply
    /// matches.
    Replay {
        server: &'static str,
        trace: &'static str,
    },
    /// A harness case booted (`HARNESS_CASES=<case>`): each of these
    /// test programs of its manifest passed, by init's line in the logs
    /// (`init[1]: test kvtest exited with status …: 5 passed, 0 failed (ok)`).
    Qemu {
        case: &'static str,
        programs: &'static [&'static str],
    },
    /// The bench entry under icount, in both placements: `BENCH <name>`
    /// runs in fewer instructions with the core in the kernel.
    MonoFaster { bench: &'static str },
}

impl Check {
    /// Whether the check runs on the host alone (no QEMU).
    pub fn host(&self) -> bool {
        matches!(self, Check::Tests(_) | Check::Replay { .. })
    }
}

/// One graded part.
#[derive(Clone, Copy, Debug)]
pub struct Part {
    pub name: &'static str,
    pub points: u32,
    pub check: Check,
}

/// One lab.
#[derive(Clone, Copy, Debug)]
pub struct Lab {
    pub number: u32,
    /// Short name, as in the score line (`buddy: …`).
    pub name: &'static str,
    /// Its text, from the repository root.
    pub doc: &'static str,
    /// The packages whose host tests the parts name.
    pub packages: &'static [&'static str],
    pub parts: &'static [Part],
    /// Why the lab is not graded yet, if it is not.
    pub ungraded: Option<&'static str>,
    /// The guest binaries that hold every one of the lab's marked
    /// blocks, for `lab boot-check` (empty: the lab's markers reach the
    /// kernel or a library many binaries link, and only a full build of
    /// its starting tree boots it, `lab grade-starts`).
    pub overlay: &'static [Overlay],
}

/// A user crate of a lab's markers, built alone for the guest: its
/// binaries replace the boot modules of the same names in a copy of this
/// tree's boot tree (`lab boot-check`).
#[derive(Clone, Copy, Debug)]
pub struct Overlay {
    /// The package (`cargo build -p <package> --features <package>/main`).
    pub package: &'static str,
    /// Its directory: every stubbed file of the lab must be under one.
    pub dir: &'static str,
    /// Its binaries, each the boot module `/boot/<name>`.
    pub binaries: &'static [&'static str],
}

const fn part(name: &'static str, points: u32, check: Check) -> Part {
    Part {
        name,
        points,
        check,
    }
}

pub const LABS: &[Lab] = &[
    Lab {
        number: 1,
        name: "server",
        doc: "docs/labs/01-server.md",
        packages: &["kv"],
        parts: &[
            part("put/get/delete", 10, Check::Tests(&["put_get_delete"])),
            part(
                "per-client keys",
                5,
                Check::Tests(&["clients_have_their_own_keys"]),
            ),
            part("quotas", 10, Check::Tests(&["quotas_are_per_client"])),
            part("list", 5, Check::Tests(&["list_pages_through_keys"])),
            part("garbage", 5, Check::Tests(&["the_runtime_answers_garbage"])),
            part(
                "replay kv.trace",
                25,
                Check::Replay {
                    server: "kv",
                    trace: "tests/fixtures/traces/kv.trace",
                },
            ),
            part(
                "kvtest in QEMU",
                10,
                Check::Qemu {
                    case: "guest-suite",
                    programs: &["kvtest"],
                },
            ),
        ],
        ungraded: None,
        overlay: &[],
    },
    Lab {
        number: 2,
        name: "buddy",
        doc: "docs/labs/02-buddy.md",
        packages: &["buddy"],
        parts: &[
            part(
                "split/merge",
                20,
                Check::Tests(&["exhaustion_then_recovery", "init_trims_merges_and_skips"]),
            ),
            part(
                "fragmentation",
                10,
                Check::Tests(&["fragmentation_and_coalescing"]),
            ),
            part(
                "zones",
                10,
                Check::Tests(&[
                    "normal_falls_back",
                    "dma32_never",
                    "dma_only",
                    "never_straddle",
                ]),
            ),
            part("random invariants", 10, Check::Tests(&["buddy_random::"])),
            part(
                "replay mm.trace",
                10,
                Check::Replay {
                    server: "mm",
                    trace: "tests/fixtures/traces/mm.trace",
                },
            ),
            part(
                "mm in QEMU",
                10,
                Check::Qemu {
                    case: "guest-suite",
                    programs: &["mmtest", "meminfo"],
                },
            ),
        ],
        ungraded: None,
        overlay: &[],
    },
    Lab {
        number: 3,
        name: "slab",
        doc: "docs/labs/03-slab.md",
        packages: &["kmem"],
        parts: &[
            part("geometry", 20, Check::Tests(&["geometry_of_common_sizes"])),
            part("caches", 20, Check::Tests(&["kmem_cache::"])),
            part("kmalloc", 10, Check::Tests(&["kmalloc::"])),
            part("stress", 10, Check::Tests(&["stress::"])),
        ],
        ungraded: None,
        overlay: &[],
    },
    Lab {
        number: 4,
        name: "wait1",
        doc: "docs/labs/04-wait-queues.md",
        packages: &["wait1"],
        parts: &[
            part("ring", 5, Check::Tests(&["ring::tests::"])),
            part(
                "blocking and wake-up",
                20,
                Check::Tests(&["wait1::tests::"]),
            ),
            part("reply later", 10, Check::Tests(&["server::tests::"])),
            part(
                "replay wait1.trace",
                25,
                Check::Replay {
                    server: "wait1",
                    trace: "tests/fixtures/traces/wait1.trace",
                },
            ),
            part(
                "wait1test in QEMU",
                10,
                Check::Qemu {
                    case: "guest-suite",
                    programs: &["wait1test"],
                },
            ),
        ],
        ungraded: None,
        overlay: &[],
    },
    Lab {
        number: 5,
        name: "workqueue",
        doc: "docs/labs/05-workqueue.md",
        packages: &["libsys"],
        parts: &[
            part(
                "timer list",
                20,
                Check::Tests(&["timers_expire_in_deadline_order"]),
            ),
            part(
                "delayed work",
                20,
                Check::Tests(&[
                    "simulated_delayed_work_runs_in_deadline_order",
                    "simulated_executor_keeps_every_guarantee",
                ]),
            ),
            part(
                "synctest and timertest in QEMU",
                10,
                Check::Qemu {
                    case: "guest-suite",
                    programs: &["synctest", "timertest"],
                },
            ),
        ],
        ungraded: None,
        overlay: &[],
    },
    Lab {
        number: 6,
        name: "edu",
        doc: "docs/labs/06-pci-edu.md",
        packages: &["edu"],
        parts: &[
            part(
                "identification and liveness",
                10,
                Check::Tests(&["ident::"]),
            ),
            part("factorial by interrupt", 20, Check::Tests(&["factorial::"])),
            part("DMA", 20, Check::Tests(&["dma::"])),
            part(
                "edutest in QEMU",
                10,
                Check::Qemu {
                    case: "guest-suite",
                    programs: &["edutest"],
                },
            ),
        ],
        ungraded: None,
        overlay: &[Overlay {
            package: "edu",
            dir: "servers/drivers/edu",
            binaries: &["edu"],
        }],
    },
    Lab {
        number: 7,
        name: "fs",
        doc: "docs/labs/07-filesystem.md",
        packages: &["vfs"],
        parts: &[
            part("tmpfs", 10, Check::Tests(&["tmpfs"])),
            part("path walk", 20, Check::Tests(&["namei", "lookup"])),
            part("the whole VFS", 10, Check::Tests(&["vfs::", "::"])),
            part(
                "replay vfs.trace",
                20,
                Check::Replay {
                    server: "vfs",
                    trace: "tests/fixtures/traces/vfs.trace",
                },
            ),
            part(
                "fstest in QEMU",
                10,
                Check::Qemu {
                    case: "posix-suite",
                    programs: &["fstest"],
                },
            ),
        ],
        ungraded: None,
        overlay: &[],
    },
    Lab {
        number: 8,
        name: "syscall",
        doc: "docs/labs/08-system-call.md",
        packages: &["libsys"],
        parts: &[
            part("the ABI table", 10, Check::Tests(&["abi::"])),
            part(
                "kernel_stats in QEMU (hostile)",
                30,
                Check::Qemu {
                    case: "guest-suite",
                    programs: &["hostile"],
                },
            ),
        ],
        ungraded: None,
        overlay: &[],
    },
    Lab {
        number: 9,
        name: "cow",
        doc: "docs/labs/09-cow-fork.md",
        packages: &["mm"],
        parts: &[
            part(
                "fork",
                20,
                Check::Tests(&[
                    "fork_refuses_and_undoes",
                    "a_chain_of_forks",
                    "after_a_fork",
                ]),
            ),
            part(
                "copy on write",
                20,
                Check::Tests(&["memory_contents_follow_a_model_across_forks"]),
            ),
            part(
                "replay mm.trace",
                10,
                Check::Replay {
                    server: "mm",
                    trace: "tests/fixtures/traces/mm.trace",
                },
            ),
            part(
                "mm in QEMU",
                10,
                Check::Qemu {
                    case: "guest-suite",
                    programs: &["mmtest"],
                },
            ),
        ],
        ungraded: None,
        overlay: &[],
    },
    Lab {
        number: 10,
        name: "placement",
        doc: "docs/labs/10-placement.md",
        packages: &["kv"],
        parts: &[
            part("kv's core", 10, Check::Tests(&["kv::tests::"])),
            part(
                "the tests with kv in the kernel",
                20,
                Check::Qemu {
                    case: "menu-test-mono",
                    programs: &["kvtest", "wait1test"],
                },
            ),
            part(
                "kv_get faster in the kernel",
                20,
                Check::MonoFaster { bench: "kv_get" },
            ),
        ],
        ungraded: None,
        overlay: &[],
    },
];

/// Lab `n`.
pub fn lab(n: u32) -> Option<&'static Lab> {
    LABS.iter().find(|l| l.number == n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_numbered_and_every_graded_lab_has_host_parts() {
        for (i, lab) in LABS.iter().enumerate() {
            assert_eq!(lab.number as usize, i + 1);
            assert!(lab
                .doc
                .starts_with(&format!("docs/labs/{:02}-", lab.number)));
            if lab.ungraded.is_none() {
                assert!(
                    lab.parts.iter().any(|p| p.check.host()),
                    "lab {}",
                    lab.number
                );
                assert!(!lab.packages.is_empty());
            }
            let total: u32 = lab.parts.iter().map(|p| p.points).sum();
            assert!(lab.ungraded.is_some() || total >= 40, "lab {}", lab.number);
        }
    }
}
