//! `make lab-start LAB=n`: a starting tree for lab `n`, exported without
//! history (the history holds the solutions), with the lab's marked
//! blocks replaced by their stubs (crate::markers). Tests are never
//! touched: the lab's tests are what fail until the student is done.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::labs::Lab;
use crate::markers;

/// Where the exported files come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// The last commit (`git archive HEAD`): what a teacher hands out.
    Head,
    /// The working tree as git sees it (tracked and new files, not
    /// ignored ones): what `make test` checks, before a commit.
    Worktree,
}

/// The files of the tree at `root`, relative to it.
fn files(root: &Path, source: Source) -> Result<Vec<PathBuf>, String> {
    let args: &[&str] = match source {
        Source::Head => &["ls-tree", "-r", "-z", "--name-only", "HEAD"],
        Source::Worktree => &["ls-files", "-z", "-co", "--exclude-standard"],
    };
    let out = Command::new("git")
        .args(args)
        .current_dir(root)
        .output()
        .map_err(|e| format!("git: {e}"))?;
    if !out.status.success() {
        return Err(format!("git {} failed in {}", args[0], root.display()));
    }
    Ok(out
        .stdout
        .split(|&b| b == 0)
        .filter(|f| !f.is_empty())
        .map(|f| PathBuf::from(String::from_utf8_lossy(f).into_owned()))
        .collect())
}

/// Copies the tree at `root` to `dest` (which must not exist or be
/// empty), without `.git`.
pub fn export(root: &Path, dest: &Path, source: Source) -> Result<(), String> {
    if dest.exists()
        && fs::read_dir(dest)
            .map_err(|e| format!("{}: {e}", dest.display()))?
            .next()
            .is_some()
    {
        return Err(format!("{} exists and is not empty", dest.display()));
    }
    fs::create_dir_all(dest).map_err(|e| format!("{}: {e}", dest.display()))?;
    match source {
        Source::Head => {
            let archive = Command::new("git")
                .args(["archive", "--format=tar", "HEAD"])
                .current_dir(root)
                .stdout(Stdio::piped())
                .spawn()
                .map_err(|e| format!("git archive: {e}"))?;
            let status = Command::new("tar")
                .arg("-x")
                .arg("-C")
                .arg(dest)
                .stdin(archive.stdout.expect("piped"))
                .status()
                .map_err(|e| format!("tar: {e}"))?;
            if !status.success() {
                return Err("git archive HEAD | tar -x failed".into());
            }
        }
        Source::Worktree => {
            for file in files(root, source)? {
                let from = root.join(&file);
                if !from.is_file() {
                    continue;
                }
                let to = dest.join(&file);
                if let Some(dir) = to.parent() {
                    fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
                }
                fs::copy(&from, &to).map_err(|e| format!("copy {}: {e}", file.display()))?;
            }
        }
    }
    Ok(())
}

/// Makes `dest` a copy of the tree at `root` (as [`Source::Worktree`]
/// sees it) for building again and again: a file is written only when
/// its bytes differ (so its modification time, and the build artifacts
/// cargo keeps in `dest`'s own `target`, stay valid for what did not
/// change), and files the tree no longer has are removed (`target` and
/// `build` are left alone).
pub fn sync(root: &Path, dest: &Path) -> Result<(), String> {
    sync_files(root, dest, &files(root, Source::Worktree)?)
}

/// The files under `root`, relative to it, but those in its top-level
/// `target`, `build` and `.git`.
pub fn walk(root: &Path) -> Result<Vec<PathBuf>, String> {
    let mut found = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let entries = fs::read_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        for entry in entries {
            let path = entry.map_err(|e| format!("{}: {e}", dir.display()))?.path();
            let relative = path.strip_prefix(root).unwrap_or(&path).to_path_buf();
            if path.is_dir() {
                let top = relative.components().count() == 1;
                let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
                if !(top && ["target", "build", ".git"].contains(&name)) {
                    stack.push(path);
                }
            } else if path.is_file() {
                found.push(relative);
            }
        }
    }
    found.sort();
    Ok(found)
}

/// [`sync`] of every file under `root` (a directory that need not be a
/// git tree: a student's submission), as [`walk`] finds them.
pub fn sync_dir(root: &Path, dest: &Path) -> Result<(), String> {
    sync_files(root, dest, &walk(root)?)
}

