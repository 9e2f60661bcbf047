#!/usr/bin/env bash
# make bench-linux: the operations of `make bench` timed on Linux in the same
# QEMU (q35, -cpu max, TCG; once plain and once with -icount shift=0,sleep=off),
# and once more under icount on a CPU without ERMS/FSRM (-cpu max,-erms,-fsrm),
# where Linux copies and clears with `rep movsq`/`stosq` as our kernel does
# instead of `rep movsb`/`stosb`, which icount counts byte by byte
# (docs/linux-figures.md).
#
# 1. installs what is missing: cpio and e2fsprogs (Debian packages), the Rust
#    target x86_64-unknown-linux-musl;
# 2. fetches Debian's kernel package (the one linux-image-amd64 depends on)
#    with `apt-get download` into build/linux/ and unpacks it there with
#    `dpkg-deb -x` (nothing is installed);
# 3. builds tests/linux-bench (a static /init and /bin/true) and an
#    initramfs (cpio newc) holding them and the modules the disk cases load;
# 4. makes an ext2 image (mke2fs) for the virtio-blk disk;
# 5. boots each run with a timeout, prints the BENCH lines
#    (placement=linux, and linux-noerms for the third run) and writes them
#    to build/bench-linux.txt, and the table for docs/linux-figures.md to
#    build/linux-figures.md.
#
# BENCH_LINUX_RUNS=icount boots one run (tcg, icount, icount-noerms; several
# with commas);
# BENCH_LINUX_TIMEOUT (seconds, default 600) bounds each boot.
set -euo pipefail
cd "$(dirname "$0")/.."

out=build/linux
runs=${BENCH_LINUX_RUNS:-tcg,icount,icount-noerms}
limit=${BENCH_LINUX_TIMEOUT:-600}
target=x86_64-unknown-linux-musl
# The modules of the disk cases, in load order (each after what it
# depends on; ext4, which also mounts ext2, asks for crc32c as it starts),
# with their parameters: /init loads them in this order.
modules=(
    "crc32c_generic" "crc16" "mbcache" "jbd2" "ext4"
    "virtio_ring" "virtio" "virtio_pci_legacy_dev" "virtio_pci_modern_dev" "virtio_pci" "virtio_blk"
    "brd rd_nr=1 rd_size=4096"
)
mkdir -p "$out"

# 1. Tools.
missing=()
command -v qemu-system-x86_64 >/dev/null || missing+=(qemu-system-x86)
command -v cpio >/dev/null || missing+=(cpio)
command -v mke2fs >/dev/null || missing+=(e2fsprogs)
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" -eq 0 ]; then
        echo "bench-linux: installing ${missing[*]}"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    else
        echo "bench-linux: missing packages: ${missing[*]}" >&2
        echo "bench-linux: run: sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
        exit 1
    fi
fi
if ! rustup target list --installed 2>/dev/null | grep -qx "$target"; then
    echo "bench-linux: adding Rust target $target"
    rustup target add "$target"
fi

# 2. The kernel, downloaded once (remove build/linux to fetch anew).
deb=$(ls "$out"/linux-image-*.deb 2>/dev/null | head -n1 || true)
if [ -z "$deb" ]; then
    # As non-root, the package lists as they are (apt-get update needs root).
    if [ "$(id -u)" -eq 0 ]; then apt-get update -qq; fi
    package=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-/ { print $2; exit }')
    [ -n "$package" ] || { echo "bench-linux: no linux-image package behind linux-image-amd64" >&2; exit 1; }
    echo "bench-linux: downloading $package"
    if ! (cd "$out" && apt-get download -q "$package" >download.log 2>&1); then
        cat "$out/download.log" >&2
        echo "bench-linux: apt-get download $package failed" >&2
        exit 1
    fi
    deb=$(ls "$out"/linux-image-*.deb | head -n1)
fi
package=$(dpkg-deb -f "$deb" Package)
version=$(dpkg-deb -f "$deb" Version)
if [ ! -f "$out/pkg/.unpacked-$version" ]; then
    rm -rf "$out/pkg"
    dpkg-deb -x "$deb" "$out/pkg"
    touch "$out/pkg/.unpacked-$version"
