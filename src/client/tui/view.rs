//! Drawing the client: a window bar, the active window's messages (and members, when wide enough), a
//! status line and the input line. Reads the `App`, never changes it.

use chrono::{Local, TimeZone};
use ratatui::buffer::Buffer;
use ratatui::layout::{Position, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;
use unicode_segmentation::UnicodeSegmentation;
use unicode_width::UnicodeWidthStr;

use super::app::{App, LinkState};
use super::window::{Delivery, Entry, Window};

/// The member list is shown when the terminal is at least this wide.
pub const MEMBERS_FROM_WIDTH: u16 = 100;
/// The member list's width.
pub const MEMBERS_WIDTH: u16 = 18;

/// Colours nicks are drawn in, chosen by a stable hash of the nick.
const NICK_COLOURS: [Color; 10] = [
    Color::Red,
    Color::Green,
    Color::Yellow,
    Color::Blue,
    Color::Magenta,
    Color::Cyan,
    Color::LightRed,
    Color::LightGreen,
    Color::LightBlue,
    Color::LightMagenta,
];

impl Widget for &App {
    fn render(self, area: Rect, buf: &mut Buffer) {
        if area.height < 4 || area.width < 10 {
            return;
        }
        let bar = Rect { height: 1, ..area };
        let status = Rect {
            y: area.bottom() - 2,
            height: 1,
            ..area
        };
        let input = Rect {
            y: area.bottom() - 1,
            height: 1,
            ..area
        };
        let mut body = Rect {
            y: area.y + 1,
            height: area.height - 3,
            ..area
        };
        window_bar(self, bar, buf);
        if show_members(self, area.width) {
            body.width -= MEMBERS_WIDTH;
            let list = Rect {
                x: body.right(),
                width: MEMBERS_WIDTH,
                ..body
            };
            members(self.active(), list, buf);
        }
        messages(self.active(), body, buf);
        status_line(self, status, buf);
        input_line(self, input, buf);
    }
}

fn show_members(app: &App, width: u16) -> bool {
    width >= MEMBERS_FROM_WIDTH && app.active().room().is_some()
}

/// The width messages are wrapped to at the current terminal size.
pub fn message_width(app: &App) -> usize {
    let width = app.size.0;
    usize::from(if show_members(app, width) {
        width - MEMBERS_WIDTH
    } else {
        width
    })
    .max(1)
}

/// How many rows a window's entries take at `width`.
pub fn total_rows(window: &Window, width: usize) -> usize {
    window.entries.iter().map(|e| entry_rows(e, width).len()).sum()
}

fn window_bar(app: &App, area: Rect, buf: &mut Buffer) {
    let mut spans = Vec::new();
    for (index, window) in app.windows.iter().enumerate() {
        let mut style = Style::default();
        let mut label = format!(" {index}:{}", window.name());
        if window.unread > 0 && index != app.active {
            label.push_str(&format!("({})", window.unread));
            style = style.add_modifier(Modifier::BOLD);
        }
        if window.mentioned {
            style = style.fg(Color::Magenta).add_modifier(Modifier::BOLD);
        }
        if index == app.active {
            style = style.add_modifier(Modifier::REVERSED);
        }
        label.push(' ');
        spans.push(Span::styled(label, style));
    }
    buf.set_style(area, Style::default().bg(Color::DarkGray));
    buf.set_line(area.x, area.y, &Line::from(spans), area.width);
}

fn messages(window: &Window, area: Rect, buf: &mut Buffer) {
    let height = usize::from(area.height);
    let width = usize::from(area.width);
    let mut rows: Vec<Line> = Vec::new();
    let wanted = height + window.scroll;
    for entry in window.entries.iter().rev() {
        let mut wrapped = entry_rows(entry, width);
        wrapped.reverse();
        rows.extend(wrapped);
        if rows.len() >= wanted {
            break;
        }
    }
    let start = window.scroll.min(rows.len());
    let visible: Vec<&Line> = rows[start..].iter().take(height).collect();
    let top = area.bottom() - visible.len() as u16;
    for (offset, line) in visible.iter().rev().enumerate() {
        buf.set_line(area.x, top + offset as u16, line, area.width);
    }
}

fn members(window: &Window, area: Rect, buf: &mut Buffer) {
    let title = format!(" {} members", window.members.len());
    buf.set_string(
        area.x,
        area.y,
        format!("{title:<w$}", w = usize::from(area.width)),
        Style::default().add_modifier(Modifier::REVERSED),
    );
    for (row, nick) in window
        .members
        .iter()
        .take(usize::from(area.height.saturating_sub(1)))
        .enumerate()
    {
        let line = Line::from(Span::styled(format!(" {nick}"), nick_style(nick.as_str())));
        buf.set_line(area.x, area.y + 1 + row as u16, &line, area.width);
    }
}

fn status_line(app: &App, area: Rect, buf: &mut Buffer) {
    let window = app.active();
    let state = match &app.link {
        LinkState::Connecting => "connecting…".to_owned(),
        LinkState::Connected { .. } => "connected".to_owned(),
        LinkState::Disconnected { retry_in, .. } => format!("disconnected, retrying in {}s", retry_in.as_secs()),
    };
    let mut left = format!(" [{}] [{}] {state}", app.me, window.name());
    if let Some(topic) = &window.topic {
        left.push_str(&format!(" — {topic}"));
    }
    buf.set_style(area, Style::default().bg(Color::Blue).fg(Color::White));
    buf.set_stringn(
        area.x,
        area.y,
        &left,
        usize::from(area.width),
        Style::default().bg(Color::Blue).fg(Color::White),
    );
    if window.scroll > 0 {
        let more = if window.unseen_below > 0 {
            format!(" ▼ {} new below ", window.unseen_below)
        } else {
            " ▼ more below ".to_owned()
        };
        let width = more.width() as u16;
        if width < area.width {
            buf.set_string(
                area.right() - width,
                area.y,
                more,
                Style::default().bg(Color::Yellow).fg(Color::Black),
            );
        }
    }
}

/// The prompt and the visible part of the input; `↵` stands for a newline in the text.
fn input_view(app: &App, width: usize) -> (String, usize) {
    if let Some(text) = &app.confirm {
        let lines = text.lines().count();
        return (format!("send {lines} lines as one message? [y/n] "), 0);
    }
    let text: Vec<String> = app
        .editor
        .text()
        .chars()
        .map(|c| if c == '\n' { "↵".to_owned() } else { c.to_string() })
        .collect();
    let cursor = app.editor.cursor();
    let before: usize = text[..cursor].iter().map(|s| s.width()).sum();
    let room = width.saturating_sub(3).max(1);
    let skip_width = before.saturating_sub(room);
    let mut skipped = 0;
    let mut shown = String::new();
    for piece in &text {
        if skipped < skip_width {
            skipped += piece.width();
            continue;
        }
        shown.push_str(piece);
    }
    (format!("> {shown}"), 2 + before - skipped.min(before))
}

fn input_line(app: &App, area: Rect, buf: &mut Buffer) {
    let (text, _) = input_view(app, usize::from(area.width));
    let style = if app.confirm.is_some() {
        Style::default().fg(Color::Yellow)
    } else {
        Style::default()
    };
    buf.set_stringn(area.x, area.y, text, usize::from(area.width), style);
}

/// Where the terminal cursor goes, in the input line.
pub fn cursor_position(app: &App, area: Rect) -> Position {
    let (_, column) = input_view(app, usize::from(area.width));
    Position {
        x: area.x + (column as u16).min(area.width.saturating_sub(1)),
        y: area.bottom().saturating_sub(1),
    }
}

pub(crate) fn clock(ts: u64) -> String {
    match Local.timestamp_millis_opt(i64::try_from(ts).unwrap_or(0)).single() {
        Some(time) if ts > 0 => time.format("%H:%M ").to_string(),
        _ => "      ".to_owned(),
    }
}

/// An entry as the rows it takes at `width`.
fn entry_rows(entry: &Entry, width: usize) -> Vec<Line<'static>> {
    let line = entry_line(entry);
    // Every entry begins with its time and a mark or nick; the text after them is what wraps.
    let indent = line.spans.iter().take(PREFIX_SPANS).map(|s| s.content.width()).sum();
    wrap(line, width, indent)
}

