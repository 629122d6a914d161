//! Known attack toolkits by name, wherever the name appears: in what a fetcher downloads
//! (`curl -LO .../kubeletctl_linux_amd64`, `git clone .../PEASS-ng`, `pip install kube-hunter`) and
//! in the file name of what runs (`/tmp/linpeas_linux_amd64`, `bash /tmp/LinEnum.sh`). A renamed
//! binary escapes this; its download URL usually does not.

use super::catalogue::{ExecCatalogue, Toolkits};
use super::exec::describe;
use super::shell::Invocation;
use super::Signals;
use crate::norm::pattern::WordSet;

pub fn detect(exec: &ExecCatalogue, toolkits: &Toolkits, inv: &Invocation, out: &mut Signals) {
    let what = || describe(inv);
    let found = |set: &WordSet, text: &str| set.find(&text.to_lowercase()).map(str::to_string);
    let named = |text: &str| found(&toolkits.names, text);
    if toolkits.fetchers.contains(&inv.program) {
        if let Some(name) = inv.args.iter().find_map(|a| named(a)) {
            out.raise(
                &toolkits.download_rule,
                format!("{} fetches {name}", what()),
            );
        }
        let tool = |text: &str| found(&toolkits.tools, text);
        if let (Some(rule), Some(name)) = (
            &toolkits.tool_rule,
            inv.args
                .iter()
                .filter(|a| !a.starts_with('-'))
                .find_map(|a| tool(a)),
        ) {
            out.raise(rule, format!("{} fetches {name}", what()));
        }
    }
    if let Some(name) = named(&inv.program) {
        out.raise(&toolkits.run_rule, format!("{} runs {name}", what()));
    }
    // `bash /tmp/linpeas.sh`, `python3 ./deepce.py`: the script file is the toolkit.
    let runs_file = exec.shells.contains(&inv.program) || exec.interpreters.contains(&inv.program);
    if runs_file && inv.script_arg.is_none() {
        let file = inv.args.iter().find(|a| !a.starts_with('-'));
        if let Some(name) = file.and_then(|f| named(f.rsplit('/').next().unwrap_or(f))) {
            out.raise(&toolkits.run_rule, format!("{} runs {name}", what()));
        }
    }
}

/// A toolkit's URL inside interpreter code (`urllib.request.urlretrieve('https://.../linpeas.sh')`).
pub fn in_code(toolkits: &Toolkits, code: &str, out: &mut Signals) {
    let urls = code
        .split(|c: char| c.is_whitespace() || matches!(c, '\'' | '"' | '(' | ')' | ',' | ';'))
        .filter(|w| w.contains("://"));
    for url in urls {
        let lowered = url.to_lowercase();
        if let Some(name) = toolkits.names.find(&lowered) {
            out.raise(
                &toolkits.download_rule,
                format!("inline code fetches {name} ({})", super::shorten(url, 80)),
            );
        }
    }
}
