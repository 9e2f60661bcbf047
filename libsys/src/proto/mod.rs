//! The protocols of the servers: one module per server, each with its
//! `Request` and `Reply` enums (shared by the client stub and the server)
//! and a compile-time check that the largest encoded message of each fits
//! an IPC payload. A new server's protocol goes here (`make new-server`
//! adds one).
//!
//! What every client stub has in common is written once, by
//! [`client_stub!`]: the `Client` type over a send handle, finding the
//! server through the name service, and the typed call that turns the
//! server's `Reply::Error` into the protocol's `ClientError`; and, by
//! [`client_error!`], that `ClientError` itself. Each module adds only its
//! own requests as methods.
// A message lives on the stack just long enough to be encoded into or
// decoded from the IPC buffer; boxing its large variants would cost an
// allocation per message for nothing.
#![allow(clippy::large_enum_variant)]

/// Writes a protocol's `ClientError`: the server's own error
/// (`$server($error)`), a failed call (`Rpc`), and the protocol's own
/// unit variants, each with the text it displays; and `peer_died`.
macro_rules! client_error {
    (
        $(#[$doc:meta])*
        $server:ident($error:ty)
        $(, $(#[$vdoc:meta])* $variant:ident => $text:literal)* $(,)?
    ) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum ClientError {
            $server($error),
            Rpc(crate::rpc::RpcError),
            $($(#[$vdoc])* $variant,)*
        }

        impl core::fmt::Display for ClientError {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                match self {
                    ClientError::$server(e) => write!(f, "{e}"),
                    ClientError::Rpc(e) => write!(f, "{e}"),
                    $(ClientError::$variant => f.write_str($text),)*
                }
            }
        }

        impl ClientError {
            /// Whether the server died (the call failed with `PeerDied`).
            pub fn peer_died(&self) -> bool {
                matches!(
                    self,
                    ClientError::Rpc(crate::rpc::RpcError::Sys(crate::abi::SysError::PeerDied))
                )
            }
        }
    };
}

/// Writes a protocol's `Client` (on the bare-metal target): `connect`,
/// `connect_within`, `from_endpoint`, `endpoint`, `reconnect`, and the
/// private `call`/`call_with` that send a `Request` and map
/// `Reply::Error(e)` to `ClientError::$error(e)` and a failed call to
/// `ClientError::Rpc`. `$server` is the name it is registered under.
macro_rules! client_stub {
    ($(#[$doc:meta])* server: $server:literal, error: $error:ident) => {
        $(#[$doc])*
        #[cfg(target_os = "none")]
        pub struct Client {
            endpoint: crate::handle::Endpoint,
        }

        #[cfg(target_os = "none")]
        impl Client {
            #[doc = concat!("Finds `", $server, "` through the name service, waiting up to")]
            /// `wait_ms` for it to register.
            pub fn connect_within(wait_ms: u64) -> Result<Client, crate::names::NameError> {
                crate::names::lookup_wait($server, wait_ms).map(|endpoint| Client { endpoint })
            }

            #[doc = concat!("Finds `", $server, "` (waiting up to 2 s).")]
            pub fn connect() -> Result<Client, crate::names::NameError> {
                Client::connect_within(2_000)
            }

            pub fn from_endpoint(endpoint: crate::handle::Endpoint) -> Client {
                Client { endpoint }
            }

            pub fn endpoint(&self) -> &crate::handle::Endpoint {
                &self.endpoint
            }

            /// The endpoint, the client given up.
            pub fn into_endpoint(self) -> crate::handle::Endpoint {
                self.endpoint
            }

            /// Looks the server up again (after `PeerDied`), waiting up to
            /// 2 s for `init` to restart it.
            pub fn reconnect(&mut self) -> Result<(), crate::names::NameError> {
                *self = Client::connect()?;
                Ok(())
            }

            fn call(&self, request: &Request) -> Result<Reply, ClientError> {
                self.call_with(request, &[]).map(|(reply, _)| reply)
            }

            /// As `call`, lending `grant` (a window the server copies
            /// into or out of).
            // Not every protocol lends memory.
            #[allow(dead_code)]
            fn call_granted(
                &self,
                request: &Request,
                grant: crate::grant::Grant,
            ) -> Result<Reply, ClientError> {
                match crate::rpc::call_granted::<Request, Reply>(&self.endpoint, request, grant) {
                    Ok(Reply::Error(e)) => Err(ClientError::$error(e)),
                    Ok(answer) => Ok(answer),
                    Err(e) => Err(ClientError::Rpc(e)),
                }
            }

            /// As `call`, moving `handles` along; the reply and its message
            /// (with the handles the server sent).
            // Not every protocol sends or receives handles.
            #[allow(dead_code)]
            fn call_with(
                &self,
                request: &Request,
                handles: &[crate::abi::Handle],
            ) -> Result<(Reply, crate::ipc::Message), ClientError> {
                match crate::rpc::call_with::<Request, Reply>(&self.endpoint, request, handles) {
                    Ok((Reply::Error(e), _)) => Err(ClientError::$error(e)),
                    Ok(answer) => Ok(answer),
                    Err(e) => Err(ClientError::Rpc(e)),
                }
            }
        }
    };
}

pub mod blk;
pub mod blkdrv;
pub mod cred;
pub mod devmgr;
pub mod echo;
pub mod edu;
pub mod kv;
pub mod mm;
pub mod name;
pub mod proc;
pub mod spawn;
pub mod timer;
pub mod tty;
pub mod vfs;
pub mod wait1;