/// The spans of an entry before its text: the time, and the nick or mark.
const PREFIX_SPANS: usize = 2;

fn entry_line(entry: &Entry) -> Line<'_> {
    let dim = Style::default().fg(Color::DarkGray);
    match entry {
        Entry::Message {
            id: _,
            ts,
            from,
            text,
            action,
            mention,
            mine,
        } => {
            let mut spans = vec![Span::styled(clock(*ts), dim)];
            let nick = nick_style(from);
            if *action {
                spans.push(Span::styled(format!("* {from} "), nick));
            } else {
                spans.push(Span::styled(format!("<{from}> "), nick));
            }
            let mut body = Style::default();
            if *mention {
                body = body.fg(Color::Yellow).add_modifier(Modifier::BOLD);
            }
            if let Some((_, state)) = mine {
                let (note, style) = match state {
                    Delivery::Queued => (" (queued)", dim),
                    Delivery::Sent => (" (sending)", dim),
                    Delivery::Delivered => ("", body),
                    Delivery::Failed => (" (not delivered)", Style::default().fg(Color::Red)),
                };
                spans.push(Span::styled(
                    text.as_str(),
                    if *state == Delivery::Delivered { body } else { dim },
                ));
                spans.push(Span::styled(note, style));
            } else {
                spans.push(Span::styled(text.as_str(), body));
            }
            Line::from(spans)
        }
        Entry::Notice { ts, text, error } => {
            let style = if *error { Style::default().fg(Color::Red) } else { dim };
            let mark = if *error { "!! " } else { "-- " };
            Line::from(vec![
                Span::styled(clock(*ts), dim),
                Span::styled(mark, style),
                Span::styled(text.as_str(), style),
            ])
        }
        Entry::Presence { ts, joined, left } => {
            let mut parts = Vec::new();
            if !joined.is_empty() {
                parts.push(format!("joined: {}", joined.join(", ")));
            }
            if !left.is_empty() {
                parts.push(format!("left: {}", left.join(", ")));
            }
            Line::from(vec![
                Span::styled(clock(*ts), dim),
                Span::styled("-- ", dim),
                Span::styled(parts.join("; "), dim),
            ])
        }
    }
}

