//! `sockchat account`: administering accounts in a database file while no server needs to be asked.
