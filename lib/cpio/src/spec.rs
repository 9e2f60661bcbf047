//! The list an initramfs is built from, in the format of Linux's
//! `usr/gen_init_cpio` (see `rootfs/initramfs.list`): one entry a line,
//! fields separated by blanks, `#` starting a comment.
//!
//! ```text
//! file  <name> <location> <mode> <uid> <gid> [<hard links>...]
//! dir   <name> <mode> <uid> <gid>
//! nod   <name> <mode> <uid> <gid> <b|c> <major> <minor>
//! slink <name> <target> <mode> <uid> <gid>
//! pipe  <name> <mode> <uid> <gid>
//! sock  <name> <mode> <uid> <gid>
//! ```
//!
//! `<mode>` is octal permission bits (`0755`), `<location>` a path on the
//! build machine. Unlike `gen_init_cpio`, `${VAR}` in a location is not
//! expanded. [`parse`] checks the syntax; [`build`] feeds the lines to a
//! [`Writer`], reading each file through a function the caller gives
//! (the host tool reads the disk, the tests a table).

use crate::writer::{Meta, Node, WriteError, Writer};
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;

/// What a line adds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Item<'a> {
    /// A regular file read from `location`, with its other names.
    File {
        name: &'a str,
        location: &'a str,
        links: Vec<&'a str>,
    },
    Dir {
        name: &'a str,
    },
    /// A device node: `block` for `b`, character for `c`.
    Nod {
        name: &'a str,
        block: bool,
        major: u32,
        minor: u32,
    },
    Slink {
        name: &'a str,
        target: &'a str,
    },
    Pipe {
        name: &'a str,
    },
    Sock {
        name: &'a str,
    },
}

/// One line of the list: its number (from 1), the item and its owner and
/// permissions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Line<'a> {
    pub number: usize,
    pub item: Item<'a>,
    pub meta: Meta,
}

/// What is wrong with a line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SpecErrorKind {
    /// The first word is none of the six types.
    UnknownType(String),
    /// Too few or too many fields for the type.
    FieldCount {
        kind: &'static str,
        expected: &'static str,
        found: usize,
    },
    /// A mode that is not octal, or beyond `07777`.
    BadMode(String),
    /// A uid, gid, major or minor that is not a decimal `u32`.
    BadNumber(String),
    /// A device type other than `b` or `c`.
    BadDeviceType(String),
}

/// A [`SpecErrorKind`] on line `line`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpecError {
    pub line: usize,
    pub kind: SpecErrorKind,
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: ", self.line)?;
        match &self.kind {
            SpecErrorKind::UnknownType(t) => write!(f, "unknown entry type {t:?}"),
            SpecErrorKind::FieldCount {
                kind,
                expected,
                found,
            } => write!(f, "`{kind}` takes {expected} fields, found {found}"),
            SpecErrorKind::BadMode(m) => write!(f, "mode {m:?} is not octal 0 to 07777"),
            SpecErrorKind::BadNumber(n) => write!(f, "{n:?} is not a number"),
            SpecErrorKind::BadDeviceType(t) => write!(f, "device type {t:?} is not b or c"),
        }
    }
}

impl core::error::Error for SpecError {}

/// The lines of `text`, blank lines and comments left out.
///
/// Fails at the first line with an unknown type, a wrong number of
/// fields, or a mode, number or device type that does not parse.
pub fn parse(text: &str) -> Result<Vec<Line<'_>>, SpecError> {
    let mut lines = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.split_once('#').map_or(line, |(before, _)| before);
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.is_empty() {
            continue;
        }
        let parsed = parse_fields(&fields).map_err(|kind| SpecError { line: i + 1, kind })?;
        let (item, meta) = parsed;
        lines.push(Line {
            number: i + 1,
            item,
            meta,
        });
    }
    Ok(lines)
}

