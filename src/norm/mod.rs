//! The normalised vocabulary both the detectors and the policy speak: host paths, hosts, image
//! references, capability names and admin-written patterns. It sits below both, so that a path,
//! a host or an image means the same thing in a pod spec, in a command and in the policy, however
//! it is spelt. Pure, no I/O.

pub mod capability;
pub mod host;
pub mod host_path;
pub mod image;
pub mod pattern;
