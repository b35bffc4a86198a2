//! What the benchmarks that run `brickdesk serve` as a child process share.

/// A field of `/proc/<pid>/status`, such as `VmHWM:` (peak RSS) or `VmRSS:`, as the kernel
/// writes it ("123456 kB"), or "unknown".
pub fn status_field(pid: u32, field: &str) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .map_or_else(|| "unknown".to_owned(), |v| v.trim().to_owned())
}
