//! The one integration test binary: the real `sockchat` binary, driven over loopback sockets.

mod abuse;
mod account;
mod accounts_online;
mod architecture;
mod bench;
mod browser;
mod chat;
mod cli;
mod console;
mod durable;
mod fixture;
mod flood;
mod http;
mod limits;
mod liveness;
mod on_disk;
mod structured;
mod support;
mod tls;
mod tui;
mod web;
mod webdriver;
