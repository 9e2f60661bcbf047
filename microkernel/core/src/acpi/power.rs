//! Just enough ACPI to turn the machine off and to reset it, as pure
//! functions over the table bytes (the kernel maps the tables and does the
//! port writes; `cargo test -p kcore` tests everything here).
//!
//! - **The FADT** ([`parse_fadt`]) says where the registers are: the PM1a
//!   and PM1b control blocks (`PM1x_CNT`, where the sleep type and
//!   `SLP_EN` are written), the reset register and the value to write
//!   there (`RESET_REG`, `RESET_VALUE`: FADT revision 2 and later, with the
//!   `RESET_REG_SUP` flag), the SMI command port and the value that
//!   switches the chipset from legacy to ACPI mode (`SMI_CMD`,
//!   `ACPI_ENABLE`), the DSDT's address, and, on a hardware-reduced
//!   machine, the sleep control register. The 64-bit `X_` fields (ACPI
//!   2.0) win over the 32-bit ones when they are present and not zero.
//! - **The DSDT** holds the sleep types in AML: `Name (_S5, Package () {
//!   SLP_TYPa, SLP_TYPb, … })`. [`sleep_type_s5`] finds the `NameOp`
//!   followed by the name `_S5_` and a `PackageOp`, and decodes the
//!   package's length (`PkgLength`: 1 to 4 bytes), its element count and
//!   the first two integers (`ZeroOp`, `OneOp`, `OnesOp`, `BytePrefix`,
//!   `WordPrefix`, `DWordPrefix`, `QWordPrefix`). No AML interpreter: a
//!   DSDT that computes `_S5` in a method, or defines it in an SSDT, is
//!   reported as [`S5Error::NotFound`].
//! - **Power off** ([`PowerOff`]): `SLP_TYPa << 10 | SLP_EN` into
//!   PM1a_CNT (and `SLP_TYPb` into PM1b_CNT), keeping the register's other
//!   bits ([`pm1_control`]); on a hardware-reduced machine,
//!   `SLP_TYPa << 2 | SLP_EN` into the sleep control register.
//!
//! Every function takes untrusted bytes: a truncated, mis-sized or
//! garbage table is an error value, never a panic or a read past the end.

use core::fmt;

use super::{checksum_ok, u32_at, u64_at, SDT_HEADER_LEN};

/// The length of an ACPI 1.0 FADT: everything up to and including `Flags`.
pub const FADT_V1_LEN: usize = 116;

// Field offsets in the FADT (ACPI 6.5, table 5.9).
const DSDT: usize = 40;
const SMI_CMD: usize = 48;
const ACPI_ENABLE: usize = 52;
const PM1A_CNT_BLK: usize = 64;
const PM1B_CNT_BLK: usize = 68;
const FLAGS: usize = 112;
const RESET_REG: usize = 116;
const RESET_VALUE: usize = 128;
const X_DSDT: usize = 140;
const X_PM1A_CNT_BLK: usize = 172;
const X_PM1B_CNT_BLK: usize = 184;
const SLEEP_CONTROL_REG: usize = 244;
/// A Generic Address Structure's size.
const GAS_LEN: usize = 12;

/// `Flags` bit 10: the reset register is supported.
const RESET_REG_SUP: u32 = 1 << 10;
/// `Flags` bit 20: a hardware-reduced ACPI machine (no PM1 blocks).
const HW_REDUCED_ACPI: u32 = 1 << 20;

/// PM1 control bits: `SCI_EN` (0: ACPI mode is on), `SLP_TYP` (10–12),
/// `SLP_EN` (13).
pub const SCI_EN: u16 = 1;
pub const SLP_TYP_SHIFT: u16 = 10;
pub const SLP_TYP_MASK: u16 = 0b111 << SLP_TYP_SHIFT;
pub const SLP_EN: u16 = 1 << 13;
/// The sleep control register's `SLP_EN` (bit 5; `SLP_TYP` is bits 2–4).
pub const SLEEP_CONTROL_SLP_EN: u8 = 1 << 5;

/// Where a register is: an I/O port or a physical memory address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Register {
    Io(u16),
    Memory(u64),
}

impl fmt::Display for Register {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Register::Io(port) => write!(f, "{port:#x}"),
            Register::Memory(address) => write!(f, "memory {address:#x}"),
        }
    }
}

/// The reset register and the value that resets the machine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reset {
    pub register: Register,
    pub value: u8,
}

