//! The one integration test binary: the real `sockchat` binary, driven over loopback sockets.

mod abuse;
mod account;
mod architecture;
mod bench;
mod chat;
mod cli;
mod console;
mod fixture;
mod http;
mod structured;
mod support;
mod tui;
