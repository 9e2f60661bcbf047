//! The console screen: text, wrapping, scrolling, cursor movement,
//! erasing, colours and attributes, save/restore, and the damage a
//! renderer gets — checked by replaying the damage onto a copy.

use tty::screen::{Attrs, Cell, Color, Screen, MAX_COLS};

fn screen(cols: usize, rows: usize, input: &[u8]) -> Screen {
    let mut s = Screen::new(cols, rows).unwrap();
    s.write(input);
    s
}

fn rows(s: &Screen) -> Vec<String> {
    (0..s.rows()).map(|r| s.row_text(r)).collect()
}

#[test]
fn text_wrap_and_controls() {
    let s = screen(10, 3, b"hello\r\nworld");
    assert_eq!(rows(&s), ["hello", "world", ""]);
    assert_eq!(s.cursor(), (1, 5));
    // Deferred wrap: the cursor stays on the last column until the next character.
    let s = screen(4, 3, b"abcd");
    assert_eq!(s.cursor(), (0, 3));
    let s = screen(4, 3, b"abcde");
    assert_eq!(rows(&s), ["abcd", "e", ""]);
    let s = screen(20, 2, b"a\tb\tc\x08\x08X");
    assert_eq!(rows(&s), ["a       b      Xc", ""]);
    let s = screen(10, 3, b"ab\ncd");
    assert_eq!(
        rows(&s),
        ["ab", "  cd", ""],
        "LF moves down without a CR (ONLCR adds it)"
    );
    let s = screen(10, 2, "x✓é".as_bytes());
    assert_eq!(s.cell(0, 1).unwrap().ch, '✓');
}

#[test]
fn scrolling() {
    let s = screen(5, 3, b"1\r\n2\r\n3\r\n4\r\n5");
    assert_eq!(rows(&s), ["3", "4", "5"]);
    let s = screen(3, 2, b"abcdefghi");
    assert_eq!(rows(&s), ["def", "ghi"]);
    // ESC M at the top scrolls down; ESC D at the bottom scrolls up.
    let s = screen(5, 3, b"a\r\nb\x1b[H\x1bMz");
    assert_eq!(rows(&s), ["z", "a", "b"]);
    let s = screen(5, 2, b"a\x1b[2;1H\x1bDb");
    assert_eq!(rows(&s), ["", "b"]);
}

#[test]
fn cursor_movement() {
    let mut s = screen(10, 5, b"\x1b[3;4H");
    assert_eq!(s.cursor(), (2, 3));
    let moves: &[(&[u8], (usize, usize))] = &[
        (b"\x1b[A", (1, 3)),
        (b"\x1b[2B", (3, 3)),
        (b"\x1b[3C", (3, 6)),
        (b"\x1b[0D", (3, 5)),
        (b"\x1b[99A", (0, 5)),
        (b"\x1b[99C", (0, 9)),
        (b"\x1b[99;99f", (4, 9)),
        (b"\x1b[H", (0, 0)),
        (b"\x1b[2E", (2, 0)),
        (b"\x1b[5G", (2, 4)),
        (b"\x1b[F", (1, 0)),
        (b"\x1b[4d", (3, 0)),
        (b"\x1b[;3H", (0, 2)),
        (b"\x1b[0;0H", (0, 0)),
    ];
    for (seq, want) in moves {
        s.write(seq);
        assert_eq!(s.cursor(), *want, "after {seq:?}");
    }
}

#[test]
fn erasing() {
    let fill = b"aaaaa\r\nbbbbb\r\nccccc\x1b[2;3H";
    let cases: &[(&[u8], [&str; 3])] = &[
        (b"\x1b[K", ["aaaaa", "bb", "ccccc"]),
        (b"\x1b[1K", ["aaaaa", "   bb", "ccccc"]),
        (b"\x1b[2K", ["aaaaa", "", "ccccc"]),
        (b"\x1b[J", ["aaaaa", "bb", ""]),
        (b"\x1b[1J", ["", "   bb", "ccccc"]),
        (b"\x1b[2J", ["", "", ""]),
        (b"\x1b[9J", ["aaaaa", "bbbbb", "ccccc"]),
    ];
    for (seq, want) in cases {
        let mut s = screen(5, 3, fill);
        s.write(seq);
        assert_eq!(rows(&s), *want, "after {seq:?}");
        assert_eq!(s.cursor(), (1, 2), "erasing does not move the cursor");
    }
    // Erased cells take the current background.
    let s = screen(4, 1, b"xx\x1b[44m\x1b[2K");
    assert_eq!(s.cell(0, 0).unwrap().attrs.bg, Color::Indexed(4));
}

fn attrs_at(input: &[u8]) -> Attrs {
    screen(10, 1, input).cell(0, 0).unwrap().attrs
}

