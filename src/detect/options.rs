//! How a command-line option is given, for detectors that look for one (`nc -lvnp`, `grep -rni`,
//! `curl -sSd @f`): one reading of option syntax for all of them.

/// Whether `arg` gives `option`: exactly, as `--long=value`, or, for a one-letter option, inside
/// a cluster of short options or with its value attached (`-rni` gives `-r`, `-e/bin/sh` gives
/// `-e`, `-lvnp4444` gives `-l`).
pub fn gives(arg: &str, option: &str) -> bool {
    if arg == option {
        return true;
    }
    if option.starts_with("--") {
        return arg
            .strip_prefix(option)
            .is_some_and(|rest| rest.starts_with('='));
    }
    let short = option.len() == 2 && option.starts_with('-');
    short && arg.starts_with('-') && !arg.starts_with("--") && arg[1..].contains(&option[1..])
}

/// Whether any argument gives any of `options`.
pub fn any_given(args: &[String], options: &[String]) -> bool {
    args.iter().any(|a| options.iter().any(|o| gives(a, o)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn option_spellings() {
        for (arg, option) in [
            ("-r", "-r"),
            ("-rni", "-r"),
            ("-e/bin/sh", "-e"),
            ("-lvnp4444", "-l"),
            ("--recursive", "--recursive"),
            ("--exec=/bin/sh", "--exec"),
            ("-XPOST", "-XPOST"),
        ] {
            assert!(gives(arg, option), "{arg} {option}");
        }
        for (arg, option) in [
            ("--regexp=r", "-r"),
            ("r", "-r"),
            ("--execute", "--exec"),
            ("-i", "-r"),
            ("--data", "-d"),
        ] {
            assert!(!gives(arg, option), "{arg} {option}");
        }
    }
}
