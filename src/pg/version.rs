//! PostgreSQL version strings as its programs print them; no program is run here.

/// `postgres (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)` → `15.18`.
pub fn version_from_banner(banner: &str) -> String {
    let after = banner
        .split_once("(PostgreSQL) ")
        .map(|(_, v)| v)
        .unwrap_or(banner);
    after.split_whitespace().next().unwrap_or("").to_string()
}

/// "15.4" → 15, "9.6.24" → 9, "16beta1" → 16, "17.0 (Debian 17.0-1)" → 17.
pub fn parse_major(v: &str) -> Option<u32> {
    let digits: String = v.chars().take_while(|c| c.is_ascii_digit()).collect();
    digits.parse().ok()
}
