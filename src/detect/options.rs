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

/// The value given to the first of `options` found: the next argument (`-e /bin/sh`,
/// `--exec /bin/sh`, `-lvne /bin/sh`), or attached (`-e/bin/sh`, `--exec=/bin/sh`). `Some("")`
/// when the option ends the command line.
pub fn value_of<'a>(args: &'a [String], options: &[String]) -> Option<&'a str> {
    for (i, arg) in args.iter().enumerate() {
        for option in options {
            if !gives(arg, option) {
                continue;
            }
            let next = || args.get(i + 1).map_or("", String::as_str);
            if arg == option {
                return Some(next());
            }
            if let Some(rest) = arg
                .strip_prefix(option.as_str())
                .and_then(|r| r.strip_prefix('='))
            {
                return Some(rest);
            }
            // A short option in a cluster: the value is what follows its letter, else the next.
            let letter = &option[1..];
            let at = arg[1..]
                .find(letter)
                .map_or(arg.len(), |p| p + 1 + letter.len());
            return Some(match &arg[at..] {
                "" => next(),
                attached => attached,
            });
        }
    }
    None
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
