//! ncx-core: everything ncx does with syscalls, kept apart from images, names and compose.
//!
//! The container setup is expressed as a plan of steps (`plan`) executed through the
//! [`sys::Sys`] trait, so the ordering rules are unit-tested without privileges.

pub mod buildfs;
pub mod caps;
pub mod cgroup;
pub mod devices;
pub mod logfile;
pub mod net;
pub mod nsenter;
pub mod rtnl;
pub mod materialize;
pub mod userns;
pub mod plan;
pub mod seccomp;
pub mod spec;
pub mod state;
pub mod sys;
pub mod tree;
pub mod unpack;
