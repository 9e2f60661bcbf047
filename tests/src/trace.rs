//! `make trace`'s host side: the kernel's path trace (the `TRACE` lines a
//! kernel built with the `meter` feature prints on its debug channel,
//! `microkernel/src/klog/meter.rs`) as Chrome trace JSON, which
//! `chrome://tracing` and Perfetto (ui.perfetto.dev) open.
//!
//! A `TRACE` line is `TRACE <tsc> <cpu> <cr3> <tid> <kind> <arg> [<name>]`.
//! Each address space (CR3) becomes a process, each kernel thread id a
//! thread of the address space it ran in; system calls, traps, copies
//! and calls into in-kernel server cores become spans (`B`/`E`) on the
//! thread, IPC sends, replies, receives and CR3 loads instants (`i`). A
//! track of its own (pid 0, "CPU 0") shows which thread ran when, from
//! the switch events. Timestamps are microseconds from the first event at
//! one TSC tick a nanosecond: under `-icount shift=0` (which `make trace`
//! uses) a tick is one instruction, so "1 µs" reads 1,000 instructions.
//!
//! A span whose start came before the trace began (its end is the first
//! event of its thread's kind) is left out; one still open at the end is
//! closed at the last event. Anything else that does not nest is an error:
//! the probes would be wrong.

use std::collections::BTreeMap;
use std::fmt::Write;

/// One event of the kernel's ring.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    pub tsc: u64,
    pub cpu: u32,
    pub cr3: u64,
    pub tid: u32,
    pub kind: String,
    pub arg: u64,
    pub name: String,
}

/// Reads a `TRACE` line (anywhere in `line`, after a log prefix).
pub fn parse_line(line: &str) -> Option<Event> {
    let rest = &line[line.find("TRACE ")? + 6..];
    let mut words = rest.splitn(7, ' ');
    let tsc = words.next()?.parse().ok()?;
    let cpu = words.next()?.parse().ok()?;
    let cr3 = u64::from_str_radix(words.next()?.trim_start_matches("0x"), 16).ok()?;
    let tid = words.next()?.parse().ok()?;
    let kind = words.next()?.to_string();
    let arg = words.next()?.trim().parse().ok()?;
    let name = words.next().unwrap_or("").trim().to_string();
    Some(Event {
        tsc,
        cpu,
        cr3,
        tid,
        kind,
        arg,
        name,
    })
}

/// The events of a log: the `TRACE` lines of the last `TRACE-BEGIN` …
/// `TRACE-END` block.
pub fn parse(text: &str) -> Vec<Event> {
    let mut events = Vec::new();
    for line in text.lines() {
        if line.contains("TRACE-BEGIN") {
            events.clear();
        } else if let Some(e) = parse_line(line) {
            events.push(e);
        }
    }
    events
}

/// What the conversion did besides converting.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    pub events: usize,
    /// Span ends whose start was before the trace began.
    pub dropped_leading: usize,
    /// Spans still open at the end, closed there.
    pub closed_trailing: usize,
}

/// The span a kind opens or closes: (category, opens).
fn span_of(kind: &str) -> Option<(&'static str, bool)> {
    Some(match kind {
        "syscall_enter" => ("syscall", true),
        "syscall_leave" => ("syscall", false),
        "trap_enter" => ("trap", true),
        "trap_leave" => ("trap", false),
        "copy_enter" => ("copy", true),
        "copy_leave" => ("copy", false),
        "service_enter" => ("service", true),
        "service_leave" => ("service", false),
        _ => return None,
    })
}

/// A span's name on the track.
fn span_name(category: &str, arg: u64) -> String {
    match category {
        "syscall" => match libsys::abi::Syscall::try_from(arg) {
            Ok(call) => format!("syscall {call:?}"),
            Err(_) => format!("syscall {arg}"),
        },
        "trap" => match arg {
            14 => "page fault".to_string(),
            0..=31 => format!("exception {arg}"),
            _ => format!("interrupt {arg:#x}"),
        },
        "copy" => format!("copy {arg} bytes"),
        _ => format!("in-kernel server (label {arg})"),
    }
}

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

