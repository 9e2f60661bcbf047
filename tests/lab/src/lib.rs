//! The labs' tools (docs/labs/README.md): starting points generated from
//! `// LAB n` markers in the solution code ([`markers`], [`start`]),
//! grading ([`labs`], [`grade`]), and record and replay of a server's IPC
//! ([`trace`]). The binary `lab` is what the Makefile's `lab-start`,
//! `grade`, `grade-all`, `replay` and `traces` targets run.

pub mod boot;
pub mod grade;
pub mod labs;
pub mod markers;
pub mod start;
pub mod trace;