pub fn nick_style(nick: &str) -> Style {
    let hash = nick
        .to_lowercase()
        .bytes()
        .fold(5381u32, |h, b| h.wrapping_mul(33) ^ u32::from(b));
    Style::default().fg(NICK_COLOURS[hash as usize % NICK_COLOURS.len()])
}

/// Splits a styled line into rows of at most `width` columns, at spaces, with the rows after the first
/// indented by `indent` columns (under the text, after the time and nick). A word longer than a row is
/// broken, never inside a grapheme; wide characters take two columns.
pub fn wrap(line: Line<'_>, width: usize, prefix: usize) -> Vec<Line<'static>> {
    // A hanging indent that leaves less than half the row for text would make a narrow column.
    let indent = if prefix * 2 > width { 0 } else { prefix };
    let cells: Vec<Cell> = line
        .spans
        .iter()
        .flat_map(|span| {
            span.content.graphemes(true).map(|g| Cell {
                text: g,
                style: span.style,
                width: g.width(),
            })
        })
        .collect();
    let mut rows = Rows::new(width, indent);
    let mut start = cells
        .iter()
        .scan(0, |used, cell| {
            *used += cell.width;
            Some(*used)
        })
        .take_while(|&used| used <= prefix)
        .count();
    rows.token(&cells[..start], false);
    while start < cells.len() {
        let blank = cells[start].text == " ";
        let end = cells[start..]
            .iter()
            .position(|c| (c.text == " ") != blank)
            .map_or(cells.len(), |n| start + n);
        rows.token(&cells[start..end], blank);
        start = end;
    }
    rows.done()
}

/// One grapheme of a line and how it is drawn.
struct Cell<'a> {
    text: &'a str,
    style: Style,
    width: usize,
}

/// The rows being filled by `wrap`.
struct Rows {
    width: usize,
    indent: usize,
    rows: Vec<Vec<Span<'static>>>,
    used: usize,
}

impl Rows {
    fn new(width: usize, indent: usize) -> Rows {
        Rows {
            width,
            indent,
            rows: vec![Vec::new()],
            used: 0,
        }
    }

