//! `maillogsentinel parse`: the events of the given logs on stdout, a summary on stderr; with
//! `--explain`, what became of each line instead.

use std::io::{self, BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::mpsc::Receiver;
use std::time::SystemTime;

use anyhow::Context;
use clap::{Args, ValueEnum};
use jiff::tz::TimeZone;

use crate::correlate::Windows;
use crate::envelope::timestamp::{Clock, YearRule};
use crate::pipeline::explain::Explainer;
use crate::pipeline::scan::{self, Scanned};
use crate::pipeline::{Pipeline, Stats};
use crate::sink::{CsvSink, EventSink, JsonlSink, TableSink, ThreadedSink, printable};
use crate::source::{self, Input};

#[derive(Args, Debug)]
#[command(
    after_help = "Exit status: 0 when every input was read whole, 1 when one could not be \
opened or read (a truncated .gz, say): the events read before the error are still printed."
)]
pub struct ParseArgs {
    /// Log files (plain or gzip, detected by content); `-` or nothing reads stdin.
    /// Several files are one stream, oldest first.
    pub files: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Jsonl)]
    pub format: Format,
    /// Year of the first classic (yearless) timestamp; later ones roll over at New Year.
    /// Default: inferred from each file's mtime (now for stdin).
    #[arg(long)]
    pub year: Option<i32>,
    /// Time zone of timestamps without an offset (IANA name). Default: the system's.
    #[arg(long)]
    pub timezone: Option<String>,
    /// Print the auth-related lines no rule recognised (on stderr).
    #[arg(long)]
    pub show_unmatched: bool,
    /// Explain each line instead of printing events: its envelope, the rule that took it (or
    /// the nearest one), its fields, and how it was counted (at once, waiting, paired)
    #[arg(long, conflicts_with = "format")]
    pub explain: bool,
    /// No summary on stderr.
    #[arg(long, short)]
    pub quiet: bool,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Jsonl,
    Csv,
    Table,
}

fn unix_of(t: SystemTime) -> i64 {
    match t.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(d) => d.as_secs() as i64,
        Err(e) => -(e.duration().as_secs() as i64),
    }
}

/// The year rule of a file's lines without a year: none to set with `--year` (one rule for
/// all), else none after the file's last change (`now` for a stream).
fn file_year_rule(args: &ParseArgs, modified: Option<SystemTime>, now: i64) -> Option<YearRule> {
    args.year
        .is_none()
        .then(|| YearRule::NotAfter(modified.map_or(now, unix_of)))
}

