//! What `/help` shows in the full-screen client: its own commands and keys, not plain mode's list.

/// Shown once on start, where the user looks first.
pub const START_HINT: &str = "type /help for commands and keys, Ctrl-C to quit";

/// The full-screen client's commands and keys, as `/help` lists them; each line fits an 80-column
/// terminal after the time and mark.
pub const HELP: &str = "\
commands:
  TEXT                 say TEXT here (// to start it with /)
  /me ACTION           act in this window's room
  /msg NICK TEXT       send TEXT to NICK alone, in NICK's window
  /query NICK          open a window to talk to NICK
  /close               leave this room, or close this conversation
  /clear               clear this window
  /nick NAME           change your nick
  /join ROOM           join ROOM (creating it) in a window of its own
  /part [ROOM]         leave ROOM, or this window's room
  /topic [TEXT]        show or set this room's topic
  /who [ROOM [AFTER]]  list who is in ROOM or this room (/names)
  /rooms [AFTER]       list the rooms (/list), or those after AFTER
  /search WORDS        find messages with all the words, in a window
  /history [N]         fetch N older messages (or scroll to the top)
  /register PASSWORD   make your nick an account that only you may use
  /login NICK PASSWORD log in to your account (take its nick)
  /passwd NEW          change your account's password
  /unregister PASSWORD delete your account
  /ping                ask the server for a pong
  /quit [REASON]       leave and quit
keys:
  Alt+0..9, Ctrl-N, Ctrl-P   switch windows
  PageUp, PageDown, wheel    scroll; above the top, older messages load
  Tab                        complete a nick or command; again: next
  Up, Down                   recall what you sent
  Alt+Enter                  start a new line in the message
  Ctrl-A, Ctrl-E, Ctrl-W, Ctrl-U, Ctrl-K   edit the line
  Ctrl-C                     quit";
