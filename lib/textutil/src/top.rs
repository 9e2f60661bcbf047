//! What `top` computes from `/proc`, as procps's `top` does: the fields
//! of `/proc/<pid>/stat` it shows, `/proc/meminfo`'s and `/proc/uptime`'s
//! figures, each process's share of the CPU between two samples, and the
//! header and the lines of a frame.
//!
//! `%CPU` is procps's: the clock ticks (`utime + stime`, [`USER_HZ`] a
//! second) a process gained between two samples over the ticks that
//! passed, in tenths of a percent of one CPU. A process absent from the
//! earlier sample (started since) counts from 0. Lines go by `%CPU`,
//! highest first, then by pid.

use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;

/// Clock ticks a second of `/proc/<pid>/stat`'s times (Linux's
/// `USER_HZ`).
pub const USER_HZ: u64 = 100;

/// The fields of a `/proc/<pid>/stat` line that `top` uses.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProcStat {
    pub pid: u64,
    /// The command (`comm`), without its parentheses.
    pub comm: String,
    /// `R`, `S`, `D`, `T`, `Z`, …
    pub state: char,
    pub ppid: u64,
    /// Ticks in user and in kernel mode.
    pub utime: u64,
    pub stime: u64,
    pub threads: u64,
    /// Ticks after boot when it started.
    pub starttime: u64,
    /// Bytes of address space.
    pub vsize: u64,
    /// Resident pages (4 KiB).
    pub rss_pages: u64,
}

impl ProcStat {
    /// All its CPU time, in ticks.
    pub fn ticks(&self) -> u64 {
        self.utime.saturating_add(self.stime)
    }
}

/// Why a `stat` line did not parse.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatError {
    /// No `(comm)` after the pid.
    NoCommand,
    /// The line ends before field `n` (1-based, as `proc(5)` numbers
    /// them).
    Missing(usize),
    /// Field `n` is not a number.
    NotANumber(usize),
}

impl fmt::Display for StatError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StatError::NoCommand => write!(f, "no (command) field"),
            StatError::Missing(n) => write!(f, "field {n} missing"),
            StatError::NotANumber(n) => write!(f, "field {n} is not a number"),
        }
    }
}

/// Parses a `/proc/<pid>/stat` line. The command may hold spaces and
/// parentheses: it runs from the first `(` to the *last* `)`, as procps
/// reads it.
pub fn parse_stat(line: &str) -> Result<ProcStat, StatError> {
    let open = line.find('(').ok_or(StatError::NoCommand)?;
    let close = line
        .rfind(')')
        .filter(|&c| c > open)
        .ok_or(StatError::NoCommand)?;
    let pid = line[..open]
        .trim()
        .parse()
        .map_err(|_| StatError::NotANumber(1))?;
    let comm = line[open + 1..close].to_string();
    // Fields 3 on, `rest[i]` being field `i + 3`.
    let rest: Vec<&str> = line[close + 1..].split_whitespace().collect();
    let field = |n: usize| rest.get(n - 3).copied().ok_or(StatError::Missing(n));
    let number = |n: usize| -> Result<u64, StatError> {
        field(n)?.parse().map_err(|_| StatError::NotANumber(n))
    };
    let mut state = field(3)?.chars();
    let (Some(s), None) = (state.next(), state.next()) else {
        return Err(StatError::NotANumber(3));
    };
    Ok(ProcStat {
        pid,
        comm,
        state: s,
        ppid: number(4)?,
        utime: number(14)?,
        stime: number(15)?,
        threads: number(20)?,
        starttime: number(22)?,
        vsize: number(23)?,
        rss_pages: number(24)?,
    })
}

/// `/proc/meminfo`'s figures `top` shows, in KiB (0 when absent).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MemInfo {
    pub total_kb: u64,
    pub free_kb: u64,
    pub buffers_kb: u64,
    pub cached_kb: u64,
}