pub fn run(args: ParseArgs) -> anyhow::Result<ExitCode> {
    let tz = match &args.timezone {
        Some(name) => TimeZone::get(name).with_context(|| format!("--timezone {name}"))?,
        None => Clock::system_zone(),
    };
    let now = unix_of(SystemTime::now());
    let first_rule = args
        .year
        .map_or(YearRule::NotAfter(now), YearRule::StartingIn);
    let inputs: Vec<Input> = if args.files.is_empty() {
        vec![Input::Stdin]
    } else {
        args.files.iter().map(|f| Input::from_arg(f)).collect()
    };
    if args.explain {
        return explain(&args, &inputs, Clock::new(tz, first_rule), now);
    }
    let mut pipeline = Pipeline::new(Clock::new(tz, first_rule), Windows::default());
    let mut output = Output::to_stdout(args.format);
    let stderr = io::stderr();
    let show = args.show_unmatched;
    let mut unmatched = |line: &[u8]| {
        if show {
            let _ = writeln!(stderr.lock(), "unmatched: {}", printable(line));
        }
    };

    let mut input_errors = 0u32;
    // Scanning runs one input ahead, so the next file (often a .gz) is decompressed while
    // this one is parsed.
    let mut scanners = inputs.iter().map(|input| {
        (
            input,
            source::open(input).map(|o| {
                let modified = o.modified;
                let gzip = o.gzip;
                (scan::spawn(o.reader, false), modified, gzip)
            }),
        )
    });
    let mut next = scanners.next();
    while let Some((input, opened)) = next {
        next = scanners.next();
        let (batches, modified, gzip) = match opened {
            Ok(o) => o,
            Err(e) => {
                eprintln!("maillogsentinel: {e}");
                input_errors += 1;
                continue;
            }
        };
        if let Some(rule) = file_year_rule(&args, modified, now) {
            pipeline.set_year_rule(rule);
        }
        if feed(
            &mut pipeline,
            &batches,
            &mut output,
            &mut unmatched,
            |position, e| {
                eprintln!(
                    "maillogsentinel: {}: read error after {position} bytes{}: {e}; keeping the lines before it",
                    input.name(),
                    if gzip { " (decompressed)" } else { "" },
                );
            },
        ) {
            input_errors += 1;
        }
        if output.stopped {
            break;
        }
    }
    pipeline.finish(&mut |e| output.emit(e));
    match output.sink.finish() {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => return Ok(ExitCode::SUCCESS),
        other => other.context("writing events")?,
    }
    if !args.quiet {
        print_summary(pipeline.stats(), show);
    }
    Ok(if input_errors > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// `--explain`: every line of the inputs, one stream, explained on stdout.
fn explain(args: &ParseArgs, inputs: &[Input], clock: Clock, now: i64) -> anyhow::Result<ExitCode> {
    use std::io::BufRead;
    let mut x = Explainer::new(clock, Windows::default());
    let mut out = io::BufWriter::new(io::stdout().lock());
    let mut input_errors = 0u32;
    for input in inputs {
        let opened = match source::open(input) {
            Ok(o) => o,
            Err(e) => {
                eprintln!("maillogsentinel: {e}");
                input_errors += 1;
                continue;
            }
        };
        if let Some(rule) = file_year_rule(args, opened.modified, now) {
            x.pipeline().set_year_rule(rule);
        }
        let mut reader = io::BufReader::new(opened.reader);
        let mut line = Vec::new();
        loop {
            line.clear();
            match reader.read_until(b'\n', &mut line) {
                Ok(0) => break,
                Ok(_) => {
                    let text = line.strip_suffix(b"\n").unwrap_or(&line);
                    write_or_stop(&mut out, x.line(text).as_bytes())?;
                }
                Err(e) => {
                    eprintln!(
                        "maillogsentinel: {}: read error: {e}; keeping the lines before it",
                        input.name()
                    );
                    input_errors += 1;
                    break;
                }
            }
        }
    }
    write_or_stop(&mut out, x.finish().as_bytes())?;
    out.flush().or_else(|e| {
        if e.kind() == io::ErrorKind::BrokenPipe {
            Ok(())
        } else {
            Err(e)
        }
    })?;
    if !args.quiet {
        print_summary(x.stats(), false);
    }
    Ok(ExitCode::from(u8::from(input_errors > 0)))
}

/// Writes to stdout; a closed pipe (`| head`) ends quietly.
fn write_or_stop(out: &mut impl Write, bytes: &[u8]) -> anyhow::Result<()> {
    match out.write_all(bytes) {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => std::process::exit(0),
        other => Ok(other?),
    }
}

impl Output {
    /// Events written to stdout in `format`, from a thread of their own.
    fn to_stdout(format: Format) -> Output {
        let out = BufWriter::with_capacity(256 * 1024, io::stdout());
        let sink: Box<dyn EventSink + Send> = match format {
            Format::Jsonl => Box::new(JsonlSink::new(out)),
            Format::Csv => Box::new(CsvSink::new(out)),
            Format::Table => Box::new(TableSink::new(out)),
        };
        Output {
            sink: ThreadedSink::spawn(sink),
            stopped: false,
        }
    }
}

/// One input's batches through the pipeline, until its end or until the output stopped;
/// whether it ended with a read error (given to `read_error` with the position).
fn feed(
    pipeline: &mut Pipeline,
    batches: &Receiver<Scanned>,
    output: &mut Output,
    unmatched: &mut impl FnMut(&[u8]),
    read_error: impl Fn(u64, &io::Error),
) -> bool {
    let mut failed = false;
    for scanned in batches {
        match scanned {
            Scanned::Batch(batch) => {
                pipeline.feed_batch(&batch, &mut |e| output.emit(e), unmatched)
            }
            Scanned::End {
                position,
                oversized: n,
                error,
            } => {
                pipeline.count_oversized(n);
                if let Some(e) = error {
                    read_error(position, &e);
                    failed = true;
                }
            }
        }
        if output.stopped {
            break;
        }
    }
    failed
}

/// The sink on its thread; once it stopped (a write error, which `finish` reports), events
/// are dropped and the reader stops at the next chunk.
struct Output {
    sink: ThreadedSink,
    stopped: bool,
}

impl Output {
    fn emit(&mut self, e: crate::event::AuthEvent) {
        if !self.stopped && !self.sink.push(e) {
            self.stopped = true;
        }
    }
}

fn print_summary(s: &Stats, shown: bool) {
    let mut e = io::stderr().lock();
    let _ = writeln!(
        e,
        "lines read: {} (auth-related: {}, skipped as too long: {})",
        s.lines, s.candidates, s.skipped_long
    );
    for (i, service) in ["postfix", "dovecot"].iter().enumerate() {
        let _ = writeln!(
            e,
            "{service:<8} failures: {} events, {} attempts; successes: {} events, {} attempts",
            s.events[i][0], s.attempts[i][0], s.events[i][1], s.attempts[i][1]
        );
    }
    let _ = writeln!(
        e,
        "total    failed attempts: {}, successful logins: {}",
        s.failure_attempts(),
        s.success_attempts()
    );
    let _ = writeln!(
        e,
        "not counted: {} tempfails (Connection lost to authentication server), {} aborted SASL exchanges",
        s.ambiguous, s.aborted
    );
    let _ = writeln!(
        e,
        "suspicious unmatched lines: {}{}",
        s.unmatched,
        if s.unmatched > 0 && !shown {
            " (see them with --show-unmatched)"
        } else {
            ""
        }
    );
}
