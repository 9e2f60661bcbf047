//! The build script of every user program and server binary (their
//! Cargo.toml say `build = ".../userland/build.rs"`): links the binaries
//! with the user linker script, `userland/link.ld`, found by walking up
//! from the crate being built.

use std::path::PathBuf;

fn main() {
    let dir = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let script = PathBuf::from(&dir)
        .ancestors()
        .map(|d| d.join("userland/link.ld"))
        .find(|p| p.exists())
        .expect("userland/link.ld above the crate");
    println!("cargo:rustc-link-arg-bins=-T{}", script.display());
    println!("cargo:rerun-if-changed={}", script.display());
}