/// What the kernel needs from the FADT.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fadt {
    pub revision: u8,
    /// The DSDT's physical address (`X_DSDT` if set, else `DSDT`); 0 if
    /// the table gives none.
    pub dsdt: u64,
    /// The SMI command port and the `ACPI_ENABLE` value to write there;
    /// `None` when `SMI_CMD` or `ACPI_ENABLE` is 0 (the machine is in
    /// ACPI mode already, or cannot leave legacy mode).
    pub acpi_enable: Option<(u16, u8)>,
    pub pm1a_control: Option<Register>,
    pub pm1b_control: Option<Register>,
    /// The sleep control register (ACPI 5.0 and later; hardware-reduced
    /// machines).
    pub sleep_control: Option<Register>,
    /// `None` before revision 2, without `RESET_REG_SUP`, or with an
    /// address of 0 or in an address space other than memory or I/O.
    pub reset: Option<Reset>,
    pub hardware_reduced: bool,
}

/// Why a FADT was not used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FadtError {
    /// Fewer bytes than the header, than its length field says, or than
    /// an ACPI 1.0 FADT.
    Truncated {
        length: usize,
        needed: usize,
    },
    /// The signature is not `FACP`.
    WrongSignature([u8; 4]),
    /// The header's length is not the number of bytes given.
    LengthMismatch {
        header: usize,
        bytes: usize,
    },
    BadChecksum,
}

impl fmt::Display for FadtError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FadtError::Truncated { length, needed } => {
                write!(f, "FADT truncated: {length} bytes, needs {needed}")
            }
            FadtError::WrongSignature(s) => write!(f, "not a FADT: signature {s:?}"),
            FadtError::LengthMismatch { header, bytes } => {
                write!(f, "FADT says {header} bytes, {bytes} given")
            }
            FadtError::BadChecksum => write!(f, "FADT checksum is wrong"),
        }
    }
}

/// A Generic Address Structure at `at`: address space 0 (memory) or 1
/// (I/O) with a non-zero address; `None` for anything else (absent, PCI
/// configuration space, an I/O address above 0xffff).
fn generic_address(table: &[u8], at: usize) -> Option<Register> {
    let gas = table.get(at..at + GAS_LEN)?;
    let address = u64_at(gas, 4)?;
    match (gas[0], address) {
        (_, 0) => None,
        (0, address) => Some(Register::Memory(address)),
        (1, port) => u16::try_from(port).ok().map(Register::Io),
        _ => None,
    }
}

/// A 32-bit block address (an I/O port in the ACPI 1.0 fields).
fn io_block(table: &[u8], at: usize) -> Option<Register> {
    let port = u32_at(table, at)?;
    match u16::try_from(port) {
        Ok(0) | Err(_) => None,
        Ok(port) => Some(Register::Io(port)),
    }
}

/// A register from its `X_` field when the table is long enough to hold
/// it and the field is usable, else from its 32-bit field.
fn register(table: &[u8], x_field: usize, legacy: usize) -> Option<Register> {
    generic_address(table, x_field).or_else(|| io_block(table, legacy))
}

/// Reads the FADT (signature `FACP`), checking its length and checksum.
pub fn parse_fadt(table: &[u8]) -> Result<Fadt, FadtError> {
    let truncated = |needed| FadtError::Truncated {
        length: table.len(),
        needed,
    };
    if table.len() < SDT_HEADER_LEN {
        return Err(truncated(SDT_HEADER_LEN));
    }
    let signature: [u8; 4] = table[..4].try_into().map_err(|_| truncated(4))?;
    if &signature != b"FACP" {
        return Err(FadtError::WrongSignature(signature));
    }
    let header = u32_at(table, 4).ok_or(truncated(8))? as usize;
    if header > table.len() {
        return Err(truncated(header));
    }
    if header != table.len() {
        return Err(FadtError::LengthMismatch {
            header,
            bytes: table.len(),
        });
    }
    if table.len() < FADT_V1_LEN {
        return Err(truncated(FADT_V1_LEN));
    }
    if !checksum_ok(table) {
        return Err(FadtError::BadChecksum);
    }
    let revision = table[8];
    let flags = u32_at(table, FLAGS).unwrap_or(0);
    let dsdt = u64_at(table, X_DSDT)
        .filter(|&x| x != 0)
        .or_else(|| u32_at(table, DSDT).map(u64::from))
        .unwrap_or(0);
    let smi_cmd = u32_at(table, SMI_CMD).unwrap_or(0);
    let acpi_enable = match (u16::try_from(smi_cmd), table[ACPI_ENABLE]) {
        (Ok(port), value) if port != 0 && value != 0 => Some((port, value)),
        _ => None,
    };
    let reset = if revision >= 2 && flags & RESET_REG_SUP != 0 {
        generic_address(table, RESET_REG).and_then(|register| {
            Some(Reset {
                register,
                value: *table.get(RESET_VALUE)?,
            })
        })
    } else {
        None
    };
    Ok(Fadt {
        revision,
        dsdt,
        acpi_enable,
        pm1a_control: register(table, X_PM1A_CNT_BLK, PM1A_CNT_BLK),
        pm1b_control: register(table, X_PM1B_CNT_BLK, PM1B_CNT_BLK),
        sleep_control: generic_address(table, SLEEP_CONTROL_REG),
        reset,
        hardware_reduced: flags & HW_REDUCED_ACPI != 0,
    })
}

