//! Where a body goes: stdout, or a file written under a temporary name and renamed only when complete.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::http::failure::{Failure, Kind};

/// Writes smaller than this are gathered before they reach the system; larger ones go straight
/// through, so a fast body is never copied twice.
pub const WRITE_COALESCE_BYTES: usize = 16 * 1024;

/// The suffix of a download in progress; an interrupted one stays under this name and can be resumed.
pub const PART_SUFFIX: &str = ".part";

/// Whether to keep writing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    Continue,
    /// Whoever reads stdout has gone (a closed pipe): stop quietly.
    ReaderGone,
}

pub enum Sink {
    /// Stdout, or another stream that is written in place.
    Stdout(Box<dyn Write>),
    File {
        file: io::BufWriter<File>,
        part: PathBuf,
        done: PathBuf,
    },
}

impl Sink {
    pub fn stdout() -> Sink {
        Sink::Stdout(raw_stdout())
    }

    /// A file at `path`, written as `path.part`; from `offset` on when resuming (the part file is cut
    /// to `offset`), otherwise from scratch. `-` is stdout, and what is not a regular file (a device, a
    /// FIFO) is written directly: there is nothing to rename.
    pub fn file(path: &Path, offset: u64) -> Result<Sink, Failure> {
        if path == Path::new("-") {
            return Ok(Sink::stdout());
        }
        if fs::metadata(path).is_ok_and(|m| !m.is_file()) {
            let file = OpenOptions::new()
                .write(true)
                .open(path)
                .map_err(|e| Failure::new(Kind::Write, format!("cannot write {}: {e}", path.display())))?;
            return Ok(Sink::Stdout(Box::new(io::BufWriter::with_capacity(
                WRITE_COALESCE_BYTES,
                file,
            ))));
        }
        let part = part_path(path);
        let opened = if offset > 0 {
            OpenOptions::new().write(true).open(&part).and_then(|file| {
                file.set_len(offset)?;
                Ok(file)
            })
        } else {
            File::create(&part)
        };
        let mut file =
            opened.map_err(|e| Failure::new(Kind::Write, format!("cannot write {}: {e}", part.display())))?;
        io::Seek::seek(&mut file, io::SeekFrom::End(0)).map_err(|e| Failure::new(Kind::Write, e.to_string()))?;
        let file = io::BufWriter::with_capacity(WRITE_COALESCE_BYTES, file);
        Ok(Sink::File {
            file,
            part,
            done: path.to_owned(),
        })
    }

    pub fn write(&mut self, bytes: &[u8]) -> Result<Flow, Failure> {
        let result = match self {
            Sink::Stdout(out) => out.write_all(bytes),
            Sink::File { file, .. } => file.write_all(bytes),
        };
        match result {
            Ok(()) => Ok(Flow::Continue),
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(Flow::ReaderGone),
            Err(e) => Err(Failure::new(Kind::Write, format!("failed writing the output: {e}"))),
        }
    }

    /// Flushes, and for a file moves it to its real name.
    pub fn finish(self) -> Result<Flow, Failure> {
        match self {
            Sink::Stdout(mut out) => match out.flush() {
                Ok(()) => Ok(Flow::Continue),
                Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(Flow::ReaderGone),
                Err(e) => Err(Failure::new(Kind::Write, format!("failed writing the output: {e}"))),
            },
            Sink::File { file, part, done } => {
                let write_error =
                    |e: io::Error| Failure::new(Kind::Write, format!("cannot write {}: {e}", done.display()));
                let file = file.into_inner().map_err(|e| write_error(e.into_error()))?;
                file.sync_all().map_err(write_error)?;
                fs::rename(&part, &done).map_err(write_error)?;
                Ok(Flow::Continue)
            }
        }
    }
}

pub fn part_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(PART_SUFFIX);
    PathBuf::from(name)
}

/// The file name `-O` takes from a URL: its last path segment, as written.
pub fn remote_name(url: &url::Url) -> Result<PathBuf, Failure> {
    let name = url.path_segments().and_then(|mut s| s.next_back()).unwrap_or("");
    if name.is_empty() || name == "." || name == ".." {
        return Err(Failure::new(
            Kind::Write,
            format!("the URL {url} has no file name to save as; use -o FILE"),
        ));
    }
    Ok(PathBuf::from(name))
}

/// Stdout without Rust's line buffering, so large bodies go out in large writes.
#[cfg(unix)]
fn raw_stdout() -> Box<dyn Write> {
    use std::os::fd::AsFd;
    match io::stdout().as_fd().try_clone_to_owned() {
        Ok(fd) => Box::new(io::BufWriter::with_capacity(WRITE_COALESCE_BYTES, File::from(fd))),
        Err(_) => Box::new(io::stdout()),
    }
}

#[cfg(not(unix))]
fn raw_stdout() -> Box<dyn Write> {
    Box::new(io::stdout())
}

/// A progress bar on stderr: bytes, rate and ETA when the length is known, a spinner when not.
/// Hidden when stderr is not a terminal.
pub fn progress(length: Option<u64>) -> ProgressBar {
    match length {
        Some(length) => ProgressBar::with_draw_target(Some(length), ProgressDrawTarget::stderr()).with_style(
            ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {binary_bytes_per_sec} ETA {eta}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        ),
        None => ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr()).with_style(
            ProgressStyle::with_template("{spinner} {bytes} {binary_bytes_per_sec}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        ),
    }
}
