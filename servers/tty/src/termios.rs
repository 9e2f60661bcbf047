//! Linux's terminal attributes, bit for bit: `struct termios` as the
//! x86_64 kernel lays it out for `TCGETS`/`TCSETS` (36 bytes; glibc's
//! user-space struct is larger and converts), its flag values and `c_cc`
//! indices from `asm-generic/termbits.h`, `struct winsize`, and the
//! defaults of `stty sane`. A program built for Linux sees the same bits.

/// The number of control characters in the kernel's `c_cc`.
pub const NCCS: usize = 19;

// c_cc indices.
pub const VINTR: usize = 0;
pub const VQUIT: usize = 1;
pub const VERASE: usize = 2;
pub const VKILL: usize = 3;
pub const VEOF: usize = 4;
pub const VTIME: usize = 5;
pub const VMIN: usize = 6;
pub const VSWTC: usize = 7;
pub const VSTART: usize = 8;
pub const VSTOP: usize = 9;
pub const VSUSP: usize = 10;
pub const VEOL: usize = 11;
pub const VREPRINT: usize = 12;
pub const VDISCARD: usize = 13;
pub const VWERASE: usize = 14;
pub const VLNEXT: usize = 15;
pub const VEOL2: usize = 16;

// c_iflag bits.
pub const IGNBRK: u32 = 0x001;
pub const BRKINT: u32 = 0x002;
pub const IGNPAR: u32 = 0x004;
pub const PARMRK: u32 = 0x008;
pub const INPCK: u32 = 0x010;
pub const ISTRIP: u32 = 0x020;
pub const INLCR: u32 = 0x040;
pub const IGNCR: u32 = 0x080;
pub const ICRNL: u32 = 0x100;
pub const IUCLC: u32 = 0x200;
pub const IXON: u32 = 0x400;
pub const IXANY: u32 = 0x800;
pub const IXOFF: u32 = 0x1000;
pub const IMAXBEL: u32 = 0x2000;
pub const IUTF8: u32 = 0x4000;

// c_oflag bits.
pub const OPOST: u32 = 0x01;
pub const OLCUC: u32 = 0x02;
pub const ONLCR: u32 = 0x04;
pub const OCRNL: u32 = 0x08;
pub const ONOCR: u32 = 0x10;
pub const ONLRET: u32 = 0x20;
pub const OFILL: u32 = 0x40;
pub const OFDEL: u32 = 0x80;
pub const TABDLY: u32 = 0x1800;
/// `TAB3`: expand tabs to spaces on output.
pub const XTABS: u32 = 0x1800;

// c_cflag bits.
pub const CBAUD: u32 = 0x100f;
pub const B38400: u32 = 0x000f;
pub const CSIZE: u32 = 0x30;
pub const CS8: u32 = 0x30;
pub const CSTOPB: u32 = 0x40;
pub const CREAD: u32 = 0x80;
pub const PARENB: u32 = 0x100;
pub const PARODD: u32 = 0x200;
pub const HUPCL: u32 = 0x400;
pub const CLOCAL: u32 = 0x800;

// c_lflag bits.
pub const ISIG: u32 = 0x00001;
pub const ICANON: u32 = 0x00002;
pub const XCASE: u32 = 0x00004;
pub const ECHO: u32 = 0x00008;
pub const ECHOE: u32 = 0x00010;
pub const ECHOK: u32 = 0x00020;
pub const ECHONL: u32 = 0x00040;
pub const NOFLSH: u32 = 0x00080;
pub const TOSTOP: u32 = 0x00100;
pub const ECHOCTL: u32 = 0x00200;
pub const ECHOPRT: u32 = 0x00400;
pub const ECHOKE: u32 = 0x00800;
pub const FLUSHO: u32 = 0x01000;
pub const PENDIN: u32 = 0x04000;
pub const IEXTEN: u32 = 0x08000;
pub const EXTPROC: u32 = 0x10000;

// The ioctl requests the tty server answers (x86_64 numbers).
pub const TCGETS: u32 = 0x5401;
pub const TCSETS: u32 = 0x5402;
pub const TCSETSW: u32 = 0x5403;
pub const TCSETSF: u32 = 0x5404;
pub const TCFLSH: u32 = 0x540b;
pub const TIOCGPGRP: u32 = 0x540f;
pub const TIOCSPGRP: u32 = 0x5410;
pub const TIOCGWINSZ: u32 = 0x5413;
pub const TIOCSWINSZ: u32 = 0x5414;

/// The kernel's `struct termios` (`TCGETS`/`TCSETS`).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Termios {
    pub c_iflag: u32,
    pub c_oflag: u32,
    pub c_cflag: u32,
    pub c_lflag: u32,
    pub c_line: u8,
    pub c_cc: [u8; NCCS],
}

/// The size of [`Termios`] on the wire.
pub const TERMIOS_SIZE: usize = 36;
const _: () = assert!(core::mem::size_of::<Termios>() == TERMIOS_SIZE);

/// `struct winsize` (`TIOCGWINSZ`/`TIOCSWINSZ`).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Winsize {
    pub ws_row: u16,
    pub ws_col: u16,
    pub ws_xpixel: u16,
    pub ws_ypixel: u16,
}

const _: () = assert!(core::mem::size_of::<Winsize>() == 8);

/// A buffer of the wrong size for the structure it should hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BadLength {
    pub expected: usize,
    pub got: usize,
}

/// Linux's `INIT_C_CC`: ^C ^\ DEL ^U ^D, TIME 0, MIN 1, ^Q ^S ^Z, ^R ^O ^W ^V.
const INIT_C_CC: [u8; NCCS] = [
    0x03, 0x1c, 0x7f, 0x15, 0x04, 0, 1, 0, 0x11, 0x13, 0x1a, 0, 0x12, 0x0f, 0x17, 0x16, 0, 0, 0,
];

