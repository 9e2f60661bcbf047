//! The server's block devices (a module of the binary, not of the core):
//! lib/ext2's `BlockDevice` over the block server (`libsys::proto::blk`),
//! and the opener that turns a mount's source (`/dev/vda`) into one.
//!
//! Each `read_sectors`/`write_sectors` is one or more synchronous `blk`
//! calls of at most 64 KiB (`TRANSFER_MAX_SECTORS`), the data moved by
//! grant copy straight between the block server's transfer slot and the
//! buffer here (the vfs lends it as the call's window). The vfs thread
//! waits for the disk meanwhile: a disk read is not yet answered later
//! (`PageIo::Pending` is ready in the core for it). `Busy` and
//! `QueueFull` (every transfer slot taken by other clients) are retried
//! a bounded number of times, a millisecond apart; any other failure is
//! the device's `Io`, which ext2 reports as `EIO`.

use alloc::boxed::Box;
use alloc::string::String;

use ext2::{BlockDevice, DeviceError};
use libsys::errno::Errno;
use libsys::proto::blk::{self, BlkError, ClientError, SECTOR_SIZE, TRANSFER_MAX_SECTORS};
use vfs::ext2fs::DeviceOpener;

/// Attempts of a call the block server found busy.
const BUSY_RETRIES: u32 = 200;
/// How long to wait for the block server's name (it starts before vfs
/// where there is one).
const LOOKUP_MS: u64 = 500;

/// One device of the block server.
pub struct BlkDevice {
    client: blk::Client,
    name: String,
    sectors: u64,
    read_only: bool,
}

impl BlkDevice {
    /// Calls `f` on each chunk of at most 64 KiB of `len` bytes from
    /// `sector`, retrying a busy server.
    fn chunks(
        &mut self,
        sector: u64,
        len: usize,
        mut f: impl FnMut(&blk::Client, &str, u64, core::ops::Range<usize>) -> Result<(), ClientError>,
    ) -> Result<(), DeviceError> {
        let ss = SECTOR_SIZE as usize;
        if !len.is_multiple_of(ss) {
            return Err(DeviceError::OutOfRange);
        }
        let count = (len / ss) as u64;
        if sector
            .checked_add(count)
            .is_none_or(|end| end > self.sectors)
        {
            return Err(DeviceError::OutOfRange);
        }
        let step = TRANSFER_MAX_SECTORS as usize * ss;
        let mut done = 0;
        while done < len {
            let n = step.min(len - done);
            let at = sector + (done / ss) as u64;
            let mut tries = 0;
            loop {
                match f(&self.client, &self.name, at, done..done + n) {
                    Ok(()) => break,
                    Err(ClientError::Blk(BlkError::Busy | BlkError::QueueFull))
                        if tries < BUSY_RETRIES =>
                    {
                        tries += 1;
                        libsys::time::sleep_ms(1);
                    }
                    Err(ClientError::Blk(BlkError::OutOfRange)) => {
                        return Err(DeviceError::OutOfRange)
                    }
                    Err(_) => return Err(DeviceError::Io),
                }
            }
            done += n;
        }
        Ok(())
    }
}

impl BlockDevice for BlkDevice {
    fn sector_size(&self) -> usize {
        SECTOR_SIZE as usize
    }

    fn sector_count(&self) -> u64 {
        self.sectors
    }

    fn read_sectors(&mut self, sector: u64, buf: &mut [u8]) -> Result<(), DeviceError> {
        let len = buf.len();
        self.chunks(sector, len, |c, name, at, r| c.read(name, at, &mut buf[r]))
    }

    fn write_sectors(&mut self, sector: u64, buf: &[u8]) -> Result<(), DeviceError> {
        if self.read_only {
            return Err(DeviceError::ReadOnly);
        }
        self.chunks(sector, buf.len(), |c, name, at, r| {
            c.write(name, at, &buf[r])
        })
    }

    fn flush(&mut self) -> Result<(), DeviceError> {
        if self.read_only {
            return Ok(());
        }
        self.client.flush(&self.name).map_err(|_| DeviceError::Io)
    }
}

/// `/dev/<name>` → the block server's device `<name>`.
pub struct BlkOpener;

impl DeviceOpener for BlkOpener {
    fn open(&self, source: &[u8], read_only: bool) -> Result<Box<dyn BlockDevice>, Errno> {
        let name = source.strip_prefix(b"/dev/").ok_or(Errno::ENOTBLK)?;
        let name = core::str::from_utf8(name).map_err(|_| Errno::ENOENT)?;
        if name.is_empty() || name.contains('/') || name.len() > blk::NAME_MAX {
            return Err(Errno::ENOENT);
        }
        let client = blk::Client::connect_within(LOOKUP_MS).map_err(|_| Errno::ENXIO)?;
        let info = match client.info(name) {
            Ok(info) => info,
            Err(ClientError::Blk(BlkError::NoSuchDevice)) => return Err(Errno::ENXIO),
            Err(_) => return Err(Errno::EIO),
        };
        if info.sector_size != SECTOR_SIZE {
            return Err(Errno::EINVAL);
        }
        Ok(Box::new(BlkDevice {
            client,
            name: String::from(name),
            sectors: info.sectors,
            read_only,
        }))
    }
}

/// The block server's device names (for the `/dev` nodes), up to 16.
/// A recording logs them (`blknames <name>…`).
pub fn device_names() -> alloc::vec::Vec<String> {
    let names = match blk::Client::connect_within(LOOKUP_MS).map(|c| c.list(0)) {
        Ok(Ok((names, _))) => names.iter().map(|n| String::from(n.as_str())).collect(),
        _ => alloc::vec::Vec::new(),
    };
    if libsys::record::enabled() {
        let mut line = String::new();
        for name in &names {
            line.push(' ');
            line.push_str(name);
        }
        libsys::record::line(format_args!("blknames{line}"));
    }
    names
}