/// One line's fields (the type first) as an item and its meta.
fn parse_fields<'a>(fields: &[&'a str]) -> Result<(Item<'a>, Meta), SpecErrorKind> {
    let count = |kind, expected: &'static str, ok: bool| {
        if ok {
            Ok(())
        } else {
            Err(SpecErrorKind::FieldCount {
                kind,
                expected,
                found: fields.len() - 1,
            })
        }
    };
    let n = fields.len();
    let (item, meta_at) = match fields[0] {
        "file" => {
            count("file", "5 or more", n >= 6)?;
            let links = fields[6..].to_vec();
            let (name, location) = (fields[1], fields[2]);
            (
                Item::File {
                    name,
                    location,
                    links,
                },
                3,
            )
        }
        "dir" => {
            count("dir", "4", n == 5)?;
            (Item::Dir { name: fields[1] }, 2)
        }
        "pipe" => {
            count("pipe", "4", n == 5)?;
            (Item::Pipe { name: fields[1] }, 2)
        }
        "sock" => {
            count("sock", "4", n == 5)?;
            (Item::Sock { name: fields[1] }, 2)
        }
        "nod" => {
            count("nod", "7", n == 8)?;
            let block = match fields[5] {
                "b" => true,
                "c" => false,
                other => return Err(SpecErrorKind::BadDeviceType(other.to_string())),
            };
            let (major, minor) = (number(fields[6])?, number(fields[7])?);
            (
                Item::Nod {
                    name: fields[1],
                    block,
                    major,
                    minor,
                },
                2,
            )
        }
        "slink" => {
            count("slink", "5", n == 6)?;
            (
                Item::Slink {
                    name: fields[1],
                    target: fields[2],
                },
                3,
            )
        }
        other => return Err(SpecErrorKind::UnknownType(other.to_string())),
    };
    let meta = Meta {
        perm: mode(fields[meta_at])?,
        uid: number(fields[meta_at + 1])?,
        gid: number(fields[meta_at + 2])?,
    };
    Ok((item, meta))
}

fn mode(text: &str) -> Result<u32, SpecErrorKind> {
    u32::from_str_radix(text, 8)
        .ok()
        .filter(|m| *m <= 0o7777 && text.bytes().all(|b| b.is_ascii_digit()))
        .ok_or_else(|| SpecErrorKind::BadMode(text.to_string()))
}

fn number(text: &str) -> Result<u32, SpecErrorKind> {
    text.parse::<u32>()
        .ok()
        .filter(|_| text.bytes().all(|b| b.is_ascii_digit()))
        .ok_or_else(|| SpecErrorKind::BadNumber(text.to_string()))
}

/// Why [`build`] stopped: the line, and the reader's or the writer's error.
#[derive(Debug, PartialEq, Eq)]
pub enum BuildError<E> {
    Read {
        line: usize,
        location: String,
        error: E,
    },
    Write {
        line: usize,
        error: WriteError,
    },
}

impl<E: fmt::Display> fmt::Display for BuildError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BuildError::Read {
                line,
                location,
                error,
            } => write!(f, "line {line}: cannot read {location}: {error}"),
            BuildError::Write { line, error } => write!(f, "line {line}: {error}"),
        }
    }
}

