//! Every integration test in one crate: the library is linked once, and the tests of all modules
//! run in one process, in parallel. Each module is one area (the file names say which); `common`
//! holds the shared builders, the in-process server and the fake API server, `oracle` the real
//! shell sandbox.

mod common;
mod oracle;

mod behaviour;
mod benign;
mod calibration;
mod catalogue;
mod cli;
mod cluster;
mod connect;
mod context;
mod corpus;
mod correlation;
mod exec_rules;
mod hostile;
mod layers;
mod pipeline;
mod pod_rules;
mod policy;
mod properties;
mod replay;
mod server;
mod shell_oracle;
mod store;
mod updates;
