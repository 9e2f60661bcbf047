//! `lab`: the labs' command line (docs/labs/README.md).
//!
//! ```text
//! lab start <n> [dest] [--worktree]   a starting tree for lab n
//! lab grade <n> [--host] [--root dir] score lab n (exit 0 at full marks)
//! lab grade-all [--host]              every lab
//! lab replay <server> <trace>         replay a trace against the core
//! lab extract <log> <server> <out>    a trace from a log's REC lines
//! lab check-starts                    make test: every starting point
//! lab grade-starts [n...] [--quick]   starting points built, booted, graded
//! lab boot-check <n>                  make test: one starting point booted, cheaply
//! lab sync <from> <to>                to = from, writing only changed files
//! ```

use std::path::{Path, PathBuf};
use std::process::Command;
use std::{env, fs};

use lab::grade::{full_marks, grade, report, totals};
use lab::labs::{self, Lab, LABS};
use lab::start::{self, Source};
use lab::trace;

fn usage() -> ! {
    eprintln!(
        "usage: lab start <n> [dest] [--worktree] | grade <n> [--host] [--root dir] | grade-all [--host]\n       | replay <server> <trace> | extract <log> <server> <out> | check-starts | grade-starts [n...] | boot-check <n> | sync <from> <to>"
    );
    std::process::exit(2)
}

fn lab_arg(arg: Option<&String>) -> &'static Lab {
    let n: u32 = arg.and_then(|a| a.parse().ok()).unwrap_or_else(|| usage());
    labs::lab(n).unwrap_or_else(|| {
        eprintln!("lab: no lab {n} (the labs are 1 to {})", LABS.len());
        std::process::exit(2)
    })
}

fn fail(why: String) -> ! {
    eprintln!("lab: {why}");
    std::process::exit(1)
}

/// `lab start`: exports, stubs, says where to begin.
fn start_cmd(lab: &Lab, dest: &Path, source: Source) -> Result<(), String> {
    start::export(Path::new("."), dest, source)?;
    let stubbed = start::apply(dest, lab)?;
    println!(
        "lab {} ({}): starting tree in {} ({})",
        lab.number,
        lab.name,
        dest.display(),
        match source {
            Source::Head => "the last commit, without history",
            Source::Worktree => "the working tree, without history",
        }
    );
    println!("read {} first", lab.doc);
    if stubbed.is_empty() {
        println!("nothing is stubbed out for this lab: its work is measuring and changing the running system");
    }
    for s in &stubbed {
        let what = if s.what.is_empty() {
            "your code"
        } else {
            &s.what
        };
        println!("begin at {}:{}: {what}", s.file.display(), s.line);
    }
    println!(
        "then: make grade LAB={} (in {})",
        lab.number,
        dest.display()
    );
    Ok(())
}

/// Grades one lab, prints its lines; returns (got, of, full).
fn grade_cmd(root: &Path, lab: &Lab, host_only: bool) -> Result<(u32, u32, bool), String> {
    let scores = grade(root, lab, host_only)?;
    print!("{}", report(lab, &scores));
    let (got, of) = totals(&scores);
    Ok((got, of, full_marks(&scores)))
}

