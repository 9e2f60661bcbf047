//! `stty`'s logic: its operands applied to a terminal's settings, and
//! the settings printed as GNU coreutils' `stty -a` prints them.
//!
//! The settings are Linux's `struct termios` flags and control
//! characters ([`Modes`]); the program reads them with `tcgetattr`,
//! applies the operands with [`apply`] and writes them back with
//! `tcsetattr` only when something changed.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

/// The number of control characters (`NCCS`, Linux's kernel termios).
pub const NCCS: usize = 19;

/// A terminal's settings: the four flag words and the control characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Modes {
    pub iflag: u32,
    pub oflag: u32,
    pub cflag: u32,
    pub lflag: u32,
    pub cc: [u8; NCCS],
}

/// Which flag word a setting lives in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Word {
    I,
    O,
    C,
    L,
}

/// The boolean settings `stty` knows, with their bits (Linux's values),
/// in the order `stty -a` prints them.
const FLAGS: &[(&str, Word, u32)] = &[
    ("parenb", Word::C, 0o400),
    ("parodd", Word::C, 0o1000),
    ("hupcl", Word::C, 0o2000),
    ("cstopb", Word::C, 0o100),
    ("cread", Word::C, 0o200),
    ("clocal", Word::C, 0o4000),
    ("ignbrk", Word::I, 0o1),
    ("brkint", Word::I, 0o2),
    ("ignpar", Word::I, 0o4),
    ("parmrk", Word::I, 0o10),
    ("inpck", Word::I, 0o20),
    ("istrip", Word::I, 0o40),
    ("inlcr", Word::I, 0o100),
    ("igncr", Word::I, 0o200),
    ("icrnl", Word::I, 0o400),
    ("ixon", Word::I, 0o2000),
    ("ixoff", Word::I, 0o10000),
    ("iuclc", Word::I, 0o1000),
    ("ixany", Word::I, 0o4000),
    ("imaxbel", Word::I, 0o20000),
    ("iutf8", Word::I, 0o40000),
    ("opost", Word::O, 0o1),
    ("olcuc", Word::O, 0o2),
    ("ocrnl", Word::O, 0o10),
    ("onlcr", Word::O, 0o4),
    ("onocr", Word::O, 0o20),
    ("onlret", Word::O, 0o40),
    ("ofill", Word::O, 0o100),
    ("ofdel", Word::O, 0o200),
    ("isig", Word::L, 0o1),
    ("icanon", Word::L, 0o2),
    ("iexten", Word::L, 0o100000),
    ("echo", Word::L, 0o10),
    ("echoe", Word::L, 0o20),
    ("echok", Word::L, 0o40),
    ("echonl", Word::L, 0o100),
    ("noflsh", Word::L, 0o200),
    ("xcase", Word::L, 0o4),
    ("tostop", Word::L, 0o400),
    ("echoprt", Word::L, 0o2000),
    ("echoctl", Word::L, 0o1000),
    ("echoke", Word::L, 0o4000),
];

/// The control characters `stty` names, with their `c_cc` indices, in
/// the order `stty -a` prints them.
const CHARS: &[(&str, usize)] = &[
    ("intr", 0),
    ("quit", 1),
    ("erase", 2),
    ("kill", 3),
    ("eof", 4),
    ("eol", 11),
    ("eol2", 16),
    ("swtch", 7),
    ("start", 8),
    ("stop", 9),
    ("susp", 10),
    ("rprnt", 12),
    ("werase", 14),
    ("lnext", 15),
    ("discard", 13),
];

const VTIME: usize = 5;
const VMIN: usize = 6;
/// `CSIZE` and `CS8` in `c_cflag`.
const CSIZE: u32 = 0o60;
const CS8: u32 = 0o60;

/// What the operands asked for besides changed settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Request {
    /// `rows N` / `cols N` (`columns N`): the window size to set.
    pub rows: Option<u16>,
    pub cols: Option<u16>,
    /// `size`: print "rows cols".
    pub print_size: bool,
}

/// Why an operand was refused (GNU's wording).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    Invalid(String),
    MissingArgument(String),
    InvalidNumber(String),
}

