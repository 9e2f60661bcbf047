//! Member names. An archive may spell a path `bin/sh`, `./bin/sh` or
//! `/bin/sh` (GNU cpio fed by `find .`, Linux's `gen_init_cpio`, hand-made
//! lists); all three mean the same file below the unpacking root. A name
//! is normalized to the first spelling: relative, `/`-separated, without
//! empty, `.` or trailing components, with `..` resolved — and refused if
//! `..` would climb above the root, so an archive can never write outside
//! the directory it is unpacked into. The root itself is named `.`.

use alloc::borrow::Cow;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

/// The name of the unpacking root.
pub const ROOT: &str = ".";

/// Why a name was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NameError {
    /// The name is empty.
    Empty,
    /// The name holds a NUL byte.
    Nul,
    /// A `..` component climbs above the root.
    Escapes,
    /// Longer than [`crate::PATH_MAX`] bytes with its NUL.
    TooLong,
}

impl fmt::Display for NameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            NameError::Empty => "empty name",
            NameError::Nul => "NUL byte inside a name",
            NameError::Escapes => "`..` climbs above the root",
            NameError::TooLong => "name longer than PATH_MAX",
        })
    }
}

/// `raw` in normal form (see the module documentation); borrowed when it
/// already is.
///
/// Fails on an empty name, a NUL inside it, one too long for
/// [`crate::PATH_MAX`], or a `..` that would leave the root.
pub fn normalize(raw: &str) -> Result<Cow<'_, str>, NameError> {
    if raw.is_empty() {
        return Err(NameError::Empty);
    }
    if raw.len() >= crate::PATH_MAX {
        return Err(NameError::TooLong);
    }
    if raw.contains('\0') {
        return Err(NameError::Nul);
    }
    if raw == ROOT || is_normal(raw) {
        return Ok(Cow::Borrowed(raw));
    }
    let mut parts: Vec<&str> = Vec::new();
    for part in raw.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop().ok_or(NameError::Escapes)?;
            }
            _ => parts.push(part),
        }
    }
    if parts.is_empty() {
        return Ok(Cow::Borrowed(ROOT));
    }
    Ok(Cow::Owned(parts.join("/")))
}

/// Whether `name` is already in normal form (and not the root).
fn is_normal(name: &str) -> bool {
    name.split('/').all(|part| !matches!(part, "" | "." | ".."))
}

/// The directory holding `name` (a normalized name): `.` for a top-level
/// name, `None` for the root itself.
pub fn parent(name: &str) -> Option<&str> {
    if name == ROOT {
        return None;
    }
    Some(name.rsplit_once('/').map_or(ROOT, |(dir, _)| dir))
}

/// `name` as an absolute path (`/` for the root), for messages and for
/// unpacking into a tree whose paths start at `/`.
pub fn absolute(name: &str) -> String {
    if name == ROOT {
        return String::from("/");
    }
    let mut path = String::with_capacity(name.len() + 1);
    path.push('/');
    path.push_str(name);
    path
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_three_spellings_agree() {
        for raw in [
            "bin/sh",
            "./bin/sh",
            "/bin/sh",
            "//bin//./sh/",
            "bin/x/../sh",
        ] {
            assert_eq!(normalize(raw).unwrap(), "bin/sh", "{raw}");
        }
        assert!(matches!(normalize("bin/sh"), Ok(Cow::Borrowed(_))));
    }

    #[test]
    fn the_root_has_one_name() {
        for raw in [".", "/", "./", "a/..", "/./.", "./a/../"] {
            assert_eq!(normalize(raw).unwrap(), ROOT, "{raw}");
        }
    }

    #[test]
    fn dot_dot_may_not_leave_the_root() {
        for raw in [
            "..",
            "../etc/passwd",
            "/../x",
            "a/../../x",
            "./..",
            "a/b/../../..",
        ] {
            assert_eq!(normalize(raw), Err(NameError::Escapes), "{raw}");
        }
    }

    #[test]
    fn empty_nul_and_long_names_are_refused() {
        assert_eq!(normalize(""), Err(NameError::Empty));
        assert_eq!(normalize("a\0b"), Err(NameError::Nul));
        let long = "a".repeat(crate::PATH_MAX);
        assert_eq!(normalize(&long), Err(NameError::TooLong));
        assert!(normalize(&long[1..]).is_ok());
    }

    #[test]
    fn dots_inside_a_component_are_ordinary() {
        for raw in ["...", ".profile", "a/..b", "b../c"] {
            assert_eq!(normalize(raw).unwrap(), raw);
        }
    }

    #[test]
    fn parents_and_absolute_paths() {
        assert_eq!(parent("bin/sh"), Some("bin"));
        assert_eq!(parent("bin"), Some(ROOT));
        assert_eq!(parent(ROOT), None);
        assert_eq!(absolute("etc/motd"), "/etc/motd");
        assert_eq!(absolute(ROOT), "/");
    }
}
