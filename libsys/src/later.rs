//! Reply later: the token table and outbox of a server core's deferred
//! replies (pure, host-tested; the runtime in [`crate::server`] and the
//! kernel's monolithic transport drive it).
//!
//! A core that cannot answer a request at once (an empty pipe, a sleep)
//! calls [`Later::defer`] for the request's [`crate::server::Caller`],
//! answers `Answer::Later(token)`, and keeps the token. Afterwards — from a
//! later `handle`, from `on_signal`, from `interrupted` — it calls
//! [`Later::complete`]`(token, reply)`. The core never makes a system call:
//! a completion only goes into the outbox, which the transport drains
//! after each entry into the core ([`Later::drain`]) and delivers (with
//! the saved reply right in the process placement, by waking the caller's
//! kernel wait in the monolithic one).
//!
//! Invariants:
//! - a token is live from `defer` until `complete`, `cancel` or
//!   `cancel_client`, and completes at most once: its slot's generation
//!   moves on when it ends, so a stale token (or one never handed out) is
//!   [`LaterError::UnknownToken`];
//! - live tokens are bounded in total ([`TOKENS_MAX`]) and per client
//!   ([`TOKENS_PER_CLIENT`]); the outbox holds at most one entry per token
//!   that was live, so it is bounded too;
//! - one request defers at most once ([`LaterError::AlreadyDeferred`]).
//!
//! **Grant windows.** The window the request's caller lent is
//! [`Later::grant`] while `handle` runs (the transport lends it with
//! [`Later::lend`]: a `CallerGrant` in a process, the kernel's
//! `CurrentGrant` in the monolithic placement); a deferred request keeps
//! its window with its token ([`Later::keep_grant`], by the transport),
//! reached afterwards with [`Later::grant_of`] until the token ends.
//!
//! **Calls out.** A deferred request may wait on another server: the core
//! asks [`Later::call_out`] (it never blocks; the transport starts the
//! call after the entry and hands the answer back through
//! `Server::answered`). One call per token at a time; a token that ends
//! (completed, cancelled, its client gone) takes its call with it, and a
//! late answer finds nothing ([`Later::answer`] refuses it).

use alloc::boxed::Box;
use alloc::collections::{BTreeMap, BTreeSet};
use alloc::string::String;
use alloc::vec::Vec;
use core::ptr::NonNull;

use crate::abi::grant::Window;
use crate::abi::SysError;
use crate::grant::GrantAccess;

/// Live tokens per table, all clients together.
pub const TOKENS_MAX: usize = 256;
/// Live tokens one client (badge) may hold.
pub const TOKENS_PER_CLIENT: usize = 64;

/// A deferred request: a slot and the slot's generation, so a token that
/// was used up cannot name the slot's next occupant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Token(u64);

impl Token {
    fn new(slot: usize, generation: u32) -> Token {
        Token(((generation as u64) << 32) | slot as u64)
    }

    fn slot(self) -> usize {
        (self.0 & 0xffff_ffff) as usize
    }

    fn generation(self) -> u32 {
        (self.0 >> 32) as u32
    }

    /// The token as a number (for a core's own maps and the logs).
    pub const fn raw(self) -> u64 {
        self.0
    }
}

/// Why a token operation was refused; nothing changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LaterError {
    /// [`TOKENS_MAX`] tokens are live.
    TableFull,
    /// The client holds [`TOKENS_PER_CLIENT`] live tokens.
    ClientFull,
    /// The token was completed or cancelled already, or never handed out.
    UnknownToken,
    /// This request was deferred already.
    AlreadyDeferred,
    /// `defer` outside a request (from `on_signal`, say).
    NoRequest,
    /// A call out for this token is in flight already.
    Calling,
}

/// The grant of a request that lent no window: every copy is `NoRights`.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoGrant;

impl GrantAccess for NoGrant {
    fn window(&self) -> Option<Window> {
        None
    }

    fn write(&mut self, _offset: u64, _data: &[u8]) -> Result<(), SysError> {
        Err(SysError::NoRights)
    }

    fn read(&mut self, _offset: u64, _out: &mut [u8]) -> Result<(), SysError> {
        Err(SysError::NoRights)
    }
}

/// A call a core asks its transport to make for deferred request `token`:
/// to the endpoint client `client` connected under `target` (the
/// transport's table of connections; `client` 0 is the system's), with
/// `label` and `payload` (the request, encoded by the core).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallOut {
    pub token: Token,
    pub client: u64,
    pub target: String,
    pub label: u32,
    pub payload: Vec<u8>,
}

