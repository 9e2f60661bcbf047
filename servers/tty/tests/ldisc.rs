//! The line discipline: editing, echo, canonical and raw reads, signals,
//! end of file, flow control, output processing and bounds.

use tty::ldisc::N_TTY_BUF_SIZE;
use tty::termios::*;
use tty::{LineDiscipline, ReadResult, Signal};

fn data(s: &[u8]) -> ReadResult {
    ReadResult::Data(s.to_vec())
}

const BLOCK: ReadResult = ReadResult::Block { timeout: None };

/// Types `input` on a sane terminal; returns what a 4096-byte read gives
/// and everything echoed.
fn cooked(input: &[u8]) -> (ReadResult, Vec<u8>) {
    let mut ld = LineDiscipline::new();
    let fx = ld.receive(input);
    (ld.read(4096, false), fx.echo)
}

#[test]
fn canonical_editing_table() {
    let cases: &[(&[u8], &[u8])] = &[
        (b"hello\r", b"hello\n"),
        (b"hello\n", b"hello\n"),
        (b"helo\x7flo\r", b"hello\n"),
        (b"helo\x08lo\r", b"hello\n"),
        (b"\x7f\x7fok\r", b"ok\n"),
        (b"junk junk\x15ls\r", b"ls\n"),
        (b"rm -rf foo\x17bar\r", b"rm -rf bar\n"),
        (b"a b/c\x17\r", b"a b/\n"),
        (b"ab  \x17\r", b"\n"),
        (b"x\x16\x7fy\r", b"x\x7fy\n"),
        (b"x\x16\x03y\r", b"x\x03y\n"),
        (b"t\tb\x7f\x7fab\r", b"tab\n"),
    ];
    for (input, want) in cases {
        assert_eq!(cooked(input).0, data(want), "input {input:?}");
    }
}

#[test]
fn echo_rules() {
    assert_eq!(cooked(b"ls\r").1, b"ls\r\n");
    assert_eq!(cooked(b"lx\x7f").1, b"lx\x08 \x08");
    // A control character echoes as ^X and erases as two columns.
    assert_eq!(cooked(b"a\x01\x7f").1, b"a^A\x08 \x08\x08 \x08");
    // A tab erases back to where it started, with backspaces only.
    assert_eq!(cooked(b"ab\t\x7f").1, b"ab\t\x08\x08\x08\x08\x08\x08");
    // Kill with ECHOKE erases the line visibly.
    assert_eq!(cooked(b"ab\x15").1, b"ab\x08 \x08\x08 \x08");
    // Without ECHOKE: the kill character, then (ECHOK) a newline.
    let mut ld = LineDiscipline::new();
    let mut t = ld.termios();
    t.c_lflag &= !ECHOKE;
    ld.set_termios(t);
    assert_eq!(ld.receive(b"ab\x15").echo, b"ab^U\r\n");
    // Without ECHOE, erase echoes the erase character.
    t.c_lflag &= !ECHOE;
    ld.set_termios(t);
    assert_eq!(ld.receive(b"x\x7f").echo, b"x^?");
    // ECHO off: nothing, except the newline with ECHONL.
    t.c_lflag &= !ECHO;
    ld.set_termios(t);
    assert_eq!(ld.receive(b"secret\r").echo, b"");
    t.c_lflag |= ECHONL;
    ld.set_termios(t);
    assert_eq!(ld.receive(b"pw\r").echo, b"\r\n");
    // VREPRINT (^R) shows the line again.
    assert_eq!(cooked(b"ab\x12").1, b"ab^R\r\nab");
}

#[test]
fn reads_take_complete_lines_only() {
    let mut ld = LineDiscipline::new();
    ld.receive(b"one\rtw");
    assert!(ld.readable());
    assert_eq!(ld.read(2, false), data(b"on"));
    assert_eq!(ld.read(100, false), data(b"e\n"));
    assert_eq!(
        ld.read(100, false),
        BLOCK,
        "a line still being typed is not readable"
    );
    assert!(!ld.readable());
    ld.receive(b"o\r");
    assert_eq!(ld.read(100, false), data(b"two\n"));
    assert_eq!(ld.read(0, false), data(b""));
}

