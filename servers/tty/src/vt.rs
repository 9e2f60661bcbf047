//! The escape-sequence parser of the framebuffer console: bytes in,
//! [`Action`]s out, after the state machine of DEC's VT500 series as
//! Paul Williams charted it (ground, escape, CSI entry/parameter/ignore,
//! OSC and DCS strings). Printable text is decoded as UTF-8 (malformed
//! bytes become U+FFFD).
//!
//! Every state is bounded: at most [`MAX_PARAMS`] parameters, each
//! saturating at 65535; OSC and DCS strings are skipped, not stored. CAN
//! and SUB abort a sequence and ESC restarts one, as on a real VT, so no
//! input can wedge the parser or make it panic.

/// The most parameters a CSI sequence keeps (more are ignored).
pub const MAX_PARAMS: usize = 16;

/// The numeric parameters of a CSI sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Params {
    values: [u16; MAX_PARAMS],
    len: usize,
}

impl Params {
    /// Parameter `i`, or `default` if absent or zero (VT semantics:
    /// `ESC [0A` moves one line, like `ESC [A`).
    pub fn get_or(&self, i: usize, default: u16) -> u16 {
        match self.values[..self.len].get(i) {
            Some(&v) if v != 0 => v,
            _ => default,
        }
    }

    /// Parameter `i` as written (0 if absent).
    pub fn raw(&self, i: usize) -> u16 {
        self.values[..self.len].get(i).copied().unwrap_or(0)
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Builds parameters from a list (tests and callers).
    pub fn from_slice(values: &[u16]) -> Params {
        let mut p = Params::default();
        for &v in values.iter().take(MAX_PARAMS) {
            p.values[p.len] = v;
            p.len += 1;
        }
        p
    }
}

/// What the parser recognised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// A character to draw.
    Print(char),
    /// A C0 control to execute (BS, HT, LF, VT, FF, CR, BEL, ...).
    Control(u8),
    /// `ESC [ private? params intermediate? final`.
    Csi {
        private: Option<u8>,
        params: Params,
        intermediate: Option<u8>,
        final_byte: u8,
    },
    /// `ESC intermediate? final` (`ESC 7`, `ESC c`, `ESC ( B`).
    Esc {
        intermediate: Option<u8>,
        final_byte: u8,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Ground,
    Escape,
    EscapeIntermediate,
    CsiParam,
    CsiIgnore,
    /// OSC or DCS: skipped up to BEL or `ESC \`.
    String,
    /// ESC seen inside a string: `\` ends it.
    StringEscape,
}

/// The parser's state between calls.
#[derive(Debug, Clone)]
pub struct Parser {
    state: State,
    private: Option<u8>,
    intermediate: Option<u8>,
    params: Params,
    /// More than [`MAX_PARAMS`] parameters came: the rest are ignored.
    params_full: bool,
    utf8: [u8; 4],
    utf8_len: usize,
    utf8_need: usize,
}

impl Default for Parser {
    fn default() -> Self {
        Self::new()
    }
}

impl Parser {
    pub fn new() -> Self {
        Parser {
            state: State::Ground,
            private: None,
            intermediate: None,
            params: Params::default(),
            params_full: false,
            utf8: [0; 4],
            utf8_len: 0,
            utf8_need: 0,
        }
    }

    fn clear(&mut self) {
        self.private = None;
        self.intermediate = None;
        self.params = Params::default();
        self.params_full = false;
    }