/// The window lent for the request being handled: set by [`Later::lend`]
/// for the length of one entry into the core, null otherwise.
struct Lent(Option<NonNull<dyn GrantAccess>>);

// SAFETY: the pointer is set only while `Later::lend` runs, on the thread
// that called it, and cleared before it returns; it is never sent
// anywhere while set.
unsafe impl Send for Lent {}

impl core::fmt::Debug for Lent {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Lent({})", self.0.is_some())
    }
}

#[derive(Clone, Copy, Debug)]
struct Slot {
    generation: u32,
    /// The badge of the client, while live.
    owner: Option<u64>,
}

/// The live tokens of one core.
#[derive(Debug, Default)]
pub struct TokenTable {
    slots: Vec<Slot>,
    live: usize,
}

impl TokenTable {
    pub const fn new() -> TokenTable {
        TokenTable {
            slots: Vec::new(),
            live: 0,
        }
    }

    /// Live tokens.
    pub fn len(&self) -> usize {
        self.live
    }

    pub fn is_empty(&self) -> bool {
        self.live == 0
    }

    /// Live tokens of client `badge`.
    pub fn held_by(&self, badge: u64) -> usize {
        self.slots.iter().filter(|s| s.owner == Some(badge)).count()
    }

    /// A new live token owned by `badge`.
    pub fn insert(&mut self, badge: u64) -> Result<Token, LaterError> {
        if self.live >= TOKENS_MAX {
            return Err(LaterError::TableFull);
        }
        if self.held_by(badge) >= TOKENS_PER_CLIENT {
            return Err(LaterError::ClientFull);
        }
        let slot = match self.slots.iter().position(|s| s.owner.is_none()) {
            Some(free) => free,
            None => {
                self.slots.push(Slot {
                    generation: 0,
                    owner: None,
                });
                self.slots.len() - 1
            }
        };
        self.slots[slot].owner = Some(badge);
        self.live += 1;
        Ok(Token::new(slot, self.slots[slot].generation))
    }

    /// The owner of live `token`.
    pub fn owner(&self, token: Token) -> Result<u64, LaterError> {
        let slot = self
            .slots
            .get(token.slot())
            .ok_or(LaterError::UnknownToken)?;
        match slot.owner {
            Some(owner) if slot.generation == token.generation() => Ok(owner),
            _ => Err(LaterError::UnknownToken),
        }
    }

    /// Ends live `token`; returns its owner.
    pub fn remove(&mut self, token: Token) -> Result<u64, LaterError> {
        let owner = self.owner(token)?;
        let slot = &mut self.slots[token.slot()];
        slot.owner = None;
        slot.generation = slot.generation.wrapping_add(1);
        self.live -= 1;
        Ok(owner)
    }

    /// Ends every live token of `badge`; returns them.
    pub fn remove_client(&mut self, badge: u64) -> Vec<Token> {
        let tokens: Vec<Token> = self
            .slots
            .iter()
            .enumerate()
            .filter(|(_, s)| s.owner == Some(badge))
            .map(|(i, s)| Token::new(i, s.generation))
            .collect();
        for &token in &tokens {
            let _ = self.remove(token);
        }
        tokens
    }
}

/// What a core is handed on every entry: the token table, the outbox of
/// completions, and the request being handled (if any).
pub struct Later<R> {
    table: TokenTable,
    outbox: Vec<(Token, R)>,
    /// The badge of the request being handled, and the token it was
    /// deferred under (once `defer` is called).
    current: Option<(u64, Option<Token>)>,
    /// The current request's window (see [`Later::lend`]).
    lent: Lent,
    /// Deferred requests' windows, by token.
    kept: BTreeMap<Token, Box<dyn GrantAccess + Send>>,
    /// Calls out asked for and not yet taken by the transport.
    calls: Vec<CallOut>,
    /// Tokens with a call out in flight.
    calling: BTreeSet<Token>,
    /// What [`Later::grant`] gives when nothing was lent.
    none: NoGrant,
}

impl<R> core::fmt::Debug for Later<R> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Later")
            .field("table", &self.table)
            .field("completions", &self.outbox.len())
            .field("current", &self.current)
            .field("kept", &self.kept.len())
            .field("calling", &self.calling.len())
            .finish()
    }
}

impl<R> Default for Later<R> {
    fn default() -> Self {
        Later::new()
    }
}

impl<R> Later<R> {
    pub const fn new() -> Later<R> {
        Later {
            table: TokenTable::new(),
            outbox: Vec::new(),
            current: None,
            lent: Lent(None),
            kept: BTreeMap::new(),
            calls: Vec::new(),
            calling: BTreeSet::new(),
            none: NoGrant,
        }
    }

