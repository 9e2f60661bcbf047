//! Finding the Limine requests inside a loaded kernel image.
//!
//! The loader copies the kernel's segments into one contiguous block and scans
//! it, 8 bytes at a time, for the base revision tag and for request IDs. When
//! the kernel has a requests start marker, only the words between it and the
//! end marker (or the end of the image) are scanned for requests, as the
//! protocol asks; without one the whole image is scanned. Two requests with
//! the same ID make the kernel unbootable.

use alloc::vec::Vec;
use core::fmt;

use crate::protocol::{
    RequestKind, BASE_REVISION_MAGIC, COMMON_MAGIC, REQUESTS_END_MARKER, REQUESTS_START_MARKER,
};

/// One request found in the image.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FoundRequest {
    pub kind: RequestKind,
    /// Byte offset of the request's first word inside the image.
    pub offset: usize,
    /// The request's own revision field.
    pub revision: u64,
}

/// What a scan of the image found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Requests {
    /// Offset of the base revision tag and the revision it asks for; `None`
    /// when the kernel has no tag (which means base revision 0).
    pub base_revision: Option<(usize, u64)>,
    /// Known requests, in the order they appear.
    pub found: Vec<FoundRequest>,
    /// Request IDs with the common magic that this loader does not know.
    pub unknown: usize,
}

impl Requests {
    /// The request of this kind, if the kernel made one.
    pub fn get(&self, kind: RequestKind) -> Option<&FoundRequest> {
        self.found.iter().find(|request| request.kind == kind)
    }

    /// The base revision the kernel asks for (0 without a tag).
    pub fn requested_base_revision(&self) -> u64 {
        self.base_revision.map_or(0, |(_, revision)| revision)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScanError {
    /// The same request appears twice.
    DuplicateRequest(RequestKind),
    /// More than one base revision tag.
    DuplicateBaseRevision,
    /// An end marker before (or without) a start marker.
    EndMarkerWithoutStart,
}

impl fmt::Display for ScanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ScanError::DuplicateRequest(kind) => {
                write!(f, "the kernel has two {kind:?} requests")
            }
            ScanError::DuplicateBaseRevision => write!(f, "the kernel has two base revision tags"),
            ScanError::EndMarkerWithoutStart => {
                write!(
                    f,
                    "the kernel's requests end marker has no start marker before it"
                )
            }
        }
    }
}

fn word(image: &[u8], index: usize) -> Option<u64> {
    let bytes = image.get(index * 8..index * 8 + 8)?;
    Some(u64::from_le_bytes(bytes.try_into().ok()?))
}

fn words_match(image: &[u8], index: usize, pattern: &[u64]) -> bool {
    pattern
        .iter()
        .enumerate()
        .all(|(i, &expected)| word(image, index + i) == Some(expected))
}

