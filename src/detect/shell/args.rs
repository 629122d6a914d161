//! Argument grammar shared by wrappers: assignments and options with values.

pub(super) fn is_assignment(arg: &str) -> bool {
    match arg.split_once('=') {
        Some((name, _)) => {
            !name.is_empty()
                && !name.starts_with(|c: char| c.is_ascii_digit())
                && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        }
        None => false,
    }
}

/// If `arg` is one of `options`, its value and how many arguments it used: `-n 5` (2),
/// `-n5` (1), `--adjustment=5` (1).
pub(super) fn option_value(
    arg: &str,
    next: Option<&String>,
    options: &[String],
) -> Option<(String, usize)> {
    for opt in options {
        if arg == opt {
            return Some((next.cloned().unwrap_or_default(), 2));
        }
        if opt.starts_with("--") {
            if let Some(v) = arg
                .strip_prefix(opt.as_str())
                .and_then(|r| r.strip_prefix('='))
            {
                return Some((v.to_string(), 1));
            }
        } else if opt.len() == 2 && arg.starts_with(opt.as_str()) && !arg.starts_with("--") {
            return Some((arg[2..].to_string(), 1));
        }
    }
    None
}
