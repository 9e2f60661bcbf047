//! Reading UEFI device paths, just enough to tell whether the firmware's
//! console (the `ConOut` variable) includes a serial port.

/// Device path node type and subtype of a UART (messaging device path).
const MESSAGING: u8 = 0x03;
const UART: u8 = 0x0e;
const END: u8 = 0x7f;

/// Whether any instance of the (multi-instance) device path `path` goes
/// through a UART. A malformed path answers `false`.
pub fn has_uart(path: &[u8]) -> bool {
    let mut at = 0;
    while let Some(node) = path.get(at..at + 4) {
        let (kind, subtype) = (node[0], node[1]);
        let len = u16::from_le_bytes([node[2], node[3]]) as usize;
        if len < 4 {
            return false;
        }
        if kind == MESSAGING && subtype == UART {
            return true;
        }
        // End of an instance (subtype 1) is followed by another instance;
        // end of the whole path (0xff) stops the walk.
        if kind == END && subtype == 0xff {
            return false;
        }
        at += len;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(kind: u8, subtype: u8, body: usize) -> Vec<u8> {
        let mut n = vec![kind, subtype];
        n.extend(((4 + body) as u16).to_le_bytes());
        n.extend(vec![0; body]);
        n
    }

    #[test]
    fn finds_a_uart_in_any_instance() {
        // PciRoot/Pci/VGA, end-instance, PciRoot/Serial/Uart/VT100, end.
        let mut path = node(2, 1, 8);
        path.extend(node(1, 1, 2));
        path.extend(node(END, 0x01, 0));
        path.extend(node(2, 1, 8));
        path.extend(node(MESSAGING, UART, 15));
        path.extend(node(MESSAGING, 10, 16));
        path.extend(node(END, 0xff, 0));
        assert!(has_uart(&path));
    }

    #[test]
    fn no_uart_or_garbage_is_false() {
        let mut path = node(2, 1, 8);
        path.extend(node(END, 0xff, 0));
        path.extend(node(MESSAGING, UART, 15)); // after the end: not part of it
        assert!(!has_uart(&path));
        assert!(!has_uart(&[]));
        assert!(!has_uart(&[3, 14, 1, 0]), "a node shorter than its header");
        assert!(!has_uart(&[3, 14]));
    }
}
