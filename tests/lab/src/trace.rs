//! Recorded traces: the `REC` lines a recording server writes
//! (`libsys::record`), parsed into events; and the replay of a trace
//! against a server core on the host.
//!
//! A trace file is the `REC` lines of one server, in order, after a
//! comment header (`#` lines). [`extract`] takes them out of a log (the
//! kernel's prefix `kv[7]: ` cut off).

use std::collections::HashMap;
use std::fmt::Debug;

use timer::record::HardwareCall;

use libsys::rpc::{self, LABEL_REPLY, LABEL_REQUEST};
use libsys::server::{Dispatched, Hosted, Server};
use serde::de::DeserializeOwned;

/// One event of the serving loop.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// The server (re)started: a fresh core.
    Start,
    Request {
        badge: u64,
        label: u32,
        bytes: Vec<u8>,
    },
    Now {
        label: u32,
        bytes: Vec<u8>,
    },
    Later {
        token: u64,
    },
    Deliver {
        token: u64,
        label: u32,
        ok: bool,
        bytes: Vec<u8>,
    },
    Signal {
        bits: u64,
    },
    /// A deferred request's caller asked out of its call (the runtime's
    /// `UNBLOCK_SIGNAL`): the core's `interrupted`.
    Interrupt {
        token: u64,
    },
    /// The timer's loop: the clock base its core starts from (`boot
    /// <tsc_hz> <boot_tsc>`), before the core reads the RTC.
    Boot {
        tsc_hz: u64,
        boot_tsc: u64,
    },
    /// A call the core made of its hardware (`tsc`, `pit`, `cmos`:
    /// `timer::record`).
    Hardware(HardwareCall),
    /// The timer's loop bound client `badge`'s notification (`Bind` with
    /// its handle); the core's reply follows as a `now`.
    Bind {
        badge: u64,
    },
    /// The timer's loop sent bit `bit` of client `owner`'s notification.
    Sig {
        owner: u64,
        bit: u8,
    },
    /// The loop could not keep a deferred caller waiting: `token` ended.
    Cancel {
        token: u64,
    },
    /// The recording stopped here (`record=<lines>` reached): the replay
    /// stops before the step the record cut short.
    End,
}

/// The events without what follows an `end` in each process's part of
/// the record (from a `start` to the next), nor the step the `end` cut
/// short (the one begun by the last event `begins_step` says begins
/// one; a `start` is kept).
pub(crate) fn before_end(events: &[Event], begins_step: impl Fn(&Event) -> bool) -> Vec<Event> {
    let mut kept = Vec::new();
    let mut rest = events;
    while !rest.is_empty() {
        let next = rest[1..]
            .iter()
            .position(|e| *e == Event::Start)
            .map_or(rest.len(), |k| k + 1);
        let part = &rest[..next];
        match part.iter().position(|e| *e == Event::End) {
            None => kept.extend_from_slice(part),
            Some(end) => {
                let cut = part[..end]
                    .iter()
                    .rposition(|e| *e != Event::Start && begins_step(e))
                    .unwrap_or(0);
                let cut = if cut == 0 && part[0] == Event::Start {
                    1
                } else {
                    cut
                };
                kept.extend_from_slice(&part[..cut]);
            }
        }
        rest = &rest[next..];
    }
    kept
}

mod timer_replay;
pub use timer_replay::replay_timer;
mod mm_replay;
pub use mm_replay::{parse_mm, replay_mm, MmEvent};
mod vfs_replay;
pub use vfs_replay::{replay_vfs, replay_vfs_with};

/// The `REC <server> …` lines of `log` (anywhere in each line), from
/// `REC` on. A `REC <server> start` goes before the first line of each
/// process (the kernel's `name[pid]: ` prefix changed): a restarted
/// server starts with a fresh core, and so must its replay.
pub fn extract(log: &str, server: &str) -> Vec<String> {
    let tag = format!("REC {server} ");
    let mut lines = Vec::new();
    let mut process: Option<&str> = None;
    for line in log.lines() {
        let Some(at) = line.find(&tag) else { continue };
        let prefix = &line[..at];
        if process != Some(prefix) {
            lines.push(format!("{tag}start"));
            process = Some(prefix);
        }
        lines.push(line[at..].trim_end().to_string());
    }
    lines
}

