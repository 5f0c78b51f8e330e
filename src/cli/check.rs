//! `maillogsentinel check-config`: prints what `check::check` finds. Exit 0 when all is well,
//! 1 with problems, 78 when the config itself is wrong. Changes nothing.

use std::process::ExitCode;

use super::run::{Common, Exit, load_config};
use crate::check::{Verdict, check};

pub fn run(common: &Common) -> anyhow::Result<ExitCode> {
    let config = match load_config(common) {
        Ok(c) => c,
        Err(Exit(code)) => return Ok(ExitCode::from(code)),
    };
    let findings = check(&config);
    for f in &findings {
        println!("{:<8} {}", f.verdict.as_str(), f.text);
    }
    let problems = findings
        .iter()
        .filter(|f| f.verdict == Verdict::Problem)
        .count();
    Ok(if problems == 0 {
        println!("all good");
        ExitCode::SUCCESS
    } else {
        println!("{problems} problem(s)");
        ExitCode::from(1)
    })
}
