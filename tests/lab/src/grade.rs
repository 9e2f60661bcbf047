//! `make grade LAB=n`: runs a lab's checks and prints a score per part
//! and a total, xv6-style.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::labs::{Check, Lab};

/// The outcome of each test of a `cargo test` run, by
/// `<binary>::<test path>`: `true` passed.
pub fn parse_test_output(output: &str) -> BTreeMap<String, bool> {
    let mut results = BTreeMap::new();
    let mut binary = String::from("?");
    for line in output.lines() {
        let line = line.trim();
        if let Some(rest) = line.strip_prefix("Running ") {
            // `Running tests/x.rs (target/debug/deps/x-0123abcd)`
            let path = rest
                .rsplit_once('(')
                .map_or(rest, |(_, p)| p.trim_end_matches(')'));
            let file = path.rsplit('/').next().unwrap_or(path);
            binary = file
                .rsplit_once('-')
                .map_or(file, |(name, _)| name)
                .to_string();
        } else if line.starts_with("Doc-tests ") {
            binary = "doc".into();
        } else if let Some(rest) = line.strip_prefix("test ") {
            if let Some((name, outcome)) = rest.rsplit_once(" ... ") {
                let ok = match outcome {
                    "ok" => true,
                    o if o.starts_with("FAILED") => false,
                    _ => continue,
                };
                results.insert(format!("{binary}::{name}"), ok);
            }
        }
    }
    results
}

/// How a part of a lab came out.
#[derive(Debug, PartialEq, Eq)]
pub struct Score {
    pub name: &'static str,
    pub got: u32,
    pub of: u32,
    /// Why points were lost, or `skipped`.
    pub note: String,
}

/// A `Tests` part against the results of the lab's run.
pub fn score_tests(patterns: &[&str], results: &BTreeMap<String, bool>) -> Result<(), String> {
    let matched: Vec<(&String, &bool)> = results
        .iter()
        .filter(|(name, _)| patterns.iter().any(|p| name.contains(p)))
        .collect();
    if matched.is_empty() {
        return Err(format!("no test matching {patterns:?} ran"));
    }
    let failed: Vec<&str> = matched
        .iter()
        .filter(|(_, ok)| !**ok)
        .map(|(name, _)| name.as_str())
        .collect();
    match failed.as_slice() {
        [] => Ok(()),
        [one] => Err(format!("{one} failed")),
        [first, rest @ ..] => Err(format!("{first} and {} more failed", rest.len())),
    }
}

/// Where a grade run builds and boots; the defaults are `make grade`'s:
/// cargo's own target directory, `cargo run -p harness` in the tree,
/// and the tree's `build/iso_root`.
#[derive(Debug, Default)]
pub struct Env {
    /// `CARGO_TARGET_DIR` of the host tests.
    pub target_dir: Option<PathBuf>,
    /// A harness binary built already, run in the tree.
    pub harness: Option<PathBuf>,
    /// The boot tree the harness makes its ISOs from (`ISO_ROOT`).
    pub iso_root: Option<PathBuf>,
}

impl Env {
    /// The harness, run in `root`, with this boot tree.
    fn harness(&self, root: &Path) -> Command {
        let mut cmd = match &self.harness {
            Some(path) => Command::new(path),
            None => {
                let mut cmd = Command::new("cargo");
                cmd.args(["run", "--release", "-q", "-p", "harness", "--"]);
                cmd
            }
        };
        if let Some(dir) = &self.iso_root {
            cmd.env("ISO_ROOT", dir);
        }
        cmd.current_dir(root);
        cmd
    }
}

