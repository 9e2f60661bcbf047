//! The legacy 8259 PICs: remapped away from the exception vectors (to
//! 0x20–0x2f) and fully masked. The local and I/O APICs deliver every
//! interrupt; the PICs are programmed only so that a stray or spurious PIC
//! interrupt lands on a vector that cannot be mistaken for an exception.

use x86_64::instructions::port::Port;

pub const PIC1_VECTOR: u8 = 0x20;
pub const PIC2_VECTOR: u8 = 0x28;

pub fn remap_and_mask() {
    // ICW1: initialise, expect ICW4. ICW2: vector offset. ICW3: wiring
    // (slave on IRQ 2). ICW4: 8086 mode. Then mask every line.
    let sequence: [(u16, u8); 10] = [
        (0x20, 0x11),
        (0xa0, 0x11),
        (0x21, PIC1_VECTOR),
        (0xa1, PIC2_VECTOR),
        (0x21, 4),
        (0xa1, 2),
        (0x21, 0x01),
        (0xa1, 0x01),
        (0x21, 0xff),
        (0xa1, 0xff),
    ];
    for (port, value) in sequence {
        // SAFETY: these are the PICs' command and data ports; the sequence
        // is the documented initialisation and ends with every line masked.
        unsafe { Port::<u8>::new(port).write(value) };
    }
}