fn sync_files(root: &Path, dest: &Path, wanted: &[PathBuf]) -> Result<(), String> {
    let mut keep = std::collections::BTreeSet::new();
    for file in wanted {
        let from = root.join(file);
        if !from.is_file() {
            continue;
        }
        keep.insert(file.clone());
        let to = dest.join(file);
        let bytes = fs::read(&from).map_err(|e| format!("{}: {e}", from.display()))?;
        if fs::read(&to).is_ok_and(|old| old == bytes) {
            continue;
        }
        if let Some(dir) = to.parent() {
            fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        }
        fs::write(&to, &bytes).map_err(|e| format!("{}: {e}", to.display()))?;
        // Scripts stay executable.
        let mode = fs::metadata(&from)
            .map_err(|e| e.to_string())?
            .permissions();
        fs::set_permissions(&to, mode).map_err(|e| e.to_string())?;
    }
    let mut stack = vec![dest.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let relative = path.strip_prefix(dest).unwrap_or(&path).to_path_buf();
            if path.is_dir() {
                let top = relative.components().count() == 1;
                let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
                if !(top && (name == "target" || name == "build")) {
                    stack.push(path);
                }
            } else if !keep.contains(&relative) {
                fs::remove_file(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            }
        }
    }
    Ok(())
}

/// Where a stub went in: file, line, what to write.
#[derive(Debug, PartialEq, Eq)]
pub struct Stubbed {
    pub file: PathBuf,
    pub line: usize,
    pub what: String,
}

/// Replaces lab `lab`'s blocks by their stubs in every Rust file of the
/// tree at `dest` (every file's markers are checked, whatever their lab).
pub fn apply(dest: &Path, lab: &Lab) -> Result<Vec<Stubbed>, String> {
    let mut done = Vec::new();
    let mut stack = vec![dest.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let entries = fs::read_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        for entry in entries {
            let path = entry.map_err(|e| format!("{}: {e}", dir.display()))?.path();
            if path.is_dir() {
                let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
                if name != "target" && name != "build" && name != ".git" {
                    stack.push(path);
                }
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let Ok(text) = fs::read_to_string(&path) else {
                continue;
            };
            if !text.contains("// LAB ") {
                continue;
            }
            let relative = path.strip_prefix(dest).unwrap_or(&path).to_path_buf();
            // The tool's own tests hold example markers.
            if relative.starts_with("tests/lab") {
                continue;
            }
            let blocks =
                markers::blocks(&text).map_err(|e| format!("{}: {e}", relative.display()))?;
            let (new, n) = markers::stub_out(&text, lab.number, lab.doc)
                .map_err(|e| format!("{}: {e}", relative.display()))?;
            if n > 0 {
                // Lines as they are in the starting tree.
                let todo = format!("// LAB {} TODO: ", lab.number);
                let lines = new.lines().enumerate().filter(|(_, l)| l.contains(&todo));
                let whats = blocks.into_iter().filter(|b| b.lab == lab.number);
                done.extend(lines.zip(whats).map(|((i, _), b)| Stubbed {
                    file: relative.clone(),
                    line: i + 1,
                    what: b.what,
                }));
                fs::write(&path, new).map_err(|e| format!("{}: {e}", path.display()))?;
            }
        }
    }
    done.sort_by(|a, b| (&a.file, a.line).cmp(&(&b.file, b.line)));
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sync_dir_writes_only_what_changed_and_removes_what_is_gone() {
        let base = std::env::temp_dir().join(format!("lab-sync-{}", std::process::id()));
        let _ = fs::remove_dir_all(&base);
        let (from, to) = (base.join("from"), base.join("to"));
        for (file, text) in [("a.rs", "a"), ("d/b.rs", "b"), ("target/x", "build output")] {
            let path = from.join(file);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, text).unwrap();
        }
        assert_eq!(
            walk(&from).unwrap(),
            vec![PathBuf::from("a.rs"), PathBuf::from("d/b.rs")]
        );
        sync_dir(&from, &to).unwrap();
        assert_eq!(fs::read_to_string(to.join("d/b.rs")).unwrap(), "b");
        assert!(!to.join("target/x").exists());
        let old = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000);
        for f in ["a.rs", "d/b.rs"] {
            fs::File::options()
                .write(true)
                .open(to.join(f))
                .unwrap()
                .set_modified(old)
                .unwrap();
        }
        fs::write(from.join("d/b.rs"), "b2").unwrap();
        fs::remove_file(from.join("a.rs")).unwrap();
        fs::create_dir_all(to.join("target")).unwrap();
        fs::write(to.join("target/kept"), "artifact").unwrap();
        sync_dir(&from, &to).unwrap();
        assert!(!to.join("a.rs").exists());
        assert_eq!(fs::read_to_string(to.join("d/b.rs")).unwrap(), "b2");
        assert_ne!(
            fs::metadata(to.join("d/b.rs")).unwrap().modified().unwrap(),
            old
        );
        assert!(to.join("target/kept").exists());
        fs::write(from.join("c.rs"), "c").unwrap();
        fs::File::options()
            .write(true)
            .open(to.join("d/b.rs"))
            .unwrap()
            .set_modified(old)
            .unwrap();
        sync_dir(&from, &to).unwrap();
        // Unchanged: not written again.
        assert_eq!(
            fs::metadata(to.join("d/b.rs")).unwrap().modified().unwrap(),
            old
        );
        let _ = fs::remove_dir_all(&base);
    }
}