/// Runs the lab's host tests once (`cargo test -p …`) in `root`.
fn run_tests(root: &Path, lab: &Lab, env: &Env) -> Result<BTreeMap<String, bool>, String> {
    // One stream, so that each test line follows its binary's `Running`
    // line (cargo writes those to stderr, the tests to stdout).
    let mut script = String::from("exec cargo test --no-fail-fast");
    for package in lab.packages {
        script += &format!(" -p {package}");
    }
    script += " 2>&1";
    let mut cmd = Command::new("sh");
    cmd.args(["-c", &script]).current_dir(root);
    if let Some(dir) = &env.target_dir {
        cmd.env("CARGO_TARGET_DIR", dir);
    }
    let out = cmd
        .output()
        .map_err(|e| format!("cannot run cargo test: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let results = parse_test_output(&text);
    if results.is_empty() {
        let tail: Vec<&str> = text.lines().rev().take(12).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        return Err(format!(
            "the tests did not build or run:\n{}",
            tail.join("\n")
        ));
    }
    Ok(results)
}

/// Replays `trace` against `server`'s core as the tree at `root` has it:
/// in this process for this tree, else with that tree's `lab` (built
/// there, with its core: a starting point's stub fails its replay).
fn replay_in(root: &Path, server: &str, trace: &str, env: &Env) -> Result<(), String> {
    let here = std::env::current_dir().and_then(|d| d.canonicalize()).ok();
    if root.canonicalize().ok() == here {
        return fs::read_to_string(root.join(trace))
            .map_err(|e| format!("{trace}: {e}"))
            .and_then(|text| crate::trace::replay_server(server, &text))
            .map(|_| ());
    }
    let mut cmd = Command::new("cargo");
    cmd.args(["run", "-q", "-p", "lab", "--", "replay", server, trace])
        .current_dir(root);
    if let Some(dir) = &env.target_dir {
        cmd.env("CARGO_TARGET_DIR", dir);
    }
    let out = cmd
        .output()
        .map_err(|e| format!("cannot run the tree's replay: {e}"))?;
    if out.status.success() {
        return Ok(());
    }
    // `replay <server> <trace>: <the first difference>`, or why it did
    // not build.
    let text = String::from_utf8_lossy(&out.stdout);
    let why = match text.lines().last() {
        Some(line) => line
            .split_once(": ")
            .map_or(line, |(_, why)| why)
            .to_string(),
        None => {
            let err = String::from_utf8_lossy(&out.stderr);
            let tail: Vec<&str> = err.lines().rev().take(6).collect();
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        }
    };
    Err(why)
}

/// Boots harness case `case` (once per grade run) and returns its logs.
pub fn run_case(root: &Path, case: &str) -> Result<String, String> {
    run_case_in(root, case, &Env::default())
}

fn run_case_in(root: &Path, case: &str, env: &Env) -> Result<String, String> {
    let status = env
        .harness(root)
        .env("HARNESS_CASES", case)
        .status()
        .map_err(|e| format!("cannot run the harness: {e}"))?;
    let mut logs = String::new();
    for ext in ["log", "debug.log"] {
        let path = root.join(format!("build/test-logs/{case}.{ext}"));
        logs += &fs::read_to_string(&path).unwrap_or_default();
    }
    if logs.is_empty() {
        return Err(format!(
            "the {case} case left no log (harness status {status})"
        ));
    }
    Ok(logs)
}

/// Whether init's line says test program `name` ended with all its checks
/// passed: `init[1]: test <name> exited with status …: N passed, 0 failed (ok)`.
pub fn test_passed(logs: &str, name: &str) -> bool {
    let head = format!(": test {name} exited with status ");
    logs.lines()
        .any(|l| l.contains(&head) && l.trim_end().ends_with(", 0 failed (ok)"))
}

/// The median of `BENCH <name> placement=<p> accel=icount median=<n>`.
pub fn bench_median(logs: &str, name: &str, placement: &str) -> Option<u64> {
    let head = format!("BENCH {name} placement={placement} accel=icount ");
    logs.lines()
        .filter_map(|l| l.find(&head).map(|at| &l[at + head.len()..]))
        .flat_map(|rest| rest.split_whitespace())
        .find_map(|w| w.strip_prefix("median=")?.parse().ok())
}

fn run_bench(root: &Path, env: &Env) -> Result<String, String> {
    let out = env
        .harness(root)
        .arg("bench")
        .env("BENCH_RUNS", "micro-icount,mono-icount")
        .output()
        .map_err(|e| format!("cannot run the bench: {e}"))?;
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Grades `lab` in the tree at `root`; `host_only` skips the parts that
/// boot QEMU. Returns the scores.
pub fn grade(root: &Path, lab: &Lab, host_only: bool) -> Result<Vec<Score>, String> {
    grade_in(root, lab, host_only, &Env::default())
}

/// [`grade`], building and booting as `env` says.
pub fn grade_in(root: &Path, lab: &Lab, host_only: bool, env: &Env) -> Result<Vec<Score>, String> {
    if let Some(why) = lab.ungraded {
        return Err(format!("lab {} is not graded: {why}", lab.number));
    }
    let tests = if lab.parts.iter().any(|p| matches!(p.check, Check::Tests(_))) {
        Some(run_tests(root, lab, env))
    } else {
        None
    };
    let mut cases: BTreeMap<&str, Result<String, String>> = BTreeMap::new();
    let mut bench: Option<Result<String, String>> = None;
    let mut scores = Vec::new();
    for part in lab.parts {
        if host_only && !part.check.host() {
            scores.push(Score {
                name: part.name,
                got: 0,
                of: part.points,
                note: "skipped (host only)".into(),
            });
            continue;
        }
        let outcome = match part.check {
            Check::Tests(patterns) => match tests.as_ref().expect("run above") {
                Ok(results) => score_tests(patterns, results),
                Err(e) => Err(e.clone()),
            },
            Check::Replay { server, trace } => replay_in(root, server, trace, env),
            Check::Qemu { case, programs } => {
                let logs = cases
                    .entry(case)
                    .or_insert_with(|| run_case_in(root, case, env));
                match logs {
                    Ok(logs) => match programs.iter().find(|p| !test_passed(logs, p)) {
                        None => Ok(()),
                        Some(failed) => Err(format!(
                            "{failed} did not pass (build/test-logs/{case}.debug.log)"
                        )),
                    },
                    Err(e) => Err(e.clone()),
                }
            }
            Check::MonoFaster { bench: name } => {
                let logs = bench.get_or_insert_with(|| run_bench(root, env));
                match logs {
                    Ok(logs) => match (
                        bench_median(logs, name, "micro"),
                        bench_median(logs, name, "mono"),
                    ) {
                        (Some(micro), Some(mono)) if mono < micro => Ok(()),
                        (Some(micro), Some(mono)) => Err(format!(
                            "{name}: {mono} instructions in the kernel, {micro} in a process"
                        )),
                        _ => Err(format!("no BENCH {name} line for both placements")),
                    },
                    Err(e) => Err(e.clone()),
                }
            }
        };
        scores.push(match outcome {
            Ok(()) => Score {
                name: part.name,
                got: part.points,
                of: part.points,
                note: String::new(),
            },
            Err(why) => Score {
                name: part.name,
                got: 0,
                of: part.points,
                note: why,
            },
        });
    }
    Ok(scores)
}

/// The score lines: one per part, then the total.
pub fn report(lab: &Lab, scores: &[Score]) -> String {
    let mut text = String::new();
    for s in scores {
        let note = if s.note.is_empty() {
            String::new()
        } else {
            format!("  ({})", s.note.lines().next().unwrap_or(""))
        };
        text += &format!("{}: {} {}/{}{note}\n", lab.name, s.name, s.got, s.of);
    }
    let (got, of) = totals(scores);
    let skipped: u32 = scores.iter().filter(|s| skipped(s)).map(|s| s.of).sum();
    let skipped = if skipped > 0 {
        format!(" ({skipped} more in QEMU, not run)")
    } else {
        String::new()
    };
    text += &format!(
        "lab {} ({}): total {got}/{of}{skipped}\n",
        lab.number, lab.name
    );
    text
}

fn skipped(score: &Score) -> bool {
    score.note.starts_with("skipped")
}

/// Points got and possible, over the parts that ran.
pub fn totals(scores: &[Score]) -> (u32, u32) {
    scores
        .iter()
        .filter(|s| !skipped(s))
        .fold((0, 0), |(g, o), s| (g + s.got, o + s.of))
}

/// Full marks on the parts that ran (skipped ones do not count against).
pub fn full_marks(scores: &[Score]) -> bool {
    scores.iter().all(|s| s.got == s.of || skipped(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    const OUTPUT: &str = "
     Running unittests src/lib.rs (target/debug/deps/buddy-0a1b2c)
test zone::tests::x ... ok
     Running tests/fragmentation.rs (target/debug/deps/fragmentation-99ff)
test fragmentation_and_coalescing ... FAILED
test ignored_one ... ignored
   Doc-tests buddy
test src/lib.rs - (line 3) ... ok
";

    #[test]
    fn test_lines_are_named_by_their_binary() {
        let r = parse_test_output(OUTPUT);
        assert_eq!(r.len(), 3);
        assert!(r["buddy::zone::tests::x"]);
        assert!(!r["fragmentation::fragmentation_and_coalescing"]);
        assert!(r.contains_key("doc::src/lib.rs - (line 3)"));
    }

    #[test]
    fn a_part_needs_every_matching_test_and_at_least_one() {
        let r = parse_test_output(OUTPUT);
        assert_eq!(score_tests(&["zone::"], &r), Ok(()));
        assert_eq!(
            score_tests(&["fragmentation"], &r),
            Err("fragmentation::fragmentation_and_coalescing failed".into())
        );
        assert!(score_tests(&["nothing"], &r)
            .unwrap_err()
            .contains("no test matching"));
    }

    #[test]
    fn the_report_is_one_line_a_part_and_a_total() {
        let lab = crate::labs::lab(2).unwrap();
        let scores = [
            Score {
                name: "split/merge",
                got: 20,
                of: 20,
                note: String::new(),
            },
            Score {
                name: "fragmentation",
                got: 0,
                of: 10,
                note: "x failed\nmore".into(),
            },
        ];
        assert_eq!(
            report(lab, &scores),
            "buddy: split/merge 20/20\nbuddy: fragmentation 0/10  (x failed)\nlab 2 (buddy): total 20/30\n"
        );
        assert!(!full_marks(&scores));
        assert_eq!(totals(&scores), (20, 30));
        let host = [
            Score {
                name: "a",
                got: 5,
                of: 5,
                note: String::new(),
            },
            Score {
                name: "b",
                got: 0,
                of: 10,
                note: "skipped (host only)".into(),
            },
        ];
        assert!(full_marks(&host));
        assert_eq!(totals(&host), (5, 5));
        assert!(report(lab, &host).ends_with("total 5/5 (10 more in QEMU, not run)\n"));
    }

    #[test]
    fn a_test_program_passed_by_inits_line() {
        let logs = "init[50]: test kvtest exited with status 327680: 5 passed, 0 failed (ok)\n\
                    init[50]: test mmtest exited with status 256: 4 passed, 10 failed (ok)\n\
                    init[50]: test wait1test was killed by page fault: 1 passed, 0 failed\n";
        assert!(test_passed(logs, "kvtest"));
        assert!(!test_passed(logs, "mmtest"));
        assert!(!test_passed(logs, "wait1test"));
        assert!(!test_passed(logs, "kv"));
    }

    #[test]
    fn bench_lines_give_the_median_per_placement() {
        let logs = "BENCH kv_get placement=micro accel=icount median=5000 p90=1\n\
                    x: BENCH kv_get placement=mono accel=icount median=900 p90=2\n\
                    BENCH kv_get placement=mono accel=tcg median=7\n";
        assert_eq!(bench_median(logs, "kv_get", "micro"), Some(5000));
        assert_eq!(bench_median(logs, "kv_get", "mono"), Some(900));
        assert_eq!(bench_median(logs, "kv_put", "mono"), None);
    }
}