/// Adds every line to `writer`, in order, reading each file's bytes with
/// `read(location)`.
///
/// Fails at the first line whose file cannot be read or whose entry the
/// writer refuses (see [`Writer::add`]).
pub fn build<E>(
    lines: &[Line<'_>],
    writer: &mut Writer,
    mut read: impl FnMut(&str) -> Result<Vec<u8>, E>,
) -> Result<(), BuildError<E>> {
    for line in lines {
        let write = |error| BuildError::Write {
            line: line.number,
            error,
        };
        let node = match line.item {
            Item::File {
                name,
                location,
                ref links,
            } => {
                let data = read(location).map_err(|error| BuildError::Read {
                    line: line.number,
                    location: location.to_string(),
                    error,
                })?;
                let mut names = Vec::with_capacity(links.len() + 1);
                names.push(name);
                names.extend_from_slice(links);
                writer
                    .add_hard_links(&names, &data, line.meta)
                    .map_err(write)?;
                continue;
            }
            Item::Dir { name } => (name, Node::Directory),
            Item::Nod {
                name,
                block,
                major,
                minor,
            } => match block {
                true => (name, Node::BlockDevice { major, minor }),
                false => (name, Node::CharDevice { major, minor }),
            },
            Item::Slink { name, target } => (name, Node::Symlink(target)),
            Item::Pipe { name } => (name, Node::Fifo),
            Item::Sock { name } => (name, Node::Socket),
        };
        writer.add(node.0, node.1, line.meta).map_err(write)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Archive, FileType, Format};

    const LIST: &str = "\
# a comment
dir / 0755 0 0
dir /bin 0755 0 0   # trailing comment

file /bin/sh build/sh 0755 0 0 /bin/ash /bin/dash
nod /console 0600 0 5 c 5 1
nod /vda 0660 0 6 b 254 0
slink /bin/ls sh 0777 0 0
pipe /fifo 0644 1000 1000
sock /sock 0600 0 0
";

    #[test]
    fn every_type_parses() {
        let lines = parse(LIST).unwrap();
        assert_eq!(lines.len(), 8);
        assert_eq!(lines[0].number, 2);
        assert_eq!(
            lines[2],
            Line {
                number: 5,
                item: Item::File {
                    name: "/bin/sh",
                    location: "build/sh",
                    links: alloc::vec!["/bin/ash", "/bin/dash"],
                },
                meta: Meta {
                    perm: 0o755,
                    uid: 0,
                    gid: 0
                },
            }
        );
        assert_eq!(
            lines[4].item,
            Item::Nod {
                name: "/vda",
                block: true,
                major: 254,
                minor: 0
            }
        );
        assert_eq!(
            lines[4].meta,
            Meta {
                perm: 0o660,
                uid: 0,
                gid: 6
            }
        );
        assert_eq!(
            lines[5].item,
            Item::Slink {
                name: "/bin/ls",
                target: "sh"
            }
        );
        assert_eq!(lines[6].meta.uid, 1000);
    }

    fn error(text: &str) -> SpecErrorKind {
        parse(text).unwrap_err().kind
    }

    #[test]
    fn bad_lines_are_named() {
        assert_eq!(parse("\n\nfrob /x").unwrap_err().line, 3);
        assert_eq!(error("frob /x"), SpecErrorKind::UnknownType("frob".into()));
        assert!(matches!(
            error("dir /x 0755 0"),
            SpecErrorKind::FieldCount { found: 3, .. }
        ));
        assert!(matches!(
            error("file /x y 0755 0"),
            SpecErrorKind::FieldCount { .. }
        ));
        assert!(matches!(
            error("nod /x 0600 0 0 c 5"),
            SpecErrorKind::FieldCount { .. }
        ));
        assert!(matches!(
            error("slink /x y 0777 0 0 z"),
            SpecErrorKind::FieldCount { .. }
        ));
        for bad in ["0758", "9", "17777", "-1", "+7", "0x7"] {
            let line = alloc::format!("dir /x {bad} 0 0");
            assert_eq!(error(&line), SpecErrorKind::BadMode(bad.into()), "{bad}");
        }
        assert_eq!(
            error("dir /x 0755 -1 0"),
            SpecErrorKind::BadNumber("-1".into())
        );
        assert_eq!(
            error("dir /x 0755 0 4294967296"),
            SpecErrorKind::BadNumber("4294967296".into())
        );
        assert_eq!(
            error("nod /x 0600 0 0 c +5 1"),
            SpecErrorKind::BadNumber("+5".into())
        );
        assert_eq!(
            error("nod /x 0600 0 0 p 5 1"),
            SpecErrorKind::BadDeviceType("p".into())
        );
    }

    #[test]
    fn build_writes_every_line() {
        let lines = parse(LIST).unwrap();
        let mut writer = Writer::new(Format::Newc);
        build(&lines, &mut writer, |location| match location {
            "build/sh" => Ok(b"#!sh\n".to_vec()),
            _ => Err("no such file"),
        })
        .unwrap();
        let archive = writer.finish();
        let entries: Vec<_> = Archive::new(&archive)
            .entries()
            .map(Result::unwrap)
            .collect();
        let names: Vec<&str> = entries.iter().map(|e| &*e.name).collect();
        assert_eq!(
            names,
            [
                ".", "bin", "bin/sh", "bin/ash", "bin/dash", "console", "vda", "bin/ls", "fifo",
                "sock"
            ]
        );
        assert_eq!(entries[2].nlink, 3);
        assert_eq!(entries[4].data, b"#!sh\n");
        assert_eq!(entries[4].link.as_deref(), Some("bin/sh"));
        assert_eq!(
            (entries[6].file_type, entries[6].rdev_major),
            (FileType::BlockDevice, 254)
        );
        assert_eq!(entries[7].symlink_target(), Some("sh"));
    }

    #[test]
    fn build_errors_carry_the_line() {
        let mut writer = Writer::new(Format::Newc);
        let lines = parse("dir /a 0755 0 0\nfile /a/x missing 0644 0 0").unwrap();
        let e = build(&lines, &mut writer, |_| Err("gone")).unwrap_err();
        assert_eq!(
            e,
            BuildError::Read {
                line: 2,
                location: "missing".into(),
                error: "gone"
            }
        );
        let lines = parse("file /b/x f 0644 0 0").unwrap();
        let e = build(&lines, &mut writer, |_| Ok::<_, ()>(Vec::new())).unwrap_err();
        assert_eq!(
            e,
            BuildError::Write {
                line: 1,
                error: WriteError::MissingParent("b/x".into())
            }
        );
    }
}