#[test]
fn ctrl_d_ends_a_line_or_the_file() {
    let mut ld = LineDiscipline::new();
    let fx = ld.receive(b"abc\x04\x04");
    assert_eq!(fx.echo, b"abc");
    assert_eq!(ld.read(100, false), data(b"abc"));
    assert_eq!(ld.read(100, false), ReadResult::Eof);
    assert_eq!(ld.read(100, false), BLOCK);
}

#[test]
fn signal_characters() {
    let mut ld = LineDiscipline::new();
    ld.receive(b"done\r");
    let fx = ld.receive(b"half\x03");
    assert_eq!(fx.signals, [Signal::Int]);
    assert_eq!(fx.echo, b"half^C");
    assert!(fx.flush_output);
    assert_eq!(ld.read(100, false), BLOCK, "the signal flushed the input");
    assert_eq!(ld.receive(b"\x1c").signals, [Signal::Quit]);
    assert_eq!(ld.receive(b"\x1a").signals, [Signal::Tstp]);
    assert_eq!(Signal::Tstp.number(), 20);
    // NOFLSH keeps the input; without ISIG the characters are data.
    let mut t = ld.termios();
    t.c_lflag |= NOFLSH;
    ld.set_termios(t);
    ld.receive(b"keep\r\x03");
    assert_eq!(ld.read(100, false), data(b"keep\n"));
    t.c_lflag &= !ISIG;
    ld.set_termios(t);
    assert!(ld.receive(b"\x03\r").signals.is_empty());
    assert_eq!(ld.read(100, false), data(b"\x03\n"));
    // A disabled control character (0) does nothing.
    t.c_lflag |= ISIG;
    t.c_cc[VINTR] = 0;
    ld.set_termios(t);
    assert!(ld.receive(b"\x03").signals.is_empty());
    assert!(ld.receive(b"\0").signals.is_empty());
}

#[test]
fn input_flags() {
    let mut ld = LineDiscipline::new();
    let mut t = ld.termios();
    t.c_iflag |= IGNCR;
    ld.set_termios(t);
    ld.receive(b"a\rb\n");
    assert_eq!(ld.read(100, false), data(b"ab\n"));
    t.c_iflag &= !(IGNCR | ICRNL);
    t.c_iflag |= INLCR | ISTRIP;
    t.c_cc[VEOL] = b'\r';
    ld.set_termios(t);
    ld.receive(b"x\xe1\n");
    assert_eq!(ld.read(100, false), data(b"xa\r"));
}

#[test]
fn flow_control() {
    let mut ld = LineDiscipline::new();
    ld.receive(b"\x13");
    assert!(ld.output_stopped());
    ld.receive(b"\x11");
    assert!(!ld.output_stopped());
    ld.receive(b"\x13x\r");
    assert!(ld.output_stopped(), "without IXANY only ^Q restarts");
    assert_eq!(ld.read(100, false), data(b"x\n"));
}

fn raw(min: u8, time: u8) -> LineDiscipline {
    let mut ld = LineDiscipline::new();
    let mut t = ld.termios();
    t.make_raw();
    t.c_cc[VMIN] = min;
    t.c_cc[VTIME] = time;
    ld.set_termios(t);
    ld
}