/// For make test: every lab's starting point generated; all of them at
/// once checked to build (`cargo check` of the host crates the markers
/// touch, tests included, and of the kernel); lab 2's starting point graded on the host,
/// which must give less than full marks without crashing.
fn check_starts() -> Result<(), String> {
    let here = env::current_dir().map_err(|e| e.to_string())?;
    // A target directory of their own: cargo names a workspace's files by
    // their path relative to its root, so a stubbed tree building into
    // ours would leave stubbed artifacts that look fresh to this tree.
    let target = here.join("target/lab-starts");
    let base = env::temp_dir().join(format!("microkernel-lab-starts-{}", std::process::id()));
    let _ = fs::remove_dir_all(&base);
    let result = (|| {
        let all = base.join("all");
        start::export(&here, &all, Source::Worktree)?;
        for lab in LABS {
            let stubbed = start::apply(&all, lab)?;
            println!(
                "lab-start {}: {} block(s) stubbed",
                lab.number,
                stubbed.len()
            );
        }
        let left = Command::new("grep")
            .args([
                "-rln",
                "--include=*.rs",
                "--exclude-dir=lab",
                "// LAB [0-9]* BEGIN",
            ])
            .arg(&all)
            .output()
            .map_err(|e| e.to_string())?;
        if !left.stdout.is_empty() {
            return Err(format!(
                "markers left after every lab was stubbed:\n{}",
                String::from_utf8_lossy(&left.stdout)
            ));
        }
        let status = Command::new("cargo")
            .args(["check", "-q", "--tests"])
            .args(["-p", "kv", "-p", "buddy", "-p", "kmem", "-p", "wait1"])
            .args(["-p", "libsys", "-p", "mm", "-p", "vfs", "-p", "edu"])
            .env("CARGO_TARGET_DIR", &target)
            .current_dir(&all)
            .status()
            .map_err(|e| e.to_string())?;
        if !status.success() {
            return Err("cargo check of the starting points failed".into());
        }
        // Lab 8's stub is in the kernel, built for its own target.
        let status = Command::new("cargo")
            .args(["check", "-q", "--target", "x86_64-unknown-none"])
            .env("CARGO_TARGET_DIR", here.join("target/lab-starts-kernel"))
            .current_dir(all.join("microkernel"))
            .status()
            .map_err(|e| e.to_string())?;
        if !status.success() {
            return Err("cargo check of the stubbed kernel failed".into());
        }
        println!("lab-start: every starting point builds (cargo check of the host crates and the kernel)");
        let two = base.join("lab2");
        start::export(&here, &two, Source::Worktree)?;
        let lab = labs::lab(2).expect("lab 2");
        start::apply(&two, lab)?;
        env::set_var("CARGO_TARGET_DIR", &target);
        let scores = grade(&two, lab, true)?;
        print!("{}", report(lab, &scores));
        let (got, of) = totals(&scores);
        if full_marks(&scores) {
            return Err(format!(
                "lab 2's starting point got full marks ({got}/{of})"
            ));
        }
        println!(
            "lab-start 2: the starting point grades {got}/{of} (below full marks, as it must)"
        );
        Ok(())
    })();
    let _ = fs::remove_dir_all(&base);
    result
}