fn hex(text: &str) -> Result<Vec<u8>, String> {
    if !text.len().is_multiple_of(2) {
        return Err(format!("odd number of hex digits in {text:?}"));
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).map_err(|_| format!("bad hex {text:?}")))
        .collect()
}

/// Parses a trace (or extracted lines) of `server`. Blank and `#` lines
/// are skipped; an event's payload must be complete before the next.
pub fn parse(text: &str, server: &str) -> Result<Vec<Event>, String> {
    let tag = format!("REC {server} ");
    let mut events = Vec::new();
    // The event being filled and the payload length it announced.
    let mut wanted = 0usize;
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let at = |why: String| format!("line {}: {why}", i + 1);
        let rest = line
            .strip_prefix(&tag)
            .ok_or_else(|| at(format!("not a `{tag}` line")))?;
        let words: Vec<&str> = rest.split_whitespace().collect();
        let num = |k: usize| -> Result<u64, String> {
            words
                .get(k)
                .and_then(|w| w.parse().ok())
                .ok_or_else(|| at(format!("word {} of {rest:?} is not a number", k + 1)))
        };
        if words.first() == Some(&"+") {
            let bytes = hex(words.get(1).copied().unwrap_or("")).map_err(at)?;
            let payload = match events.last_mut() {
                Some(Event::Request { bytes, .. })
                | Some(Event::Now { bytes, .. })
                | Some(Event::Deliver { bytes, .. }) => bytes,
                _ => return Err(at("payload after an event without one".into())),
            };
            if payload.len() + bytes.len() > wanted {
                return Err(at("more payload than announced".into()));
            }
            payload.extend(bytes);
            continue;
        }
        if let Some(
            Event::Request { bytes, .. } | Event::Now { bytes, .. } | Event::Deliver { bytes, .. },
        ) = events.last()
        {
            if bytes.len() != wanted {
                return Err(at(format!(
                    "the event before has {} of its {wanted} bytes",
                    bytes.len()
                )));
            }
        }
        let event = match words.first().copied() {
            Some("start") => Event::Start,
            Some("req") => {
                wanted = num(3)? as usize;
                Event::Request {
                    badge: num(1)?,
                    label: num(2)? as u32,
                    bytes: Vec::new(),
                }
            }
            Some("now") => {
                wanted = num(2)? as usize;
                Event::Now {
                    label: num(1)? as u32,
                    bytes: Vec::new(),
                }
            }
            Some("later") => Event::Later { token: num(1)? },
            Some("deliver") => {
                wanted = num(4)? as usize;
                let ok = match words.get(3) {
                    Some(&"ok") => true,
                    Some(&"gone") => false,
                    _ => return Err(at("deliver: ok or gone".into())),
                };
                Event::Deliver {
                    token: num(1)?,
                    label: num(2)? as u32,
                    ok,
                    bytes: Vec::new(),
                }
            }
            Some("signal") => Event::Signal { bits: num(1)? },
            Some("interrupt") => Event::Interrupt { token: num(1)? },
            Some("boot") => Event::Boot {
                tsc_hz: num(1)?,
                boot_tsc: num(2)?,
            },
            Some("tsc") => Event::Hardware(HardwareCall::Tsc(num(1)?)),
            Some("pit") => Event::Hardware(HardwareCall::Pit(
                u16::try_from(num(1)?).map_err(|_| at("pit: port out of range".into()))?,
                u8::try_from(num(2)?).map_err(|_| at("pit: byte out of range".into()))?,
            )),
            Some("cmos") => Event::Hardware(HardwareCall::Cmos(
                u8::try_from(num(1)?).map_err(|_| at("cmos: register out of range".into()))?,
                u8::try_from(num(2)?).map_err(|_| at("cmos: byte out of range".into()))?,
            )),
            Some("bind") => Event::Bind { badge: num(1)? },
            Some("sig") => Event::Sig {
                owner: num(1)?,
                bit: u8::try_from(num(2)?).map_err(|_| at("sig: bit out of range".into()))?,
            },
            Some("cancel") => Event::Cancel { token: num(1)? },
            Some("end") => Event::End,
            _ => return Err(at(format!("unknown event {rest:?}"))),
        };
        events.push(event);
    }
    if let Some(
        Event::Request { bytes, .. } | Event::Now { bytes, .. } | Event::Deliver { bytes, .. },
    ) = events.last()
    {
        if bytes.len() != wanted {
            return Err(format!(
                "the last event has {} of its {wanted} bytes",
                bytes.len()
            ));
        }
    }
    Ok(events)
}