impl MemInfo {
    /// procps's `used`: neither free nor buffers and cache.
    pub fn used_kb(&self) -> u64 {
        self.total_kb
            .saturating_sub(self.free_kb)
            .saturating_sub(self.buff_cache_kb())
    }

    pub fn buff_cache_kb(&self) -> u64 {
        self.buffers_kb.saturating_add(self.cached_kb)
    }
}

/// Reads `Name:  <n> kB` lines; unknown and malformed lines are skipped.
pub fn parse_meminfo(text: &str) -> MemInfo {
    let mut m = MemInfo::default();
    for line in text.lines() {
        let Some((name, rest)) = line.split_once(':') else {
            continue;
        };
        let Some(Ok(kb)) = rest.split_whitespace().next().map(str::parse::<u64>) else {
            continue;
        };
        match name {
            "MemTotal" => m.total_kb = kb,
            "MemFree" => m.free_kb = kb,
            "Buffers" => m.buffers_kb = kb,
            "Cached" => m.cached_kb = kb,
            _ => {}
        }
    }
    m
}

/// `/proc/uptime`'s first figure (`12.34`) in hundredths of a second.
pub fn parse_uptime(text: &str) -> Option<u64> {
    let first = text.split_whitespace().next()?;
    let (secs, frac) = first.split_once('.').unwrap_or((first, "0"));
    let secs: u64 = secs.parse().ok()?;
    if frac.is_empty() || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // The first two digits: hundredths (a single digit is tenths).
    let mut hundredths = 0;
    for (i, b) in frac.bytes().take(2).enumerate() {
        hundredths += u64::from(b - b'0') * if i == 0 { 10 } else { 1 };
    }
    secs.checked_mul(100)?.checked_add(hundredths)
}

/// The `-d` delay, `SECS` with an optional fraction (`2`, `0.5`, `.25`),
/// in milliseconds: `None` if it is not such a number, is 0, or is past
/// a day.
pub fn parse_delay(text: &str) -> Option<u64> {
    let (whole, frac) = text.split_once('.').unwrap_or((text, ""));
    if whole.is_empty() && frac.is_empty() {
        return None;
    }
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if !digits(whole) || !digits(frac) {
        return None;
    }
    let secs: u64 = if whole.is_empty() {
        0
    } else {
        whole.parse().ok()?
    };
    let mut ms = 0;
    for (i, b) in frac.bytes().take(3).enumerate() {
        ms += u64::from(b - b'0') * [100, 10, 1][i];
    }
    let total = secs.checked_mul(1000)?.checked_add(ms)?;
    (total > 0 && total <= 86_400_000).then_some(total)
}

/// `%CPU` in tenths of a percent of one CPU: the ticks gained since the
/// last sample (`before`: `None` for a process not in it) over the ticks
/// that passed (`elapsed`, hundredths of a second as [`USER_HZ`] is 100),
/// at most 100.0 % (one CPU); 0 when no time passed.
pub fn cpu_tenths(before: Option<u64>, now: u64, elapsed: u64) -> u64 {
    if elapsed == 0 {
        return 0;
    }
    let gained = now.saturating_sub(before.unwrap_or(0));
    (gained.saturating_mul(1000) / elapsed).min(1000)
}

/// `TIME+`: ticks as `minutes:seconds.hundredths` (`0:01.23`).
pub fn time_plus(ticks: u64) -> String {
    let hundredths = ticks * 100 / USER_HZ;
    let (minutes, rest) = (hundredths / 6000, hundredths % 6000);
    format!("{minutes}:{:02}.{:02}", rest / 100, rest % 100)
}

/// The uptime as `top`'s first line says it: `7 min`, `1:05` (hours and
/// minutes), `2 days, 1:05`.
pub fn uptime_text(secs: u64) -> String {
    let (days, hours, minutes) = (secs / 86_400, secs / 3600 % 24, secs / 60 % 60);
    let day = match days {
        0 => String::new(),
        1 => String::from("1 day, "),
        d => format!("{d} days, "),
    };
    if hours == 0 {
        format!("{day}{minutes} min")
    } else {
        format!("{day}{hours}:{minutes:02}")
    }
}