    /// Defers the request being handled: a token to answer it with later
    /// (return `Answer::Later(token)`). Fails when the tables are full
    /// (the core answers an error now instead), outside a request, or
    /// twice for one request.
    pub fn defer(&mut self) -> Result<Token, LaterError> {
        let Some((badge, deferred)) = self.current else {
            return Err(LaterError::NoRequest);
        };
        if deferred.is_some() {
            return Err(LaterError::AlreadyDeferred);
        }
        let token = self.table.insert(badge)?;
        self.current = Some((badge, Some(token)));
        Ok(token)
    }

    /// Answers deferred request `token` with `reply` (delivered by the
    /// transport when the core returns). At most once per token.
    pub fn complete(&mut self, token: Token, reply: R) -> Result<(), LaterError> {
        self.table.remove(token)?;
        self.forget(token);
        self.outbox.push((token, reply));
        Ok(())
    }

    /// The window the request being handled lent ([`NoGrant`] if none,
    /// or outside a request). Copies through it go straight to the
    /// caller's memory: `grant_copy` in a process, the kernel's own copy
    /// in the monolithic placement.
    pub fn grant(&mut self) -> &mut dyn GrantAccess {
        match self.lent.0 {
            // SAFETY: set by `lend` from a `&mut` that outlives the
            // entry into the core, and cleared before `lend` returns;
            // `&mut self` keeps this the only use of it meanwhile.
            Some(mut grant) => unsafe { grant.as_mut() },
            None => &mut self.none,
        }
    }

    /// The window deferred request `token` lent, kept by the transport
    /// ([`NoGrant`] if it lent none or the token is not live).
    pub fn grant_of(&mut self, token: Token) -> &mut dyn GrantAccess {
        match self.kept.get_mut(&token) {
            Some(grant) => grant.as_mut(),
            None => &mut self.none,
        }
    }

    /// Asks the transport to call `target` (connected by `client`; 0:
    /// the system's) for live token `token` with `label` and `payload`;
    /// the answer comes back through `Server::answered`. Never blocks.
    /// `UnknownToken` if the token is not live, `Calling` if it has a
    /// call in flight.
    pub fn call_out(
        &mut self,
        token: Token,
        client: u64,
        target: &str,
        label: u32,
        payload: Vec<u8>,
    ) -> Result<(), LaterError> {
        self.table.owner(token)?;
        if !self.calling.insert(token) {
            return Err(LaterError::Calling);
        }
        self.calls.push(CallOut {
            token,
            client,
            target: String::from(target),
            label,
            payload,
        });
        Ok(())
    }

    /// Whether `token` has a call out in flight.
    pub fn is_calling(&self, token: Token) -> bool {
        self.calling.contains(&token)
    }

    fn forget(&mut self, token: Token) {
        self.kept.remove(&token);
        if self.calling.remove(&token) {
            self.calls.retain(|c| c.token != token);
        }
    }

    /// The client of live `token`.
    pub fn owner(&self, token: Token) -> Result<u64, LaterError> {
        self.table.owner(token)
    }

    /// Live (deferred, not yet completed) tokens.
    pub fn pending(&self) -> usize {
        self.table.len()
    }

    // --- for transports ---

    /// A request from `badge` is about to be handled.
    pub fn begin(&mut self, badge: u64) {
        self.current = Some((badge, None));
    }

    /// The request is handled: the token it was deferred under, if any.
    pub fn end(&mut self) -> Option<Token> {
        self.current.take().and_then(|(_, token)| token)
    }

    /// Ends `token` without an answer (the transport could not keep the
    /// caller's reply right, or the core answered `Later` wrongly).
    pub fn cancel(&mut self, token: Token) -> Result<u64, LaterError> {
        let owner = self.table.remove(token)?;
        self.forget(token);
        Ok(owner)
    }

    /// Ends every live token of client `badge` (it died or went away).
    pub fn cancel_client(&mut self, badge: u64) -> Vec<Token> {
        let tokens = self.table.remove_client(badge);
        for &token in &tokens {
            self.forget(token);
        }
        tokens
    }

