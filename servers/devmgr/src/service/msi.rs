//! Message-signalled interrupts for bound functions: the service's half
//! of `EnableMsi` (which function, its capability, programming it, and
//! turning it off when the driver goes), and the `msi_irqs` directory a
//! function shows in sysfs while MSI is on (Linux's:
//! `msi_irqs/<irq>` reading `msi`; here the IRQ is the kernel's vector).
//!
//! The binary holds the IRQ control: it takes the vector from the kernel
//! between [`Service::msi_target`] and [`Service::msi_enable`], keeps a
//! copy of its handle, and gives the copy up after
//! [`Service::msi_disable`] when the driver dies or is unbound — so the
//! vector is free only once the function can no longer send it.

use alloc::string::{String, ToString};
use alloc::vec::Vec;

use libsys::abi::MsiMessage;
use libsys::proto::devmgr::{DevError, Reply, Slot, Text};

use super::Service;
use crate::pci::caps::Msi;
use crate::pci::msi::{self, MsiLayout};
use crate::pci::{ConfigAccess, PciAddress};

impl<C: ConfigAccess> Service<C> {
    /// The function at `slot` and its MSI capability, for `EnableMsi` by
    /// client `badge`. `NoSuchDevice`, `NotAllowed` (not bound to a
    /// driver of `badge`), `NoMsi`, `MsiEnabled`.
    pub fn msi_target(&self, slot: Slot, badge: u64) -> Result<(PciAddress, Msi), DevError> {
        let addr = self.own_function(slot, 0, badge)?;
        let (f, _) = self.function(slot)?;
        let cap = f.msi.ok_or(DevError::NoMsi)?;
        if self.msi.contains_key(&addr) {
            return Err(DevError::MsiEnabled);
        }
        Ok((addr, cap))
    }

    /// Programs `cap` of `addr` with `message` (one vector, INTx off) and
    /// records it. `InvalidValue` for a message the capability cannot
    /// hold (a 64-bit address in a 32-bit capability).
    pub fn msi_enable(
        &mut self,
        addr: PciAddress,
        cap: &Msi,
        message: &MsiMessage,
    ) -> Result<(), DevError> {
        let vector = u8::try_from(message.vector).map_err(|_| DevError::InvalidValue)?;
        msi::enable(&mut self.config, addr, cap, message.address, message.data)
            .map_err(|_| DevError::InvalidValue)?;
        self.msi.insert(addr, vector);
        Ok(())
    }

    /// Turns MSI off (and INTx back on) for PCI function `device` if
    /// devmgr had turned it on; the vector it had.
    pub fn msi_disable(&mut self, device: &str) -> Option<u8> {
        let (f, _) = self.function_named(device)?;
        let (addr, cap) = (f.header.address, f.msi?);
        let vector = self.msi.remove(&addr)?;
        msi::disable(&mut self.config, addr, &cap);
        Some(vector)
    }

    /// The vector of PCI function `device`'s MSI, while it is on.
    pub fn msi_vector(&self, device: &str) -> Option<u8> {
        let (f, _) = self.function_named(device)?;
        self.msi.get(&f.header.address).copied()
    }

    /// Whether the dword at `offset` of `addr` holds MSI capability
    /// registers.
    pub(super) fn msi_registers(&self, addr: PciAddress, offset: u16) -> bool {
        self.functions
            .get(&addr)
            .and_then(|(f, _)| f.msi)
            .is_some_and(|cap| MsiLayout::of(&cap).covers_dword(offset))
    }

    /// The vector of the device whose sysfs directory is `dir`, if it is
    /// a PCI function's with MSI on.
    fn msi_of_dir(&self, dir: &str) -> Option<u8> {
        let name = dir.trim_end_matches('/').rsplit('/').next()?;
        let vector = self.msi_vector(name)?;
        self.model.sysfs_list(dir).ok().map(|_| vector)
    }

    /// `<dev>/msi_irqs` (a directory) and `<dev>/msi_irqs/<vector>`
    /// (`msi`), or `None` for any other path.
    pub(super) fn msi_sysfs_read(&self, path: &str) -> Option<Result<Reply, DevError>> {
        let path = path.trim_end_matches('/');
        if let Some(dir) = path.strip_suffix("/msi_irqs") {
            return self.msi_of_dir(dir).map(|_| Err(DevError::IsDirectory));
        }
        let (dir, vector) = path.rsplit_once('/')?;
        let dir = dir.strip_suffix("/msi_irqs")?;
        let on = self.msi_of_dir(dir)?;
        (vector == on.to_string())
            .then(|| Ok(Reply::Text(Text::try_from("msi\n").unwrap_or_default())))
    }

    /// The entries of `<dev>/msi_irqs`, or `None` for another path.
    pub(super) fn msi_sysfs_list(&self, path: &str) -> Option<Vec<String>> {
        let dir = path.trim_end_matches('/').strip_suffix("/msi_irqs")?;
        self.msi_of_dir(dir).map(|v| alloc::vec![v.to_string()])
    }

    /// `msi_irqs`, if `path` is the directory of a function with MSI on.
    pub(super) fn msi_sysfs_entry(&self, path: &str) -> Option<String> {
        self.msi_of_dir(path).map(|_| "msi_irqs".into())
    }
}
