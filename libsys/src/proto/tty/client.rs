//! The `tty` client's methods.

use super::*;
use crate::grant::Grant;
use crate::rpc::RpcError;

fn unexpected<T>(_: Reply) -> Result<T, ClientError> {
    Err(ClientError::Rpc(RpcError::Decode))
}

fn done(reply: Reply) -> Result<(), ClientError> {
    match reply {
        Reply::Done => Ok(()),
        other => unexpected(other),
    }
}

fn grant_error(e: crate::abi::SysError) -> ClientError {
    ClientError::Rpc(RpcError::Sys(e))
}

fn count(reply: Reply, window: usize) -> Result<usize, ClientError> {
    match reply {
        Reply::Count(n) if n as usize <= window => Ok(n as usize),
        other => unexpected(other),
    }
}

impl Client {
    /// `TIOCSTI`: puts `bytes` (at most [`INPUT_MAX`]) into `line`'s input
    /// as if typed there (`EPERM` unless this process is root).
    pub fn input(&self, line: u8, bytes: &[u8]) -> Result<(), ClientError> {
        if bytes.len() > INPUT_MAX {
            return Err(ClientError::Tty(Errno::EINVAL));
        }
        let mut buffer = [0u8; INPUT_MAX];
        buffer[..bytes.len()].copy_from_slice(bytes);
        let request = Request::Input {
            line,
            len: bytes.len() as u8,
            bytes: buffer,
        };
        done(self.call(&request)?)
    }

    /// `EchoProbe`: the ticks from a byte's arrival on `line` to the
    /// server running with its interrupt, and to its echo sent.
    pub fn echo_probe(&self, line: u8) -> Result<(u64, u64), ClientError> {
        match self.call(&Request::EchoProbe { line })? {
            Reply::Probe {
                irq_ticks,
                echo_ticks,
            } => Ok((irq_ticks, echo_ticks)),
            other => unexpected(other),
        }
    }

    /// Reads at most [`IO_MAX`] bytes of `line`'s input for process `pid`
    /// into `buffer` (waits for input unless `nonblock`).
    pub fn read(
        &self,
        line: u8,
        pid: u64,
        buffer: &mut [u8],
        nonblock: bool,
    ) -> Result<usize, ClientError> {
        if buffer.is_empty() {
            return Ok(0);
        }
        let len = buffer.len().min(IO_MAX as usize);
        let grant = Grant::write(&mut buffer[..len]).map_err(grant_error)?;
        let request = Request::Read {
            line,
            len: len as u32,
            pid,
            nonblock,
        };
        count(self.call_granted(&request, grant)?, len)
    }

    /// Writes at most [`IO_MAX`] bytes of `data` to `line` for `pid`.
    pub fn write(&self, line: u8, pid: u64, data: &[u8]) -> Result<usize, ClientError> {
        if data.is_empty() {
            return Ok(0);
        }
        let len = data.len().min(IO_MAX as usize);
        let grant = Grant::read(&data[..len]).map_err(grant_error)?;
        count(
            self.call_granted(
                &Request::Write {
                    line,
                    len: len as u32,
                    pid,
                },
                grant,
            )?,
            len,
        )
    }

    pub fn get_attr(&self, line: u8) -> Result<Termios, ClientError> {
        match self.call(&Request::GetAttr { line })? {
            Reply::Termios(t) => Ok(t),
            other => unexpected(other),
        }
    }

    /// `TCSETS*` made by process `pid` (0: not checked for job control).
    pub fn set_attr(
        &self,
        line: u8,
        pid: u64,
        action: u32,
        termios: Termios,
    ) -> Result<(), ClientError> {
        done(self.call(&Request::SetAttr {
            line,
            pid,
            action,
            termios,
        })?)
    }

    pub fn get_pgrp(&self, line: u8) -> Result<u32, ClientError> {
        match self.call(&Request::GetPgrp { line })? {
            Reply::Pgrp(p) => Ok(p),
            other => unexpected(other),
        }
    }

    /// `TIOCSPGRP` made by process `pid` (0: not checked).
    pub fn set_pgrp(&self, line: u8, pid: u64, pgrp: u32) -> Result<(), ClientError> {
        done(self.call(&Request::SetPgrp { line, pid, pgrp })?)
    }

    pub fn get_winsize(&self, line: u8) -> Result<Winsize, ClientError> {
        match self.call(&Request::GetWinsize { line })? {
            Reply::Winsize(w) => Ok(w),
            other => unexpected(other),
        }
    }

    /// `TIOCSWINSZ` made by process `pid` (0: not checked).
    pub fn set_winsize(&self, line: u8, pid: u64, winsize: Winsize) -> Result<(), ClientError> {
        done(self.call(&Request::SetWinsize { line, pid, winsize })?)
    }

    /// (readable, writable).
    pub fn poll(&self, line: u8) -> Result<(bool, bool), ClientError> {
        match self.call(&Request::Poll { line })? {
            Reply::Ready { readable, writable } => Ok((readable, writable)),
            other => unexpected(other),
        }
    }
}
