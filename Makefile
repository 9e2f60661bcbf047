# Building, booting and testing the system. The two commands a newcomer needs:
#   make run    build everything and boot it in QEMU (serial on this terminal)
#   make test   host tests, then the in-QEMU tests
# Both install what is missing first (make deps).

KERNEL  := target/kernel/x86_64-unknown-none/release/microkernel
LOADER  := target/x86_64-unknown-uefi/release/bootx64.efi
USER    := target/user/x86_64-unknown-none/release
# The boot modules built for x86_64-unknown-none: user programs, init and
# the servers (each a crate's binary; see userland/ and servers/).
PROGRAMS := hello ktest kfault utest bench kvtest nstest crashy mmtest meminfo synctest timertest init mm kv kvctl timer wait1test wait1d wait1 devmgr lspci lsdev devtest hostile pidtest contest granttest exctest blk blktest
USER_CRATES := -p userland -p init -p kvctl -p mm -p kv -p timer -p wait1 -p wait1ctl -p devmgr -p blk -p tty -p vfs -p procsrv
USER_FEATURES := init/main,mm/main,kv/main,timer/main,wait1/main,devmgr/main,blk/main,tty/main,vfs/main,procsrv/main
# The POSIX surface's servers and their tests (the posix entry).
PROGRAMS += tty ttytest
# The file server and its test (the posix entry).
PROGRAMS += vfs fstest
# The fuzzers and the check after them (the fuzz entry, make fuzz).
PROGRAMS += sysfuzz msgfuzz fuzzcheck
# The restart-transparency checker (the chaos entry, make chaos).
PROGRAMS += chaos
# Per-client bounds of kv, timer and wait1 against a hoarding client (the
# test entry).
PROGRAMS += hoard
# The shell and the everyday tools (libsys::posix; docs/shell.md): each
# /bin/<name> in the initramfs.
PROGRAMS += sh echo cat ls mkdir rm pwd ps kill true false sleep wc uname shtest
PROGRAMS += printf rmdir cp mv ln touch stat head tail grep sort uniq cut tee xargs find hexdump cmp diff env date free uptime dmesg clear lsblk top service stty
# /proc, /sys and FIFOs (the posix entry's procfstest; the mkfifo tool).
PROGRAMS += mkfifo procfstest
# What top and service stand on, and the two tools (the posix entry).
PROGRAMS += servicetest
# The process server and its test (the posix entry); procchild is its child.
PROGRAMS += proc proctest procchild
# getty: the shell on the console at the end of make run.
PROGRAMS += getty
# ext2 on the virtio disk: the tools (mount, umount, sync, df) and the
# posix entry's test (ext2test; the harness then runs e2fsck -fn on the image).
PROGRAMS += mount umount sync df ext2test
# File-backed mappings on that disk (posix entry, after ext2test).
PROGRAMS += mmaptest
# Power: a clean unmount, then reboot(2) (the process server holds the
# power control; docs/shell.md).
PROGRAMS += poweroff reboot
# The PS/2 keyboard driver (servers/drivers/kbd): devmgr starts it through
# init's spawn protocol; spawntest checks the protocol.
PROGRAMS += kbd spawntest
USER_CRATES += -p kbd
USER_FEATURES := $(USER_FEATURES),kbd/main
# QEMU's edu device's driver (servers/drivers/edu, the driver lab): devmgr
# starts it for the PCI function with its BAR and line; edutest uses it
# through its device node (the guest suite adds -device edu).
PROGRAMS += edu edutest
USER_CRATES += -p edu
USER_FEATURES := $(USER_FEATURES),edu/main
# The virtio-blk driver (servers/drivers/virtio-blk): devmgr starts it for
# the virtio disk's PCI function; it serves the block server (blkdrv).
PROGRAMS += virtio-blk
USER_CRATES += -p virtio-blk
USER_FEATURES := $(USER_FEATURES),virtio-blk/main
# The initramfs (lib/cpio, rootfs/): the fixed tree of rootfs/initramfs.list,
# then every program of PROGRAMS — those named in SBIN (init and the
# servers) in /sbin, any other in /bin — and the docs in
# /usr/share/doc/microkernel. The ISO carries it as /boot/initramfs.cpio.
SBIN    := init mm timer kv wait1d devmgr blk tty vfs proc getty
INITRAMFS := build/initramfs.cpio
ISO     := build/microkernel.iso
ROOT    := build/iso_root
OVMF    := /usr/share/ovmf/OVMF.fd