    /// Runs `entry` (one entry into the core) with `grant` as the
    /// request's window ([`Later::grant`]).
    pub fn lend<T>(
        &mut self,
        grant: &mut dyn GrantAccess,
        entry: impl FnOnce(&mut Self) -> T,
    ) -> T {
        let ptr: NonNull<dyn GrantAccess + '_> = NonNull::from(grant);
        // SAFETY: only the lifetime bound changes; the pointer is cleared
        // below, before the borrow it came from ends, and read only by
        // `grant` meanwhile.
        let ptr: NonNull<dyn GrantAccess + 'static> = unsafe { core::mem::transmute(ptr) };
        self.lent.0 = Some(ptr);
        let result = entry(self);
        self.lent.0 = None;
        result
    }

    /// Keeps `grant` (the deferred request's window, made by the
    /// transport from its saved reply or parked caller) under live
    /// `token` until the token ends.
    pub fn keep_grant(&mut self, token: Token, grant: Box<dyn GrantAccess + Send>) {
        if self.table.owner(token).is_ok() {
            self.kept.insert(token, grant);
        }
    }

    /// The calls out asked for since the last take, oldest first.
    pub fn take_calls(&mut self) -> Vec<CallOut> {
        core::mem::take(&mut self.calls)
    }

    /// Whether calls out wait to be started.
    pub fn has_calls(&self) -> bool {
        !self.calls.is_empty()
    }

    /// The answer to `token`'s call out came: `Ok` if it was in flight
    /// (the core may hear it), `UnknownToken` if the token ended since
    /// (the answer is dropped).
    pub fn answer(&mut self, token: Token) -> Result<(), LaterError> {
        if self.calling.remove(&token) {
            Ok(())
        } else {
            Err(LaterError::UnknownToken)
        }
    }

    /// The completions queued since the last drain, oldest first.
    pub fn drain(&mut self) -> Vec<(Token, R)> {
        core::mem::take(&mut self.outbox)
    }

    /// Whether completions wait in the outbox.
    pub fn has_completions(&self) -> bool {
        !self.outbox.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_completes_once_and_then_is_stale() {
        let mut later = Later::<u32>::new();
        later.begin(7);
        let token = later.defer().unwrap();
        assert_eq!(later.defer(), Err(LaterError::AlreadyDeferred));
        assert_eq!(later.end(), Some(token));
        assert_eq!(later.owner(token), Ok(7));
        assert_eq!(later.complete(token, 1), Ok(()));
        assert_eq!(later.complete(token, 2), Err(LaterError::UnknownToken));
        assert_eq!(later.drain(), [(token, 1)]);
        assert_eq!(later.drain().len(), 0);
        // The slot is reused with a new generation: the old token stays stale.
        later.begin(7);
        let next = later.defer().unwrap();
        later.end();
        assert_ne!(next, token);
        assert_eq!(later.complete(token, 3), Err(LaterError::UnknownToken));
        assert_eq!(later.pending(), 1);
    }

    #[test]
    fn foreign_tokens_and_defer_outside_a_request_are_errors() {
        let mut later = Later::<u32>::new();
        assert_eq!(later.defer(), Err(LaterError::NoRequest));
        assert_eq!(
            later.complete(Token(0xdead_0000_0005), 1),
            Err(LaterError::UnknownToken)
        );
        assert_eq!(later.cancel(Token(3)), Err(LaterError::UnknownToken));
        assert_eq!(later.drain().len(), 0);
    }

    #[test]
    fn tokens_are_bounded_per_client_and_in_total() {
        let mut table = TokenTable::new();
        for _ in 0..TOKENS_PER_CLIENT {
            table.insert(1).unwrap();
        }
        assert_eq!(table.insert(1), Err(LaterError::ClientFull));
        let mut badge = 2;
        while table.len() < TOKENS_MAX {
            match table.insert(badge) {
                Ok(_) => {}
                Err(LaterError::ClientFull) => badge += 1,
                Err(e) => panic!("{e:?}"),
            }
        }
        assert_eq!(table.insert(999), Err(LaterError::TableFull));
        assert_eq!(table.len(), TOKENS_MAX);
    }

    #[test]
    fn a_client_that_goes_has_its_tokens_cancelled() {
        let mut later = Later::<u32>::new();
        let mut mine = Vec::new();
        for badge in [1, 2, 1, 1, 2] {
            later.begin(badge);
            let token = later.defer().unwrap();
            later.end();
            if badge == 1 {
                mine.push(token);
            }
        }
        let cancelled = later.cancel_client(1);
        assert_eq!(cancelled, mine);
        assert_eq!(later.pending(), 2);
        for token in mine {
            assert_eq!(later.complete(token, 0), Err(LaterError::UnknownToken));
        }
        assert!(later.cancel_client(1).is_empty());
        later.cancel_client(2);
        assert_eq!(later.pending(), 0);
    }
}