    /// A word or a run of spaces: on this row if it fits, else on the next; spaces at a break vanish.
    fn token(&mut self, cells: &[Cell], blank: bool) {
        let width: usize = cells.iter().map(|c| c.width).sum();
        if self.used + width <= self.width {
            return cells.iter().for_each(|c| self.push(c));
        }
        if blank {
            return self.break_row();
        }
        if width <= self.width - self.indent && self.used > self.indent {
            self.break_row();
        }
        for cell in cells {
            if self.used + cell.width > self.width && self.used > self.indent {
                self.break_row();
            }
            self.push(cell);
        }
    }

    fn break_row(&mut self) {
        self.rows.push(vec![Span::raw(" ".repeat(self.indent))]);
        self.used = self.indent;
    }

    fn push(&mut self, cell: &Cell) {
        let row = self.rows.last_mut().expect("never empty");
        match row.last_mut() {
            Some(span) if span.style == cell.style => span.content.to_mut().push_str(cell.text),
            _ => row.push(Span::styled(cell.text.to_owned(), cell.style)),
        }
        self.used += cell.width;
    }

    fn done(self) -> Vec<Line<'static>> {
        self.rows.into_iter().map(Line::from).collect()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use crossterm::event::{KeyCode, KeyModifiers};
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;

    use super::*;
    use crate::client::tui::app::Msg;
    use crate::client::tui::app::tests::{NOW, connected, key, nick, room, said, typed, with};
    use crate::protocol::Event;

    /// The screen as text, one string per row, wide characters once.
    pub(crate) fn screen(app: &App, width: u16, height: u16) -> Vec<String> {
        let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
        terminal.draw(|frame| frame.render_widget(app, frame.area())).unwrap();
        let buffer = terminal.backend().buffer();
        (0..height)
            .map(|y| {
                let mut row = String::new();
                let mut x = 0;
                while x < width {
                    let symbol = buffer[(x, y)].symbol();
                    row.push_str(symbol);
                    x += (symbol.width() as u16).max(1);
                }
                row.trim_end().to_owned()
            })
            .collect()
    }

    fn sized(mut app: App, width: u16, height: u16) -> App {
        app.update(Msg::Resize(width, height), NOW);
        app
    }

    #[test]
    fn a_conversation() {
        let mut app = sized(connected(), 60, 8);
        app.update(
            Msg::Server(Event::Members {
                room: room("lobby"),
                nicks: vec![nick("ann"), nick("bob")],
                more: false,
                id: None,
            }),
            NOW,
        );
        app.update(said("bob", "lobby", "hi ann, 日本語 too"), NOW);
        typed(&mut app, "hello bob");
        app.update(key(KeyCode::Char('x')), NOW);
        let t = clock(NOW);
        assert_eq!(
            screen(&app, 60, 8),
            [
                " 0:mentions(1)  1:lobby".to_owned(),
                String::new(),
                format!("{t}-- type /help for commands and keys, Ctrl-C to quit"),
                format!("{t}-- you are in lobby"),
                format!("{t}<bob> hi ann, 日本語 too"),
                format!("{t}<ann> hello bob (sending)"),
                " [ann] [lobby] connected".to_owned(),
                "> x".to_owned(),
            ]
        );
    }

    #[test]
    fn long_lines_wrap_without_splitting_wide_characters() {
        let mut app = sized(connected(), 20, 7);
        app.update(said("bo", "lobby", "ab日本語日本語日本語日本語"), NOW);
        let t = clock(NOW);
        let rows = screen(&app, 20, 7);
        assert_eq!(rows[3], format!("{t}<bo> ab日本語"));
        assert_eq!(rows[4], "日本語日本語日本語");
        assert!(rows.iter().all(|r| r.width() <= 20));
    }

