//! What is specific to the CPU architecture. Only x86_64 exists.

pub mod x86_64;
