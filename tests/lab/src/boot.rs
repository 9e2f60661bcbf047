//! `lab boot-check <n>` (make test): a starting point built, booted and
//! graded below full marks without a crash, cheaply. Instead of a full
//! build of the starting tree (`lab grade-starts`, minutes), only the user
//! crates that hold the lab's markers ([`crate::labs::Overlay`]) are built
//! for the guest, in a target directory kept between runs; their binaries
//! replace the boot modules of the same names in a copy of this tree's
//! boot tree (`build/iso_root`, made by `make tree`), and the lab's QEMU
//! parts boot that copy with the test entry's manifest cut down to the
//! test programs those parts check.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::grade::{self, Score};
use crate::labs::{Check, Lab};
use crate::start;

/// `manifest` with its `test` lines cut down to the programs named
/// `keep` (every other line — servers, comments — as it is). Fails if a
/// program of `keep` has no `test` line.
pub fn trim_manifest(manifest: &str, keep: &[&str]) -> Result<String, String> {
    let mut out = String::new();
    let mut found = Vec::new();
    for line in manifest.lines() {
        let mut words = line.split_whitespace();
        if words.next() == Some("test") {
            let name = words.next().unwrap_or("");
            if !keep.contains(&name) {
                continue;
            }
            found.push(name);
        }
        out += line;
        out.push('\n');
    }
    match keep.iter().find(|k| !found.contains(k)) {
        Some(missing) => Err(format!("the manifest has no `test {missing}` line")),
        None => Ok(out),
    }
}

/// The stubbed files (relative to the tree) that lie outside every one
/// of `dirs`.
pub fn outside<'a>(files: &'a [PathBuf], dirs: &[&str]) -> Vec<&'a Path> {
    files
        .iter()
        .filter(|f| !dirs.iter().any(|d| f.starts_with(d)))
        .map(PathBuf::as_path)
        .collect()
}

/// What the boot check found.
#[derive(Debug)]
pub struct Checked {
    pub scores: Vec<Score>,
    /// Seconds spent syncing, stubbing and building, and grading (the
    /// host tests and the boot).
    pub build_s: f64,
    pub grade_s: f64,
}

fn run(cmd: &mut Command, what: &str) -> Result<(), String> {
    let out = cmd.output().map_err(|e| format!("{what}: {e}"))?;
    if out.status.success() {
        return Ok(());
    }
    let err = String::from_utf8_lossy(&out.stderr);
    let tail: Vec<&str> = err.lines().rev().take(15).collect();
    let tail: Vec<&str> = tail.into_iter().rev().collect();
    Err(format!("{what} failed:\n{}", tail.join("\n")))
}

