#!/usr/bin/env bash
# Installs what building and booting the system needs, when it is missing:
# QEMU, OVMF (UEFI firmware for QEMU), xorriso and mtools from Debian's
# packages, e2fsprogs (mke2fs/e2fsck make and check the ext2 test images),
# cpio (lib/cpio's tests compare with it), and the two Rust targets. Fast
# and silent when all is there.
# As non-root without the packages it prints the command to run and fails.
set -euo pipefail

missing=()
command -v qemu-system-x86_64 >/dev/null || missing+=(qemu-system-x86)
[ -f /usr/share/ovmf/OVMF.fd ] || missing+=(ovmf)
command -v xorriso >/dev/null || missing+=(xorriso)
{ command -v mformat >/dev/null && command -v mcopy >/dev/null; } || missing+=(mtools)
command -v perl >/dev/null || missing+=(perl-base)
# mke2fs and e2fsck live in /usr/sbin, which a non-root PATH may lack.
has_sbin_tool() { command -v "$1" >/dev/null || [ -x "/usr/sbin/$1" ] || [ -x "/sbin/$1" ]; }
{ has_sbin_tool mke2fs && has_sbin_tool e2fsck; } || missing+=(e2fsprogs)
# GNU cpio: lib/cpio's tests compare our archives with its own.
command -v cpio >/dev/null || missing+=(cpio)

if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" -eq 0 ]; then
        echo "make deps: installing ${missing[*]}"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    else
        echo "make deps: missing packages: ${missing[*]}" >&2
        echo "make deps: run: sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
        exit 1
    fi
fi

if ! command -v cargo >/dev/null; then
    echo "make deps: Rust is not installed; install rustup (https://rustup.rs), then run make again" >&2
    exit 1
fi
installed=$(rustup target list --installed 2>/dev/null || true)
for target in x86_64-unknown-none x86_64-unknown-uefi; do
    if ! grep -qx "$target" <<<"$installed"; then
        echo "make deps: adding Rust target $target"
        rustup target add "$target"
    fi
done
