//! `kbd`: the PS/2 keyboard driver's pure core, tested on the host with
//! `cargo test -p kbd`.
//!
//! - [`keymap`]: scancode set 1 (what the i8042 controller hands the CPU
//!   when it translates, as every PC BIOS and firmware leaves it) decoded
//!   into key events — make and break codes, the `0xE0` prefix — and the
//!   US layout: a key press with the modifiers held (Shift, Ctrl, Alt,
//!   Caps Lock) becomes the bytes a terminal sends for it (`^C` for
//!   Ctrl-C, `ESC [ A` for the up arrow, `DEL` for Backspace, `CR` for
//!   Enter: the same bytes a serial terminal sends, so that the console's
//!   line discipline treats both alike).
//!
//! The binary (`src/main.rs`, feature `main`) is the driver process: it
//! owns the i8042's ports and IRQ 1, given to it by devmgr through the
//! spawn protocol, and sends each key press to tty line 0.
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

pub mod keymap;

pub use keymap::{Decoder, Key, KeyEvent};
