//! irssi and weechat as a person runs them: each in a terminal of its own, with a fresh home that
//! knows one server on loopback and nothing else, typed into with the keys a person presses and read
//! from the screen.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use tempfile::TempDir;

use crate::support::outside_program;
use crate::tmux::{Size, Tmux, shell_quoted};

/// Each client's terminal: wide enough that the lines the tests look for are not wrapped.
const TERMINAL: Size = Size { columns: 120, rows: 40 };

/// What each client prints, by a command of its own run when the server has welcomed it (numeric
/// 001): irssi's `autosendcmd`, weechat's server `command`.
const REGISTERED: &str = "registered with the server";

/// The mode prefixes a client may show before a nick (PREFIX's symbols), and what else may stand
/// before a nick that begins a line's sender: irssi's `<` or a blank of weechat's right alignment.
const BEFORE_NICK: &str = "<@+%~&! ";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IrcProgram {
    Irssi,
    Weechat,
}

impl fmt::Display for IrcProgram {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(self.command())
    }
}

impl IrcProgram {
    fn command(self) -> &'static str {
        match self {
            IrcProgram::Irssi => "irssi",
            IrcProgram::Weechat => "weechat",
        }
    }

    fn package(self) -> &'static str {
        match self {
            IrcProgram::Irssi => "irssi",
            IrcProgram::Weechat => "weechat-curses",
        }
    }

    /// The shell command that starts this program as `nick`, with `home` as its only configuration,
    /// connecting to `server` in the clear and to nothing else, registering as `setup` says.
    fn command_line(self, home: &Path, server: SocketAddr, nick: &str, setup: Setup) -> String {
        match self {
            IrcProgram::Irssi => {
                let config = irssi_config(server, nick, setup.sasl_password);
                std::fs::write(home.join("config"), config).unwrap();
                if !setup.capabilities.is_empty() {
                    let scripts = home.join("scripts").join("autorun");
                    std::fs::create_dir_all(&scripts).unwrap();
                    let script = irssi_capabilities_script(setup.capabilities);
                    std::fs::write(scripts.join("capabilities.pl"), script).unwrap();
                }
                format!("irssi --home={}", shell_quoted(&home.to_string_lossy()))
            }
            IrcProgram::Weechat => {
                // -a: no server of the default configuration connects on its own. /mute keeps
                // the settings' echo, which names the welcome's mark, off the screen.
                let mut commands = vec![
                    format!("/server add sc {}/{} -notls", server.ip(), server.port()),
                    format!("/mute /set irc.server.sc.nicks {nick}"),
                    format!("/mute /set irc.server.sc.username {nick}"),
                    format!("/mute /set irc.server.sc.realname {nick}"),
                    format!("/mute /set irc.server.sc.command \"/print {REGISTERED}\""),
                    "/mute /set irc.server.sc.anti_flood_prio_high 0".to_owned(),
                    "/mute /set irc.server.sc.anti_flood_prio_low 0".to_owned(),
                    "/mute /set weechat.look.paste_max_lines -1".to_owned(),
                ];
                if let Some(password) = setup.sasl_password {
                    commands.extend([
                        "/mute /set irc.server.sc.sasl_mechanism plain".to_owned(),
                        format!("/mute /set irc.server.sc.sasl_username {nick}"),
                        format!("/mute /set irc.server.sc.sasl_password \"{password}\""),
                    ]);
                }
                if !setup.capabilities.is_empty() {
                    // "*": all weechat asks for by itself, and these too where the server offers them.
                    let asked = setup.capabilities.join(",");
                    commands.push(format!("/mute /set irc.server.sc.capabilities \"*,{asked}\""));
                }
                commands.push("/connect sc".to_owned());
                format!(
                    "weechat -a --dir {} -r {}",
                    shell_quoted(&home.to_string_lossy()),
                    shell_quoted(&commands.join(";"))
                )
            }
        }
    }

    /// Whether `row` of the screen shows `nick` saying `text`: irssi's `<@nick> text`, weechat's
    /// `@nick | text`.
    fn shows_line(self, row: &str, nick: &str, text: &str) -> bool {
        let said = match self {
            IrcProgram::Irssi => format!("{nick}> {text}"),
            IrcProgram::Weechat => format!("{nick} | {text}"),
        };
        row.match_indices(&said).any(|(at, _)| {
            row[..at]
                .chars()
                .next_back()
                .is_none_or(|before| BEFORE_NICK.contains(before))
        })
    }

    /// Whether `row` shows `nick`'s action `text` (`/me`): irssi's ` * nick text`, weechat's
    /// `* | nick text`.
    fn shows_action(self, row: &str, nick: &str, text: &str) -> bool {
        match self {
            IrcProgram::Irssi => row.contains(&format!(" * {nick} {text}")),
            IrcProgram::Weechat => row.contains(&format!("* | {nick} {text}")),
        }
    }

    /// Whether `row` shows that `nick` has done `what` (`has joined #rust`, `has quit`): irssi's
    /// `-!- nick [user@host] has joined #rust`, weechat's `--> | nick (user@host) has joined #rust`.
    fn shows_event(self, row: &str, nick: &str, what: &str) -> bool {
        let before = match self {
            IrcProgram::Irssi => "-!- ",
            IrcProgram::Weechat => "| ",
        };
        let who = format!("{before}{nick} ");
        row.find(&who).is_some_and(|at| row[at + who.len()..].contains(what))
    }

    /// What this program shows when `nick` sets `channel`'s topic to `topic`.
    fn topic_line(self, nick: &str, channel: &str, topic: &str) -> String {
        match self {
            IrcProgram::Irssi => format!("{nick} changed the topic of {channel} to: {topic}"),
            IrcProgram::Weechat => format!("{nick} has changed topic for {channel} to \"{topic}\""),
        }
    }

    /// What this program shows when its own user has changed nick to `nick`.
    fn own_rename_line(self, nick: &str) -> String {
        match self {
            IrcProgram::Irssi => format!("You're now known as {nick}"),
            IrcProgram::Weechat => format!("You are now known as {nick}"),
        }
    }

    /// The keys that type `text` in bold: irssi's ^B, weechat's ^C b, before and after.
    fn bold(self, text: &str) -> String {
        match self {
            IrcProgram::Irssi => format!("\u{2}{text}\u{2}"),
            IrcProgram::Weechat => format!("\u{3}b{text}\u{3}b"),
        }
    }

    /// The keys that type `text` in red (colour 4): irssi's ^C 4, weechat's ^C c 04, and after it
    /// the colour's end.
    fn red(self, text: &str) -> String {
        match self {
            IrcProgram::Irssi => format!("\u{3}4{text}\u{3}"),
            IrcProgram::Weechat => format!("\u{3}c04{text}\u{3}c"),
        }
    }

    /// What this program shows before the capabilities the server has granted it.
    fn granted_mark(self) -> &'static str {
        match self {
            IrcProgram::Irssi => "Capabilities acknowledged:",
            IrcProgram::Weechat => "client capability, enabled:",
        }
    }

    /// The command that shows the window of `name` (a channel or a nick), opening it if need be.
    fn show_window(self, name: &str) -> String {
        match (self, name.starts_with('#')) {
            (IrcProgram::Irssi, true) => format!("/window goto {name}"),
            (IrcProgram::Weechat, true) => format!("/buffer {name}"),
            (_, false) => format!("/query {name}"),
        }
    }
}

