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

use alloc::vec::Vec;

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
#[derive(Debug)]
pub struct Later<R> {
    table: TokenTable,
    outbox: Vec<(Token, R)>,
    /// The badge of the request being handled, and the token it was
    /// deferred under (once `defer` is called).
    current: Option<(u64, Option<Token>)>,
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
        self.outbox.push((token, reply));
        Ok(())
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
        self.table.remove(token)
    }

    /// Ends every live token of client `badge` (it died or went away).
    pub fn cancel_client(&mut self, badge: u64) -> Vec<Token> {
        self.table.remove_client(badge)
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