/// Chrome trace JSON for `events`, titled `title`.
pub fn chrome_json(events: &[Event], title: &str) -> Result<(String, Summary), String> {
    let t0 = events.first().map_or(0, |e| e.tsc);
    let ts = |tsc: u64| format!("{:.3}", tsc.saturating_sub(t0) as f64 / 1000.0);
    // A thread's process: the address space of its first event that is
    // not a CR3 load (a load is traced under the thread switching out).
    let mut space: BTreeMap<u32, u64> = BTreeMap::new();
    let mut names: BTreeMap<u32, String> = BTreeMap::new();
    for e in events {
        if e.kind == "switch" && !e.name.is_empty() {
            names.entry(e.arg as u32).or_insert_with(|| e.name.clone());
        }
        if e.kind != "as_switch" && e.kind != "switch" {
            space.entry(e.tid).or_insert(e.cr3);
        }
    }
    let mut pids: BTreeMap<u64, u32> = BTreeMap::new();
    for cr3 in space.values() {
        let next = pids.len() as u32 + 1;
        pids.entry(*cr3).or_insert(next);
    }
    let pid_of = |tid: u32| space.get(&tid).and_then(|c| pids.get(c)).copied();
    let mut out: Vec<String> = Vec::new();
    let mut summary = Summary {
        events: events.len(),
        ..Summary::default()
    };
    // Metadata: the CPU track, the processes, the threads.
    out.push(r#"{"ph":"M","name":"process_name","pid":0,"tid":0,"args":{"name":"CPU 0"}}"#.into());
    for (cr3, pid) in &pids {
        let threads: Vec<&str> = space
            .iter()
            .filter(|(_, c)| *c == cr3)
            .filter_map(|(tid, _)| names.get(tid).map(String::as_str))
            .collect();
        let label = format!("address space {cr3:#x} ({})", threads.join(", "));
        out.push(format!(
            r#"{{"ph":"M","name":"process_name","pid":{pid},"tid":0,"args":{{"name":{}}}}}"#,
            json_string(&label)
        ));
    }
    for tid in space.keys() {
        let Some(pid) = pid_of(*tid) else { continue };
        let name = names
            .get(tid)
            .cloned()
            .unwrap_or_else(|| format!("tid {tid}"));
        out.push(format!(
            r#"{{"ph":"M","name":"thread_name","pid":{pid},"tid":{tid},"args":{{"name":{}}}}}"#,
            json_string(&format!("{name} ({tid})"))
        ));
    }
    // Spans per thread, and the CPU track.
    let mut open: BTreeMap<u32, Vec<(&'static str, String)>> = BTreeMap::new();
    let mut running: Option<String> = None;
    let last = events.last().map_or(0, |e| e.tsc);
    for e in events {
        let at = ts(e.tsc);
        if e.kind == "switch" {
            if running.take().is_some() {
                out.push(format!(r#"{{"ph":"E","pid":0,"tid":0,"ts":{at}}}"#));
            }
            let label = format!("{} ({})", e.name, e.arg);
            out.push(format!(
                r#"{{"ph":"B","pid":0,"tid":0,"ts":{at},"name":{}}}"#,
                json_string(&label)
            ));
            running = Some(label);
            continue;
        }
        let pid = pid_of(e.tid).unwrap_or(0);
        if running.is_none() {
            let label = names
                .get(&e.tid)
                .cloned()
                .unwrap_or_else(|| format!("tid {}", e.tid));
            out.push(format!(
                r#"{{"ph":"B","pid":0,"tid":0,"ts":{at},"name":{}}}"#,
                json_string(&format!("{label} ({})", e.tid))
            ));
            running = Some(label);
        }
        match span_of(&e.kind) {
            Some((category, true)) => {
                let name = span_name(category, e.arg);
                out.push(format!(
                    r#"{{"ph":"B","pid":{pid},"tid":{},"ts":{at},"name":{},"cat":"{category}"}}"#,
                    e.tid,
                    json_string(&name)
                ));
                open.entry(e.tid).or_default().push((category, name));
            }
            Some((category, false)) => {
                let stack = open.entry(e.tid).or_default();
                match stack.last() {
                    None => summary.dropped_leading += 1,
                    Some((c, _)) if *c == category => {
                        stack.pop();
                        out.push(format!(
                            r#"{{"ph":"E","pid":{pid},"tid":{},"ts":{at},"cat":"{category}"}}"#,
                            e.tid
                        ));
                    }
                    Some((c, name)) => {
                        return Err(format!(
                            "tid {}: a {category} end at tsc {} inside the open {c} span `{name}`",
                            e.tid, e.tsc
                        ))
                    }
                }
            }
            None => {
                let name = match e.kind.as_str() {
                    "ipc_send" => format!("IPC send ({:#x})", e.arg),
                    "ipc_reply" => format!("IPC reply ({:#x})", e.arg),
                    "ipc_recv" => format!("IPC receive ({:#x})", e.arg),
                    "as_switch" => format!("CR3 load ({:#x})", e.arg),
                    other => format!("{other} {}", e.arg),
                };
                out.push(format!(
                    r#"{{"ph":"i","s":"t","pid":{pid},"tid":{},"ts":{at},"name":{}}}"#,
                    e.tid,
                    json_string(&name)
                ));
            }
        }
    }
    let end = ts(last);
    for (tid, stack) in &open {
        let pid = pid_of(*tid).unwrap_or(0);
        for (category, _) in stack.iter().rev() {
            summary.closed_trailing += 1;
            out.push(format!(
                r#"{{"ph":"E","pid":{pid},"tid":{tid},"ts":{end},"cat":"{category}"}}"#
            ));
        }
    }
    if running.is_some() {
        out.push(format!(r#"{{"ph":"E","pid":0,"tid":0,"ts":{end}}}"#));
    }
    let mut json = String::new();
    let _ = write!(
        json,
        "{{\"displayTimeUnit\":\"ns\",\"otherData\":{{\"title\":{},\"unit\":\"1 us = 1000 TSC ticks (instructions under icount)\"}},\"traceEvents\":[\n{}\n]}}\n",
        json_string(title),
        out.join(",\n")
    );
    Ok((json, summary))
}

/// A parsed JSON value (just enough to check what [`chrome_json`]
/// writes: the host test parses it back).
#[derive(Clone, Debug, PartialEq)]
pub enum Json {
    Null,
    Bool(bool),
    Number(f64),
    Str(String),
    Array(Vec<Json>),
    Object(Vec<(String, Json)>),
}

impl Json {
    /// A member of an object.
    pub fn get(&self, key: &str) -> Option<&Json> {
        match self {
            Json::Object(members) => members.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Json::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Json::Number(n) => Some(*n),
            _ => None,
        }
    }
}

/// Parses JSON text (RFC 8259; errors say where).
pub fn parse_json(text: &str) -> Result<Json, String> {
    let mut p = JsonParser {
        s: text.as_bytes(),
        i: 0,
    };
    let value = p.value()?;
    p.ws();
    if p.i != p.s.len() {
        return Err(format!("trailing text at byte {}", p.i));
    }
    Ok(value)
}

struct JsonParser<'a> {
    s: &'a [u8],
    i: usize,
}

impl JsonParser<'_> {
    fn ws(&mut self) {
        while self.i < self.s.len() && matches!(self.s[self.i], b' ' | b'\n' | b'\r' | b'\t') {
            self.i += 1;
        }
    }

    fn eat(&mut self, c: u8) -> Result<(), String> {
        self.ws();
        if self.s.get(self.i) == Some(&c) {
            self.i += 1;
            Ok(())
        } else {
            Err(format!("expected `{}` at byte {}", c as char, self.i))
        }
    }

    fn value(&mut self) -> Result<Json, String> {
        self.ws();
        match self.s.get(self.i) {
            Some(b'{') => self.object(),
            Some(b'[') => self.array(),
            Some(b'"') => self.string().map(Json::Str),
            Some(b't') => self.word("true", Json::Bool(true)),
            Some(b'f') => self.word("false", Json::Bool(false)),
            Some(b'n') => self.word("null", Json::Null),
            Some(c) if *c == b'-' || c.is_ascii_digit() => self.number(),
            _ => Err(format!("expected a value at byte {}", self.i)),
        }
    }

    fn word(&mut self, w: &str, v: Json) -> Result<Json, String> {
        if self.s[self.i..].starts_with(w.as_bytes()) {
            self.i += w.len();
            Ok(v)
        } else {
            Err(format!("bad literal at byte {}", self.i))
        }
    }

    fn number(&mut self) -> Result<Json, String> {
        let start = self.i;
        while self.i < self.s.len()
            && matches!(
                self.s[self.i],
                b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9'
            )
        {
            self.i += 1;
        }
        std::str::from_utf8(&self.s[start..self.i])
            .ok()
            .and_then(|t| t.parse().ok())
            .map(Json::Number)
            .ok_or_else(|| format!("bad number at byte {start}"))
    }

    fn string(&mut self) -> Result<String, String> {
        self.eat(b'"')?;
        let mut out = String::new();
        loop {
            let Some(&c) = self.s.get(self.i) else {
                return Err("unterminated string".into());
            };
            self.i += 1;
            match c {
                b'"' => return Ok(out),
                b'\\' => {
                    let e = *self.s.get(self.i).ok_or("unterminated escape")?;
                    self.i += 1;
                    match e {
                        b'"' | b'\\' | b'/' => out.push(e as char),
                        b'n' => out.push('\n'),
                        b't' => out.push('\t'),
                        b'r' => out.push('\r'),
                        b'b' | b'f' => {}
                        b'u' => {
                            let hex = self.s.get(self.i..self.i + 4).ok_or("short \\u")?;
                            let code = u32::from_str_radix(
                                std::str::from_utf8(hex).map_err(|e| e.to_string())?,
                                16,
                            )
                            .map_err(|e| e.to_string())?;
                            out.push(char::from_u32(code).unwrap_or('?'));
                            self.i += 4;
                        }
                        _ => return Err(format!("bad escape at byte {}", self.i)),
                    }
                }
                c if c < 0x20 => return Err(format!("control character at byte {}", self.i)),
                _ => {
                    // A UTF-8 sequence: copy its bytes whole.
                    let start = self.i - 1;
                    while self.i < self.s.len() && (self.s[self.i] & 0xc0) == 0x80 {
                        self.i += 1;
                    }
                    out.push_str(
                        std::str::from_utf8(&self.s[start..self.i]).map_err(|e| e.to_string())?,
                    );
                }
            }
        }
    }

    fn array(&mut self) -> Result<Json, String> {
        self.eat(b'[')?;
        let mut items = Vec::new();
        self.ws();
        if self.s.get(self.i) == Some(&b']') {
            self.i += 1;
            return Ok(Json::Array(items));
        }
        loop {
            items.push(self.value()?);
            self.ws();
            match self.s.get(self.i) {
                Some(b',') => self.i += 1,
                Some(b']') => {
                    self.i += 1;
                    return Ok(Json::Array(items));
                }
                _ => return Err(format!("expected `,` or `]` at byte {}", self.i)),
            }
        }
    }

    fn object(&mut self) -> Result<Json, String> {
        self.eat(b'{')?;
        let mut members = Vec::new();
        self.ws();
        if self.s.get(self.i) == Some(&b'}') {
            self.i += 1;
            return Ok(Json::Object(members));
        }
        loop {
            self.ws();
            let key = self.string()?;
            self.eat(b':')?;
            members.push((key, self.value()?));
            self.ws();
            match self.s.get(self.i) {
                Some(b',') => self.i += 1,
                Some(b'}') => {
                    self.i += 1;
                    return Ok(Json::Object(members));
                }
                _ => return Err(format!("expected `,` or `}}` at byte {}", self.i)),
            }
        }
    }
}

/// Checks a Chrome trace: it parses, every `B` has its `E` on the same
/// (pid, tid) in order (spans nest), and timestamps do not go back on a
/// track. Returns the number of spans.
pub fn check_nesting(json: &str) -> Result<usize, String> {
    let doc = parse_json(json)?;
    let Some(Json::Array(events)) = doc.get("traceEvents") else {
        return Err("no traceEvents array".into());
    };
    let mut depth: BTreeMap<(u64, u64), (usize, f64)> = BTreeMap::new();
    let mut spans = 0;
    for e in events {
        let ph = e
            .get("ph")
            .and_then(Json::as_str)
            .ok_or("an event without ph")?;
        if ph == "M" {
            continue;
        }
        let key = (
            e.get("pid").and_then(Json::as_f64).ok_or("no pid")? as u64,
            e.get("tid").and_then(Json::as_f64).ok_or("no tid")? as u64,
        );
        let ts = e.get("ts").and_then(Json::as_f64).ok_or("no ts")?;
        let (d, last) = depth.entry(key).or_insert((0, f64::MIN));
        if ts < *last {
            return Err(format!("{key:?}: time goes back ({ts} after {last})"));
        }
        *last = ts;
        match ph {
            "B" => *d += 1,
            "E" => {
                if *d == 0 {
                    return Err(format!("{key:?}: an E without its B at {ts}"));
                }
                *d -= 1;
                spans += 1;
            }
            "i" => {}
            other => return Err(format!("unexpected ph {other}")),
        }
    }
    if let Some((key, _)) = depth.iter().find(|(_, (d, _))| *d != 0) {
        return Err(format!("{key:?}: a B without its E"));
    }
    Ok(spans)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = include_str!("../fixtures/trace-sample.txt");

    #[test]
    fn a_line_reads_back() {
        let e = parse_line("[debug] TRACE 1234 0 0x1a000 7 switch 9 vfs main").unwrap();
        assert_eq!(e.tsc, 1234);
        assert_eq!(e.cr3, 0x1a000);
        assert_eq!(e.tid, 7);
        assert_eq!(e.kind, "switch");
        assert_eq!(e.arg, 9);
        assert_eq!(e.name, "vfs main");
        let e = parse_line("TRACE 5 0 0x2000 3 syscall_enter 12 ").unwrap();
        assert_eq!((e.arg, e.name.as_str()), (12, ""));
    }

    #[test]
    fn a_sample_trace_converts_parses_and_nests() {
        let events = parse(SAMPLE);
        assert!(events.len() > 20, "{} events", events.len());
        let (json, summary) = chrome_json(&events, "sample").expect("nests");
        assert_eq!(summary.events, events.len());
        let spans = check_nesting(&json).expect("balanced");
        assert!(spans > 5, "{spans} spans");
        let doc = parse_json(&json).unwrap();
        let Some(Json::Array(all)) = doc.get("traceEvents") else {
            panic!("no events")
        };
        let names: Vec<&str> = all
            .iter()
            .filter_map(|e| e.get("name").and_then(Json::as_str))
            .collect();
        assert!(
            names.iter().any(|n| n.starts_with("syscall Call")),
            "{names:?}"
        );
        assert!(
            names.iter().any(|n| n.starts_with("IPC reply")),
            "{names:?}"
        );
    }

    #[test]
    fn spans_that_do_not_nest_are_refused() {
        let text = "TRACE 1 0 0x1000 1 syscall_enter 12 \n\
                    TRACE 2 0 0x1000 1 copy_enter 4096 \n\
                    TRACE 3 0 0x1000 1 syscall_leave 12 \n";
        let err = chrome_json(&parse(text), "bad").unwrap_err();
        assert!(err.contains("inside the open copy span"), "{err}");
    }

    #[test]
    fn the_edges_are_repaired_and_counted() {
        // An end whose start was before the trace, a start never ended.
        let text = "TRACE 1 0 0x1000 1 syscall_leave 12 \n\
                    TRACE 2 0 0x1000 1 syscall_enter 14 \n\
                    TRACE 3 0 0x2000 2 trap_enter 14 \n";
        let (json, summary) = chrome_json(&parse(text), "edges").unwrap();
        assert_eq!(summary.dropped_leading, 1);
        assert_eq!(summary.closed_trailing, 2);
        // The two closed spans and the CPU track's running span.
        assert_eq!(check_nesting(&json), Ok(3));
    }

    #[test]
    fn the_checker_finds_unbalanced_json() {
        let bad = r#"{"traceEvents":[{"ph":"B","pid":1,"tid":1,"ts":1,"name":"x"}]}"#;
        assert!(check_nesting(bad).is_err());
        let bad = r#"{"traceEvents":[{"ph":"E","pid":1,"tid":1,"ts":1}]}"#;
        assert!(check_nesting(bad).is_err());
        assert!(parse_json("{\"a\": [1, 2,]}").is_err());
        assert_eq!(
            parse_json(r#"{"a":"\u0041\n","b":[true,null,-1.5e3]}"#).unwrap(),
            Json::Object(vec![
                ("a".into(), Json::Str("A\n".into())),
                (
                    "b".into(),
                    Json::Array(vec![Json::Bool(true), Json::Null, Json::Number(-1500.0)])
                ),
            ])
        );
    }
}
