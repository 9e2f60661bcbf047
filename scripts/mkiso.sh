#!/usr/bin/env bash
# Builds a bootable ISO: scripts/mkiso.sh <out.iso> <config> [LIMINE_DIR]
#
# The boot tree (build/iso_root/boot, made by the Makefile) gets the config
# as /boot/limine/limine.conf. Without LIMINE_DIR, our loader boots it: the
# El Torito EFI image is a FAT image holding BOOTX64.EFI *and* the whole boot
# tree, because OVMF cannot read ISO 9660. With LIMINE_DIR (a Limine binary
# release), the ISO is a hybrid BIOS+UEFI one booted by real Limine, which
# reads the ISO 9660 tree itself.
set -euo pipefail

out=$1
config=$2
limine=${3:-}
# ISO_ROOT: another boot tree (make bench-breakdown and make trace use
# build/iso_root_meter, the same tree with the metered kernel).
root=${ISO_ROOT:-build/iso_root}
stage=$(mktemp -d build/iso_stage.XXXXXX)
trap 'rm -rf "$stage"' EXIT

cp -r "$root/." "$stage/"
mkdir -p "$stage/boot/limine" "$stage/EFI/BOOT"
cp "$config" "$stage/boot/limine/limine.conf"

if [ -z "$limine" ]; then
    cp target/x86_64-unknown-uefi/release/bootx64.efi "$stage/EFI/BOOT/BOOTX64.EFI"
    # FAT image sized to the tree plus slack (in KiB, a multiple of 1 MiB).
    kib=$(( ( $(du -sk "$stage" | cut -f1) + 1024 ) / 1024 * 1024 + 1024 ))
    img="$stage/efiboot.img"
    mformat -i "$img" -C -T $((kib * 2)) -h 64 -s 32 ::
    mcopy -s -i "$img" "$stage/EFI" "$stage/boot" ::/
    xorriso -as mkisofs -quiet -R -J -V MICROKERNEL \
        -e efiboot.img -no-emul-boot -isohybrid-gpt-basdat \
        -o "$out" "$stage"
else
    for f in limine-bios.sys limine-bios-cd.bin limine-uefi-cd.bin BOOTX64.EFI limine; do
        [ -e "$limine/$f" ] || { echo "mkiso: $limine/$f not found (is LIMINE_DIR a Limine binary release?)" >&2; exit 1; }
    done
    cp "$limine/limine-bios.sys" "$limine/limine-bios-cd.bin" "$limine/limine-uefi-cd.bin" "$stage/boot/limine/"
    cp "$limine/BOOTX64.EFI" "$stage/EFI/BOOT/"
    xorriso -as mkisofs -quiet -R -r -J -V MICROKERNEL \
        -b boot/limine/limine-bios-cd.bin -no-emul-boot -boot-load-size 4 -boot-info-table \
        -hfsplus -apm-block-size 2048 \
        --efi-boot boot/limine/limine-uefi-cd.bin -efi-boot-part --efi-boot-image \
        --protective-msdos-label -o "$out" "$stage"
    "$limine/limine" bios-install "$out"
fi