/// irssi's whole configuration: one server, connected at start, whose welcome it marks on screen.
/// Like weechat's, its own flood control is off: it would space lines seconds apart, which slows the
/// tests and proves nothing about the server. So is their paste detection: keys typed by a test come
/// faster than a person's, and two lines close together would be taken for a paste to confirm.
fn irssi_config(server: SocketAddr, nick: &str, sasl: Option<&str>) -> String {
    let login = sasl.map_or(String::new(), |password| {
        format!(r#"sasl_mechanism = "PLAIN"; sasl_username = "{nick}"; sasl_password = "{password}";"#)
    });
    format!(
        r#"servers = (
  {{ address = "{ip}"; port = "{port}"; chatnet = "sockchat"; autoconnect = "yes"; use_tls = "no"; }}
);
chatnets = {{ sockchat = {{ type = "IRC"; autosendcmd = "/echo {REGISTERED}"; {login} }}; }};
settings = {{
  core = {{ real_name = "{nick}"; user_name = "{nick}"; nick = "{nick}"; settings_autosave = "no"; }};
  "irc/core" = {{ cmd_queue_speed = "0msec"; }};
  "fe-text" = {{ paste_detect_time = "0"; }};
}};
"#,
        ip = server.ip(),
        port = server.port(),
    )
}

/// An irssi script that asks for `capabilities` as the client registers (once registered it would
/// be too late: the server settles capabilities then), where the server offers them.
fn irssi_capabilities_script(capabilities: &[&str]) -> String {
    let toggles: String = capabilities
        .iter()
        .map(|capability| format!("    $server->irc_server_cap_toggle('{capability}', 1);\n"))
        .collect();
    format!("use Irssi;\nIrssi::signal_add('server connected', sub {{\n    my ($server) = @_;\n{toggles}}});\n")
}

/// What a client does as it registers, beyond what the program does by itself.
#[derive(Clone, Copy, Default)]
pub struct Setup<'a> {
    /// Log in to the account named by the nick with this password, by SASL PLAIN (it must hold no
    /// `"`).
    pub sasl_password: Option<&'a str>,
    /// Capabilities to ask for too, where the server offers them.
    pub capabilities: &'a [&'a str],
}