/// A starting point built, booted and graded: lab `lab`'s stubs on a copy
/// of the working tree kept in `target/lab-boot/lab<n>` (synced, so that
/// after the first run only what the stubs change is rebuilt), `make
/// loader tree` there, then its whole grade — the host tests and the
/// QEMU parts booted from that tree. It must end below full marks, and
/// no boot may have ended in a kernel panic.
///
/// `quick` (make test's check): the host parts only, and the boot is the
/// harness's `devices-pc` case (the test entry up to its first test
/// program), which a starting point must pass: it boots and serves.
fn grade_start(here: &Path, lab: &Lab, quick: bool) -> Result<(u32, u32), String> {
    let dest = here.join(format!("target/lab-boot/lab{}", lab.number));
    start::sync(here, &dest)?;
    let stubbed = start::apply(&dest, lab)?;
    if stubbed.is_empty() {
        return Err(format!(
            "lab {} stubs nothing: its starting tree is this one",
            lab.number
        ));
    }
    println!(
        "lab-start {}: {} block(s) stubbed in {}; building it",
        lab.number,
        stubbed.len(),
        dest.display()
    );
    let _ = fs::remove_dir_all(dest.join("build/test-logs"));
    let built = Command::new("make")
        .args(["-s", "loader", "tree"])
        .current_dir(&dest)
        .output()
        .map_err(|e| format!("make: {e}"))?;
    if !built.status.success() {
        let err = String::from_utf8_lossy(&built.stderr);
        let tail: Vec<&str> = err.lines().rev().take(15).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        return Err(format!(
            "lab {}'s starting point does not build:\n{}",
            lab.number,
            tail.join("\n")
        ));
    }
    let scores = grade(&dest, lab, quick)?;
    print!("{}", report(lab, &scores));
    let (got, of) = totals(&scores);
    if quick {
        let logs = lab::grade::run_case(&dest, "devices-pc")?;
        if !logs.contains("devtest: all checks passed") {
            return Err(format!(
                "lab {}'s starting point did not boot to its first test (build/test-logs/devices-pc.log in {})",
                lab.number,
                dest.display()
            ));
        }
    } else if !lab.parts.iter().any(|p| !p.check.host()) {
        // A lab graded on the host alone: its tree must still boot.
        lab::grade::run_case(&dest, "guest-suite")?;
    }
    if full_marks(&scores) {
        return Err(format!(
            "lab {}'s starting point got full marks ({got}/{of})",
            lab.number
        ));
    }
    if let Ok(logs) = fs::read_dir(dest.join("build/test-logs")) {
        for log in logs.flatten() {
            let text = fs::read_to_string(log.path()).unwrap_or_default();
            if let Some(line) = text.lines().find(|l| l.contains("KERNEL PANIC")) {
                return Err(format!(
                    "lab {}'s starting point crashed the kernel ({}): {line}",
                    lab.number,
                    log.path().display()
                ));
            }
        }
    }
    Ok((got, of))
}

/// `grade-starts`: labs `numbers` (every lab with stubs when empty).
fn grade_starts(numbers: &[u32], quick: bool) -> Result<(), String> {
    let here = env::current_dir().map_err(|e| e.to_string())?;
    let labs: Vec<&Lab> = if numbers.is_empty() {
        LABS.iter().filter(|l| l.number != 10).collect() // lab 10 stubs nothing
    } else {
        numbers
            .iter()
            .map(|&n| labs::lab(n).ok_or(format!("no lab {n}")))
            .collect::<Result<_, _>>()?
    };
    let started = std::time::Instant::now();
    let mut failed = Vec::new();
    for lab in labs {
        match grade_start(&here, lab, quick) {
            Ok((got, of)) => println!(
                "lab-start {}: built, booted, graded {got}/{of}: below full marks, no crash ({} s so far)",
                lab.number,
                started.elapsed().as_secs()
            ),
            Err(e) => {
                println!("lab-start {}: {e}", lab.number);
                failed.push(lab.number);
            }
        }
    }
    if failed.is_empty() {
        Ok(())
    } else {
        Err(format!("starting points that failed: {failed:?}"))
    }
}

