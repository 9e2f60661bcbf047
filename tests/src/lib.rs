//! Pure logic of the test harness, unit-tested on the host: rewriting
//! `limine.cfg` into the variants the cases boot, and reading what the guest
//! printed ([`programs`]: which test programs ran) or drew ([`screen`]:
//! text on the framebuffer console in a QEMU screendump); and
//! [`scaffold`], what `make new-server` does.

pub mod benchtable;
pub mod programs;
pub mod scaffold;
pub mod screen;
pub mod trace;

/// Removes ANSI escape sequences (OVMF's console mirror puts them on serial).
pub fn strip_ansi(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            if chars.peek() == Some(&'[') {
                chars.next();
                // Parameters and intermediates, then one final byte.
                for c in chars.by_ref() {
                    if ('@'..='~').contains(&c) {
                        break;
                    }
                }
            }
            continue;
        }
        if c != '\r' {
            out.push(c);
        }
    }
    out
}

/// Checks the console hand-off that `contest` makes (in the guest suite)
/// from the two logs: while it holds COM1 its `info` line is in the debug
/// channel only; the line it wrote through its own ports, its `err` line
/// and its line after the give-back are on serial; and when it dies
/// holding COM1 the kernel takes it back and later lines reach serial.
pub fn check_console_hand_off(serial: &str, debug: &str) -> Result<(), String> {
    const HIDDEN: &str = "contest: info while the console is taken";
    if !debug.contains(HIDDEN) {
        return Err(format!("the debug channel lacks `{HIDDEN}`"));
    }
    if serial.contains(HIDDEN) {
        return Err(format!(
            "the kernel wrote `{HIDDEN}` to COM1 after the hand-off"
        ));
    }
    for needle in [
        "contest: written by the console driver",
        "contest: err while the console is taken",
        "contest: info after the give-back",
        "died holding COM1; taken back",
    ] {
        if !serial.contains(needle) {
            return Err(format!("serial lacks `{needle}`"));
        }
    }
    let after = serial
        .split_once("died holding COM1; taken back")
        .map_or("", |(_, rest)| rest);
    if !after.lines().any(|l| parse_result(l).is_some()) {
        return Err("no tally on serial after the kernel took COM1 back".into());
    }
    Ok(())
}

/// Parses the guest's closing line `<N> passed, <M> failed`.
pub fn parse_result(line: &str) -> Option<(u32, u32)> {
    let line = line.trim();
    let (passed, failed) = line.split_once(" passed, ")?;
    let failed = failed.strip_suffix(" failed")?;
    Some((passed.parse().ok()?, failed.parse().ok()?))
}

/// One benchmark result: a guest line
/// `BENCH <case> placement=<p> accel=<a> median=<m> min=<n> n=<count>`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bench {
    pub case: String,
    pub placement: String,
    pub accel: String,
    pub median: u64,
    pub min: u64,
    pub n: u64,
}

/// Reads a `BENCH` line (anywhere in `line`, after a log prefix).
pub fn parse_bench(line: &str) -> Option<Bench> {
    let rest = &line[line.find("BENCH ")? + 6..];
    let mut words = rest.split_whitespace();
    let case = words.next()?.to_string();
    let mut field = |key: &str| -> Option<String> {
        words
            .next()?
            .strip_prefix(key)?
            .strip_prefix('=')
            .map(str::to_string)
    };
    Some(Bench {
        case,
        placement: field("placement")?,
        accel: field("accel")?,
        median: field("median")?.parse().ok()?,
        min: field("min")?.parse().ok()?,
        n: field("n")?.parse().ok()?,
    })
}

/// The figure of the shell's `sh: first prompt after <N> ms …` log line
/// (anywhere in `line`, e.g. as `dmesg` prints it), in milliseconds.
pub fn parse_first_prompt_ms(line: &str) -> Option<u64> {
    let rest = &line[line.find("sh: first prompt after ")? + 23..];
    let (ms, rest) = rest.split_once(' ')?;
    rest.starts_with("ms").then_some(())?;
    ms.parse().ok()
}

/// The median and the minimum of `figures` (the lower middle one for an
/// even count); `None` for none.
pub fn median_min(figures: &[u64]) -> Option<(u64, u64)> {
    let mut sorted = figures.to_vec();
    sorted.sort_unstable();
    let min = *sorted.first()?;
    Some((sorted[(sorted.len() - 1) / 2], min))
}