impl core::fmt::Display for Error {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Error::Invalid(a) => write!(f, "invalid argument '{a}'"),
            Error::MissingArgument(a) => write!(f, "missing argument to '{a}'"),
            Error::InvalidNumber(n) => write!(f, "invalid integer argument: '{n}'"),
        }
    }
}

impl Modes {
    fn word(&mut self, w: Word) -> &mut u32 {
        match w {
            Word::I => &mut self.iflag,
            Word::O => &mut self.oflag,
            Word::C => &mut self.cflag,
            Word::L => &mut self.lflag,
        }
    }

    fn get(&self, w: Word) -> u32 {
        match w {
            Word::I => self.iflag,
            Word::O => self.oflag,
            Word::C => self.cflag,
            Word::L => self.lflag,
        }
    }

    fn set(&mut self, name: &str, on: bool) {
        if let Some(&(_, w, bit)) = FLAGS.iter().find(|f| f.0 == name) {
            let word = self.word(w);
            if on {
                *word |= bit;
            } else {
                *word &= !bit;
            }
        }
    }

    /// `sane`: what GNU `stty sane` sets (the control characters to
    /// their defaults, cooked input with echo, output processing).
    fn sane(&mut self) {
        for (name, on) in [
            ("cread", true),
            ("ignbrk", false),
            ("brkint", true),
            ("inlcr", false),
            ("igncr", false),
            ("icrnl", true),
            ("ixoff", false),
            ("iuclc", false),
            ("ixany", false),
            ("imaxbel", true),
            ("opost", true),
            ("olcuc", false),
            ("ocrnl", false),
            ("onlcr", true),
            ("onocr", false),
            ("onlret", false),
            ("ofill", false),
            ("ofdel", false),
            ("isig", true),
            ("icanon", true),
            ("iexten", true),
            ("echo", true),
            ("echoe", true),
            ("echok", true),
            ("echonl", false),
            ("noflsh", false),
            ("xcase", false),
            ("tostop", false),
            ("echoprt", false),
            ("echoctl", true),
            ("echoke", true),
        ] {
            self.set(name, on);
        }
        for (index, value) in [
            (0, 3),   // intr ^C
            (1, 28),  // quit ^\
            (2, 127), // erase ^?
            (3, 21),  // kill ^U
            (4, 4),   // eof ^D
            (8, 17),  // start ^Q
            (9, 19),  // stop ^S
            (10, 26), // susp ^Z
            (12, 18), // rprnt ^R
            (14, 23), // werase ^W
            (15, 22), // lnext ^V
            (13, 15), // discard ^O
        ] {
            self.cc[index] = value;
        }
        self.cc[VMIN] = 1;
        self.cc[VTIME] = 0;
    }

    /// `raw`: no input or output processing, reads of one byte.
    fn raw(&mut self) {
        for name in [
            "ignbrk", "brkint", "ignpar", "parmrk", "inpck", "istrip", "inlcr", "igncr", "icrnl",
            "ixon", "ixoff", "iuclc", "ixany", "imaxbel", "opost", "isig", "icanon", "xcase",
        ] {
            self.set(name, false);
        }
        self.cflag = (self.cflag & !CSIZE) | CS8;
        self.set("parenb", false);
        self.cc[VMIN] = 1;
        self.cc[VTIME] = 0;
    }

    /// `-raw` (`cooked`): input and output processed again.
    fn cooked(&mut self) {
        for name in [
            "brkint", "ignpar", "istrip", "icrnl", "ixon", "opost", "isig", "icanon",
        ] {
            self.set(name, true);
        }
    }
}

fn number<T: core::str::FromStr>(s: &str) -> Result<T, Error> {
    s.parse().map_err(|_| Error::InvalidNumber(s.to_string()))
}

/// A control character's value from GNU's notation: `^X`, `^?`, `^-` or
/// `undef` (none), or a single character.
fn control_char(s: &str) -> Result<u8, Error> {
    match s.as_bytes() {
        b"undef" | b"^-" => Ok(0),
        b"^?" => Ok(127),
        [b'^', c] if c.is_ascii_alphabetic() || b"@[\\]^_".contains(c) => {
            Ok(c.to_ascii_uppercase() & 0x1f)
        }
        [c] => Ok(*c),
        _ => Err(Error::Invalid(s.to_string())),
    }
}

