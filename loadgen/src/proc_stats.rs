//! CPU time and resident memory of the server process, from `/proc` (Linux).

/// One reading of a process.
#[derive(Debug, Default, Clone, Copy, serde::Serialize)]
pub struct Sample {
    /// User + system CPU time so far, in seconds.
    pub cpu_secs: f64,
    /// Resident set size, in KiB.
    pub rss_kib: u64,
}

/// Reads `pids` and sums them, when some are given and all are readable.
pub fn sample(pids: &[u32]) -> Option<Sample> {
    let mut sum: Option<Sample> = None;
    for pid in pids {
        let one = sample_one(*pid)?;
        let total = sum.get_or_insert_with(Sample::default);
        total.cpu_secs += one.cpu_secs;
        total.rss_kib += one.rss_kib;
    }
    sum
}

fn sample_one(pid: u32) -> Option<Sample> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may hold spaces: count fields after it.
    let after = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line, 12 and 13 after `) `.
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let rss_kib = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())?;
    Some(Sample {
        // The kernel reports CPU time in USER_HZ, which is 100 on Linux.
        cpu_secs: ticks as f64 / 100.0,
        rss_kib,
    })
}