/// The results side by side: one row per case and placement, with the TCG
/// (ticks: time) and icount (instructions) medians and minimums.
pub fn bench_table(results: &[Bench]) -> String {
    let mut rows: Vec<(&str, &str)> = Vec::new();
    for b in results {
        if !rows.contains(&(&b.case, &b.placement)) {
            rows.push((&b.case, &b.placement));
        }
    }
    let find = |case: &str, placement: &str, accel: &str| {
        results
            .iter()
            .find(|b| b.case == case && b.placement == placement && b.accel == accel)
    };
    let cell =
        |b: Option<&Bench>| b.map_or("-".to_string(), |b| format!("{} / {}", b.median, b.min));
    let mut out = format!(
        "{:<20} {:<9} {:>22} {:>22}\n",
        "case", "placement", "tcg ticks (med / min)", "icount instr (med / min)"
    );
    for (case, placement) in rows {
        out += &format!(
            "{:<20} {:<9} {:>22} {:>22}\n",
            case,
            placement,
            cell(find(case, placement, "tcg")),
            cell(find(case, placement, "icount"))
        );
    }
    out
}

/// Whether a line reports a kernel panic.
pub fn is_panic(line: &str) -> bool {
    line.contains("KERNEL PANIC") || line.contains("panicked at")
}

/// The 1-based number of the entry named `name` (a line `/name`).
pub fn entry_number(config: &str, name: &str) -> Option<usize> {
    config
        .lines()
        .filter_map(|l| l.trim().strip_prefix('/'))
        .filter(|l| !l.starts_with('/'))
        .position(|entry| entry.trim() == name)
        .map(|i| i + 1)
}

/// Sets a global option, replacing the line that sets it (or adding one at
/// the top).
pub fn set_global(config: &str, key: &str, value: &str) -> String {
    let mut out = Vec::new();
    let mut in_entry = false;
    let mut done = false;
    for line in config.lines() {
        let t = line.trim();
        in_entry |= t.starts_with('/');
        let is_key = t
            .split_once(':')
            .is_some_and(|(k, _)| k.trim().eq_ignore_ascii_case(key));
        if !in_entry && is_key && !done {
            out.push(format!("{key}: {value}"));
            done = true;
        } else {
            out.push(line.to_string());
        }
    }
    if !done {
        out.insert(0, format!("{key}: {value}"));
    }
    out.join("\n") + "\n"
}

/// The config with the entry named `name` booted at once (no menu).
/// Panics when there is no such entry: the harness cannot run without it.
pub fn boot_entry_directly(config: &str, name: &str) -> String {
    let number =
        entry_number(config, name).unwrap_or_else(|| panic!("limine.cfg has no `{name}` entry"));
    set_global(
        &set_global(config, "timeout", "0"),
        "default_entry",
        &number.to_string(),
    )
}

/// Applies `edit` to the lines of entry `name`; other lines stay as they are.
fn edit_entry(config: &str, name: &str, edit: impl Fn(&mut Vec<String>)) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut body: Option<Vec<String>> = None;
    let flush = |out: &mut Vec<String>, body: &mut Option<Vec<String>>| {
        if let Some(mut lines) = body.take() {
            edit(&mut lines);
            out.extend(lines);
        }
    };
    for line in config.lines() {
        if let Some(entry) = line.trim().strip_prefix('/') {
            flush(&mut out, &mut body);
            out.push(line.to_string());
            if entry.trim() == name {
                body = Some(Vec::new());
            }
            continue;
        }
        match body.as_mut() {
            Some(lines) => lines.push(line.to_string()),
            None => out.push(line.to_string()),
        }
    }
    flush(&mut out, &mut body);
    out.join("\n") + "\n"
}

/// Adds `key: value` at the end of entry `name` (before the blank lines
/// that end it).
pub fn add_to_entry(config: &str, name: &str, key: &str, value: &str) -> String {
    edit_entry(config, name, |lines| {
        let end = lines
            .iter()
            .rposition(|l| !l.trim().is_empty())
            .map_or(0, |i| i + 1);
        lines.insert(end, format!("    {key}: {value}"))
    })
}

/// Replaces the value of `key` in entry `name`.
pub fn replace_in_entry(config: &str, name: &str, key: &str, value: &str) -> String {
    edit_entry(config, name, |lines| {
        for line in lines.iter_mut() {
            if line
                .trim()
                .split_once(':')
                .is_some_and(|(k, _)| k.trim() == key)
            {
                *line = format!("    {key}: {value}");
            }
        }
    })
}

