//! The 8254 PIT as a stopwatch: channel 2, gated through port 0x61, counts
//! down once at 1.193182 MHz and raises its output when it reaches zero. The
//! kernel uses it only to calibrate the TSC and the local APIC timer, which
//! run at rates the CPU does not report.

use x86_64::instructions::port::Port;

pub const PIT_HZ: u64 = 1_193_182;

/// Runs `before`, waits `ms` milliseconds (at most 54) by the PIT, runs
/// `after`. Interrupts should be off so the window is not stretched.
pub fn measure<T>(ms: u64, before: impl FnOnce(), after: impl FnOnce() -> T) -> T {
    let count = (PIT_HZ * ms / 1000).min(0xffff) as u16;
    let mut gate: Port<u8> = Port::new(0x61);
    let mut command: Port<u8> = Port::new(0x43);
    let mut channel2: Port<u8> = Port::new(0x42);
    // SAFETY: ports 0x61, 0x43 and 0x42 are the PIT's gate, command and
    // channel-2 registers; the speaker stays off (bit 1 clear).
    unsafe {
        let g = gate.read();
        gate.write((g & !0x02) | 0x01);
        command.write(0b1011_0000); // channel 2, lobyte/hibyte, mode 0
        channel2.write(count as u8);
        channel2.write((count >> 8) as u8);
        // Restart the count by toggling the gate.
        let g = gate.read();
        gate.write(g & !0x01);
        gate.write(g | 0x01);
        before();
        // Bit 5 of port 0x61 is channel 2's output: high once the count is done.
        while gate.read() & 0x20 == 0 {
            core::hint::spin_loop();
        }
    }
    after()
}

/// Channel 0 and the command register, for the timer server's core when
/// it runs inside the kernel (`placement=mono`): it programs channel 0 as
/// its one-shot deadline timer, exactly as the `timer` process does
/// through its port grant. Nothing else in the kernel uses channel 0.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimerRegister {
    Channel0,
    Command,
}

/// Writes a channel-0 register.
pub fn write_timer(register: TimerRegister, value: u8) {
    let port = match register {
        TimerRegister::Channel0 => 0x40,
        TimerRegister::Command => 0x43,
    };
    // SAFETY: 0x40 and 0x43 are the PIT's channel-0 and command
    // registers; commands for channel 0 leave channel 2 (the calibration
    // stopwatch, used only at boot) alone.
    unsafe { Port::<u8>::new(port).write(value) };
}

/// Reads CMOS register `register` (the RTC's, for the timer core in the
/// kernel): index port 0x70, data port 0x71. Bit 7 of the index (NMI
/// disable) is kept clear.
pub fn cmos_read(register: u8) -> u8 {
    // SAFETY: 0x70/0x71 are the CMOS index and data ports; selecting a
    // register and reading it has no other effect. Interrupts are off in
    // the kernel, so no one else's selection comes between.
    unsafe {
        Port::<u8>::new(0x70).write(register & 0x7f);
        Port::<u8>::new(0x71).read()
    }
}