fi
vmlinuz=$(ls "$out"/pkg/boot/vmlinuz-* | head -n1)
moddir=$(ls -d "$out"/pkg/lib/modules/* | head -n1)

# 3. The program and the initramfs.
cargo build --release -q --target "$target" --manifest-path tests/linux-bench/Cargo.toml \
    --target-dir target/linux-bench
bin=target/linux-bench/$target/release
stage=$out/initramfs
rm -rf "$stage"
mkdir -p "$stage"/{bin,dev,proc,tmp,mnt,lib/modules}
cp "$bin/linux-bench" "$stage/init"
cp "$bin/true" "$stage/bin/true"
: >"$stage/lib/modules/load"
for entry in "${modules[@]}"; do
    name=${entry%% *}
    ko=$(find "$moddir" -name "$name.ko" -o -name "$name.ko.xz" | head -n1)
    [ -n "$ko" ] || { echo "bench-linux: module $name is not in $package" >&2; exit 1; }
    case $ko in
        *.xz) xz -dc "$ko" >"$stage/lib/modules/$name.ko" ;;
        *) cp "$ko" "$stage/lib/modules/$name.ko" ;;
    esac
    echo "$entry" >>"$stage/lib/modules/load"
done
(cd "$stage" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) >"$out/initramfs.cpio"

# 5. The runs (each with step 4 first).
results=build/bench-linux.txt
: >"$results.new"
status=0
IFS=, read -r -a wanted <<<"$runs"
for run in "${wanted[@]}"; do
    cpu=max placement=linux accel=icount icount=(-icount shift=0,sleep=off)
    case $run in
        tcg) accel=tcg icount=() ;;
        icount) ;;
        icount-noerms) cpu=max,-erms,-fsrm placement=linux-noerms ;;
        *) echo "bench-linux: unknown run $run (tcg, icount or icount-noerms)" >&2; exit 1 ;;
    esac
    log=$out/$run.log
    # 4. The disk: an empty ext2 file system, new for each run.
    rm -f "$out/disk.img"
    truncate -s 16M "$out/disk.img"
    mke2fs -q -F -t ext2 -b 4096 "$out/disk.img"
    echo "bench-linux: booting $package $version under $accel, -cpu $cpu (log: $log)"
    timeout -k 10 "$limit" qemu-system-x86_64 -machine q35 -cpu "$cpu" -m 512M -accel tcg \
        "${icount[@]}" -kernel "$vmlinuz" -initrd "$out/initramfs.cpio" \
        -append "console=ttyS0 mitigations=off quiet panic=-1 bench_accel=$accel bench_placement=$placement" \
        -drive "file=$out/disk.img,if=none,id=disk,format=raw" -device virtio-blk-pci,drive=disk \
        -display none -monitor none -serial stdio -no-reboot </dev/null >"$log" 2>&1 || true
    tr -d '\r' <"$log" | grep -E '^(BENCH|bench-linux:) ' || true
    tr -d '\r' <"$log" | grep -E '^BENCH ' >>"$results.new" || true
    if ! tr -d '\r' <"$log" | grep -q '^bench-linux: done, [0-9]* lines, 0 failed'; then
        echo "bench-linux: the $run run did not finish cleanly (timeout ${limit}s; log: $log)" >&2
        status=1
    fi
done
mv "$results.new" "$results"

# The table docs/linux-figures.md keeps: one row per case, icount and TCG.
{
    echo "Kernel: Debian \`$package\` $version; measured $(date -u +%Y-%m-%d) with \`make bench-linux\`."
    echo
    echo "| case | icount median | icount min | icount, no ERMS: median | min | tcg median | tcg min |"
    echo "| --- | --- | --- | --- | --- | --- | --- |"
    awk '
        { c = $2; r = ""; m = ""; n = ""
          for (i = 3; i <= NF; i++) { split($i, kv, "=")
            if (kv[1] == "placement" || kv[1] == "accel") r = r kv[2] " "
            if (kv[1] == "median") m = kv[2]; if (kv[1] == "min") n = kv[2] }
          if (!(c in seen)) { seen[c] = 1; order[++count] = c }
          med[c, r] = m; mn[c, r] = n }
        END { for (i = 1; i <= count; i++) { c = order[i]
          printf "| `%s` | %s | %s | %s | %s | %s | %s |\n", c,
            med[c, "linux icount "], mn[c, "linux icount "],
            med[c, "linux-noerms icount "], mn[c, "linux-noerms icount "],
            med[c, "linux tcg "], mn[c, "linux tcg "] } }
    ' "$results"
} >"$out/../linux-figures.md"
echo "bench-linux: wrote $results and build/linux-figures.md"
exit $status