    /// Feeds one byte; calls `emit` for each action it completes (a
    /// malformed UTF-8 sequence can complete two).
    pub fn advance(&mut self, b: u8, emit: &mut impl FnMut(Action)) {
        // Anywhere: CAN/SUB abort, ESC restarts (except inside a string,
        // where ESC may begin the terminator).
        match b {
            0x18 | 0x1a => {
                self.state = State::Ground;
                self.utf8_need = 0;
                return;
            }
            0x1b if !matches!(self.state, State::String | State::StringEscape) => {
                self.flush_utf8(emit);
                self.clear();
                self.state = State::Escape;
                return;
            }
            _ => {}
        }
        match self.state {
            State::Ground => self.ground(b, emit),
            State::Escape => self.escape(b, emit),
            State::EscapeIntermediate => match b {
                0x20..=0x2f => {}
                0x30..=0x7e => {
                    let intermediate = self.intermediate;
                    emit(Action::Esc {
                        intermediate,
                        final_byte: b,
                    });
                    self.state = State::Ground;
                }
                _ => self.control_or_ignore(b, emit),
            },
            State::CsiParam => self.csi(b, emit),
            State::CsiIgnore => match b {
                0x40..=0x7e => self.state = State::Ground,
                _ => self.control_or_ignore(b, emit),
            },
            State::String => match b {
                0x07 => self.state = State::Ground,
                0x1b => self.state = State::StringEscape,
                _ => {}
            },
            State::StringEscape => {
                self.state = if b == b'\\' {
                    State::Ground
                } else {
                    State::String
                };
            }
        }
    }

    /// C0 controls execute even in the middle of a sequence.
    fn control_or_ignore(&mut self, b: u8, emit: &mut impl FnMut(Action)) {
        if b < 0x20 {
            emit(Action::Control(b));
        }
    }

    fn escape(&mut self, b: u8, emit: &mut impl FnMut(Action)) {
        match b {
            b'[' => self.state = State::CsiParam,
            b']' | b'P' | b'X' | b'^' | b'_' => self.state = State::String,
            0x20..=0x2f => {
                self.intermediate = Some(b);
                self.state = State::EscapeIntermediate;
            }
            0x30..=0x7e => {
                emit(Action::Esc {
                    intermediate: None,
                    final_byte: b,
                });
                self.state = State::Ground;
            }
            _ => self.control_or_ignore(b, emit),
        }
    }

    fn csi(&mut self, b: u8, emit: &mut impl FnMut(Action)) {
        match b {
            b'0'..=b'9' => {
                if self.params.len == 0 {
                    self.params.len = 1;
                }
                if !self.params_full {
                    let v = &mut self.params.values[self.params.len - 1];
                    *v = v.saturating_mul(10).saturating_add((b - b'0') as u16);
                }
            }
            b';' | b':' => {
                if self.params.len == 0 {
                    self.params.len = 1;
                }
                if self.params.len < MAX_PARAMS {
                    self.params.len += 1;
                } else {
                    self.params_full = true;
                }
            }
            b'<'..=b'?' if self.params.len == 0 && self.private.is_none() => {
                self.private = Some(b);
            }
            0x20..=0x2f => self.intermediate = Some(b),
            0x40..=0x7e => {
                let (private, params, intermediate) =
                    (self.private, self.params, self.intermediate);
                emit(Action::Csi {
                    private,
                    params,
                    intermediate,
                    final_byte: b,
                });
                self.state = State::Ground;
            }
            0x3c..=0x3f => self.state = State::CsiIgnore,
            _ => self.control_or_ignore(b, emit),
        }
    }

    fn ground(&mut self, b: u8, emit: &mut impl FnMut(Action)) {
        if self.utf8_need > 0 {
            if b & 0xc0 == 0x80 {
                self.utf8[self.utf8_len] = b;
                self.utf8_len += 1;
                if self.utf8_len == self.utf8_need {
                    let s = core::str::from_utf8(&self.utf8[..self.utf8_len]);
                    let c = s.ok().and_then(|s| s.chars().next()).unwrap_or('\u{fffd}');
                    self.utf8_need = 0;
                    emit(Action::Print(c));
                }
                return;
            }
            // A sequence cut short: one replacement character, then the byte.
            self.utf8_need = 0;
            emit(Action::Print('\u{fffd}'));
        }
        match b {
            0x00..=0x1f => emit(Action::Control(b)),
            0x20..=0x7e => emit(Action::Print(b as char)),
            0x7f => {}
            0xc2..=0xdf => self.start_utf8(b, 2),
            0xe0..=0xef => self.start_utf8(b, 3),
            0xf0..=0xf4 => self.start_utf8(b, 4),
            _ => emit(Action::Print('\u{fffd}')),
        }
    }

