//! `kv`: a key–value store, the first server to learn from (see
//! docs/writing-a-server.md).
//!
//! This crate is the server's core: pure logic behind
//! [`libsys::server::Server`], making no system call, tested on the host.
//! The binary (`main.rs`) serves it over IPC; the kernel links the same
//! core for the monolithic placement (`placement=mono`).
//!
//! ## IPC protocol
//!
//! `libsys::proto::kv`: every request, its reply and its errors are listed
//! there. In short: `Put`, `Get`, `Delete`, `List`, `Stats`; each client
//! (told apart by the badge `init` minted for it) has its own keys and a
//! quota of [`QUOTA_KEYS`] keys and [`QUOTA_BYTES`] bytes. A request that
//! does not decode is answered `LABEL_BAD_REQUEST` by the runtime and never
//! reaches [`Kv::handle`].
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

extern crate alloc;

use alloc::collections::BTreeMap;

use libsys::proto::kv::{Key, KvError, Reply, Request, Value, LIST_MAX};
pub use libsys::proto::kv::{CLIENTS_MAX, QUOTA_BYTES, QUOTA_KEYS};
use libsys::server::{Answer, Caller, Later, Server};

/// One client's keys and what they use of its quota.
#[derive(Debug, Default)]
struct Space {
    entries: BTreeMap<Key, Value>,
    bytes: u32,
}

/// The store: a space per client badge.
#[derive(Debug, Default)]
pub struct Kv {
    spaces: BTreeMap<u64, Space>,
}

fn cost(key: &Key, value: &Value) -> u32 {
    (key.len() + value.len()) as u32
}

impl Kv {
    pub fn new() -> Kv {
        Kv::default()
    }

    fn put(&mut self, badge: u64, key: Key, value: Value) -> Reply {
        // LAB 1 BEGIN: Put (an empty key, the quotas, replacing a value)
        if key.is_empty() {
            return Reply::Error(KvError::EmptyKey);
        }
        let space = self.spaces.entry(badge).or_default();
        let old = space.entries.get(&key).map_or(0, |v| cost(&key, v));
        let new = cost(&key, &value);
        if old == 0 && space.entries.len() as u32 >= QUOTA_KEYS {
            return Reply::Error(KvError::QuotaKeys);
        }
        if space.bytes - old + new > QUOTA_BYTES {
            return Reply::Error(KvError::QuotaBytes);
        }
        space.bytes = space.bytes - old + new;
        space.entries.insert(key, value);
        Reply::Done
        // LAB 1 STUB
        // let _ = (badge, key, value, &mut self.spaces);
        // Reply::Error(KvError::QuotaKeys)
        // LAB 1 END
    }

    fn get(&self, badge: u64, key: &Key) -> Reply {
        // LAB 1 BEGIN: Get (this client's value of the key)
        match self.spaces.get(&badge).and_then(|s| s.entries.get(key)) {
            Some(value) => Reply::Value(value.clone()),
            None => Reply::Error(KvError::NotFound),
        }
        // LAB 1 STUB
        // let _ = (badge, key, &self.spaces);
        // Reply::Error(KvError::NotFound)
        // LAB 1 END
    }

    fn delete(&mut self, badge: u64, key: &Key) -> Reply {
        // LAB 1 BEGIN: Delete (and give the bytes back to the quota)
        let Some(space) = self.spaces.get_mut(&badge) else {
            return Reply::Error(KvError::NotFound);
        };
        match space.entries.remove(key) {
            Some(value) => {
                space.bytes -= cost(key, &value);
                if space.entries.is_empty() {
                    self.spaces.remove(&badge);
                }
                Reply::Done
            }
            None => Reply::Error(KvError::NotFound),
        }
        // LAB 1 STUB
        // let _ = (badge, key, &mut self.spaces);
        // Reply::Error(KvError::NotFound)
        // LAB 1 END
    }

    fn list(&self, badge: u64, after: Option<Key>) -> Reply {
        let mut keys = heapless::Vec::new();
        if let Some(space) = self.spaces.get(&badge) {
            let range = match &after {
                Some(after) => space.entries.range::<Key, _>((
                    core::ops::Bound::Excluded(after),
                    core::ops::Bound::Unbounded,
                )),
                None => space.entries.range::<Key, _>(..),
            };
            for (key, _) in range.take(LIST_MAX) {
                // Cannot fail: at most LIST_MAX are taken.
                let _ = keys.push(key.clone());
            }
        }
        Reply::Keys(keys)
    }