/// The name `/etc/passwd`'s text gives `uid`, if any.
pub fn user_name(passwd: &str, uid: u32) -> Option<&str> {
    passwd.lines().find_map(|line| {
        let mut fields = line.split(':');
        let name = fields.next()?;
        let id: u32 = fields.nth(1)?.parse().ok()?;
        (id == uid && !name.is_empty()).then_some(name)
    })
}

/// What a key pressed while `top` shows its frames does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Key {
    /// `q`, or Ctrl-C (raw mode reads it as a byte).
    Quit,
    /// Space or Enter: draw again now.
    Refresh,
    Ignore,
}

pub fn key(byte: u8) -> Key {
    match byte {
        b'q' | b'Q' | 0x03 => Key::Quit,
        b' ' | b'\r' | b'\n' => Key::Refresh,
        _ => Key::Ignore,
    }
}

/// One process as a frame shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    pub pid: u64,
    /// The user's name, or the uid as a number.
    pub user: String,
    pub state: char,
    /// Tenths of a percent of one CPU.
    pub cpu_tenths: u64,
    /// Tenths of a percent of memory.
    pub mem_tenths: u64,
    pub res_kb: u64,
    /// All its CPU time, in ticks.
    pub ticks: u64,
    pub command: String,
}

/// A sample of every process's CPU time: ticks by pid, and when (in
/// hundredths of a second since boot).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Sample {
    pub at: u64,
    pub ticks: BTreeMap<u64, u64>,
}

impl Sample {
    /// A sample of `stats` taken at `at`.
    pub fn of(stats: &[(ProcStat, u32)], at: u64) -> Sample {
        Sample {
            at,
            ticks: stats.iter().map(|(s, _)| (s.pid, s.ticks())).collect(),
        }
    }
}

/// The rows of a frame: each process of `now` (its `stat` and uid) with
/// its `%CPU` since `before`, sorted by `%CPU` then pid. `name` turns a
/// uid into the USER column.
pub fn rows(
    now: &[(ProcStat, u32)],
    now_at: u64,
    before: &Sample,
    mem_total_kb: u64,
    name: impl Fn(u32) -> String,
) -> Vec<Row> {
    let elapsed = now_at.saturating_sub(before.at);
    let mut rows: Vec<Row> = now
        .iter()
        .map(|(s, uid)| {
            let res_kb = s.rss_pages * 4;
            Row {
                pid: s.pid,
                user: name(*uid),
                state: s.state,
                cpu_tenths: cpu_tenths(before.ticks.get(&s.pid).copied(), s.ticks(), elapsed),
                mem_tenths: (res_kb * 1000).checked_div(mem_total_kb).unwrap_or(0),
                res_kb,
                ticks: s.ticks(),
                command: s.comm.clone(),
            }
        })
        .collect();
    sort_rows(&mut rows);
    rows
}

/// `%CPU` highest first, then pid lowest first.
pub fn sort_rows(rows: &mut [Row]) {
    rows.sort_by(|a, b| b.cpu_tenths.cmp(&a.cpu_tenths).then(a.pid.cmp(&b.pid)));
}

/// How many processes are in each state (the `Tasks:` line).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TaskCounts {
    pub total: usize,
    pub running: usize,
    pub sleeping: usize,
    pub stopped: usize,
    pub zombie: usize,
}

pub fn count_states(rows: &[Row]) -> TaskCounts {
    let mut c = TaskCounts {
        total: rows.len(),
        ..TaskCounts::default()
    };
    for r in rows {
        match r.state {
            'R' => c.running += 1,
            'S' | 'D' | 'I' => c.sleeping += 1,
            'T' | 't' => c.stopped += 1,
            'Z' => c.zombie += 1,
            _ => {}
        }
    }
    c
}

