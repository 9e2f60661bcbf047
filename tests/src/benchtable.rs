//! The one table `make bench` ends with: a row per operation, the two
//! placements side by side under icount (instructions) and TCG (host
//! time, in TSC ticks), their ratio, and Linux 6.1's figure from the same
//! QEMU (`tests/fixtures/linux-bench.txt`, or the `build/bench-linux.txt`
//! of a `make bench-linux` run on this machine). Written as Markdown
//! (`build/bench.md`, also printed) and JSON (`build/bench.json`).

use crate::Bench;

/// The operations a class compares, in the order the table lists them
/// (issue 16's rows); any other case measured follows in the order the
/// guest printed it.
pub const ROWS: &[&str] = &[
    "null_syscall",
    "ipc_rtt_reg",
    "getppid",
    "read_4k_cached",
    "read_4k_cached_ext2",
    "open_close",
    "stat",
    "pwrite_4k",
    "readdir_64",
    "create_unlink",
    "pipe_4k",
    "pipe_rtt",
    "mm_fault",
    "mmap_file_fault",
    "mmap_touch_munmap",
    "fork_exit_wait",
    "fork_exec_wait",
    "spawn_true",
    "kv_get",
    "kmalloc64",
    "blk_read_4k",
    "blk_read_4k_vda",
];

/// Linux's case for one of ours where the names differ: our
/// `blk_read_4k` reads the block server's RAM disk, the figure to stand
/// beside it is Linux's read of its RAM disk (`brd`); Linux's own
/// `blk_read_4k` (virtio-blk, the thread's CPU time) has no counterpart
/// in instructions here (`blk_read_4k_vda` includes the wait).
pub fn linux_case(case: &str) -> &str {
    match case {
        "blk_read_4k" => "blk_read_4k_ramdisk",
        other => other,
    }
}

/// The placement whose icount figures are Linux's column: a CPU without
/// ERMS, where `rep movsb` counts as our 8-byte copies do
/// (docs/linux-figures.md).
pub const LINUX: &str = "linux-noerms";

/// One row of the table: the medians, `None` where not measured.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Row {
    pub case: String,
    pub micro_icount: Option<u64>,
    pub mono_icount: Option<u64>,
    pub micro_tcg: Option<u64>,
    pub mono_tcg: Option<u64>,
    pub linux_icount: Option<u64>,
}

impl Row {
    /// micro / mono under icount.
    pub fn ratio(&self) -> Option<f64> {
        ratio(self.micro_icount?, self.mono_icount?)
    }

    /// micro / Linux under icount.
    pub fn over_linux(&self) -> Option<f64> {
        ratio(self.micro_icount?, self.linux_icount?)
    }
}

fn ratio(a: u64, b: u64) -> Option<f64> {
    (b > 0).then(|| a as f64 / b as f64)
}

/// The rows for `ours` (the guest's lines) beside `linux` (lines with
/// placement [`LINUX`]): every case of [`ROWS`] that either measured,
/// then the rest of ours. Cases only Linux has beyond [`ROWS`] are left
/// out (nothing to compare).
pub fn rows(ours: &[Bench], linux: &[Bench]) -> Vec<Row> {
    let median = |set: &[Bench], case: &str, placement: &str, accel: &str| {
        set.iter()
            .find(|b| b.case == case && b.placement == placement && b.accel == accel)
            .map(|b| b.median)
    };
    let mut cases: Vec<&str> = ROWS.to_vec();
    for b in ours {
        if !cases.contains(&b.case.as_str()) {
            cases.push(&b.case);
        }
    }
    cases
        .into_iter()
        .map(|case| Row {
            case: case.to_string(),
            micro_icount: median(ours, case, "micro", "icount"),
            mono_icount: median(ours, case, "mono", "icount"),
            micro_tcg: median(ours, case, "micro", "tcg"),
            mono_tcg: median(ours, case, "mono", "tcg"),
            linux_icount: median(linux, linux_case(case), LINUX, "icount"),
        })
        .filter(|r| {
            r.micro_icount.is_some()
                || r.mono_icount.is_some()
                || r.micro_tcg.is_some()
                || r.mono_tcg.is_some()
                || r.linux_icount.is_some()
        })
        .collect()
}

