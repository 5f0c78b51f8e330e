//! `maillogsentinel generate DIR` (hidden): the man page `maillogsentinel.8`, the bash, zsh
//! and fish completions, generated from the command-line definition, and the packaged systemd
//! units (`DIR/units`: the setup's units for user `maillogsentinel`, `/usr/bin`, `/etc`). The
//! copies shipped in `packaging/generated/` are checked against a fresh generation by a test.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, CommandFactory};
use clap_complete::Shell;

use super::Cli;

#[derive(Args, Debug)]
pub struct GenerateArgs {
    /// Where to write maillogsentinel.8 and the completions
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,
}

/// Writes the man page and completions into `dir`; returns the files written.
pub fn write_all(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let cmd = Cli::command();
    let mut written = Vec::new();
    let mut man = Vec::new();
    clap_mangen::Man::new(cmd.clone())
        .section("8")
        .render(&mut man)
        .context("rendering the man page")?;
    let path = dir.join("maillogsentinel.8");
    std::fs::write(&path, man).with_context(|| format!("writing {}", path.display()))?;
    written.push(path);
    for shell in [Shell::Bash, Shell::Zsh, Shell::Fish] {
        let path = clap_complete::generate_to(shell, &mut cmd.clone(), "maillogsentinel", dir)
            .with_context(|| format!("writing the {shell} completions"))?;
        written.push(path);
    }
    let units = dir.join("units");
    std::fs::create_dir_all(&units).with_context(|| format!("creating {}", units.display()))?;
    let answers = crate::setup::Answers {
        mail_log: "/var/log/mail.log".into(),
        ..crate::setup::Answers::default()
    };
    for unit in crate::setup::units::render(
        &answers,
        Path::new("/usr/bin/maillogsentinel"),
        Path::new("/etc/maillogsentinel.conf"),
    ) {
        let path = units.join(unit.name);
        std::fs::write(&path, unit.text).with_context(|| format!("writing {}", path.display()))?;
        written.push(path);
    }
    Ok(written)
}

pub fn run(args: &GenerateArgs) -> anyhow::Result<ExitCode> {
    for p in write_all(&args.dir)? {
        println!("{}", p.display());
    }
    Ok(ExitCode::SUCCESS)
}