/// What a replay found.
#[derive(Debug, PartialEq, Eq)]
pub struct Replayed {
    /// Requests fed to the core.
    pub requests: usize,
    /// Replies compared (at once and completed).
    pub replies: usize,
}

/// A request's bytes shown as the value they decode to.
pub(crate) fn show_request<T: DeserializeOwned + Debug>(label: u32, bytes: &[u8]) -> String {
    if label != LABEL_REQUEST {
        return format!("(label {label:#x})");
    }
    match rpc::decode::<T>(bytes) {
        Ok(request) => format!("{request:?}"),
        Err(_) => format!("({} undecodable bytes)", bytes.len()),
    }
}

/// A reply's bytes shown as the value they decode to.
pub(crate) fn show<T: DeserializeOwned + Debug>(label: u32, bytes: &[u8]) -> String {
    if label != LABEL_REPLY {
        return match label {
            rpc::LABEL_BAD_REQUEST => "LABEL_BAD_REQUEST".into(),
            rpc::LABEL_SERVER_ERROR => "LABEL_SERVER_ERROR".into(),
            other => format!("label {other:#x}"),
        };
    }
    match rpc::decode::<T>(bytes) {
        Ok(value) => format!("{value:?}"),
        Err(_) => format!("{} undecodable bytes", bytes.len()),
    }
}