MEM     ?= 512M
ACCEL   ?= tcg
GUI     ?= 0
LIMINE_DIR ?=

DISPLAY_OPT := $(if $(filter 1,$(GUI)),,-display none)
# The virtio disk (vda): an 8 MiB ext2 image made by `mke2fs -t ext2 -d`
# from rootfs/disk (vfs mounts it on /mnt, /etc/fstab), never committed;
# remade when rootfs/disk changes or when it holds no ext2. The harness
# makes its own fresh disks (build/guest-disk.img for blktest,
# build/posix-disk.img for ext2test). It sits in q35's slot 3, whose I/O
# window and interrupt line the manifests give the block server.
DISK    := build/disk.img
DISK_TREE := rootfs/disk
QEMU_FLAGS  := -machine q35 -cpu max -m $(MEM) -accel $(ACCEL) -bios $(OVMF) \
               -cdrom $(ISO) -serial mon:stdio $(DISPLAY_OPT) -no-reboot \
               -device isa-debug-exit,iobase=0xf4,iosize=0x04 \
               -drive file=$(DISK),if=none,id=vda,format=raw \
               -device virtio-blk-pci,drive=vda,addr=0x3

.PHONY: all deps kernel loader userland initramfs tree iso run debug layers lint test bench bench-linux bench-breakdown meter-tree trace fuzz chaos new-server clean disk

all: iso

deps:
	@scripts/deps.sh

# cargo decides what is stale; when nothing is, these are no-ops.
kernel: deps
	cd microkernel && cargo build --release --target x86_64-unknown-none

loader: deps
	cargo build --release -p boot --target x86_64-unknown-uefi

# Built from userland/ so that its .cargo/config.toml (link flags, target
# directory) applies to every program, init and the servers alike.
userland: deps
	cd userland && cargo build --release --target x86_64-unknown-none $(USER_CRATES) --features $(USER_FEATURES)

# The list of what is built (build/initramfs-programs.list) after the fixed
# one, through the host tool mkinitramfs: the same lists and files always
# give the same bytes (every mtime 0, inodes in list order).
initramfs: userland
	@mkdir -p build
	@{ for p in $(filter $(SBIN),$(PROGRAMS)); do echo "file /sbin/$$p $(USER)/$$p 0755 0 0"; done; \
	   for p in $(filter-out $(SBIN),$(PROGRAMS)); do echo "file /bin/$$p $(USER)/$$p 0755 0 0"; done; \
	   echo "dir /usr/share/doc/microkernel 0755 0 0"; \
	   for d in README.md docs/*.md; do echo "file /usr/share/doc/microkernel/$${d##*/} $$d 0644 0 0"; done; \
	 } > build/initramfs-programs.list
	cargo run --release -q -p cpio --bin mkinitramfs -- -o $(INITRAMFS) \
		rootfs/initramfs.list build/initramfs-programs.list

# The boot tree every ISO is made from: the kernel and the modules the
# entries in limine.cfg name.
tree: kernel userland initramfs
	@mkdir -p $(ROOT)/boot/test
	@cp $(KERNEL) $(ROOT)/boot/kernel
	@for p in $(PROGRAMS); do cp $(USER)/$$p $(ROOT)/boot/$$p; done
	@cp userland/init/manifests/manifest.* $(ROOT)/boot/
	@cp tests/fixtures/motd.txt $(ROOT)/boot/motd.txt
	@cp $(INITRAMFS) $(ROOT)/boot/initramfs.cpio
	@perl -e 'print chr($$_ % 251) for 0..70000' > $(ROOT)/boot/test/pattern.bin

iso: loader tree
	@scripts/mkiso.sh $(ISO) limine.cfg $(LIMINE_DIR)
	@echo "built $(ISO) ($$(du -k $(ISO) | cut -f1) KiB)"

