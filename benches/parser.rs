//! Criterion benchmarks of the parser: the envelope, each detector, and the whole pipeline's
//! throughput on generated logs against a plain `memmem` count over the same buffer (the
//! floor any scanner has to pay), so the ratio shows rather than a machine-dependent figure.
//! Also the geo lookup of the enrichment (binary search in 500,000 ranges per family) against a
//! `HashMap` lookup of the same addresses, the cost of the cheapest possible cache.

use std::hint::black_box;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use maillogsentinel::correlate::Windows;
use maillogsentinel::detect;
use maillogsentinel::envelope::{
    self,
    timestamp::{Clock, YearRule},
};
use maillogsentinel::pipeline::Pipeline;

const GENERATOR: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../shared/bench/gen-maillog.py"
);

fn clock() -> Clock {
    Clock::new(jiff::tz::TimeZone::UTC, YearRule::NotAfter(1_764_000_000))
}

const LINES: [(&str, &str); 6] = [
    (
        "postfix_failure",
        "Dec 30 00:00:04 mail postfix/smtpd[2586]: warning: unknown[186.5.116.213]: SASL PLAIN authentication failed: (reason unavailable), sasl_username=alice.campbell@example.com",
    ),
    (
        "dovecot_summary",
        "Dec 30 00:04:09 mail dovecot: managesieve-login: Disconnected: Aborted login by logging out (auth failed, 3 attempts in 10 secs): user=<simon.dupont@example.com>, method=PLAIN, rip=49.5.222.122, lip=198.51.100.25, session=<dk0mFj5NrHeMszzx>",
    ),
    (
        "dovecot_passdb",
        "Dec 30 00:04:00 mail dovecot: auth-worker(19883): pam(simon.dupont@example.com,49.5.222.122,<dk0mFj5NrHeMszzx>): pam_authenticate() failed: Authentication failure (password mismatch?)",
    ),
    (
        "benign_disconnect",
        "Dec 30 00:00:14 mail postfix/smtpd[42373]: disconnect from unknown[184.74.182.226] ehlo=1 auth=0/1 quit=1 commands=2/3",
    ),
    (
        "benign_connect",
        "Dec 30 00:00:02 mail postfix/smtpd[2586]: connect from unknown[186.5.116.213]",
    ),
    (
        "rfc3339_failure",
        "2025-12-30T00:00:01.123456+00:00 mail postfix/smtps/smtpd[26770]: warning: unknown[40.188.190.106]: SASL LOGIN authentication failed: UGFzc3dvcmQ6",
    ),
];

fn lines(c: &mut Criterion) {
    let mut g = c.benchmark_group("line");
    // Nanosecond-scale functions: 20 samples over 2 s each are plenty and keep the run short.
    g.sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    for (name, line) in LINES {
        let mut clk = clock();
        g.bench_function(format!("envelope/{name}"), |b| {
            b.iter(|| envelope::parse_line(black_box(line.as_bytes()), &mut clk).time)
        });
        let mut clk = clock();
        let parsed = envelope::parse_line(line.as_bytes(), &mut clk);
        g.bench_function(format!("detect/{name}"), |b| {
            b.iter(|| detect::detect(black_box(&parsed)).is_some())
        });
    }
    g.finish();
}

fn generated_log() -> Option<Vec<u8>> {
    if !Path::new(GENERATOR).exists() {
        eprintln!("skipping the throughput benchmark: {GENERATOR} not found");
        return None;
    }
    let dir = tempfile::tempdir().ok()?;
    let ok = Command::new("python3")
        .arg(GENERATOR)
        .args(["--size", "20M", "--seed", "1", "--out"])
        .arg(dir.path())
        .status()
        .ok()?
        .success();
    ok.then(|| std::fs::read(dir.path().join("mail.log")).ok())
        .flatten()
}

fn throughput(c: &mut Criterion) {
    let Some(log) = generated_log() else { return };
    let mut g = c.benchmark_group("throughput_20MiB");
    g.throughput(Throughput::Bytes(log.len() as u64));
    g.sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));
    g.bench_function("memmem_count_reference", |b| {
        let finder = memchr::memmem::Finder::new("authentication failed");
        b.iter(|| finder.find_iter(black_box(&log)).count())
    });
    g.bench_function("pipeline", |b| {
        b.iter(|| {
            let mut p = Pipeline::new(clock(), Windows::default());
            let mut n = 0u64;
            // Chunks end on a line: each is cut at the last newline of its MiB.
            let mut start = 0;
            while start < log.len() {
                let end = (start + (1 << 20)).min(log.len());
                let end = memchr::memrchr(b'\n', &log[start..end]).map_or(end, |i| start + i + 1);
                p.feed_chunk(
                    &log[start..end],
                    &mut |e| n += u64::from(e.attempts),
                    &mut |_| {},
                );
                start = end;
            }
            p.finish(&mut |e| n += u64::from(e.attempts));
            n
        })
    });
    g.finish();
}

fn geo_lookup(c: &mut Criterion) {
    use maillogsentinel::enrich::geo::RangeTable;
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
    // 500,000 /24-sized IPv4 ranges and as many IPv6 /48s, every other one present.
    let mut text = String::new();
    for i in 0..500_000u32 {
        let start = (i * 2) << 8;
        text.push_str(&format!(
            "{start},{},{}\n",
            start + 255,
            ["FR", "DE", "US"][i as usize % 3]
        ));
        let v6 = (0x2001_0db8u128 << 96) | (u128::from(i * 2) << 80);
        text.push_str(&format!(
            "{},{},JP\n",
            Ipv6Addr::from(v6),
            Ipv6Addr::from(v6 | ((1 << 80) - 1))
        ));
    }
    let table = RangeTable::parse(&text);
    let ips: Vec<IpAddr> = (0..4096u32)
        .map(|i| {
            let x = i.wrapping_mul(2_654_435_761);
            if i % 2 == 0 {
                IpAddr::V4(Ipv4Addr::from(x >> 4))
            } else {
                IpAddr::V6(Ipv6Addr::from(
                    (0x2001_0db8u128 << 96) | (u128::from(x) << 64),
                ))
            }
        })
        .collect();
    let map: std::collections::HashMap<IpAddr, u32> = ips.iter().map(|&ip| (ip, 1)).collect();
    let mut g = c.benchmark_group("geo_lookup");
    g.throughput(Throughput::Elements(ips.len() as u64));
    g.bench_function("hashmap_reference", |b| {
        b.iter(|| {
            ips.iter()
                .filter(|ip| map.contains_key(black_box(*ip)))
                .count()
        })
    });
    g.bench_function("range_table", |b| {
        b.iter(|| {
            ips.iter()
                .filter(|&&ip| table.lookup(black_box(ip)).is_some())
                .count()
        })
    });
    g.finish();
}

criterion_group!(benches, lines, throughput, geo_lookup);
criterion_main!(benches);
