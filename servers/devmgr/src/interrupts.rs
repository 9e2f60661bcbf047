//! `/proc/interrupts`, in Linux's layout: one row per interrupt in use,
//! with its count on each CPU (one CPU here), the controller, the
//! controller's own number and trigger, and the names of its users.
//!
//! ```text
//!            CPU0
//!   2:        829   IO-APIC        2-edge   i8253
//!  20:          3   IO-APIC    20-fasteoi   edu
//! 192:         26   PCI-MSI      192-edge   edu
//! ```
//!
//! The kernel counts (`irq_info`); devmgr, which holds the IRQ control
//! and knows which device sits on which line, puts the rows together
//! (the binary) and this module prints them. An I/O APIC row is numbered
//! by its GSI, a message-signalled one by its vector (the vectors of the
//! MSI pool, `0xc0..0xe0`, lie above every GSI, so the numbers do not
//! collide); a level-triggered line shows `fasteoi`, as Linux's I/O APIC
//! chip does.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

/// Which controller an interrupt comes through.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Chip {
    /// An I/O APIC input (its GSI).
    IoApic { gsi: u32, level: bool },
    /// A message-signalled interrupt (its vector).
    Msi { vector: u8 },
}

/// One row of `/proc/interrupts`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IrqRow {
    pub chip: Chip,
    /// Interrupts taken.
    pub count: u64,
    /// Its users (drivers, or devices without one), in order.
    pub names: Vec<String>,
}

impl IrqRow {
    /// The row's number: the GSI, or the vector.
    pub fn number(&self) -> u32 {
        match self.chip {
            Chip::IoApic { gsi, .. } => gsi,
            Chip::Msi { vector } => u32::from(vector),
        }
    }
}

/// The table: a header, then the rows by number (a number twice: the
/// first row kept, the others' names added to it).
pub fn table(rows: &[IrqRow]) -> String {
    let mut merged: Vec<IrqRow> = Vec::new();
    for row in rows {
        match merged
            .iter_mut()
            .find(|r| r.number() == row.number() && r.chip == row.chip)
        {
            Some(r) => {
                for n in &row.names {
                    if !r.names.contains(n) {
                        r.names.push(n.clone());
                    }
                }
            }
            None => merged.push(row.clone()),
        }
    }
    merged.sort_by_key(IrqRow::number);
    let mut out = String::from("           CPU0\n");
    for row in &merged {
        let (chip, trigger) = match row.chip {
            Chip::IoApic { level: true, .. } => ("IO-APIC", "fasteoi"),
            Chip::IoApic { level: false, .. } => ("IO-APIC", "edge"),
            Chip::Msi { .. } => ("PCI-MSI", "edge"),
        };
        let hw = format!("{}-{trigger}", row.number());
        let line = format!(
            "{:>3}: {:>10}   {chip:<8} {hw:>12}   {}",
            row.number(),
            row.count,
            row.names.join(", ")
        );
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;
    use alloc::vec;

    fn row(chip: Chip, count: u64, names: &[&str]) -> IrqRow {
        IrqRow {
            chip,
            count,
            names: names.iter().map(|n| n.to_string()).collect(),
        }
    }

    #[test]
    fn rows_in_linux_layout_by_number() {
        let rows = vec![
            row(Chip::Msi { vector: 0xc0 }, 26, &["edu"]),
            row(
                Chip::IoApic {
                    gsi: 20,
                    level: true,
                },
                3,
                &["edu"],
            ),
            row(
                Chip::IoApic {
                    gsi: 2,
                    level: false,
                },
                829,
                &["i8253"],
            ),
            row(
                Chip::IoApic {
                    gsi: 20,
                    level: true,
                },
                3,
                &["virtio_blk", "edu"],
            ),
            row(
                Chip::IoApic {
                    gsi: 4,
                    level: false,
                },
                0,
                &[],
            ),
        ];
        assert_eq!(
            table(&rows),
            "           CPU0\n\
             \x20 2:        829   IO-APIC        2-edge   i8253\n\
             \x20 4:          0   IO-APIC        4-edge\n\
             \x2020:          3   IO-APIC    20-fasteoi   edu, virtio_blk\n\
             192:         26   PCI-MSI      192-edge   edu\n"
        );
    }
}