/// Applies the operands to `modes`; returns what else they asked for.
pub fn apply(modes: &mut Modes, args: &[&str]) -> Result<Request, Error> {
    let mut request = Request::default();
    let mut i = 0;
    while i < args.len() {
        let arg = args[i];
        let mut value = || {
            i += 1;
            args.get(i)
                .copied()
                .ok_or_else(|| Error::MissingArgument(arg.to_string()))
        };
        match arg {
            "size" => request.print_size = true,
            "sane" => modes.sane(),
            "raw" => modes.raw(),
            "-raw" | "cooked" => modes.cooked(),
            "rows" => request.rows = Some(number(value()?)?),
            "cols" | "columns" => request.cols = Some(number(value()?)?),
            "min" => modes.cc[VMIN] = number(value()?)?,
            "time" => modes.cc[VTIME] = number(value()?)?,
            _ => {
                let (name, on) = match arg.strip_prefix('-') {
                    Some(name) => (name, false),
                    None => (arg, true),
                };
                if FLAGS.iter().any(|f| f.0 == name) {
                    modes.set(name, on);
                } else if let (true, Some(&(_, index))) = (on, CHARS.iter().find(|c| c.0 == name)) {
                    modes.cc[index] = control_char(value()?)?;
                } else {
                    return Err(Error::Invalid(arg.to_string()));
                }
            }
        }
        i += 1;
    }
    Ok(request)
}

/// A control character as `stty -a` shows it: `^C`, `^?`, `<undef>`.
fn show_char(c: u8) -> String {
    match c {
        0 => "<undef>".to_string(),
        127 => "^?".to_string(),
        c if c < 32 => format!("^{}", (c + b'@') as char),
        c => (c as char).to_string(),
    }
}

/// `stty -a`'s text for `modes` in a window of `rows` × `cols`: the
/// size line, the control characters, then the flags by word, each
/// line at most 72 columns as GNU folds them.
pub fn describe(modes: &Modes, rows: u16, cols: u16) -> String {
    let mut out = format!("speed 38400 baud; rows {rows}; columns {cols}; line = 0;\n");
    let mut items: Vec<String> = CHARS
        .iter()
        .map(|&(name, i)| format!("{name} = {};", show_char(modes.cc[i])))
        .collect();
    items.push(format!("min = {};", modes.cc[VMIN]));
    items.push(format!("time = {};", modes.cc[VTIME]));
    fold(&mut out, &items);
    for word in [Word::C, Word::I, Word::O, Word::L] {
        let mut items: Vec<String> = Vec::new();
        if word == Word::C {
            items.push(
                if modes.cflag & CSIZE == CS8 {
                    "cs8"
                } else {
                    "cs7"
                }
                .to_string(),
            );
        }
        for &(name, w, bit) in FLAGS.iter().filter(|f| f.1 == word) {
            let on = modes.get(w) & bit != 0;
            items.push(if on {
                name.to_string()
            } else {
                format!("-{name}")
            });
        }
        fold(&mut out, &items);
    }
    out
}

