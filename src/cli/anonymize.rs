//! `maillogsentinel anonymize [FILE|-]... --key-file K [--output FILE]`: logs rewritten for
//! sharing, line for line, in input order. Chunks of whole lines are rewritten by one worker
//! per core and written back in order. Stateless: no config, no store, no network.
//!
//! Not here: what is replaced and how (`anonymize`).

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::mpsc::{Receiver, sync_channel};
use std::sync::{Arc, Mutex};

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
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    let (jobs, job_rx) = sync_channel::<(u64, Vec<u8>)>(workers * 2);
    let job_rx = Arc::new(Mutex::new(job_rx));
    let (done, done_rx) = sync_channel::<(u64, Vec<u8>)>(workers * 2);
    let mut failed_inputs = 0;
    let mut oversized = 0;
    let written = std::thread::scope(|s| {
        for _ in 0..workers {
            let (job_rx, done, key) = (Arc::clone(&job_rx), done.clone(), key.clone());
            let worker = std::thread::Builder::new().name("mls-anonymize".into());
            worker
                .spawn_scoped(s, move || {
                    let mut anonymizer = Anonymizer::new(&key);
                    loop {
                        let next = job_rx.lock().expect("no worker panics").recv();
                        let Ok((seq, chunk)) = next else { return };
                        let mut rewritten = Vec::with_capacity(chunk.len() + chunk.len() / 8);
                        anonymizer.chunk(&chunk, &mut rewritten);
                        if done.send((seq, rewritten)).is_err() {
                            return;
                        }
                    }
                })
                .expect("spawning a worker");
        }
        drop(done);
        let writer = std::thread::Builder::new()
            .name("mls-write".into())
            .spawn_scoped(s, move || write_in_order(done_rx, out))
            .expect("spawning the writer");
        let mut seq = 0u64;
        'inputs: for input in &inputs {
            let opened = match source::open(input) {
                Ok(o) => o,
                Err(e) => {
                    eprintln!("maillogsentinel: {e}");
                    failed_inputs += 1;
                    continue;
                }
            };
            let mut chunks = LineChunks::new(opened.reader, CHUNK);
            loop {
                match chunks.next_chunk() {
                    Ok(Some(chunk)) => {
                        let mut chunk = chunk.to_vec();
                        // The last line of a file without its newline still ends a line.
                        if !chunk.ends_with(b"\n") {
                            chunk.push(b'\n');
                        }
                        if jobs.send((seq, chunk)).is_err() {
                            break 'inputs; // the writer stopped: its error says why
                        }
                        seq += 1;
                    }
                    Ok(None) => break,
                    Err(e) => {
                        eprintln!(
                            "maillogsentinel: {}: {e}; the lines before were written",
                            input.name()
                        );
                        failed_inputs += 1;
                        break;
                    }
                }
            }
            oversized += chunks.oversized;
        }
        drop(jobs);
        writer.join().expect("the writer does not panic")
    });
    if oversized > 0 {
        eprintln!(
            "maillogsentinel: {oversized} lines longer than {} KiB left out",
            source::MAX_LINE >> 10
        );
    }
    if let Err(e) = written {
        if e.kind() == io::ErrorKind::BrokenPipe {
            return Ok(ExitCode::SUCCESS);
        }
        eprintln!("maillogsentinel: writing the anonymised log: {e}");
        return Ok(ExitCode::from(super::exit::CANT_CREATE));
    }
    Ok(if failed_inputs > 0 {
        ExitCode::from(super::exit::NO_INPUT)
    } else {
        ExitCode::SUCCESS
    })
}

/// Writes the rewritten chunks in their input order as they come back from the workers.
fn write_in_order(done: Receiver<(u64, Vec<u8>)>, out: Box<dyn Write + Send>) -> io::Result<()> {
    let mut out = BufWriter::with_capacity(1 << 16, out);
    let mut waiting = BTreeMap::new();
    let mut next = 0u64;
    for (seq, chunk) in done {
        waiting.insert(seq, chunk);
        while let Some(chunk) = waiting.remove(&next) {
            out.write_all(&chunk)?;
            next += 1;
        }
    }
    out.flush()
}
