//! `maillogsentinel anonymize [FILE|-]... --key-file K [--output FILE]`: logs rewritten for
//! sharing, line for line, in input order. One worker per core reads a chunk of whole lines
//! (in turn), rewrites it, and writes it when the chunks before are written: each chunk stays
//! in its worker's cache. A chunk done before its turn is put aside (a few at most) and the
//! worker goes on: a worker that the system holds back does not stop the others. Stateless: no
//! config, no store, no network.
//!
//! Not here: what is replaced and how (`anonymize`).

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};

use clap::Args;

use crate::anonymize::{Anonymizer, Key};
use crate::source::{self, Input, LineChunks};

#[derive(Args, Debug)]
pub struct AnonymizeArgs {
    /// Log files (plain or gzip, detected by content), written out in this order; `-` or
    /// nothing reads stdin
    pub files: Vec<PathBuf>,
    /// The secret: a file of at least 16 random bytes (head -c 32 /dev/urandom > FILE). The
    /// same key gives the same replacements in every file and every run; keep it to anonymise
    /// later logs consistently, never share it
    #[arg(long, value_name = "FILE", required = true)]
    pub key_file: PathBuf,
    /// Write to FILE instead of standard output
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// Bytes of whole lines a worker rewrites at a time.
const CHUNK: usize = 1 << 20;
/// Rewritten chunks put aside a worker, waiting for the chunks before them.
const ASIDE_PER_WORKER: usize = 2;

pub fn run(args: &AnonymizeArgs) -> anyhow::Result<ExitCode> {
    let secret = match std::fs::read(&args.key_file) {
        Ok(s) => s,
        Err(e) => {
            eprintln!(
                "maillogsentinel: the key file {}: {e}",
                args.key_file.display()
            );
            return Ok(ExitCode::from(super::exit::NO_INPUT));
        }
    };
    let key = match Key::from_secret(&secret) {
        Ok(k) => k,
        Err(e) => {
            eprintln!("maillogsentinel: {}: {e}", args.key_file.display());
            return Ok(ExitCode::from(super::exit::USAGE));
        }
    };
    // Creating the output truncates it: it must not be one of the inputs.
    if let Some(path) = &args.output
        && let Ok(target) = std::fs::canonicalize(path)
        && args
            .files
            .iter()
            .any(|f| std::fs::canonicalize(f).is_ok_and(|f| f == target))
    {
        eprintln!(
            "maillogsentinel: --output {} is also an input: it would be emptied before it is read",
            path.display()
        );
        return Ok(ExitCode::from(super::exit::USAGE));
    }
    let out: Box<dyn Write + Send> = match &args.output {
        Some(path) => match File::create(path) {
            Ok(f) => Box::new(f),
            Err(e) => {
                eprintln!("maillogsentinel: {}: {e}", path.display());
                return Ok(ExitCode::from(super::exit::CANT_CREATE));
            }
        },
        None => Box::new(io::stdout()),
    };
    let inputs: Vec<Input> = if args.files.is_empty() {
        vec![Input::Stdin]
    } else {
        args.files.iter().map(|f| Input::from_arg(f)).collect()
    };
    let reading = Mutex::new(Reading {
        inputs: inputs.iter(),
        current: None,
        seq: 0,
        failed_inputs: 0,
        oversized: 0,
    });
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    let writing = Mutex::new(Writing {
        next: 0,
        out,
        error: None,
        aside: BTreeMap::new(),
        most_aside: workers * ASIDE_PER_WORKER,
        spare: Vec::new(),
    });
    let turn = Condvar::new();
    let stop = AtomicBool::new(false);
    // Lines the workers left out for their length (beside those too long for a chunk).
    let too_long = AtomicU64::new(0);
    std::thread::scope(|s| {
        for _ in 0..workers {
            let worker = std::thread::Builder::new().name("mls-anonymize".into());
            let (reading, writing, turn, stop, key, too_long) =
                (&reading, &writing, &turn, &stop, &key, &too_long);
            worker
                .spawn_scoped(s, move || {
                    let mut anonymizer = Anonymizer::new(key);
                    let (mut chunk, mut rewritten) = (Vec::new(), Vec::new());
                    while !stop.load(Ordering::Relaxed) {
                        let next = lock(reading).next_into(&mut chunk);
                        let Some(seq) = next else { break };
                        rewritten.clear();
                        anonymizer.chunk(&chunk, &mut rewritten);
                        // Written in input order: put aside until the chunks before are
                        // written, or waiting for them when enough are put aside already.
                        let mut w = lock(writing);
                        while w.next != seq && w.aside.len() >= w.most_aside {
                            w = turn.wait(w).expect("no worker panics");
                        }
                        if w.next != seq {
                            let spare = w.spare.pop().unwrap_or_default();
                            w.aside
                                .insert(seq, std::mem::replace(&mut rewritten, spare));
                            continue;
                        }
                        let w = &mut *w;
                        w.write(&rewritten, stop);
                        while let Some(next) = w.aside.remove(&w.next) {
                            w.write(&next, stop);
                            w.spare.push(next);
                        }
                        turn.notify_all();
                    }
                    too_long.fetch_add(anonymizer.lines_too_long, Ordering::Relaxed);
                })
                .expect("spawning a worker");
        }
    });
    let reading = reading.into_inner().expect("no worker panics");
    let mut writing = writing.into_inner().expect("no worker panics");
    let too_long = reading.oversized + too_long.into_inner();
    if too_long > 0 {
        eprintln!(
            "maillogsentinel: {too_long} lines longer than {} KiB left out",
            source::MAX_LINE >> 10
        );
    }
    let written = match writing.error {
        Some(e) => Err(e),
        None => writing.out.flush(),
    };
    if let Err(e) = written {
        if e.kind() == io::ErrorKind::BrokenPipe {
            return Ok(ExitCode::SUCCESS);
        }
        eprintln!("maillogsentinel: writing the anonymised log: {e}");
        return Ok(ExitCode::from(super::exit::CANT_CREATE));
    }
    Ok(if reading.failed_inputs > 0 {
        ExitCode::from(super::exit::NO_INPUT)
    } else {
        ExitCode::SUCCESS
    })
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().expect("no worker panics")
}

/// The inputs, read in order by whichever worker is free, a chunk at a time.
struct Reading<'a> {
    inputs: std::slice::Iter<'a, Input>,
    current: Option<(&'a Input, LineChunks<Box<dyn Read + Send>>)>,
    /// The next chunk's place in the output.
    seq: u64,
    failed_inputs: usize,
    oversized: u64,
}

impl Reading<'_> {
    /// Fills `chunk` with the next whole lines (each ending with a newline, also the last of
    /// a file without one) and says their place in the output; `None` after the last input.
    fn next_into(&mut self, chunk: &mut Vec<u8>) -> Option<u64> {
        loop {
            let (input, lines) = match &mut self.current {
                Some(current) => current,
                None => {
                    let input = self.inputs.next()?;
                    match source::open(input) {
                        Ok(o) => self
                            .current
                            .insert((input, LineChunks::new(o.reader, CHUNK))),
                        Err(e) => {
                            eprintln!("maillogsentinel: {e}");
                            self.failed_inputs += 1;
                            continue;
                        }
                    }
                }
            };
            match lines.next_chunk_into(chunk) {
                Ok(true) => {
                    if !chunk.ends_with(b"\n") {
                        chunk.push(b'\n');
                    }
                    self.seq += 1;
                    return Some(self.seq - 1);
                }
                Ok(false) => {}
                Err(e) => {
                    eprintln!(
                        "maillogsentinel: {}: {e}; the lines before were written",
                        input.name()
                    );
                    self.failed_inputs += 1;
                }
            }
            self.oversized += lines.oversized;
            self.current = None;
        }
    }
}

/// The output and whose turn it is to write.
struct Writing {
    /// The place of the chunk to write next.
    next: u64,
    out: Box<dyn Write + Send>,
    /// The first write that failed: nothing more is written.
    error: Option<io::Error>,
    /// Rewritten chunks waiting for the chunks before them, by their places (at most
    /// `most_aside`: memory stays bounded).
    aside: BTreeMap<u64, Vec<u8>>,
    most_aside: usize,
    /// Buffers of chunks written from aside, for the next ones put there.
    spare: Vec<Vec<u8>>,
}

impl Writing {
    /// Writes the chunk whose turn it is (unless a write failed: then the workers stop).
    fn write(&mut self, rewritten: &[u8], stop: &AtomicBool) {
        if self.error.is_none()
            && let Err(e) = self.out.write_all(rewritten)
        {
            self.error = Some(e);
            stop.store(true, Ordering::Relaxed);
        }
        self.next += 1;
    }
}