/// The sleep types `\_S5` gives: what goes into `SLP_TYP` of PM1a_CNT
/// (`a`) and of PM1b_CNT (`b`). Each is 3 bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SleepType {
    pub a: u8,
    pub b: u8,
}

/// Why the DSDT gave no `\_S5` sleep types.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum S5Error {
    /// The FADT gives no DSDT address, or it cannot be read.
    NoDsdt,
    /// Not a whole, checksummed table with the signature `DSDT`.
    BadTable,
    /// No `Name (_S5_, Package …)` in the AML.
    NotFound,
    /// The package runs past the end of its bytes or of the table.
    Truncated,
    /// `_S5_` is named, but not as a package.
    NotAPackage(u8),
    /// A `PkgLength` whose encoding is invalid or too short for the
    /// element count.
    BadPkgLength,
    /// A package with no elements.
    NoElements,
    /// An element that is not an integer constant (its opcode).
    NotAnInteger(u8),
    /// A sleep type that does not fit `SLP_TYP`'s 3 bits.
    OutOfRange(u64),
}

impl fmt::Display for S5Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            S5Error::NoDsdt => write!(f, "the FADT gives no DSDT that can be read"),
            S5Error::BadTable => write!(f, "the DSDT's header or checksum is wrong"),
            S5Error::NotFound => write!(f, "the DSDT has no \\_S5_ package"),
            S5Error::Truncated => write!(f, "\\_S5_ runs past the end of the DSDT"),
            S5Error::NotAPackage(op) => write!(f, "\\_S5_ is not a package (opcode {op:#04x})"),
            S5Error::BadPkgLength => write!(f, "\\_S5_ has a bad package length"),
            S5Error::NoElements => write!(f, "\\_S5_ is an empty package"),
            S5Error::NotAnInteger(op) => {
                write!(f, "\\_S5_ holds a non-constant element (opcode {op:#04x})")
            }
            S5Error::OutOfRange(v) => write!(f, "\\_S5_ sleep type {v:#x} does not fit 3 bits"),
        }
    }
}

// AML opcodes and prefixes (ACPI 6.5, section 20.3).
const NAME_OP: u8 = 0x08;
const PACKAGE_OP: u8 = 0x12;
const ZERO_OP: u8 = 0x00;
const ONE_OP: u8 = 0x01;
const ONES_OP: u8 = 0xff;
const BYTE_PREFIX: u8 = 0x0a;
const WORD_PREFIX: u8 = 0x0b;
const DWORD_PREFIX: u8 = 0x0c;
const QWORD_PREFIX: u8 = 0x0e;
const ROOT_CHAR: u8 = b'\\';
const PARENT_PREFIX_CHAR: u8 = b'^';

/// `\_S5`'s sleep types from a whole DSDT (header included).
pub fn sleep_type_s5(dsdt: &[u8]) -> Result<SleepType, S5Error> {
    if !super::is_table(dsdt, b"DSDT") {
        return Err(S5Error::BadTable);
    }
    sleep_type_in_aml(&dsdt[SDT_HEADER_LEN..])
}

