//! Links the server binary with the user linker script.

fn main() {
    let dir = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    println!("cargo:rustc-link-arg-bins=-T{dir}/../../userland/link.ld");
    println!("cargo:rerun-if-changed=../../userland/link.ld");
}