    fn stats(&self, badge: u64) -> Reply {
        let (keys, bytes) = self
            .spaces
            .get(&badge)
            .map_or((0, 0), |s| (s.entries.len() as u32, s.bytes));
        Reply::Stats { keys, bytes }
    }
}

impl Kv {
    /// Answers one request (kv always answers at once).
    #[inline]
    pub fn answer(&mut self, request: Request, from: Caller) -> Reply {
        match request {
            // A client with no keys yet makes a space: bounded in all.
            Request::Put { .. }
                if self.spaces.len() >= CLIENTS_MAX && !self.spaces.contains_key(&from.badge) =>
            {
                Reply::Error(KvError::TooManyClients)
            }
            Request::Put { key, value } => self.put(from.badge, key, value),
            Request::Get { key } => self.get(from.badge, &key),
            Request::Delete { key } => self.delete(from.badge, &key),
            Request::List { after } => self.list(from.badge, after),
            Request::Stats => self.stats(from.badge),
        }
    }
}

impl Server for Kv {
    type Request = Request;
    type Reply = Reply;

    fn handle(&mut self, request: Request, from: Caller, _: &mut Later<Reply>) -> Answer<Reply> {
        Answer::Now(self.answer(request, from))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use libsys::rpc::{encode, LABEL_BAD_REQUEST, LABEL_REPLY, LABEL_REQUEST};
    use libsys::server::dispatch;

    const ALICE: Caller = Caller { badge: 1 };
    const BOB: Caller = Caller { badge: 2 };

    fn key(text: &str) -> Key {
        text.try_into().unwrap()
    }

    fn value(bytes: &[u8]) -> Value {
        Value::from_slice(bytes).unwrap()
    }

    fn put(kv: &mut Kv, who: Caller, k: &str, v: &[u8]) -> Reply {
        kv.answer(
            Request::Put {
                key: key(k),
                value: value(v),
            },
            who,
        )
    }

    #[test]
    fn clients_holding_keys_are_bounded_and_a_space_freed_counts_again() {
        let mut kv = Kv::new();
        for badge in 0..CLIENTS_MAX as u64 {
            assert_eq!(put(&mut kv, Caller { badge }, "k", b"v"), Reply::Done);
        }
        let late = Caller { badge: 1_000 };
        assert_eq!(
            put(&mut kv, late, "k", b"v"),
            Reply::Error(KvError::TooManyClients)
        );
        assert_eq!(
            put(&mut kv, Caller { badge: 3 }, "k2", b"v"),
            Reply::Done,
            "a client with keys goes on"
        );
        kv.answer(Request::Delete { key: key("k") }, Caller { badge: 5 });
        assert_eq!(put(&mut kv, late, "k", b"v"), Reply::Done, "room again");
    }

    #[test]
    fn put_get_delete() {
        let mut kv = Kv::new();
        assert_eq!(put(&mut kv, ALICE, "a", b"1"), Reply::Done);
        assert_eq!(
            kv.answer(Request::Get { key: key("a") }, ALICE),
            Reply::Value(value(b"1"))
        );
        assert_eq!(put(&mut kv, ALICE, "a", b"22"), Reply::Done, "overwrite");
        assert_eq!(
            kv.answer(Request::Get { key: key("a") }, ALICE),
            Reply::Value(value(b"22"))
        );
        assert_eq!(
            kv.answer(Request::Delete { key: key("a") }, ALICE),
            Reply::Done
        );
        assert_eq!(
            kv.answer(Request::Get { key: key("a") }, ALICE),
            Reply::Error(KvError::NotFound)
        );
        assert_eq!(
            kv.answer(Request::Delete { key: key("a") }, ALICE),
            Reply::Error(KvError::NotFound)
        );
        assert_eq!(
            put(&mut kv, ALICE, "", b"x"),
            Reply::Error(KvError::EmptyKey)
        );
    }

    #[test]
    fn clients_have_their_own_keys() {
        let mut kv = Kv::new();
        put(&mut kv, ALICE, "k", b"alice");
        put(&mut kv, BOB, "k", b"bob");
        assert_eq!(
            kv.answer(Request::Get { key: key("k") }, ALICE),
            Reply::Value(value(b"alice"))
        );
        assert_eq!(
            kv.answer(Request::Get { key: key("k") }, BOB),
            Reply::Value(value(b"bob"))
        );
        kv.answer(Request::Delete { key: key("k") }, BOB);
        assert_eq!(
            kv.answer(Request::Get { key: key("k") }, ALICE),
            Reply::Value(value(b"alice"))
        );
    }

    #[test]
    fn quotas_are_per_client_and_freed_by_delete() {
        let mut kv = Kv::new();
        for i in 0..QUOTA_KEYS {
            assert_eq!(put(&mut kv, ALICE, &i.to_string(), b"v"), Reply::Done);
        }
        assert_eq!(
            put(&mut kv, ALICE, "one more", b"v"),
            Reply::Error(KvError::QuotaKeys)
        );
        assert_eq!(
            put(&mut kv, ALICE, "0", b"vv"),
            Reply::Done,
            "overwriting is not a new key"
        );
        assert_eq!(
            put(&mut kv, BOB, "mine", b"v"),
            Reply::Done,
            "another client's quota is its own"
        );
        kv.answer(Request::Delete { key: key("0") }, ALICE);
        assert_eq!(
            put(&mut kv, ALICE, "one more", b"v"),
            Reply::Done,
            "a delete frees a key"
        );

        let mut kv = Kv::new();
        let big = [7u8; 1000];
        let mut n = 0;
        while put(&mut kv, ALICE, &format!("b{n:03}"), &big) == Reply::Done {
            n += 1;
        }
        assert_eq!(n, QUOTA_BYTES / 1004, "bytes of keys and values count");
        assert_eq!(
            put(&mut kv, ALICE, "b000", &big),
            Reply::Done,
            "replacing a value of the same size fits"
        );
        let Reply::Stats { keys, bytes } = kv.answer(Request::Stats, ALICE) else {
            panic!("no stats")
        };
        assert_eq!((keys, bytes), (n, n * 1004));
        assert_eq!(
            kv.answer(Request::Stats, BOB),
            Reply::Stats { keys: 0, bytes: 0 }
        );
    }

    #[test]
    fn list_pages_through_keys_in_order() {
        let mut kv = Kv::new();
        for i in 0..40 {
            put(&mut kv, ALICE, &format!("k{i:02}"), b"v");
        }
        let mut seen = Vec::new();
        let mut after = None;
        loop {
            let Reply::Keys(keys) = kv.answer(
                Request::List {
                    after: after.clone(),
                },
                ALICE,
            ) else {
                panic!("no keys")
            };
            if keys.is_empty() {
                break;
            }
            assert!(keys.len() <= LIST_MAX);
            after = keys.last().cloned();
            seen.extend(keys.iter().map(|k| k.to_string()));
        }
        let expected: Vec<_> = (0..40).map(|i| format!("k{i:02}")).collect();
        assert_eq!(seen, expected);
        assert_eq!(
            kv.answer(Request::List { after: None }, BOB),
            Reply::Keys(heapless::Vec::new())
        );
    }

    #[test]
    fn the_runtime_answers_garbage_and_the_store_keeps_serving() {
        let mut kv = Kv::new();
        let mut output = [0u8; 4096];
        assert_eq!(
            dispatch(
                &mut kv,
                LABEL_REQUEST,
                &[0xde, 0xad, 0xbe, 0xef],
                1,
                &mut output
            ),
            (LABEL_BAD_REQUEST, 0)
        );
        let mut input = [0u8; 128];
        let n = encode(
            &Request::Put {
                key: key("x"),
                value: value(b"y"),
            },
            &mut input,
        )
        .unwrap();
        assert_eq!(
            dispatch(&mut kv, LABEL_REQUEST, &input[..n - 1], 1, &mut output),
            (LABEL_BAD_REQUEST, 0),
            "truncated"
        );
        let (label, _) = dispatch(&mut kv, LABEL_REQUEST, &input[..n], 1, &mut output);
        assert_eq!(label, LABEL_REPLY);
        assert_eq!(
            kv.answer(Request::Get { key: key("x") }, Caller { badge: 1 }),
            Reply::Value(value(b"y"))
        );
    }
}