/// Scans `image` (the kernel as it lies in memory, starting 8-byte aligned)
/// for the base revision tag and the requests.
///
/// Fails on duplicate requests or tags and on an end marker with no start
/// marker; unknown request IDs are counted, not an error.
pub fn scan(image: &[u8]) -> Result<Requests, ScanError> {
    let words = image.len() / 8;
    let mut result = Requests::default();

    for index in 0..words {
        if words_match(image, index, &BASE_REVISION_MAGIC) {
            if result.base_revision.is_some() {
                return Err(ScanError::DuplicateBaseRevision);
            }
            if let Some(revision) = word(image, index + 2) {
                result.base_revision = Some((index * 8, revision));
            }
        }
    }

    let start = (0..words).find(|&i| words_match(image, i, &REQUESTS_START_MARKER));
    let end = (0..words).find(|&i| words_match(image, i, &REQUESTS_END_MARKER));
    let range = match (start, end) {
        (Some(start), Some(end)) if end > start => start + REQUESTS_START_MARKER.len()..end,
        (Some(_), Some(_)) | (None, Some(_)) => return Err(ScanError::EndMarkerWithoutStart),
        (Some(start), None) => start + REQUESTS_START_MARKER.len()..words,
        (None, None) => 0..words,
    };

    for index in range {
        if !words_match(image, index, &COMMON_MAGIC) {
            continue;
        }
        let (Some(a), Some(b)) = (word(image, index + 2), word(image, index + 3)) else {
            continue;
        };
        let Some(kind) = RequestKind::from_id([a, b]) else {
            result.unknown += 1;
            continue;
        };
        if result.get(kind).is_some() {
            return Err(ScanError::DuplicateRequest(kind));
        }
        let revision = word(image, index + 4).unwrap_or(0);
        result.found.push(FoundRequest {
            kind,
            offset: index * 8,
            revision,
        });
    }
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Builds a synthetic image out of 64-bit words.
    fn image(words: &[u64]) -> Vec<u8> {
        words.iter().flat_map(|w| w.to_le_bytes()).collect()
    }

    fn request(kind: RequestKind, revision: u64) -> Vec<u64> {
        let mut words = kind.full_id().to_vec();
        words.extend([revision, 0]);
        words
    }

    #[test]
    fn finds_requests_between_markers() {
        let mut words = vec![0xdead, 0xbeef];
        words.extend(REQUESTS_START_MARKER);
        words.extend([BASE_REVISION_MAGIC[0], BASE_REVISION_MAGIC[1], 3]);
        words.extend(request(RequestKind::Hhdm, 0));
        words.extend(request(RequestKind::MemoryMap, 0));
        words.extend(request(RequestKind::StackSize, 0));
        words.push(64 * 1024);
        words.extend(REQUESTS_END_MARKER);
        let found = scan(&image(&words)).unwrap();

        assert_eq!(found.requested_base_revision(), 3);
        assert_eq!(found.base_revision.unwrap().0, 6 * 8);
        let kinds: Vec<_> = found.found.iter().map(|r| r.kind).collect();
        assert_eq!(
            kinds,
            [
                RequestKind::Hhdm,
                RequestKind::MemoryMap,
                RequestKind::StackSize
            ]
        );
        assert_eq!(found.get(RequestKind::Hhdm).unwrap().offset, 9 * 8);
    }

    #[test]
    fn ignores_requests_outside_the_markers() {
        let mut words = request(RequestKind::Rsdp, 0);
        words.extend(REQUESTS_START_MARKER);
        words.extend(request(RequestKind::Hhdm, 0));
        words.extend(REQUESTS_END_MARKER);
        words.extend(request(RequestKind::Module, 0));
        let found = scan(&image(&words)).unwrap();
        assert!(found.get(RequestKind::Rsdp).is_none());
        assert!(found.get(RequestKind::Module).is_none());
        assert!(found.get(RequestKind::Hhdm).is_some());
    }

    #[test]
    fn scans_everything_without_markers() {
        let mut words = vec![1, 2, 3];
        words.extend(request(RequestKind::Rsdp, 0));
        words.extend(request(RequestKind::ExecutableCmdline, 0));
        let found = scan(&image(&words)).unwrap();
        assert_eq!(found.found.len(), 2);
        assert_eq!(
            found.requested_base_revision(),
            0,
            "no tag means revision 0"
        );
    }

    #[test]
    fn rejects_duplicates() {
        let mut words = request(RequestKind::Hhdm, 0);
        words.extend(request(RequestKind::Hhdm, 0));
        assert_eq!(
            scan(&image(&words)),
            Err(ScanError::DuplicateRequest(RequestKind::Hhdm))
        );

        let tag = [BASE_REVISION_MAGIC[0], BASE_REVISION_MAGIC[1], 3];
        let words: Vec<u64> = tag.iter().chain(tag.iter()).copied().collect();
        assert_eq!(scan(&image(&words)), Err(ScanError::DuplicateBaseRevision));
    }

    #[test]
    fn rejects_end_marker_first() {
        let mut words = REQUESTS_END_MARKER.to_vec();
        words.extend(REQUESTS_START_MARKER);
        assert_eq!(scan(&image(&words)), Err(ScanError::EndMarkerWithoutStart));
    }

    #[test]
    fn counts_unknown_ids_and_handles_truncated_ones() {
        let mut words = vec![COMMON_MAGIC[0], COMMON_MAGIC[1], 0x1234, 0x5678, 0, 0];
        // A request cut off by the end of the image is not a request.
        words.extend([COMMON_MAGIC[0], COMMON_MAGIC[1], RequestKind::Hhdm.id()[0]]);
        let found = scan(&image(&words)).unwrap();
        assert_eq!(found.unknown, 1);
        assert!(found.found.is_empty());
    }

    #[test]
    fn every_id_round_trips() {
        for kind in RequestKind::ALL {
            assert_eq!(RequestKind::from_id(kind.id()), Some(kind));
        }
    }
}
