//! sockchat: a chat system on plain sockets. Modules in reading order.

pub mod names;
pub mod protocol;
pub mod hub;
pub mod transport;
