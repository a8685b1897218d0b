//! IRC, the client protocol of RFC 1459 and 2812 as modern clients speak it (modern.ircdocs.horse),
//! with the IRCv3 extensions: the wire format of its lines first.

pub mod message;