/// One person in irssi or weechat, connected to one server.
pub struct IrcUser {
    pub program: IrcProgram,
    pub nick: String,
    terminal: Tmux,
    _home: TempDir,
}

impl IrcUser {
    /// Starts `program` as `nick`, pointed at `server`, and waits until the server has welcomed it.
    /// `None` (the test is skipped) where tmux or the program is missing.
    pub fn connect(program: IrcProgram, server: SocketAddr, nick: &str) -> Option<IrcUser> {
        IrcUser::connect_with(program, server, nick, Setup::default())
    }

    /// As `connect`, registering as `setup` says.
    pub fn connect_with(program: IrcProgram, server: SocketAddr, nick: &str, setup: Setup) -> Option<IrcUser> {
        if !outside_program(program.command(), program.package()) {
            return None;
        }
        let home = tempfile::tempdir().unwrap();
        let command = program.command_line(home.path(), server, nick, setup);
        let terminal = Tmux::start(TERMINAL, &command)?;
        let client = IrcUser {
            program,
            nick: nick.to_owned(),
            terminal,
            _home: home,
        };
        client.wait_registered();
        for capability in setup.capabilities {
            client.wait_granted(capability);
        }
        Some(client)
    }

    /// Waits until the client shows the server granted it `capability`, and returns the screen.
    pub fn wait_granted(&self, capability: &str) -> String {
        let mark = self.program.granted_mark();
        let failure = format!("{}: the server never granted {capability}", self.program);
        self.terminal.wait_until(
            |screen| {
                screen
                    .find(mark)
                    .is_some_and(|at| screen[at..].split_whitespace().any(|word| word == capability))
            },
            &failure,
        )
    }

    /// Waits until the client shows it has been welcomed (001), and returns the screen.
    pub fn wait_registered(&self) -> String {
        self.wait_row(
            |row| row.trim_end().ends_with(REGISTERED) && !row.contains("/print"),
            "never welcomed by the server",
        )
    }

    pub fn type_line(&self, line: &str) {
        self.terminal.type_line(line);
    }

    /// Types `/join CHANNEL` and waits until the client shows its own join.
    pub fn join(&self, channel: &str) -> String {
        self.type_line(&format!("/join {channel}"));
        self.wait_event(&self.nick, &format!("has joined {channel}"))
    }

    /// Types `text` into the window shown and waits until it is on the screen as the client's own.
    pub fn say(&self, text: &str) -> String {
        self.type_line(text);
        self.wait_line(&self.nick, text)
    }

    /// Types `/nick NICK` and waits until the client shows its new nick.
    pub fn rename(&mut self, nick: &str) -> String {
        self.type_line(&format!("/nick {nick}"));
        let screen = self.wait_for(&self.program.own_rename_line(nick));
        self.nick = nick.to_owned();
        screen
    }

    /// Waits until the client shows that `nick` set `channel`'s topic to `topic`, and returns the
    /// screen.
    pub fn wait_topic(&self, nick: &str, channel: &str, topic: &str) -> String {
        self.wait_for(&self.program.topic_line(nick, channel, topic))
    }

    /// Types `/msg NICK TEXT`.
    pub fn msg(&self, nick: &str, text: &str) {
        self.type_line(&format!("/msg {nick} {text}"));
    }

    /// The keys that type `text` in bold in this client.
    pub fn bold(&self, text: &str) -> String {
        self.program.bold(text)
    }

    /// The keys that type `text` in red in this client.
    pub fn red(&self, text: &str) -> String {
        self.program.red(text)
    }

    /// Shows the window of `name`, a channel already joined or a nick (whose query window opens).
    pub fn show_window(&self, name: &str) {
        self.type_line(&self.program.show_window(name));
    }

    /// Waits until a row shows `nick` saying `text`, and returns the screen.
    pub fn wait_line(&self, nick: &str, text: &str) -> String {
        let program = self.program;
        self.wait_row(
            |row| program.shows_line(row, nick, text),
            &format!("no line of {nick} saying {text:?}"),
        )
    }

    /// How many rows of the screen show `nick` saying `text`.
    pub fn count_lines(&self, nick: &str, text: &str) -> usize {
        let screen = self.screen();
        let shown = screen.lines().filter(|row| self.program.shows_line(row, nick, text));
        shown.count()
    }

    /// Waits until `count` rows show `nick` saying `text`, and returns the screen.
    pub fn wait_line_count(&self, nick: &str, text: &str, count: usize) -> String {
        let failure = format!("{}: not {count} lines of {nick} saying {text:?}", self.program);
        let program = self.program;
        self.terminal.wait_until(
            |screen| {
                let shown = screen.lines().filter(|row| program.shows_line(row, nick, text));
                shown.count() == count
            },
            &failure,
        )
    }

