//! `tty`: the pure core of the tty layer (LKD's character devices, Linux's
//! `drivers/tty`), tested on the host with `cargo test -p tty`.
//!
//! - [`termios`]: Linux's `struct termios` and `struct winsize` as the
//!   x86_64 kernel lays them out, the flag and `c_cc` values, `stty sane`.
//! - [`ldisc`]: the line discipline (N_TTY): canonical editing, echo,
//!   signal characters, raw mode with `VMIN`/`VTIME`, output processing.
//!   Signals and blocking come out as values; the tty server delivers
//!   the signals to the foreground process group and blocks
//!   readers.
//! - [`jobctl`]: job control: what a background process group's read,
//!   write (with `TOSTOP`) or attribute change gets (`SIGTTIN`,
//!   `SIGTTOU`, `EIO`), as Linux's `__tty_check_change` decides it.
//! - [`killq`]: the signals owed to process groups, queued for the
//!   thread that sends them (the loop never waits on `proc`).
//! - [`klog`]: the kernel log records (`log_read`'s lines) the server
//!   writes to the console.
//! - [`uart`]: the 16550's transmit queue, sent a FIFO load at a time
//!   on the "transmitter empty" interrupt.
//! - [`vt`]: the VT100/ANSI escape-sequence parser of the framebuffer
//!   console.
//! - [`screen`]: the console's character grid, cursor, scrolling and
//!   colours, and the damage a renderer draws.
//! - [`fbcon`]: the renderer that draws a [`Screen`] on a linear
//!   framebuffer (glyphs of the `noto-sans-mono-bitmap` crate, colours
//!   packed by the framebuffer's masks, scrolling by copying pixel lines,
//!   damage drawn in runs of cells, an inverted-cell cursor).
//! - [`fb`]: the framebuffer console the server drives: screen, renderer
//!   and canvas, with drawing batched (a flush after 10 ms idle or 16 KiB
//!   of output).
//!
//! The binary (`src/main.rs`, feature `main`) owns COM1 and serves it as
//! line 0 of `libsys::proto::tty` with one [`LineDiscipline`]; the PS/2
//! keyboard driver feeds the same line (`Input`), and with the manifest's
//! `framebuffer` option every byte written to the console is also drawn
//! on the boot framebuffer through [`fb::FbConsole`].
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

extern crate alloc;

pub mod fb;
pub mod fbcon;
pub mod jobctl;
pub mod killq;
pub mod klog;
pub mod ldisc;
pub mod screen;
pub mod termios;
pub mod uart;
pub mod vt;

pub use ldisc::{Effects, LineDiscipline, ReadResult, Signal};
pub use screen::{Damage, Screen};
pub use termios::{Termios, Winsize};