impl Termios {
    /// What `stty sane` sets: Linux's `tty_std_termios` plus `brkint`
    /// and `imaxbel`, the default control characters.
    pub const fn sane() -> Termios {
        Termios {
            c_iflag: BRKINT | ICRNL | IXON | IMAXBEL,
            c_oflag: OPOST | ONLCR,
            c_cflag: B38400 | CS8 | CREAD | HUPCL,
            c_lflag: ISIG | ICANON | ECHO | ECHOE | ECHOK | ECHOCTL | ECHOKE | IEXTEN,
            c_line: 0,
            c_cc: INIT_C_CC,
        }
    }

    /// `cfmakeraw`: no input or output processing, no echo, no signals,
    /// byte-at-a-time reads (MIN 1, TIME 0).
    pub fn make_raw(&mut self) {
        self.c_iflag &= !(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR | ICRNL | IXON);
        self.c_oflag &= !OPOST;
        self.c_lflag &= !(ECHO | ECHONL | ICANON | ISIG | IEXTEN);
        self.c_cflag = (self.c_cflag & !(CSIZE | PARENB)) | CS8;
        self.c_cc[VMIN] = 1;
        self.c_cc[VTIME] = 0;
    }

    /// The structure as the kernel copies it to user memory.
    pub fn to_bytes(&self) -> [u8; TERMIOS_SIZE] {
        let mut b = [0u8; TERMIOS_SIZE];
        for (i, v) in [self.c_iflag, self.c_oflag, self.c_cflag, self.c_lflag]
            .iter()
            .enumerate()
        {
            b[i * 4..i * 4 + 4].copy_from_slice(&v.to_le_bytes());
        }
        b[16] = self.c_line;
        b[17..].copy_from_slice(&self.c_cc);
        b
    }

    /// Reads the structure from user memory; fails on a wrong length.
    pub fn from_bytes(b: &[u8]) -> Result<Termios, BadLength> {
        let b: &[u8; TERMIOS_SIZE] = b.try_into().map_err(|_| BadLength {
            expected: TERMIOS_SIZE,
            got: b.len(),
        })?;
        let word = |i: usize| u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        let mut c_cc = [0u8; NCCS];
        c_cc.copy_from_slice(&b[17..]);
        Ok(Termios {
            c_iflag: word(0),
            c_oflag: word(4),
            c_cflag: word(8),
            c_lflag: word(12),
            c_line: b[16],
            c_cc,
        })
    }

    pub(crate) fn iflag(&self, f: u32) -> bool {
        self.c_iflag & f != 0
    }

    pub(crate) fn oflag(&self, f: u32) -> bool {
        self.c_oflag & f != 0
    }

    pub(crate) fn lflag(&self, f: u32) -> bool {
        self.c_lflag & f != 0
    }

    /// True if `c` is the (enabled) control character at index `i`;
    /// `_POSIX_VDISABLE` (0) disables one.
    pub(crate) fn is_cc(&self, i: usize, c: u8) -> bool {
        self.c_cc[i] != 0 && self.c_cc[i] == c
    }
}

impl Default for Termios {
    fn default() -> Self {
        Termios::sane()
    }
}

impl Winsize {
    pub fn to_bytes(&self) -> [u8; 8] {
        let mut b = [0u8; 8];
        for (i, v) in [self.ws_row, self.ws_col, self.ws_xpixel, self.ws_ypixel]
            .iter()
            .enumerate()
        {
            b[i * 2..i * 2 + 2].copy_from_slice(&v.to_le_bytes());
        }
        b
    }

    /// Reads the structure from user memory; fails on a wrong length.
    pub fn from_bytes(b: &[u8]) -> Result<Winsize, BadLength> {
        if b.len() != 8 {
            return Err(BadLength {
                expected: 8,
                got: b.len(),
            });
        }
        let half = |i: usize| u16::from_le_bytes([b[i], b[i + 1]]);
        Ok(Winsize {
            ws_row: half(0),
            ws_col: half(2),
            ws_xpixel: half(4),
            ws_ypixel: half(6),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sane_matches_linux() {
        let t = Termios::sane();
        // As `stty -g` prints a fresh Linux tty after `stty sane`.
        assert_eq!(t.c_iflag, 0x2502);
        assert_eq!(t.c_oflag, 0x5);
        assert_eq!(t.c_lflag, 0x8a3b);
        assert_eq!(t.c_cc[VINTR], 3);
        assert_eq!(t.c_cc[VERASE], 0x7f);
        assert_eq!(t.c_cc[VMIN], 1);
        assert_eq!(t.c_cc[VWERASE], 0x17);
    }

    #[test]
    fn round_trips_and_rejects_bad_lengths() {
        let mut t = Termios::sane();
        t.make_raw();
        assert_eq!(Termios::from_bytes(&t.to_bytes()), Ok(t));
        assert_eq!(&t.to_bytes()[..4], &IMAXBEL.to_le_bytes());
        assert_eq!(
            Termios::from_bytes(&[0; 35]),
            Err(BadLength {
                expected: 36,
                got: 35
            })
        );
        let w = Winsize {
            ws_row: 25,
            ws_col: 80,
            ws_xpixel: 640,
            ws_ypixel: 400,
        };
        assert_eq!(Winsize::from_bytes(&w.to_bytes()), Ok(w));
        assert!(Winsize::from_bytes(&[1, 2, 3]).is_err());
    }
}
