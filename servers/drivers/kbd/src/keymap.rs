//! Scancode set 1 and the US keymap (Linux's `atkbd` with the default
//! `us` map, in miniature): a [`Decoder`] takes the controller's bytes one
//! at a time, keeps the prefix and modifier state, and returns the bytes
//! a key press types.
//!
//! Set 1: a key's make code is sent when it goes down, the same code with
//! bit 7 set (break) when it comes up; extended keys (arrows, right Ctrl
//! and Alt, Home, End, Delete, keypad Enter and `/`) come after `0xE0`.
//! `0xE1` starts Pause's six-byte sequence, which is skipped. Controller
//! replies (`0xFA` ack, `0xFE` resend, `0x00` and `0xFF` errors) are not
//! keys; `0xAA` (self-test passed, after a reset) is also left Shift's
//! break code and is taken as that — releasing a Shift not held is
//! harmless.

/// A key that is not a character: what the decoder tracks or turns into
/// an escape sequence.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Key {
    Char(u8),
    Enter,
    Backspace,
    Tab,
    Escape,
    Shift,
    Ctrl,
    Alt,
    CapsLock,
    Up,
    Down,
    Left,
    Right,
    Home,
    End,
    Delete,
}

/// A key going down (`pressed`) or up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyEvent {
    pub key: Key,
    pub pressed: bool,
}

/// The US layout's characters by set-1 make code, without and with Shift
/// (0: no character at that code).
const PLAIN: &[u8; 0x3a] =
    b"\0\x001234567890-=\0\0qwertyuiop[]\0\0asdfghjkl;'`\0\\zxcvbnm,./\0*\0 ";
const SHIFTED: &[u8; 0x3a] =
    b"\0\0!@#$%^&*()_+\0\0QWERTYUIOP{}\0\0ASDFGHJKL:\"~\0|ZXCVBNM<>?\0*\0 ";

/// The key of a plain (unprefixed) make code.
fn plain_key(code: u8) -> Option<Key> {
    Some(match code {
        0x01 => Key::Escape,
        0x0e => Key::Backspace,
        0x0f => Key::Tab,
        0x1c => Key::Enter,
        0x1d => Key::Ctrl,
        0x2a | 0x36 => Key::Shift,
        0x38 => Key::Alt,
        0x3a => Key::CapsLock,
        c if (c as usize) < PLAIN.len() && PLAIN[c as usize] != 0 => Key::Char(PLAIN[c as usize]),
        _ => return None,
    })
}

/// The key of a make code after `0xE0`.
fn extended_key(code: u8) -> Option<Key> {
    Some(match code {
        0x1c => Key::Enter,
        0x1d => Key::Ctrl,
        0x35 => Key::Char(b'/'),
        0x38 => Key::Alt,
        0x47 => Key::Home,
        0x48 => Key::Up,
        0x4b => Key::Left,
        0x4d => Key::Right,
        0x4f => Key::End,
        0x50 => Key::Down,
        0x53 => Key::Delete,
        // 0x2a/0xaa: the fake shifts some keys send around themselves.
        _ => return None,
    })
}

/// The decoder's state: the prefix seen, the modifiers held.
#[derive(Clone, Debug, Default)]
pub struct Decoder {
    extended: bool,
    /// Bytes of Pause's sequence still to skip.
    skip: u8,
    /// Shift keys held (left and right count separately: releasing one
    /// while the other is down keeps Shift).
    shift: u8,
    ctrl: u8,
    alt: u8,
    caps: bool,
}

/// The bytes one key press types (at most four).
pub type Typed = ([u8; 4], usize);

impl Decoder {
    pub const fn new() -> Decoder {
        Decoder {
            extended: false,
            skip: 0,
            shift: 0,
            ctrl: 0,
            alt: 0,
            caps: false,
        }
    }

    /// The key event `byte` completes, if any.
    pub fn event(&mut self, byte: u8) -> Option<KeyEvent> {
        if self.skip > 0 {
            self.skip -= 1;
            return None;
        }
        match byte {
            0xe0 => {
                self.extended = true;
                return None;
            }
            0xe1 => {
                self.skip = 5;
                return None;
            }
            0x00 | 0xfa | 0xfe | 0xff if !self.extended => return None,
            _ => {}
        }
        let extended = core::mem::take(&mut self.extended);
        let code = byte & 0x7f;
        let pressed = byte & 0x80 == 0;
        let key = if extended {
            extended_key(code)
        } else {
            plain_key(code)
        }?;
        Some(KeyEvent { key, pressed })
    }

    /// Feeds `byte`: the bytes a terminal sends for the key press it
    /// completes (none for a release, a modifier, or a partial sequence).
    pub fn feed(&mut self, byte: u8) -> Option<Typed> {
        let event = self.event(byte)?;
        let held = |n: &mut u8| {
            *n = if event.pressed {
                n.saturating_add(1).min(2)
            } else {
                n.saturating_sub(1)
            }
        };
        match event.key {
            Key::Shift => held(&mut self.shift),
            Key::Ctrl => held(&mut self.ctrl),
            Key::Alt => held(&mut self.alt),
            Key::CapsLock if event.pressed => self.caps = !self.caps,
            _ if event.pressed => return self.typed(event.key),
            _ => {}
        }
        None
    }