/// The column titles, as procps's `top` names them.
pub const COLUMNS: &str = "  PID USER     S  %CPU  %MEM     RES     TIME+ COMMAND";

/// The header's three lines: the time of day (`clock`, if known) and
/// the uptime; the tasks by state; memory in KiB.
pub fn header(
    clock: Option<(u32, u32, u32)>,
    uptime_secs: u64,
    rows: &[Row],
    mem: &MemInfo,
) -> [String; 3] {
    let now = clock.map_or(String::new(), |(h, m, s)| format!(" {h:02}:{m:02}:{s:02}"));
    let c = count_states(rows);
    [
        format!("top -{now} up {}", uptime_text(uptime_secs)),
        format!(
            "Tasks: {:>3} total, {:>3} running, {:>3} sleeping, {:>3} stopped, {:>3} zombie",
            c.total, c.running, c.sleeping, c.stopped, c.zombie
        ),
        format!(
            "KiB Mem : {:>8} total, {:>8} free, {:>8} used, {:>8} buff/cache",
            mem.total_kb,
            mem.free_kb,
            mem.used_kb(),
            mem.buff_cache_kb()
        ),
    ]
}

/// A process's line under [`COLUMNS`] (the command cut to fit `width`
/// columns, if given).
pub fn row_line(r: &Row, width: Option<usize>) -> String {
    let tenths = |t: u64| format!("{}.{}", t / 10, t % 10);
    let mut user = r.user.clone();
    user.truncate(8);
    let mut line = format!(
        "{:>5} {:<8} {} {:>5} {:>5} {:>7} {:>9} {}",
        r.pid,
        user,
        r.state,
        tenths(r.cpu_tenths),
        tenths(r.mem_tenths),
        r.res_kb,
        time_plus(r.ticks),
        r.command
    );
    if let Some(w) = width {
        if let Some((cut, _)) = line.char_indices().nth(w) {
            line.truncate(cut);
        }
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    /// A line as procfs writes it (52 fields).
    fn stat_line(pid: u64, comm: &str, state: char, utime: u64, rss: u64) -> String {
        let mut s = format!("{pid} ({comm}) {state} 1 {pid} 1 0 -1 0 0 0 0 0 {utime} 0 0 0 20 0 2 0 350 4096000 {rss}");
        for _ in 0..28 {
            s.push_str(" 0");
        }
        s.push('\n');
        s
    }

    #[test]
    fn stat_fields_by_their_proc5_numbers() {
        let s = parse_stat(&stat_line(42, "kv", 'S', 250, 30)).unwrap();
        assert_eq!(
            s,
            ProcStat {
                pid: 42,
                comm: "kv".into(),
                state: 'S',
                ppid: 1,
                utime: 250,
                stime: 0,
                threads: 2,
                starttime: 350,
                vsize: 4_096_000,
                rss_pages: 30,
            }
        );
        assert_eq!(s.ticks(), 250);
    }

    #[test]
    fn a_command_with_spaces_and_parentheses() {
        let s = parse_stat(&stat_line(7, "a (b) c)", 'R', 1, 0)).unwrap();
        assert_eq!((s.comm.as_str(), s.state), ("a (b) c)", 'R'));
    }

    #[test]
    fn bad_stat_lines_say_why() {
        assert_eq!(parse_stat("42 kv S 1"), Err(StatError::NoCommand));
        assert_eq!(parse_stat("x (kv) S 1"), Err(StatError::NotANumber(1)));
        assert_eq!(parse_stat("42 (kv) S 1 2 3"), Err(StatError::Missing(14)));
        assert_eq!(parse_stat("42 (kv)"), Err(StatError::Missing(3)));
        assert_eq!(parse_stat("42 (kv) SS 1"), Err(StatError::NotANumber(3)));
        let mut bad = stat_line(42, "kv", 'S', 0, 0);
        bad = bad.replacen(" 350 ", " x ", 1);
        assert_eq!(parse_stat(&bad), Err(StatError::NotANumber(22)));
    }

    #[test]
    fn meminfo_as_procfs_writes_it() {
        let text = "MemTotal:          131072 kB\nMemFree:            81920 kB\nMemAvailable:       90000 kB\nBuffers:                0 kB\nCached:              8192 kB\nbogus line\nDirty: x kB\n";
        let m = parse_meminfo(text);
        assert_eq!(
            m,
            MemInfo {
                total_kb: 131_072,
                free_kb: 81_920,
                buffers_kb: 0,
                cached_kb: 8192
            }
        );
        assert_eq!((m.used_kb(), m.buff_cache_kb()), (40_960, 8192));
        assert_eq!(parse_meminfo("").used_kb(), 0);
    }

    #[test]
    fn uptime_in_hundredths() {
        assert_eq!(parse_uptime("12.34 0.00\n"), Some(1234));
        assert_eq!(parse_uptime("5.6 0.00"), Some(560));
        assert_eq!(parse_uptime("7"), Some(700));
        assert_eq!(parse_uptime("7.999"), Some(799));
        assert_eq!(parse_uptime(""), None);
        assert_eq!(parse_uptime("x.10"), None);
        assert_eq!(parse_uptime("1.-2"), None);
    }

    #[test]
    fn delays_with_fractions() {
        assert_eq!(parse_delay("2"), Some(2000));
        assert_eq!(parse_delay("0.5"), Some(500));
        assert_eq!(parse_delay(".25"), Some(250));
        assert_eq!(parse_delay("1."), Some(1000));
        assert_eq!(parse_delay("0.0015"), Some(1));
        for bad in [
            "", ".", "0", "0.0", "-1", "1e3", "abc", "1.2.3", "86401", " 1",
        ] {
            assert_eq!(parse_delay(bad), None, "{bad:?}");
        }
        assert_eq!(parse_delay("86400"), Some(86_400_000));
    }

    #[test]
    fn cpu_share_between_two_samples() {
        // 50 ticks gained in 100 hundredths: half the CPU.
        assert_eq!(cpu_tenths(Some(100), 150, 100), 500);
        // One tick in two seconds: 0.5 %.
        assert_eq!(cpu_tenths(Some(10), 11, 200), 5);
        // New since the last sample: counted from 0.
        assert_eq!(cpu_tenths(None, 20, 100), 200);
        // No time passed, a clock that went back, or a counter that did.
        assert_eq!(cpu_tenths(Some(1), 50, 0), 0);
        assert_eq!(cpu_tenths(Some(60), 50, 100), 0);
        // Rounding past one CPU is capped.
        assert_eq!(cpu_tenths(Some(0), 101, 100), 1000);
    }

    #[test]
    fn time_plus_and_uptime_as_procps_writes_them() {
        assert_eq!(time_plus(0), "0:00.00");
        assert_eq!(time_plus(123), "0:01.23");
        assert_eq!(time_plus(6000), "1:00.00");
        assert_eq!(time_plus(75_432), "12:34.32");
        assert_eq!(uptime_text(59), "0 min");
        assert_eq!(uptime_text(7 * 60 + 5), "7 min");
        assert_eq!(uptime_text(3600 + 5 * 60), "1:05");
        assert_eq!(uptime_text(86_400 + 60), "1 day, 1 min");
        assert_eq!(uptime_text(2 * 86_400 + 3 * 3600), "2 days, 3:00");
    }

    #[test]
    fn user_names_from_passwd() {
        let passwd = "root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000:A user:/home/user:/bin/sh\nbroken\n:x:5:5::/:/\n";
        assert_eq!(user_name(passwd, 0), Some("root"));
        assert_eq!(user_name(passwd, 1000), Some("user"));
        assert_eq!(user_name(passwd, 5), None, "no name");
        assert_eq!(user_name(passwd, 7), None);
    }

    #[test]
    fn keys() {
        assert_eq!(key(b'q'), Key::Quit);
        assert_eq!(key(3), Key::Quit, "Ctrl-C in raw mode");
        assert_eq!(key(b' '), Key::Refresh);
        assert_eq!(key(b'x'), Key::Ignore);
    }

    fn sample_stats() -> Vec<(ProcStat, u32)> {
        let p = |pid, comm: &str, state, utime, rss| {
            (
                parse_stat(&stat_line(pid, comm, state, utime, rss)).unwrap(),
                0,
            )
        };
        let mut v = vec![
            p(1, "init", 'S', 10, 100),
            p(5, "vfs", 'S', 300, 500),
            p(9, "spin", 'R', 500, 25),
            p(12, "sh", 'T', 4, 50),
            p(13, "top", 'R', 2, 40),
            p(20, "gone", 'Z', 0, 0),
        ];
        v[3].1 = 1000;
        v
    }

    #[test]
    fn rows_sorted_by_cpu_then_pid() {
        let before = Sample {
            at: 1000,
            ticks: [(1, 10), (5, 250), (9, 400), (12, 4)].into_iter().collect(),
        };
        let name = |uid: u32| {
            if uid == 0 {
                "root".into()
            } else {
                format!("{uid}")
            }
        };
        let rows = rows(&sample_stats(), 1200, &before, 1000, name);
        let order: Vec<(u64, u64)> = rows.iter().map(|r| (r.pid, r.cpu_tenths)).collect();
        // spin: 100 ticks in 200 → 50 %; vfs: 50 → 25 %; top (new): 2 → 1 %;
        // then the idle ones by pid.
        assert_eq!(
            order,
            [(9, 500), (5, 250), (13, 10), (1, 0), (12, 0), (20, 0)]
        );
        assert_eq!(rows[3].user, "root");
        assert_eq!(rows[4].user, "1000");
        // 500 pages of 4 KiB in 1000 KiB of memory: capped by nothing, 200 %.
        assert_eq!((rows[1].res_kb, rows[1].mem_tenths), (2000, 2000));
        let again = Sample::of(&sample_stats(), 1200);
        assert_eq!(again.ticks.get(&9), Some(&500));
    }

    #[test]
    fn the_header_counts_states_and_memory() {
        let rows = rows(&sample_stats(), 100, &Sample::default(), 131_072, |u| {
            format!("{u}")
        });
        let mem = MemInfo {
            total_kb: 131_072,
            free_kb: 81_920,
            buffers_kb: 0,
            cached_kb: 8192,
        };
        let h = header(Some((9, 5, 7)), 7 * 60, &rows, &mem);
        assert_eq!(h[0], "top - 09:05:07 up 7 min");
        assert_eq!(
            h[1],
            "Tasks:   6 total,   2 running,   2 sleeping,   1 stopped,   1 zombie"
        );
        assert_eq!(
            h[2],
            "KiB Mem :   131072 total,    81920 free,    40960 used,     8192 buff/cache"
        );
        assert_eq!(
            header(None, 0, &[], &MemInfo::default())[0],
            "top - up 0 min"
        );
    }

    #[test]
    fn lines_line_up_under_the_columns() {
        let r = Row {
            pid: 42,
            user: "a-very-long-name".into(),
            state: 'S',
            cpu_tenths: 123,
            mem_tenths: 5,
            res_kb: 1024,
            ticks: 6123,
            command: "kvctl".into(),
        };
        let line = row_line(&r, None);
        assert_eq!(line, "   42 a-very-l S  12.3   0.5    1024   1:01.23 kvctl");
        assert_eq!(line.find("kvctl"), COLUMNS.find("COMMAND"));
        assert_eq!(line.find(" S "), COLUMNS.find(" S "));
        assert_eq!(row_line(&r, Some(20)), "   42 a-very-l S  12");
    }
}
