//! sockchat: a chat system on plain sockets. Modules in reading order.

pub mod bench;
pub mod cidr;
pub mod cli;
pub mod client;
pub mod clock;
pub mod http;
pub mod hub;
pub mod names;
pub mod protocol;
pub mod scheme;
pub mod server;
pub mod store;
pub mod terminal_text;
pub mod transport;