fn main() {
    let args: Vec<String> = env::args().skip(1).collect();
    let flag = |f: &str| args.iter().any(|a| a == f);
    let positional: Vec<&String> = args.iter().filter(|a| !a.starts_with("--")).collect();
    match positional.first().map(|s| s.as_str()) {
        Some("start") => {
            let lab = lab_arg(positional.get(1).copied());
            let dest = positional.get(2).map_or_else(
                || PathBuf::from(format!("build/lab{}", lab.number)),
                PathBuf::from,
            );
            let source = if flag("--worktree") {
                Source::Worktree
            } else {
                Source::Head
            };
            if let Err(e) = start_cmd(lab, &dest, source) {
                fail(e)
            }
        }
        Some("grade") => {
            let lab = lab_arg(positional.get(1).copied());
            let root = args
                .iter()
                .position(|a| a == "--root")
                .and_then(|i| args.get(i + 1))
                .map_or_else(|| PathBuf::from("."), PathBuf::from);
            match grade_cmd(&root, lab, flag("--host")) {
                Ok((_, _, true)) => {}
                Ok(_) => std::process::exit(1),
                Err(e) => fail(e),
            }
        }
        Some("grade-all") => {
            let (mut got, mut of, mut full) = (0, 0, true);
            for lab in LABS {
                match grade_cmd(Path::new("."), lab, flag("--host")) {
                    Ok((g, o, f)) => {
                        got += g;
                        of += o;
                        full &= f;
                    }
                    Err(e) if lab.ungraded.is_some() => println!("lab {}: {e}", lab.number),
                    Err(e) => {
                        println!("lab {}: {e}", lab.number);
                        full = false;
                    }
                }
            }
            println!("all labs: {got}/{of}");
            if !full {
                std::process::exit(1);
            }
        }
        Some("replay") => {
            let (Some(server), Some(path)) = (positional.get(1), positional.get(2)) else {
                usage()
            };
            let text = fs::read_to_string(path).unwrap_or_else(|e| fail(format!("{path}: {e}")));
            match trace::replay_server(server, &text) {
                Ok(r) => println!(
                    "replay {server} {path}: {} request(s), {} repl(ies), all match",
                    r.requests, r.replies
                ),
                Err(e) => {
                    println!("replay {server} {path}: {e}");
                    std::process::exit(1)
                }
            }
        }
        Some("extract") => {
            let (Some(log), Some(server), Some(out)) =
                (positional.get(1), positional.get(2), positional.get(3))
            else {
                usage()
            };
            let text = fs::read_to_string(log).unwrap_or_else(|e| fail(format!("{log}: {e}")));
            let lines = trace::extract(&text, server);
            let parsed = match server.as_str() {
                "mm" => trace::parse_mm(&lines.join("\n")).map(drop),
                _ => trace::check(&lines.join("\n"), server),
            };
            if let Err(e) = parsed {
                fail(format!(
                    "{log}: the REC lines of {server} do not parse: {e}"
                ));
            }
            if lines.is_empty() {
                fail(format!(
                    "{log}: no REC {server} lines (was it booted with `record`?)"
                ));
            }
            let header = if server.as_str() == "vfs" {
                "# A trace of `vfs` recorded by `make traces` (the posix entry, booted\n# with `record=8000` on vfs's manifest line): replayed by `make replay` and lab 7's grader.\n".to_string()
            } else {
                format!(
                    "# A trace of `{server}` recorded by `make traces` (the test entry, booted\n# with `record` on {server}'s module): replayed by `make replay` and the labs' graders.\n"
                )
            };
            if let Err(e) = fs::write(out, header + &lines.join("\n") + "\n") {
                fail(format!("{out}: {e}"));
            }
            println!("{out}: {} line(s) of {server}", lines.len());
        }
        Some("grade-starts") => {
            let numbers: Vec<u32> = positional[1..]
                .iter()
                .map(|n| n.parse().unwrap_or_else(|_| usage()))
                .collect();
            if let Err(e) = grade_starts(&numbers, flag("--quick")) {
                fail(e)
            }
        }
        Some("boot-check") => {
            let lab = lab_arg(positional.get(1).copied());
            let here = env::current_dir().unwrap_or_else(|e| fail(e.to_string()));
            match lab::boot::check(&here, lab) {
                Ok(c) => {
                    print!("{}", report(lab, &c.scores));
                    let (got, of) = totals(&c.scores);
                    println!(
                        "lab-boot {}: stubbed, built ({:.0} s), booted and graded ({:.0} s): {got}/{of}, below full marks, no crash",
                        lab.number, c.build_s, c.grade_s
                    );
                }
                Err(e) => fail(e),
            }
        }
        Some("sync") => {
            let (Some(from), Some(to)) = (positional.get(1), positional.get(2)) else {
                usage()
            };
            if let Err(e) = start::sync_dir(Path::new(from), Path::new(to)) {
                fail(e)
            }
        }
        Some("check-starts") => {
            if let Err(e) = check_starts() {
                fail(e)
            }
        }
        _ => usage(),
    }
}