/// Replays `events` against cores made by `fresh` (a new one at each
/// `start`): each recorded request is fed in order with its badge, and
/// each reply — at once, or completed later and matched to its request —
/// must be the recorded one. Completions are answered delivered or gone
/// as recorded. The error names the first difference, decoded.
pub fn replay<S>(events: &[Event], fresh: impl Fn() -> S) -> Result<Replayed, String>
where
    S: Server,
    S::Request: Debug,
    S::Reply: Debug + DeserializeOwned,
{
    let events = before_end(events, |e| {
        matches!(e, Event::Start | Event::Request { .. })
    });
    let mut hosted = Hosted::new(fresh());
    let mut output = vec![0u8; 1 << 16];
    let mut scratch = vec![0u8; 1 << 16];
    // The request number (from 1) and text of each request, by number.
    let mut shown: Vec<String> = Vec::new();
    // Deferred requests by recorded token and by the replay's token.
    let mut recorded_tokens: HashMap<u64, usize> = HashMap::new();
    let mut replay_tokens: HashMap<u64, usize> = HashMap::new();
    let mut token_of_request: HashMap<usize, libsys::later::Token> = HashMap::new();
    let mut replies = 0;
    let mut i = 0;
    let describe = |shown: &[String], n: usize| format!("request #{n} {}", shown[n - 1]);
    while i < events.len() {
        match &events[i] {
            Event::Start => {
                hosted = Hosted::new(fresh());
                recorded_tokens.clear();
                replay_tokens.clear();
                i += 1;
                continue;
            }
            Event::Request {
                badge,
                label,
                bytes,
            } => {
                shown.push(show_request::<S::Request>(*label, bytes));
                let n = shown.len();
                let got = hosted.request(*label, bytes, *badge, &mut output);
                match (events.get(i + 1), got) {
                    (
                        Some(Event::Now {
                            label: want_label,
                            bytes: want,
                        }),
                        Dispatched::Now(label, len),
                    ) => {
                        let got_bytes = &output[..len];
                        if *want_label != label || want[..] != got_bytes[..] {
                            return Err(format!(
                                "{}: expected {} got {}",
                                describe(&shown, n),
                                show::<S::Reply>(*want_label, want),
                                show::<S::Reply>(label, got_bytes)
                            ));
                        }
                        replies += 1;
                    }
                    (Some(Event::Later { token }), Dispatched::Later(got)) => {
                        recorded_tokens.insert(*token, n);
                        replay_tokens.insert(got.raw(), n);
                        token_of_request.insert(n, got);
                    }
                    (Some(Event::Now { label, bytes }), Dispatched::Later(_)) => {
                        return Err(format!(
                            "{}: expected {} at once, got deferred (blocked)",
                            describe(&shown, n),
                            show::<S::Reply>(*label, bytes)
                        ))
                    }
                    (Some(Event::Later { .. }), Dispatched::Now(label, len)) => {
                        return Err(format!(
                            "{}: expected it to block (deferred), got {} at once",
                            describe(&shown, n),
                            show::<S::Reply>(label, &output[..len])
                        ))
                    }
                    (other, _) => {
                        return Err(format!(
                            "{}: the trace has {other:?} after it, not its reply",
                            describe(&shown, n)
                        ))
                    }
                }
                i += 2;
            }
            Event::Signal { bits } => {
                // The unblock bit is the runtime's: the tokens it
                // interrupted follow as `interrupt` events.
                let rest = bits & !libsys::abi::ipc::UNBLOCK_SIGNAL;
                if rest != 0 {
                    hosted.signal(rest);
                }
                i += 1;
            }
            Event::Interrupt { token } => {
                let replayed = recorded_tokens
                    .get(token)
                    .and_then(|n| token_of_request.get(n));
                match replayed {
                    Some(&t) => {
                        let _ = hosted.interrupt(t);
                    }
                    None => {
                        let n = i + 1;
                        return Err(format!("event {n}: no deferred request has token {token}"));
                    }
                }
                i += 1;
            }
            other => {
                return Err(format!(
                    "event {} ({other:?}) comes where no request or signal was handled",
                    i + 1
                ))
            }
        }
        // The completions the loop delivered after this entry, in order.
        let mut error: Option<String> = None;
        let mut next = i;
        hosted.deliver(&mut scratch, |token, label, bytes| {
            if error.is_some() {
                return false;
            }
            let n = replay_tokens.get(&token.raw()).copied();
            let got = show::<S::Reply>(label, bytes);
            let Some(Event::Deliver {
                token: want_token,
                label: want_label,
                ok,
                bytes: want,
            }) = events.get(next)
            else {
                error = Some(match n {
                    Some(n) => format!(
                        "{}: completed with {got}, but the recording has no completion here",
                        describe(&shown, n)
                    ),
                    None => format!("a completion ({got}) for no deferred request"),
                });
                return false;
            };
            next += 1;
            let want_n = recorded_tokens.get(want_token).copied();
            if n != want_n || *want_label != label || want[..] != bytes[..] {
                let whose = |n: Option<usize>| match n {
                    Some(n) => describe(&shown, n),
                    None => "an unknown request".into(),
                };
                error = Some(format!(
                    "completion: expected {} for {}, got {got} for {}",
                    show::<S::Reply>(*want_label, want),
                    whose(want_n),
                    whose(n)
                ));
                return false;
            }
            replies += 1;
            *ok
        });
        if let Some(error) = error {
            return Err(error);
        }
        if let Some(Event::Deliver {
            token,
            label,
            bytes,
            ..
        }) = events.get(next)
        {
            let whose = recorded_tokens
                .get(token)
                .map_or("an unknown request".to_string(), |&n| describe(&shown, n));
            return Err(format!(
                "{whose}: expected it completed with {} here, got no completion",
                show::<S::Reply>(*label, bytes)
            ));
        }
        i = next;
    }
    Ok(Replayed {
        requests: shown.len(),
        replies,
    })
}