/// Appends `items` separated by spaces, starting a new line before one
/// that would pass column 72.
fn fold(out: &mut String, items: &[String]) {
    let mut column = 0;
    for item in items {
        if column > 0 && column + 1 + item.len() > 72 {
            out.push('\n');
            column = 0;
        }
        if column > 0 {
            out.push(' ');
            column += 1;
        }
        out.push_str(item);
        column += item.len();
    }
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What Linux's tty driver starts a terminal with (`tty_std_termios`).
    fn linux_default() -> Modes {
        let mut cc = [0u8; NCCS];
        cc[..17].copy_from_slice(&[3, 28, 127, 21, 4, 0, 1, 0, 17, 19, 26, 0, 18, 15, 23, 22, 0]);
        Modes {
            iflag: 0o400 | 0o2000,
            oflag: 0o1 | 0o4,
            cflag: 0o60 | 0o200 | 0o17,
            lflag: 0o1 | 0o2 | 0o10 | 0o20 | 0o40 | 0o1000 | 0o4000 | 0o100000,
            cc,
        }
    }

    #[test]
    fn flags_turn_on_and_off() {
        let mut m = linux_default();
        assert_eq!(apply(&mut m, &["-echo", "tostop"]), Ok(Request::default()));
        assert_eq!(m.lflag & 0o10, 0);
        assert_eq!(m.lflag & 0o400, 0o400);
        apply(&mut m, &["echo", "-tostop", "-onlcr"]).unwrap();
        assert_eq!(m.lflag & 0o410, 0o10);
        assert_eq!(m.oflag & 0o4, 0);
    }

    #[test]
    fn raw_and_sane_round_trip() {
        let start = linux_default();
        let mut m = start;
        apply(&mut m, &["raw"]).unwrap();
        assert_eq!(m.lflag & 0o3, 0, "no isig, no icanon");
        assert_eq!(m.iflag & 0o400, 0, "no icrnl");
        assert_eq!(m.oflag & 0o1, 0, "no opost");
        assert_eq!((m.cc[VMIN], m.cc[VTIME]), (1, 0));
        apply(&mut m, &["sane"]).unwrap();
        assert_eq!(m.lflag & 0o3, 0o3);
        assert_eq!(m.iflag & 0o400, 0o400);
        assert_eq!(m.oflag & 0o5, 0o5);
        assert_eq!(m.cc[0], 3);
        apply(&mut m, &["raw", "-raw"]).unwrap();
        assert_eq!(m.lflag & 0o3, 0o3, "cooked again");
    }

    #[test]
    fn numbers_characters_and_size() {
        let mut m = linux_default();
        let r = apply(
            &mut m,
            &["min", "0", "time", "5", "intr", "^X", "erase", "^H"],
        )
        .unwrap();
        assert_eq!(r, Request::default());
        assert_eq!((m.cc[VMIN], m.cc[VTIME]), (0, 5));
        assert_eq!((m.cc[0], m.cc[2]), (24, 8));
        apply(&mut m, &["eof", "undef", "quit", "^?"]).unwrap();
        assert_eq!((m.cc[4], m.cc[1]), (0, 127));
        let r = apply(&mut m, &["rows", "40", "columns", "100", "size"]).unwrap();
        assert_eq!(
            r,
            Request {
                rows: Some(40),
                cols: Some(100),
                print_size: true
            }
        );
    }

    #[test]
    fn bad_operands_are_refused_by_name() {
        let mut m = linux_default();
        let before = m;
        assert_eq!(
            apply(&mut m, &["frobnicate"]),
            Err(Error::Invalid("frobnicate".into()))
        );
        assert_eq!(
            apply(&mut m, &["min"]),
            Err(Error::MissingArgument("min".into()))
        );
        assert_eq!(
            apply(&mut m, &["rows", "-3"]),
            Err(Error::InvalidNumber("-3".into()))
        );
        assert_eq!(
            apply(&mut m, &["time", "300"]),
            Err(Error::InvalidNumber("300".into()))
        );
        assert_eq!(
            apply(&mut m, &["intr", "abc"]),
            Err(Error::Invalid("abc".into()))
        );
        assert_eq!(
            apply(&mut m, &["-intr"]),
            Err(Error::Invalid("-intr".into()))
        );
        assert_eq!(
            m, before,
            "nothing applied before the error was kept by the caller"
        );
    }

    #[test]
    fn describe_reads_like_gnu_stty() {
        let text = describe(&linux_default(), 50, 182);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "speed 38400 baud; rows 50; columns 182; line = 0;"
        );
        assert!(lines[1].starts_with("intr = ^C; quit = ^\\; erase = ^?; kill = ^U; eof = ^D;"));
        assert!(text.contains("min = 1; time = 0;"));
        assert!(text.contains("-parenb -parodd"));
        assert!(text.contains(" icrnl ixon"));
        assert!(text.contains("opost -olcuc"));
        assert!(text.contains("isig icanon iexten echo echoe echok -echonl"));
        assert!(text.contains("-tostop"));
        assert!(lines.iter().all(|l| l.len() <= 72), "{text}");
    }
}