/// Replaces the command line of the module loaded from `path` in entry
/// `name` (the `module_cmdline` after its `module_path`).
pub fn replace_module_cmdline(config: &str, name: &str, path: &str, value: &str) -> String {
    edit_entry(config, name, |lines| {
        let mut after_path = false;
        for line in lines.iter_mut() {
            match line
                .trim()
                .split_once(':')
                .map(|(k, v)| (k.trim(), v.trim()))
            {
                Some(("module_path", p)) => after_path = p == path,
                Some(("module_cmdline", _)) if after_path => {
                    *line = format!("    module_cmdline: {value}");
                    after_path = false;
                }
                _ => {}
            }
        }
    })
}

/// For each case measured in both placements: how much slower the
/// microkernel path is, `micro / mono`, from the medians of each
/// accelerator (one line per case, `-` where a figure is missing).
pub fn placement_ratios(results: &[Bench]) -> String {
    let median = |case: &str, placement: &str, accel: &str| {
        results
            .iter()
            .find(|b| b.case == case && b.placement == placement && b.accel == accel)
            .map(|b| b.median)
    };
    let ratio =
        |case: &str, accel: &str| match (median(case, "micro", accel), median(case, "mono", accel))
        {
            (Some(micro), Some(mono)) if mono > 0 => format!("{:.2}", micro as f64 / mono as f64),
            _ => "-".into(),
        };
    let mut cases: Vec<&str> = Vec::new();
    for b in results {
        if !cases.contains(&b.case.as_str()) {
            cases.push(&b.case);
        }
    }
    let mut out = format!(
        "{:<20} {:>12} {:>14}\n",
        "micro / mono", "tcg ticks", "icount instr"
    );
    for case in cases {
        out += &format!(
            "{:<20} {:>12} {:>14}\n",
            case,
            ratio(case, "tcg"),
            ratio(case, "icount")
        );
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn first_prompt_line() {
        let line = "[    1.234567] sh: first prompt after 812 ms (812345 us since kernel entry)";
        assert_eq!(parse_first_prompt_ms(line), Some(812));
        assert_eq!(
            parse_first_prompt_ms("# dmesg | grep 'first prompt after'"),
            None
        );
        assert_eq!(parse_first_prompt_ms("sh: first prompt after x ms"), None);
        assert_eq!(parse_first_prompt_ms("sh: first prompt after 9 s"), None);
    }

    #[test]
    fn median_and_min() {
        assert_eq!(median_min(&[]), None);
        assert_eq!(median_min(&[5]), Some((5, 5)));
        assert_eq!(median_min(&[9, 3, 5]), Some((5, 3)));
        assert_eq!(median_min(&[9, 3, 5, 7]), Some((5, 3)));
    }

    use super::*;

    #[test]
    fn placement_ratios_divide_micro_by_mono() {
        let bench = |placement: &str, accel: &str, median: u64| Bench {
            case: "kv_get".into(),
            placement: placement.into(),
            accel: accel.into(),
            median,
            min: median,
            n: 1,
        };
        let results = [
            bench("micro", "icount", 5000),
            bench("mono", "icount", 4000),
            bench("micro", "tcg", 900),
        ];
        let out = placement_ratios(&results);
        let row = out.lines().nth(1).unwrap();
        assert!(row.starts_with("kv_get") && row.ends_with("1.25"), "{out}");
        assert!(row.contains(" - "), "no mono tcg figure: {out}");
    }

    #[test]
    fn replaces_one_module_s_command_line() {
        let cfg = "/bench
    module_path: boot():/boot/init
    module_cmdline: init
    module_path: boot():/boot/bench
    module_cmdline: accel=tcg
";
        let out = replace_module_cmdline(cfg, "bench", "boot():/boot/bench", "accel=icount");
        assert!(
            out.contains("module_cmdline: init\n"),
            "the other module keeps its own"
        );
        assert!(out.contains("module_cmdline: accel=icount\n"));
        assert!(!out.contains("accel=tcg"));
    }

    const CFG: &str = "# c\ntimeout: 3\ndefault_entry: 1\n\n/Microkernel\n    protocol: limine\n    kernel_path: boot():/boot/kernel\n\n/test\n    protocol: limine\n    kernel_path: boot():/boot/kernel\n    cmdline: test\n";

    #[test]
    fn strips_escapes_and_carriage_returns() {
        assert_eq!(strip_ansi("\u{1b}[2J\u{1b}[01;01Hboot: hi\r"), "boot: hi");
        assert_eq!(
            strip_ansi("\u{1b}[=3h\u{1b}[0m\u{1b}[37m\u{1b}[40mBdsDxe"),
            "BdsDxe"
        );
        assert_eq!(strip_ansi("plain"), "plain");
    }

    #[test]
    fn reads_the_result_line() {
        assert_eq!(parse_result("13 passed, 0 failed"), Some((13, 0)));
        let debug = "x\ncontest[9]: contest: info while the console is taken\n";
        let serial = "contest[9]: contest: written by the console driver\n\
                      contest[9]: contest: err while the console is taken\n\
                      contest[9]: contest: info after the give-back\n\
                      console: pid 9 died holding COM1; taken back\n\
                      40 passed, 0 failed\n";
        assert_eq!(check_console_hand_off(serial, debug), Ok(()));
        assert!(check_console_hand_off(serial, "").is_err());
        let leaked = format!("{serial}contest: info while the console is taken\n");
        assert!(check_console_hand_off(&leaked, debug).is_err());
        let no_tally = serial.replace("40 passed, 0 failed", "");
        assert!(check_console_hand_off(&no_tally, debug).is_err());
        assert_eq!(parse_result("  2 passed, 11 failed  "), Some((2, 11)));
        assert_eq!(parse_result("ok - 3 passed, 0 failed later"), None);
        assert_eq!(parse_result("x passed, 0 failed"), None);
        assert!(is_panic("KERNEL PANIC: oops at a.rs:1"));
        assert!(!is_panic("ok - panic handler installed"));
    }

    #[test]
    fn reads_bench_lines_and_tabulates_them() {
        let line =
            "bench[1]: BENCH null_syscall placement=micro accel=icount median=94 min=94 n=102000";
        let b = parse_bench(line).unwrap();
        assert_eq!(
            b,
            Bench {
                case: "null_syscall".into(),
                placement: "micro".into(),
                accel: "icount".into(),
                median: 94,
                min: 94,
                n: 102000
            }
        );
        assert_eq!(
            parse_bench("BENCH x placement=micro accel=tcg median=a min=1 n=1"),
            None
        );
        assert_eq!(parse_bench("no bench here"), None);
        let tcg = Bench {
            accel: "tcg".into(),
            median: 500,
            min: 480,
            ..b.clone()
        };
        let table = bench_table(&[tcg, b]);
        let row = table.lines().nth(1).unwrap();
        assert!(
            row.starts_with("null_syscall") && row.contains("500 / 480") && row.contains("94 / 94"),
            "{table}"
        );
    }

    #[test]
    fn finds_entries_and_rewrites_globals() {
        assert_eq!(entry_number(CFG, "test"), Some(2));
        assert_eq!(entry_number(CFG, "Microkernel"), Some(1));
        assert_eq!(entry_number(CFG, "nope"), None);
        let cfg = set_global(&set_global(CFG, "timeout", "0"), "default_entry", "2");
        assert!(cfg.contains("timeout: 0\n") && cfg.contains("default_entry: 2\n"));
        assert!(!cfg.contains("timeout: 3"));
        let cfg = set_global(CFG, "serial", "yes");
        assert!(cfg.starts_with("serial: yes\n"));
    }

    #[test]
    fn boots_an_entry_directly() {
        let cfg = boot_entry_directly(CFG, "test");
        assert!(cfg.contains("timeout: 0\n") && cfg.contains("default_entry: 2\n"));
    }

    #[test]
    fn edits_one_entry_only() {
        let cfg = add_to_entry(CFG, "test", "module_path", "boot():/x");
        assert!(cfg.ends_with("cmdline: test\n    module_path: boot():/x\n"));
        let cfg = replace_in_entry(CFG, "test", "kernel_path", "boot():/none");
        assert_eq!(cfg.matches("kernel_path: boot():/boot/kernel").count(), 1);
        assert!(cfg.contains("kernel_path: boot():/none"));
        let first = cfg.find("boot():/boot/kernel").unwrap();
        assert!(
            first < cfg.find("/test").unwrap(),
            "the other entry is untouched"
        );
    }
}
