//! Who uses which interrupt, for `/proc/interrupts` (`crate::interrupts`
//! prints it; the binary asks the kernel for the counts): the INTx line
//! of every PCI function bound to a driver, the ISA IRQ of every legacy
//! platform device, and the MSI of every function that has one on — each
//! named by its driver, or by the device while it has none.

use alloc::string::String;
use alloc::vec::Vec;

use super::Service;
use crate::model::BusType;
use crate::pci::ConfigAccess;
use crate::platform::LEGACY_DEVICES;

/// The users of the machine's interrupts.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IrqUsers {
    /// (GSI, name) of each bound PCI function's INTx line.
    pub gsi: Vec<(u32, String)>,
    /// (ISA IRQ, name) of each legacy device.
    pub isa: Vec<(u8, String)>,
    /// (vector, name) of each function with MSI on.
    pub msi: Vec<(u8, String)>,
}

impl<C: ConfigAccess> Service<C> {
    /// The driver bound to `device` on `bus`, else the device's name.
    fn user_name(&self, bus: BusType, device: &str) -> String {
        self.model
            .find_bus_device(bus, device)
            .and_then(|id| self.model.driver_name(id))
            .unwrap_or(device)
            .into()
    }

    /// Every interrupt's users, as the model knows them now.
    pub fn irq_users(&self) -> IrqUsers {
        let mut users = IrqUsers::default();
        for (addr, (_, id)) in &self.functions {
            let device = alloc::format!("{addr}");
            let Some(driver) = self.model.driver_name(*id) else {
                continue;
            };
            if let Some(vector) = self.msi.get(addr) {
                users.msi.push((*vector, driver.into()));
            } else if let Some(gsi) = self.intx_gsi(&device) {
                users.gsi.push((gsi, driver.into()));
            }
        }
        for d in LEGACY_DEVICES {
            if let Ok(irq) = u8::try_from(d.irq) {
                users
                    .isa
                    .push((irq, self.user_name(BusType::Platform, d.name)));
            }
        }
        users
    }
}
