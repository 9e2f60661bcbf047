//! `spawn`, the one way to create a process: the protocol's messages and
//! the checks every server of it makes.
//!
//! A request names the image (a boot module today, a path once a file
//! system serves executables: [`Image`] says which, the server resolves
//! it), the arguments and environment (bounded lists), how many handles
//! ride along in the message (copies given to the child, in order, named
//! `h0=`..`h3=` at the end of its arguments), the name the child is
//! logged under, its limits, and optionally other credentials (only a
//! root parent may ask). The reply carries the new pid and, in the
//! message, a handle to the child with `MANAGE` — the kernel's right to
//! watch a process (`process_watch`) and kill it: what a parent may do
//! to its child; its status is readable with any handle.
//!
//! | request | reply | errors (`Reply::Error`) |
//! | --- | --- | --- |
//! | `Spawn(Spawn)` + `handles` handles | `Spawned { pid }` + 1 process handle | see [`SpawnError`] |
//!
//! Served by `init` until the process server exists, by it afterwards.
//! [`Spawn::check`] is every check that needs no server state; the
//! server adds its own (the image exists, the caller's children in
//! flight stay under its quota).

use postcard::experimental::max_size::MaxSize;
use serde::{Deserialize, Serialize};

/// The name under which `init` answers the protocol (a lookup gives a
/// handle to `init`'s endpoint badged with the caller's pid).
pub const NAME: &str = "spawn";

/// Arguments (`argv`, without the program's name) one request carries.
pub const ARGC_MAX: usize = 16;
/// Environment entries (`KEY=value`) one request carries.
pub const ENVC_MAX: usize = 16;
/// Bytes of one argument or environment entry.
pub const ARG_LEN_MAX: usize = 64;
/// Bytes of an image's name or path.
pub const IMAGE_LEN_MAX: usize = 64;
/// Bytes of the name a child is logged under.
pub const NAME_LEN_MAX: usize = 31;
/// Handles passed to a child (every handle a message can carry but none
/// kept back: the reply's process handle travels in the reply).
pub const HANDLES_MAX: usize = crate::abi::ipc::MAX_HANDLES;
/// Pages of memory a child may be given at most.
pub const MEMORY_PAGES_MAX: u32 = 4096;

pub type Arg = heapless::String<ARG_LEN_MAX>;
pub type Args = heapless::Vec<Arg, ARGC_MAX>;
pub type Env = heapless::Vec<Arg, ENVC_MAX>;
pub type ImageName = heapless::String<IMAGE_LEN_MAX>;
pub type Name = heapless::String<NAME_LEN_MAX>;

/// What the child runs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, MaxSize)]
pub enum Image {
    /// A boot module, by its name (`init` resolves it).
    Module(ImageName),
    /// An executable file, by path (the process server resolves it once
    /// a file system serves executables; `init` answers `UnknownImage`).
    Path(ImageName),
}

/// The resources a child may use.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, MaxSize)]
pub struct Limits {
    /// Pages of heap it is given (0: the server's default).
    pub memory_pages: u32,
}

/// A request for a new process.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, MaxSize)]
pub struct Spawn {
    pub image: Image,
    pub args: Args,
    pub env: Env,
    /// Handles the message carries for the child.
    pub handles: u8,
    /// The name it is logged under (empty: the image's).
    pub name: Name,
    pub limits: Limits,
    /// `(uid, gid)` to run as instead of the parent's (root only).
    pub run_as: Option<(u32, u32)>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, MaxSize)]
pub enum Request {
    Spawn(Spawn),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, MaxSize)]
pub enum SpawnError {
    /// No image by that name (or paths are not served yet).
    UnknownImage,
    /// An empty image name.
    EmptyImage,
    /// An argument or environment entry that is empty or holds white
    /// space or a NUL (arguments travel as one line).
    BadArgument,
    /// An environment entry that is not `KEY=value` with a non-empty key.
    BadEnvironment,
    /// `handles` is more than [`HANDLES_MAX`] or not what the message
    /// carries, or a handle cannot be passed.
    BadHandle,
    /// A memory limit above [`MEMORY_PAGES_MAX`].
    BadLimit,
    /// A non-root caller asked for other credentials.
    NotPermitted,
    /// The caller has its quota of children not yet waited for.
    TooManyChildren,
    /// The server could not build or start the process.
    StartFailed,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, MaxSize)]
pub enum Reply {
    /// The child's pid (its kernel process id); its handle is in the
    /// message.
    Spawned {
        pid: u64,
    },
    Error(SpawnError),
}

const _: () = assert!(crate::rpc::fits::<Request>() && crate::rpc::fits::<Reply>());

fn word_ok(word: &str) -> bool {
    !word.is_empty() && !word.bytes().any(|b| b.is_ascii_whitespace() || b == 0)
}

impl Spawn {
    /// A request to run boot module `module` with no arguments.
    pub fn module(module: &str) -> Option<Spawn> {
        Some(Spawn {
            image: Image::Module(module.try_into().ok()?),
            args: Args::new(),
            env: Env::new(),
            handles: 0,
            name: Name::new(),
            limits: Limits::default(),
            run_as: None,
        })
    }

    /// Every check that needs no server state; `carried` is how many
    /// handles the message brought.
    pub fn check(&self, carried: usize) -> Result<(), SpawnError> {
        let (Image::Module(name) | Image::Path(name)) = &self.image;
        if name.is_empty() {
            return Err(SpawnError::EmptyImage);
        }
        if !word_ok(name) {
            return Err(SpawnError::UnknownImage);
        }
        if !self.args.iter().all(|a| word_ok(a)) || !self.env.iter().all(|e| word_ok(e)) {
            return Err(SpawnError::BadArgument);
        }
        let env_ok = self
            .env
            .iter()
            .all(|e| e.split_once('=').is_some_and(|(k, _)| !k.is_empty()));
        if !env_ok {
            return Err(SpawnError::BadEnvironment);
        }
        if self.handles as usize > HANDLES_MAX || self.handles as usize != carried {
            return Err(SpawnError::BadHandle);
        }
        if self.limits.memory_pages > MEMORY_PAGES_MAX {
            return Err(SpawnError::BadLimit);
        }
        Ok(())
    }
}

impl core::fmt::Display for SpawnError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            SpawnError::UnknownImage => "no such image",
            SpawnError::EmptyImage => "empty image name",
            SpawnError::BadArgument => "bad argument",
            SpawnError::BadEnvironment => "bad environment entry",
            SpawnError::BadHandle => "bad handle",
            SpawnError::BadLimit => "limit too large",
            SpawnError::NotPermitted => "not permitted",
            SpawnError::TooManyChildren => "too many children",
            SpawnError::StartFailed => "cannot start the process",
        })
    }
}

#[cfg(target_os = "none")]
mod client;
#[cfg(target_os = "none")]
pub use client::{spawn, ClientError};

#[cfg(test)]
mod tests;
