//! Reading files from the volume the loader was started from.
//!
//! `boot():` in the configuration means that volume: on our ISO, the FAT
//! image of the El Torito EFI boot entry (OVMF cannot read ISO 9660, so that
//! image holds the whole boot tree).

use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use core::fmt;
use core::ptr::NonNull;

use boot_core::config::BootPath;
use boot_core::memmap::{EFI_KERNEL_MEMORY_TYPE, PAGE_SIZE};
use uefi::boot::{self, AllocateType, MemoryType};
use uefi::proto::media::file::{Directory, File, FileAttribute, FileInfo, FileMode, RegularFile};
use uefi::{CString16, Status};

/// A file read into pages that the kernel will see as "executable and modules".
pub struct LoadedFile {
    pub phys: u64,
    pub size: usize,
}

impl LoadedFile {
    pub fn bytes(&self) -> &[u8] {
        // SAFETY: `phys` is the start of an allocation of at least `size`
        // bytes made by `load`, identity-mapped while boot services run, and
        // never freed: it is handed to the kernel.
        unsafe { core::slice::from_raw_parts(self.phys as *const u8, self.size) }
    }
}

/// Why a file could not be read.
pub enum FileError {
    NotFound(String),
    Unreadable(String, Status),
    OutOfMemory(String),
}

impl fmt::Display for FileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FileError::NotFound(path) => write!(f, "file not found: {path}"),
            FileError::Unreadable(path, status) => write!(f, "cannot read {path}: {status:?}"),
            FileError::OutOfMemory(path) => write!(f, "out of memory loading {path}"),
        }
    }
}

/// The root directory of the boot volume.
pub fn boot_volume() -> Result<Directory, Status> {
    let mut fs = boot::get_image_file_system(boot::image_handle()).map_err(|e| e.status())?;
    fs.open_volume().map_err(|e| e.status())
}

fn open(root: &mut Directory, path: &BootPath) -> Result<(RegularFile, usize), FileError> {
    let unreadable = |status| FileError::Unreadable(path.as_str().into(), status);
    let name = CString16::try_from(path.to_uefi_path().as_str())
        .map_err(|_| unreadable(Status::INVALID_PARAMETER))?;
    let handle = match root.open(&name, FileMode::Read, FileAttribute::empty()) {
        Ok(handle) => handle,
        Err(e) if e.status() == Status::NOT_FOUND => {
            return Err(FileError::NotFound(path.as_str().into()))
        }
        Err(e) => return Err(unreadable(e.status())),
    };
    let mut file = handle
        .into_regular_file()
        .ok_or(FileError::NotFound(path.as_str().into()))?;
    let info: Box<FileInfo> = file.get_boxed_info().map_err(|e| unreadable(e.status()))?;
    let size =
        usize::try_from(info.file_size()).map_err(|_| unreadable(Status::BAD_BUFFER_SIZE))?;
    Ok((file, size))
}

fn read_all(file: &mut RegularFile, buffer: &mut [u8], path: &BootPath) -> Result<(), FileError> {
    let mut done = 0;
    while done < buffer.len() {
        let n = file
            .read(&mut buffer[done..])
            .map_err(|e| FileError::Unreadable(path.as_str().into(), e.status()))?;
        if n == 0 {
            return Err(FileError::Unreadable(
                path.as_str().into(),
                Status::END_OF_FILE,
            ));
        }
        done += n;
    }
    Ok(())
}

/// Reads a small file (the configuration) into the loader's own heap.
pub fn read_to_vec(root: &mut Directory, path: &BootPath) -> Result<Vec<u8>, FileError> {
    let (mut file, size) = open(root, path)?;
    let mut buffer = vec![0; size];
    read_all(&mut file, &mut buffer, path)?;
    Ok(buffer)
}

/// Allocates zeroed pages of a given UEFI type; `None` when memory is short.
pub fn allocate(bytes: u64, memory_type: MemoryType) -> Option<NonNull<u8>> {
    let pages = bytes.div_ceil(PAGE_SIZE).max(1) as usize;
    let memory = boot::allocate_pages(AllocateType::AnyPages, memory_type, pages).ok()?;
    // SAFETY: the allocation is `pages` whole pages, identity-mapped and ours.
    unsafe { core::ptr::write_bytes(memory.as_ptr(), 0, pages * PAGE_SIZE as usize) };
    Some(memory)
}

/// Reads a file (the kernel or a module) into pages the kernel will own.
pub fn load(root: &mut Directory, path: &BootPath) -> Result<LoadedFile, FileError> {
    let (mut file, size) = open(root, path)?;
    let memory = allocate(size as u64, MemoryType::custom(EFI_KERNEL_MEMORY_TYPE))
        .ok_or(FileError::OutOfMemory(path.as_str().into()))?;
    // SAFETY: `memory` is a fresh allocation of at least `size` bytes.
    let buffer = unsafe { core::slice::from_raw_parts_mut(memory.as_ptr(), size) };
    read_all(&mut file, buffer, path)?;
    Ok(LoadedFile {
        phys: memory.as_ptr() as u64,
        size,
    })
}