fn cell(v: Option<u64>) -> String {
    v.map_or_else(|| "-".to_string(), |v| v.to_string())
}

fn cell_ratio(v: Option<f64>) -> String {
    v.map_or_else(|| "-".to_string(), |v| format!("{v:.2}"))
}

/// The table as Markdown, with a line saying where Linux's figures came
/// from.
pub fn markdown(rows: &[Row], linux_source: &str) -> String {
    let mut out = String::from(
        "| operation | micro icount | mono icount | micro/mono | micro tcg | mono tcg | Linux icount | micro/Linux |\n\
         | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n",
    );
    for r in rows {
        out += &format!(
            "| `{}` | {} | {} | {} | {} | {} | {} | {} |\n",
            r.case,
            cell(r.micro_icount),
            cell(r.mono_icount),
            cell_ratio(r.ratio()),
            cell(r.micro_tcg),
            cell(r.mono_tcg),
            cell(r.linux_icount),
            cell_ratio(r.over_linux()),
        );
    }
    out += &format!(
        "\nicount: instructions (`-icount shift=0`), medians of 51 batches; tcg: TSC ticks of host time, \
         noisy; Linux: Linux 6.1 in the same QEMU without ERMS ({linux_source}).\n"
    );
    out
}

/// A JSON string literal.
fn json_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out += "\\\"",
            '\\' => out += "\\\\",
            c if (c as u32) < 0x20 => out += &format!("\\u{:04x}", c as u32),
            c => out.push(c),
        }
    }
    out + "\""
}

fn json_number(v: Option<u64>) -> String {
    v.map_or_else(|| "null".to_string(), |v| v.to_string())
}

fn json_ratio(v: Option<f64>) -> String {
    v.map_or_else(|| "null".to_string(), |v| format!("{v:.4}"))
}

/// The table as JSON: `{"linux_source": …, "rows": [{"case": …,
/// "micro_icount": n|null, …}]}`.
pub fn json(rows: &[Row], linux_source: &str) -> String {
    let body: Vec<String> = rows
        .iter()
        .map(|r| {
            format!(
                "    {{\"case\": {}, \"micro_icount\": {}, \"mono_icount\": {}, \"micro_over_mono\": {}, \
                 \"micro_tcg\": {}, \"mono_tcg\": {}, \"linux_icount\": {}, \"micro_over_linux\": {}}}",
                json_string(&r.case),
                json_number(r.micro_icount),
                json_number(r.mono_icount),
                json_ratio(r.ratio()),
                json_number(r.micro_tcg),
                json_number(r.mono_tcg),
                json_number(r.linux_icount),
                json_ratio(r.over_linux()),
            )
        })
        .collect();
    format!(
        "{{\n  \"linux_source\": {},\n  \"rows\": [\n{}\n  ]\n}}\n",
        json_string(linux_source),
        body.join(",\n")
    )
}

/// The `BENCH` lines of a file's text (comments and other lines skipped).
pub fn parse_lines(text: &str) -> Vec<Bench> {
    text.lines().filter_map(crate::parse_bench).collect()
}

/// One `BREAKDOWN` line of a kernel built with the cost meter:
/// `BREAKDOWN <case> placement=<p> <phase>=<n>… total=<n> meter=<n>
/// events: <event>=<x.yy>… n=<iterations>` (per iteration).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Breakdown {
    pub case: String,
    pub placement: String,
    /// Instructions (TSC ticks) per phase, in the line's order.
    pub phases: Vec<(String, u64)>,
    pub total: u64,
    /// The probes' own estimated share of `total`.
    pub meter: u64,
    /// Events per iteration, in the line's order.
    pub events: Vec<(String, f64)>,
    pub n: u64,
}

