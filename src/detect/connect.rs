//! Port-forwards and proxies (CONNECT requests). Both open a tunnel from the requester into the
//! cluster that admission sees once, at its start: judged are where it leads (a node service's
//! port) and, for proxies, which kubelet endpoint the path names (`/exec`, `/run` run commands;
//! `/pods`, `/configz`, `/debug` describe the node).

use super::catalogue::ConnectCatalogue;
use super::{shorten, Signals};
use crate::subject::{PortForward, ProxyRequest, ProxyTarget};

pub fn port_forward(connect: &ConnectCatalogue, forward: &PortForward, out: &mut Signals) {
    if forward.ports.is_empty() {
        if let Some(rule) = &connect.unseen_ports_rule {
            out.raise(rule, "ports not named in the request");
        }
        return;
    }
    for port in &forward.ports {
        if u16::try_from(*port).is_ok_and(|p| connect.node_ports.contains(&p)) {
            out.raise(&connect.port_forward_rule, format!("port {port}"));
        }
    }
}

pub fn proxy(connect: &ConnectCatalogue, request: &ProxyRequest, out: &mut Signals) {
    let target = match request.target {
        ProxyTarget::Pod => "pod",
        ProxyTarget::Service => "service",
        ProxyTarget::Node => "node",
    };
    let what = if request.name.is_empty() {
        target.to_string()
    } else {
        format!("{target} {}", shorten(&request.name, 80))
    };
    // A node proxy always reaches the kubelet; for pods and services the port says where.
    if request.target != ProxyTarget::Node {
        if let Some(port) = request.port().filter(|p| connect.node_ports.contains(p)) {
            out.raise(&connect.proxy_port_rule, format!("{what} port {port}"));
        }
    }
    let path = normalise_url_path(&request.path);
    for idx in connect.proxy_paths.matches(&path) {
        if let Some(rule) = connect.proxy_path_rules.get(idx) {
            out.raise(rule, format!("{what} path {}", shorten(&path, 120)));
        }
    }
}

/// The path as the kubelet routes it: percent-decoded, `.` and empty segments dropped, `..`
/// applied, so `//exec/./ns/../ns/pod/c` and `/%65xec/...` are `/exec/ns/pod/c`.
pub fn normalise_url_path(raw: &str) -> String {
    let decoded = percent_decode(raw);
    let mut segments: Vec<&str> = Vec::new();
    for segment in decoded.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            s => segments.push(s),
        }
    }
    format!("/{}", segments.join("/"))
}

fn percent_decode(raw: &str) -> String {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
            if let Some(b) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_normalised_as_routed() {
        assert_eq!(
            normalise_url_path("//exec/./ns/../ns/pod/c"),
            "/exec/ns/pod/c"
        );
        assert_eq!(normalise_url_path("/%65xec/ns/pod/c"), "/exec/ns/pod/c");
        assert_eq!(normalise_url_path(""), "/");
        assert_eq!(normalise_url_path("/a/%"), "/a/%");
        assert_eq!(normalise_url_path("/a/%6"), "/a/%6");
        assert_eq!(normalise_url_path("../../configz"), "/configz");
    }
}
