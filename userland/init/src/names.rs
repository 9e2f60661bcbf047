//! The name registry: who may register which name, what is registered,
//! and what a lookup answers.
//!
//! A name is *owned* by the manifest entry that names it. Only a process
//! started for that entry (its current incarnation) may register it; a
//! restart makes the name `Unavailable` until the new incarnation
//! registers again; a server that is given up makes it `Failed`.
//! The registry keeps what `init` needs to answer lookups: `H` is the
//! registered endpoint (a handle in the real `init`, anything in tests).

use alloc::string::String;
use alloc::vec::Vec;

use libsys::proto::name::Reply;

/// Why the registry refuses a registration or a lookup: the name
/// service's answer ([`Refused::reply`]), kept small (a `Reply` can hold a
/// whole `List` page).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refused {
    NotAllowed,
    NotFound,
    Unavailable,
    Failed,
}

impl Refused {
    /// The name service's reply that says so.
    pub fn reply(self) -> Reply {
        match self {
            Refused::NotAllowed => Reply::NotAllowed,
            Refused::NotFound => Reply::NotFound,
            Refused::Unavailable => Reply::Unavailable,
            Refused::Failed => Reply::Failed,
        }
    }
}

impl From<Refused> for Reply {
    fn from(r: Refused) -> Reply {
        r.reply()
    }
}

/// The state of one name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum State<H> {
    /// Its server is starting or restarting.
    Unavailable,
    Registered(H),
    /// Its server kept dying and was given up.
    Failed,
}

#[derive(Clone, Debug)]
struct Name<H> {
    name: String,
    /// The process id (init's own numbering) allowed to register it.
    owner: u64,
    state: State<H>,
}

#[derive(Clone, Debug)]
pub struct Registry<H> {
    names: Vec<Name<H>>,
}

impl<H: Clone> Default for Registry<H> {
    fn default() -> Self {
        Self::new()
    }
}

impl<H: Clone> Registry<H> {
    pub const fn new() -> Self {
        Registry { names: Vec::new() }
    }

    fn find(&mut self, name: &str) -> Option<&mut Name<H>> {
        self.names.iter_mut().find(|n| n.name == name)
    }

    /// `owner` (a process id) will register `name`: until it does, the
    /// name is unavailable. Called when a server is (re)started.
    pub fn expect(&mut self, name: &str, owner: u64) {
        match self.find(name) {
            Some(entry) => {
                entry.owner = owner;
                entry.state = State::Unavailable;
            }
            None => self.names.push(Name {
                name: name.into(),
                owner,
                state: State::Unavailable,
            }),
        }
    }

    /// A registration from process `who`; returns the old endpoint it
    /// replaces, if any (to close).
    pub fn register(&mut self, name: &str, who: u64, endpoint: H) -> Result<Option<H>, Refused> {
        let entry = self.find(name).ok_or(Refused::NotAllowed)?;
        if entry.owner != who {
            return Err(Refused::NotAllowed);
        }
        let old = core::mem::replace(&mut entry.state, State::Registered(endpoint));
        Ok(match old {
            State::Registered(h) => Some(h),
            _ => None,
        })
    }

    /// What a lookup of `name` gets: the endpoint, or the reply that says
    /// why not.
    pub fn lookup(&self, name: &str) -> Result<H, Refused> {
        match self.names.iter().find(|n| n.name == name).map(|n| &n.state) {
            None => Err(Refused::NotFound),
            Some(State::Unavailable) => Err(Refused::Unavailable),
            Some(State::Failed) => Err(Refused::Failed),
            Some(State::Registered(h)) => Ok(h.clone()),
        }
    }

    /// The owner of `name` died: its endpoint is dropped (returned, to
    /// close) and the name is unavailable, or failed if `given_up`.
    pub fn owner_died(&mut self, name: &str, given_up: bool) -> Option<H> {
        let entry = self.find(name)?;
        let old = core::mem::replace(
            &mut entry.state,
            if given_up {
                State::Failed
            } else {
                State::Unavailable
            },
        );
        match old {
            State::Registered(h) => Some(h),
            _ => None,
        }
    }

    pub fn state(&self, name: &str) -> Option<&State<H>> {
        self.names.iter().find(|n| n.name == name).map(|n| &n.state)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_owner_registers_and_lookups_follow_the_state() {
        let mut r: Registry<u32> = Registry::new();
        assert_eq!(r.lookup("kv"), Err(Refused::NotFound));
        assert_eq!(
            r.register("kv", 1, 10),
            Err(Refused::NotAllowed),
            "not expected"
        );
        r.expect("kv", 1);
        assert_eq!(r.lookup("kv"), Err(Refused::Unavailable));
        assert_eq!(
            r.register("kv", 2, 10),
            Err(Refused::NotAllowed),
            "another process"
        );
        assert_eq!(r.register("kv", 1, 10), Ok(None));
        assert_eq!(r.lookup("kv"), Ok(10));
        assert_eq!(
            r.register("kv", 1, 11),
            Ok(Some(10)),
            "re-registering returns the old one"
        );
    }

    #[test]
    fn death_makes_the_name_unavailable_then_a_restart_re_registers() {
        let mut r: Registry<u32> = Registry::new();
        r.expect("kv", 1);
        r.register("kv", 1, 10).unwrap();
        assert_eq!(r.owner_died("kv", false), Some(10));
        assert_eq!(r.lookup("kv"), Err(Refused::Unavailable));
        assert_eq!(
            r.register("kv", 1, 12),
            Ok(None),
            "the dead incarnation's id still owns it until the restart"
        );
        r.expect("kv", 7);
        assert_eq!(
            r.register("kv", 1, 13),
            Err(Refused::NotAllowed),
            "the old incarnation may not"
        );
        assert_eq!(r.register("kv", 7, 14), Ok(None));
        assert_eq!(r.lookup("kv"), Ok(14));
        r.owner_died("kv", true);
        assert_eq!(r.lookup("kv"), Err(Refused::Failed));
        assert_eq!(r.state("kv"), Some(&State::Failed));
    }
}