    fn start_utf8(&mut self, b: u8, need: usize) {
        self.utf8[0] = b;
        self.utf8_len = 1;
        self.utf8_need = need;
    }

    fn flush_utf8(&mut self, emit: &mut impl FnMut(Action)) {
        if self.utf8_need > 0 {
            self.utf8_need = 0;
            emit(Action::Print('\u{fffd}'));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    fn parse(bytes: &[u8]) -> Vec<Action> {
        let mut p = Parser::new();
        let mut out = Vec::new();
        for &b in bytes {
            p.advance(b, &mut |a| out.push(a));
        }
        out
    }

    fn csi(private: Option<u8>, params: &[u16], final_byte: u8) -> Action {
        Action::Csi {
            private,
            params: Params::from_slice(params),
            intermediate: None,
            final_byte,
        }
    }

    #[test]
    fn sequences() {
        assert_eq!(parse(b"a\n"), [Action::Print('a'), Action::Control(b'\n')]);
        assert_eq!(parse(b"\x1b[A"), [csi(None, &[], b'A')]);
        assert_eq!(parse(b"\x1b[12;34H"), [csi(None, &[12, 34], b'H')]);
        assert_eq!(parse(b"\x1b[;5H"), [csi(None, &[0, 5], b'H')]);
        assert_eq!(parse(b"\x1b[?25l"), [csi(Some(b'?'), &[25], b'l')]);
        assert_eq!(parse(b"\x1b[1;31;44m"), [csi(None, &[1, 31, 44], b'm')]);
        assert_eq!(
            parse(b"\x1b7"),
            [Action::Esc {
                intermediate: None,
                final_byte: b'7'
            }]
        );
        assert_eq!(
            parse(b"\x1b(B"),
            [Action::Esc {
                intermediate: Some(b'('),
                final_byte: b'B'
            }]
        );
        assert_eq!(parse(b"\x1b]0;title\x07x"), [Action::Print('x')]);
        assert_eq!(parse(b"\x1b]0;title\x1b\\x"), [Action::Print('x')]);
        assert_eq!(parse(b"\x1bP junk \x1b\\y"), [Action::Print('y')]);
        assert_eq!(
            parse("é✓".as_bytes()),
            [Action::Print('é'), Action::Print('✓')]
        );
    }

    #[test]
    fn malformed_input_is_contained() {
        // CAN aborts; ESC restarts; controls inside a CSI still execute.
        assert_eq!(parse(b"\x1b[12\x18A"), [Action::Print('A')]);
        assert_eq!(parse(b"\x1b[12\x1b[3B"), [csi(None, &[3], b'B')]);
        assert_eq!(
            parse(b"\x1b[1\n2C"),
            [Action::Control(b'\n'), csi(None, &[12], b'C')]
        );
        assert_eq!(parse(b"\x1b[99999999999A"), [csi(None, &[65535], b'A')]);
        assert_eq!(parse(b"\x1b[1?2hX"), [Action::Print('X')]);
        assert_eq!(
            parse(b"\xff\xc3x"),
            [
                Action::Print('\u{fffd}'),
                Action::Print('\u{fffd}'),
                Action::Print('x')
            ]
        );
        let many: Vec<u8> = b"\x1b["
            .iter()
            .chain(b"1;".repeat(100).iter())
            .chain(b"m")
            .copied()
            .collect();
        let acts = parse(&many);
        assert!(matches!(acts[..], [Action::Csi { params, .. }] if params.len() == MAX_PARAMS));
        let mut all = Vec::new();
        for i in 0..=255u8 {
            all.extend([0x1b, i, b'[', i, b';', i]);
        }
        let _ = parse(&all);
    }
}