    #[test]
    fn lines_wrap_at_spaces_under_the_text() {
        let t = clock(NOW);
        let pad = " ".repeat(t.width() + "<bob> ".len());
        let cases: [(&str, u16, Vec<String>); 4] = [
            (
                "the quick brown fox jumps over the lazy dog",
                30,
                vec![
                    format!("{t}<bob> the quick brown"),
                    format!("{pad}fox jumps over the"),
                    format!("{pad}lazy dog"),
                ],
            ),
            (
                "a supercalifragilisticexpialidocious word",
                30,
                vec![
                    format!("{t}<bob> a supercalifragili"),
                    format!("{pad}sticexpialidocious"),
                    format!("{pad}word"),
                ],
            ),
            ("fits", 30, vec![format!("{t}<bob> fits")]),
            (
                "narrow screens lose the indent",
                20,
                vec![
                    format!("{t}<bob> narrow"),
                    "screens lose the".to_owned(),
                    "indent".to_owned(),
                ],
            ),
        ];
        for (text, width, want) in cases {
            let mut app = App::new(nick("ann"));
            app.update(Msg::Resize(width, 10), NOW);
            app.update(Msg::Connected(crate::client::tui::app::tests::welcome("ann")), NOW);
            app.update(crate::client::tui::app::tests::joined("lobby", "ann"), NOW);
            app.update(said("bob", "lobby", text), NOW);
            let rows = screen(&app, width, 10);
            let shown: Vec<String> = rows
                .iter()
                .skip_while(|r| !r.contains("<bob>"))
                .take(want.len())
                .cloned()
                .collect();
            assert_eq!(shown, want, "{text:?} at {width} columns");
        }
    }

    #[test]
    fn scrolled_up_shows_what_waits_below() {
        let mut app = sized(connected(), 40, 6);
        for i in 0..10 {
            app.update(said("bob", "lobby", &format!("line {i}")), NOW);
        }
        app.update(key(KeyCode::PageUp), NOW);
        app.update(said("bob", "lobby", "newest"), NOW);
        let t = clock(NOW);
        let rows = screen(&app, 40, 6);
        assert_eq!(
            rows[1..4],
            [
                format!("{t}<bob> line 4"),
                format!("{t}<bob> line 5"),
                format!("{t}<bob> line 6")
            ]
        );
        assert!(rows[4].ends_with("▼ 1 new below"), "{rows:?}");
        app.update(key(KeyCode::PageDown), NOW);
        app.update(key(KeyCode::PageDown), NOW);
        let rows = screen(&app, 40, 6);
        assert_eq!(rows[3], format!("{t}<bob> newest"));
        assert!(!rows[4].contains('▼'));
    }

    #[test]
    fn members_show_on_wide_terminals_and_state_in_the_status_line() {
        let mut app = sized(connected(), 100, 6);
        app.update(
            Msg::Server(Event::Members {
                room: room("lobby"),
                nicks: vec![nick("ann"), nick("bob")],
                more: false,
                id: None,
            }),
            NOW,
        );
        let rows = screen(&app, 100, 6);
        assert!(rows[1].ends_with(" 2 members"), "{rows:?}");
        assert!(rows[2].ends_with(" ann") && rows[3].ends_with(" bob"), "{rows:?}");
        app.update(
            Msg::Disconnected {
                reason: "reset".into(),
                retry_in: std::time::Duration::from_secs(4),
            },
            NOW,
        );
        assert_eq!(screen(&app, 100, 6)[4], " [ann] [lobby] disconnected, retrying in 4s");
    }

    #[test]
    fn a_long_paste_asks_before_it_goes() {
        let mut app = sized(connected(), 50, 5);
        app.update(Msg::Paste("1\n2\n3\n4\n5\n6\n7".into()), NOW);
        assert_eq!(screen(&app, 50, 5)[4], "> 1↵2↵3↵4↵5↵6↵7");
        app.update(key(KeyCode::Enter), NOW);
        assert_eq!(screen(&app, 50, 5)[4], "send 7 lines as one message? [y/n]");
        app.update(with(KeyCode::Char('n'), KeyModifiers::NONE), NOW);
        assert_eq!(screen(&app, 50, 5)[4], "> 1↵2↵3↵4↵5↵6↵7");
    }

    #[test]
    fn hostile_text_is_drawn_as_placeholders() {
        let mut app = sized(connected(), 60, 5);
        app.update(
            said("eve", "lobby", "\u{1b}[2J\u{1b}]0;owned\u{7} \u{202e}gnp.exe"),
            NOW,
        );
        let t = clock(NOW);
        assert_eq!(
            screen(&app, 60, 5)[2],
            format!("{t}<eve> ␛[2J␛]0;owned␇ \u{fffd}gnp.exe")
        );
    }

    #[test]
    fn tiny_terminals_do_not_panic() {
        let app = connected();
        for (w, h) in [(1, 1), (5, 3), (9, 4), (10, 4), (80, 24)] {
            screen(&app, w, h);
        }
    }
}