    /// Waits until a row shows `nick`'s action `text` (`/me`), and returns the screen.
    pub fn wait_action(&self, nick: &str, text: &str) -> String {
        let program = self.program;
        self.wait_row(
            |row| program.shows_action(row, nick, text),
            &format!("no action of {nick}: {text:?}"),
        )
    }

    /// Waits until a row shows `nick` doing `what` (`has joined #rust`, `has quit`), and returns
    /// the screen.
    pub fn wait_event(&self, nick: &str, what: &str) -> String {
        let program = self.program;
        self.wait_row(
            |row| program.shows_event(row, nick, what),
            &format!("{nick} never showed as {what:?}"),
        )
    }

    /// Waits until the screen shows `text`, and returns the screen.
    pub fn wait_for(&self, text: &str) -> String {
        self.terminal.wait_for(text)
    }

    /// Waits until some row satisfies `wanted`, and returns the screen.
    pub fn wait_row(&self, wanted: impl Fn(&str) -> bool, failure: &str) -> String {
        let failure = format!("{}: {failure}", self.program);
        self.terminal.wait_until(|screen| screen.lines().any(&wanted), &failure)
    }

    pub fn screen(&self) -> String {
        self.terminal.screen()
    }

    /// Types `/quit REASON` and waits for the program to exit; returns its exit code.
    pub fn quit(&self, reason: &str) -> String {
        self.type_line(&format!("/quit {reason}"));
        self.terminal.wait_exit()
    }

    /// Saves the screen as it is now to `target/tmp/irc-screens/PROGRAM-NAME.txt`, and says where.
    pub fn save_screen(&self, name: &str) -> PathBuf {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("irc-screens");
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("{}-{name}.txt", self.program));
        std::fs::write(&path, self.screen()).unwrap();
        println!("{}'s screen is in {}", self.program, path.display());
        path
    }
}

#[test]
fn rows_are_read_as_each_program_shows_them() {
    let cases = [
        (
            IrcProgram::Irssi,
            "16:28 <@alice> hello there",
            "alice",
            "hello there",
            true,
        ),
        (IrcProgram::Irssi, "16:28 < bob> hi", "bob", "hi", true),
        (IrcProgram::Irssi, "16:28 <jimbob> hi", "bob", "hi", false),
        (IrcProgram::Irssi, "16:28 <bob> hi", "bob", "hello", false),
        (
            IrcProgram::Weechat,
            "  weechat│16:28:15    bob | hi all",
            "bob",
            "hi all",
            true,
        ),
        (IrcProgram::Weechat, "│16:28:14 @alice | hello", "alice", "hello", true),
        (IrcProgram::Weechat, "│16:28:14 malice | hello", "alice", "hello", false),
    ];
    for (program, row, nick, text, shown) in cases {
        assert_eq!(program.shows_line(row, nick, text), shown, "{program}: {row:?}");
    }
    let events = [
        (
            IrcProgram::Irssi,
            "16:28 -!- bob [~bob@127.0.0.1] has joined #rust",
            "bob",
            "has joined #rust",
            true,
        ),
        (
            IrcProgram::Irssi,
            "16:28 -!- bob [~bob@127.0.0.1] has joined #rust",
            "ob",
            "has joined #rust",
            false,
        ),
        (
            IrcProgram::Irssi,
            "16:29 -!- bob [~bob@h] has quit [bye]",
            "bob",
            "has quit [bye]",
            true,
        ),
        (
            IrcProgram::Weechat,
            "│16:28:13    --> | bob (~bob@h) has joined #rust",
            "bob",
            "has joined #rust",
            true,
        ),
        (
            IrcProgram::Weechat,
            "│16:28:13    <-- | bob (~bob@h) has quit (bye)",
            "bob",
            "has quit (bye)",
            true,
        ),
        (
            IrcProgram::Weechat,
            "│16:28:13    --> | bob (~bob@h) has joined #rust",
            "bob",
            "has quit",
            false,
        ),
    ];
    for (program, row, nick, what, shown) in events {
        assert_eq!(program.shows_event(row, nick, what), shown, "{program}: {row:?}");
    }
    let actions = [
        (IrcProgram::Irssi, "16:28  * bob waves", true),
        (IrcProgram::Irssi, "16:28 < bob> bob waves", false),
        (IrcProgram::Weechat, "│16:28:13      * | bob waves", true),
        (IrcProgram::Weechat, "│16:28:13    bob | bob waves", false),
    ];
    for (program, row, shown) in actions {
        let seen = program.shows_action(row, "bob", "waves");
        assert_eq!(seen, shown, "{program}: {row:?}");
    }
}