/// Whether a trace (or extracted lines) of `server` parses.
pub fn check(text: &str, server: &str) -> Result<(), String> {
    match server {
        "vfs" => vfs_replay::parse(text).map(|_| ()),
        _ => parse(text, server).map(|_| ()),
    }
}

/// Replays a trace file's text against the named server's core.
pub fn replay_server(server: &str, text: &str) -> Result<Replayed, String> {
    if server == "mm" {
        return replay_mm(&parse_mm(text)?);
    }
    if server == "vfs" {
        // Its own events (vfs_replay.rs).
        return replay_vfs(text);
    }
    let events = parse(text, server)?;
    match server {
        "kv" => replay(&events, kv::Kv::new),
        "wait1" => replay(&events, wait1::Wait1Server::new),
        "timer" => replay_timer(&events),
        other => Err(format!(
            "no replay for `{other}`: the servers with a host core to replay are kv, wait1, timer, mm and vfs"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use libsys::proto::kv::{Key, KvError, Reply, Request, Value};
    use libsys::server::{Answer, Caller, Later};

    fn lines(name: &str, header: std::fmt::Arguments, bytes: &[u8], out: &mut String) {
        libsys::record::format_event(name, header, bytes, |l| {
            out.push_str("kv[7]: ");
            out.push_str(l);
            out.push('\n');
        });
    }

    fn enc<T: serde::Serialize>(v: &T) -> Vec<u8> {
        let mut b = vec![0u8; 4096];
        let n = rpc::encode(v, &mut b).unwrap();
        b.truncate(n);
        b
    }

    /// A log as a recording kv writes it, from what the real core answers.
    fn recorded(requests: &[(u64, Request)]) -> String {
        let mut log = String::from("kernel: unrelated line\n");
        lines("kv", format_args!("start"), &[], &mut log);
        let mut kv = kv::Kv::new();
        for (badge, r) in requests {
            let bytes = enc(r);
            lines(
                "kv",
                format_args!("req {badge} {LABEL_REQUEST} {}", bytes.len()),
                &bytes,
                &mut log,
            );
            let reply = enc(&kv.answer(r.clone(), Caller { badge: *badge }));
            lines(
                "kv",
                format_args!("now {LABEL_REPLY} {}", reply.len()),
                &reply,
                &mut log,
            );
        }
        log
    }

    fn get(k: &str) -> Request {
        Request::Get {
            key: Key::try_from(k).unwrap(),
        }
    }

    fn put(k: &str, v: &[u8]) -> Request {
        Request::Put {
            key: Key::try_from(k).unwrap(),
            value: Value::from_slice(v).unwrap(),
        }
    }

    #[test]
    fn a_recorded_log_replays_against_the_real_core() {
        let big = vec![7u8; 300];
        let log = recorded(&[
            (1, put("a", b"1")),
            (1, get("a")),
            (2, get("a")),
            (1, put("b", &big)),
        ]);
        let trace = extract(&log, "kv").join("\n");
        assert!(!trace.contains("unrelated"));
        let events = parse(&trace, "kv").unwrap();
        assert_eq!(
            events.len(),
            10,
            "a start for the process, the recorded start, 4 requests and replies"
        );
        assert_eq!(
            replay_server("kv", &trace).unwrap(),
            Replayed {
                requests: 4,
                replies: 4
            }
        );
    }

    /// kv with a bug: a Get of a key that is there says NotFound.
    #[derive(Default)]
    struct Forgetful(kv::Kv);

    impl Server for Forgetful {
        type Request = Request;
        type Reply = Reply;
        fn handle(&mut self, r: Request, from: Caller, _: &mut Later<Reply>) -> Answer<Reply> {
            match r {
                Request::Get { .. } => Answer::Now(Reply::Error(KvError::NotFound)),
                r => Answer::Now(self.0.answer(r, from)),
            }
        }
    }

    #[test]
    fn a_restarted_server_replays_from_a_fresh_core() {
        let first = recorded(&[(1, put("a", b"1"))]);
        let second = recorded(&[(1, get("a"))]).replace("kv[7]", "kv[9]");
        let trace = extract(&(first + &second), "kv").join("\n");
        assert_eq!(trace.matches("REC kv start").count(), 4);
        // The restarted kv said NotFound: replayed on one core it would not.
        assert_eq!(replay_server("kv", &trace).unwrap().requests, 2);
        let merged = trace.replace("REC kv start\n", "");
        let err = replay_server("kv", &merged).unwrap_err();
        assert!(
            err.starts_with(
                "request #2 Get { key: \"a\" }: expected Error(NotFound) got Value([49])"
            ),
            "{err}"
        );
    }

    #[test]
    fn the_first_wrong_reply_is_shown_decoded() {
        let log = recorded(&[(1, put("a", b"1")), (1, get("zz")), (1, get("a"))]);
        let events = parse(&extract(&log, "kv").join("\n"), "kv").unwrap();
        let err = replay(&events, Forgetful::default).unwrap_err();
        assert_eq!(
            err,
            "request #3 Get { key: \"a\" }: expected Value([49]) got Error(NotFound)"
        );
    }

    #[test]
    fn broken_traces_are_refused_with_the_line() {
        let bad = [
            (
                "REC kv req 1 2 3\nREC kv + 0102\n",
                "the last event has 2 of its 3 bytes",
            ),
            ("REC kv req 1 2 1\nREC kv + 0102\n", "line 2: more payload"),
            ("REC kv + 01\n", "line 1: payload after"),
            ("REC kv frob\n", "line 1: unknown event"),
            ("REC wait1 start\n", "line 1: not a `REC kv ` line"),
            ("REC kv req x 2 0\n", "line 1: word 2"),
            ("REC kv req 1 2 1\nREC kv + 0g\n", "bad hex"),
        ];
        for (text, why) in bad {
            let err = parse(text, "kv").unwrap_err();
            assert!(err.contains(why), "{text:?}: {err}");
        }
        assert!(replay_server("blk", "")
            .unwrap_err()
            .contains("no replay for `blk`"));
    }

    #[test]
    fn a_deferred_reply_is_matched_to_its_request() {
        use libsys::proto::wait1::{Bytes, Data, Reply as WR, Request as W};
        let read = W::Read {
            max: 4,
            nonblock: false,
        };
        let write = W::Write {
            bytes: Bytes::from_slice(b"hi").unwrap(),
            nonblock: false,
        };
        let mut t = String::new();
        let mut line = |h: std::fmt::Arguments, b: &[u8]| {
            libsys::record::format_event("wait1", h, b, |l| {
                t.push_str(l);
                t.push('\n')
            })
        };
        let r = enc(&read);
        line(format_args!("req 5 {LABEL_REQUEST} {}", r.len()), &r);
        line(format_args!("later 77"), &[]);
        let w = enc(&write);
        line(format_args!("req 6 {LABEL_REQUEST} {}", w.len()), &w);
        let done = enc(&WR::Written(2));
        line(format_args!("now {LABEL_REPLY} {}", done.len()), &done);
        let data = enc(&WR::Data(Data::from_slice(b"hi").unwrap()));
        line(
            format_args!("deliver 77 {LABEL_REPLY} ok {}", data.len()),
            &data,
        );
        assert_eq!(
            replay_server("wait1", &t).unwrap(),
            Replayed {
                requests: 2,
                replies: 2
            }
        );
        // Without the completion in the record, the replay says so.
        let cut: String = t.lines().take(7).map(|l| format!("{l}\n")).collect();
        let err = replay_server("wait1", &cut).unwrap_err();
        assert!(
            err.contains(
                "request #1 Read { max: 4, nonblock: false }: completed with Data([104, 105])"
            ),
            "{err}"
        );
    }
}