/// The boot check of `lab` from the tree at `here` (built: `make loader
/// tree` and the release harness). The starting tree is kept in
/// `target/lab-boot/quick<n>` (synced, so unchanged files keep their
/// times), its guest crates build into `target/lab-boot/user`, its host
/// tests into `target/lab-boot/host`, and the boot tree is
/// `target/lab-boot/root<n>`. Fails unless the grade is below full marks,
/// every QEMU part's test program ran (to its end, passed or not), and no
/// log shows a kernel panic.
pub fn check(here: &Path, lab: &Lab) -> Result<Checked, String> {
    let clock = std::time::Instant::now();
    if lab.overlay.is_empty() {
        return Err(format!(
            "lab {}'s markers are not all in user crates a boot module is built from: `lab grade-starts {}` builds its whole starting tree",
            lab.number, lab.number
        ));
    }
    let boot = here.join("target/lab-boot");
    let root = here.join("build/iso_root");
    let harness = here.join("target/release/harness");
    let loader = "target/x86_64-unknown-uefi/release/bootx64.efi";
    for need in [root.join("boot/kernel"), harness.clone(), here.join(loader)] {
        if !need.is_file() {
            return Err(format!(
                "{} is missing: `make loader tree` and `cargo build --release -p harness` first",
                need.display()
            ));
        }
    }
    let dest = boot.join(format!("quick{}", lab.number));
    start::sync(here, &dest)?;
    let stubbed = start::apply(&dest, lab)?;
    let files: Vec<PathBuf> = stubbed.iter().map(|s| s.file.clone()).collect();
    let dirs: Vec<&str> = lab.overlay.iter().map(|o| o.dir).collect();
    if stubbed.is_empty() {
        return Err(format!("lab {} stubs nothing", lab.number));
    }
    if let Some(f) = outside(&files, &dirs).first() {
        return Err(format!(
            "lab {}: {} is stubbed but outside its overlay crates {dirs:?} (tests/lab/src/labs.rs)",
            lab.number,
            f.display()
        ));
    }
    println!(
        "lab-boot {}: {} block(s) stubbed in {}; building {}",
        lab.number,
        stubbed.len(),
        dest.display(),
        lab.overlay
            .iter()
            .map(|o| o.package)
            .collect::<Vec<_>>()
            .join(", ")
    );
    let user = boot.join("user");
    for o in lab.overlay {
        run(
            Command::new("cargo")
                .args([
                    "build",
                    "--release",
                    "-q",
                    "--target",
                    "x86_64-unknown-none",
                ])
                .args([
                    "-p",
                    o.package,
                    "--features",
                    &format!("{}/main", o.package),
                ])
                .env("CARGO_TARGET_DIR", &user)
                .current_dir(dest.join("userland")),
            &format!(
                "cargo build -p {} (the starting tree, for the guest)",
                o.package
            ),
        )?;
    }
    // The boot tree: this tree's, the stubbed binaries over it.
    let iso_root = boot.join(format!("root{}", lab.number));
    let _ = fs::remove_dir_all(&iso_root);
    run(
        Command::new("cp").arg("-r").arg(&root).arg(&iso_root),
        "copy build/iso_root",
    )?;
    for o in lab.overlay {
        for bin in o.binaries {
            let built = user.join("x86_64-unknown-none/release").join(bin);
            fs::copy(&built, iso_root.join("boot").join(bin))
                .map_err(|e| format!("{}: {e}", built.display()))?;
        }
    }
    let mut programs: Vec<&str> = Vec::new();
    for part in lab.parts {
        match part.check {
            Check::Qemu {
                case: "guest-suite",
                programs: p,
            } => programs.extend(p),
            Check::Qemu { case, .. } => {
                return Err(format!(
                    "lab {}: the boot check cuts down the test entry's manifest (guest-suite), not {case}'s",
                    lab.number
                ))
            }
            Check::MonoFaster { .. } => {
                return Err(format!("lab {}: the boot check runs no bench", lab.number))
            }
            Check::Tests(_) | Check::Replay { .. } => {}
        }
    }
    let manifest = iso_root.join("boot/manifest.test");
    let text = fs::read_to_string(&manifest).map_err(|e| format!("{}: {e}", manifest.display()))?;
    fs::write(&manifest, trim_manifest(&text, &programs)?)
        .map_err(|e| format!("{}: {e}", manifest.display()))?;
    // mkiso.sh (run by the harness in the starting tree) takes the loader
    // from there.
    let dest_loader = dest.join(loader);
    fs::create_dir_all(dest_loader.parent().expect("a file"))
        .map_err(|e| format!("{}: {e}", dest_loader.display()))?;
    fs::copy(here.join(loader), &dest_loader).map_err(|e| format!("copy the loader: {e}"))?;
    let build_s = clock.elapsed().as_secs_f64();

    // The host parts (the starting tree's own tests, a target directory
    // of their own), then the QEMU parts from the copy.
    let logs = dest.join("build/test-logs");
    let _ = fs::remove_dir_all(&logs);
    let env = grade::Env {
        target_dir: Some(boot.join("host")),
        harness: Some(harness),
        iso_root: Some(iso_root),
    };
    let clock = std::time::Instant::now();
    let scores = grade::grade_in(&dest, lab, false, &env)?;
    let grade_s = clock.elapsed().as_secs_f64();

    let mut text = String::new();
    if let Ok(entries) = fs::read_dir(&logs) {
        for log in entries.flatten() {
            text += &fs::read_to_string(log.path()).unwrap_or_default();
        }
    }
    if let Some(line) = text.lines().find(|l| l.contains("KERNEL PANIC")) {
        return Err(format!(
            "lab {}'s starting point crashed the kernel ({}): {line}",
            lab.number,
            logs.display()
        ));
    }
    for p in &programs {
        if !text.contains(&format!(": test {p} exited with status ")) {
            return Err(format!(
                "lab {}'s starting point booted, but {p} did not run to its end ({})",
                lab.number,
                logs.display()
            ));
        }
    }
    if grade::full_marks(&scores) {
        let (got, of) = grade::totals(&scores);
        return Err(format!(
            "lab {}'s starting point got full marks ({got}/{of})",
            lab.number
        ));
    }
    Ok(Checked {
        scores,
        build_s,
        grade_s,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const MANIFEST: &str = "# servers\nserver mm mm pager\nserver devmgr devmgr spawn\n\n\
        # first\ntest devtest devtest\ntest kvtest kvtest kill=kv\n\
        test edutest edutest kill=spawned:edu\n";

    #[test]
    fn the_manifest_keeps_its_servers_and_the_named_tests() {
        let cut = trim_manifest(MANIFEST, &["edutest"]).unwrap();
        assert_eq!(
            cut,
            "# servers\nserver mm mm pager\nserver devmgr devmgr spawn\n\n# first\n\
             test edutest edutest kill=spawned:edu\n"
        );
        assert_eq!(
            trim_manifest(MANIFEST, &["edutest", "nope"]),
            Err("the manifest has no `test nope` line".into())
        );
    }

    #[test]
    fn stubbed_files_must_be_in_an_overlay_crate() {
        let files = vec![
            PathBuf::from("servers/drivers/edu/src/lib.rs"),
            PathBuf::from("libsys/src/x.rs"),
        ];
        let out = outside(&files, &["servers/drivers/edu"]);
        assert_eq!(out, vec![Path::new("libsys/src/x.rs")]);
        assert!(outside(&files[..1], &["servers/drivers/edu"]).is_empty());
    }

    /// Every lab with an overlay has every marker of its number in the
    /// repository inside the overlay's crates, and the test entry's
    /// manifest runs its QEMU parts' programs.
    #[test]
    fn overlays_hold_every_marker_of_their_lab() {
        let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let mut files = Vec::new();
        let mut stack = vec![repo.clone()];
        while let Some(dir) = stack.pop() {
            for entry in fs::read_dir(&dir).unwrap().flatten() {
                let path = entry.path();
                let name = entry.file_name().to_string_lossy().into_owned();
                if path.is_dir() {
                    if !["target", "build", ".git", "lab"].contains(&name.as_str()) {
                        stack.push(path);
                    }
                } else if name.ends_with(".rs") {
                    files.push(path);
                }
            }
        }
        let manifest =
            fs::read_to_string(repo.join("userland/init/manifests/manifest.test")).unwrap();
        for lab in crate::labs::LABS.iter().filter(|l| !l.overlay.is_empty()) {
            let begin = format!("// LAB {} BEGIN", lab.number);
            let marked: Vec<PathBuf> = files
                .iter()
                .filter(|f| fs::read_to_string(f).unwrap().contains(&begin))
                .map(|f| f.strip_prefix(&repo).unwrap().to_path_buf())
                .collect();
            assert!(!marked.is_empty(), "lab {}", lab.number);
            let dirs: Vec<&str> = lab.overlay.iter().map(|o| o.dir).collect();
            assert!(
                outside(&marked, &dirs).is_empty(),
                "lab {}: {marked:?}",
                lab.number
            );
            for part in lab.parts {
                if let Check::Qemu { programs, .. } = part.check {
                    trim_manifest(&manifest, programs).unwrap();
                }
            }
        }
    }
}