$(DISK): $(wildcard $(DISK_TREE)/*)
	@mkdir -p build
	rm -f $(DISK)
	PATH="$$PATH:/usr/sbin:/sbin" mke2fs -q -F -t ext2 -b 1024 -d $(DISK_TREE) $(DISK) 8M

# An image left from before it was ext2 (or a damaged one) is remade.
disk: $(DISK)
	@PATH="$$PATH:/usr/sbin:/sbin" dumpe2fs -h $(DISK) >/dev/null 2>&1 || \
	  { rm -f $(DISK); $(MAKE) --no-print-directory $(DISK); }

run: iso disk
	qemu-system-x86_64 $(QEMU_FLAGS) || [ $$? -eq 33 ]

# QEMU waits for a debugger before the firmware runs.
debug: iso disk
	@echo "In another terminal:"
	@echo "  gdb $(KERNEL) -ex 'target remote :1234' -ex 'break kmain' -ex continue"
	qemu-system-x86_64 $(QEMU_FLAGS) -s -S

# clippy with the workspace's lints (Cargo.toml) and -D warnings: the host
# crates (tests included), the loader, then the bare-metal programs and
# servers as `make userland` builds them, then the kernel for its own
# target. The -A are for code being rewritten elsewhere: a constant
# assertion in libsys/src/proto/timer.rs's tests, `% n == 0` in the loader
# and in utest.
# Host crates: the workspace but the kernel and the loader, and the
# programs that only build bare-metal (`userland`, every `<name>ctl`
# client, as `make new-server` names them).
LINT_HOST := --workspace --exclude microkernel --exclude boot \
             --exclude userland --exclude '*ctl'
lint: deps
	cd microkernel && cargo clippy --release --target x86_64-unknown-none -- -D warnings
	cargo clippy $(LINT_HOST) --all-targets -- -D warnings -A clippy::assertions_on_constants
	cargo clippy --release -p boot --target x86_64-unknown-uefi -- -D warnings \
		-A clippy::manual_is_multiple_of
	cd userland && cargo clippy --release --target x86_64-unknown-none $(USER_CRATES) \
		--features $(USER_FEATURES) -- -D warnings -A clippy::manual_is_multiple_of

# The kernel's folders import only downward (docs/architecture.md,
# "Layers"): the checker's own fixtures first, then the kernel. Fast, so
# `make test` runs it before building anything.
layers:
	@scripts/check-layers --self-test
	@scripts/check-layers microkernel/src

test: layers lint loader tree
	cargo test
	@$(MAKE) -s labs-check
	cargo run --release -q -p harness

# The slab allocator's fast path against the host's malloc (on the host),
# then the bench entry booted under TCG and under -icount shift=0: the
# guest's BENCH lines and a table (see docs/benchmarks.md).
bench: loader tree
	cargo run --release -q -p kmem --example kmem_bench
	cargo run --release -q -p harness -- bench
	@$(MAKE) --no-print-directory bench-breakdown

# The kernel with the cost meter and the path trace (cargo feature
# `meter`; docs/benchmarks.md, "The cost meter") in its own target
# directory, and a copy of the boot tree with it as /boot/kernel.
METER_KERNEL := target/kernel-meter/x86_64-unknown-none/release/microkernel
METER_ROOT := build/iso_root_meter
meter-tree: tree
	cd microkernel && cargo build --release --target x86_64-unknown-none --features meter \
		--target-dir ../target/kernel-meter
	@rm -rf $(METER_ROOT) && cp -r $(ROOT) $(METER_ROOT)
	@cp $(METER_KERNEL) $(METER_ROOT)/boot/kernel

# The bench entry on the metered kernel under icount, both placements
# (those BENCH_RUNS names): a BREAKDOWN line per case and their table,
# appended to build/bench.md. `make bench` ends with it.
bench-breakdown: loader meter-tree
	ISO_ROOT=$(METER_ROOT) cargo run --release -q -p harness -- breakdown

# One iteration of bench case OP traced in each placement:
# build/trace-micro.json and build/trace-mono.json (Chrome trace JSON,
# for ui.perfetto.dev or chrome://tracing).
OP ?= read_4k_cached
trace: loader meter-tree
	ISO_ROOT=$(METER_ROOT) cargo run --release -q -p harness -- trace $(OP)

# The same operations on Debian's Linux kernel in the same QEMU (TCG, icount,
# and icount on a CPU without ERMS): BENCH lines with placement=linux,
# build/bench-linux.txt and the table for docs/linux-figures.md. Not part of
# make test; fetches the kernel package and the musl target on first use
# (docs/benchmarks.md, "Linux in the same QEMU").
bench-linux:
	@scripts/bench-linux.sh

# The fuzz entry with FUZZ_N system calls and FUZZ_N messages from seed
# FUZZ_SEED, then the check that the system still serves
# (docs/reliability.md). make test runs it with n=20000 seed=1.
# FUZZ_ARGS adds arguments to both fuzzers (trace=<i>, known=1, forge=1).
FUZZ_N    ?= 1000000
FUZZ_SEED ?= 1
fuzz: loader tree
	FUZZ_N=$(FUZZ_N) FUZZ_SEED=$(FUZZ_SEED) FUZZ_ARGS='$(FUZZ_ARGS)' cargo run --release -q -p harness -- fuzz

# The chaos entry with CHAOS_N kills from seed CHAOS_SEED: kv, timer,
# wait1, devmgr and the keyboard driver killed under load while a file is
# copied onto ext2, then e2fsck -fn on its disk (docs/reliability.md,
# "The restart checker"). make test runs it with kills=20 seed=1.
CHAOS_N    ?= 1000
CHAOS_SEED ?= 1
chaos: loader tree
	CHAOS_N=$(CHAOS_N) CHAOS_SEED=$(CHAOS_SEED) cargo run --release -q -p harness -- chaos

# A new server from the templates, wired in (docs/writing-a-server.md).
new-server:
	@cargo run --release -q -p harness -- new-server $(NAME)

clean:
	cargo clean
	rm -rf build

# The labs (docs/labs/README.md): a starting tree for lab LAB (DEST, by
# default build/lab<LAB>; the last commit without history), its grade
# (GRADE_ARGS=--host: the host parts only), every lab's grade, and the
# replay of a recorded trace against a server's core on the host.
# `make traces` boots the test entry with kv, wait1, timer and mm recording,
# then the posix entry with vfs recording, and refreshes tests/fixtures/traces/.
.PHONY: lab-start grade grade-all replay traces
lab-start:
	@cargo run --release -q -p lab -- start $(LAB) $(DEST)
grade: loader tree
	@cargo run --release -q -p lab -- grade $(LAB) $(GRADE_ARGS)
# grade-all: every lab on this tree (full marks), then every starting
# point built in target/lab-boot/lab<n>, booted and graded (below full
# marks, no kernel panic). GRADE_ARGS=--host: the host parts of this tree
# only, no starting point built.
grade-all: loader tree
	@cargo run --release -q -p lab -- grade-all $(GRADE_ARGS)
	@if [ -z "$(GRADE_ARGS)" ]; then cargo run --release -q -p lab -- grade-starts; fi
replay:
	@cargo run --release -q -p lab -- replay $(SERVER) $(TRACE)
traces: loader tree
	cargo run --release -q -p harness -- record
	@mkdir -p tests/fixtures/traces
	cargo run --release -q -p lab -- extract build/test-logs/record.debug.log kv tests/fixtures/traces/kv.trace
	cargo run --release -q -p lab -- extract build/test-logs/record.debug.log wait1 tests/fixtures/traces/wait1.trace
	cargo run --release -q -p lab -- extract build/test-logs/record.debug.log timer tests/fixtures/traces/timer.trace
	cargo run --release -q -p lab -- extract build/test-logs/record.debug.log mm tests/fixtures/traces/mm.trace
	cargo run --release -q -p lab -- extract build/test-logs/record-vfs.debug.log vfs tests/fixtures/traces/vfs.trace

# make test's part for the labs: every lab's host grader on this tree (full
# marks), every starting point made and checked to build, lab 2's graded
# below full marks, every shipped trace replayed (all replies match),
# scripts/grade-class.sh on a class of two (scripts/grade-class-test.sh:
# the CSV of lab 1's solution and starting point, host parts; the class
# kept in target/grade-class-test, so seconds after the first run), and
# lab 6's starting point booted (labs-boot-check). Needs `make loader
# tree` (make test builds them first).
# labs-boot-check (`lab boot-check 6`): lab 6's starting tree synced into
# target/lab-boot/quick6 (grade-starts keeps its full build in lab6),
# only its edu driver built (target/lab-boot/user, kept between runs),
# put over a copy of build/iso_root with the test
# entry's manifest cut down to edutest, then graded with that boot: below
# full marks, edutest run to its end, no kernel panic. About 30 s on a
# warm tree (docs/labs/README.md). grade-all's `lab grade-starts` does
# the full version: every starting tree built whole and booted.
.PHONY: labs-check labs-boot-check
labs-check:
	cargo run --release -q -p lab -- grade-all --host
	cargo run --release -q -p lab -- check-starts
	@for t in tests/fixtures/traces/*.trace; do \
		s=$$(basename $$t .trace); \
		cargo run --release -q -p lab -- replay $$s $$t || exit 1; \
	done
	scripts/grade-class-test.sh
	@$(MAKE) -s labs-boot-check
labs-boot-check:
	cargo build --release -q -p harness -p lab
	target/release/lab boot-check 6
