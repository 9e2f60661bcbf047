//! The scheduler (chapter 4 of *Linux Kernel Development*): the fair class
//! ([`fair`]) and the real-time class ([`rt`]).

pub mod fair;
pub mod rt;
