//! The line editor's key sequences: what each leaves in the line, what it
//! echoes, and when a line ends.

use sh::editor::{LineEditor, Outcome, Step, MAX_LINE};

fn typed(keys: &[u8]) -> (LineEditor, Step) {
    let mut ed = LineEditor::new();
    ed.start("$ ");
    let step = ed.feed_all(keys);
    (ed, step)
}

fn echo(keys: &[u8]) -> String {
    String::from_utf8(typed(keys).1.echo).unwrap()
}

fn line(keys: &[u8]) -> Outcome {
    typed(keys).1.outcome
}

fn done(s: &str) -> Outcome {
    Outcome::Line(s.into())
}

#[test]
fn line_table() {
    let cases: &[(&[u8], &str)] = &[
        (b"ls -l\r", "ls -l"),
        (b"ls\n", "ls"),
        (b"lx\x7fs\r", "ls"),
        (b"lx\x08s\r", "ls"),
        (b"\x7f\x7fok\r", "ok"),
        (b"garbage\x15ls\r", "ls"),
        (b"echo foo bar\x17baz\r", "echo foo baz"),
        (b"echo foo   \x17\r", "echo "),
        (b"ac\x1b[Db\r", "abc"),
        (b"ac\x02b\r", "abc"),
        (b"bc\x1b[Ha\r", "abc"),
        (b"bc\x01a\x05d\r", "abcd"),
        (b"bc\x1b[1~a\x1b[4~d\r", "abcd"),
        (b"bc\x1bOHa\x1bOFd\r", "abcd"),
        (b"ab\x1b[D\x1b[D\x1b[C\x1b[Cc\r", "abc"),
        (b"abc\x1b[D\x1b[D\x1b[3~\r", "ac"),
        (b"abc\x1b[D\x04\r", "ab"),
        (b"abc\x1b[D\x1b[D\x0b\r", "a"),
        (b"abc\x1b[D\x1b[D\x15\r", "bc"),
        (b"a\x1b[99;99Zb\r", "ab"),
        (b"a\x1bxb\r", "ab"),
        (b"a\tb\x07\r", "ab"),
        ("héllo ✓\r".as_bytes(), "héllo ✓"),
        (b"a\xff\xfeb\r", "ab"),
    ];
    for (keys, want) in cases {
        assert_eq!(line(keys), done(want), "keys {keys:?}");
    }
}

#[test]
fn echo_and_redraw() {
    assert_eq!(echo(b"ls\r"), "ls\r\n");
    assert_eq!(echo(b"lx\x7f"), "lx\x08 \x08");
    assert_eq!(echo(b"\x7f"), "");
    assert_eq!(echo(b"ab\x1b[D"), "ab\x1b[D");
    // Inserting in the middle redraws the line and puts the cursor back.
    assert_eq!(echo(b"ac\x1b[Db"), "ac\x1b[D\r$ abc\x1b[K\x1b[1D");
    assert_eq!(echo(b"ab\x15"), "ab\r$ \x1b[K");
    assert_eq!(echo(b"abc\x01"), "abc\x1b[3D");
    assert_eq!(echo(b"\x0c"), "\x1b[H\x1b[2J\r$ \x1b[K");
}

#[test]
fn ctrl_c_cancels_and_ctrl_d_ends() {
    let (ed, step) = typed(b"half a line\x03");
    assert_eq!(step.outcome, Outcome::Cancel);
    assert!(step.echo.ends_with(b"^C\r\n"));
    assert_eq!(ed.line(), "");
    assert_eq!(line(b"\x04"), Outcome::Eof);
    assert_eq!(line(b"x\x7f\x04"), Outcome::Eof);
    assert_eq!(
        line(b"x\x04"),
        Outcome::Pending,
        "Ctrl-D on a non-empty line does not end it"
    );
}

#[test]
fn history_up_and_down() {
    let mut ed = LineEditor::new();
    for l in ["first", "second", "second", " ", "third"] {
        ed.start("$ ");
        ed.feed_all(format!("{l}\r").as_bytes());
    }
    assert_eq!(
        ed.history().collect::<Vec<_>>(),
        ["first", "second", "third"]
    );
    ed.start("$ ");
    ed.feed_all(b"draft");
    ed.feed_all(b"\x1b[A");
    assert_eq!(ed.line(), "third");
    ed.feed_all(b"\x1b[A\x1b[A\x1b[A\x1b[A");
    assert_eq!(ed.line(), "first");
    ed.feed_all(b"\x1b[B");
    assert_eq!(ed.line(), "second");
    ed.feed_all(b"\x1b[B\x1b[B");
    assert_eq!(
        ed.line(),
        "draft",
        "down past the newest brings back what was typed"
    );
    let step = ed.feed_all(b"\x1b[A!\r");
    assert_eq!(step.outcome, done("third!"));
    assert_eq!(ed.history().last().unwrap(), "third!");
}

#[test]
fn bounds() {
    let mut ed = LineEditor::new();
    ed.start("");
    let step = ed.feed_all(&vec![b'x'; MAX_LINE + 10]);
    assert_eq!(ed.line().len(), MAX_LINE);
    assert!(step.echo.ends_with(&[7]));
    // A runaway escape sequence is swallowed and the editor recovers.
    let mut keys = b"\x1b[".to_vec();
    keys.extend(vec![b'1'; 1000]);
    keys.extend(b"Aok\r");
    assert_eq!(line(&keys), done("ok"));
    assert_eq!(ed.cursor(), MAX_LINE);
}
