//! Taking the terminal over and always giving it back: on exit, on error, and on panic.

use std::io::{self, stdout};

use crossterm::event::{
    DisableBracketedPaste, DisableMouseCapture, EnableBracketedPaste, EnableMouseCapture, KeyboardEnhancementFlags,
    PopKeyboardEnhancementFlags, PushKeyboardEnhancementFlags,
};
use crossterm::execute;
use ratatui::DefaultTerminal;

/// Raw mode, the alternate screen, bracketed paste, mouse reporting and (where the terminal can)
/// distinct Shift+Enter. A panic restores the terminal before its message is printed.
pub fn enter() -> io::Result<DefaultTerminal> {
    let terminal = ratatui::try_init()?;
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        release_input();
        ratatui::restore();
        previous(info);
    }));
    execute!(stdout(), EnableBracketedPaste, EnableMouseCapture)?;
    if crossterm::terminal::supports_keyboard_enhancement().unwrap_or(false) {
        execute!(
            stdout(),
            PushKeyboardEnhancementFlags(KeyboardEnhancementFlags::DISAMBIGUATE_ESCAPE_CODES)
        )?;
    }
    Ok(terminal)
}

pub fn leave() {
    release_input();
    ratatui::restore();
}

fn release_input() {
    let _ = execute!(
        stdout(),
        PopKeyboardEnhancementFlags,
        DisableMouseCapture,
        DisableBracketedPaste
    );
}