/// `_S5_`'s sleep types from AML bytes: the first `_S5_` that a `NameOp`
/// declares (its name possibly after `\` or `^` prefixes) as a good
/// package. Without an interpreter a byte 0x08 before the name may be
/// something else (a `PkgLength`, data), so a candidate that does not
/// parse does not end the search; if none parses, the first one's error.
pub fn sleep_type_in_aml(aml: &[u8]) -> Result<SleepType, S5Error> {
    let mut first_error = None;
    let mut from = 0;
    while let Some(found) = aml
        .get(from..)
        .and_then(|rest| rest.windows(4).position(|w| w == b"_S5_"))
    {
        let at = from + found;
        if declared_by_name_op(aml, at) {
            match package_sleep_types(aml, at + 4) {
                Ok(types) => return Ok(types),
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        from = at + 1;
    }
    Err(first_error.unwrap_or(S5Error::NotFound))
}

/// Whether the name at `at` follows a `NameOp`, directly or after a root
/// (`\`) or parent (`^`…) prefix.
fn declared_by_name_op(aml: &[u8], at: usize) -> bool {
    let mut i = at;
    if i > 0 && aml[i - 1] == ROOT_CHAR {
        i -= 1;
    } else {
        while i > 0 && aml[i - 1] == PARENT_PREFIX_CHAR {
            i -= 1;
        }
    }
    i > 0 && aml[i - 1] == NAME_OP
}

/// The package at `at`: `PackageOp PkgLength NumElements Elements…`.
fn package_sleep_types(aml: &[u8], at: usize) -> Result<SleepType, S5Error> {
    let op = *aml.get(at).ok_or(S5Error::Truncated)?;
    if op != PACKAGE_OP {
        return Err(S5Error::NotAPackage(op));
    }
    let (length, length_bytes) = pkg_length(aml.get(at + 1..).unwrap_or(&[]))?;
    // PkgLength counts its own bytes and everything after it.
    let end = at + 1 + length;
    if end > aml.len() {
        return Err(S5Error::Truncated);
    }
    if length < length_bytes + 1 {
        return Err(S5Error::BadPkgLength);
    }
    let body = &aml[at + 1 + length_bytes..end];
    let count = body[0];
    let mut elements = &body[1..];
    let first = match count {
        0 => return Err(S5Error::NoElements),
        _ => integer(&mut elements)?,
    };
    let (a, b) = if count == 1 {
        // One integer holding both (as some firmware packs them):
        // SLP_TYPa in its low byte, SLP_TYPb in the next.
        (first & 0xff, (first >> 8) & 0xff)
    } else {
        (first, integer(&mut elements)?)
    };
    let fit = |v: u64| {
        u8::try_from(v)
            .ok()
            .filter(|v| *v <= 7)
            .ok_or(S5Error::OutOfRange(v))
    };
    Ok(SleepType {
        a: fit(a)?,
        b: fit(b)?,
    })
}

/// A `PkgLength` at the start of `bytes`: (length, bytes it took). The
/// lead byte's bits 6–7 count the bytes that follow (0–3); with none,
/// bits 0–5 are the length; with some, bits 4–5 must be 0, bits 0–3 are
/// the low nibble and each following byte the next 8 bits.
pub fn pkg_length(bytes: &[u8]) -> Result<(usize, usize), S5Error> {
    let lead = *bytes.first().ok_or(S5Error::Truncated)?;
    let follow = usize::from(lead >> 6);
    if follow == 0 {
        return Ok((usize::from(lead & 0x3f), 1));
    }
    if lead & 0x30 != 0 {
        return Err(S5Error::BadPkgLength);
    }
    let rest = bytes.get(1..=follow).ok_or(S5Error::Truncated)?;
    let length = rest
        .iter()
        .enumerate()
        .fold(usize::from(lead & 0x0f), |n, (i, b)| {
            n | usize::from(*b) << (4 + 8 * i)
        });
    Ok((length, 1 + follow))
}

/// The integer constant at the start of `bytes`, which it then skips.
fn integer(bytes: &mut &[u8]) -> Result<u64, S5Error> {
    let op = *bytes.first().ok_or(S5Error::Truncated)?;
    let width = match op {
        ZERO_OP | ONE_OP | ONES_OP => 0,
        BYTE_PREFIX => 1,
        WORD_PREFIX => 2,
        DWORD_PREFIX => 4,
        QWORD_PREFIX => 8,
        other => return Err(S5Error::NotAnInteger(other)),
    };
    let data = bytes.get(1..1 + width).ok_or(S5Error::Truncated)?;
    *bytes = &bytes[1 + width..];
    Ok(match op {
        ZERO_OP => 0,
        ONE_OP => 1,
        ONES_OP => u64::MAX,
        _ => data.iter().rev().fold(0u64, |n, b| n << 8 | u64::from(*b)),
    })
}

/// How to turn the machine off.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PowerOff {
    /// `SLP_TYPa | SLP_EN` into PM1a_CNT, `SLP_TYPb | SLP_EN` into
    /// PM1b_CNT if there is one.
    Pm1 {
        pm1a: Register,
        pm1b: Option<Register>,
        sleep: SleepType,
    },
    /// `SLP_TYPa << 2 | SLP_EN` into the sleep control register
    /// (hardware-reduced machines).
    SleepControl { register: Register, sleep_type: u8 },
}

/// Why the machine cannot be turned off through ACPI.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NoPowerOff {
    /// The FADT names neither a PM1a control block nor a sleep control
    /// register.
    NoControlRegister,
    /// The DSDT gave no sleep types.
    NoS5(S5Error),
}

