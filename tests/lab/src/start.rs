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
    let wanted = files(root, Source::Worktree)?;
    let mut keep = std::collections::BTreeSet::new();
    for file in &wanted {
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