#[test]
fn colours_and_attributes() {
    let a = attrs_at(b"\x1b[1;31;42mX");
    assert_eq!(
        (a.fg, a.bg, a.bold),
        (Color::Indexed(1), Color::Indexed(2), true)
    );
    let a = attrs_at(b"\x1b[91;107mX");
    assert_eq!((a.fg, a.bg), (Color::Indexed(9), Color::Indexed(15)));
    let a = attrs_at(b"\x1b[7;4mX");
    assert!(a.reverse && a.underline && !a.bold);
    assert_eq!(attrs_at(b"\x1b[1;31;7m\x1b[0mX"), Attrs::default());
    assert_eq!(attrs_at(b"\x1b[1;31m\x1b[mX"), Attrs::default());
    let a = attrs_at(b"\x1b[1;31;44m\x1b[22;39;49;27mX");
    assert_eq!(a, Attrs::default());
    assert_eq!(attrs_at(b"\x1b[38;5;200mX").fg, Color::Indexed(200));
    assert_eq!(attrs_at(b"\x1b[48;2;1;2;3mX").bg, Color::Rgb(1, 2, 3));
    assert_eq!(attrs_at(b"\x1b[38;5;999;1mX").fg, Color::Default);
    assert_eq!(attrs_at(b"\x1b[38;2;1mX").fg, Color::Default);
    assert_eq!(attrs_at(b"\x1b[38mX"), Attrs::default());
}

#[test]
fn save_restore_and_reset() {
    let s = screen(10, 3, b"\x1b[2;3H\x1b[31m\x1b7\x1b[H\x1b[0mA\x1b8B");
    assert_eq!(s.cursor(), (1, 3));
    assert_eq!(
        s.cell(1, 2).unwrap().attrs.fg,
        Color::Indexed(1),
        "the pen comes back too"
    );
    let s = screen(10, 3, b"\x1b[3;5H\x1b[s\x1b[H\x1b[u");
    assert_eq!(s.cursor(), (2, 4));
    let s = screen(10, 3, b"junk\x1b[31m\x1bcok");
    assert_eq!(rows(&s), ["ok", "", ""]);
    assert_eq!(s.cell(0, 0).unwrap().attrs, Attrs::default());
}

#[test]
fn unknown_and_malformed_sequences_are_ignored() {
    let s = screen(
        20,
        2,
        b"a\x1b[5ib\x1b[?1049hc\x1b]0;title\x07d\x1b(Be\x1b[>0cf\x1b[1$pg",
    );
    assert_eq!(rows(&s), ["abcdefg", ""]);
    let mut s = Screen::new(80, 25).unwrap();
    let mut seed = 12345u32;
    let junk: Vec<u8> = (0..200_000)
        .map(|_| {
            seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
            let b = (seed >> 16) as u8;
            // Plenty of escapes and sequence bytes, to reach every state.
            match b % 8 {
                0 => 0x1b,
                1 => b'[',
                2 => b';',
                _ => b,
            }
        })
        .collect();
    s.write(&junk);
    let (r, c) = s.cursor();
    assert!(r < 25 && c < 80);
    assert!(Screen::new(0, 10).is_err() && Screen::new(MAX_COLS + 1, 10).is_err());
}

/// A renderer that applies damage to its own copy of the grid.
struct Renderer {
    grid: Vec<Vec<Cell>>,
}

impl Renderer {
    fn apply(&mut self, s: &mut Screen) -> usize {
        let d = s.take_damage();
        for _ in 0..d.scrolled {
            self.grid.remove(0);
            self.grid.push(vec![
                Cell {
                    ch: '#',
                    attrs: Attrs::default()
                };
                s.cols()
            ]);
        }
        for &(r, c) in &d.cells {
            self.grid[r][c] = *s.cell(r, c).unwrap();
        }
        d.cells.len()
    }

    fn matches(&self, s: &Screen) -> bool {
        (0..s.rows()).all(|r| (0..s.cols()).all(|c| self.grid[r][c] == *s.cell(r, c).unwrap()))
    }
}

#[test]
fn damage_replays_to_the_same_picture() {
    let mut s = Screen::new(8, 4).unwrap();
    let mut r = Renderer {
        grid: vec![
            vec![
                Cell {
                    ch: '?',
                    attrs: Attrs::default()
                };
                8
            ];
            4
        ],
    };
    assert_eq!(r.apply(&mut s), 32, "a new screen is all damage");
    assert_eq!(r.apply(&mut s), 1, "then only the cursor's cell");
    let steps: &[&[u8]] = &[
        b"hi",
        b"\r\nline two\r\nthree\r\nfour\r\nfive",
        b"\x1b[31m\x1b[2;2HX",
        b"\x1b[2J\x1b[Htop",
        b"\x1bM\x1bMdown",
        b"1\r\n2\r\n3\r\n4\r\n5\r\n6\r\n7\r\n8\r\n9",
        b"\x1b[44m\x1b[K",
    ];
    for step in steps {
        s.write(step);
        r.apply(&mut s);
        assert!(r.matches(&s), "after {step:?}");
    }
    s.write(b"a\r\nb\r\n");
    let d = s.take_damage();
    assert_eq!(d.scrolled, 2);
    assert_eq!(d.cursor, Some((3, 0)));
    s.write(b"\x1b[?25l\x07");
    let d = s.take_damage();
    assert_eq!((d.cursor, d.bell), (None, true));
}
