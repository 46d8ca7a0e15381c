//! What the CLI asks of the terminal itself: its width, and a line typed
//! without echo. Only where the OS has terminals of that kind (unix);
//! elsewhere there is no width and no hidden prompt, and callers fall back.

/// Columns of the terminal stdout is, when it is one and says.
#[cfg(unix)]
pub fn width() -> Option<usize> {
    let size = rustix::termios::tcgetwinsize(std::io::stdout()).ok()?;
    (size.ws_col > 0).then_some(usize::from(size.ws_col))
}

#[cfg(not(unix))]
pub fn width() -> Option<usize> {
    None
}

/// Whether [`ask_unseen`] can ask here.
pub fn can_ask() -> bool {
    use std::io::IsTerminal;
    cfg!(unix) && std::io::stdin().is_terminal()
}

/// Shows `prompt` on stderr and reads a line from the terminal on stdin with
/// echo off, so what is typed is not on the screen (nor in a recording or
/// the scrollback). Echo goes off before the prompt shows, and comes back
/// however it ends: Enter, Ctrl-D, or Ctrl-C and the like, which end the
/// process with the shell's code for them (130 for Ctrl-C).
#[cfg(unix)]
pub async fn ask_unseen(prompt: &str) -> std::io::Result<String> {
    use std::io::{BufRead, Write};

    use rustix::termios::{tcgetattr, tcsetattr, LocalModes, OptionalActions};
    use tokio::signal::unix::{signal, SignalKind};

    // Listening before echo goes off: a Ctrl-C right after the prompt must
    // not find the default action, which would leave the echo off.
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    let mut hangup = signal(SignalKind::hangup())?;
    let stdin = std::io::stdin();
    let before = tcgetattr(&stdin)?;
    let mut quiet = before.clone();
    quiet.local_modes.remove(LocalModes::ECHO);
    // The Enter still moves to the next line.
    quiet.local_modes.insert(LocalModes::ECHONL);
    tcsetattr(&stdin, OptionalActions::Now, &quiet)?;
    let restore = || {
        let _ = tcsetattr(std::io::stdin(), OptionalActions::Now, &before);
    };
    eprint!("{prompt}");
    let _ = std::io::stderr().flush();
    let read = tokio::task::spawn_blocking(|| {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line).map(|_| line)
    });
    let code = tokio::select! {
        read = read => {
            restore();
            // Listening took the signals' default away for good; give their
            // effect back for the rest of the run (the login's request).
            tokio::spawn(async move {
                let code = tokio::select! {
                    _ = interrupt.recv() => 130,
                    _ = terminate.recv() => 143,
                    _ = hangup.recv() => 129,
                };
                std::process::exit(code);
            });
            return read.map_err(std::io::Error::other)?;
        }
        _ = interrupt.recv() => 130,
        _ = terminate.recv() => 143,
        _ = hangup.recv() => 129,
    };
    restore();
    eprintln!();
    // The blocked read cannot be called off; the process goes instead.
    std::process::exit(code);
}

#[cfg(not(unix))]
pub async fn ask_unseen(_prompt: &str) -> std::io::Result<String> {
    Err(std::io::Error::other("no hidden prompt on this system"))
}