#[test]
fn raw_mode_vmin_vtime() {
    // MIN 1, TIME 0: block until a byte; bytes untouched, no echo, no signals.
    let mut ld = raw(1, 0);
    assert_eq!(ld.read(10, false), BLOCK);
    let fx = ld.receive(b"\x03\r\x7f");
    assert!(fx.signals.is_empty() && fx.echo.is_empty());
    assert_eq!(ld.read(10, false), data(b"\x03\r\x7f"));
    // MIN 0, TIME 0: never blocks.
    let mut ld = raw(0, 0);
    assert_eq!(ld.read(10, false), data(b""));
    // MIN 3, TIME 0: waits for three bytes (or as many as asked for).
    let mut ld = raw(3, 0);
    ld.receive(b"ab");
    assert_eq!(ld.read(10, false), BLOCK);
    assert_eq!(ld.read(2, false), data(b"ab"));
    ld.receive(b"cde");
    assert_eq!(ld.read(10, false), data(b"cde"));
    // MIN 0, TIME 5: a read with a timeout.
    let mut ld = raw(0, 5);
    assert_eq!(ld.read(10, false), ReadResult::Block { timeout: Some(5) });
    assert_eq!(ld.read(10, true), data(b""));
    ld.receive(b"z");
    assert_eq!(ld.read(10, false), data(b"z"));
    // MIN 4, TIME 2: the inter-byte timer starts with the first byte.
    let mut ld = raw(4, 2);
    assert_eq!(ld.read(10, false), BLOCK);
    ld.receive(b"xy");
    assert_eq!(ld.read(10, false), ReadResult::Block { timeout: Some(2) });
    assert_eq!(ld.read(10, true), data(b"xy"));
}

#[test]
fn switching_modes_keeps_pending_input() {
    let mut ld = LineDiscipline::new();
    ld.receive(b"line\rpart");
    let mut t = ld.termios();
    t.make_raw();
    ld.set_termios(t);
    assert_eq!(ld.read(100, false), data(b"line\npart"));
    ld.receive(b"ab");
    ld.set_termios(Termios::sane());
    ld.receive(b"c\r");
    assert_eq!(ld.read(100, false), data(b"abc\n"));
}

#[test]
fn output_processing() {
    let mut ld = LineDiscipline::new();
    assert_eq!(ld.write(b"a\nb\n"), b"a\r\nb\r\n");
    let mut t = ld.termios();
    t.c_oflag |= XTABS | OLCUC;
    ld.set_termios(t);
    assert_eq!(ld.write(b"ab\tc"), b"AB      C");
    t.c_oflag = OPOST | OCRNL;
    ld.set_termios(t);
    assert_eq!(ld.write(b"x\r"), b"x\n");
    // ONOCR: no CR at column 0 (the column carries over between writes).
    let mut fresh = LineDiscipline::new();
    t.c_oflag = OPOST | ONOCR;
    fresh.set_termios(t);
    assert_eq!(fresh.write(b"\rx\r\r"), b"x\r");
    t.c_oflag = 0;
    ld.set_termios(t);
    assert_eq!(ld.write(b"a\n"), b"a\n");
}

#[test]
fn window_size() {
    let mut ld = LineDiscipline::new();
    assert_eq!((ld.winsize().ws_row, ld.winsize().ws_col), (25, 80));
    let w = Winsize {
        ws_row: 50,
        ws_col: 132,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    assert!(ld.set_winsize(w));
    assert!(
        !ld.set_winsize(w),
        "the same size is no change (no SIGWINCH)"
    );
    assert_eq!(ld.winsize(), w);
}

#[test]
fn the_input_queue_is_bounded() {
    let mut ld = LineDiscipline::new();
    let fx = ld.receive(&vec![b'x'; 5000]);
    assert!(
        fx.echo.ends_with(&[7]),
        "IMAXBEL rings when the line is full"
    );
    ld.receive(b"\r");
    match ld.read(10_000, false) {
        ReadResult::Data(d) => assert_eq!(d.len(), N_TTY_BUF_SIZE),
        other => panic!("{other:?}"),
    }
    let mut ld = raw(1, 0);
    ld.receive(&vec![b'y'; 5000]);
    match ld.read(10_000, false) {
        ReadResult::Data(d) => assert_eq!(d.len(), N_TTY_BUF_SIZE - 1),
        other => panic!("{other:?}"),
    }
    // Every byte value in every mode: no panic.
    for mode in [Termios::sane(), {
        let mut t = Termios::sane();
        t.make_raw();
        t
    }] {
        let mut ld = LineDiscipline::new();
        ld.set_termios(mode);
        let all: Vec<u8> = (0..=255u8).cycle().take(10_000).collect();
        ld.receive(&all);
        let _ = ld.read(usize::MAX, true);
    }
}