/// Reads a `BREAKDOWN` line (anywhere in `line`, after a log prefix).
pub fn parse_breakdown(line: &str) -> Option<Breakdown> {
    let rest = &line[line.find("BREAKDOWN ")? + 10..];
    let (head, events) = rest.split_once(" events:")?;
    let mut words = head.split_whitespace();
    let mut b = Breakdown {
        case: words.next()?.to_string(),
        placement: words.next()?.strip_prefix("placement=")?.to_string(),
        ..Breakdown::default()
    };
    for word in words {
        let (key, value) = word.split_once('=')?;
        let value: u64 = value.parse().ok()?;
        match key {
            "total" => b.total = value,
            "meter" => b.meter = value,
            _ => b.phases.push((key.to_string(), value)),
        }
    }
    for word in events.split_whitespace() {
        let (key, value) = word.split_once('=')?;
        if key == "n" {
            b.n = value.parse().ok()?;
        } else {
            b.events.push((key.to_string(), value.parse().ok()?));
        }
    }
    Some(b)
}

/// The breakdowns as a Markdown table: a row per operation and
/// placement ([`ROWS`]' order, then the guest's), instructions per phase,
/// then the events per iteration.
pub fn breakdown_markdown(list: &[Breakdown]) -> String {
    let Some(first) = list.first() else {
        return "(no BREAKDOWN lines: was the kernel built with the meter?)\n".to_string();
    };
    let mut order: Vec<&str> = ROWS.to_vec();
    for b in list {
        if !order.contains(&b.case.as_str()) {
            order.push(&b.case);
        }
    }
    let phases: Vec<&str> = first.phases.iter().map(|(k, _)| k.as_str()).collect();
    let events: Vec<&str> = first.events.iter().map(|(k, _)| k.as_str()).collect();
    let mut out = format!(
        "| operation | placement | {} | total | meter | {} |\n|{}\n",
        phases.join(" | "),
        events.join(" | "),
        " --- |".repeat(2) + &" ---: |".repeat(phases.len() + events.len() + 2)
    );
    for case in order {
        for placement in ["micro", "mono"] {
            let Some(b) = list
                .iter()
                .find(|b| b.case == case && b.placement == placement)
            else {
                continue;
            };
            let cells: Vec<String> = phases
                .iter()
                .map(|p| {
                    b.phases
                        .iter()
                        .find(|(k, _)| k == p)
                        .map_or("-".into(), |(_, v)| v.to_string())
                })
                .chain([b.total.to_string(), b.meter.to_string()])
                .chain(events.iter().map(|e| {
                    b.events
                        .iter()
                        .find(|(k, _)| k == e)
                        .map_or("-".into(), |(_, v)| format!("{v:.2}"))
                }))
                .collect();
            out += &format!("| `{case}` | {placement} | {} |\n", cells.join(" | "));
        }
    }
    out += "\nPer iteration, from one batch run with the kernel's cost meter (`--features meter`) under icount: \
            instructions per phase (stub: the client in user mode; entry: kernel entry, exit and the call path; \
            copy: payloads and windows; switch: address space and context; sched: the scheduler; work: the \
            servers, in user mode or in the kernel; reply: the reply calls; idle: waiting, not instructions), \
            `meter` the probes' own estimated share of the total, then events per iteration.\n";
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bench(case: &str, placement: &str, accel: &str, median: u64) -> Bench {
        Bench {
            case: case.into(),
            placement: placement.into(),
            accel: accel.into(),
            median,
            min: median,
            n: 1,
        }
    }

    #[test]
    fn rows_follow_the_issue_s_order_then_the_guest_s() {
        let ours = [
            bench("zz_extra", "micro", "icount", 5),
            bench("open_close", "micro", "icount", 14_000),
            bench("open_close", "mono", "icount", 7_000),
            bench("null_syscall", "micro", "icount", 94),
        ];
        let linux = [
            bench("open_close", "linux-noerms", "icount", 6_158),
            bench("open_close", "linux", "icount", 10_184),
            bench("futex_pingpong", "linux-noerms", "icount", 9_636),
        ];
        let rows = rows(&ours, &linux);
        let names: Vec<&str> = rows.iter().map(|r| r.case.as_str()).collect();
        assert_eq!(names, ["null_syscall", "open_close", "zz_extra"]);
        let open = &rows[1];
        assert_eq!(open.linux_icount, Some(6_158), "the no-ERMS figure");
        assert_eq!(open.ratio(), Some(2.0));
        assert!((open.over_linux().unwrap() - 14_000.0 / 6_158.0).abs() < 1e-9);
        assert_eq!(rows[0].ratio(), None, "no mono figure, no ratio");
    }

    #[test]
    fn a_linux_only_row_of_the_list_is_kept() {
        let linux = [bench("fork_exit_wait", "linux-noerms", "icount", 145_212)];
        let rows = rows(&[], &linux);
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].micro_icount, None);
    }

    #[test]
    fn markdown_and_json_say_the_same() {
        let ours = [
            bench("kv_get", "micro", "icount", 5_000),
            bench("kv_get", "mono", "icount", 4_000),
            bench("kv_get", "micro", "tcg", 90_000),
        ];
        let rows = rows(&ours, &[]);
        let md = markdown(&rows, "fixture \"x\"");
        assert!(
            md.contains("| `kv_get` | 5000 | 4000 | 1.25 | 90000 | - | - | - |"),
            "{md}"
        );
        let js = json(&rows, "fixture \"x\"");
        assert!(
            js.contains("\"linux_source\": \"fixture \\\"x\\\"\""),
            "{js}"
        );
        assert!(js.contains("\"micro_over_mono\": 1.2500"), "{js}");
        assert!(js.contains("\"mono_tcg\": null"), "{js}");
    }

    #[test]
    fn a_breakdown_line_reads_back_and_tabulates() {
        let line = "[info] bench: BREAKDOWN kv_get placement=micro stub=900 entry=300 copy=0 switch=250 \
                    sched=40 work=2000 reply=200 idle=0 total=3690 meter=400 events: entries=2.00 \
                    as_switches=2.00 ipc=2.00 bytes=0.00 ctx_switches=2.00 service_calls=0.00 faults=0.00 \
                    probes=14.00 n=500";
        let b = parse_breakdown(line).expect("parses");
        assert_eq!(b.case, "kv_get");
        assert_eq!(b.placement, "micro");
        assert_eq!(b.phases.len(), 8);
        assert_eq!(b.phases[5], ("work".to_string(), 2000));
        assert_eq!((b.total, b.meter, b.n), (3690, 400, 500));
        assert_eq!(b.events[1], ("as_switches".to_string(), 2.0));
        let mono = Breakdown {
            placement: "mono".into(),
            ..b.clone()
        };
        let md = breakdown_markdown(&[mono, b]);
        let micro_at = md.find("| `kv_get` | micro |").expect("micro row");
        let mono_at = md.find("| `kv_get` | mono |").expect("mono row");
        assert!(micro_at < mono_at, "micro first:\n{md}");
        assert!(
            md.contains("| 900 | 300 | 0 | 250 | 40 | 2000 | 200 | 0 | 3690 | 400 | 2.00 |"),
            "{md}"
        );
        assert!(
            parse_breakdown("BREAKDOWN x placement=micro stub=1").is_none(),
            "no events part"
        );
    }

    #[test]
    fn the_checked_in_linux_figures_parse() {
        let text = include_str!("../fixtures/linux-bench.txt");
        let lines = parse_lines(text);
        let noerms = lines.iter().filter(|b| b.placement == LINUX).count();
        assert!(noerms >= 20, "{noerms} no-ERMS lines");
        let open = lines
            .iter()
            .find(|b| b.case == "open_close" && b.placement == LINUX && b.accel == "icount")
            .expect("open_close");
        assert_eq!(open.median, 6_158);
    }
}