impl fmt::Display for NoPowerOff {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NoPowerOff::NoControlRegister => {
                write!(
                    f,
                    "the FADT has no PM1a control block nor sleep control register"
                )
            }
            NoPowerOff::NoS5(why) => write!(f, "{why}"),
        }
    }
}

/// How `fadt` and the DSDT's `\_S5` (`s5`) turn the machine off: through
/// the PM1 control blocks, or the sleep control register on a
/// hardware-reduced machine (or one with no PM1a block).
pub fn power_off(fadt: &Fadt, s5: Result<SleepType, S5Error>) -> Result<PowerOff, NoPowerOff> {
    let sleep = s5.map_err(NoPowerOff::NoS5)?;
    match (fadt.pm1a_control, fadt.sleep_control) {
        (Some(pm1a), _) if !fadt.hardware_reduced => Ok(PowerOff::Pm1 {
            pm1a,
            pm1b: fadt.pm1b_control,
            sleep,
        }),
        (_, Some(register)) => Ok(PowerOff::SleepControl {
            register,
            sleep_type: sleep.a,
        }),
        (Some(pm1a), None) => Ok(PowerOff::Pm1 {
            pm1a,
            pm1b: fadt.pm1b_control,
            sleep,
        }),
        (None, None) => Err(NoPowerOff::NoControlRegister),
    }
}

/// The PM1 control word that enters sleep type `sleep_type`: `current`
/// with `SLP_TYP` replaced and, with `enable`, `SLP_EN` set (ACPI writes
/// the type first, then the type with `SLP_EN`). Other bits (`SCI_EN`
/// among them) are kept.
pub const fn pm1_control(current: u16, sleep_type: u8, enable: bool) -> u16 {
    let kept = current & !(SLP_TYP_MASK | SLP_EN);
    let typed = kept | ((sleep_type as u16 & 0b111) << SLP_TYP_SHIFT);
    if enable {
        typed | SLP_EN
    } else {
        typed
    }
}

/// The sleep control register's byte that enters sleep type `sleep_type`.
pub const fn sleep_control(sleep_type: u8) -> u8 {
    ((sleep_type & 0b111) << 2) | SLEEP_CONTROL_SLP_EN
}

/// The boot log's line about power: what power-off and reset will do,
/// e.g. `FADT rev 3: power off with S5 type 0/0 to PM1a_CNT 0x604; reset
/// with 0x6 to 0xcf9; ACPI mode with 0xf1 to SMI_CMD 0xb2`.
pub struct Summary<'a> {
    pub fadt: &'a Fadt,
    pub off: &'a Result<PowerOff, NoPowerOff>,
}

impl fmt::Display for Summary<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FADT rev {}: ", self.fadt.revision)?;
        match self.off {
            Ok(PowerOff::Pm1 { pm1a, pm1b, sleep }) => {
                write!(
                    f,
                    "power off with S5 type {}/{} to PM1a_CNT {pm1a}",
                    sleep.a, sleep.b
                )?;
                if let Some(b) = pm1b {
                    write!(f, " and PM1b_CNT {b}")?;
                }
            }
            Ok(PowerOff::SleepControl {
                register,
                sleep_type,
            }) => write!(
                f,
                "power off with S5 type {sleep_type} to SLEEP_CONTROL {register}"
            )?,
            Err(why) => write!(f, "no power off ({why})")?,
        }
        match self.fadt.reset {
            Some(reset) => write!(f, "; reset with {:#x} to {}", reset.value, reset.register)?,
            None => write!(f, "; no reset register")?,
        }
        if let Some((port, value)) = self.fadt.acpi_enable {
            write!(f, "; ACPI mode with {value:#x} to SMI_CMD {port:#x}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