    /// What a press of `key` types with the current modifiers.
    fn typed(&self, key: Key) -> Option<Typed> {
        let mut out = [0u8; 4];
        let mut n = 0;
        let mut put = |bytes: &[u8]| {
            out[n..n + bytes.len()].copy_from_slice(bytes);
            n += bytes.len();
        };
        if self.alt > 0 {
            // Meta sends ESC first (xterm's `metaSendsEscape`).
            put(b"\x1b");
        }
        match key {
            Key::Char(c) => put(&[self.character(c)?]),
            Key::Enter => put(b"\r"),
            Key::Backspace => put(b"\x7f"),
            Key::Tab => put(b"\t"),
            Key::Escape => put(b"\x1b"),
            Key::Up => put(b"\x1b[A"),
            Key::Down => put(b"\x1b[B"),
            Key::Right => put(b"\x1b[C"),
            Key::Left => put(b"\x1b[D"),
            Key::Home => put(b"\x1b[H"),
            Key::End => put(b"\x1b[F"),
            Key::Delete => put(b"\x1b[3~"),
            Key::Shift | Key::Ctrl | Key::Alt | Key::CapsLock => return None,
        }
        Some((out, n))
    }

    /// The byte a character key types: Shift and Caps Lock choose the
    /// case (Caps Lock letters only; with Shift it cancels), Ctrl makes a
    /// control character of `@`–`_` and letters (`^C` is 3).
    fn character(&self, plain: u8) -> Option<u8> {
        let index = PLAIN.iter().position(|&c| c == plain)?;
        let shifted = self.shift > 0;
        let mut c = if shifted { SHIFTED[index] } else { plain };
        if self.caps && plain.is_ascii_lowercase() {
            c = if shifted {
                plain
            } else {
                plain.to_ascii_uppercase()
            };
        }
        if self.ctrl > 0 {
            return match c {
                b'a'..=b'z' => Some(c - b'a' + 1),
                b'@'..=b'_' => Some(c - b'@'),
                b' ' => Some(0),
                b'?' => Some(0x7f),
                _ => Some(c),
            };
        }
        Some(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a byte stream types, all together.
    fn typed(codes: &[u8]) -> Vec<u8> {
        let mut d = Decoder::new();
        let mut out = Vec::new();
        for &b in codes {
            if let Some((bytes, n)) = d.feed(b) {
                out.extend_from_slice(&bytes[..n]);
            }
        }
        out
    }

    #[test]
    fn letters_digits_and_enter_type_as_a_serial_terminal_does() {
        // "ls -l" Enter, each key pressed and released.
        let codes = [
            0x26, 0xa6, 0x1f, 0x9f, 0x39, 0xb9, 0x0c, 0x8c, 0x26, 0xa6, 0x1c, 0x9c,
        ];
        assert_eq!(typed(&codes), b"ls -l\r");
        assert_eq!(typed(&[0x02, 0x82, 0x0b, 0x8b]), b"10");
        assert_eq!(typed(&[0x0e, 0x8e, 0x0f, 0x8f]), b"\x7f\t");
    }

    #[test]
    fn shift_held_on_either_side_and_caps_lock() {
        // Left Shift down, a, right Shift down, left Shift up, b, right up, c.
        let codes = [0x2a, 0x1e, 0x9e, 0x36, 0xaa, 0x30, 0xb0, 0xb6, 0x2e, 0xae];
        assert_eq!(typed(&codes), b"ABc");
        // Shift+1, Shift+/ and Shift+' .
        assert_eq!(typed(&[0x2a, 0x02, 0x35, 0x28, 0xaa]), b"!?\"");
        // Caps Lock: letters only; Shift cancels it for letters.
        let caps = [
            0x3a, 0xba, 0x1e, 0x02, 0x2a, 0x1e, 0x02, 0xaa, 0x3a, 0xba, 0x1e,
        ];
        assert_eq!(typed(&caps), b"A1a!a");
    }

    #[test]
    fn ctrl_makes_control_characters() {
        // Ctrl-C, Ctrl-D, Ctrl-U, Ctrl-[ with left Ctrl; right Ctrl (E0 1D) too.
        let codes = [
            0x1d, 0x2e, 0x20, 0x16, 0x1a, 0x9d, 0xe0, 0x1d, 0x2e, 0xe0, 0x9d, 0x2e,
        ];
        assert_eq!(typed(&codes), b"\x03\x04\x15\x1b\x03c");
    }

    #[test]
    fn extended_keys_and_alt() {
        let codes = [0xe0, 0x48, 0xe0, 0xc8, 0xe0, 0x4b, 0xe0, 0x53, 0xe0, 0x1c];
        assert_eq!(typed(&codes), b"\x1b[A\x1b[D\x1b[3~\r");
        // Alt-x: ESC x; right Alt (E0 38) as well.
        assert_eq!(
            typed(&[0x38, 0x2d, 0xb8, 0xe0, 0x38, 0x2d, 0xe0, 0xb8]),
            b"\x1bx\x1bx"
        );
        // The fake shift some keys send after E0 is not Shift.
        assert_eq!(typed(&[0xe0, 0x2a, 0xe0, 0x48, 0x1e]), b"\x1b[Aa");
    }

    #[test]
    fn controller_replies_and_pause_are_not_keys() {
        assert_eq!(typed(&[0xfa, 0xaa, 0xfe, 0x00, 0xff]), b"");
        // Pause: E1 1D 45 E1 9D C5, then a.
        assert_eq!(typed(&[0xe1, 0x1d, 0x45, 0xe1, 0x9d, 0xc5, 0x1e]), b"a");
        // A release with no press, an unknown code: nothing, no panic.
        let all: Vec<u8> = (0..=255).collect();
        let _ = typed(&all);
    }

    #[test]
    fn events_say_which_key_and_which_way() {
        let mut d = Decoder::new();
        assert_eq!(
            d.event(0x1e),
            Some(KeyEvent {
                key: Key::Char(b'a'),
                pressed: true
            })
        );
        assert_eq!(d.event(0xe0), None);
        assert_eq!(
            d.event(0xd0),
            Some(KeyEvent {
                key: Key::Down,
                pressed: false
            })
        );
    }
}
